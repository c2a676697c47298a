import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Verification
@testable import VerificationServer

@Suite struct HostedPageTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// The code of the newest SMS in the outbox.
    static func lastCode(_ t: TestCore) -> String? {
        guard let text = t.core.sms.outbox.last?.text else { return nil }
        return text.components(separatedBy: CharacterSet.decimalDigits.inverted).first { $0.count >= 4 }
    }

    /// The path alone of a URL or a Location header.
    static func bare(_ url: String) -> String { URLComponents(string: url)?.path ?? url }

    /// The path and query of a URL or a Location header.
    static func path(_ url: String) -> String {
        guard let c = URLComponents(string: url) else { return url }
        return c.path + (c.query.map { "?" + $0 } ?? "")
    }

    @Test func ticketSealsOpensAndRefusesTamperingExpiryAndOtherKeys() throws {
        let key = [UInt8](repeating: 1, count: 32)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ticket = PageTicket(id: "VE1", ref: "VE0", exp: 1_800_000_060, redirect: "https://shop.example/done", code: "2407")
        let token = ticket.seal(key: key)
        #expect(PageTicket.open(token, key: key, now: now) == ticket)
        #expect(!token.contains("2407") && !token.contains("shop"), "the ticket is opaque")
        #expect(PageTicket.open(token, key: key, now: now.addingTimeInterval(60)) == nil, "expired")
        #expect(PageTicket.open(token, key: [UInt8](repeating: 2, count: 32), now: now) == nil, "other key")
        var bytes = Array(token.utf8)
        bytes[bytes.count / 2] = bytes[bytes.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(PageTicket.open(String(decoding: bytes, as: UTF8.self), key: key, now: now) == nil, "tampered")
        #expect(PageTicket.open("not a token!", key: key, now: now) == nil)
        #expect(PageTicket.open("", key: key, now: now) == nil)
    }

    @Test func resultTokenIsTheDocumentedHMACAndVerifies() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let result = ResultToken(id: "VE1", ref: "VE0", to: "+886975000888", channel: "sms", status: "approved", iat: 1_800_000_000, exp: 1_800_000_300)
        let token = result.sign(key: key)
        #expect(ResultToken.verify(token, key: key, now: now) == result)
        // The README's recipe, step by step: split, HMAC over "vgr1." + payload, base64url-decode the JSON.
        let parts = token.split(separator: ".").map(String.init)
        #expect(parts.count == 2)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("vgr1." + parts[0]).utf8), using: SymmetricKey(data: key))
        #expect(Base64URL.encode(Array(mac)) == parts[1])
        let json = try #require(Base64URL.decode(parts[0]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(object["to"] as? String == "+886975000888")
        #expect(object["status"] as? String == "approved")
        #expect(ResultToken.verify(token, key: [UInt8](repeating: 8, count: 32), now: now) == nil, "other key")
        #expect(ResultToken.verify(token, key: key, now: now.addingTimeInterval(300)) == nil, "expired")
        let forged = Base64URL.encode(Array(#"{"v":1,"id":"VE1","ref":"VE0","to":"+886900000000","channel":"sms","status":"approved","iat":1800000000,"exp":1800000300}"#.utf8))
        #expect(ResultToken.verify(forged + "." + parts[1], key: key, now: now) == nil, "payload swapped")
    }

    @Test(arguments: [
        (nil, "zh-TW,zh;q=0.9,en;q=0.8", "zh-TW"),
        (nil, "en-GB,en;q=0.9", "en"),
        (nil, "fr-FR, zh-Hant-TW;q=0.5, en;q=0.4", "zh-TW"),
        (nil, "en;q=0.2, zh;q=0.8", "zh-TW"),
        (nil, "fr", "en"),
        (nil, nil, "en"),
        ("zh-TW", "en", "zh-TW"),
        ("en", "zh-TW", "en"),
        ("xx", "zh-TW", "zh-TW"),
    ] as [(String?, String?, String)])
    func languageComesFromTheQueryThenAcceptLanguage(query: String?, header: String?, expected: String) {
        #expect(PageStrings.negotiate(query: query, acceptLanguage: header, policy: VerificationPolicy()) == expected)
    }

    @Test func everyStringExistsInBothLocales() {
        #expect(Set(PageStrings.en.keys) == Set(PageStrings.zhTW.keys))
    }

    @Test func hostedStartReturnsAPageThatRedirectsWithASignedResult() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let body = #"{"to":"0975000888","channel":"sms","hosted":true,"redirect_url":"https://shop.example/verified?order=42"}"#
            let (id, url) = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: body.buffer) { r in
                #expect(r.status == .created)
                return (try #require(r.body.json["id"] as? String), try #require(r.body.json["url"] as? String))
            }
            #expect(url.hasPrefix("http://") && url.contains("/v/"))
            let page = Self.path(url)
            try await client.execute(uri: page, method: .get, headers: [.acceptLanguage: "en"]) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "text/html; charset=utf-8")
                #expect(r.headers[.referrerPolicy] == "no-referrer")
                let html = String(buffer: r.body)
                #expect(html.contains("We sent a code by SMS to 0975 000 888"))
                #expect(html.contains(#"id="code""#))
                #expect(html.contains(#"data-events="\#(page)/events""#))
                #expect(html.contains(#"aria-live="polite""#))
            }
            // Not approved yet: done sends back to the page.
            try await client.execute(uri: page + "/done", method: .get) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location]?.hasPrefix(page) == true)
            }
            let code = try #require(t.sentCode(id))
            try await client.execute(uri: page + "/check", method: .post, headers: Self.form, body: "code=\(code)&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                let location = try #require(r.headers[.location])
                #expect(location.hasPrefix("https://shop.example/verified?order=42&verigate_result="))
                let token = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "verigate_result" }?.value)
                let result = try #require(ResultToken.verify(token, key: t.core.webhookSecret, now: Date()))
                #expect(result.id == id && result.ref == id && result.to == "+886975000888" && result.status == "approved" && result.channel == "sms")
            }
            // The page itself now says verified, with a continue link carrying a fresh result.
            try await client.execute(uri: page + "?lang=zh-TW", method: .get) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("驗證成功"))
                #expect(html.contains(#"id="continue""#))
                #expect(!html.contains(#"id="code""#))
            }
        }
    }

    @Test(arguments: [
        (#"{"to":"0975000888","channel":"sms","redirect_url":"https://a.example/"}"#, "needs hosted"),
        (#"{"to":"0975000888","channel":"sms","hosted":true,"redirect_url":"javascript:alert(1)"}"#, "absolute http"),
        (#"{"to":"0975000888","channel":"sms","hosted":true,"redirect_url":"/relative"}"#, "absolute http"),
    ])
    func badRedirectURLsAreRefused(body: String, detail: String) async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: body.buffer) { r in
                #expect(r.status == .badRequest)
                #expect(r.body.json["code"] as? String == "invalid_request")
                #expect((r.body.json["detail"] as? String)?.contains(detail) == true)
            }
        }
    }

    @Test func startPageRendersInBothLocales() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: [.acceptLanguage: "zh-TW,zh;q=0.9"]) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains(#"<html lang="zh-TW">"#))
                #expect(html.contains("驗證您的手機號碼"))
                #expect(html.contains("傳簡訊驗證碼給我"))
                #expect(html.contains(#"<label for="to">手機號碼</label>"#))
                #expect(html.contains(#"href="/?lang=en""#))
            }
            try await client.execute(uri: "/?lang=en", method: .get, headers: [.acceptLanguage: "zh-TW"]) { r in
                let html = String(buffer: r.body)
                #expect(html.contains(#"<html lang="en">"#))
                #expect(html.contains("Verify your phone number"))
                #expect(html.contains(#"value="sms" checked"#))
                // Voice channels are not offered while no gateway is connected.
                #expect(!html.contains(#"value="missed_call""#))
            }
            try await client.execute(uri: "/assets/page.js", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).contains("EventSource"))
            }
            try await client.execute(uri: "/assets/../secret", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test func demoStartShowsTheOutboxAndInlineErrors() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let page = try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975+000+888&channel=sms&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                return Self.path(try #require(r.headers[.location]))
            }
            try await client.execute(uri: page, method: .get) { r in
                let html = String(buffer: r.body)
                #expect(html.contains("Demo SMS outbox"))
                let code = try #require(Self.lastCode(t))
                #expect(html.contains(String(code)))
            }
            for (body, status, text) in [
                ("to=12&channel=sms&lang=en", HTTPResponse.Status.badRequest, "That is not a valid phone number."),
                ("to=%2B16502530000&channel=sms&lang=en", .badRequest, "Numbers of this country cannot be verified here."),
                ("to=0229996666&channel=sms&lang=zh-TW", .badRequest, "此號碼無法接收簡訊"),
                ("to=0975000888&channel=missed_call&lang=en", .serviceUnavailable, "Calls are not available right now."),
            ] {
                try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: body.buffer) { r in
                    #expect(r.status == status, "\(body)")
                    let html = String(buffer: r.body)
                    #expect(html.contains(#"role="alert""#) && html.contains(text), "\(body)")
                    #expect(html.contains(#"aria-invalid="true""#))
                }
            }
        }
    }

    @Test func demoStartsAreLimitedPerVisitorAndTheWaitIsShown() async throws {
        let t = try await TestCore { $0.demoStartsPerVisitor = 2 }
        try await t.app().test(.router) { client in
            for n in ["0975000881", "0975000882"] {
                try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=\(n)&channel=sms".buffer) { r in
                    #expect(r.status == .seeOther)
                }
            }
            try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000883&channel=sms&lang=en".buffer) { r in
                #expect(r.status == .tooManyRequests)
                let wait = try #require(r.headers[.retryAfter].flatMap(Int.init))
                #expect(wait > 0 && wait <= 3600)
                #expect(String(buffer: r.body).contains("Please wait \(wait) seconds"))
            }
        }
    }

    @Test func demoOffHasNoStartPage() async throws {
        let t = try await TestCore { $0.demoMode = false }
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000888&channel=sms".buffer) { r in
                #expect(r.status == .notFound)
            }
        }
    }

    @Test func fiveWrongCodesEndWithTooManyTriesAndARestart() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let page = try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000888&channel=sms&lang=en".buffer) { r in
                Self.bare(try #require(r.headers[.location]))
            }
            let code = try #require(Self.lastCode(t))
            let wrong = code == "000000" ? "111111" : "000000"
            for left in (0..<5).reversed() {
                try await client.execute(uri: page + "/check", method: .post, headers: Self.form, body: "code=\(wrong)&lang=en".buffer) { r in
                    #expect(r.status == .ok)
                    let html = String(buffer: r.body)
                    if left > 0 {
                        #expect(html.contains("That code is wrong. Tries left: \(left)."))
                    } else {
                        #expect(html.contains("Too many wrong codes. Please start again."))
                        #expect(html.contains(#"id="restart""#))
                        #expect(!html.contains(#"id="code""#))
                    }
                }
            }
            try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=sms&lang=en".buffer) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location]?.hasPrefix("/v/") == true)
                #expect(r.headers[.location].map(Self.bare) != page, "a new verification")
            }
        }
    }

    @Test func resendTooSoonShowsTheWait() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let page = try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000888&channel=sms".buffer) { r in
                Self.bare(try #require(r.headers[.location]))
            }
            try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=sms&lang=zh-TW".buffer) { r in
                #expect(r.status == .tooManyRequests)
                let wait = try #require(r.headers[.retryAfter])
                #expect(String(buffer: r.body).contains("請等待 \(wait) 秒"))
            }
        }
    }

    @Test func switchingToAnUnavailableMethodSaysSoInline() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let page = try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: "to=0975000888&channel=sms".buffer) { r in
                Self.bare(try #require(r.headers[.location]))
            }
            try await client.execute(uri: page + "/send", method: .post, headers: Self.form, body: "channel=missed_call&lang=en".buffer) { r in
                #expect(r.status == .serviceUnavailable)
                let html = String(buffer: r.body)
                #expect(html.contains("Calls are not available right now."))
                #expect(html.contains(#"id="code""#), "the SMS verification stands")
            }
        }
    }

    @Test func anExpiredVerificationSaysSoAndOffersARestart() async throws {
        let t = try await TestCore()
        let past = Date().addingTimeInterval(-700)
        let v = Verification(id: "VE" + String(repeating: "b", count: 32), to: "+886975000888", region: "TW", channel: .sms,
                             locale: "en", codeLength: 6, codeMAC: nil, createdAt: past, expiresAt: past.addingTimeInterval(600))
        _ = try await t.store.insert(v, event: VerificationEvent(verificationID: v.id, kind: .created, status: .pending, at: past))
        let token = t.core.page.makeTicket(v, ref: v.id, redirect: "https://shop.example/", code: nil)
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v/\(token)?lang=zh-TW", method: .get) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains(#"data-state="expired""#))
                #expect(html.contains("時間已到，驗證碼已過期"))
                #expect(html.contains(#"id="restart""#))
                #expect(!html.contains(#"id="code""#))
                #expect(!html.contains("data-events"), "no live stream for a final state")
            }
            try await client.execute(uri: "/v/\(token)/done", method: .get) { r in
                #expect(r.status == .seeOther)
                #expect(r.headers[.location]?.contains("verigate_result") == false, "no result unless approved")
            }
        }
    }

    /// Call-in methods render from the verification's data: the system number as a tel: link and,
    /// for the keyed channel, the code to key. (They start only once a voice gateway is attached.)
    @Test(arguments: [VerificationMethod.dtmfCallIn, .missedCall, .voiceCallIn, .dtmfCallOut])
    func callMethodsRenderWhatToDo(channel: VerificationMethod) async throws {
        let t = try await TestCore()
        let now = Date()
        let v = Verification(id: "VE" + String(repeating: "a", count: 32), to: "+886975000888", region: "TW", channel: channel,
                             locale: "en", codeLength: 4, codeMAC: nil, createdAt: now, expiresAt: now.addingTimeInterval(600),
                             systemNumber: channel.isCallIn ? "+886229996666" : nil)
        _ = try await t.store.insert(v, event: VerificationEvent(verificationID: v.id, kind: .created, status: .pending, at: now))
        let token = t.core.page.makeTicket(v, ref: v.id, redirect: nil, code: "2407")
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v/\(token)?lang=en", method: .get) { r in
                #expect(r.status == .ok)
                let html = String(buffer: r.body)
                #expect(html.contains(#"href="tel:+886229996666""#) == channel.isCallIn)
                #expect(html.contains("02 2999 6666") == channel.isCallIn)
                #expect(html.contains(#"id="key-code""#) == channel.showsCodeOnPage)
                #expect(html.contains("2 4 0 7") == channel.showsCodeOnPage)
                #expect(html.contains(#"id="code""#) == channel.isCheckedOnWeb)
                if channel == .missedCall { #expect(html.contains("hang up after one ring")) }
                if channel == .dtmfCallIn { #expect(html.contains("key this code")) }
            }
            try await client.execute(uri: "/v/\(token)?lang=zh-TW", method: .get) { r in
                let html = String(buffer: r.body)
                if channel == .missedCall { #expect(html.contains("響一聲後即可掛斷")) }
                #expect(html.contains(#"aria-label="撥打 02 2999 6666""#) == channel.isCallIn)
            }
        }
    }

    @Test func invalidOrExpiredLinksSayWhyAndEventsNeedATicket() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v/garbage", method: .get, headers: [.acceptLanguage: "zh-TW"]) { r in
                #expect(r.status == .notFound)
                #expect(String(buffer: r.body).contains("此連結無效或已過期"))
            }
            try await client.execute(uri: "/v/garbage/events", method: .get) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/v/garbage/check", method: .post, headers: Self.form, body: "code=1234".buffer) { r in
                #expect(r.status == .notFound)
            }
        }
    }
}
