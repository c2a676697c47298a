import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Verification

/// The verification core: the domain service wired to its store, deliveries, events and metrics,
/// and the HTTP API over them.
public final class Core: Sendable {
    public let configuration: CoreConfiguration
    public let service: VerificationService
    public let store: any VerificationStore
    public let broker: EventBroker
    public let metrics: ServerMetrics
    public let sms: ConsoleSMS
    /// The configured SMS driver (the console outbox, Kannel or SMPP).
    public let smsSender: any SMSSender
    /// The Kannel driver, when configured (its delivery reports come to `KannelDLR.path`).
    public let kannel: KannelSMS?
    /// The SMPP driver, when configured (a service: it binds at start).
    public let smpp: SMPPSMS?
    let kannelDLR: KannelDLR
    /// The SMS sent through kannel or smpp whose reports may still come (nil with the console driver).
    let sentSMS: SentSMSLedger?
    public let logger: Logger
    /// Delivers the signed status-change webhooks.
    public let webhooks: WebhookDispatcher
    /// Key of the webhook signatures (HKDF of the server secret); `verigate webhook-secret` prints it.
    public let webhookSecret: [UInt8]
    let startLimiter: Mutex<RateLimiter>
    /// The voice gateways attached over the socket (`gatewaySocketServer(path:)`).
    public let gateways: GatewayRegistry
    /// Expires verifications and places due call retries (run by `services()`).
    public let sweeper: StoreSweeper
    /// The hosted page's ticket key, templates and demo limiter.
    let page: HostedPageState

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
        sweeper = StoreSweeper(service: service, interval: configuration.expirySweepInterval, logger: logger)
        startLimiter = Mutex(RateLimiter(limit: configuration.policy.limits.perClientIPPerMinute, period: 60))
        page = HostedPageState(serverSecret: secret, configuration: configuration)
    }

    /// The socket server gateways attach to (docs/ARCHITECTURE.md "Gateway ↔ core socket").
    public func gatewaySocketServer(path: String) -> GatewaySocketServer {
        GatewaySocketServer(path: path, service: service, gateways: gateways, logger: logger)
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

    /// The router of the whole HTTP API.
    public func router() -> Router<CoreRequestContext> {
        let router = Router(context: CoreRequestContext.self)
        router.add(middleware: LatencyMiddleware<CoreRequestContext>(metrics: metrics))
        router.add(middleware: ProblemMiddleware<CoreRequestContext>(logger: logger))

        router.get("/healthz") { _, _ in
            _ = try await self.store.apiKeyCount()
            return try Self.json(["status": "ok"])
        }
        metrics.addRoute(to: router, token: configuration.metricsToken)
        router.get("/openapi.yaml") { _, _ in
            guard let data = Self.openAPIDocument() else { throw HTTPError(.notFound) }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        if configuration.devMode {
            router.get("/dev/outbox") { _, _ in
                try Self.json(self.sms.outbox)
            }
        }

        // Kannel's delivery reports: no API key (Kannel has none); the per-message token authenticates.
        router.get(RouterPath(KannelDLR.path)) { request, _ in try await self.kannelDeliveryReport(request) }

        let v1 = router.group("v1").add(middleware: APIKeyMiddleware(
            store: store, perMinute: configuration.policy.limits.perAPIKeyPerMinute, clock: service.clock))
        v1.post("verifications") { request, context in try await self.start(request, context: context) }
        // Each API key is a tenant: another key's verification answers `not_found` exactly as an unknown id.
        v1.get("verifications/:id") { _, context in
            let v = try await self.service.verification(id: try context.parameters.require("id"), access: context.access)
            return try self.resource(v)
        }
        v1.post("verifications/:id/checks") { request, context in
            let body = try await request.decode(as: CheckBody.self, context: context)
            let v = try await self.service.check(id: try context.parameters.require("id"), code: body.code, access: context.access)
            return try self.resource(v, valid: v.status == .approved)
        }
        v1.post("verifications/:id/resend") { _, context in
            let result = try await self.service.resend(id: try context.parameters.require("id"), access: context.access)
            return try self.resource(result.verification, code: result.code)
        }
        v1.post("verifications/:id/cancel") { _, context in
            try self.resource(try await self.service.cancel(id: try context.parameters.require("id"), access: context.access))
        }
        v1.get("verifications/:id/events") { _, context in
            try await self.events(id: try context.parameters.require("id"), access: context.access)
        }
        addPageRoutes(to: router)
        return router
    }

    /// `GET /v1/sms/kannel/dlr?id&m&t&status&smsc&answer`: one Kannel delivery report, recorded
    /// as a `delivery_report` event (or failing the verification when the SMS will not arrive).
    private func kannelDeliveryReport(_ request: Request) async throws -> Response {
        let q = request.uri.queryParameters
        guard let id = q["id"].map(String.init), let nonce = q["m"].map(String.init), let token = q["t"].map(String.init),
              kannelDLR.verify(id: id, nonce: nonce, token: token)
        else { throw VerificationError.notFound }
        guard let status = q["status"].flatMap({ Int($0) }) else {
            throw VerificationError.invalidRequest("status must be Kannel's numeric %d value.")
        }
        let report = KannelDLR.report(status: status, smsc: q["smsc"].map(String.init), answer: q["answer"].map(String.init))
        if report.outcome != .inProgress, let sentSMS, sentSMS.reportTimeout != nil { try await sentSMS.settled(nonce) }
        try await service.recordDeliveryReport(id: id, report)
        return Response(status: .noContent)
    }

    /// Tells the drivers where the HTTP server listens (pass as the application's `onServerRunning`).
    public func serverRunning(_ channel: any NIOCore.Channel) async {
        guard let address = channel.localAddress, let port = address.port else { return }
        let host = address.protocol == .inet6 ? "[\(address.ipAddress ?? "::1")]" : (address.ipAddress ?? "127.0.0.1")
        kannel?.serverListening(baseURL: "http://\(host):\(port)")
    }

    /// The OpenAPI 3.1 description of this API (the `openapi.yaml` resource).
    public static func openAPIDocument() -> Data? {
        Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources").flatMap { try? Data(contentsOf: $0) }
    }

    private func start(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let body = try await request.decode(as: StartBody.self, context: context)
        let names: [String]
        switch (body.channel, body.channels) {
        case (let one?, nil): names = [one]
        case (nil, let list?) where !list.isEmpty && list.count <= Channel.allCases.count: names = list
        case (let one?, let list?) where list.first == one && list.count <= Channel.allCases.count: names = list
        default: throw VerificationError.invalidRequest("Give `channel`, or `channels` as an ordered list of one or more channels.")
        }
        let channels = try names.map { name in
            guard let channel = Channel(rawValue: name) else {
                throw VerificationError.invalidRequest("Unknown channel `\(name)`; use one of \(Channel.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return channel
        }
        let channel = channels[0]
        if let url = body.callbackURL {
            guard url.count <= 2048, let u = URL(string: url), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host != nil else {
                throw VerificationError.invalidRequest("callback_url must be an absolute http or https URL.")
            }
            if !configuration.webhooks.allowPrivateAddresses, let refusal = Self.privateCallbackHost(u) {
                throw VerificationError.invalidRequest("callback_url must reach a public address: \(refusal). Webhooks are not sent inside the server's network unless it runs with --allow-private-webhooks.")
            }
        }
        if let locale = body.locale, locale.count > 35 || !locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw VerificationError.invalidRequest("locale must be a BCP 47 tag such as en or zh-TW.")
        }
        if let redirect = body.redirectURL {
            guard body.hosted == true else { throw VerificationError.invalidRequest("redirect_url needs hosted: true.") }
            guard redirect.count <= 2048, let u = URL(string: redirect), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host != nil else {
                throw VerificationError.invalidRequest("redirect_url must be an absolute http or https URL.")
            }
        }
        if let wait = startLimiter.withLock({ $0.acquire(context.clientIP, now: service.clock.now()) }) {
            throw VerificationError.rateLimited(limit: .clientIP, retryAfter: wait)
        }
        let result = try await service.start(StartRequest(
            to: body.to, channel: channel, locale: body.locale, codeLength: body.codeLength,
            callbackURL: body.callbackURL, apiKeyID: context.apiKeyID, fallbackChannels: Array(channels.dropFirst())))
        var resource = VerificationResource(result.verification, maxAttempts: configuration.policy.limits.maxCheckAttempts, code: result.code)
        if body.hosted == true {
            // The page of this verification: a sealed ticket, valid until the verification expires plus a grace.
            let token = makeTicket(result.verification, ref: result.verification.id, redirect: body.redirectURL, code: result.code,
                                   channels: channels)
            resource.url = publicBase(request) + "/v/" + token
        }
        var response = try Self.json(resource)
        response.status = .created
        response.headers[.location] = "/v1/verifications/\(result.verification.id)"
        return response
    }

    /// Why `url`'s host is refused before any lookup: a non-public address literal or `localhost`
    /// (`WebhookAddressPolicy`); nil for other names, which the dispatcher checks on the address
    /// it resolves at each attempt (the guard that counts: a name can resolve anywhere later).
    static func privateCallbackHost(_ url: URL) -> String? {
        guard var host = url.host else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let address = WebhookAddressPolicy.parse(host) {
            return WebhookAddressPolicy.refusal(for: address).map { "\(host) is \($0)" }
        }
        return WebhookAddressPolicy.isLocalhostName(host) ? "\(host) is the local host" : nil
    }

    /// `GET /v1/verifications/{id}/events`: Server-Sent Events (WHATWG HTML §9.2), first the
    /// current status, then every event until the verification ends or the server shuts down.
    /// One `access` may not see is `not_found` before anything is streamed.
    func events(id: String, access: VerificationAccess) async throws -> Response {
        _ = try await service.verification(id: id, access: access)
        let stream = broker.subscribe(id)
        let current = try await service.verification(id: id, access: access)
        let heartbeat = 15.0
        let body = ResponseBody { writer in
            func send(_ name: String, _ data: some Encodable) async throws {
                let json = String(decoding: try JSONEncoder.api.encode(data), as: UTF8.self)
                try await writer.write(ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n"))
            }
            try await send("status", EventResource(VerificationEvent(
                verificationID: current.id, kind: .created, status: current.status, at: current.updatedAt, detail: "current")))
            if current.status.isFinal {
                try await writer.finish(nil)
                return
            }
            // Events and heartbeats merge into one stream; only this task writes.
            let (merged, feed) = AsyncStream.makeStream(of: SSEItem.self, bufferingPolicy: .bufferingNewest(64))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in stream { feed.yield(.event(event)) }
                    feed.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(heartbeat))
                        feed.yield(.heartbeat)
                    }
                }
                for await item in merged {
                    switch item {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .event(let event):
                        try await send(event.changesStatus ? "status" : "event", EventResource(event))
                        if event.status.isFinal { feed.finish() }
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    /// The absolute base URL of this server: the configured public URL, else from the Host header.
    private func publicBase(_ request: Request) -> String {
        if let url = configuration.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        let host = request.head.authority ?? "\(configuration.httpHost):\(configuration.httpPort)"
        return "http://" + host
    }

    private func resource(_ v: Verification, code: String? = nil, valid: Bool? = nil) throws -> Response {
        try Self.json(VerificationResource(v, maxAttempts: configuration.policy.limits.maxCheckAttempts, code: code, valid: valid))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }

    /// The HTTP application on the configured address.
    public func application() -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "verigate"),
            onServerRunning: { channel in await self.serverRunning(channel) },
            logger: logger)
    }

    /// Background services of the core: the event broker (ends SSE at shutdown), webhooks, the
    /// store sweeper (expiry, call retries), the SMS drivers' and, with several nodes, the store
    /// event follower (other nodes' events to this node's pages).
    public func services() -> [any Service] {
        var list: [any Service] = [broker, webhooks, sweeper]
        if configuration.storeEventFollowInterval > 0 {
            list.append(StoreEventFollower(store: store, broker: broker, interval: configuration.storeEventFollowInterval, logger: logger))
        }
        if let smpp { list += [smpp, SMPPReportRecorder(driver: smpp, service: service, logger: logger)] }
        if let sentSMS { list.append(SentSMSSweeper(ledger: sentSMS, service: service, logger: logger)) }
        return list
    }
}

/// Wakes the webhook dispatcher when a status change was stored with a webhook.
struct WebhookNudge: VerificationEventSink {
    let dispatcher: WebhookDispatcher
    func published(_ event: VerificationEvent, verification: Verification) async {
        if event.changesStatus, event.kind != .created, verification.callbackURL != nil { dispatcher.nudge() }
    }
}

/// What the SSE writer sends next.
enum SSEItem: Sendable {
    case event(VerificationEvent)
    case heartbeat
}

/// Records the SMPP driver's delivery receipts on their verifications.
struct SMPPReportRecorder: Service {
    let driver: SMPPSMS
    let service: VerificationService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await (id, report) in driver.reports {
                do { try await service.recordDeliveryReport(id: id, report) } catch {
                    logger.warning("smpp receipt not recorded", metadata: ["id": .string(id), "error": "\(error)"])
                }
            }
        }
    }
}

