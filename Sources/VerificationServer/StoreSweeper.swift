// StoreSweeper: the core's periodic pass over the store. It expires pending verifications on time
// (pages and webhooks learn of it unasked) and places the outgoing calls whose retry is due
// (VerificationService.outgoingCallEnded stores the due time). Being in the store, retries survive
// a core restart, and nodes sharing PostgreSQL place each once (claimed with DELETE … RETURNING).

import Logging
import ServiceLifecycle
import Verification

/// Every `interval` seconds: `expireDue()`, then `placeDueCallRetries()`. Errors are logged.
public struct StoreSweeper: Service {
    let service: VerificationService
    let interval: Double
    let logger: Logger

    /// One pass.
    public func sweep() async {
        do { try await service.expireDue() } catch { logger.warning("store.expiry_sweep_failed", metadata: ["error": "\(error)"]) }
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
            try? await Task.sleep(for: .seconds(interval))
        }
    }
}
