import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import Verification
@testable import VerificationServer

/// A resolver the test scripts: each lookup of a name takes its next answer (the last one repeats).
final class ScriptedResolver: WebhookResolver {
    let answers: Mutex<[String: [[String]]]>
    let lookups = Mutex<[String]>([])
    init(_ answers: [String: [[String]]]) { self.answers = Mutex(answers) }

    func addresses(of host: String) async throws -> [[UInt8]] {
        lookups.withLock { $0.append(host) }
        let answer = answers.withLock { table -> [String] in
            guard var list = table[host], !list.isEmpty else { return [] }
            let first = list.count > 1 ? list.removeFirst() : list[0]
            table[host] = list
            return first
        }
        guard !answer.isEmpty else { throw SystemWebhookResolver.LookupFailed(description: "no such host \(host)") }
        return answer.map { WebhookAddressPolicy.parse($0)! }
    }
}

/// Issue 12 item 5: a `callback_url` cannot aim the server inside its network. Refused at the API
/// for literal addresses and `localhost`, and at every attempt on the address the name resolves
/// to then (DNS rebinding), never followed through a redirect; `--allow-private-webhooks` lifts it.
@Suite struct WebhookDestinationTests {
    let secret = Array("webhook signing key of 32 bytes!".utf8)
    var logger: Logger { var l = Logger(label: "test"); l.logLevel = .critical; return l }

    func enqueue(_ store: MemoryStore, url: String, at: Date) async {
        await store.updateWebhook(WebhookDelivery(id: "WH1", verificationID: "VE1", url: url, body: #"{"id":"VE1","status":"approved"}"#, createdAt: at))
    }

    /// The last attempt's error of WH1.
    func lastError(_ store: MemoryStore) async -> String? {
        await store.dueWebhooks(now: .distantFuture, limit: 10).first?.lastError
    }

    // MARK: The classifier

    @Test("the address classifier: every reserved range refused at its edges, public neighbours allowed", arguments: [
        // IPv4: each range's first and last address, and the public address just outside.
        ("0.0.0.0", "\"this network\""), ("0.255.255.255", "\"this network\""), ("1.0.0.0", nil),
        ("9.255.255.255", nil), ("10.0.0.0", "private"), ("10.255.255.255", "private"), ("11.0.0.0", nil),
        ("100.63.255.255", nil), ("100.64.0.0", "carrier-grade NAT"), ("100.127.255.255", "carrier-grade NAT"), ("100.128.0.0", nil),
        ("126.255.255.255", nil), ("127.0.0.1", "loopback"), ("127.255.255.255", "loopback"), ("128.0.0.0", nil),
        ("169.253.255.255", nil), ("169.254.0.0", "link-local"), ("169.254.169.254", "cloud metadata"), ("169.254.255.255", "link-local"), ("169.255.0.0", nil),
        ("172.15.255.255", nil), ("172.16.0.0", "private"), ("172.31.255.255", "private"), ("172.32.0.0", nil),
        ("192.0.0.0", "IETF protocol"), ("192.0.2.1", "TEST-NET-1"), ("192.0.3.0", nil), ("192.88.99.1", "6to4 relay"),
        ("192.167.255.255", nil), ("192.168.0.0", "private"), ("192.168.255.255", "private"), ("192.169.0.0", nil),
        ("198.17.255.255", nil), ("198.18.0.0", "benchmarking"), ("198.19.255.255", "benchmarking"), ("198.20.0.0", nil),
        ("198.51.100.7", "TEST-NET-2"), ("203.0.113.9", "TEST-NET-3"), ("8.8.8.8", nil), ("93.184.215.14", nil),
        ("223.255.255.255", nil), ("224.0.0.1", "multicast"), ("239.255.255.255", "multicast"), ("240.0.0.0", "reserved"),
        ("255.255.255.254", "reserved"), ("255.255.255.255", "broadcast"),
        // IPv6.
        ("::", "unspecified"), ("::1", "loopback"), ("::2", "IPv4-compatible"), ("::127.0.0.1", "IPv4-compatible"),
        ("fe80::1", "link-local"), ("febf:ffff::1", "link-local"), ("fec0::1", "site-local"),
        ("fc00::1", "unique-local"), ("fdff:ffff::1", "unique-local"), ("fd00:ec2::254", "cloud metadata"),
        ("ff02::1", "multicast"), ("ff0e::1", "multicast"), ("2001:db8::1", "documentation"), ("3fff::1", "documentation"),
        ("2001::1", "IETF protocol"), ("2001:1ff:ffff::1", "IETF protocol"), ("2001:200::1", nil),
        ("100::1", "discard-only"), ("5f00::1", "SRv6"), ("4000::1", "not global unicast"), ("1fff:ffff::1", "not global unicast"),
        ("2606:4700:4700::1111", nil), ("2a00:1450:4001:80b::200e", nil), ("3ffe:ffff::1", nil),
        // IPv4 inside IPv6: judged by the IPv4 address.
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "cloud metadata"), ("::ffff:10.1.2.3", "private"),
        ("::ffff:0.0.0.0", "\"this network\""), ("::ffff:100.64.0.1", "carrier-grade NAT"), ("::ffff:8.8.8.8", nil),
        ("64:ff9b::127.0.0.1", "loopback"), ("64:ff9b::8.8.8.8", nil), ("64:ff9b:1::1", "local-use NAT64"),
        ("2002:7f00:1::1", "loopback"), ("2002:a9fe:a9fe::1", "cloud metadata"), ("2002:808:808::1", nil),
        ("[::1]", "loopback"), ("fe80::1%eth0", "link-local"),
    ] as [(String, String?)])
    func classifier(address: String, refused: String?) throws {
        let bytes = try #require(WebhookAddressPolicy.parse(address), "\(address) parses")
        let refusal = WebhookAddressPolicy.refusal(for: bytes)
        if let refused {
            let found = try #require(refusal, "\(address) must be refused as \(refused)")
            #expect(found.description.contains(refused), "\(address): \(found)")
        } else {
            #expect(refusal == nil, "\(address) is public, refused as \(refusal.map(\.description) ?? "")")
        }
    }

    @Test func embeddedIPv4IsNamed() throws {
        #expect(WebhookAddressPolicy.refusal(for: try #require(WebhookAddressPolicy.parse("::ffff:127.0.0.1")))?.description
                == "loopback (RFC 1122) in IPv4-mapped ::ffff:0:0/96 (127.0.0.0/8)")
        #expect(WebhookAddressPolicy.refusal(for: try #require(WebhookAddressPolicy.parse("64:ff9b::a00:1")))?.name.hasSuffix("in NAT64 64:ff9b::/96") == true)
        #expect(WebhookAddressPolicy.refusal(for: [1, 2, 3]) != nil, "neither 4 nor 16 bytes")
    }

