// CallRetryScheduler: places an outgoing call again when the retry policy says so
// (VerificationService.outgoingCallEnded → .retry). The waits are held in memory: a core restart
// drops them, and the verification stays pending for the user to ask again (resend).

import Logging
import ServiceLifecycle
import Verification

/// Waits out each retry delay, then calls `VerificationService.retryCall(id:)`.
public final class CallRetryScheduler: Service, Sendable {
    let service: VerificationService
    let logger: Logger
    private let requests: AsyncStream<(id: String, after: Double)>
    private let continuation: AsyncStream<(id: String, after: Double)>.Continuation

    /// Makes a scheduler over `service`; `run()` places the calls.
    public init(service: VerificationService, logger: Logger) {
        self.service = service
        self.logger = logger
        (requests, continuation) = AsyncStream.makeStream(of: (id: String, after: Double).self)
    }

    /// Asks for a call for verification `id` after `seconds`.
    public func schedule(id: String, after seconds: Double) {
        logger.info("call.retry_scheduled", metadata: ["verification": "\(id)", "after": "\(seconds)"])
        continuation.yield((id, seconds))
    }

    /// Runs until cancelled or shut down gracefully; waiting retries are dropped then.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await request in requests.cancelOnGracefulShutdown() {
                group.addTask { [service, logger] in
                    try? await Task.sleep(for: .milliseconds(Int64(request.after * 1_000)))
                    guard !Task.isCancelled else { return }
                    do {
                        let placed = try await service.retryCall(id: request.id)
                        logger.info("call.retry", metadata: ["verification": "\(request.id)", "placed": "\(placed)"])
                    } catch {
                        logger.warning("call.retry_failed", metadata: ["verification": "\(request.id)", "error": "\(error)"])
                    }
                }
            }
            group.cancelAll()
        }
    }
}
