import Foundation
import GatewayProtocol
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Verification

/// The verification core's composition root: the domain service wired to its store, deliveries,
/// events, webhooks and metrics. `buildRouter(_:)` (Application+build.swift) puts the HTTP API
/// over it, `services()` lists what runs beside the server.
public final class Core: Sendable {
    /// What it was built with.
    public let configuration: CoreConfiguration
    /// The verification flows.
    public let service: VerificationService
    /// Where every verification, event, send and key is kept (shared by the nodes).
    public let store: any VerificationStore
    /// This node's live events, for the SSE streams.
    public let broker: EventBroker
    /// The Prometheus metrics (`GET /metrics`).
    public let metrics: ServerMetrics
    /// The console SMS driver (the dev outbox; the default driver).
    public let sms: ConsoleSMS
    /// The configured SMS driver (the console outbox, Kannel or SMPP).
    public let smsSender: any SMSSender
    /// The Kannel driver, when configured (its delivery reports come to `KannelDLR.path`).
    public let kannel: KannelSMS?
    /// The SMPP driver, when configured (a service: it binds at start).
    public let smpp: SMPPSMS?
    /// Signs and checks the tokens of Kannel's dlr-url.
    let kannelDLR: KannelDLR
    /// The SMS sent through kannel or smpp whose reports may still come (nil with the console driver).
    let sentSMS: SentSMSLedger?
    /// The core's logger (dotted event names with metadata).
    public let logger: Logger
    /// Delivers the signed status-change webhooks.
    public let webhooks: WebhookDispatcher
    /// Key of the webhook signatures (HKDF of the server secret); `verigate webhook-secret` prints it.
    public let webhookSecret: [UInt8]
    /// Starts per client IP, API and page alike (`limits.perClientIPPerMinute`).
    let startLimiter: SharedRateLimiter
    /// Requests per API key (`limits.perAPIKeyPerMinute`).
    let keyLimiter: SharedRateLimiter
    /// The voice gateways attached (`gatewaySocketServer(path:)`, `gatewayInProcessServer(link:)`).
    public let gateways: GatewayRegistry
    /// Expires verifications and places due call retries (run by `services()`).
    public let sweeper: StoreSweeper
    /// The hosted page's ticket key, templates and demo limiter.
    let page: HostedPageState

    /// Wires the core from `configuration`: SMS driver, webhooks, gateway registry, sweeper and
    /// service. `secret` is the server secret every key is derived from (HKDF). Starts nothing:
    /// `services()` lists what to run.
    public init(
        configuration: CoreConfiguration, store: any VerificationStore, secret: [UInt8], logger: Logger,
        clock: any VerificationClock = SystemClock(), random: any RandomSource = SystemRandomSource(),
        metrics: ServerMetrics = ServerMetrics()
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.metrics = metrics
        broker = EventBroker()
        sms = ConsoleSMS(devMode: configuration.devMode, templates: configuration.smsTemplates, logger: logger)
        kannelDLR = KannelDLR(key: Secrets.derive(secret, purpose: "verigate kannel dlr v1"))
        let ledger = configuration.smsDriver == .console ? nil
            : SentSMSLedger(store: store, reportTimeout: configuration.smsReceiptTimeout > 0 ? configuration.smsReceiptTimeout : nil)
        sentSMS = ledger
        switch configuration.smsDriver {
        case .console:
            (kannel, smpp, smsSender) = (nil, nil, sms)
        case .kannel(let settings):
            let driver = KannelSMS(configuration: settings, templates: configuration.smsTemplates, dlr: kannelDLR, ledger: ledger, logger: logger)
            (kannel, smpp, smsSender) = (driver, nil, driver)
        case .smpp(let settings):
            let driver = SMPPSMS(configuration: settings, templates: configuration.smsTemplates, ledger: ledger, logger: logger)
            (kannel, smpp, smsSender) = (nil, driver, driver)
        }
        webhookSecret = Self.webhookSecret(serverSecret: secret)
        webhooks = WebhookDispatcher(store: store, secret: webhookSecret, configuration: configuration.webhooks, clock: clock, logger: logger)
        let gateways = GatewayRegistry()
        self.gateways = gateways
        var router = ChannelRouter(sms: smsSender, gateways: gateways)
        router.voiceCallKeypress = configuration.voiceCallKeypress
        service = VerificationService(
            policy: configuration.policy, store: store, delivery: router,
            events: FanOutSink(sinks: [broker, metrics, LoggingSink(logger: logger), WebhookNudge(dispatcher: webhooks)]),
            secret: Secrets.derive(secret, purpose: "verigate code mac v1"), clock: clock, random: random)
        let limits = configuration.sharedRateLimits ? store as? any SharedRateLimitStore : nil
        startLimiter = SharedRateLimiter(scope: "ip", limit: configuration.policy.limits.perClientIPPerMinute, period: 60, shared: limits, logger: logger)
        keyLimiter = SharedRateLimiter(scope: "key", limit: configuration.policy.limits.perAPIKeyPerMinute, period: 60, shared: limits, logger: logger)
        page = HostedPageState(serverSecret: secret, configuration: configuration, clock: clock,
                               demoLimiter: SharedRateLimiter(scope: "demo", limit: configuration.demoStartsPerVisitor,
                                                              period: configuration.demoPeriod, shared: limits, logger: logger))
        sweeper = StoreSweeper(service: service, rateLimits: limits, interval: configuration.expirySweepInterval, logger: logger)
    }