    @Test func namesAreNotLiterals() {
        for name in ["example.com", "127.1", "2130706433", "0x7f000001", "localhost", ""] {
            #expect(WebhookAddressPolicy.parse(name) == nil, "\(name) goes to the resolver, which is checked")
        }
        #expect(WebhookAddressPolicy.isLocalhostName("LocalHost."))
        #expect(WebhookAddressPolicy.isLocalhostName("app.localhost"))
        #expect(!WebhookAddressPolicy.isLocalhostName("localhost.example.com"))
    }

    @Test func systemResolverAnswersLoopbackForLocalhost() async throws {
        let addresses = try await SystemWebhookResolver().addresses(of: "localhost")
        #expect(!addresses.isEmpty && addresses.allSatisfy { WebhookAddressPolicy.refusal(for: $0)?.name.contains("loopback") == true }, "\(addresses)")
        await #expect(throws: SystemWebhookResolver.LookupFailed.self) { try await SystemWebhookResolver().addresses(of: "no-such-host.invalid") }
    }

    // MARK: At the API

    @Test("a callback_url to a literal private address or localhost is refused at start with 400 invalid_request")
    func refusedAtStart() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            for url in ["http://127.0.0.1:8080/hook", "http://localhost/hook", "https://LOCALHOST./x", "http://[::1]:9/hook",
                        "http://[::ffff:169.254.169.254]/latest/meta-data", "http://169.254.169.254/", "http://10.0.0.7/hook",
                        "http://192.168.1.1/", "http://[fd00:ec2::254]/", "http://0.0.0.0:80/", "http://100.64.0.1/", "http://[fe80::1]/"] {
                let body = #"{"to":"0975000888","channel":"sms","callback_url":"\#(url)"}"#
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .badRequest, "\(url)")
                    #expect(r.body.json["code"] as? String == "invalid_request", "\(url)")
                    let detail = r.body.json["detail"] as? String ?? ""
                    #expect(detail.contains("callback_url must reach a public address") && detail.contains("--allow-private-webhooks"), "\(url): \(detail)")
                }
            }
            #expect(t.core.sms.outbox.isEmpty, "nothing was started")
            // A public literal and a name pass here (the name is checked when it is resolved).
            for (number, url) in [("0975000881", "https://93.184.215.14/hook"), ("0975000882", "https://hooks.example.com/hook")] {
                let body = #"{"to":"\#(number)","channel":"sms","callback_url":"\#(url)"}"#
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .created || r.status == .ok, "\(url): \(String(buffer: r.body))")
                }
            }
        }
        let allowed = try await TestCore { $0.webhooks.allowPrivateAddresses = true }
        try await allowed.app().test(.router) { client in
            let body = #"{"to":"0975000888","channel":"sms","callback_url":"http://127.0.0.1:8080/hook"}"#
            try await client.execute(uri: "/v1/verifications", method: .post, headers: allowed.auth, body: ByteBuffer(string: body)) { r in
                #expect(r.status == .created, "--allow-private-webhooks lets it start")
            }
        }
    }

    // MARK: At delivery

    /// A name that resolves to loopback is not connected to: the receiver listening there sees nothing.
    @Test func nameResolvingToLoopbackIsNeverConnected() async throws {
        let receiver = Receiver(script: [])
        try await Application(router: receiver.router()).test(.live) { client async throws in
            let port = client.port!
            for (host, answer) in [("hooks.test", ["127.0.0.1"]), ("v6.test", ["::1"]), ("mixed.test", ["93.184.215.14", "127.0.0.1"]),
                                   ("mapped.test", ["::ffff:127.0.0.1"])] {
                let store = MemoryStore()
                let clock = ManualClock()
                await enqueue(store, url: "http://\(host):\(port)/hook", at: clock.now())
                var config = WebhookDispatcher.Configuration()
                let resolver = ScriptedResolver([host: [answer]])
                config.resolver = resolver
                let dispatcher = WebhookDispatcher(store: store, secret: secret, configuration: config, clock: clock, logger: logger)
                #expect(try await dispatcher.deliverDue() == 0)
                #expect(resolver.lookups.withLock { $0 } == [host])
                let error = await lastError(store) ?? ""
                #expect(error.contains("resolves to") && error.contains("not connected"), "\(host): \(error)")
            }
            // `localhost` by name: refused before any lookup.
            let store = MemoryStore()
            let clock = ManualClock()
            await enqueue(store, url: "http://localhost:\(port)/hook", at: clock.now())
            let dispatcher = WebhookDispatcher(store: store, secret: secret, clock: clock, logger: logger)
            #expect(try await dispatcher.deliverDue() == 0)
            #expect(await store.dueWebhooks(now: .distantFuture, limit: 10).isEmpty, "a literal refusal is final")
            #expect(receiver.hits.withLock { $0.count } == 0, "the loopback receiver never saw a request")
        }
    }

    /// DNS rebinding through the whole core: the name passes at start (it is not resolved there),
    /// and when the webhook is due it resolves to loopback: refused, nothing reaches the receiver;
    /// with the flag the same name reaches it, pinned to the checked address with Host kept.
    @Test func rebindingToLoopbackAfterTheStartIsRefused() async throws {
        let receiver = Receiver(script: [])
        try await Application(router: receiver.router()).test(.live) { hookClient async throws in
            let port = hookClient.port!
            for allow in [false, true] {
                let resolver = ScriptedResolver(["rebind.test": [["127.0.0.1"]]])
                let t = try await TestCore {
                    $0.webhooks.resolver = resolver
                    $0.webhooks.allowPrivateAddresses = allow
                }
                try await t.app().test(.router) { client in
                    let body = #"{"to":"0975000888","channel":"sms","callback_url":"http://rebind.test:\#(port)/hook"}"#
                    let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                        #expect(r.status == .created)
                        return r.body.json["id"] as? String ?? ""
                    }
                    try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth,
                                             body: ByteBuffer(string: #"{"code":"\#(t.sentCode(id) ?? "")"}"#)) { r in
                        #expect(r.body.json["status"] as? String == "approved")
                    }
                }
                #expect(try await t.core.webhooks.deliverDue() == (allow ? 1 : 0))
                #expect(resolver.lookups.withLock { $0 } == ["rebind.test"], "resolved once, by the dispatcher")
                if !allow {
                    #expect(receiver.hits.withLock { $0.count } == 0, "the refused webhook never connected")
                    let pending = await t.store.dueWebhooks(now: .distantFuture, limit: 10)
                    #expect(pending.first?.lastError?.contains("resolves to 127.0.0.1, loopback") == true, "\(pending)")
                }
            }
            let hit = try #require(receiver.hits.withLock { $0.first })
            #expect(hit.host == "rebind.test:\(port)", "the Host header names the URL's host, not the pinned address")
            #expect(receiver.hits.withLock { $0.count } == 1)
        }
    }

    /// A 3xx is a failed attempt: the target of the redirect (loopback) sees nothing.
    @Test func redirectsAreNotFollowed() async throws {
        let target = Receiver(script: [])
        try await Application(router: target.router()).test(.live) { targetClient async throws in
            let redirects = Mutex(0)
            let router = Router()
            router.post("/hook") { _, _ -> Response in
                redirects.withLock { $0 += 1 }
                return Response(status: .init(code: 307), headers: [.location: "http://127.0.0.1:\(targetClient.port!)/hook"])
            }
            try await Application(router: router).test(.live) { client async throws in
                let store = MemoryStore()
                let clock = ManualClock()
                await enqueue(store, url: "http://public.test:\(client.port!)/hook", at: clock.now())
                var config = WebhookDispatcher.Configuration()
                // The first hop is let through (it has to listen somewhere in a test); the redirect is not followed anyway.
                config.allowPrivateAddresses = true
                config.resolver = ScriptedResolver(["public.test": [["127.0.0.1"]]])
                let dispatcher = WebhookDispatcher(store: store, secret: secret, configuration: config, clock: clock, logger: logger)
                #expect(try await dispatcher.deliverDue() == 0)
                #expect(redirects.withLock { $0 } == 1)
                #expect(target.hits.withLock { $0.count } == 0, "the redirect's target never saw a request")
                let error = await lastError(store) ?? ""
                #expect(error.contains("HTTP 307") && error.contains("redirects are not followed"), "\(error)")
            }
        }
    }
}
