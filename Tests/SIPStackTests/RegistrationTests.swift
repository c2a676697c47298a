import SIPMessage
import Testing
@testable import SIPStack

/// The registration value (RFC 3261 §10.2) against a registrar made of `DigestServer` (§22), with a
/// manual clock: the one timer's deadline is kept from the actions and fired by the test.
@Suite("Registration (RFC 3261 §10.2)")
struct RegistrationTests {
    static let registrar = SIPURI(host: "192.0.2.10", port: 5070)
    static let aor = SIPURI(user: "verigate", host: "192.0.2.10")
    static let contact = SIPURI(user: "carrier", host: "198.51.100.7", port: 5062)

    static func settings(expires: Int = 3_600, password: String = "s3cret") -> Registration.Settings {
        Registration.Settings(registrar: registrar, addressOfRecord: aor, contact: contact, expires: expires,
                              credentials: DigestClient(username: "verigate", password: password), userAgent: "Verigate")
    }

    /// The registration, the clock of its one timer, and what it sent and reported.
    struct Script {
        var registration: Registration
        var now: Duration = .zero
        var deadline: Duration?
        var sent: [SIPRequest] = []
        var reports: [Registration.Report] = []
        var server = DigestServer(realm: "trunk.test", secret: Array("0123456789abcdef0123456789abcdef".utf8))
        var generator = SystemRandomNumberGenerator()
        var bindings: [String: Int] = [:]

        init(_ settings: Registration.Settings = RegistrationTests.settings(), algorithms: [DigestAlgorithm] = [.sha256, .md5]) {
            registration = Registration(settings: settings, callID: "reg-call-id", fromTag: "reg-tag")
            server = DigestServer(realm: "trunk.test", secret: Array("0123456789abcdef0123456789abcdef".utf8), algorithms: algorithms)
        }

        mutating func apply(_ actions: [Registration.Action]) {
            for action in actions {
                switch action {
                case .send(var request):
                    // The shell's part: a top Via with a fresh branch (§8.1.1.7).
                    request.headers.addFirst(.via, SIPVia(transport: "UDP", host: "198.51.100.7", port: 5062, branch: "z9hG4bK\(sent.count)").description)
                    sent.append(request)
                case .startTimer(let delay): deadline = now + delay
                case .cancelTimer: deadline = nil
                case .report(let report): reports.append(report)
                }
            }
        }

        var last: SIPRequest { sent[sent.count - 1] }

        /// Moves the clock to the timer's deadline and fires it.
        mutating func fireTimer() {
            guard let deadline else { Issue.record("no timer running"); return }
            now = deadline
            self.deadline = nil
            apply(registration.timerFired())
        }

        /// Answers the last REGISTER with `response`.
        mutating func answer(_ response: SIPResponse, jitter: Double = 0.5) {
            apply(registration.responseReceived(response, cnonce: "cn\(sent.count)", jitter: jitter))
        }

        /// A registrar with digest auth: 401 without good credentials, else 200 binding the
        /// Contact for min(asked, `maximum`) seconds (0 removes it, §10.3).
        mutating func registrar(password: String = "s3cret", maximum: Int = 3_600, proxy: Bool = false, jitter: Double = 0.5) {
            let request = last
            switch server.verify(request, proxy: proxy, now: now, password: { $0 == "verigate" ? password : nil }) {
            case .accepted:
                let asked = Int(request.headers[.expires] ?? "") ?? 3_600
                let granted = min(asked, maximum)
                var response = SIPResponse(replyingTo: request, statusCode: 200, toTag: "registrar")
                if granted > 0 {
                    bindings[request.headers[.callID] ?? ""] = granted
                    response.headers.add(.contact, "<\(RegistrationTests.contact)>;expires=\(granted)")
                } else {
                    bindings[request.headers[.callID] ?? ""] = nil
                }
                answer(response, jitter: jitter)
            case .stale, .rejected:
                answer(server.challengeResponse(to: request, proxy: proxy, toTag: "registrar", now: now, using: &generator))
            }
        }
    }

