// CallRetryScheduler: places outgoing calls again when the retry policy said so
// (VerificationService.outgoingCallEnded stores the due time). It sweeps the store for due
// retries, so a core restart loses none and several nodes sharing PostgreSQL place each once.

import Logging
import ServiceLifecycle
import Verification

/// Every `interval`, places the call retries that are due (`VerificationService.placeDueCallRetries`).
public final class CallRetryScheduler: Service, Sendable {
    let service: VerificationService
    let interval: Duration
    let logger: Logger

    /// Makes a scheduler over `service` that looks for due retries every `interval` (1 s default:
    /// a retry goes out at most that late after its delay, 30 s by default).
    public init(service: VerificationService, interval: Duration = .seconds(1), logger: Logger) {
        self.service = service
        self.interval = interval
        self.logger = logger
    }

    /// One sweep: places what is due and logs each outcome. A store error is logged, not thrown.
    public func sweep() async {
        do {
            for (id, result) in try await service.placeDueCallRetries() {
                switch result {
                case .success(let placed): logger.info("call.retry", metadata: ["verification": "\(id)", "placed": "\(placed)"])
                case .failure(let error): logger.warning("call.retry_failed", metadata: ["verification": "\(id)", "error": "\(error)"])
                }
            }
        } catch {
            logger.warning("call.retry_sweep_failed", metadata: ["error": "\(error)"])
        }
    }

    /// Sweeps until cancelled or shut down gracefully.
    public func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sweep()
            try? await Task.sleep(for: interval)
        }
    }
}
