import Foundation
import SQLKit
import Verification

// Webhook deliveries (WebhookStore): enqueued by update in the same transaction, then retried by
// the WebhookDispatcher until delivered or abandoned.
extension SQLVerificationStore {
    /// `WebhookStore.dueWebhooks(now:limit:)`, in SQL.
    public func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT \(unsafeRaw: SQLStoreRows.webhookColumns.joined(separator: ", ")) FROM webhook_deliveries
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= \(bind: SQLTime.micros(now))
                ORDER BY created_at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map(SQLStoreRows.webhook)
        }
    }

    /// `WebhookStore.updateWebhook(_:)`, in SQL.
    public func updateWebhook(_ webhook: WebhookDelivery) async throws {
        try await writer.withDatabase { db in
            try await db.raw(SQLStoreRows.upsert(
                into: "webhook_deliveries", columns: SQLStoreRows.webhookColumns, values: SQLStoreRows.values(webhook)
            )).run()
        }
    }
}
