// RFC 3263 server location through c-ares against a real dnsmasq on loopback (docs/TESTING.md,
// "dnsmasq"): NAPTR → SRV → A, SRV only, A only, NXDOMAIN, REFUSED, a silent server, the cache.
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import VoiceGateway

/// A dnsmasq serving only the records given, on 127.0.0.1 at a free port; `--local=/test/` makes
/// it authoritative for `test.` (NXDOMAIN for unknown names there), and with no upstream it refuses
/// every other name.
final class Dnsmasq: @unchecked Sendable {
    static let path = "/usr/sbin/dnsmasq"
    let process: ChildProcess
    let port: Int
    let log: URL

    /// Starts dnsmasq, or returns nil when it is not installed (an issue, so a failure, with
    /// `CI=true`). A port taken between our check and dnsmasq's bind makes it exit; then another
    /// port is tried.
    static func start(_ records: [String], ttl: Int = 60) async throws -> Dnsmasq? {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("\(path) is missing: apt-get install -y dnsmasq-base") }
            return nil
        }
        for _ in 0..<5 {
            let server = try await Dnsmasq(records, ttl: ttl, port: freeUDPPort())
            let settled = try await eventually(.seconds(10)) { server.started || !server.process.isRunning }
            if settled, server.started, server.process.isRunning { return server }
            await server.stop()
        }
        throw DnsmasqError.couldNotStart
    }

    enum DnsmasqError: Error { case couldNotStart }

    private init(_ records: [String], ttl: Int, port: Int) async throws {
        self.port = port
        let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        log = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-dnsmasq-\(unique).log")
        process = try await ChildProcess(Self.path, [
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(port)",
            "--pid-file=" + FileManager.default.temporaryDirectory.appendingPathComponent("verigate-dnsmasq-\(unique).pid").path,
            "--local=/test/", "--local-ttl=\(ttl)", "--log-facility=-", "--log-queries",
        ] + records, log: log)
    }

    /// dnsmasq logs "started" once its sockets are bound.
    var started: Bool { output.contains("started, version") }

    /// What dnsmasq logged.
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// `127.0.0.1:port`, as `dns_server` takes it.
    var server: String { "127.0.0.1:\(port)" }

    /// Kills it and waits until it is gone.
    func stop() async {
        process.signal(SIGKILL)
        _ = await process.exitStatus()
        try? FileManager.default.removeItem(at: log)
    }

    static func freeUDPPort() throws -> Int {
        let channel = try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }
}

/// A clock the test moves.
final class ManualClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
}

@Suite("RFC 3263 server location against dnsmasq", .timeLimit(.minutes(2)))
struct SIPServerLocatorTests {
    /// trunk.test as providers publish it: NAPTR for UDP (order 10) and TCP (order 20), and a
    /// SIPS one (order 5) we cannot use yet; SRV for UDP with two priorities, for TCP one target.
    /// srv.test: SRV only. plain.test: A only. gone.test: SRV target "." (not offered).
    static let records = [
        "--naptr-record=trunk.test,5,50,s,SIPS+D2T,,_sips._tcp.trunk.test",
        "--naptr-record=trunk.test,20,50,s,SIP+D2T,,_sip._tcp.trunk.test",
        "--naptr-record=trunk.test,10,50,s,SIP+D2U,,_sip._udp.trunk.test",
        "--srv-host=_sip._udp.trunk.test,two.trunk.test,5072,20,0",
        "--srv-host=_sip._udp.trunk.test,one.trunk.test,5070,10,0",
        "--srv-host=_sip._tcp.trunk.test,one.trunk.test,5071,10,0",
        "--srv-host=_sips._tcp.trunk.test,one.trunk.test,5061,10,0",
        "--host-record=one.trunk.test,127.0.0.2,30",
        "--host-record=two.trunk.test,127.0.0.3,::1",
        "--host-record=trunk.test,127.0.0.9",
        "--srv-host=_sip._tcp.srv.test,host.srv.test,5080,0,0",
        "--host-record=host.srv.test,127.0.0.4",
        "--host-record=plain.test,127.0.0.5",
        "--srv-host=_sip._udp.gone.test",
    ]

    static func peer(_ transport: SIPTransportProtocol, _ ip: String, _ port: Int) -> SIPPeer {
        SIPPeer(transport, try! SocketAddress(ipAddress: ip, port: port))
    }

