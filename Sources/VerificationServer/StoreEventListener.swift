// StoreEventListener: other nodes' events to this node's pages as they are committed, by
// PostgreSQL LISTEN/NOTIFY (migration 8 announces every audit event; `AuditEventNotifier`).
// A notification names a verification; those followed here are read (`StoreEventFollower`).
// Notifications that arrive while a read runs are gathered and read together in the next one, so a
// burst costs a few reads, not one each. NOTIFY is not kept for a listener that is not connected:
// after every (re)connect, once LISTEN is in place, every followed verification is read (the
// catch-up), then reconnects back off from 0.1 s to 5 s while the database is unreachable.

import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Verification

/// A store that announces the audit events any node commits (PostgreSQL NOTIFY).
public protocol AuditEventNotifier: Sendable {
    /// Whether this store announces events at all (a PostgreSQL store does, SQLite not).
    var announcesAuditEvents: Bool { get }
    /// Opens a listening connection; once it listens calls `listening`, then `notified` with the
    /// verification id of every audit event committed in the deployment, until the connection is
    /// lost (throws) or the task is cancelled (returns).
    func listenForAuditEvents(listening: @Sendable () async -> Void, notified: @Sendable (String) -> Void) async throws
}

/// Keeps a listener connected and feeds what it hears to a `StoreEventFollower`.
public struct StoreEventListener: Service {
    let notifier: any AuditEventNotifier
    let follower: StoreEventFollower
    let logger: Logger
    /// The longest wait before connecting again.
    static let maxBackoff: Double = 5

    /// The ids notified and not yet read, a wake-up for the reader, and whether the current
    /// connection got as far as listening.
    private final class Pending: Sendable {
        let ids = Mutex<Set<String>>([])
        let listened = Mutex(false)
        let (wake, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        func add(_ id: String) {
            ids.withLock { _ = $0.insert(id) }
            waker.yield()
        }
        func take() -> Set<String> { ids.withLock { ids in defer { ids = [] }; return ids } }
    }

    /// Listens and reads until cancelled or shut down gracefully.
    public func run() async {
        let pending = Pending()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in pending.wake {
                    let ids = pending.take()
                    guard !ids.isEmpty else { continue }
                    do { try await follower.follow(ids: ids) } catch {
                        logger.warning("store.event_follow_failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            await listen(pending)
            pending.waker.finish()
        }
    }

    /// Listens until cancelled or shut down, reconnecting when the connection is lost.
    private func listen(_ pending: Pending) async {
        var backoff = 0.1
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            pending.listened.withLock { $0 = false }
            do {
                try await cancelWhenGracefulShutdown {
                    try await notifier.listenForAuditEvents(listening: {
                        pending.listened.withLock { $0 = true }
                        logger.info("store.events_listening")
                        do { try await follower.follow() } catch {
                            logger.warning("store.event_follow_failed", metadata: ["error": "\(error)"])
                        }
                    }, notified: pending.add)
                }
            } catch is CancellationError {
                return
            } catch {
                if pending.listened.withLock({ $0 }) { backoff = 0.1 }
                logger.warning("store.events_listen_lost", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                try? await Task.sleep(for: .seconds(backoff))
                backoff = min(Self.maxBackoff, backoff * 2)
            }
        }
    }
}
