import Foundation
import Logging
import NIOCore
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// A core restart in the middle of a call loses no outcome: the gateway keeps it until the core
/// that comes back acknowledges it — in its journal, so a gateway restart meanwhile loses none either.
@Suite("Core restart mid-call", .serialized)
struct ResilienceTests {
    @Test("the core goes away while a missed call rings; its outcome waits in the gateway and is delivered when the core is back",
          arguments: [false, true])
    func outcomeSurvivesCoreRestart(restartGatewayToo: Bool) async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let test = try await TestCore.start("restart", policy: VerificationPolicy(defaultRegion: "TW", systemNumbers: [MissedCallTests.systemNumber]))
        defer { test.removeDirectory() }
        let (core, store, directory, socket, logger) = (test.core, test.store, test.directory, test.socket, test.logger)
        let first = Task { try? await core.gatewaySocketServer(path: socket).run() }

        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]), logger: logger)
        let journalPath = directory.appendingPathComponent("gateway.journal").path
        let gateway = VoiceGatewayService(endpoint: endpoint, coreSocket: socket, configuration: .test(ringTime: .seconds(2)),
                                          journal: try OutcomeJournal(path: journalPath), logger: logger)
        let running = Task { await gateway.run() }
        await gateway.link.waitUntilConnected()

        let started = try await core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(await endpoint.udpAddresses[0].port!)", "-i", "127.0.0.1",
             "-p", "0", "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([["0975000888", MissedCallTests.systemNumber]])],
            name: "sipp-restart"
        )
        // Decided at the INVITE (over UDP nothing is approved yet); the core then stops while the phone still rings.
        #expect(try await eventuallyTrue { gateway.link.journal.openCalls == 1 })
        first.cancel()
        await first.value
        #expect(try await eventuallyTrue { !gateway.link.isConnected })
        #expect(await sipp.exitStatus() == 0, "\(sipp.tail())")
        // SIPp's ACK of the 603 proved the caller, and the call ended, while the core was away: both
        // outcomes (call_proven, call_ended) are kept; nothing is approved yet.
        #expect(try await eventuallyTrue { gateway.link.unacknowledgedOutcomes == 2 })
        #expect(try await core.service.verification(id: started.verification.id).status == .pending)

        // Optionally the gateway restarts too, while the core is still away: a new process would
        // have nothing but the journal.
        var current = (gateway: gateway, endpoint: endpoint, running: running)
        if restartGatewayToo {
            await endpoint.shutdown()
            running.cancel()
            await running.value
            let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]), logger: logger)
            let restarted = VoiceGatewayService(endpoint: endpoint, coreSocket: socket, configuration: .test(ringTime: .seconds(2)),
                                                journal: try OutcomeJournal(path: journalPath), logger: logger)
            #expect(restarted.link.unacknowledgedOutcomes == 2, "the outcomes came back from the journal")
            current = (restarted, endpoint, Task { await restarted.run() })
        }

        let second = Task { try? await core.gatewaySocketServer(path: socket).run() }
        await current.gateway.link.waitUntilConnected()
        #expect(try await eventuallyTrue { current.gateway.link.unacknowledgedOutcomes == 0 }, "the outcomes were resent and acknowledged")
        #expect(current.gateway.link.journal.pendingOutcomes == 0)
        // The proof survived the link (and the gateway's restart): the core approves on it now.
        #expect(try await core.service.verification(id: started.verification.id).status == .approved)

        await sipp.stop()
        await current.endpoint.shutdown()
        current.running.cancel()
        second.cancel()
        await current.running.value
        await second.value
        try await store.shutdown()
    }
}
