import Foundation
import HummingbirdTesting
import Testing
import Verification
@testable import VerificationServer

/// `HTTPURL`, the one http(s) URL check, and the start's `callback_url` and `redirect_url`
/// refused through it over the API.
@Suite struct HTTPURLTests {
    @Test(arguments: [
        ("https://shop.example/verified", true),
        ("HTTP://Shop.Example:8080/x?y=1#z", true),
        ("http://[2001:db8::1]/hook", true),
        ("ftp://shop.example/", false),
        ("javascript:alert(1)", false),
        ("https://", false),
        ("http:///path", false),
        ("/relative/path", false),
        ("shop.example", false),
        ("", false),
        ("https://shop.example/" + String(repeating: "a", count: HTTPURL.maxLength), false),
    ])
    func acceptsOnlyAbsoluteHTTPURLsWithAHost(_ text: String, _ accepted: Bool) {
        #expect((HTTPURL(text) != nil) == accepted, "\(text.prefix(60))")
    }

    @Test(arguments: [
        ("callback_url", #""callback_url":"ftp://hooks.example/x""#),
        ("callback_url", #""callback_url":"https://""#),
        ("redirect_url", #""hosted":true,"redirect_url":"javascript:alert(1)""#),
        ("redirect_url", #""hosted":true,"redirect_url":"https://shop.example/\#(String(repeating: "a", count: 2048))""#),
    ])
    func aStartWithABadURLIsRefusedNamingTheField(_ field: String, _ member: String) async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: #"{"to":"0975000888","channel":"sms",\#(member)}"#.buffer) { r in
                #expect(r.status == .badRequest)
                #expect(r.body.json["code"] as? String == "invalid_request")
                #expect(r.body.json["detail"] as? String == "\(field) must be an absolute http or https URL.")
            }
        }
        #expect(t.core.sms.outbox.isEmpty, "nothing was sent")
    }

    /// The dev controller's outbox (`--mode dev`) lists what the console driver sent.
    @Test func devModeServesTheOutbox() async throws {
        let t = try await TestCore { $0.devMode = true }
        try await t.app().test(.router) { client in
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                #expect(r.status == .created)
            }
            try await client.execute(uri: "/dev/outbox", method: .get) { r in
                #expect(r.status == .ok)
                let list = (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [[String: Any]]
                #expect(list?.count == 1)
                #expect((list?.first?["to"] as? String)?.hasSuffix("975000888") == true)
            }
        }
    }
}
