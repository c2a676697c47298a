import Foundation
import Hummingbird
import NIOCore
import Verification

/// State of the hosted page shared by its handlers and the API's hosted starts: the ticket key,
/// the templates and the demo limiter.
final class HostedPageState: Sendable {
    /// How long a page ticket outlives its verification, so the page can still show the outcome.
    static let ticketGrace: Double = 600
    /// Key of the page tickets (HKDF of the server secret, RFC 5869).
    let ticketKey: [UInt8]
    let renderer = PageRenderer()
    /// Demo starts per visitor (client IP).
    let demoLimiter: SharedRateLimiter
    /// The clock tickets expire by.
    let clock: any VerificationClock

    init(serverSecret: [UInt8], configuration: CoreConfiguration, clock: any VerificationClock, demoLimiter: SharedRateLimiter) {
        ticketKey = Secrets.derive(serverSecret, purpose: "verigate page ticket v1")
        self.demoLimiter = demoLimiter
        self.clock = clock
    }

    /// A sealed page ticket for `v`, valid until its expiry plus `ticketGrace`; `channels` are
    /// those the page may offer (the start's `channel` and `channels`).
    func makeTicket(_ v: Verification, ref: String, redirect: String?, code: String?, channels: [VerificationMethod]) -> String {
        makeTicket(v, ref: ref, redirect: redirect, code: code, channels: channels.map(\.rawValue))
    }

    /// A sealed page ticket for `v` offering the channels named `channels` (nil: the ticket's own).
    func makeTicket(_ v: Verification, ref: String, redirect: String?, code: String?, channels: [String]? = nil) -> String {
        PageTicket(id: v.id, ref: ref, exp: Int(v.expiresAt.timeIntervalSince1970 + Self.ticketGrace), redirect: redirect,
                   code: v.channel.showsCodeOnPage ? code : nil, channels: channels).seal(key: ticketKey)
    }

    /// The ticket sealed in `token`; nil when it is forged, damaged or expired.
    func ticket(_ token: String) -> PageTicket? {
        PageTicket.open(token, key: ticketKey, now: clock.now())
    }
}

/// The hosted verification page: server-rendered HTML forms (swift-mustache) plus `page.js` for
/// the countdown and the live result over SSE. A page is authorised by its sealed ticket in the
/// path (`/v/{token}`), never by an API key.
struct HostedPageController: Sendable {
    /// Lifetime of a result token handed to the integrator.
    static let resultLifetime: Double = 300

    let service: VerificationService
    let configuration: CoreConfiguration
    let page: HostedPageState
    /// Starts per client IP (shared with the API's starts).
    let startLimiter: SharedRateLimiter
    /// The console outbox, shown on the demo page in dev mode.
    let sms: ConsoleSMS
    /// Key of the signed `verigate_result` (the webhook key).
    let webhookSecret: [UInt8]
    let eventStream: VerificationEventStream

    /// The page's routes at their absolute paths: assets, `/v/{token}` and its actions, and in
    /// demo mode the start form (`/`, `/demo`).
    var endpoints: RouteCollection<CoreRequestContext> {
        let router = RouteCollection(context: CoreRequestContext.self)
        router.get("/assets/:file") { _, context in
            let file = try context.parameters.require("file")
            let (bytes, type): ([UInt8], String) = switch file {
            case "page.js": (self.page.renderer.script, "text/javascript; charset=utf-8")
            case "page.css": (self.page.renderer.style, "text/css; charset=utf-8")
            default: throw HTTPError(.notFound)
            }
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=300"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        if configuration.demoMode {
            router.get("/") { request, _ in
                let locale = self.locale(request, form: nil)
                return self.html(.ok, self.page.renderer.render("start", await self.startView(locale: locale, path: "/", number: "", channel: nil, error: nil)))
            }
            router.post("/demo") { request, context in try await self.demoStart(request, context: context) }
        }
        router.get("/v/:token") { request, context in
            let token = try context.parameters.require("token")
            let locale = self.locale(request, form: nil)
            guard let ticket = self.page.ticket(token) else { return self.invalidLink(locale: locale, token: token) }
            return try await self.renderVerify(token: token, ticket: ticket, locale: locale)
        }
        router.get("/v/:token/events") { _, context in
            guard let ticket = self.page.ticket(try context.parameters.require("token")) else { throw HTTPError(.notFound) }
            return try await self.eventStream.response(id: ticket.id, access: .capability)
        }
        router.get("/v/:token/done") { request, context in
            let token = try context.parameters.require("token")
            let locale = self.locale(request, form: nil)
            guard let ticket = self.page.ticket(token) else { return self.invalidLink(locale: locale, token: token) }
            let v = try await self.service.verification(id: ticket.id)
            guard v.status == .approved else { return self.seeOther("/v/\(token)?lang=\(locale)") }
            return try await self.approved(v, token: token, ticket: ticket, locale: locale)
        }
        router.post("/v/:token/check") { request, context in try await self.pageCheck(request, context: context) }
        router.post("/v/:token/send") { request, context in try await self.pageSend(request, context: context) }
        return router
    }

