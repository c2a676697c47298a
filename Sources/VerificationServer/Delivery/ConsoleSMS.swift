import Foundation
import GatewayProtocol
import Logging
import Synchronization
import Verification

/// The `console` SMS driver: the development outbox. In dev mode the rendered texts are kept
/// (newest last, bounded) and served at `GET /dev/outbox`; in production mode only the fact of a
/// send is logged, never the text (it holds the code).
public final class ConsoleSMS: SMSSender {
    /// One message in the outbox.
    public struct Entry: Sendable, Codable, Equatable {
        /// The verification the SMS is for.
        public var verificationID: String
        /// The E.164 number it went to.
        public var to: String
        /// The text as rendered (carries the code: dev mode only).
        public var text: String
        /// When it was sent.
        public var at: Date
        enum CodingKeys: String, CodingKey { case verificationID = "verification_id", to, text, at }
    }

    private let entries = Mutex<[Entry]>([])
    private let keep: Int
    private let devMode: Bool
    private let templates: SMSTemplates
    private let logger: Logger

    /// A console driver; in dev mode it keeps the last `keep` messages for `/dev/outbox`.
    public init(devMode: Bool, templates: SMSTemplates, logger: Logger, keep: Int = 200) {
        self.devMode = devMode
        self.templates = templates
        self.logger = logger
        self.keep = keep
    }

    /// Sends (records) the SMS for `message` (`SMSSender`; the console never fails).
    public func send(_ message: CodeMessage) {
        logger.info("sms.sent", metadata: ["driver": "console", "verification": .string(message.verificationID), "to": .string(message.to.e164)])
        guard devMode else { return }
        let entry = Entry(verificationID: message.verificationID, to: message.to.e164, text: templates.render(message), at: Date())
        entries.withLock { e in
            e.append(entry)
            if e.count > keep { e.removeFirst(e.count - keep) }
        }
    }

    /// The outbox, newest last (empty in production mode).
    public var outbox: [Entry] { entries.withLock { $0 } }
}

/// Routes each channel to its driver: SMS to the configured SMS driver, voice channels to the
/// voice gateway (none until a gateway attaches: they fail with `no_gateway`).
public struct ChannelRouter: CodeDelivery {
    /// The configured SMS driver.
    public let sms: any SMSSender
    /// The voice gateways attached over the socket.
    public let gateways: GatewayRegistry
    /// How long an outgoing call rings before the gateway gives up (seconds).
    public var ringSeconds = 30
    /// voice_call: the gateway says the code only after a key press (issue 12; `--voice-call-keypress`).
    public var voiceCallKeypress = true

    /// Delivery through `sms` for SMS and the attached gateways for calls.
    public init(sms: any SMSSender, gateways: GatewayRegistry = GatewayRegistry()) {
        self.sms = sms
        self.gateways = gateways
    }

    /// The system numbers the attached gateways announced.
    public func gatewaySystemNumbers() async -> [String] { gateways.systemNumbers() }

    /// SMS always; a call channel when an attached gateway serves it.
    public func isAvailable(_ channel: VerificationMethod) async -> Bool {
        switch channel {
        case .sms: true
        case .voiceCallIn, .missedCall, .dtmfCallIn, .voiceCall, .dtmfCallOut: gateways.serves(channel)
        }
    }

    /// Sends the SMS or asks a gateway to place the call; throws `DeliveryFailure`.
    public func deliver(_ message: CodeMessage) async throws {
        switch message.channel {
        case .sms:
            try await sms.send(message)
        case .voiceCall:
            // The gateway says the code when answered.
            try await gateways.originate(Originate(
                verificationID: message.verificationID, number: message.to.e164, mode: .playCode, code: message.code, codeLength: nil,
                locale: message.locale, ringSeconds: ringSeconds, keypress: voiceCallKeypress), channel: .voiceCall)
        case .dtmfCallOut:
            // The code is on the page, never sent to the gateway: the keys come back to the core as `digits`.
            try await gateways.originate(Originate(
                verificationID: message.verificationID, number: message.to.e164, mode: .collectCode, code: nil, codeLength: message.codeLength,
                locale: message.locale, ringSeconds: ringSeconds), channel: .dtmfCallOut)
        case .voiceCallIn, .missedCall, .dtmfCallIn:
            throw DeliveryFailure(reason: "call-in channels have nothing to send")
        }
    }
}
