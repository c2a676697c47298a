/// Generates the RFC 4733 packets of one event (RFC 4733 §2.5.1): a first packet with the marker,
/// one packet per packet time with the duration growing, then three end packets with the final
/// duration (RFC 4733 §2.5.1.4), all with the event's start timestamp.
///
/// Pure value; pair each packet with `RTPSender.eventHeader(...)` and send one per `RTPPacer` tick
/// (the three end packets may go back to back).
public struct TelephoneEventSender: Equatable, Sendable {
    /// One packet to send.
    public struct Packet: Equatable, Sendable {
        /// Marker bit: set on the first packet only (RFC 4733 §2.5.1.1).
        public var marker: Bool
        /// The event's timestamp, the same on every packet (RFC 4733 §2.5.1.2).
        public var timestamp: UInt32
        /// The payload.
        public var event: TelephoneEvent
    }

    /// The event's RTP timestamp.
    public let timestamp: UInt32
    /// The event code.
    public let event: UInt8
    /// Total tone duration in timestamp units.
    public let duration: UInt16
    /// Timestamp units per packet (160 for 20 ms at 8 kHz).
    public let samplesPerPacket: UInt16
    /// Volume in −dBm0.
    public let volume: UInt8
    private var sentUpdates = 0
    private var sentEnds = 0

    /// Number of end packets (RFC 4733 §2.5.1.4 recommends three).
    public static let endPackets = 3

    /// Creates the packets for a key: `duration` and `samplesPerPacket` in timestamp units.
    /// A duration longer than 65535 units is capped (RFC 4733 §2.5.1.5 segmentation is not needed
    /// for keys: 8 s at 8 kHz).
    public init(digit: DTMFDigit, timestamp: UInt32, duration: Int = 1600, samplesPerPacket: Int = 160, volume: UInt8 = 10) {
        self.event = digit.event
        self.timestamp = timestamp
        self.samplesPerPacket = UInt16(clamping: max(1, samplesPerPacket))
        self.duration = UInt16(clamping: max(duration, Int(self.samplesPerPacket)))
        self.volume = min(volume, 63)
    }

    /// The number of duration-update packets before the end packets.
    public var updatePackets: Int { (Int(duration) + Int(samplesPerPacket) - 1) / Int(samplesPerPacket) }

    /// True when every packet has been produced.
    public var isFinished: Bool { sentEnds >= Self.endPackets }

    /// The next packet, nil when finished. The last update packet is the first end packet.
    public mutating func nextPacket() -> Packet? {
        if sentUpdates < updatePackets - 1 {
            sentUpdates += 1
            let soFar = UInt16(clamping: sentUpdates * Int(samplesPerPacket))
            return Packet(marker: sentUpdates == 1, timestamp: timestamp, event: TelephoneEvent(event: event, end: false, volume: volume, duration: soFar))
        }
        guard sentEnds < Self.endPackets else { return nil }
        sentEnds += 1
        let first = sentUpdates == 0 && sentEnds == 1
        return Packet(marker: first, timestamp: timestamp, event: TelephoneEvent(event: event, end: true, volume: volume, duration: duration))
    }
}
