// The order in which a client tries the targets of an SRV set (RFC 2782, "Usage rules").

extension SRVRecord {
    /// The records in the order to try them (RFC 2782): priorities ascending; within a priority,
    /// a weighted random draw, repeated over the records not yet chosen. Records with target "."
    /// (empty here: the service is not offered) are left out.
    ///
    /// The RFC's draw puts the zero-weight records first and picks a number in 0…sum of weights:
    /// a zero-weight record is chosen only on 0, so it has "a very small chance" while others are
    /// available. Drawing 0 when there is no zero-weight record would give the first record in the
    /// list one extra share, so then the draw is from 1…sum and every record's chance is exactly its
    /// weight over the sum. Zero-weight records among themselves are shuffled (all-zero sets are
    /// tried in a uniformly random order). `generator` is the only source of randomness.
    public static func selectionOrder(_ records: [SRVRecord], using generator: inout some RandomNumberGenerator) -> [SRVRecord] {
        let offered = records.filter { !$0.target.isEmpty && $0.target != "." }
        var ordered: [SRVRecord] = []
        ordered.reserveCapacity(offered.count)
        for priority in Set(offered.map(\.priority)).sorted() {
            let group = offered.filter { $0.priority == priority }
            var remaining = group.filter { $0.weight == 0 }
            remaining.shuffle(using: &generator)
            remaining += group.filter { $0.weight > 0 }
            while !remaining.isEmpty {
                let sum = remaining.reduce(0) { $0 + UInt64($1.weight) }
                var index = 0
                if sum > 0 {
                    let draw = remaining[0].weight == 0 ? generator.next(upperBound: sum + 1) : 1 + generator.next(upperBound: sum)
                    var running: UInt64 = 0
                    for (candidate, record) in remaining.enumerated() {
                        running += UInt64(record.weight)
                        if running >= draw {
                            index = candidate
                            break
                        }
                    }
                }
                ordered.append(remaining.remove(at: index))
            }
        }
        return ordered
    }
}
