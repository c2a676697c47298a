import Foundation
import NIOCore
import NIOPosix
import Prometheus
import SIPStack
import Synchronization
import Testing
import TestSupport
import Verification
import VerificationServer
@testable import VoiceGateway

/// Trunk host names and qualify end to end (README "Connecting a trunk"): dnsmasq on loopback
/// serves NAPTR/SRV/A for `trunk.test` (never the machine's resolver); SIPp plays the provider's
/// servers at the SRV targets; a UDP peer of the test's own answers OPTIONS, then stops.
@Suite("Trunk host names (RFC 3263) and qualify end to end", .serialized, .timeLimit(.minutes(3)))
struct TrunkDNSIntegrationTests {
    /// dnsmasq serving only `records` on 127.0.0.1 at a free port (authoritative for `test.`), or
    /// nil when it is not installed (a failure with `CI=true`).
    static func dnsmasq(_ records: [String]) async throws -> (process: PeerProcess, port: Int)? {
        guard Peers.available("/usr/sbin/dnsmasq", package: "dnsmasq-base") else { return nil }
        for _ in 0..<5 {
            let port = try Peers.freePort()
            let process = try await PeerProcess("/usr/sbin/dnsmasq", [
                "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(port)",
                "--pid-file=" + FileManager.default.temporaryDirectory.appendingPathComponent("verigate-dnsmasq-\(UUID().uuidString.prefix(8)).pid").path,
                "--local=/test/", "--local-ttl=60", "--log-facility=-", "--log-queries",
            ] + records, name: "dnsmasq")
            // dnsmasq logs "started" once bound; a port taken meanwhile makes it exit: try another.
            _ = try await eventuallyTrue(within: .seconds(10)) { process.tail().contains("started, version") || !process.process.isRunning }
            if process.process.isRunning, process.tail().contains("started, version") { return (process, port) }
            await process.stop()
        }
        Issue.record("dnsmasq did not start")
        return nil
    }

