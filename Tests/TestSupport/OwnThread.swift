// Blocking work in tests (a socket read with a timeout) on a thread of its own. swift-testing runs
// every test, sync or async, on Swift's cooperative pool, which has one thread per core: two on the CI machine. Two tests blocked there
// stall every other test's tasks, and the servers those tests run, for as long as they block.
import Foundation

/// Runs `body` on a new thread and returns what it returns (or throws what it throws). Keep
/// `#expect` out of `body`: test issues are recorded from the test's own task.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