    @Test("REGISTER: To = From = AOR, Contact with expires, constant Call-ID; a 401 is answered with digest the registrar accepts",
          arguments: [[DigestAlgorithm.sha256, .md5], [.md5]])
    func registersWithDigest(algorithms: [DigestAlgorithm]) throws {
        var script = Script(algorithms: algorithms)
        script.apply(script.registration.start())
        let first = script.last
        #expect(first.method == .register)
        #expect(first.uriText == "sip:192.0.2.10:5070")
        #expect(try first.headers.to().uri.description == "sip:verigate@192.0.2.10")
        #expect(try first.headers.from().uri.description == "sip:verigate@192.0.2.10")
        #expect(try first.headers.from().tag == "reg-tag")
        #expect(first.headers[.contact] == "<sip:carrier@198.51.100.7:5062>;expires=3600")
        #expect(first.headers[.expires] == "3600")
        #expect(first.headers[.authorization] == nil)
        #expect(try first.headers.cseq() == SIPCSeq(1, .register))
        script.registrar()
        let retry = script.last
        #expect(script.sent.count == 2)
        #expect(try retry.headers.cseq() == SIPCSeq(2, .register))
        #expect(retry.headers[.callID] == "reg-call-id")
        let algorithm = algorithms.contains(.sha256) ? "SHA-256" : "MD5"
        #expect(retry.headers[.authorization]?.contains("algorithm=\(algorithm)") == true, "\(retry.headers[.authorization] ?? "")")
        script.registrar()
        #expect(script.bindings["reg-call-id"] == 3_600, "the registrar accepted our credentials")
        #expect(script.registration.isRegistered)
        #expect(script.reports == [.registered(expires: 3_600, refreshIn: .seconds(1_800))])
        #expect(script.deadline == .seconds(1_800))
    }

    @Test("407 from a proxy is answered in Proxy-Authorization")
    func proxyChallenge() {
        var script = Script()
        script.apply(script.registration.start())
        script.registrar(proxy: true)
        #expect(script.last.headers[.proxyAuthorization] != nil && script.last.headers[.authorization] == nil)
        script.registrar(proxy: true)
        #expect(script.registration.isRegistered)
    }

    @Test("refresh at about half the granted expiry (45-55 %, by jitter); the Contact's expires wins over what we asked; same Call-ID, CSeq up")
    func refreshes() throws {
        for (jitter, refresh) in [(0.0, Duration.seconds(54)), (1.0, .seconds(66))] {
            var script = Script()
            script.apply(script.registration.start())
            script.registrar(maximum: 120)
            script.registrar(maximum: 120, jitter: jitter)
            #expect(script.reports == [.registered(expires: 120, refreshIn: refresh)])
            script.fireTimer()
            #expect(script.now == refresh)
            let refreshRequest = script.last
            #expect(try refreshRequest.headers.cseq() == SIPCSeq(3, .register))
            #expect(refreshRequest.headers[.callID] == "reg-call-id")
            #expect(try refreshRequest.headers.from().tag == "reg-tag")
            script.registrar(maximum: 120)
            script.registrar(maximum: 120, jitter: jitter)
            #expect(try script.last.headers.cseq() == SIPCSeq(4, .register))
            #expect(script.reports.count == 2 && script.registration.isRegistered)
        }
    }

    @Test("a 2xx with only an Expires header: that is the expiry; a 2xx listing other contacts but not ours is a failure")
    func grantedExpiry() throws {
        var script = Script()
        script.apply(script.registration.start())
        var ok = SIPResponse(replyingTo: script.last, statusCode: 200)
        ok.headers.add(.expires, "300")
        script.answer(ok, jitter: 0)
        #expect(script.reports == [.registered(expires: 300, refreshIn: .seconds(135))])
        script.fireTimer()
        var others = SIPResponse(replyingTo: script.last, statusCode: 200)
        others.headers.add(.contact, "<sip:someone@203.0.113.9>;expires=300")
        script.answer(others)
        #expect(script.reports.last == .failed(.badResponse, retryIn: .seconds(30)))
        #expect(!script.registration.isRegistered)
    }

    @Test("423 Interval Too Brief: asked again at once with Min-Expires (§10.2.8); a 423 without a larger Min-Expires is a failure")
    func intervalTooBrief() throws {
        var script = Script(Self.settings(expires: 60))
        script.apply(script.registration.start())
        var tooBrief = SIPResponse(replyingTo: script.last, statusCode: 423)
        tooBrief.headers.add(.minExpires, "600")
        script.answer(tooBrief)
        #expect(script.reports == [.intervalTooBrief(minExpires: 600)])
        #expect(script.last.headers[.expires] == "600")
        #expect(script.last.headers[.contact] == "<sip:carrier@198.51.100.7:5062>;expires=600")
        #expect(try script.last.headers.cseq() == SIPCSeq(2, .register))
        script.registrar()
        script.registrar()
        #expect(script.bindings["reg-call-id"] == 600)
        #expect(script.registration.settings.expires == 600, "refreshes keep the larger interval")

        var again = Script(Self.settings(expires: 60))
        again.apply(again.registration.start())
        var same = SIPResponse(replyingTo: again.last, statusCode: 423)
        same.headers.add(.minExpires, "60")
        again.answer(same)
        #expect(again.reports == [.failed(.status(423), retryIn: .seconds(30))])
    }