    /// The socket server gateways attach to (docs/ARCHITECTURE.md "Gateway ↔ core link").
    public func gatewaySocketServer(path: String) -> GatewaySocketServer {
        GatewaySocketServer(path: path, handler: GatewayHandler(service: service, gateways: gateways, logger: logger), logger: logger)
    }

    /// The server of the gateway in this process (`verigate serve`), on `link`: the same handling
    /// as the socket's, the messages passed as values (docs/ARCHITECTURE.md "Gateway ↔ core link").
    public func gatewayInProcessServer(link: InProcessGatewayLink) -> GatewayInProcessServer {
        GatewayInProcessServer(link: link, handler: GatewayHandler(service: service, gateways: gateways, logger: logger), logger: logger)
    }

    /// The webhook signing key derived from the server secret.
    public static func webhookSecret(serverSecret: [UInt8]) -> [UInt8] {
        Secrets.derive(serverSecret, purpose: "verigate webhook signature v1")
    }

    /// The API keys of this core's store (create, list, revoke).
    public var apiKeys: APIKeys { APIKeys(store: store, clock: service.clock) }

    /// Creates an API key when the store has none, and returns it (to be printed once); nil when keys exist.
    public func bootstrapAPIKey() async throws -> String? {
        try await apiKeys.bootstrap()
    }

    /// Stores a new API key and returns it; only its SHA-256 is kept.
    public func addAPIKey(name: String, key: String = Secrets.makeAPIKey()) async throws -> String {
        try await apiKeys.create(name: name, key: key).key
    }

    /// Tells the drivers where the HTTP server listens (pass as the application's `onServerRunning`).
    public func serverRunning(_ channel: any NIOCore.Channel) async {
        guard let address = channel.localAddress, let port = address.port else { return }
        let host = address.protocol == .inet6 ? "[\(address.ipAddress ?? "::1")]" : (address.ipAddress ?? "127.0.0.1")
        kannel?.serverListening(baseURL: "http://\(host):\(port)")
    }

    /// The OpenAPI 3.1 description of this API (the `openapi.yaml` resource).
    public static func openAPIDocument() -> Data? {
        InstallLayout.resources.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources").flatMap { try? Data(contentsOf: $0) }
    }

    /// Background services of the core: the event broker (ends SSE at shutdown), webhooks, the
    /// store sweeper (expiry, call retries, spent rate-limit buckets), the SMS drivers' and, with
    /// several nodes, what brings other nodes' events to this node's pages (`StoreEvents`).
    public func services() -> [any Service] {
        var list: [any Service] = [broker, webhooks, sweeper]
        let follower = StoreEventFollower(store: store, broker: broker, logger: logger)
        switch configuration.storeEvents {
        case .local: break
        case .poll(let interval): list.append(follower.polling(every: interval))
        case .listen:
            if let notifier = store as? any AuditEventNotifier, notifier.announcesAuditEvents {
                list.append(StoreEventListener(notifier: notifier, follower: follower, logger: logger))
            } else {
                logger.warning("store.events_not_announced", metadata: ["store": "\(type(of: store))"])
                list.append(follower.polling(every: 0.25))
            }
        }
        if let smpp { list += [smpp, SMPPReportRecorder(driver: smpp, service: service, logger: logger)] }
        if let sentSMS { list.append(SentSMSSweeper(ledger: sentSMS, service: service, logger: logger)) }
        return list
    }
}
