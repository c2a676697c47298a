import Foundation
import Hummingbird
import Verification

/// The verifications API (`/v1/verifications`, behind `APIKeyMiddleware`): start, read, check,
/// resend, cancel and the event stream. Each API key is a tenant: another key's verification
/// answers `not_found` exactly as an unknown id (`VerificationAccess`).
struct VerificationController: Sendable {
    let service: VerificationService
    let configuration: CoreConfiguration
    /// Starts per client IP (shared with the page's method switches).
    let startLimiter: SharedRateLimiter
    /// The hosted page's tickets, for `hosted: true` starts.
    let page: HostedPageState
    let eventStream: VerificationEventStream

    /// The routes, relative to the collection's path (`/v1/verifications`).
    var endpoints: RouteCollection<CoreRequestContext> {
        RouteCollection(context: CoreRequestContext.self)
            .post(use: start)
            .get(":id", use: read)
            .post(":id/checks", use: check)
            .post(":id/resend", use: resend)
            .post(":id/cancel", use: cancel)
            .get(":id/events", use: events)
    }

    /// `POST /v1/verifications`: validates the body, applies the per-client-IP limit and starts a
    /// verification; `hosted: true` adds the page's URL (a sealed ticket).
    @Sendable func start(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let body = try await request.decode(as: StartBody.self, context: context)
        let channels = try Self.channels(body)
        if let url = body.callbackURL {
            guard let callback = HTTPURL(url) else {
                throw VerificationError.invalidRequest("callback_url must be an absolute http or https URL.")
            }
            if !configuration.webhooks.allowPrivateAddresses, let refusal = Self.privateCallbackHost(callback) {
                throw VerificationError.invalidRequest("callback_url must reach a public address: \(refusal). Webhooks are not sent inside the server's network unless it runs with --allow-private-webhooks.")
            }
        }
        if let locale = body.locale, locale.count > 35 || !locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw VerificationError.invalidRequest("locale must be a BCP 47 tag such as en or zh-TW.")
        }
        if let redirect = body.redirectURL {
            guard body.hosted == true else { throw VerificationError.invalidRequest("redirect_url needs hosted: true.") }
            guard HTTPURL(redirect) != nil else {
                throw VerificationError.invalidRequest("redirect_url must be an absolute http or https URL.")
            }
        }
        if let wait = await startLimiter.acquire(context.clientIP, now: service.clock.now()) {
            throw VerificationError.rateLimited(limit: .clientIP, retryAfter: wait)
        }
        let result = try await service.start(StartRequest(
            to: body.to, channel: channels[0], locale: body.locale, codeLength: body.codeLength,
            callbackURL: body.callbackURL, apiKeyID: context.apiKeyID, fallbackChannels: Array(channels.dropFirst())))
        var resource = VerificationResource(result.verification, maxAttempts: configuration.policy.limits.maxCheckAttempts, code: result.code)
        if body.hosted == true {
            // The page of this verification: a sealed ticket, valid until the verification expires plus a grace.
            let token = page.makeTicket(result.verification, ref: result.verification.id, redirect: body.redirectURL, code: result.code,
                                        channels: channels)
            resource.url = publicBase(request) + "/v/" + token
        }
        var response = Response.json(resource)
        response.status = .created
        response.headers[.location] = "/v1/verifications/\(result.verification.id)"
        return response
    }

    /// `GET /v1/verifications/{id}`.
    @Sendable func read(_ request: Request, context: CoreRequestContext) async throws -> Response {
        resource(try await service.verification(id: try context.parameters.require("id"), access: context.access))
    }

    /// `POST /v1/verifications/{id}/checks`: a typed code; `valid` says whether it was right.
    @Sendable func check(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let body = try await request.decode(as: CheckBody.self, context: context)
        let v = try await service.check(id: try context.parameters.require("id"), code: body.code, access: context.access)
        return resource(v, valid: v.status == .approved)
    }

    /// `POST /v1/verifications/{id}/resend`: the code again (the dtmf channels answer the new one).
    @Sendable func resend(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let result = try await service.resend(id: try context.parameters.require("id"), access: context.access)
        return resource(result.verification, code: result.code)
    }

    /// `POST /v1/verifications/{id}/cancel`.
    @Sendable func cancel(_ request: Request, context: CoreRequestContext) async throws -> Response {
        resource(try await service.cancel(id: try context.parameters.require("id"), access: context.access))
    }

    /// `GET /v1/verifications/{id}/events`: Server-Sent Events (`VerificationEventStream`).
    @Sendable func events(_ request: Request, context: CoreRequestContext) async throws -> Response {
        try await eventStream.response(id: try context.parameters.require("id"), access: context.access)
    }

    /// The start's channels, first the one to use: `channel`, or `channels` as an ordered list
    /// (a first channel and its fallbacks), or both when `channels` begins with `channel`.
    static func channels(_ body: StartBody) throws -> [VerificationMethod] {
        let names: [String]
        switch (body.channel, body.channels) {
        case (let one?, nil): names = [one]
        case (nil, let list?) where !list.isEmpty && list.count <= VerificationMethod.allCases.count: names = list
        case (let one?, let list?) where list.first == one && list.count <= VerificationMethod.allCases.count: names = list
        default: throw VerificationError.invalidRequest("Give `channel`, or `channels` as an ordered list of one or more channels.")
        }
        return try names.map { name in
            guard let channel = VerificationMethod(rawValue: name) else {
                throw VerificationError.invalidRequest("Unknown channel `\(name)`; use one of \(VerificationMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return channel
        }
    }

    /// Why `url`'s host is refused before any lookup: a non-public address literal or `localhost`
    /// (`WebhookAddressPolicy`); nil for other names, which the dispatcher checks on the address
    /// it resolves at each attempt (the guard that counts: a name can resolve anywhere later).
    static func privateCallbackHost(_ url: HTTPURL) -> String? {
        var host = url.host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let address = WebhookAddressPolicy.parse(host) {
            return WebhookAddressPolicy.refusal(for: address).map { "\(host) is \($0)" }
        }
        return WebhookAddressPolicy.isLocalhostName(host) ? "\(host) is the local host" : nil
    }

    /// The absolute base URL of this server: the configured public URL, else from the Host header.
    private func publicBase(_ request: Request) -> String {
        if let url = configuration.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        let host = request.head.authority ?? "\(configuration.httpHost):\(configuration.httpPort)"
        return "http://" + host
    }

    private func resource(_ v: Verification, code: String? = nil, valid: Bool? = nil) -> Response {
        Response.json(VerificationResource(v, maxAttempts: configuration.policy.limits.maxCheckAttempts, code: code, valid: valid))
    }
}