    // MARK: Handlers

    /// `POST /demo`: the page starts a verification itself (demo mode), within the per-visitor limit.
    private func demoStart(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        let locale = self.locale(request, form: form)
        let number = form["to"] ?? ""
        let channel = form["channel"].flatMap(VerificationMethod.init(rawValue:))
        func fail(_ error: VerificationError) async -> Response {
            let strings = PageStrings.forLocale(locale)
            let view = await startView(locale: locale, path: "/", number: number, channel: channel, error: Self.message(error, strings))
            return html(Self.status(error), page.renderer.render("start", view), retryAfter: Self.retryAfter(error))
        }
        guard let channel else { return await fail(.channelDisabled(.sms)) }
        if let wait = await page.demoLimiter.acquire(context.clientIP, now: service.clock.now()) {
            return await fail(.rateLimited(limit: .clientIP, retryAfter: wait))
        }
        do {
            let result = try await service.start(StartRequest(to: number, channel: channel, locale: locale))
            // The demo visitor is the integrator: every enabled channel stays allowed (offered while deliverable).
            let token = page.makeTicket(result.verification, ref: result.verification.id, redirect: nil, code: result.code,
                                   channels: VerificationMethod.allCases.filter(configuration.policy.enabledChannels.contains))
            return seeOther("/v/\(token)?lang=\(locale)")
        } catch let error as VerificationError {
            return await fail(error)
        }
    }

    /// `POST /v/{token}/check`: a typed code. Approval redirects; a wrong code re-renders with the tries left.
    private func pageCheck(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        let form = try await FormBody.read(request)
        let locale = self.locale(request, form: form)
        guard let ticket = page.ticket(token) else { return invalidLink(locale: locale, token: token) }
        // Digits as people type or paste them ("123 456", "123-456"): spaces, tabs, no-break
        // spaces and hyphens go; exactly what openapi.yaml's pattern for this field allows.
        let code = (form["code"] ?? "").filter { !Self.codeSeparators.contains($0) }
        let strings = PageStrings.forLocale(locale)
        do {
            let v = try await service.check(id: ticket.id, code: code)
            switch v.status {
            case .approved:
                return try await approved(v, token: token, ticket: ticket, locale: locale)
            case .pending:
                let left = max(0, configuration.policy.limits.maxCheckAttempts - v.checkAttempts)
                return try await renderVerify(token: token, ticket: ticket, locale: locale, verification: v,
                                              error: strings.fill("wrong_code", ["n": String(left)]), status: .ok)
            case .maxAttemptsReached, .expired, .canceled, .failed:
                return try await renderVerify(token: token, ticket: ticket, locale: locale, verification: v)
            }
        } catch let error as VerificationError {
            switch error {
            case .expired, .maxAttemptsReached, .notPending:
                return try await renderVerify(token: token, ticket: ticket, locale: locale)
            case .invalidRequest:
                return try await renderVerify(token: token, ticket: ticket, locale: locale, error: strings["invalid_code"], status: .badRequest)
            case .invalidNumber, .countryNotAllowed, .channelDisabled, .cannotReceiveSMS, .numberTypeNotAllowed, .rateLimited, .notFound, .noGateway,
                 .deliveryFailed, .wrongChannel, .noSystemNumber, .conflict:
                return try await renderVerify(token: token, ticket: ticket, locale: locale, error: Self.message(error, strings),
                                              status: Self.status(error), retryAfter: Self.retryAfter(error))
            }
        }
    }

