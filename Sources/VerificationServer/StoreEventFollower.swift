// StoreEventFollower: SSE across nodes. Nodes sharing a PostgreSQL store each serve pages, and a
// verification a page follows on node B may be changed by node A (a missed call reaches A's
// gateway, a check comes to A's API). This reads the audit events of the verifications with open
// streams here and hands them to the broker, which gives each stream the events it has not had.
// On PostgreSQL, `StoreEventListener` calls it for the verifications NOTIFY names, and for all of
// them after each (re)connect (the catch-up of what was announced while no one listened);
// `polling(every:)` reads them all periodically, for a shared store that announces nothing.

import Foundation
import Logging
import ServiceLifecycle
import Verification

/// Reads other nodes' events of followed verifications from the store into the `EventBroker`.
public struct StoreEventFollower: Sendable {
    let store: any AuditEventStore
    let broker: EventBroker
    let logger: Logger
    /// How far before a stream began events are read: commits and clocks of nodes differ a little.
    static let margin: Double = 2
    /// Verifications per read.
    static let batch = 500

    /// One read of the events of every followed verification.
    public func follow() async throws {
        try await follow(broker.followed())
    }

    /// One read of the events of those of `ids` that are followed here (the others are skipped).
    public func follow(ids: some Sequence<String>) async throws {
        let followed = broker.followed()
        var chosen: [String: Date] = [:]
        for id in ids { if let since = followed[id] { chosen[id] = since } }
        try await follow(chosen)
    }

    private func follow(_ followed: [String: Date]) async throws {
        guard !followed.isEmpty else { return }
        let ids = followed.keys.sorted()
        for start in stride(from: 0, to: ids.count, by: Self.batch) {
            let chunk = Array(ids[start..<min(start + Self.batch, ids.count)])
            guard let oldest = chunk.compactMap({ followed[$0] }).min() else { continue }
            for event in try await store.events(verificationIDs: chunk, since: oldest.addingTimeInterval(-Self.margin)) {
                broker.deliverFromStore(event)
            }
        }
    }

    /// A service reading every followed verification's events each `interval` seconds.
    public func polling(every interval: Double) -> StoreEventPoller {
        StoreEventPoller(follower: self, interval: interval)
    }
}

/// Reads every followed verification's events each `interval` seconds (`StoreEvents.poll`).
public struct StoreEventPoller: Service {
    let follower: StoreEventFollower
    let interval: Double

    /// Reads until cancelled or shut down gracefully; a failed read is logged and retried.
    public func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await follower.follow() } catch {
                follower.logger.warning("store.event_follow_failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }
}
