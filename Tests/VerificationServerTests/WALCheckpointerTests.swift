import Foundation
import SQLKit
import Testing
@testable import VerificationServer

@Suite("WAL checkpoints off the writer")
struct WALCheckpointerTests {
    // MARK: the schedule, as values

    @Test("a commit below the threshold starts nothing; at it one checkpoint starts; commits past it meanwhile start one more when it ends, and only one")
    func schedule() {
        var schedule = WALCheckpointSchedule(threshold: 100)
        var starts: [Bool] = []
        starts.append(schedule.committed(frames: 99))
        starts.append(schedule.committed(frames: 100))
        // Running: later commits past the threshold wait for it.
        starts.append(schedule.committed(frames: 140))
        starts.append(schedule.committed(frames: 180))
        #expect(starts == [false, true, false, false])
        var again = schedule.checkpointEnded()
        #expect(again)
        // The second one ran through no commit: nothing follows it.
        again = schedule.checkpointEnded()
        #expect(!again)
        #expect(!schedule.running)
        // A commit below the threshold while one runs asks for nothing more.
        starts = [schedule.committed(frames: 120), schedule.committed(frames: 2)]
        #expect(starts == [true, false])
        again = schedule.checkpointEnded()
        #expect(!again)
    }

    // MARK: on a real SQLite file

    @Test("the writer's commits no longer checkpoint: the log grows past SQLite's 1,000 pages while the checkpointer is held; then it copies every page into the database file and the next commit starts the log over", .timeLimit(.minutes(1)))
    func checkpointsOffTheWriter() async throws {
        try await withTemporarySQLitePool(checkpointThreshold: 40) { pool, path in
            try await pool.writer.withDatabase { db in try await db.raw("CREATE TABLE t (x INTEGER NOT NULL, pad BLOB NOT NULL)").run() }
            let fileBefore = try fileSize(path)
            // Hold the checkpointer's connection: a checkpoint the commits start waits behind this.
            let release = DispatchSemaphore(value: 0)
            pool.checkpointer.queue.asyncWriteWithoutTransaction { _ in release.wait() }
            // Each row has an overflow page of its own, and each commit writes it, its leaf and more:
            // 400 commits log well over 1,000 pages.
            for x in 1...400 {
                try await pool.writer.withDatabase { db in
                    try await db.raw("INSERT INTO t (x, pad) VALUES (\(bind: x), zeroblob(5000))").run()
                }
            }
            // SQLite's checkpoint at commit would have started the log over after 1,000 pages.
            let held = pool.checkpointer.statistics
            #expect(held.lastCommitFrames > 1_000)
            #expect(held.checkpoints == 0)
            // Nothing reached the database file yet.
            #expect(try fileSize(path) == fileBefore)
            release.signal()
            let done = await pool.checkpointer.idle()
            #expect(done.checkpoints >= 1)
            // The last checkpoint found the whole log (nothing was committed after the hold) and copied it all.
            #expect((done.lastCheckpoint?.logFrames ?? 0) >= held.lastCommitFrames)
            #expect(done.lastCheckpoint?.checkpointedFrames == done.lastCheckpoint?.logFrames)
            // At least each row's overflow page of its own.
            #expect(try fileSize(path) >= fileBefore + 400 * 4_096)
            // Everything is copied and nobody reads: the next commit starts the log over.
            try await pool.writer.withDatabase { db in try await db.raw("INSERT INTO t (x, pad) VALUES (0, x'00')").run() }
            let restarted = pool.checkpointer.statistics.lastCommitFrames
            #expect(restarted < 40, "the log holds \(restarted) pages after a complete checkpoint")
            let count = try await pool.reader.withDatabase { db in
                try await db.raw("SELECT COUNT(*) AS n FROM t").first()?.decode(column: "n", as: Int64.self)
            }
            #expect(count == 401)
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    }
}