    /// `POST /v/{token}/send`: resend (same channel, still pending: `VerificationService.resend`
    /// of exactly the ticket's verification), switch method (another channel) or restart (after a
    /// final state): a new verification of the same number, key and ticket chain, on a channel the
    /// integrator allowed for this start only. The limits of the domain apply, plus the per-IP start limit.
    private func pageSend(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        let form = try await FormBody.read(request)
        let locale = self.locale(request, form: form)
        guard let ticket = page.ticket(token) else { return invalidLink(locale: locale, token: token) }
        let current = try await service.verification(id: ticket.id)
        let strings = PageStrings.forLocale(locale)
        let allowed = ticket.allowedChannels(current: current.channel)
        do {
            guard let channel = form["channel"].flatMap(VerificationMethod.init(rawValue:)) else { throw VerificationError.channelDisabled(current.channel) }
            // A forged form naming a channel the integrator did not allow is refused like a disabled one.
            guard allowed.contains(channel) else { throw VerificationError.channelDisabled(channel) }
            if let wait = await startLimiter.acquire(context.clientIP, now: service.clock.now()) {
                throw VerificationError.rateLimited(limit: .clientIP, retryAfter: wait)
            }
            if channel == current.channel, current.status == .pending {
                let result = try await service.resend(id: current.id)
                let next = page.makeTicket(result.verification, ref: ticket.ref, redirect: ticket.redirect,
                                      code: result.code ?? ticket.code, channels: ticket.channels)
                return seeOther("/v/\(next)?lang=\(locale)")
            }
            let result = try await service.start(StartRequest(
                to: current.to, channel: channel, locale: current.locale, codeLength: current.codeLength,
                callbackURL: current.callbackURL, apiKeyID: current.apiKeyID, replacing: current.id))
            if current.status == .pending {
                _ = try? await service.cancel(id: current.id)
            }
            let next = page.makeTicket(result.verification, ref: ticket.ref, redirect: ticket.redirect, code: result.code,
                                  channels: ticket.channels)
            return seeOther("/v/\(next)?lang=\(locale)")
        } catch let error as VerificationError {
            return try await renderVerify(token: token, ticket: ticket, locale: locale, verification: current,
                                          error: Self.message(error, strings), status: Self.status(error), retryAfter: Self.retryAfter(error))
        }
    }

    /// On approval: to the integrator's `redirect_url` with the signed result, or the "verified" page.
    private func approved(_ v: Verification, token: String, ticket: PageTicket, locale: String) async throws -> Response {
        guard let redirect = ticket.redirect, try await sameChain(v, ref: ticket.ref) else {
            return try await renderVerify(token: token, ticket: ticket, locale: locale, verification: v)
        }
        return seeOther(resultURL(redirect: redirect, v: v, ref: ticket.ref))
    }

    /// Whether `v` belongs to the ticket chain started as `ref`: `ref` itself, or a verification
    /// the chain's page made (same number, same API key). Tickets are sealed and their switches
    /// always start a new verification, so this holds by construction; checked again before a
    /// `verigate_result` is signed, so a result can only ever name a verification of its own start.
    func sameChain(_ v: Verification, ref: String) async throws -> Bool {
        if v.id == ref { return true }
        guard let start = try await service.store.verification(id: ref) else { return false }
        return start.to == v.to && start.apiKeyID == v.apiKeyID && start.createdAt <= v.createdAt
    }

    /// `redirect` with `verigate_result=<ResultToken>` added to its query.
    func resultURL(redirect: String, v: Verification, ref: String) -> String {
        let now = Int(service.clock.now().timeIntervalSince1970)
        let token = ResultToken(id: v.id, ref: ref, to: v.to, channel: v.channel.rawValue, status: v.status.rawValue,
                                iat: now, exp: now + Int(Self.resultLifetime)).sign(key: webhookSecret)
        let separator = redirect.contains("?") ? "&" : "?"
        if let hash = redirect.firstIndex(of: "#") {
            return String(redirect[..<hash]) + separator + "verigate_result=" + token + String(redirect[hash...])
        }
        return redirect + separator + "verigate_result=" + token
    }

