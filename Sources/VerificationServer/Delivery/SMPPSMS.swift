import Logging
import SMPP
import ServiceLifecycle
import Synchronization
import Verification

/// The `smpp` SMS driver: submits each message over one SMPP 3.4 transceiver session
/// (`ESMEClient`: bind_transceiver, windowed submit_sm with registered_delivery, enquire_link,
/// throttle retries, reconnect with backoff) and turns delivery receipts (Appendix B) into
/// `DeliveryReport`s of the verification that sent the message, found through the `SentSMSLedger`
/// in the store (a receipt after a restart, or to another node, finds it too). Run it as a
/// `Service`: it binds at start and unbinds at graceful shutdown.
public final class SMPPSMS: SMSSender, Service {
    /// The session and submit_sm settings.
    public let configuration: SMPPDriverConfiguration
    let client: ESMEClient
    let templates: SMSTemplates
    let encoder: SMSEncoder
    let logger: Logger
    let ledger: SentSMSLedger?
    /// Receipts whose message_id the ledger did not know yet (the submit_sm_resp, here or on
    /// another node, not recorded yet): looked up again every second for a minute.
    let orphans = Mutex(OrphanReceipts())
    let reference = Atomic<UInt8>(0)
    /// Each receipt matched to its verification.
    public let reports: AsyncStream<(verificationID: String, report: DeliveryReport)>
    let reportsFeed: AsyncStream<(verificationID: String, report: DeliveryReport)>.Continuation

