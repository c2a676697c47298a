import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport
import Verification
@testable import VerificationServer

@Suite struct APITests {
    @Test func smsFlowThroughTheAPI() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                              body: #"{"to":"0975000888","channel":"sms","locale":"zh-TW"}"#.buffer) { r in
                #expect(r.status == .created)
                let body = r.body.json
                #expect(body["to"] as? String == "+886975000888")
                #expect(body["status"] as? String == "pending")
                #expect(body["locale"] as? String == "zh-TW")
                #expect(body["code"] == nil, "the API never returns an SMS code")
                #expect(r.headers[.location] == "/v1/verifications/\(body["id"] as? String ?? "")")
                return try #require(body["id"] as? String)
            }
            let code = try #require(t.sentCode(id))
            #expect(t.core.sms.outbox.last?.text.contains("驗證碼") == true)
            let wrong = code == "000000" ? "111111" : "000000"
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(wrong)"}"#.buffer) { r in
                #expect(r.status == .ok)
                #expect(r.body.json["valid"] as? Bool == false)
                #expect(r.body.json["status"] as? String == "pending")
                #expect(r.body.json["attempts_remaining"] as? Int == 4)
            }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(code)"}"#.buffer) { r in
                #expect(r.status == .ok)
                #expect(r.body.json["valid"] as? Bool == true)
                #expect(r.body.json["status"] as? String == "approved")
            }
            try await client.execute(uri: "/v1/verifications/\(id)", method: .get, headers: t.auth) { r in
                #expect(r.body.json["status"] as? String == "approved")
            }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(code)"}"#.buffer) { r in
                #expect(r.status == .conflict)
                #expect(r.body.json["code"] as? String == "not_pending")
            }
        }
    }

    /// Bad requests: each with its exact status and problem code, never a 500.
    @Test(arguments: [
        ("malformed JSON", "POST", "/v1/verifications", #"{"to": "0975000888", "#, true, 400, "invalid_request"),
        ("empty body", "POST", "/v1/verifications", "", true, 400, "invalid_request"),
        ("wrong type", "POST", "/v1/verifications", #"{"to": 975000888, "channel": "sms"}"#, true, 400, "invalid_request"),
        ("missing field", "POST", "/v1/verifications", #"{"to": "0975000888"}"#, true, 400, "invalid_request"),
        ("JSON array", "POST", "/v1/verifications", #"[1,2]"#, true, 400, "invalid_request"),
        ("unknown channel", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"pigeon"}"#, true, 400, "invalid_request"),
        ("invalid number", "POST", "/v1/verifications", #"{"to":"12","channel":"sms"}"#, true, 400, "invalid_number"),
        ("not a number", "POST", "/v1/verifications", #"{"to":"call me","channel":"sms"}"#, true, 400, "invalid_number"),
        ("disallowed country", "POST", "/v1/verifications", #"{"to":"+16502530000","channel":"sms"}"#, true, 400, "country_not_allowed"),
        ("SMS to a fixed line", "POST", "/v1/verifications", #"{"to":"0229996666","channel":"sms"}"#, true, 400, "number_cannot_receive_sms"),
        ("code length 11", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"sms","code_length":11}"#, true, 400, "invalid_request"),
        ("bad callback", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"sms","callback_url":"ftp://x"}"#, true, 400, "invalid_request"),
        ("bad locale", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"sms","locale":"<script>"}"#, true, 400, "invalid_request"),
        ("voice without gateway", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"voice_call"}"#, true, 503, "no_gateway"),
        ("no key", "POST", "/v1/verifications", #"{"to":"0975000888","channel":"sms"}"#, false, 401, "unauthorized"),
        ("unknown id", "GET", "/v1/verifications/VEnope", "", true, 404, "not_found"),
        ("check unknown id", "POST", "/v1/verifications/VEnope/checks", #"{"code":"123456"}"#, true, 404, "not_found"),
        ("unknown route", "GET", "/v2/anything", "", true, 404, "not_found"),
    ])
    func badRequests(name: String, method: String, uri: String, body: String, withKey: Bool, status: Int, code: String) async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            var headers = t.auth
            if !withKey { headers[.authorization] = nil }
            try await client.execute(uri: uri, method: .init(method)!, headers: headers, body: body.buffer) { r in
                #expect(r.status.code == status, "\(name)")
                #expect(r.headers[.contentType] == "application/problem+json", "\(name)")
                #expect(r.body.json["code"] as? String == code, "\(name)")
                #expect(r.body.json["status"] as? Int == status, "\(name)")
            }
        }
    }

    @Test func wrongKeyAndOversizedBody() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v1/verifications/VE1", method: .get, headers: [.authorization: "Bearer vg_wrong"]) { r in
                #expect(r.status == .unauthorized)
                #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            let big = #"{"to":"0975000888","channel":"sms","locale":""# + String(repeating: "a", count: 70_000) + #""}"#
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: big.buffer) { r in
                #expect(r.status == .contentTooLarge)
                #expect(r.body.json["code"] as? String == "payload_too_large")
            }
        }
    }

    @Test func resendTooSoonIsRateLimitedWithRetryAfter() async throws {
        // Time stands still, so the wait is exactly the interval however slow the machine.
        let t = try await TestCore(clock: StoppedClock())
        try await t.app().test(.router) { client in
            let body = #"{"to":"0975000888","channel":"sms"}"#
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: body.buffer) { r in
                #expect(r.status == .created)
                return try #require(r.body.json["id"] as? String)
            }
            try await client.execute(uri: "/v1/verifications/\(id)/resend", method: .post, headers: t.auth) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.body.json["code"] as? String == "rate_limited")
                let after = Int(r.headers[.retryAfter] ?? "") ?? 0
                #expect(after == 30)
                #expect((r.body.json["detail"] as? String)?.contains("resend_interval") == true)
            }
        }
    }

    @Test func perClientIPStartLimit() async throws {
        let t = try await TestCore { $0.policy.limits.perClientIPPerMinute = 2 }
        try await t.app().test(.router) { client in
            for i in 0..<2 {
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                         body: #"{"to":"+88697500088\#(i)","channel":"sms"}"#.buffer) { r in #expect(r.status == .created) }
            }
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: #"{"to":"+886975000889","channel":"sms"}"#.buffer) { r in
                #expect(r.status == .tooManyRequests)
                #expect((r.body.json["detail"] as? String)?.contains("client_ip") == true)
            }
        }
    }

    @Test func perAPIKeyLimit() async throws {
        let t = try await TestCore { $0.policy.limits.perAPIKeyPerMinute = 3 }
        try await t.app().test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/verifications/VEnope", method: .get, headers: t.auth) { r in #expect(r.status == .notFound) }
            }
            try await client.execute(uri: "/v1/verifications/VEnope", method: .get, headers: t.auth) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.headers[.retryAfter] != nil)
            }
        }
    }

    @Test func cancel() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                              body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in r.body.json["id"] as! String }
            try await client.execute(uri: "/v1/verifications/\(id)/cancel", method: .post, headers: t.auth) { r in
                #expect(r.status == .ok)
                #expect(r.body.json["status"] as? String == "canceled")
            }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(t.sentCode(id)!)"}"#.buffer) { r in
                #expect(r.status == .conflict)
            }
        }
    }

    @Test func healthAndMetrics() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                              body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in r.body.json["id"] as! String }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(t.sentCode(id)!)"}"#.buffer) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains(#"verigate_verifications_started_total{channel="sms"} 1"#))
                #expect(text.contains(#"verigate_verifications_approved_total{channel="sms"} 1"#))
                #expect(text.contains(#"verigate_checks_total{result="approved"} 1"#))
                #expect(text.contains("verigate_http_request_duration_seconds_bucket"))
            }
        }
    }

    @Test("ATTACK: requests with 64 made-up methods add no series to /metrics (the method label is GET, POST, … or other), so no client can grow the registry")
    func madeUpMethodsAreOneSeries() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            for index in 0..<64 {
                let method = try #require(HTTPRequest.Method("XMETHOD\(index)"))
                try await client.execute(uri: index.isMultiple(of: 2) ? "/healthz" : "/no-such-path-\(index)", method: method) { r in
                    #expect(r.status == .methodNotAllowed || r.status == .notFound)
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(!text.contains("XMETHOD"))
                let series = text.split(separator: "\n").filter { $0.hasPrefix("verigate_http_request_duration_seconds_count{") }
                #expect(series.contains { $0.contains(#"method="other""#) && $0.hasSuffix(" 64") }, "\(series)")
                #expect(series.count <= 4, "\(series)")
            }
        }
    }

    @Test("with --metrics-token, /metrics wants that bearer token: none, wrong or another scheme get 401")
    func metricsToken() async throws {
        let token = "prometheus-scrape-token-0123"
        let t = try await TestCore { $0.metricsToken = token }
        try await t.app().test(.router) { client in
            for header in [nil, "Bearer wrong-token-of-some-length", "Basic \(token)", "Bearer \(token)x", "Bearer"] {
                let headers: HTTPFields = header.map { [.authorization: $0] } ?? [:]
                try await client.execute(uri: "/metrics", method: .get, headers: headers) { r in
                    #expect(r.status == .unauthorized, "\(header ?? "no header")")
                    #expect(!String(buffer: r.body).contains("verigate_"))
                }
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "bearer \(token)"]) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("verigate_http_request_duration_seconds"))
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
        #expect(Secrets.tokenMatches(token, token) && !Secrets.tokenMatches(token, token + "x") && !Secrets.tokenMatches("", token))
    }

    @Test func productionModeHasNoOutbox() async throws {
        let t = try await TestCore { $0.devMode = false }
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                #expect(r.status == .created)
            }
            #expect(t.core.sms.outbox.isEmpty)
            try await client.execute(uri: "/dev/outbox", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    /// The page learns of the approval over SSE: first the current status, then the change.
    @Test func serverSentEventsCarryTheApproval() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                              body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in r.body.json["id"] as! String }
            let code = try #require(t.sentCode(id))
            async let stream: String = client.execute(uri: "/v1/verifications/\(id)/events", method: .get, headers: t.auth) { r in
                #expect(r.headers[.contentType] == "text/event-stream")
                return String(buffer: r.body)
            }
            // Wait for the subscription (an event), then approve.
            while t.core.broker.subscriberCount == 0 { await Task.yield() }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(code)"}"#.buffer) { _ in }
            let text = try await stream
            let events = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("event:") }
            #expect(events.count == 2)
            #expect(events.first?.contains(#""status":"pending""#) == true)
            #expect(events.last?.contains(#""event":"approved""#) == true)
        }
    }

    /// An explicit null in a start body is 400 invalid_request naming the field, as the schema has
    /// no null: `"redirect_url": null` without `hosted` once started a verification (schemathesis).
    @Test func nullFieldsInAStartAreRefused() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            for field in ["redirect_url", "hosted", "channel", "channels", "locale", "code_length", "callback_url"] {
                let channel = field == "channel" ? #""channels":["sms"]"# : #""channel":"sms""#
                let body = #"{"to":"0975000888",\#(channel),"\#(field)":null}"#
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: body.buffer) { r in
                    #expect(r.status == .badRequest, "\(field)")
                    #expect(r.body.json["code"] as? String == "invalid_request")
                    #expect((r.body.json["detail"] as? String)?.contains("`\(field)`") == true, "\(String(buffer: r.body))")
                }
            }
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                #expect(r.status == .created)
            }
        }
    }

    /// TRACE, PATCH, PUT, DELETE and OPTIONS on routed paths (fixed and templated, inside and
    /// outside the API key's group) answer 405 `method_not_allowed` with `Allow` naming the path's
    /// methods (RFC 9110 §15.5.6), over a live HTTP connection; an unknown path stays 404. It was
    /// 404 on every path, which schemathesis' unsupported-method check reported.
    @Test func unsupportedMethodOnAKnownPathIs405WithAllow() async throws {
        let t = try await TestCore()
        let cases: [(path: String, allow: String)] = [
            ("/v1/verifications", "POST"), ("/v1/verifications/abc", "GET"), ("/v1/verifications/abc/checks", "POST"),
            ("/healthz", "GET"), ("/metrics", "GET"), ("/openapi.yaml", "GET"), ("/", "GET"), ("/demo", "POST"),
            ("/v/sometoken", "GET"), ("/v/sometoken/check", "POST"), ("/assets/page.js", "GET"), ("/v1/sms/kannel/dlr", "GET"),
        ]
        try await t.app().test(.live) { client in
            for (path, allow) in cases {
                for method in [HTTPRequest.Method("TRACE")!, .patch, .put, .delete, .options] {
                    try await client.execute(uri: path, method: method, headers: t.auth) { r in
                        #expect(r.status == .methodNotAllowed, "\(method) \(path)")
                        #expect(r.headers[.allow] == allow, "\(method) \(path)")
                        #expect(r.headers[.contentType] == "application/problem+json")
                        #expect(r.body.json["code"] as? String == "method_not_allowed", "\(method) \(path)")
                    }
                }
            }
            // An unknown path is 404 whatever the method; a known method on a known path still works.
            for method in [HTTPRequest.Method("TRACE")!, .get, .post] {
                try await client.execute(uri: "/nowhere/at/all", method: method) { r in
                    #expect(r.status == .notFound, "\(method)")
                    #expect(r.headers[.allow] == nil)
                }
            }
            try await client.execute(uri: "/v1/verifications/abc/checks/extra", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test func openAPIDocumentMatchesRoutesAndErrorCodes() async throws {
        let t = try await TestCore()
        let yaml = String(decoding: try #require(Core.openAPIDocument()), as: UTF8.self)
        // Paths: "  /x/{id}:" lines; operations: "    get:" lines under them.
        var documented: Set<String> = []
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()); continue }
            if !line.hasPrefix("    ") && !line.hasPrefix("  /") && !line.isEmpty && !line.hasPrefix(" ") { path = nil }
            if let p = path, let m = ["get", "post", "put", "delete", "patch"].first(where: { line == "    \($0):" }) {
                documented.insert("\(m.uppercased()) \(p)")
            }
        }
        let routed = Set(t.core.router().routes.map { route -> String in
            let p = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue) /\(p)"
        })
        #expect(documented == routed, "only in openapi.yaml: \(documented.subtracting(routed)); only in the router: \(routed.subtracting(documented))")
        let enumStart = try #require(yaml.range(of: "          enum:\n"))
        let codes = Set(yaml[enumStart.upperBound...].split(separator: "\n").prefix { $0.hasPrefix("            - ") }
            .map { String($0.dropFirst("            - ".count)) })
        #expect(codes == Problem.codes)
        let domainCodes: [VerificationError] = [
            .invalidNumber(reason: ""), .countryNotAllowed(region: ""), .channelDisabled(.sms), .cannotReceiveSMS, .numberTypeNotAllowed(.premiumRate, .sms), .invalidRequest(""),
            .rateLimited(limit: .apiKey, retryAfter: 1), .notFound, .expired, .maxAttemptsReached, .notPending(.approved), .noGateway,
            .deliveryFailed(reason: "", verificationID: ""), .wrongChannel(.sms), .noSystemNumber(retryAfter: 1),
        ]
        for e in domainCodes { #expect(Problem.codes.contains(e.code), "\(e.code)") }
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == yaml)
            }
        }
    }

    /// The served document parses as YAML and validates as OpenAPI 3.1 (openapi-spec-validator in
    /// the repository's .venv, scripts/python-venv.sh), so code generators and schemathesis accept
    /// it; an unquoted ": " or ", " in a flow mapping once made it invalid YAML. Its StartRequest
    /// schema states that `redirect_url` needs `hosted: true`.
    @Test func openAPIDocumentIsValidOpenAPI() async throws {
        guard TestSMSC.shouldRun else { return }
        try #require(TestSMSC.isAvailable, "no .venv: run scripts/python-venv.sh (openapi-spec-validator)")
        let document = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-openapi-\(UUID().uuidString.prefix(8)).yaml")
        let log = document.appendingPathExtension("log")
        defer { for file in [document, log] { try? FileManager.default.removeItem(at: file) } }
        try #require(Core.openAPIDocument()).write(to: document)
        // Besides validating the document: StartRequest's schema refuses `redirect_url` without
        // `hosted: true`, as the server does (so generated clients and schemathesis agree with it).
        let check = """
            import sys, yaml, jsonschema
            from openapi_spec_validator import validate
            document = yaml.safe_load(open(sys.argv[1]))
            validate(document)
            start = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/StartRequest", "components": document["components"]})
            url = "https://example.com/done"
            for body in ({"to": "0975000888", "redirect_url": url}, {"to": "0975000888", "hosted": False, "redirect_url": url}):
                assert not start.is_valid(body), f"StartRequest allows {body}"
            assert start.is_valid({"to": "0975000888", "hosted": True, "redirect_url": url})
            print("valid")
            """
        let python = try await ChildProcess(TestSMSC.python, ["-c", check, document.path], log: log)
        let status = await python.exitStatus()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 0 && output.contains("valid"), "\(output.suffix(2_000))")
    }
}
