import Foundation
import NIOPosix
import PostgresKit

// The listening side of migration 8: a PostgreSQL connection of its own (outside the pool: it
// stays in LISTEN for hours) that hears every audit event the deployment commits.
extension SQLVerificationStore: AuditEventNotifier {
    /// The NOTIFY channel of audit events (migration 8's trigger; database-wide).
    static let auditEventChannel = "verigate_audit_events"

    /// `application_name` of the listening connection (`pg_stat_activity`), naming its schema.
    static func listenerApplicationName(schema: String?) -> String {
        "verigate-events:" + (schema ?? "default")
    }

    /// True on PostgreSQL: SQLite is one node, nothing to announce.
    public var announcesAuditEvents: Bool { postgres != nil }

    /// `AuditEventNotifier.listenForAuditEvents(listening:notified:)`: LISTEN on a new connection,
    /// with the pool's search path; notifications of other schemas' deployments are skipped.
    public func listenForAuditEvents(listening: @Sendable () async -> Void, notified: @Sendable (String) -> Void) async throws {
        guard let postgres else { throw SQLStoreError.invalidConfiguration("audit events are announced by PostgreSQL only") }
        var settings = postgres.coreConfiguration
        settings.options.additionalStartupParameters.append(("application_name", Self.listenerApplicationName(schema: configuration.postgresSchema)))
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: settings, id: 0, logger: logger
        ).get()
        do {
            if let schema = configuration.postgresSchema {
                _ = try await connection.sql().raw("SET search_path TO \(ident: schema)").all()
            }
            // The schema the trigger names (TG_TABLE_SCHEMA): where this search path finds the tables.
            guard let schema = try await connection.sql().raw("SELECT current_schema() AS schema").first()?
                .decode(column: "schema", as: String?.self) else {
                throw SQLStoreError.invalidConfiguration("the PostgreSQL search path names no schema")
            }
            let prefix = schema + " "
            try await connection.listen(on: Self.auditEventChannel) { notifications in
                await listening()
                for try await notification in notifications where notification.payload.hasPrefix(prefix) {
                    notified(String(notification.payload.dropFirst(prefix.count)))
                }
            }
            try? await connection.close()
            if Task.isCancelled { return }
            throw SQLStoreError.listenerClosed
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
