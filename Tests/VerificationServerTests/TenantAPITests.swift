import Foundation
import GatewayProtocol
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import Verification
@testable import VerificationServer

/// Issue 12, item 1, through the HTTP API and the hosted page: each API key is a tenant; every
/// start is its own verification; the page offers only the channels allowed at start; a
/// `verigate_result` names only its own chain. Each test performs the attack and shows it refused.
@Suite struct TenantAPITests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    static let systemNumbers = ["+886229996666", "+886229996667"]

    /// A core with two system numbers and a voice gateway attached for every channel (its
    /// `originate` lines go to a test sink nobody reads), plus a second API key.
    static func core(clock: any VerificationClock = SystemClock(), _ configure: (inout CoreConfiguration) -> Void = { _ in }) async throws
        -> (TestCore, String, RecordingGatewayOutbound) {
        let t = try await TestCore(clock: clock) {
            $0.policy = VerificationPolicy(systemNumbers: systemNumbers)
            configure(&$0)
        }
        let sink = RecordingGatewayOutbound()
        _ = t.core.gateways.add(channels: VerificationMethod.allCases.map(\.rawValue), writer: sink)
        let other = try await t.core.addAPIKey(name: "tenant B")
        return (t, other, sink)
    }

    /// The path of the hosted page `url` in a start answer.
    static func pagePath(_ body: String) throws -> String {
        let url = try #require(body.buffer.json["url"] as? String)
        return try #require(URLComponents(string: url)?.path)
    }

    /// The path of a Location header.
    static func locationPath(_ location: String?) throws -> String {
        let location = try #require(location)
        return try #require(URLComponents(string: location)?.path)
    }

    static func auth(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }

    /// One request's status and body (the response closure returns them).
    static func call(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, key: String, body: String = "") async throws -> (Int, String) {
        try await client.execute(uri: uri, method: method, headers: auth(key), body: body.buffer) { r in (Int(r.status.code), String(buffer: r.body)) }
    }

    /// Every route of verification `id`, called with `key`, answers 404 `not_found` byte for byte as
    /// for an id nobody has: the answer does not tell that the id exists.
    static func expectHiddenOnEveryRoute(_ client: some TestClientProtocol, id: String, from key: String) async throws {
        let unknown = "VE" + String(repeating: "0", count: 32)
        for (method, suffix, payload) in [
            (HTTPRequest.Method.get, "", ""), (.post, "/checks", #"{"code":"123456"}"#), (.post, "/cancel", ""),
            (.post, "/resend", ""), (.get, "/events", ""),
        ] {
            let hidden = try await call(client, method, "/v1/verifications/\(id)\(suffix)", key: key, body: payload)
            let nobodys = try await call(client, method, "/v1/verifications/\(unknown)\(suffix)", key: key, body: payload)
            #expect(hidden.0 == 404, "\(method) \(suffix): \(hidden.1)")
            #expect(hidden.1 == nobodys.1, "\(method) \(suffix): the answer must not tell that the id exists")
            #expect(hidden.1.buffer.json["code"] as? String == "not_found")
        }
    }

    @Test("another API key gets 404 not_found, byte for byte as for an unknown id, on every route; its start is a new verification", arguments: VerificationMethod.allCases)
    func anotherKeyGetsNotFound(channel: VerificationMethod) async throws {
        let (t, keyB, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let (status, body) = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"\#(channel.rawValue)"}"#)
            #expect(status == 201, "\(body)")
            let a = try #require(body.buffer.json["id"] as? String)
            let systemA = body.buffer.json["system_number"] as? String
            try await Self.expectHiddenOnEveryRoute(client, id: a, from: keyB)
            // B starts the same number on the same channel: a new verification; A's is untouched.
            let before = try await Self.call(client, .get, "/v1/verifications/\(a)", key: t.key)
            let (statusB, bodyB) = try await Self.call(client, .post, "/v1/verifications", key: keyB, body: #"{"to":"+886975000888","channel":"\#(channel.rawValue)"}"#)
            #expect(statusB == 201, "\(bodyB)")
            let b = try #require(bodyB.buffer.json["id"] as? String)
            #expect(b != a)
            if channel.isCallIn {
                #expect(bodyB.buffer.json["system_number"] as? String != systemA, "the victim's number is not shown to another start")
            }
            let after = try await Self.call(client, .get, "/v1/verifications/\(a)", key: t.key)
            #expect(after.0 == 200)
            #expect(after.1 == before.1, "A's verification did not change (send_count, code, status)")
            #expect(after.1.buffer.json["status"] as? String == "pending")
            #expect(after.1.buffer.json["send_count"] as? Int == before.1.buffer.json["send_count"] as? Int)
            #expect(t.core.sms.outbox.filter { $0.verificationID == a }.count <= 1, "B's start sent nothing for A")
            // The owner can still act on it; A cannot see B's either.
            #expect(try await Self.call(client, .get, "/v1/verifications/\(b)", key: t.key).0 == 404)
            #expect(try await Self.call(client, .post, "/v1/verifications/\(a)/cancel", key: t.key).0 == 200)
        }
    }

    @Test("a verification the demo page started belongs to no API key: every key gets 404 not_found on every route, as for an unknown id")
    func demoStartBelongsToNoKey() async throws {
        let (t, keyB, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000888&channel=sms&lang=en".buffer) { r in
                #expect(r.status == .seeOther, "\(String(buffer: r.body))")
            }
            let id = try #require(t.core.sms.outbox.last?.verificationID, "the demo start sent its SMS")
            #expect(try await t.core.service.verification(id: id).apiKeyID == nil)
            for key in [t.key, keyB] {
                try await Self.expectHiddenOnEveryRoute(client, id: id, from: key)
            }
            #expect(try await t.core.service.verification(id: id).status == .pending, "no key's request changed it")
        }
    }

    @Test("a second start of one key for the same number is a new verification at once (201), never a resend or a 429 that reveals the first")
    func secondStartIsNew() async throws {
        let (t, _, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let body = #"{"to":"0975000888","channel":"sms"}"#
            let first = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: body)
            let second = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: body)
            #expect(first.0 == 201 && second.0 == 201)
            let a = try #require(first.1.buffer.json["id"] as? String)
            let b = try #require(second.1.buffer.json["id"] as? String)
            #expect(a != b)
            #expect(second.1.buffer.json["send_count"] as? Int == 1)
            // Each has its own code; the one does not approve the other.
            let codeA = try #require(t.sentCode(a))
            let codeB = try #require(t.sentCode(b))
            let approved = try await Self.call(client, .post, "/v1/verifications/\(b)/checks", key: t.key, body: #"{"code":"\#(codeB)"}"#)
            #expect(approved.1.buffer.json["status"] as? String == "approved")
            let first2 = try await Self.call(client, .get, "/v1/verifications/\(a)", key: t.key)
            #expect(first2.1.buffer.json["status"] as? String == "pending")
            if codeA != codeB {
                let wrong = try await Self.call(client, .post, "/v1/verifications/\(a)/checks", key: t.key, body: #"{"code":"\#(codeB)"}"#)
                #expect(wrong.1.buffer.json["valid"] as? Bool == false)
            }
        }
    }

    @Test("POST /v1/verifications/{id}/resend: the same verification, a new code, within the resend interval")
    func resendEndpoint() async throws {
        let (t, keyB, sink) = try await Self.core { $0.policy.limits.resendInterval = 0 }
        _ = sink
        try await t.app().test(.router) { client in
            let (_, body) = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"sms"}"#)
            let id = try #require(body.buffer.json["id"] as? String)
            let firstCode = try #require(t.sentCode(id))
            #expect(try await Self.call(client, .post, "/v1/verifications/\(id)/resend", key: keyB).0 == 404)
            #expect(t.core.sms.outbox.filter { $0.verificationID == id }.count == 1, "B's resend sent nothing")
            let (status, resent) = try await Self.call(client, .post, "/v1/verifications/\(id)/resend", key: t.key)
            #expect(status == 200)
            #expect(resent.buffer.json["id"] as? String == id)
            #expect(resent.buffer.json["send_count"] as? Int == 2)
            #expect(resent.buffer.json["code"] == nil, "an SMS code is never in the API")
            let code = try #require(t.sentCode(id))
            if code != firstCode {
                let old = try await Self.call(client, .post, "/v1/verifications/\(id)/checks", key: t.key, body: #"{"code":"\#(firstCode)"}"#)
                #expect(old.1.buffer.json["valid"] as? Bool == false, "the old code no longer works")
            }
            let check = try await Self.call(client, .post, "/v1/verifications/\(id)/checks", key: t.key, body: #"{"code":"\#(code)"}"#)
            #expect(check.1.buffer.json["status"] as? String == "approved")
            let done = try await Self.call(client, .post, "/v1/verifications/\(id)/resend", key: t.key)
            #expect(done.0 == 409)
            #expect(done.1.buffer.json["code"] as? String == "not_pending")
        }
    }

    @Test("a resend inside the interval is 429 rate_limited naming only the limit, with Retry-After")
    func resendTooSoon() async throws {
        // Time stands still, so the wait is exactly the interval however slow the machine.
        let (t, _, sink) = try await Self.core(clock: StoppedClock())
        _ = sink
        try await t.app().test(.router) { client in
            let (_, body) = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"sms"}"#)
            let id = try #require(body.buffer.json["id"] as? String)
            try await client.execute(uri: "/v1/verifications/\(id)/resend", method: .post, headers: t.auth) { r in
                #expect(r.status == .tooManyRequests)
                #expect(r.body.json["code"] as? String == "rate_limited")
                #expect(Int(r.headers[.retryAfter] ?? "") == 30)
                let detail = try #require(r.body.json["detail"] as? String)
                #expect(detail.contains("resend_interval"))
                #expect(!detail.contains("VE"), "no id in the refusal")
            }
        }
    }

    @Test("missed_call: the attacker's later start gets another system number; with the pool exhausted for that caller, 503 no_system_number with Retry-After")
    func missedCallNumbersPerCaller() async throws {
        let (t, keyB, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let body = #"{"to":"0975000888","channel":"missed_call"}"#
            let victim = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: body)
            let attacker = try await Self.call(client, .post, "/v1/verifications", key: keyB, body: body)
            let shown = try #require(victim.1.buffer.json["system_number"] as? String)
            #expect(attacker.1.buffer.json["system_number"] as? String != shown)
            // The victim dials what their page shows: only the victim's verification is approved.
            let decision = try await t.core.service.inboundCall(caller: "+886975000888", region: nil, called: shown, trust: .asserted)
            guard case .missedCallApproved(let approved) = decision else { Issue.record("got \(decision)"); return }
            #expect(approved.id == victim.1.buffer.json["id"] as? String)
            let attackerID = try #require(attacker.1.buffer.json["id"] as? String)
            #expect(try await Self.call(client, .get, "/v1/verifications/\(attackerID)", key: keyB).1.buffer.json["status"] as? String == "pending")
            // A third start for that caller finds no free number (approved and canceled ones hold theirs until expiry).
            try await client.execute(uri: "/v1/verifications", method: .post, headers: Self.auth(keyB), body: body.buffer) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.body.json["code"] as? String == "no_system_number")
                let after = try #require(r.headers[.retryAfter].flatMap(Int.init))
                #expect((590...600).contains(after))
                #expect(!String(buffer: r.body).contains("VE"))
            }
        }
    }

    @Test("the attacker starts first, the victim verifies on their page: the result names the victim's verification, the attacker's stays pending")
    func attackerFirstThenVictimHosted() async throws {
        let (t, keyB, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let attacker = try await Self.call(client, .post, "/v1/verifications", key: keyB,
                                               body: #"{"to":"0975000888","channel":"sms","hosted":true,"redirect_url":"https://evil.example/"}"#)
            let attackerID = try #require(attacker.1.buffer.json["id"] as? String)
            let victim = try await Self.call(client, .post, "/v1/verifications", key: t.key,
                                             body: #"{"to":"0975000888","channel":"sms","hosted":true,"redirect_url":"https://shop.example/ok"}"#)
            let victimID = try #require(victim.1.buffer.json["id"] as? String)
            #expect(victimID != attackerID)
            let page = try Self.pagePath(victim.1)
            let code = try #require(t.sentCode(victimID))
            try await client.execute(uri: page + "/check", method: .post, headers: Self.form, body: "code=\(code)&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                let location = try #require(r.headers[.location])
                #expect(location.hasPrefix("https://shop.example/ok?verigate_result="))
                let token = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "verigate_result" }?.value)
                let result = try #require(ResultToken.verify(token, key: t.core.webhookSecret, now: Date()))
                #expect(result.id == victimID && result.ref == victimID)
            }
            let after = try await Self.call(client, .get, "/v1/verifications/\(attackerID)", key: keyB)
            #expect(after.1.buffer.json["status"] as? String == "pending")
            #expect(after.1.buffer.json["send_count"] as? Int == 1)
        }
    }

    @Test("the hosted page offers only the channels allowed at start; a forged switch to another is refused")
    func pageOffersOnlyAllowedChannels() async throws {
        let (t, _, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let started = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"sms","hosted":true}"#)
            let id = try #require(started.1.buffer.json["id"] as? String)
            let page = try Self.pagePath(started.1)
            try await client.execute(uri: page + "?lang=en", method: .get) { r in
                let html = String(buffer: r.body)
                for other in VerificationMethod.allCases where other != .sms {
                    #expect(!html.contains(#"value="\#(other.rawValue)""#), "\(other) was not allowed at start")
                }
            }
            for forged in VerificationMethod.allCases where forged != .sms {
                try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=\(forged.rawValue)&lang=en".buffer) { r in
                    #expect(r.status == .badRequest, "\(forged)")
                    #expect(r.headers[.location] == nil)
                }
            }
            #expect(t.core.sms.outbox.count == 1, "nothing was sent by the forged switches")
            #expect(try await Self.call(client, .get, "/v1/verifications/\(id)", key: t.key).1.buffer.json["status"] as? String == "pending")
        }
    }

    @Test("a page switches among its allowed channels; the result names the switched verification with the start as ref")
    func pageSwitchesWithinTheAllowedChannels() async throws {
        let (t, _, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let started = try await Self.call(client, .post, "/v1/verifications", key: t.key,
                                              body: #"{"to":"0975000888","channels":["voice_call","sms"],"hosted":true,"redirect_url":"https://shop.example/ok"}"#)
            #expect(started.0 == 201, "\(started.1)")
            let ref = try #require(started.1.buffer.json["id"] as? String)
            let page = try Self.pagePath(started.1)
            try await client.execute(uri: page + "?lang=en", method: .get) { r in
                let html = String(buffer: r.body)
                #expect(html.contains(#"value="sms""#))
                #expect(!html.contains(#"value="missed_call""#))
                #expect(!html.contains(#"value="dtmf_callin""#))
            }
            let next = try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=sms&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                return try Self.locationPath(r.headers[.location])
            }
            let ticket = try #require(t.core.page.ticket(String(next.dropFirst("/v/".count))))
            #expect(ticket.id != ref && ticket.ref == ref)
            #expect(try await Self.call(client, .get, "/v1/verifications/\(ref)", key: t.key).1.buffer.json["status"] as? String == "canceled")
            let code = try #require(t.sentCode(ticket.id))
            try await client.execute(uri: next + "/check", method: .post, headers: Self.form, body: "code=\(code)&lang=en".buffer) { r in
                let location = try #require(r.headers[.location])
                let token = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "verigate_result" }?.value)
                let result = try #require(ResultToken.verify(token, key: t.core.webhookSecret, now: Date()))
                #expect(result.id == ticket.id && result.ref == ref && result.channel == "sms")
            }
        }
    }

    @Test("the page's resend resends exactly its own verification")
    func pageResendIsItsOwnVerification() async throws {
        let (t, keyB, sink) = try await Self.core { $0.policy.limits.resendInterval = 0 }
        _ = sink
        try await t.app().test(.router) { client in
            let other = try await Self.call(client, .post, "/v1/verifications", key: keyB, body: #"{"to":"0975000888","channel":"sms"}"#)
            let otherID = try #require(other.1.buffer.json["id"] as? String)
            let started = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"sms","hosted":true}"#)
            let id = try #require(started.1.buffer.json["id"] as? String)
            let page = try Self.pagePath(started.1)
            let next = try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=sms&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                return try Self.locationPath(r.headers[.location])
            }
            #expect(t.core.page.ticket(String(next.dropFirst("/v/".count)))?.id == id)
            #expect(try await Self.call(client, .get, "/v1/verifications/\(id)", key: t.key).1.buffer.json["send_count"] as? Int == 2)
            #expect(try await Self.call(client, .get, "/v1/verifications/\(otherID)", key: keyB).1.buffer.json["send_count"] as? Int == 1)
        }
    }

    @Test("a ticket whose ref is not of its chain yields no verigate_result")
    func resultOnlyForItsOwnChain() async throws {
        let (t, keyB, sink) = try await Self.core()
        _ = sink
        try await t.app().test(.router) { client in
            let theirs = try await Self.call(client, .post, "/v1/verifications", key: keyB, body: #"{"to":"0975000777","channel":"sms"}"#)
            let theirID = try #require(theirs.1.buffer.json["id"] as? String)
            let mine = try await Self.call(client, .post, "/v1/verifications", key: t.key, body: #"{"to":"0975000888","channel":"sms"}"#)
            let mineID = try #require(mine.1.buffer.json["id"] as? String)
            let v = try #require(await t.store.verification(id: mineID))
            // A ticket (made by the server only) pairing a verification with another key's start.
            let token = t.core.page.makeTicket(v, ref: theirID, redirect: "https://shop.example/ok", code: nil)
            let code = try #require(t.sentCode(mineID))
            try await client.execute(uri: "/v/\(token)/check", method: .post, headers: Self.form, body: "code=\(code)&lang=en".buffer) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.location] == nil)
                #expect(!String(buffer: r.body).contains("verigate_result"))
            }
        }
    }
}

/// A gateway's outbound that keeps what the core sends it (`originate`), for tests.
final class RecordingGatewayOutbound: GatewayOutbound {
    private let sent = Mutex<[GatewayEnvelope]>([])

    /// What was sent, in order.
    var envelopes: [GatewayEnvelope] { sent.withLock { $0 } }

    func send(_ envelope: GatewayEnvelope, line: [UInt8]?) throws(GatewayLinkClosed) {
        sent.withLock { $0.append(envelope) }
    }

    func close() {}
}
