import Foundation
import SQLKit
import Synchronization
import Testing
import TestSupport
@testable import VerificationServer

@Suite("Group commit of the SQLite writer")
struct GroupCommitTests {
    // MARK: the schedule, as values

    private final class Op: CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        var description: String { name }
    }

    @Test("the first operation runs at once; later ones queue; batches are taken from the head, at most maxBatch; the first still queued runs next")
    func schedule() {
        var commit = GroupCommit<Op>(maxBatch: 3)
        let ops = (0..<6).map { Op("op\($0)") }
        let firstRuns = commit.enqueue(ops[0])
        #expect(firstRuns)
        #expect(commit.takeBatch().map(\.name) == ["op0"])
        for op in ops[1...] {
            let runs = commit.enqueue(op)
            #expect(!runs)
        }
        #expect(commit.queued == 5)
        // ops[0]'s batch ended: ops[1]'s owner runs the next one, holding at most three.
        #expect(commit.batchEnded() === ops[1])
        #expect(commit.takeBatch().map(\.name) == ["op1", "op2", "op3"])
        #expect(commit.batchEnded() === ops[4])
        #expect(commit.takeBatch().map(\.name) == ["op4", "op5"])
        #expect(commit.batchEnded() == nil)
        #expect(commit.queued == 0)
        // Free again: the next one runs at once.
        let lastRuns = commit.enqueue(Op("op6"))
        #expect(lastRuns)
    }

    // MARK: the writer on a real SQLite file

    /// A pool on a fresh file with `CREATE TABLE t (x INTEGER NOT NULL)` and a table whose foreign
    /// key is checked only at COMMIT (to make a COMMIT fail on purpose).
    private func withPool(_ body: (SQLiteDatabasePool) async throws -> Void) async throws {
        try await withTemporarySQLitePool { pool, _ in
            try await pool.writer.withDatabase { db in
                try await db.raw("CREATE TABLE t (x INTEGER NOT NULL)").run()
                try await db.raw("CREATE TABLE parent (id INTEGER PRIMARY KEY)").run()
                try await db.raw("""
                    CREATE TABLE child (id INTEGER PRIMARY KEY REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)
                    """).run()
            }
            try await body(pool)
        }
    }

    private func rows(_ pool: SQLiteDatabasePool) async throws -> Set<Int> {
        try await pool.reader.withDatabase { db in
            Set(try await db.raw("SELECT x FROM t").all().map { Int(try $0.decode(column: "x", as: Int64.self)) })
        }
    }

    /// A write whose body inserts `x`, then waits for `release`: the writes started meanwhile queue.
    /// Returns once its body runs.
    private func blockedLeader(_ pool: SQLiteDatabasePool, x: Int, release: AsyncStream<Void>) async -> Task<Void, any Error> {
        let (started, running) = AsyncStream<Void>.makeStream()
        let leader = Task {
            try await pool.writer.withDatabase { db in
                try await db.raw("INSERT INTO t (x) VALUES (\(bind: x))").run()
                running.yield()
                for await _ in release { break }
            }
        }
        for await _ in started { break }
        return leader
    }

    private struct Refused: Error, Equatable {}

    /// One write per `x`, started at once, each inserting `x` and then running `then`; their
    /// outcomes by `x` (true: written).
    private func writes(_ pool: SQLiteDatabasePool, _ xs: ClosedRange<Int>,
                        then: @escaping @Sendable (Int, any SQLDatabase) async throws -> Void) -> Task<[Int: Bool], Never> {
        Task {
            await withTaskGroup(of: (Int, Bool).self) { group in
                for x in xs {
                    group.addTask {
                        do {
                            try await pool.writer.withDatabase { db in
                                try await db.raw("INSERT INTO t (x) VALUES (\(bind: x))").run()
                                try await then(x, db)
                            }
                            return (x, true)
                        } catch {
                            return (x, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
        }
    }

    @Test("writes queued behind a running one share its COMMIT; one that throws is rolled back alone")
    func queuedWritesShareOneCommit() async throws {
        try await withPool { pool in
            let before = pool.statistics
            let (release, go) = AsyncStream<Void>.makeStream()
            let leader = await blockedLeader(pool, x: 0, release: release)
            let writers = 40
            let results = writes(pool, 1...writers) { x, _ in
                if x % 10 == 0 { throw Refused() }
            }
            #expect(try await eventuallyTrue { pool.queued == writers })
            // Nothing of the batch is visible before its COMMIT.
            #expect(try await rows(pool).isEmpty)
            go.yield()
            try await leader.value
            let outcome = await results.value
            #expect(outcome.count == writers)
            #expect(outcome.filter { !$0.value }.keys.sorted() == [10, 20, 30, 40])
            let stored = try await rows(pool)
            #expect(stored == Set([0] + (1...writers).filter { $0 % 10 != 0 }))
            // A batch with a failed write runs again (with savepoints): still one row per write.
            let count = try await pool.reader.withDatabase { db in
                try await db.raw("SELECT COUNT(*) AS n FROM t").first()?.decode(column: "n", as: Int64.self)
            }
            #expect(count == Int64(stored.count))
            // The leader's batch alone, then the 40 queued meanwhile in batches of at most 32.
            let after = pool.statistics
            #expect(after.operations - before.operations == writers + 1)
            #expect(after.batches - before.batches == 3)
        }
    }

    @Test("a COMMIT that fails fails every write of its batch, and none of their rows stays; other batches and the next write are unharmed")
    func failedCommitFailsTheBatch() async throws {
        try await withPool { pool in
            let (release, go) = AsyncStream<Void>.makeStream()
            let leader = await blockedLeader(pool, x: 100, release: release)
            let results = writes(pool, 1...5) { x, db in
                // A child without its parent: legal until COMMIT checks it.
                if x == 3 { try await db.raw("INSERT INTO child (id) VALUES (7)").run() }
            }
            #expect(try await eventuallyTrue { pool.queued == 5 })
            go.yield()
            // The leader's batch (itself alone) commits; the five queued meanwhile share one COMMIT,
            // which the orphan child fails.
            try await leader.value
            #expect(await results.value == [1: false, 2: false, 3: false, 4: false, 5: false])
            #expect(try await rows(pool) == [100])
            try await pool.writer.withDatabase { db in try await db.raw("INSERT INTO t (x) VALUES (1)").run() }
            #expect(try await rows(pool) == [1, 100])
        }
    }

    @Test("a write after close is refused with store_shut_down")
    func closed() async throws {
        try await withPool { pool in
            try pool.close()
            await #expect(throws: SQLStoreError.shutDown) {
                try await pool.writer.withDatabase { db in try await db.raw("INSERT INTO t (x) VALUES (1)").run() }
            }
        }
    }
}
