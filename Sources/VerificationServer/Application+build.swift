import Foundation
import Hummingbird
import Logging
import NIOCore
import Verification

/// The router of the whole HTTP API of `core` (README "API"): the latency, problem and
/// method-not-allowed (405 with `Allow` on a known path) middleware, health, metrics and the OpenAPI document, then each controller's routes —
/// the verifications behind `APIKeyMiddleware`, Kannel's delivery reports, the hosted page and,
/// in dev mode, the outbox.
public func buildRouter(_ core: Core) -> Router<CoreRequestContext> {
    let configuration = core.configuration
    let router = Router(context: CoreRequestContext.self)
    router.add(middleware: LatencyMiddleware<CoreRequestContext>(metrics: core.metrics))
    router.add(middleware: ProblemMiddleware<CoreRequestContext>(logger: core.logger))
    let routeMethods = RouteMethods()
    router.add(middleware: MethodNotAllowedMiddleware<CoreRequestContext>(routes: routeMethods))

    router.get("/healthz") { _, _ in
        _ = try await core.store.apiKeyCount()
        return try Response.json(["status": "ok"])
    }
    core.metrics.addRoute(to: router, token: configuration.metricsToken)
    router.get("/openapi.yaml") { _, _ in
        guard let data = Core.openAPIDocument() else { throw HTTPError(.notFound) }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    if configuration.devMode {
        router.addRoutes(DevController(sms: core.sms).endpoints, atPath: "/dev")
    }
    router.addRoutes(KannelDLRController(dlr: core.kannelDLR, sentSMS: core.sentSMS, service: core.service).endpoints)

    let eventStream = VerificationEventStream(service: core.service, broker: core.broker)
    router.group("v1")
        .add(middleware: APIKeyMiddleware(store: core.store, limiter: core.keyLimiter, clock: core.service.clock))
        .addRoutes(VerificationController(service: core.service, configuration: configuration, startLimiter: core.startLimiter,
                                          page: core.page, eventStream: eventStream).endpoints,
                   atPath: "verifications")
    router.addRoutes(HostedPageController(service: core.service, configuration: configuration, page: core.page, startLimiter: core.startLimiter,
                                          sms: core.sms, webhookSecret: core.webhookSecret, eventStream: eventStream).endpoints)
    routeMethods.load(router)
    return router
}

/// The HTTP application of `core` on its configured address; tells the drivers where it listens.
public func buildApplication(_ core: Core) -> some ApplicationProtocol {
    Application(
        router: buildRouter(core),
        configuration: .init(address: .hostname(core.configuration.httpHost, port: core.configuration.httpPort), serverName: "verigate"),
        onServerRunning: { channel in await core.serverRunning(channel) },
        logger: core.logger)
}

extension Core {
    /// The router of the whole HTTP API (`buildRouter(_:)`).
    public func router() -> Router<CoreRequestContext> {
        buildRouter(self)
    }

    /// The HTTP application on the configured address (`buildApplication(_:)`).
    public func application() -> some ApplicationProtocol {
        buildApplication(self)
    }
}