    /// Runs `body` with a resolver asking a fresh dnsmasq (0.5 s per try, 2 tries).
    func withDNS(_ body: (Dnsmasq, DNSResolver) async throws -> Void) async throws {
        guard let dnsmasq = try await Dnsmasq.start(Self.records) else { return }
        let resolver = try DNSResolver(.init(server: dnsmasq.server, timeout: .milliseconds(500), tries: 2))
        do {
            try await body(dnsmasq, resolver)
        } catch {
            Issue.record("dnsmasq said:\n\(dnsmasq.output)")
            resolver.shutdown()
            await dnsmasq.stop()
            throw error
        }
        resolver.shutdown()
        await dnsmasq.stop()
    }

    @Test("a name alone: NAPTR (SIPS skipped, by order) → SRV (by priority) → A/AAAA, with TTLs")
    func naptrSRVAddress() async throws {
        try await withDNS { _, resolver in
            let targets = try await SIPServerLocator(dns: resolver).locate(host: "trunk.test")
            #expect(targets.map(\.peer) == [
                Self.peer(.udp, "127.0.0.2", 5070), Self.peer(.udp, "127.0.0.3", 5072), Self.peer(.udp, "::1", 5072),
                Self.peer(.tcp, "127.0.0.2", 5071),
            ])
            #expect(targets.map(\.host) == ["one.trunk.test", "two.trunk.test", "two.trunk.test", "one.trunk.test"])
            // one.trunk.test's A record has TTL 30, everything else the --local-ttl 60.
            #expect(targets.map(\.ttl) == [30, 60, 60, 30])
        }
    }

    @Test("the resolver returns the records themselves: NAPTR fields, SRV fields, TTL")
    func rawRecords() async throws {
        try await withDNS { _, resolver in
            let naptr = try await resolver.naptr("trunk.test")
            #expect(Set(naptr.records) == [
                NAPTRRecord(order: 5, preference: 50, flags: "s", service: "SIPS+D2T", replacement: "_sips._tcp.trunk.test"),
                NAPTRRecord(order: 10, preference: 50, flags: "s", service: "SIP+D2U", replacement: "_sip._udp.trunk.test"),
                NAPTRRecord(order: 20, preference: 50, flags: "s", service: "SIP+D2T", replacement: "_sip._tcp.trunk.test"),
            ])
            #expect(naptr.ttl == 60)
            let srv = try await resolver.srv("_sip._udp.trunk.test")
            #expect(Set(srv.records) == [SRVRecord(priority: 10, weight: 0, port: 5070, target: "one.trunk.test"), SRVRecord(priority: 20, weight: 0, port: 5072, target: "two.trunk.test")])
        }
    }

    @Test("no NAPTR: SRV per transport; with a transport: only its SRV; with a port: only A/AAAA")
    func srvAndPortRules() async throws {
        try await withDNS { _, resolver in
            let locator = SIPServerLocator(dns: resolver)
            let found1 = try await locator.locate(host: "srv.test")
            #expect(found1.map(\.peer) == [Self.peer(.tcp, "127.0.0.4", 5080)])
            let found2 = try await locator.locate(host: "trunk.test", transport: .tcp)
            #expect(found2.map(\.peer) == [Self.peer(.tcp, "127.0.0.2", 5071)])
            let found3 = try await locator.locate(host: "trunk.test", port: 5090)
            #expect(found3.map(\.peer) == [Self.peer(.udp, "127.0.0.9", 5090)])
            let found4 = try await locator.locate(host: "plain.test")
            #expect(found4.map(\.peer) == [Self.peer(.udp, "127.0.0.5", 5060)])
            let found5 = try await locator.locate(host: "plain.test", transport: .tcp)
            #expect(found5.map(\.peer) == [Self.peer(.tcp, "127.0.0.5", 5060)])
        }
    }

    @Test("a literal IP is its own target and asks no DNS at all")
    func literalIP() async throws {
        // A resolver whose server never answers: any query would end in a timeout error.
        let silent = try await SilentServer.start()
        let resolver = try DNSResolver(.init(server: silent.server, timeout: .milliseconds(200), tries: 1))
        let locator = SIPServerLocator(dns: resolver)
        let found6 = try await locator.locate(host: "192.0.2.7")
        #expect(found6.map(\.peer) == [Self.peer(.udp, "192.0.2.7", 5060)])
        let found7 = try await locator.locate(host: "[2001:db8::1]", port: 5070, transport: .tcp)
        #expect(found7.map(\.peer) == [Self.peer(.tcp, "2001:db8::1", 5070)])
        #expect(silent.received == 0)
        resolver.shutdown()
        try await silent.close()
    }

    @Test("specific errors: NXDOMAIN, REFUSED, service not offered, invalid name")
    func errors() async throws {
        try await withDNS { _, resolver in
            let locator = SIPServerLocator(dns: resolver)
            await #expect(throws: DNSError.nonexistentDomain("missing.test")) { try await locator.locate(host: "missing.test") }
            await #expect(throws: DNSError.noRecords("plain.test", .srv)) { try await resolver.srv("plain.test") }
            await #expect(throws: DNSError.refused("example.org")) { try await resolver.addresses("example.org", .a) }
            await #expect(throws: DNSError.serviceNotOffered("_sip._udp.gone.test")) { try await locator.locate(host: "gone.test", transport: .udp) }
            let long = String(repeating: "a", count: 64) + ".test"
            await #expect(throws: DNSError.invalidName(long)) { try await locator.locate(host: long) }
        }
    }

    @Test("a server that never answers: a timeout error, after the configured tries")
    func silentServerTimesOut() async throws {
        let silent = try await SilentServer.start()
        let resolver = try DNSResolver(.init(server: silent.server, timeout: .milliseconds(300), tries: 2))
        await #expect(throws: DNSError.timeout("trunk.test")) { try await SIPServerLocator(dns: resolver).locate(host: "trunk.test") }
        #expect(silent.received == 2, "one query per try")
        resolver.shutdown()
        try await silent.close()
    }

    @Test("a bad server address is refused at start; a query after shutdown fails, never hangs")
    func configurationAndShutdown() async throws {
        #expect(throws: DNSError.invalidServer("dns.example:53")) { try DNSResolver(.init(server: "dns.example:53")) }
        let resolver = try DNSResolver(.init(server: "127.0.0.1:9"))
        resolver.shutdown()
        await #expect(throws: DNSError.shutDown) { try await resolver.srv("_sip._udp.trunk.test") }
    }

    @Test("the cache answers within the TTL without asking, and asks again after it")
    func cacheHonoursTTL() async throws {
        guard let dnsmasq = try await Dnsmasq.start(Self.records) else { return }
        let resolver = try DNSResolver(.init(server: dnsmasq.server, timeout: .milliseconds(300), tries: 1))
        defer { resolver.shutdown() }
        let clock = ManualClock()
        let locator = SIPServerLocator(dns: DNSCache(resolver, now: { clock.now }))
        let first = try await locator.locate(host: "trunk.test")
        #expect(first.count == 4)
        // The server is gone: only the cache can answer now.
        await dnsmasq.stop()
        clock.advance(.seconds(29))
        let cached = try await locator.locate(host: "trunk.test")
        #expect(cached.map(\.peer) == first.map(\.peer))
        #expect(cached.map(\.ttl) == [1, 31, 31, 1], "TTLs count down in the cache")
        // Past one.trunk.test's 30 s its A record must be asked again, and the server is gone.
        clock.advance(.seconds(2))
        await #expect(throws: DNSError.self) { try await locator.locate(host: "trunk.test") }
        do {
            _ = try await locator.locate(host: "trunk.test")
        } catch {
            #expect(!error.isAbsence, "a server problem, not a missing name: \(error)")
        }
    }
}

/// A UDP socket on loopback that reads queries and never answers.
final class SilentServer: Sendable {
    private let channel: any Channel
    private let counter: Counter

    final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let count = Mutex(0)
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { count.withLock { $0 += 1 } }
    }

    static func start() async throws -> SilentServer {
        let counter = Counter()
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) } }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel, counter: counter)
    }

    private init(channel: any Channel, counter: Counter) {
        self.channel = channel
        self.counter = counter
    }

    var server: String { "127.0.0.1:\(channel.localAddress!.port!)" }
    var received: Int { counter.count.withLock { $0 } }
    func close() async throws { try await channel.close() }
}
