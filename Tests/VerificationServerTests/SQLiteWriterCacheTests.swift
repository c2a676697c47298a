import Foundation
import GRDB
import GRDBSQLite
import SQLKit
import Testing
@testable import VerificationServer

@Suite("The SQLite writer's page cache")
struct SQLiteWriterCacheTests {
    @Test("rows the writer wrote are read again on the writer from its own cache: 16 MiB written, then read whole with no page read from the file; with SQLite's default 2 MiB, most of them are", .timeLimit(.minutes(1)))
    func writerKeepsWhatItWrote() async throws {
        try await withTemporarySQLitePool { pool, _ in
            try await pool.writer.withDatabase { db in try await db.raw("CREATE TABLE t (x INTEGER PRIMARY KEY, pad BLOB NOT NULL)").run() }
            // 4,000 rows of 4,000 random bytes, a page each: eight times SQLite's default cache, a
            // quarter of the writer's. In 40 commits, so that the checkpointer copies them meanwhile.
            for chunk in 0..<40 {
                try await pool.writer.withDatabase { db in
                    try await db.raw("""
                        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
                        INSERT INTO t (x, pad) SELECT \(bind: chunk * 100) + i, randomblob(4000) FROM n
                        """).run()
                }
            }
            await pool.checkpointer.idle()
            // Every row read again on the writer connection (the one a check's read runs on), counting
            // the pages it had to read from the file.
            let misses = try await pool.pool.writeWithoutTransaction { db in try Self.pagesReadFromFile(db) }
            #expect(misses < 40, "the writer read \(misses) pages from the file")
            // The same read with SQLite's default cache (2 MiB): most pages come from the file.
            let defaultMisses = try await pool.pool.writeWithoutTransaction { db -> Int32 in
                try db.execute(sql: "PRAGMA cache_size = -2000")
                defer { try? db.execute(sql: "PRAGMA cache_size = -\(SQLiteDatabasePool.writerCacheKiB)") }
                return try Self.pagesReadFromFile(db)
            }
            #expect(defaultMisses >= 3_000, "with 2 MiB the writer read \(defaultMisses) pages from the file")
        }
    }

    /// Reads every row of `t` on `db`; returns the pages read from the file meanwhile
    /// (`SQLITE_DBSTATUS_CACHE_MISS`, https://www.sqlite.org/c3ref/c_dbstatus_options.html).
    private static func pagesReadFromFile(_ db: Database) throws -> Int32 {
        var current: Int32 = 0
        var highwater: Int32 = 0
        sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &current, &highwater, 1)
        let bytes = try Int.fetchOne(db, sql: "SELECT sum(length(pad)) FROM t")
        #expect(bytes == 4_000 * 4_000)
        sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &current, &highwater, 0)
        return current
    }
}
