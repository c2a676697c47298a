// TransactionTable: the live transactions of an endpoint, keyed by TransactionKey (RFC 3261 §17),
// with per-source and total caps so one peer cannot exhaust the table.

/// The transactions of one endpoint, keyed per RFC 3261 §17.1.3 / §17.2.3, with a cap per source
/// (for example the peer's IP address) and a total cap. A value; the NIO shell owns one.
public struct TransactionTable<Source: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var source: Source
        var value: Value
    }

    /// How many live transactions one source may hold.
    public let maxPerSource: Int
    /// How many live transactions the table may hold.
    public let maxTotal: Int
    private var entries: [TransactionKey: Entry] = [:]
    private var countBySource: [Source: Int] = [:]

    /// Creates an empty table with the given caps.
    public init(maxPerSource: Int = 64, maxTotal: Int = 65_536) {
        self.maxPerSource = maxPerSource
        self.maxTotal = maxTotal
    }

    /// The number of live transactions.
    public var count: Int { entries.count }

    /// The number of live transactions created for `source`.
    public func count(from source: Source) -> Int { countBySource[source] ?? 0 }

    /// Adds a transaction. Throws `duplicateTransaction`, `sourceTransactionLimit` or `transactionTableFull`.
    public mutating func insert(_ value: Value, for key: TransactionKey, from source: Source) throws(SIPStackError) {
        guard entries[key] == nil else { throw SIPStackError(.duplicateTransaction, "transaction \(key) exists") }
        guard count(from: source) < maxPerSource else {
            throw SIPStackError(.sourceTransactionLimit, "source holds \(maxPerSource) transactions")
        }
        guard entries.count < maxTotal else { throw SIPStackError(.transactionTableFull, "table holds \(maxTotal) transactions") }
        entries[key] = Entry(source: source, value: value)
        countBySource[source, default: 0] += 1
    }

    /// The transaction for `key`; setting updates an existing one (setting a missing key does nothing,
    /// use `insert`; setting nil removes).
    public subscript(key: TransactionKey) -> Value? {
        get { entries[key]?.value }
        set {
            if let newValue {
                entries[key]?.value = newValue
            } else {
                remove(key)
            }
        }
    }

    /// Removes the transaction for `key` (on `.terminate`), returning it.
    @discardableResult
    public mutating func remove(_ key: TransactionKey) -> Value? {
        guard let entry = entries.removeValue(forKey: key) else { return nil }
        let remaining = (countBySource[entry.source] ?? 1) - 1
        countBySource[entry.source] = remaining > 0 ? remaining : nil
        return entry.value
    }

    /// All keys, for shutdown or inspection.
    public var keys: [TransactionKey] { Array(entries.keys) }
}
