/// Per-source reception statistics, the algorithms of RFC 3550 Appendix A: sequence validation and
/// extended highest sequence (A.1), cumulative and fractional loss (A.3) and interarrival jitter (A.8).
///
/// Pure value; arrival times are inputs in RTP timestamp units of the source's clock.
public struct RTPReceiverStatistics: Equatable, Sendable {
    /// RFC 3550 A.1 constants.
    public static let maxDropout: UInt16 = 3000
    /// Largest accepted reordering distance (A.1).
    public static let maxMisorder: UInt16 = 100
    /// Sequential packets required before a source is valid (A.1).
    public static let minSequential = 2

    private var maxSeq: UInt16
    private var cycles: UInt32 = 0
    private var baseSeq: UInt32
    private var badSeq: UInt32
    private var probation: Int
    /// Packets received and accepted (A.1 `received`).
    public private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    private var transit: Int64?
    private var jitterQ4: UInt32 = 0  // jitter × 16 (A.8)

    /// Starts statistics at the first packet's sequence number (A.1 `init_seq` with probation).
    public init(firstSequenceNumber seq: UInt16) {
        maxSeq = seq &- 1
        baseSeq = UInt32(seq)
        badSeq = UInt32(1 << 16) + 1
        probation = Self.minSequential
    }

    /// True once the source passed probation.
    public var isValid: Bool { probation == 0 }

    /// Records a packet (A.1 `update_seq`, A.8 jitter); returns false when the packet is not
    /// counted (probation, or a large jump not yet confirmed by a second packet).
    @discardableResult
    public mutating func packetReceived(sequenceNumber seq: UInt16, timestamp: UInt32, arrival: UInt32) -> Bool {
        let udelta = seq &- maxSeq
        if probation > 0 {
            if seq == maxSeq &+ 1 {
                probation -= 1
                maxSeq = seq
                if probation == 0 {
                    restart(seq)
                    record(timestamp: timestamp, arrival: arrival)
                    return true
                }
            } else {
                probation = Self.minSequential - 1
                maxSeq = seq
            }
            return false
        } else if udelta < Self.maxDropout {
            if seq < maxSeq { cycles &+= 1 << 16 }  // wrapped
            maxSeq = seq
        } else if udelta <= UInt16.max - Self.maxMisorder {
            // A very large jump: accept only if the next packet follows it (source restarted).
            if UInt32(seq) == badSeq {
                restart(seq)
            } else {
                badSeq = UInt32(seq &+ 1)
                return false
            }
        } else {
            // duplicate or reordered packet: counted, does not move maxSeq
        }
        record(timestamp: timestamp, arrival: arrival)
        return true
    }

    private mutating func restart(_ seq: UInt16) {
        baseSeq = UInt32(seq)
        maxSeq = seq
        badSeq = UInt32(1 << 16) + 1
        cycles = 0
        received = 0
        receivedPrior = 0
        expectedPrior = 0
        transit = nil
    }

    private mutating func record(timestamp: UInt32, arrival: UInt32) {
        received &+= 1
        // A.8: transit = arrival - timestamp; D = |transit - previous transit|; J += (|D| - J)/16.
        let newTransit = Int64(Int32(bitPattern: arrival &- timestamp))
        if let transit {
            var d = newTransit - transit
            if d < 0 { d = -d }
            let dClamped = UInt32(clamping: d)
            jitterQ4 = jitterQ4 &+ dClamped &- ((jitterQ4 &+ 8) >> 4)
        }
        transit = newTransit
    }

    /// Extended highest sequence number received (A.1: cycles + max_seq).
    public var extendedHighestSequence: UInt32 { cycles &+ UInt32(maxSeq) }
    /// Packets expected (A.3).
    public var expected: UInt32 { extendedHighestSequence &- baseSeq &+ 1 }
    /// Cumulative packets lost (A.3), negative with duplicates, clamped to 24 bits.
    public var cumulativeLost: Int32 {
        let lost = Int64(expected) - Int64(received)
        return Int32(min(max(lost, -0x80_0000), 0x7F_FFFF))
    }
    /// Interarrival jitter in timestamp units (A.8: `jitter >> 4`).
    public var jitter: UInt32 { jitterQ4 >> 4 }

    /// Makes a report block and starts a new interval for the fraction lost (A.3).
    public mutating func makeReportBlock(ssrc: UInt32, lastSR: UInt32 = 0, delaySinceLastSR: UInt32 = 0) -> RTCPReportBlock {
        let expectedInterval = Int64(expected) - Int64(expectedPrior)
        let receivedInterval = Int64(received) - Int64(receivedPrior)
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 = (expectedInterval == 0 || lostInterval <= 0) ? 0 : UInt8(clamping: (lostInterval << 8) / expectedInterval)
        return RTCPReportBlock(ssrc: ssrc, fractionLost: fraction, cumulativeLost: cumulativeLost, extendedHighestSequence: extendedHighestSequence, jitter: jitter, lastSR: lastSR, delaySinceLastSR: delaySinceLastSR)
    }
}
