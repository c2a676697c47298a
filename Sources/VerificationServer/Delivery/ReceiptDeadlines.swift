import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Verification

/// Sent SMS still waiting for their final delivery report, each with the time by which it must
/// come (`--sms-receipt-timeout`). Drivers call `expect` after a send and `settled` on a final
/// report; `ReceiptTimeoutSweeper` fails the pending verifications whose report is overdue.
public final class ReceiptDeadlines: Sendable {
    /// Seconds a final report may take.
    public let timeout: Double
    private let waiting = Mutex<[String: (verificationID: String, deadline: Date)]>([:])
    private let capacity = 100_000

    /// Deadlines `timeout` seconds after each send.
    public init(timeout: Double) { self.timeout = timeout }

    /// A message (`key`: Kannel nonce or SMPP message_id) of `verificationID` was sent at `now`.
    public func expect(_ key: String, verificationID: String, now: Date = Date()) {
        waiting.withLock { w in
            if w.count < capacity { w[key] = (verificationID, now.addingTimeInterval(timeout)) }
        }
    }

    /// A final report for the message came.
    public func settled(_ key: String) {
        _ = waiting.withLock { $0.removeValue(forKey: key) }
    }

    /// Removes and returns the messages whose report is overdue at `now` (verification id, key).
    public func overdue(now: Date = Date()) -> [(verificationID: String, key: String)] {
        waiting.withLock { w in
            let late = w.filter { $0.value.deadline <= now }
            for key in late.keys { w[key] = nil }
            return late.map { ($0.value.verificationID, $0.key) }.sorted { $0.key < $1.key }
        }
    }
}

/// Fails pending verifications whose SMS got no final delivery report in time.
struct ReceiptTimeoutSweeper: Service {
    let deadlines: ReceiptDeadlines
    let service: VerificationService
    let logger: Logger

    func run() async throws {
        let interval = min(1, max(0.05, deadlines.timeout / 4))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for (id, key) in deadlines.overdue() {
                do {
                    guard try await service.verification(id: id).status == .pending else { continue }
                    try await service.recordDeliveryReport(id: id, DeliveryReport(
                        outcome: .failed, detail: "no delivery report within \(Self.seconds(deadlines.timeout)) s (message \(key.prefix(65)))"))
                } catch {
                    logger.warning("receipt timeout not recorded", metadata: ["id": .string(id), "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
