/// The sending side of one RTP stream (RFC 3550 §5.1, RFC 3551 §4.1): random SSRC, sequence number
/// and timestamp start (RFC 3550 §5.1 says they "SHOULD be random"), the marker bit on the first
/// packet of each talkspurt, and the sender counters for RTCP SR (RFC 3550 §6.4.1).
///
/// Pure value: the random source is injected, time is not needed (see `RTPPacer` for pacing).
public struct RTPSender: Equatable, Sendable {
    /// Our SSRC.
    public private(set) var ssrc: UInt32
    /// Payload type of the audio codec.
    public var payloadType: UInt8
    /// RTP timestamp units per packet (e.g. 160 for 20 ms of 8 kHz audio, 960 for 20 ms Opus).
    public let samplesPerPacket: UInt32
    /// Sequence number the next packet will carry.
    public private(set) var sequenceNumber: UInt16
    /// Timestamp the next audio packet will carry.
    public private(set) var timestamp: UInt32
    /// Packets sent so far (RTCP SR sender's packet count).
    public private(set) var packetCount: UInt32 = 0
    /// Payload octets sent so far (RTCP SR sender's octet count).
    public private(set) var octetCount: UInt32 = 0
    private var inTalkspurt = false

    /// Creates a sender with random SSRC, sequence and timestamp from `generator`.
    public init(payloadType: UInt8, samplesPerPacket: UInt32, using generator: inout some RandomNumberGenerator) {
        self.payloadType = payloadType
        self.samplesPerPacket = samplesPerPacket
        self.ssrc = UInt32.random(in: .min ... .max, using: &generator)
        self.sequenceNumber = UInt16.random(in: .min ... .max, using: &generator)
        self.timestamp = UInt32.random(in: .min ... .max, using: &generator)
    }

    /// The header for the next audio packet; advances sequence number and timestamp.
    /// The marker is set on the first packet after `silence(frames:)` or at the start (RFC 3551 §4.1).
    public mutating func nextAudioHeader(payloadBytes: Int) -> RTPHeader {
        let header = RTPHeader(marker: !inTalkspurt, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        inTalkspurt = true
        sequenceNumber &+= 1
        timestamp &+= samplesPerPacket
        count(payloadBytes)
        return header
    }

    /// Skips `frames` packet times without sending (silence, or frames the pacer dropped): the
    /// timestamp advances, the sequence number does not, and the next audio packet has the marker.
    public mutating func silence(frames: Int) {
        guard frames > 0 else { return }
        timestamp &+= samplesPerPacket &* UInt32(truncatingIfNeeded: frames)
        inTalkspurt = false
    }

    /// Skips frames that were due but not sent because the sender fell behind: the timestamp
    /// advances so the receiver sees loss, but no marker is set (the talkspurt continues).
    public mutating func skip(frames: Int) {
        guard frames > 0 else { return }
        timestamp &+= samplesPerPacket &* UInt32(truncatingIfNeeded: frames)
    }

    /// A header for an RFC 4733 event packet (RFC 4733 §2.3): same SSRC, the next sequence number,
    /// the event's own timestamp and payload type. Does not move the audio timestamp.
    public mutating func eventHeader(payloadType: UInt8, timestamp: UInt32, marker: Bool, payloadBytes: Int = 4) -> RTPHeader {
        let header = RTPHeader(marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        sequenceNumber &+= 1
        count(payloadBytes)
        return header
    }

    private mutating func count(_ payloadBytes: Int) {
        packetCount &+= 1
        octetCount &+= UInt32(truncatingIfNeeded: payloadBytes)
    }
}

/// Schedules packets every `interval` on a monotonic clock: packet n is due at `start + n·interval`,
/// computed from the start each time so errors never accumulate (no drift from sleeping 20 ms in a loop).
///
/// Time is an input: `now` is a monotonic `Duration` since any fixed origin (e.g. `ContinuousClock`).
public struct RTPPacer: Equatable, Sendable {
    /// What to do at a tick.
    public struct Decision: Equatable, Sendable {
        /// Packets to send now (0 when woken early).
        public var send: Int
        /// Packets that were due long ago and are dropped so the stream does not burst; advance the
        /// RTP timestamp past them (`RTPSender.skip(frames:)`).
        public var skip: Int
        /// When to tick next: the deadline of the next packet.
        public var nextDeadline: Duration

        /// Creates a decision.
        public init(send: Int, skip: Int, nextDeadline: Duration) {
            self.send = send
            self.skip = skip
            self.nextDeadline = nextDeadline
        }
    }

    /// The deadline of packet 0.
    public let start: Duration
    /// Packet interval (ptime).
    public let interval: Duration
    /// Most packets sent in one tick when late; older due packets are skipped.
    public let maxBurst: Int
    /// Index of the next packet to send or skip.
    public private(set) var nextPacket: Int = 0
    /// Packets skipped so far.
    public private(set) var skippedPackets: Int = 0

    /// Creates a pacer whose first packet is due at `start`.
    public init(start: Duration, interval: Duration = .milliseconds(20), maxBurst: Int = 3) {
        self.start = start
        self.interval = interval
        self.maxBurst = max(1, maxBurst)
    }

    /// The deadline of packet `n`: `start + n·interval`.
    public func deadline(ofPacket n: Int) -> Duration {
        start + interval * n
    }

    /// Called when the timer fires (or at any time): how many packets are due by `now`.
    public mutating func tick(now: Duration) -> Decision {
        var due = 0
        if now >= start {
            let elapsed = Int((now - start).nanoseconds / max(1, interval.nanoseconds))  // whole intervals, integer math
            due = max(0, elapsed + 1 - nextPacket)
        }
        let send = min(due, maxBurst)
        let skip = due - send
        nextPacket += due
        skippedPackets += skip
        return Decision(send: send, skip: skip, nextDeadline: deadline(ofPacket: nextPacket))
    }
}

extension Duration {
    /// Whole nanoseconds (truncated), for exact integer arithmetic on deadlines.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
