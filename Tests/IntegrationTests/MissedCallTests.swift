import Foundation
import GatewayProtocol
import Logging
import NIOCore
import RTP
import SIPStack
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// The missed_call method end to end: core (SQLite) ↔ gateway socket ↔ voice gateway ↔ SIPp
/// calling with `sipp/callin-missed.xml`. The verification is approved while the phone rings; the
/// call is rejected with 603 and never answered. A caller with nothing pending gets 404.
@Suite("missed_call end to end with SIPp", .serialized)
struct MissedCallTests {
    static let systemNumber = "+886229996666"

    /// Core, socket server, SIP endpoint and gateway, all on loopback in a temp dir.
    final class Stack: Sendable {
        let core: Core
        let store: SQLVerificationStore
        let endpoint: SIPEndpoint
        let gateway: VoiceGatewayService
        let media: GatewayMedia?
        let tasks: Task<Void, Never>
        let directory: URL

        /// `trustFrom`: loopback vouches for its From (sip.conf `trust_from = yes`), so test phones
        /// that send no P-Asserted-Identity are `asserted`; CallerProofTests turns it off.
        init(ringTime: Duration = .milliseconds(1_500), media: GatewayMedia? = nil, outboundTarget: String? = nil, timers: SIPTimers = .rfc3261,
             trustFrom: Bool = true, voiceCallKeypress: Bool = true, mediaLatching: RTPLatching = .off, sessionTimer: SessionTimer.Settings = SessionTimer.Settings(),
             tls: SIPTLSSettings? = nil, inProcess: Bool = false,
             configure: (inout GatewayConfiguration) -> Void = { _ in }, configurePolicy: (inout VerificationPolicy) -> Void = { _ in }) async throws {
            var policy = VerificationPolicy(defaultRegion: "TW", systemNumbers: [MissedCallTests.systemNumber])
            policy.limits.resendInterval = 0
            policy.limits.callRetryDelay = 0.3
            configurePolicy(&policy)
            let test = try await TestCore.start("missed", policy: policy, voiceCallKeypress: voiceCallKeypress)
            (core, store, directory) = (test.core, test.store, test.directory)
            let (socket, logger) = (test.socket, test.logger)
            self.media = media
            // In process (as `verigate serve` joins them): no socket at all, the messages passed as values.
            let link = InProcessGatewayLink()
            let (inProcessServer, socketServer) = (core.gatewayInProcessServer(link: link), core.gatewaySocketServer(path: socket))
            let serve: @Sendable () async throws -> Void
            if inProcess {
                serve = { try await inProcessServer.run() }
            } else {
                serve = { try await socketServer.run() }
            }
            let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
            endpoint = try await SIPEndpoint.start(
                SIPEndpointConfiguration(udp: [loopback], tcp: [loopback], tls: tls == nil ? [] : [loopback], tlsSettings: tls, timers: timers, sessionTimer: sessionTimer),
                logger: logger)
            var configuration = GatewayConfiguration.test(ringTime: ringTime, outboundTarget: outboundTarget, trustFrom: trustFrom, mediaLatching: mediaLatching)
            configure(&configuration)
            gateway = VoiceGatewayService(endpoint: endpoint, core: inProcess ? .inProcess(link) : .socket(path: socket), configuration: configuration, media: media,
                                          logger: logger)
            let gateway = gateway
            let sweeper = core.sweeper
            tasks = Task {
                await withDiscardingTaskGroup { group in
                    group.addTask { try? await serve() }
                    group.addTask { await gateway.run() }
                    group.addTask { await sweeper.run() }
                }
            }
            await gateway.link.waitUntilConnected()
        }

        var sipPort: Int { get async { await endpoint.udpAddresses[0].port! } }
        var sipTCPPort: Int { get async { await endpoint.tcpAddresses[0].port! } }
        var sipTLSPort: Int { get async { await endpoint.tlsAddresses[0].port! } }

        func stop() async {
            await endpoint.shutdown()
            tasks.cancel()
            await tasks.value
            try? await store.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Runs the missed-call scenario once from `caller`; returns SIPp's status and the final response it got.
    private func sippCall(port: Int, caller: String) async throws -> (status: Int32, finalResponse: Int?, output: String) {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-missed-msgs-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0",
             "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([[caller, Self.systemNumber]]),
             "-trace_msg", "-message_file", trace.path],
            name: "sipp-missed"
        )
        let status = await sipp.exitStatus()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        let final = [404, 603].first { messages.contains("SIP/2.0 \($0) ") }
        let output = sipp.tail()
        await sipp.stop()
        return (status, final, output)
    }

    @Test("a pending missed_call is approved by the call, which rings and gets 603 without being answered (gateway over the socket; in process)",
          arguments: [false, true])
    func missedCallApproves(inProcess: Bool) async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let stack = try await Stack(inProcess: inProcess)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        #expect(started.verification.systemNumber == Self.systemNumber)
        #expect(started.verification.status == .pending)

