import NIOCore

/// Turns a stream of RFC 4733 packets into one report per event (RFC 4733 §2.5.2).
///
/// An event is identified by its RTP timestamp (RFC 4733 §2.5.1.2: all packets of an event carry
/// the timestamp of its start). The first packet seen with a new timestamp reports the event, so a
/// key is reported even when its first packets, the marked start among them, were lost. Later
/// packets with the same timestamp (duration updates, the three end packets, network duplicates)
/// and late packets of older events (timestamp before the last reported, in serial arithmetic)
/// report nothing. A long event split into segments (RFC 4733 §2.5.1.5) is reported once.
///
/// Pure value; the negotiated payload type is configured (SIPp sends 96, baresip 101, pjsua 101/120/121).
public struct TelephoneEventReceiver: Equatable, Sendable {
    /// One reported event.
    public struct Report: Equatable, Sendable {
        /// The event code.
        public var event: UInt8
        /// The DTMF key, nil for non-DTMF events.
        public var digit: DTMFDigit?
        /// The event's RTP timestamp.
        public var timestamp: UInt32
    }

    /// The negotiated telephone-event payload type.
    public var payloadType: UInt8
    /// Packets with another payload type (not counted as events).
    public private(set) var otherPayloadPackets = 0
    /// Packets whose payload was not a valid event.
    public private(set) var malformedPackets = 0
    /// Packets that reported nothing: continuations, end repeats, duplicates, late packets.
    public private(set) var suppressedPackets = 0
    /// Events reported.
    public private(set) var reportedEvents = 0

    private var ssrc: UInt32?
    private var last: LastEvent?

    private struct LastEvent: Equatable, Sendable {
        var timestamp: UInt32
        var event: UInt8
        var duration: UInt16
        var ended: Bool
    }

    /// Creates a receiver for the negotiated payload type.
    public init(payloadType: UInt8) {
        self.payloadType = payloadType
    }

    /// Feeds one RTP packet; returns a report when it starts a new event.
    public mutating func packetReceived(_ header: RTPHeader, payload: ByteBuffer) -> Report? {
        guard header.payloadType == payloadType else {
            otherPayloadPackets += 1
            return nil
        }
        let event: TelephoneEvent
        do {
            event = try TelephoneEvent(parsing: payload)
        } catch {
            malformedPackets += 1
            return nil
        }
        if header.ssrc != ssrc {  // a new source has its own timestamp base
            ssrc = header.ssrc
            last = nil
        }
        if let last {
            let delta = Int32(bitPattern: header.timestamp &- last.timestamp)
            if delta == 0 {
                self.last?.ended = last.ended || event.end
                self.last?.duration = max(last.duration, event.duration)
                suppressedPackets += 1
                return nil
            }
            if delta < 0 {
                suppressedPackets += 1
                return nil
            }
            // RFC 4733 §2.5.1.5: a long event continues in a new segment that starts where the
            // previous one's duration ended, without the marker.
            if !last.ended, !header.marker, event.event == last.event, UInt32(delta) <= UInt32(last.duration) + 1600 {
                self.last = LastEvent(timestamp: header.timestamp, event: event.event, duration: event.duration, ended: event.end)
                suppressedPackets += 1
                return nil
            }
        }
        last = LastEvent(timestamp: header.timestamp, event: event.event, duration: event.duration, ended: event.end)
        reportedEvents += 1
        return Report(event: event.event, digit: event.digit, timestamp: header.timestamp)
    }
}