    @Test("failures back off 30 s doubling to 10 min; a success resets the backoff")
    func backoff() throws {
        var script = Script()
        script.apply(script.registration.start())
        var delays: [Duration] = []
        for attempt in 0..<8 {
            switch attempt % 3 {
            case 0: script.answer(SIPResponse(replyingTo: script.last, statusCode: 503))
            case 1: script.apply(script.registration.transactionFailed(.timeout))
            default: script.apply(script.registration.transactionFailed(.transportError))
            }
            guard case .failed(_, let retryIn)? = script.reports.last else { Issue.record("no failure reported"); return }
            delays.append(retryIn)
            #expect(script.deadline == script.now + retryIn)
            script.fireTimer()
        }
        #expect(delays == [30, 60, 120, 240, 480, 600, 600, 600].map { Duration.seconds($0) })
        #expect(script.sent.count == 9 && Set(script.sent.map { $0.headers[.callID] }) == ["reg-call-id"])
        script.registrar()
        script.registrar()
        #expect(script.registration.isRegistered)
        script.fireTimer()
        script.answer(SIPResponse(replyingTo: script.last, statusCode: 500))
        #expect(script.reports.last == .failed(.status(500), retryIn: .seconds(30)))
        #expect(Registration.backoff(failures: 3, minimum: .milliseconds(200), maximum: .seconds(1)) == .milliseconds(800))
    }

    @Test("a wrong password is a failure after one answered challenge, not a loop")
    func wrongPassword() {
        var script = Script(Self.settings(password: "wrong"))
        script.apply(script.registration.start())
        script.registrar()
        script.registrar()
        #expect(script.sent.count == 2)
        #expect(script.reports == [.failed(.authentication(401), retryIn: .seconds(30))])
        var bare = Registration(settings: Registration.Settings(registrar: Self.registrar, addressOfRecord: Self.aor, contact: Self.contact, expires: 60),
                                callID: "c", fromTag: "t")
        let actions = bare.start()
        guard case .send(let request)? = actions.first else { Issue.record("nothing sent"); return }
        var challenge = SIPResponse(replyingTo: request, statusCode: 401)
        challenge.headers.add(.wwwAuthenticate, "Digest realm=\"r\", nonce=\"n\"")
        #expect(bare.responseReceived(challenge, cnonce: "c", jitter: 0) == [
            .startTimer(.seconds(30)), .report(.failed(.authentication(401), retryIn: .seconds(30))),
        ])
    }

    @Test("provisional responses and answers to an older CSeq change nothing")
    func strayResponses() throws {
        var script = Script()
        script.apply(script.registration.start())
        let first = script.last
        script.registrar()
        script.answer(SIPResponse(replyingTo: script.last, statusCode: 100))
        script.answer(SIPResponse(replyingTo: first, statusCode: 500))
        #expect(script.reports.isEmpty && script.sent.count == 2)
        script.registrar()
        #expect(script.registration.isRegistered)
    }

    @Test("shutdown un-REGISTERs (Expires 0, same Call-ID, next CSeq, challenge answered) and stops on its answer")
    func unregister() throws {
        var script = Script()
        script.apply(script.registration.start())
        script.registrar()
        script.registrar()
        #expect(script.bindings["reg-call-id"] != nil)
        script.apply(script.registration.shutdown())
        #expect(script.deadline == nil, "no refresh after shutdown")
        let unregister = script.last
        #expect(unregister.headers[.expires] == "0")
        #expect(unregister.headers[.contact] == "<sip:carrier@198.51.100.7:5062>;expires=0")
        #expect(unregister.headers[.callID] == "reg-call-id")
        #expect(try unregister.headers.cseq() == SIPCSeq(3, .register))
        script.registrar()
        script.registrar()
        #expect(script.bindings["reg-call-id"] == nil, "the registrar removed the binding")
        #expect(script.reports.last == .stopped(unregistered: true))
        #expect(script.registration.state == .stopped)
        #expect(script.registration.timerFired().isEmpty)

        var unanswered = Script()
        unanswered.apply(unanswered.registration.start())
        unanswered.registrar()
        unanswered.registrar()
        unanswered.apply(unanswered.registration.shutdown())
        unanswered.apply(unanswered.registration.transactionFailed(.timeout))
        #expect(unanswered.reports.last == .stopped(unregistered: false))
    }

    @Test("shutdown while failing (nothing bound) stops at once, sending nothing")
    func shutdownWhileFailing() {
        var script = Script()
        script.apply(script.registration.start())
        script.answer(SIPResponse(replyingTo: script.last, statusCode: 503))
        script.apply(script.registration.shutdown())
        #expect(script.sent.count == 1)
        #expect(script.deadline == nil)
        #expect(script.reports.last == .stopped(unregistered: false))
    }
}