    /// The test stack with media on `rtp` and the trunks, routes and dns_server of `conf`.
    static func stack(_ conf: String, rtp: ClosedRange<Int>, timers: SIPTimers = .rfc3261) async throws -> MissedCallTests.Stack {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: rtp), firstDigitTimeout: .seconds(8))
        return try await MissedCallTests.Stack(media: media, timers: timers, configure: try TrunkIntegrationTests.apply(conf))
    }

    static func sippUAS(_ scenario: String, port: Int, trace: URL) async throws -> PeerProcess {
        try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/\(scenario)").path, "-i", "127.0.0.1", "-p", "\(port)", "-mp", "0",
             "-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg", "-message_file", trace.path],
            name: "sipp-\(scenario)"
        )
    }

    static func traceFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("verigate-trunk-dns-\(UUID().uuidString.prefix(8)).log")
    }

    @Test("voice_call via a trunk whose host is a name: NAPTR → SRV → A leads to the SIPp UAS at the SRV target; the Request-URI keeps trunk.test")
    func callByName() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let uasPort = try Peers.freePort()
        guard let dns = try await Self.dnsmasq([
            "--naptr-record=trunk.test,10,50,s,SIP+D2U,,_sip._udp.trunk.test",
            "--srv-host=_sip._udp.trunk.test,uas.trunk.test,\(uasPort),10,0",
            "--host-record=uas.trunk.test,127.0.0.1",
        ]) else { return }
        let conf = """
            [general]
            dns_server = 127.0.0.1:\(dns.port)
            route = +886 -> provider
            [provider]
            type = trunk
            host = trunk.test

            """
        let stack = try await Self.stack(conf, rtp: 61_730...61_780)
        let trace = Self.traceFile()
        defer { try? FileManager.default.removeItem(at: trace) }
        let uas = try await Self.sippUAS("uas-voice.xml", port: uasPort, trace: trace)
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(uasPort) })
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(await uas.exitStatus() == 0, "\(uas.tail())\ndnsmasq: \(dns.process.tail())")
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(messages.contains("INVITE sip:+886975000888@trunk.test SIP/2.0"), "the Request-URI keeps the provider's name: \(messages.prefix(1_500))")
        #expect(messages.contains("To: <sip:+886975000888@trunk.test>"), "\(messages.prefix(1_500))")
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        let log = dns.process.tail(200)
        #expect(log.contains("query[NAPTR] trunk.test") && log.contains("query[SRV] _sip._udp.trunk.test") && log.contains("query[A] uas.trunk.test"), "\(log)")
        await uas.stop()
        await dns.process.stop()
        await stack.stop()
    }

    @Test("SRV failover (RFC 3263 §4.3): the first-priority target answers 503, the second target of the same trunk gets the call and completes it")
    func srvFailover() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let firstPort = try Peers.freePort()
        var secondPort = try Peers.freePort()
        while secondPort == firstPort { secondPort = try Peers.freePort() }
        guard let dns = try await Self.dnsmasq([
            "--srv-host=_sip._udp.trunk.test,first.trunk.test,\(firstPort),10,0",
            "--srv-host=_sip._udp.trunk.test,second.trunk.test,\(secondPort),20,0",
            "--host-record=first.trunk.test,127.0.0.1",
            "--host-record=second.trunk.test,127.0.0.1",
        ]) else { return }
        let conf = """
            [general]
            dns_server = 127.0.0.1:\(dns.port)
            route = +886 -> provider
            [provider]
            type = trunk
            host = trunk.test
            number_format = e164_no_plus

            """
        let stack = try await Self.stack(conf, rtp: 63_286...63_346)
        let traces = [Self.traceFile(), Self.traceFile()]
        defer { for trace in traces { try? FileManager.default.removeItem(at: trace) } }
        let first = try await Self.sippUAS("uas-503.xml", port: firstPort, trace: traces[0])
        let second = try await Self.sippUAS("uas-voice.xml", port: secondPort, trace: traces[1])
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(firstPort) && Peers.udpPortIsBound(secondPort) })
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(await first.exitStatus() == 0, "\(first.tail())")
        #expect(await second.exitStatus() == 0, "\(second.tail())")
        let firstMessages = (try? String(contentsOf: traces[0], encoding: .utf8)) ?? ""
        let secondMessages = (try? String(contentsOf: traces[1], encoding: .utf8)) ?? ""
        #expect(firstMessages.contains("INVITE sip:886975000888@trunk.test SIP/2.0"), "priority 10 first: \(firstMessages.prefix(1_500))")
        #expect(secondMessages.contains("INVITE sip:886975000888@trunk.test SIP/2.0"), "then priority 20: \(secondMessages.prefix(1_500))")
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        #expect(trail.contains("call answered") && !trail.contains { $0.contains("503") }, "the 503 is not the call's outcome: \(trail)")
        await first.stop()
        await second.stop()
        await dns.process.stop()
        await stack.stop()
    }

    @Test("a trunk name that does not resolve (NXDOMAIN) passes the call to the route's next trunk at once")
    func unresolvableNameFailsOver() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let upPort = try Peers.freePort()
        guard let dns = try await Self.dnsmasq(["--host-record=other.test,127.0.0.1"]) else { return }
        let conf = """
            [general]
            dns_server = 127.0.0.1:\(dns.port)
            route = +886 -> gone, up
            [gone]
            type = trunk
            host = missing.test
            [up]
            type = trunk
            host = 127.0.0.1:\(upPort)

            """
        let stack = try await Self.stack(conf, rtp: 61_860...61_920)
        let trace = Self.traceFile()
        defer { try? FileManager.default.removeItem(at: trace) }
        let up = try await Self.sippUAS("uas-voice.xml", port: upPort, trace: trace)
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(upPort) })
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        #expect(await up.exitStatus() == 0, "\(up.tail())")
        #expect(dns.process.tail(200).contains("missing.test"), "the name was asked for: \(dns.process.tail())")
        await up.stop()
        await dns.process.stop()
        await stack.stop()
    }

    @Test("qualify: a trunk that stops answering OPTIONS goes down (verigate_trunk_up 0) and a call's route skips it; it comes back up when it answers again")
    func qualifySkipsDownTrunk() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let responder = try await OptionsResponder.start()
        let upPort = try Peers.freePort()
        let conf = """
            [general]
            route = +886 -> flaky, up
            [flaky]
            type = trunk
            host = 127.0.0.1:\(responder.port)
            qualify = 1
            [up]
            type = trunk
            host = 127.0.0.1:\(upPort)

            """
        // T1 = 50 ms: an unanswered OPTIONS times out after Timer F = 64·T1 = 3.2 s.
        let timers = SIPTimers(t1: .milliseconds(50), t2: .milliseconds(400), t4: .milliseconds(500))
        let stack = try await Self.stack(conf, rtp: 61_930...61_990, timers: timers)
        func trunkUp() -> Double? {
            let registry = PrometheusCollectorRegistry()
            GatewayMetrics(registry: registry, calls: stack.gateway.calls, media: nil, trunks: stack.gateway.trunks).collect()
            return metricValue(registry.emitToString(), #"verigate_trunk_up{trunk="flaky"}"#)
        }
        #expect(try await eventuallyTrue { responder.answered >= 2 }, "OPTIONS pings arrive and are answered")
        #expect(trunkUp() == 1)
        responder.answering = false
        #expect(try await eventuallyTrue(within: .seconds(40)) { trunkUp() == 0 }, "two unanswered pings make it down")
        #expect(stack.gateway.trunks.downTrunks == ["flaky"])

        let trace = Self.traceFile()
        defer { try? FileManager.default.removeItem(at: trace) }
        let up = try await Self.sippUAS("uas-voice.xml", port: upPort, trace: trace)
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(upPort) })
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        let status = await up.exitStatus()
        #expect(status == 0, "\(up.tail())")
        #expect(responder.invites == 0, "the down trunk got no INVITE: the route skipped it")

        responder.answering = true
        #expect(try await eventuallyTrue { trunkUp() == 1 }, "one answer brings it back")
        await up.stop()
        await stack.stop()
        try await responder.close()
    }
}

