/// The packet index bookkeeping of one SSRC in one direction of SRTP or SRTCP, as a value: the
/// index estimate of RFC 3711 §3.3.1 (ROC and SEQ, Appendix A) and the replay list of §3.3.2 as a
/// 128-packet sliding window (libsrtp's size, so peers see the same tolerance for reordering).
///
/// `check` before authenticating, `accept` only after: a forged packet never moves the window.
struct SRTPReplayWindow: Sendable {
    /// How far behind the highest index a packet may still arrive once.
    static let size: UInt64 = 128

    /// What `check` concludes about an index.
    enum Verdict: Equatable {
        /// Not seen, and inside or ahead of the window.
        case fresh
        /// Seen already: a replay (or, when sending, a keystream that would be reused).
        case replayed
        /// Behind the window: cannot be told from a replay.
        case tooOld
    }

    /// The highest accepted index, nil before the first.
    private(set) var highest: UInt64?
    /// Bit k set: index `highest - k` was accepted (k < 64 in `recent`, 64..<128 in `older`).
    private var recent: UInt64 = 0
    private var older: UInt64 = 0

    /// The 48-bit SRTP index of a packet with sequence number `sequenceNumber` (RFC 3711 §3.3.1):
    /// the ROC guess v is ROC - 1, ROC or ROC + 1, whichever puts the packet nearest the highest index
    /// seen. Until a first packet, the ROC is 0; a guess below 0 is taken as 0, as libsrtp does, so a
    /// stream whose sequence numbers jump early is not refused.
    func estimate(sequenceNumber: UInt16) -> UInt64 {
        guard let highest else { return UInt64(sequenceNumber) }
        let roc = highest >> 16
        let last = UInt16(truncatingIfNeeded: highest)
        var guess = roc
        if last < 0x8000 {
            if sequenceNumber > last, sequenceNumber - last > 0x8000, roc > 0 { guess = roc - 1 }
        } else if last - 0x8000 > sequenceNumber {
            guess = roc + 1
        }
        return guess << 16 | UInt64(sequenceNumber)
    }

    /// Whether `index` may be accepted (RFC 3711 §3.3.2).
    func check(_ index: UInt64) -> Verdict {
        guard let highest, index <= highest else { return .fresh }
        let behind = highest - index
        guard behind < Self.size else { return .tooOld }
        return bit(behind) ? .replayed : .fresh
    }

    /// Records `index` as received (after its tag verified) or sent.
    mutating func accept(_ index: UInt64) {
        guard let highest else {
            self.highest = index
            recent = 1
            return
        }
        if index > highest {
            shift(by: index - highest)
            recent |= 1
            self.highest = index
        } else {
            let behind = highest - index
            if behind < 64 { recent |= 1 << behind } else if behind < Self.size { older |= 1 << (behind - 64) }
        }
    }

    private func bit(_ behind: UInt64) -> Bool {
        behind < 64 ? (recent >> behind) & 1 == 1 : (older >> (behind - 64)) & 1 == 1
    }

    private mutating func shift(by distance: UInt64) {
        if distance >= Self.size {
            recent = 0
            older = 0
        } else if distance >= 64 {
            older = recent << (distance - 64)
            recent = 0
        } else {
            older = older << distance | recent >> (64 - distance)
            recent <<= distance
        }
    }
}
