// Bridges AsyncKit's event-loop connection pools (PostgresKit's) to async/await:
// one pooled connection is lent to a closure as an SQLKit `SQLDatabase`, optionally inside a
// BEGIN…COMMIT transaction. Written by hand because the kits only offer future-based lending and
// SQLKit has no transaction API that keeps every statement on one connection.
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit

/// Lends one connection at a time from a bounded pool, as an `SQLDatabase`.
protocol SQLDatabaseLender: Sendable {
    /// Runs `body` on one pooled connection (autocommit).
    func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R
    /// Runs `body` inside `begin` … COMMIT on one pooled connection; ROLLBACK when `body` throws.
    func withTransaction<R: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R
    /// Closes every connection; the lender cannot be used afterwards.
    func close() async throws
}

/// An `SQLDatabaseLender` over an AsyncKit `EventLoopConnectionPool` of at most `maxConnections`.
final class PooledSQLDatabaseLender<Source: ConnectionPoolSource>: SQLDatabaseLender, @unchecked Sendable
where Source.Connection: Sendable {
    // @unchecked Sendable: EventLoopConnectionPool confines all its state to its event loop and hops
    // there on every public call (request, release, close), so sharing it across tasks is safe.
    private let pool: EventLoopConnectionPool<Source>
    private let database: @Sendable (Source.Connection) -> any SQLDatabase
    private let logger: Logger

    init(
        source: Source, maxConnections: Int, on eventLoop: any EventLoop, logger: Logger,
        database: @escaping @Sendable (Source.Connection) -> any SQLDatabase
    ) {
        self.pool = EventLoopConnectionPool(
            source: source, maxConnections: maxConnections, requestTimeout: .seconds(30), logger: logger, on: eventLoop
        )
        self.database = database
        self.logger = logger
    }

    func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let connection = try await pool.requestConnection(logger: logger).get()
        do {
            let result = try await body(database(connection))
            pool.releaseConnection(connection, logger: logger)
            return result
        } catch {
            pool.releaseConnection(connection, logger: logger)
            throw error
        }
    }

    func withTransaction<R: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let connection = try await pool.requestConnection(logger: logger).get()
        let db = database(connection)
        do {
            try await db.raw(SQLQueryString(begin)).run()
        } catch {
            pool.releaseConnection(connection, logger: logger)
            throw error
        }
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            pool.releaseConnection(connection, logger: logger)
            return result
        } catch {
            do {
                try await db.raw("ROLLBACK").run()
            } catch {
                // The connection may still hold an open transaction: never hand it out again.
                logger.warning("store.rollback_failed", metadata: ["error": "\(String(reflecting: error))"])
                try? await connection.close().get()
            }
            pool.releaseConnection(connection, logger: logger)
            throw error
        }
    }

    func close() async throws {
        try await pool.close().get()
    }
}