/// A UDP SIP peer on loopback that answers OPTIONS with 200 while `answering` (RFC 3261 §11.2: Via,
/// From, To, Call-ID and CSeq copied) and counts what it gets; it never answers anything else.
final class OptionsResponder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let state = Mutex((answering: true, answered: 0, invites: 0))
    private var channel: (any Channel)?

    var answering: Bool {
        get { state.withLock { $0.answering } }
        set { state.withLock { $0.answering = newValue } }
    }
    var answered: Int { state.withLock { $0.answered } }
    var invites: Int { state.withLock { $0.invites } }
    var port: Int { channel?.localAddress?.port ?? 0 }

    static func start() async throws -> OptionsResponder {
        let responder = OptionsResponder()
        responder.channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(responder) }
            .bind(host: "127.0.0.1", port: 0).get()
        return responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let text = String(buffer: envelope.data)
        if text.hasPrefix("INVITE ") { state.withLock { $0.invites += 1 } }
        guard text.hasPrefix("OPTIONS "), answering else { return }
        let copied = text.components(separatedBy: "\r\n").filter { line in
            ["via:", "from:", "to:", "call-id:", "cseq:"].contains { line.lowercased().hasPrefix($0) }
        }
        let response = (["SIP/2.0 200 OK"] + copied.map { $0.lowercased().hasPrefix("to:") ? $0 + ";tag=responder" : $0 } + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
        state.withLock { $0.answered += 1 }
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(string: response))), promise: nil)
    }

    func close() async throws {
        try await channel?.close()
    }
}
