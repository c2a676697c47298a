import Foundation
import Logging
import ServiceLifecycle
import Verification

/// The SMS the drivers sent whose delivery reports may still come, kept in the store (`sent_sms`):
/// which verification each SMPP message_id belongs to (a receipt that comes after a core restart,
/// or to another node bound to the same SMSC, finds it), and by when a final report must come
/// (`--sms-receipt-timeout`). Drivers call `sent` after a send and `settled` on a final report;
/// `SentSMSSweeper` fails the pending verifications whose report is overdue.
public struct SentSMSLedger: Sendable {
    /// How long a record without a required report is kept for late receipts (SMSCs give up on a
    /// message within their validity period, 48 hours by default at most operators).
    public static let retention: Double = 3 * 24 * 3600

    let store: any SentSMSStore
    /// Seconds a final report may take; nil when none is required.
    public let reportTimeout: Double?

    /// A ledger over `store`; nil `reportTimeout` records no report deadline.
    public init(store: any SentSMSStore, reportTimeout: Double?) {
        self.store = store
        self.reportTimeout = reportTimeout
    }

    /// A message (`key`: SMPP message_id or Kannel nonce) of `verificationID` was sent at `now`.
    public func sent(_ key: String, verificationID: String, now: Date = Date()) async throws {
        try await store.recordSentSMS(
            key: key, verificationID: verificationID,
            dueAt: now.addingTimeInterval(reportTimeout ?? Self.retention), reportRequired: reportTimeout != nil)
    }

    /// The verification of message `key`, if recorded.
    public func owner(_ key: String) async throws -> String? {
        try await store.sentSMSOwner(key: key)
    }

    /// A final report for message `key` came: it is no longer awaited. Its verification, if recorded.
    @discardableResult
    public func settled(_ key: String) async throws -> String? {
        try await store.settleSentSMS(key: key)
    }
}

/// Fails pending verifications whose SMS got no final delivery report in time, and forgets the
/// records whose retention ended. Runs while the SMS driver is kannel or smpp.
struct SentSMSSweeper: Service {
    let ledger: SentSMSLedger
    let service: VerificationService
    let logger: Logger

    /// One pass: every due record, 500 at a time.
    func sweep(now: Date = Date()) async {
        do {
            while true {
                let due = try await ledger.store.claimDueSentSMS(now: now, limit: 500)
                for sms in due where sms.reportRequired {
                    await fail(sms)
                }
                if due.count < 500 { break }
            }
        } catch {
            logger.warning("sms.ledger_sweep_failed", metadata: ["error": "\(error)"])
        }
    }

    private func fail(_ sms: SentSMS) async {
        do {
            guard try await service.verification(id: sms.verificationID).status == .pending else { return }
            try await service.recordDeliveryReport(id: sms.verificationID, DeliveryReport(
                outcome: .failed,
                detail: "no delivery report within \(Self.seconds(ledger.reportTimeout ?? 0)) s (message \(sms.key.prefix(65)))"))
        } catch {
            logger.warning("sms.receipt_timeout_not_recorded", metadata: ["verification": .string(sms.verificationID), "error": "\(error)"])
        }
    }

    func run() async throws {
        let interval = min(1, max(0.05, (ledger.reportTimeout ?? 4) / 4))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sweep()
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