    // MARK: Views

    private func locale(_ request: Request, form: [String: String]?) -> String {
        PageStrings.negotiate(query: form?["lang"] ?? request.uri.queryParameters.get("lang"),
                              acceptLanguage: request.headers[.acceptLanguage], policy: configuration.policy)
    }

    /// Channels the page offers: enabled, deliverable now, and with a system number where one is needed.
    private func offeredChannels() async -> [VerificationMethod] {
        var offered: [VerificationMethod] = []
        let noSystemNumber = await service.systemNumbers().isEmpty
        for channel in VerificationMethod.allCases where configuration.policy.enabledChannels.contains(channel) {
            if channel.isCallIn, noSystemNumber { continue }
            if await service.delivery.isAvailable(channel) { offered.append(channel) }
        }
        return offered
    }

    private func common(locale: String, path: String, state: String) -> [String: Any] {
        let strings = PageStrings.forLocale(locale)
        let languages: [[String: Any]] = configuration.policy.supportedLocales.map { code in
            ["code": code, "name": PageStrings.forLocale(code)["lang_name"], "href": "\(path)?lang=\(code)", "current": code == locale]
        }
        return ["lang": locale, "t": strings.table, "languages": languages, "state": state]
    }

    private func startView(locale: String, path: String, number: String, channel: VerificationMethod?, error: String?) async -> [String: Any] {
        let strings = PageStrings.forLocale(locale)
        let offered = await offeredChannels()
        let chosen = channel.flatMap { offered.contains($0) ? $0 : nil } ?? offered.first
        var view = common(locale: locale, path: path, state: "start")
        view["number"] = number
        view["error"] = error
        view["methods"] = offered.map { ["value": $0.rawValue, "label": strings["method_\($0.rawValue)"], "checked": $0 == chosen] as [String: Any] }
        return view
    }

    private func renderVerify(
        token: String, ticket: PageTicket, locale: String, verification: Verification? = nil,
        error: String? = nil, status: HTTPResponse.Status = .ok, retryAfter: Int? = nil
    ) async throws -> Response {
        let v: Verification
        if let verification { v = verification } else { v = try await service.verification(id: ticket.id) }
        let view = await verifyView(v, token: token, ticket: ticket, locale: locale, error: error)
        return html(status, page.renderer.render("verify", view), retryAfter: retryAfter)
    }

    /// The verify page's view: what to do for the channel, the state, and the actions allowed now.
    func verifyView(_ v: Verification, token: String, ticket: PageTicket, locale: String, error: String?) async -> [String: Any] {
        let strings = PageStrings.forLocale(locale)
        let base = "/v/\(token)"
        var view = common(locale: locale, path: base, state: v.status.rawValue)
        let number = display(v.to)
        let pending = v.status == .pending
        view["base"] = base
        view["channel"] = v.channel.rawValue
        view["method"] = strings["method_\(v.channel.rawValue)"]
        view["pending"] = pending
        view["error"] = error
        if pending {
            let left = max(0, Int(v.expiresAt.timeIntervalSince(service.clock.now()).rounded(.down)))
            view["live"] = true
            view["events"] = base + "/events"
            view["done"] = base + "/done?lang=\(locale)"
            view["selfURL"] = base + "?lang=\(locale)"
            view["expiresAt"] = ISO8601DateFormatter().string(from: v.expiresAt)
            view["secondsLeft"] = left
            view["timeLeft"] = "\(left / 60):" + (left % 60 < 10 ? "0" : "") + "\(left % 60)"
            view["instruction"] = strings.fill("do_\(v.channel.rawValue)", ["number": number])
            if v.channel.isCallIn, let system = v.systemNumber {
                view["call"] = ["tel": "tel:" + system, "display": display(system),
                                "label": strings.fill("call_link", ["system": display(system)])]
            }
            if let code = ticket.code, v.channel.showsCodeOnPage {
                view["keyCode"] = code
                view["keyCodeSpoken"] = code.map(String.init).joined(separator: " ")
            }
            view["codeInput"] = v.channel.isCheckedOnWeb
            view["codeLength"] = v.codeLength
            view["statusText"] = strings["waiting"]
            view["redirects"] = ticket.redirect != nil
            view["finals"] = VerificationStatus.allCases.filter(\.isFinal).map { status in
                ["status": status.rawValue, "text": status == .approved ? strings.fill("verified", ["number": number]) : strings[status.rawValue]]
            }
            view["canResend"] = v.channel != .missedCall && v.channel != .voiceCallIn
            let allowed = ticket.allowedChannels(current: v.channel)
            let others = await offeredChannels().filter { $0 != v.channel && allowed.contains($0) }
            view["hasOthers"] = !others.isEmpty
            view["others"] = others.map { ["value": $0.rawValue, "label": strings["method_\($0.rawValue)"]] }
        } else {
            view["statusText"] = v.status == .approved ? strings.fill("verified", ["number": number]) : strings[v.status.rawValue]
            view["restart"] = v.status != .approved
            if v.status == .approved, let redirect = ticket.redirect, (try? await sameChain(v, ref: ticket.ref)) == true {
                view["continueHref"] = resultURL(redirect: redirect, v: v, ref: ticket.ref)
            }
        }
        if configuration.demoMode, configuration.devMode {
            let messages = sms.outbox.filter { $0.to == v.to }.suffix(5).reversed().map { ["text": $0.text] }
            view["showOutbox"] = true
            view["outbox"] = messages.isEmpty ? nil : ["messages": Array(messages)] as [String: Any]
        }
        return view
    }

