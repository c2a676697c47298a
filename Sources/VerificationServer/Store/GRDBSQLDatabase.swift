// SQLKit's `SQLDatabase` over GRDB connections, so the store's statements (written once, for SQLite
// and PostgreSQL) run on SQLite synchronously on the calling thread, as cached prepared statements.
// Values are encoded and decoded as SQLiteKit does (`SQLiteDataEncoder`/`SQLiteDataDecoder`), so
// a database written before keeps reading the same; the store's own column types take a direct path.
// Written by hand: no library bridges SQLKit to GRDB (see SQLiteDatabasePool.swift).
import Foundation
import GRDB
import GRDBSQLite
import Logging
import NIOCore
import SQLKit
import SQLiteKit

/// An `SQLDatabase` whose statements run through `access` (a GRDB read or write access, lent for
/// one statement at a time; see `SQLiteDatabasePool`).
struct GRDBSQLDatabase: SQLDatabase {
    /// Runs `statement` on a connection lent for the call.
    typealias Access = @Sendable (_ statement: (Database) throws -> Void) throws -> Void

    let eventLoop: any EventLoop
    let logger: Logger
    let access: Access

    init(eventLoop: any EventLoop, logger: Logger, access: @escaping Access) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.access = access
    }

    var dialect: any SQLKit.SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLKit.SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLKit.SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try run(query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    /// Serializes `query`, runs it as a cached statement and hands each row to `onRow`.
    private func run(_ query: any SQLKit.SQLExpression, _ onRow: (any SQLRow) -> ()) throws {
        let (sql, binds) = serialize(query)
        // GRDB's initializer for a sequence of a concrete convertible type maps with a key path,
        // which the runtime builds anew on each call (perf: ≈ 2 % of a check); the existential
        // one maps with a closure.
        var values: [(any DatabaseValueConvertible)?] = []
        values.reserveCapacity(binds.count)
        for bind in binds { values.append(try Self.databaseValue(bind)) }
        let arguments = StatementArguments(values)
        try access { db in
            let statement = try db.cachedStatement(sql: sql)
            try statement.setArguments(arguments)
            guard statement.columnCount > 0 else {
                try statement.execute()
                return
            }
            let columns = statement.columnNames
            let rows = ValuesCursor(statement)
            while let values = try rows.next() {
                onRow(GRDBSQLRow(columns: columns, values: values))
            }
        }
    }

    /// A bound value as SQLite stores it: the store's own types directly, anything else as
    /// SQLiteKit encodes it.
    static func databaseValue(_ bind: any Encodable & Sendable) throws -> DatabaseValue {
        if let value = bind as? any SQLiteBindable { return value.sqliteValue }
        return databaseValue(try SQLiteDataEncoder().encode(bind))
    }

    static func databaseValue(_ data: SQLiteData) -> DatabaseValue {
        switch data {
        case .integer(let value): Int64(value).databaseValue
        case .float(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let value): Data(value.readableBytesView).databaseValue
        case .null: .null
        }
    }
}

/// The store's own bound types, as SQLite stores them (what `SQLiteDataEncoder` makes of them,
/// without the encoder): one conformance check per value, nil optionals included, instead of a cast
/// per candidate type and the encoder for every nil.
protocol SQLiteBindable {
    var sqliteValue: DatabaseValue { get }
}

extension String: SQLiteBindable { var sqliteValue: DatabaseValue { databaseValue } }
extension Int64: SQLiteBindable { var sqliteValue: DatabaseValue { databaseValue } }
extension Int: SQLiteBindable { var sqliteValue: DatabaseValue { Int64(self).databaseValue } }
extension Double: SQLiteBindable { var sqliteValue: DatabaseValue { databaseValue } }
extension Data: SQLiteBindable { var sqliteValue: DatabaseValue { databaseValue } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    var sqliteValue: DatabaseValue { self?.sqliteValue ?? .null }
}

/// The rows of a statement whose arguments are set (`Statement.setArguments`, which also resets
/// it), each as its values in column order. GRDB's `Row.fetchCursor` makes a `Row` per statement,
/// which builds a dictionary of the lowercased column names (for lookups by name that
/// `GRDBSQLRow` makes by scanning `columnNames`): 1.6 % of the core's CPU under a check load.
private final class ValuesCursor: DatabaseCursor {
    typealias Element = [DatabaseValue]
    let _statement: Statement
    var _isDone = false
    private let count: CInt

    init(_ statement: Statement) {
        self._statement = statement
        self.count = CInt(statement.columnCount)
    }

    // As GRDB's cursors: a statement left mid-way (a failed step) is reset, so that it holds no
    // read snapshot while it waits in the statement cache.
    deinit {
        sqlite3_reset(_statement.sqliteStatement)
    }

    func _element(sqliteStatement: SQLiteStatement) -> [DatabaseValue] {
        (0..<count).map { DatabaseValue(sqliteStatement: sqliteStatement, index: $0) }
    }
}

/// One result row as SQLKit's `SQLRow`. Columns are found by a scan of the statement's few names
/// (short strings, compared in place), cheaper than hashing them into an index per query.
struct GRDBSQLRow: SQLRow {
    /// The statement's column names (GRDB keeps them per prepared statement).
    let columns: [String]
    let values: [DatabaseValue]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.firstIndex(of: column) else { return true }
        return values[position].isNull
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let position = columns.firstIndex(of: column) else { throw GRDBSQLRowError.missingColumn(column) }
        let value = values[position]
        // The store's column types, directly; anything else as SQLiteKit decodes it.
        switch value.storage {
        case .string(let string):
            if let decoded = string as? D { return decoded }
        case .int64(let integer):
            if let decoded = integer as? D { return decoded }
            if D.self == Int.self || D.self == Int?.self, let decoded = Int(integer) as? D { return decoded }
        case .double(let double):
            if let decoded = double as? D { return decoded }
        case .blob(let data):
            if let decoded = data as? D { return decoded }
        case .null:
            if let decoded = Optional<Any>.none as? D { return decoded }
        }
        return try SQLiteDataDecoder().decode(D.self, from: Self.sqliteData(value))
    }

    private static func sqliteData(_ value: DatabaseValue) -> SQLiteData {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(Int(integer))
        case .double(let double): .float(double)
        case .string(let string): .text(string)
        case .blob(let data): .blob(ByteBuffer(bytes: data))
        }
    }
}

/// A row was asked for a column its statement does not return.
enum GRDBSQLRowError: Error, CustomStringConvertible {
    case missingColumn(String)

    var description: String {
        switch self {
        case .missingColumn(let column): "The row has no column \(column)."
        }
    }
}