    /// A driver (not yet bound: `run()` binds).
    public init(configuration: SMPPDriverConfiguration, templates: SMSTemplates, ledger: SentSMSLedger?, logger: Logger) {
        self.ledger = configuration.registeredDelivery ? ledger : nil
        self.configuration = configuration
        self.templates = templates
        self.logger = logger
        encoder = SMSEncoder(packing: configuration.packing)
        client = ESMEClient(configuration: configuration.session, logger: logger)
        (reports, reportsFeed) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// submit_sm for every segment of the rendered text; the SMSC's refusal (an error status, or
    /// throttling past the retries) is a `DeliveryFailure` named after the SMPP status.
    public func send(_ message: CodeMessage) async throws {
        let text = templates.render(message)
        let ref = reference.wrappingAdd(1, ordering: .relaxed).newValue
        let destination = message.to.e164.hasPrefix("+") ? String(message.to.e164.dropFirst()) : message.to.e164
        for segment in encoder.segments(text, reference: ref) {
            var sm = SMPPShortMessage(
                sourceAddr: configuration.sourceAddr, destinationAddr: destination, shortMessage: segment.shortMessage,
                dataCoding: segment.dataCoding, esmClass: segment.esmClass,
                registeredDelivery: configuration.registeredDelivery ? 1 : 0, tlvs: segment.tlvs)
            sm.sourceAddrTON = Self.isAlphanumeric(configuration.sourceAddr) ? 5 : 1
            sm.sourceAddrNPI = Self.isAlphanumeric(configuration.sourceAddr) ? 0 : 1
            let messageID: String
            do {
                messageID = try await client.submit(sm)
            } catch let failure as ESMEFailure {
                logger.warning("sms.smpp_submit_failed", metadata: ["verification": .string(message.verificationID), "reason": "\(failure)"])
                throw DeliveryFailure(reason: "smpp: \(failure)")
            }
            logger.info("sms.sent", metadata: ["driver": "smpp", "verification": .string(message.verificationID), "to": .string(message.to.e164), "message_id": .string(messageID)])
            guard let ledger else { continue }
            do { try await ledger.sent(messageID, verificationID: message.verificationID) } catch {
                logger.warning("sms.sent_not_recorded", metadata: [
                    "driver": "smpp", "verification": .string(message.verificationID), "message_id": .string(messageID), "error": "\(error)"])
            }
            if let orphan = orphans.withLock({ $0.take(messageID) }) { await matched(orphan, to: message.verificationID) }
        }
    }

    /// Binds, matches receipts to verifications until shutdown, then unbinds.
    public func run() async throws {
        client.start()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await receipt in self.client.receipts { await self.received(receipt) }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    await self.retryOrphans()
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                await self.client.shutdown()
            }
            await group.next()
            group.cancelAll()
        }
        await client.shutdown()
        reportsFeed.finish()
    }

    /// A receipt from the SMSC: reported on its verification, or kept as an orphan.
    func received(_ receipt: DeliveryReceipt) async {
        guard let ledger else { return }
        do {
            if let owner = try await ledger.owner(receipt.messageID) {
                await matched(receipt, to: owner)
                return
            }
        } catch {
            logger.warning("sms.receipt_lookup_failed", metadata: ["message_id": .string(receipt.messageID), "error": "\(error)"])
        }
        orphans.withLock { $0.add(receipt) }
    }

    /// Reports `receipt` on verification `id`; a final one settles the message in the ledger.
    func matched(_ receipt: DeliveryReceipt, to id: String) async {
        if receipt.state != .enroute {
            do { try await ledger?.settled(receipt.messageID) } catch {
                logger.warning("sms.receipt_not_settled", metadata: ["message_id": .string(receipt.messageID), "error": "\(error)"])
            }
        }
        reportsFeed.yield((id, Self.report(receipt)))
    }

    /// Looks the orphans up again; those a minute old are dropped with a warning.
    func retryOrphans(now: ContinuousClock.Instant = .now) async {
        guard let ledger else { return }
        let (waiting, expired) = orphans.withLock { $0.drain(now: now) }
        for receipt in expired {
            logger.warning("sms.receipt_dropped", metadata: ["message_id": .string(receipt.messageID)])
        }
        for (receipt, since) in waiting {
            if let owner = try? await ledger.owner(receipt.messageID) {
                await matched(receipt, to: owner)
            } else {
                orphans.withLock { $0.add(receipt, since: since) }
            }
        }
    }

    /// The report a receipt makes (Appendix B `stat`).
    static func report(_ receipt: DeliveryReceipt) -> DeliveryReport {
        let outcome: DeliveryReport.Outcome
        switch receipt.state {
        case .delivered, .accepted: outcome = .delivered
        case .enroute, .unknown: outcome = .inProgress
        case .expired, .deleted, .undeliverable, .rejected: outcome = .failed
        }
        return DeliveryReport(outcome: outcome, detail: "smpp \(receipt.state.rawValue) err:\(receipt.error.prefix(16)) message_id=\(receipt.messageID.prefix(65))")
    }

    static func isAlphanumeric(_ address: String) -> Bool {
        !address.isEmpty && !address.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

/// Receipts that came before their message_id was recorded, with when each came (bounded).
struct OrphanReceipts {
    private var waiting: [String: (receipt: DeliveryReceipt, since: ContinuousClock.Instant)] = [:]
    static let capacity = 1_000
    static let patience = Duration.seconds(60)

    mutating func add(_ receipt: DeliveryReceipt, since: ContinuousClock.Instant = .now) {
        if waiting[receipt.messageID] != nil || waiting.count < Self.capacity { waiting[receipt.messageID] = (receipt, since) }
    }

    /// The orphan receipt for `messageID`, removed.
    mutating func take(_ messageID: String) -> DeliveryReceipt? {
        waiting.removeValue(forKey: messageID)?.receipt
    }

    /// Removes every orphan: those still worth a lookup, and those past `patience`.
    mutating func drain(now: ContinuousClock.Instant) -> (waiting: [(DeliveryReceipt, ContinuousClock.Instant)], expired: [DeliveryReceipt]) {
        defer { waiting = [:] }
        var keep: [(DeliveryReceipt, ContinuousClock.Instant)] = []
        var expired: [DeliveryReceipt] = []
        for (receipt, since) in waiting.values {
            if now - since >= Self.patience { expired.append(receipt) } else { keep.append((receipt, since)) }
        }
        return (keep, expired)
    }
}
