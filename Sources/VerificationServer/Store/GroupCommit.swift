// The group commit of the SQLite writer, as a value: which write operations share the next
// transaction, and who runs it. Its shell is SQLiteDatabasePool, which runs the batches and resumes
// the operations this returns. docs/ARCHITECTURE.md, "Storage".
import DequeModule

/// Queues write operations for one connection so that those arriving together share one
/// transaction, each still atomic on its own, run by one of their own tasks.
///
/// - An operation arriving while the connection is free becomes the **runner** at once.
/// - Operations arriving while a batch runs queue.
/// - The runner takes a **batch**: the queued operations from the head, at most `maxBatch`, its own
///   among them. It runs each operation's statements inside one transaction (how each stays atomic:
///   `SQLiteDatabasePool.runBatch`), commits once, then tells every operation of the batch the
///   outcome. No operation answers its caller before that COMMIT; a failed COMMIT fails them all.
/// - Then, when operations are still queued, the owner of the first one becomes the next runner;
///   otherwise the connection is free again.
///
/// Running the others' statements on the runner's task, rather than handing the open transaction
/// from task to task, keeps the transaction from waiting in the scheduler's queue between
/// operations: one batch runs straight through. Each runner runs one batch, so no caller waits for
/// more than the batches ahead of it and its own.
struct GroupCommit<Operation: AnyObject> {
    /// Most operations in one transaction: bounds how long the first waits for the last.
    let maxBatch: Int
    private var running = false
    private var queue: Deque<Operation> = []

    /// A queue whose batches hold at most `maxBatch` (≥ 1) operations.
    init(maxBatch: Int) {
        precondition(maxBatch >= 1, "a batch holds at least one operation")
        self.maxBatch = maxBatch
    }

    /// Operations queued and not yet taken into a batch.
    var queued: Int { queue.count }

    /// Queues `operation`; true when the connection was free and its caller runs the next batch now.
    mutating func enqueue(_ operation: Operation) -> Bool {
        queue.append(operation)
        guard !running else { return false }
        running = true
        return true
    }

    /// The runner takes its batch: the queued operations from the head, at most `maxBatch`.
    mutating func takeBatch() -> [Operation] {
        precondition(running, "a batch taken with no runner")
        let count = min(maxBatch, queue.count)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    /// The runner's batch has ended (committed or rolled back). Returns the operation whose owner
    /// runs the next batch (it stays queued, at the head); nil when none is queued.
    mutating func batchEnded() -> Operation? {
        precondition(running, "a batch ended with no runner")
        guard let next = queue.first else {
            running = false
            return nil
        }
        return next
    }
}
