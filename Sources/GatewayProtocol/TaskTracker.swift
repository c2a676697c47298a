// TaskTracker: one task per message or per call without a task group. A discarding task group
// unlinks each finished child by walking its list of live children, a cost that grows with them
// (issue 15: `swift::TaskGroup::removeChildTask` ≈ 12 % of CPU with hundreds of calls ringing);
// here a task is a dictionary entry, added and removed in constant time, and shutdown still
// cancels what runs and waits for it.

import Synchronization

/// Unstructured tasks kept track of: started one by one, cancelled and awaited together.
public final class TaskTracker: Sendable {
    private struct State {
        var nextID = 0
        var running: [Int: Task<Void, Never>] = [:]
        var cancelled = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Makes an empty tracker.
    public init() {}

    /// Tasks running now.
    public var count: Int { state.withLock { $0.running.count } }

    /// Starts `work` as a task of its own; after `cancelAll()` it starts cancelled.
    public func spawn(_ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            // Made under the lock, so `finished` (which takes it) finds the entry.
            let task = Task { await work(); self.finished(id) }
            state.running[id] = task
            if state.cancelled { task.cancel() }
        }
    }

    private func finished(_ id: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running[id] = nil
            guard state.running.isEmpty else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Cancels every running task, and each one started from now on.
    public func cancelAll() {
        let tasks = state.withLock { state in
            state.cancelled = true
            return Array(state.running.values)
        }
        for task in tasks { task.cancel() }
    }

    /// Waits until no task runs; cancelled while waiting, it cancels them all and keeps waiting.
    public func waitUntilIdle() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let idle = state.withLock { state in
                    if state.running.isEmpty { return true }
                    state.idleWaiters.append(continuation)
                    return false
                }
                if idle { continuation.resume() }
            }
        } onCancel: {
            cancelAll()
        }
    }

    /// `cancelAll()`, then `waitUntilIdle()`.
    public func cancelAndWait() async {
        cancelAll()
        await waitUntilIdle()
    }
}
