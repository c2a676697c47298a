// StoreEventFollower: SSE across nodes. Nodes sharing a PostgreSQL store each serve pages, and a
// verification a page follows on node B may be changed by node A (a missed call reaches A's
// gateway, a check comes to A's API). Every `interval` this reads the recent audit events of the
// verifications with open streams here and hands them to the broker, which gives each stream the
// events it has not had. Polling the audit table (indexed by verification and time) works on
// every backend; PostgreSQL LISTEN/NOTIFY would save the reads but not the catch-up after a
// dropped connection, which this gets for free.

import Foundation
import Logging
import ServiceLifecycle
import Verification

/// Reads other nodes' events of followed verifications from the store into the `EventBroker`.
public struct StoreEventFollower: Service {
    let store: any AuditEventStore
    let broker: EventBroker
    /// Seconds between reads: the most an event from another node waits.
    let interval: Double
    let logger: Logger
    /// How far before a stream began events are read: commits and clocks of nodes differ a little.
    static let margin: Double = 2
    /// Verifications per read.
    static let batch = 500

    /// One read of the events of every followed verification.
    public func follow() async throws {
        let followed = broker.followed()
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

    /// Follows until cancelled, one read every interval (a failed read is logged and retried).
    public func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await follow() } catch { logger.warning("store.event_follow_failed", metadata: ["error": "\(error)"]) }
            try? await Task.sleep(for: .seconds(interval))
        }
    }
}
