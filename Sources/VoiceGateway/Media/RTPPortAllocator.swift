// RTPPortAllocator: even RTP ports from the configured range (RFC 3550 §11: RTP on an even port,
// RTCP on the next odd one), handed out and returned per call.

import Synchronization

/// Hands out even ports of a range; thread-safe.
public final class RTPPortAllocator: Sendable {
    /// The range ports come from.
    public let range: ClosedRange<Int>
    private let state: Mutex<(inUse: Set<Int>, next: Int)>

    /// Makes an allocator over `range` (10000–20000 by default, Asterisk's rtp.conf range).
    public init(range: ClosedRange<Int> = 10_000...20_000) {
        self.range = range
        let first = range.lowerBound + (range.lowerBound % 2)
        state = Mutex((inUse: [], next: first))
    }

    /// How many even ports the range holds.
    public var capacity: Int { (range.upperBound - (range.lowerBound + range.lowerBound % 2)) / 2 + 1 }

    /// Ports handed out now.
    public var inUse: Int { state.withLock { $0.inUse.count } }

    /// The next free even port, round robin (so a port is not reused at once); nil when all are taken.
    public func allocate() -> Int? {
        state.withLock { state in
            let first = range.lowerBound + (range.lowerBound % 2)
            for _ in 0..<capacity {
                let port = state.next
                state.next = port + 2 > range.upperBound ? first : port + 2
                if !state.inUse.contains(port) {
                    state.inUse.insert(port)
                    return port
                }
            }
            return nil
        }
    }

    /// Returns a port.
    public func release(_ port: Int) {
        _ = state.withLock { $0.inUse.remove(port) }
    }
}
