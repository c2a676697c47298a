// The group commit of the SQLite writer, as a value: who writes next on the one write connection,
// and when the open transaction is committed. Its shell is SQLiteGroupCommitWriter, which resumes the
// waiters this returns. docs/ARCHITECTURE.md, "Storage".
import DequeModule

/// Schedules write operations onto one connection so that operations arriving together share one
/// transaction, each still atomic on its own.
///
/// - The first operation to arrive while the connection is free **leads** a batch: it opens the
///   transaction (`BEGIN IMMEDIATE`) and runs its statements.
/// - Operations arriving meanwhile queue. When the running operation's statements are done, the
///   transaction is **handed off** to the next queued operation, which **joins** it inside a
///   SAVEPOINT (so that its failure rolls back only its own statements), and so on.
/// - When nobody is queued, or the batch holds `maxBatch` operations, the operation that finished
///   last **commits**; every operation of the batch learns the outcome of that one COMMIT, and only
///   then answers its caller. A failed COMMIT fails them all: no caller is ever told "written" for
///   a write that is not durable.
/// - The next queued operation then leads a new batch.
///
/// `Waiter` is what the shell resumes (a continuation); the tests use plain values.
struct GroupCommit<Waiter> {
    /// How an operation takes the connection.
    enum Role: Equatable {
        /// First of a batch: opens the transaction.
        case lead
        /// Later in the batch: the transaction is open; run inside a savepoint.
        case join
    }

    /// What `enter` tells the shell.
    enum Entry {
        /// The connection was free: the caller leads a new batch now.
        case lead
        /// Queued: the caller waits until `Handoff` or `Committed` resumes it with a role.
        case wait
    }

    /// What `finished` tells the shell once an operation's statements are done.
    enum AfterOperation {
        /// Resume `next` with `.join`; the finished operation waits for the batch's COMMIT.
        case handOff(next: Waiter)
        /// The finished operation commits (or rolls back) the batch now.
        case commit
    }

    /// What `committed` tells the shell after the batch's COMMIT (or ROLLBACK).
    struct Committed {
        /// The operations of the batch waiting for the outcome (all but the committer).
        var members: [Waiter]
        /// The next operation to lead a batch (resume with `.lead`), if one is queued.
        var nextLeader: Waiter?
    }

    private enum State {
        case idle
        /// A batch is open: `size` operations have run or are running in it; `awaiting` have
        /// finished and wait for its outcome.
        case batch(size: Int, awaiting: [Waiter])
    }

    /// Most operations in one transaction: bounds how long the first waits for the last.
    let maxBatch: Int
    private var state: State = .idle
    private var queue: Deque<Waiter> = []

    /// A scheduler whose batches hold at most `maxBatch` (≥ 1) operations.
    init(maxBatch: Int) {
        precondition(maxBatch >= 1, "a batch holds at least one operation")
        self.maxBatch = maxBatch
    }

    /// Operations queued for the connection (neither running nor finished).
    var queued: Int { queue.count }

    /// An operation wants the connection; `waiter` is how to resume it if it must wait.
    mutating func enter(_ waiter: Waiter) -> Entry {
        switch state {
        case .idle:
            state = .batch(size: 1, awaiting: [])
            return .lead
        case .batch:
            queue.append(waiter)
            return .wait
        }
    }

    /// The running operation's statements are done (successfully or rolled back to its savepoint);
    /// `waiter` is how to resume it with the batch's outcome if another operation runs next.
    mutating func finished(_ waiter: Waiter) -> AfterOperation {
        guard case .batch(let size, var awaiting) = state else { preconditionFailure("finished with no batch open") }
        if size < maxBatch, let next = queue.popFirst() {
            awaiting.append(waiter)
            state = .batch(size: size + 1, awaiting: awaiting)
            return .handOff(next: next)
        }
        return .commit
    }

    /// The batch's transaction ended (committed or rolled back) by the last operation to run.
    mutating func committed() -> Committed {
        guard case .batch(_, let awaiting) = state else { preconditionFailure("committed with no batch open") }
        if let next = queue.popFirst() {
            state = .batch(size: 1, awaiting: [])
            return Committed(members: awaiting, nextLeader: next)
        }
        state = .idle
        return Committed(members: awaiting, nextLeader: nil)
    }
}

extension GroupCommit.AfterOperation: Equatable where Waiter: Equatable {}