        let call = try await sippCall(port: await stack.sipPort, caller: "0975000888")
        #expect(call.status == 0, "\(call.output)")
        #expect(call.finalResponse == 603)
        // Over UDP approved once SIPp's ACK of the 603 (with our To tag) proved the round trip (call_proven).
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        // Approved by the caller ID; the usual end of the call (completed) adds no write.
        #expect(try await eventuallyTrue { stack.gateway.link.unacknowledgedOutcomes == 0 })
        let events = try await stack.core.service.events(id: started.verification.id)
        #expect(events.last?.detail == "caller ID matched (asserted), proven by ACK")
        await stack.stop()
    }

    @Test("a caller with nothing pending gets 404 and no verification changes")
    func strangerRejected() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let stack = try await Stack()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let call = try await sippCall(port: await stack.sipPort, caller: "0975111222")
        #expect(call.status == 0, "\(call.output)")
        #expect(call.finalResponse == 404)
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await stack.stop()
    }

    @Test("with the core away the gateway refuses calls at once with 503; once the core is up it serves them")
    func coreAway() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-away-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("gw.sock").path
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]), logger: logger)
        let gateway = VoiceGatewayService(endpoint: endpoint, coreSocket: socket, configuration: .test(), logger: logger)
        let running = Task { await gateway.run() }
        let port = await endpoint.udpAddresses[0].port!
        #expect(try await sippFinalStatus(port: port, caller: "0975000888") == 503)

        // The core starts; the gateway's backoff reconnects it and the same call is now decided (404: nothing pending).
        let store = try await SQLVerificationStore.open(url: directory.appendingPathComponent("v.db").path, logger: logger)
        var configuration = CoreConfiguration()
        configuration.policy = VerificationPolicy(defaultRegion: "TW", systemNumbers: [Self.systemNumber])
        let core = Core(configuration: configuration, store: store, secret: Array(repeating: 7, count: 32), logger: logger)
        let server = core.gatewaySocketServer(path: socket)
        let serving = Task { try? await server.run() }
        await gateway.link.waitUntilConnected()
        #expect(try await sippFinalStatus(port: port, caller: "0975000888") == 404)

        await endpoint.shutdown()
        running.cancel()
        serving.cancel()
        await running.value
        await serving.value
        try await store.shutdown()
    }

    /// One missed-call INVITE from SIPp; the final status it got (404, 503 or 603).
    private func sippFinalStatus(port: Int, caller: String) async throws -> Int? {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-final-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0",
             "-m", "1", "-nostdin", "-timeout", "10s", "-inf", try Peers.injectionFile([[caller, Self.systemNumber]]), "-trace_msg", "-message_file", trace.path],
            name: "sipp-final"
        )
        _ = await sipp.exitStatus()
        await sipp.stop()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        return [404, 503, 603].first { messages.contains("SIP/2.0 \($0) ") }
    }
}

extension GatewayConfiguration {
    /// A gateway configuration for tests: the core gets 15 s to decide (not 2 s), because a test
    /// machine running every suite at once can be that slow, and timing is not what these test.
    /// Loopback is a trusted peer; with `trustFrom` it vouches for From too (test phones send no
    /// P-Asserted-Identity). Approval over UDP waits for the ACK, as by default.
    static func test(name: String = "gateway", ringTime: Duration = .milliseconds(1_500), outboundTarget: String? = nil,
                     systemNumbers: [String] = [], trustFrom: Bool = true, mediaLatching: RTPLatching = .off) -> GatewayConfiguration {
        var loopback = GatewayPeer(name: "loopback", networks: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!], trusted: true, trustFrom: trustFrom)
        loopback.mediaLatching = mediaLatching
        return GatewayConfiguration(name: name, missedCallRingTime: ringTime, coreTimeout: .seconds(15), outboundTarget: outboundTarget,
                                    peers: [loopback], systemNumbers: systemNumbers)
    }
}

/// A core on SQLite in a fresh temporary directory, logging errors only; `socket` is where its
/// gateway socket goes. The caller shuts the store down and removes the directory.
struct TestCore {
    let core: Core
    let store: SQLVerificationStore
    let directory: URL
    let logger: Logger
    var socket: String { directory.appendingPathComponent("gw.sock").path }

    static func start(_ name: String, policy: VerificationPolicy, voiceCallKeypress: Bool = true) async throws -> TestCore {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try await SQLVerificationStore.open(url: directory.appendingPathComponent("v.db").path, logger: logger)
        var configuration = CoreConfiguration()
        configuration.policy = policy
        configuration.voiceCallKeypress = voiceCallKeypress
        let core = Core(configuration: configuration, store: store, secret: Array(repeating: 7, count: 32), logger: logger)
        return TestCore(core: core, store: store, directory: directory, logger: logger)
    }

    func removeDirectory() { try? FileManager.default.removeItem(at: directory) }
}
