import Logging
import SMPP
import ServiceLifecycle
import Synchronization
import Verification

/// The `smpp` SMS driver: submits each message over one SMPP 3.4 transceiver session
/// (`ESMEClient`: bind_transceiver, windowed submit_sm with registered_delivery, enquire_link,
/// throttle retries, reconnect with backoff) and turns delivery receipts (Appendix B) into
/// `DeliveryReport`s of the verification that sent the message. Run it as a `Service`: it binds at
/// start and unbinds at graceful shutdown.
public final class SMPPSMS: SMSSender, Service {
    /// The session and submit_sm settings.
    public let configuration: SMPPDriverConfiguration
    let client: ESMEClient
    let templates: SMSTemplates
    let encoder: SMSEncoder
    let logger: Logger
    let deadlines: ReceiptDeadlines?
    let index = Mutex(MessageIndex())
    let reference = Atomic<UInt8>(0)
    /// Each receipt matched to its verification.
    public let reports: AsyncStream<(verificationID: String, report: DeliveryReport)>
    let reportsFeed: AsyncStream<(verificationID: String, report: DeliveryReport)>.Continuation

    /// A driver (not yet bound: `run()` binds).
    public init(configuration: SMPPDriverConfiguration, templates: SMSTemplates, deadlines: ReceiptDeadlines? = nil, logger: Logger) {
        self.deadlines = configuration.registeredDelivery ? deadlines : nil
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
                logger.warning("smpp submit failed", metadata: ["id": .string(message.verificationID), "reason": "\(failure)"])
                throw DeliveryFailure(reason: "smpp: \(failure)")
            }
            logger.info("SMS (smpp driver)", metadata: ["id": .string(message.verificationID), "to": .string(message.to.e164), "message_id": .string(messageID)])
            deadlines?.expect(messageID, verificationID: message.verificationID)
            if let orphan = index.withLock({ $0.sent(messageID, verificationID: message.verificationID) }) {
                if orphan.state != .enroute { deadlines?.settled(messageID) }
                reportsFeed.yield((message.verificationID, Self.report(orphan)))
            }
        }
    }

    /// Binds, matches receipts to verifications until shutdown, then unbinds.
    public func run() async throws {
        client.start()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await receipt in self.client.receipts {
                    if receipt.state != .enroute { self.deadlines?.settled(receipt.messageID) }
                    if let id = self.index.withLock({ $0.received(receipt) }) { self.reportsFeed.yield((id, Self.report(receipt))) }
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

/// Which verification each SMSC message_id belongs to (bounded, oldest forgotten first), and
/// receipts that came before their submit_sm_resp was seen here.
struct MessageIndex {
    private var owners: [String: String] = [:]
    private var order: [String] = []
    private var orphans: [String: DeliveryReceipt] = [:]
    let capacity = 100_000

    /// Records a sent message; returns a receipt that already arrived for it.
    mutating func sent(_ messageID: String, verificationID: String) -> DeliveryReceipt? {
        if let orphan = orphans.removeValue(forKey: messageID) { return orphan }
        owners[messageID] = verificationID
        order.append(messageID)
        if order.count > capacity {
            let drop = order.count - capacity
            for old in order.prefix(drop) { owners[old] = nil }
            order.removeFirst(drop)
        }
        return nil
    }

    /// The verification a receipt is for, or nil (kept as an orphan until its send is recorded).
    mutating func received(_ receipt: DeliveryReceipt) -> String? {
        if let owner = owners[receipt.messageID] { return owner }
        if orphans.count < 1000 { orphans[receipt.messageID] = receipt }
        return nil
    }
}
