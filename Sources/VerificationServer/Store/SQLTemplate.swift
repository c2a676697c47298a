// Statements whose text never changes, only their bound values, rendered to SQL once per dialect.
// SQLKit builds and serializes an `SQLQueryString` anew on every call (≈ 4 % of a check's CPU for
// the three statements of a check); no SQLKit API keeps the rendered text. docs/ARCHITECTURE.md,
// "Storage".
import SQLKit
import Synchronization

/// A statement of fixed shape: `render` makes it from its binds (the same number each call, in the
/// order given), and the text it serializes to is kept per dialect (SQLite's `?`, PostgreSQL's
/// numbered `$n`) and sent again with each later call's binds.
final class SQLTemplate: Sendable {
    private let render: @Sendable ([SQLStoreRows.Value]) -> SQLQueryString
    private let texts = Mutex<[String: String]>([:])

    /// A template whose statement `render` makes from its binds.
    init(_ render: @escaping @Sendable ([SQLStoreRows.Value]) -> SQLQueryString) {
        self.render = render
    }

    /// The statement with `binds` for `db`: the kept text for its dialect, or, the first time, the
    /// statement rendered (and its text kept).
    func statement(_ binds: [SQLStoreRows.Value], on db: any SQLDatabase) -> any SQLExpression {
        let dialect = db.dialect.name
        if let sql = texts.withLock({ $0[dialect] }) { return Rendered(sql: sql, binds: binds) }
        let query = render(binds)
        let (sql, rendered) = db.serialize(query)
        precondition(rendered.count == binds.count, "an SQLTemplate's statement binds exactly the values it was given")
        texts.withLock { $0[dialect] = sql }
        return query
    }

    /// The kept text with this call's binds.
    private struct Rendered: SQLExpression {
        let sql: String
        let binds: [SQLStoreRows.Value]

        func serialize(to serializer: inout SQLSerializer) {
            serializer.write(sql)
            serializer.binds.append(contentsOf: binds)
        }
    }
}
