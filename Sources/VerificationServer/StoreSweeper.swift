// StoreSweeper: the core's periodic pass over the store. It expires pending verifications on time
// (pages and webhooks learn of it unasked) and places the outgoing calls whose retry is due
// (VerificationService.outgoingCallEnded stores the due time). Being in the store, retries survive
// a core restart, and nodes sharing PostgreSQL place each once (claimed with DELETE … RETURNING).

import Foundation
import Logging
import ServiceLifecycle
import Verification

/// Every `interval` seconds: `expireDue()`, then `placeDueCallRetries()`; about once a minute the
/// shared rate-limit buckets that are full again are purged. Errors are logged.
public struct StoreSweeper: Service {
    let service: VerificationService
    /// The shared request limits (nil when they are per node).
    let rateLimits: (any SharedRateLimitStore)?
    let interval: Double
    let logger: Logger
    /// Seconds between two purges of spent rate-limit buckets.
    static let rateLimitPurgeInterval: Double = 60

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
        var lastPurge = Date.distantPast
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sweep()
            let now = service.clock.now()
            if let rateLimits, now.timeIntervalSince(lastPurge) >= Self.rateLimitPurgeInterval {
                lastPurge = now
                do { try await rateLimits.purgeRateLimits(now: now) } catch {
                    logger.warning("ratelimit.purge_failed", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }
}
