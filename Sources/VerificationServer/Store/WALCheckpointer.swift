// Checkpoints of the SQLite write-ahead log on a connection of their own, off the writer.
// docs/ARCHITECTURE.md, "Storage".
//
// Why this file exists: SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past
// 1,000 pages, on the committing connection (https://www.sqlite.org/wal.html#automatic_checkpoint):
// here the single writer, while every queued write waits for it, copying the log into the database
// and syncing both files. Neither SQLite nor GRDB runs checkpoints elsewhere; SQLite's documented
// way is this one: turn the automatic checkpoint off and checkpoint from another connection or thread
// (https://www.sqlite.org/c3ref/wal_hook.html, https://www.sqlite.org/c3ref/wal_checkpoint_v2.html).
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// When to checkpoint, as a value: the writer's commits report the log's length in pages
/// (frames), and at most one checkpoint runs at a time.
struct WALCheckpointSchedule {
    /// Pages in the log from which a checkpoint starts (SQLite's automatic checkpoint's default).
    let threshold: Int
    /// A checkpoint runs (or is about to).
    private(set) var running = false
    /// A commit reported a log past the threshold while a checkpoint ran.
    private var again = false

    init(threshold: Int) {
        precondition(threshold >= 1, "a checkpoint threshold is at least one page")
        self.threshold = threshold
    }

    /// A commit left `frames` pages in the log: true when a checkpoint starts now.
    mutating func committed(frames: Int) -> Bool {
        guard frames >= threshold else { return false }
        guard !running else {
            again = true
            return false
        }
        running = true
        return true
    }

    /// The running checkpoint ended: true when another starts now, because commits made meanwhile
    /// left the log past the threshold (pages the checkpoint may not have copied). Otherwise the
    /// next commit decides: after a complete checkpoint the writer starts the log over, and the
    /// commit reports a short log.
    mutating func checkpointEnded() -> Bool {
        precondition(running, "a checkpoint ended that was not running")
        running = again
        again = false
        return running
    }
}

/// Runs the write connection's checkpoints (`PASSIVE`: never waits for the writer or a reader) on
/// a connection and a thread of its own, started by the writer's commits through SQLite's WAL hook
/// (which also turns the writer's automatic checkpoint off).
final class WALCheckpointer: Sendable {
    /// The checkpointer's connection, on its own serial queue (internal for tests).
    let queue: DatabaseQueue
    private let state: Mutex<State>
    private let logger: Logger

    /// What the checkpoints did so far, and who waits for what.
    struct Statistics: Sendable {
        /// Checkpoints run, failed ones included (each failure is logged, `store.checkpoint_failed`).
        var checkpoints = 0
        /// The last checkpoint that ran: the log's length in pages, and how many of them are in the
        /// database file (all of them when it was complete). SQLite counts both over the whole log,
        /// not per checkpoint.
        var lastCheckpoint: (logFrames: Int, checkpointedFrames: Int)?
        /// The log's length at the writer's last commit.
        var lastCommitFrames = 0
    }

    private struct State {
        var schedule: WALCheckpointSchedule
        var statistics = Statistics()
        var idleWaiters: [CheckedContinuation<Statistics, Never>] = []
    }

    /// A checkpointer of the database at `path`, starting a checkpoint from `threshold` pages.
    init(path: String, threshold: Int = 1_000, busyTimeoutMilliseconds: Int, logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1_000)
        configuration.label = "verigate.store.checkpointer"
        self.queue = try DatabaseQueue(path: path, configuration: configuration)
        self.state = Mutex(State(schedule: WALCheckpointSchedule(threshold: threshold)))
        self.logger = logger
    }

    /// What the checkpoints did since opening.
    var statistics: Statistics { state.withLock { $0.statistics } }

    /// Reports `db`'s commits to this checkpointer from now on, instead of checkpointing in them.
    /// `db` must not outlive this checkpointer without `uninstall(from:)`.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frames in
            Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue().committed(frames: Int(frames))
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// `db`'s commits report to nobody again (and run no checkpoint).
    func uninstall(from db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, nil, nil)
    }

    /// Returns once no checkpoint runs or is due (for tests).
    @discardableResult
    func idle() async -> Statistics {
        await withCheckedContinuation { continuation in
            let now: Statistics? = state.withLock { state in
                guard state.schedule.running else { return state.statistics }
                state.idleWaiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Closes the checkpointer's connection (a checkpoint running finishes first).
    func close() throws {
        try queue.close()
    }

    /// A commit on the writer left `frames` pages in the log (called inside the COMMIT: only
    /// schedules).
    private func committed(frames: Int) {
        let start = state.withLock { state in
            state.statistics.lastCommitFrames = frames
            return state.schedule.committed(frames: frames)
        }
        guard start else { return }
        queue.asyncWriteWithoutTransaction { [self] db in checkpoint(db) }
    }

    /// Runs checkpoints while the schedule asks for one.
    private func checkpoint(_ db: Database) {
        var again = true
        while again {
            var result: (logFrames: Int, checkpointedFrames: Int)?
            do {
                let (frames, done) = try db.checkpoint(.passive)
                result = (frames, done)
                logger.trace("store.checkpoint", metadata: ["frames": "\(frames)", "checkpointed": "\(done)"])
            } catch {
                logger.warning("store.checkpoint_failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let (statistics, waiters) = state.withLock { state in
                state.statistics.checkpoints += 1
                state.statistics.lastCheckpoint = result ?? state.statistics.lastCheckpoint
                again = state.schedule.checkpointEnded()
                var waiters: [CheckedContinuation<Statistics, Never>] = []
                if !again { swap(&waiters, &state.idleWaiters) }
                return (state.statistics, waiters)
            }
            for waiter in waiters { waiter.resume(returning: statistics) }
        }
    }
}