    private func invalidLink(locale: String, token: String) -> Response {
        var view = common(locale: locale, path: "/v/\(token)", state: "invalid")
        view["statusText"] = PageStrings.forLocale(locale)["invalid_link"]
        return html(.notFound, page.renderer.render("message", view))
    }

    /// A number as people write it: national format in the default region, international otherwise.
    private func display(_ e164: String) -> String {
        guard let n = try? PhoneNumber(parsing: e164, defaultRegion: configuration.policy.defaultRegion) else { return e164 }
        return n.region == configuration.policy.defaultRegion ? n.national : n.international
    }

    // MARK: Responses

    /// An HTML response with the page's security headers: a strict CSP (only our script and style),
    /// no referrer (the ticket is in the URL), no framing, no caching.
    func html(_ status: HTTPResponse.Status, _ body: String, retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
            .referrerPolicy: "no-referrer", .xContentTypeOptions: "nosniff",
        ]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
    }

    static func message(_ error: VerificationError, _ strings: PageStrings) -> String {
        switch error {
        case .invalidNumber: strings["invalid_number"]
        case .countryNotAllowed: strings["country_not_allowed"]
        case .cannotReceiveSMS: strings["number_cannot_receive_sms"]
        case .numberTypeNotAllowed: strings["number_type_not_allowed"]
        case .channelDisabled, .wrongChannel: strings["channel_disabled"]
        case .noGateway: strings["no_gateway"]
        case .rateLimited, .noSystemNumber: strings.fill("wait", ["s": String(error.retryAfterSeconds ?? 1)])
        case .expired: strings["expired"]
        case .maxAttemptsReached: strings["max_attempts_reached"]
        case .notPending(let s): strings[s.rawValue]
        case .deliveryFailed: strings["failed"]
        case .invalidRequest, .conflict: strings["error"]
        case .notFound: strings["invalid_link"]
        }
    }

    static func status(_ error: VerificationError) -> HTTPResponse.Status {
        HTTPResponse.Status(code: Problem(error).status)
    }

    static func retryAfter(_ error: VerificationError) -> Int? { error.retryAfterSeconds }

    /// What a typed code may carry between its digits: space, tab, no-break space, hyphen.
    static let codeSeparators: Set<Character> = [" ", "\t", "\u{00A0}", "-"]
}

extension HTTPFields.Element.Name {
    /// `Referrer-Policy` (W3C Referrer Policy §4.1).
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// An `application/x-www-form-urlencoded` body (WHATWG URL §5.1), at most 16 KiB.
enum FormBody {
    static func read(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        return parse(String(buffer: buffer))
    }

    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
