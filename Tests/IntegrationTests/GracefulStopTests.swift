import Foundation
import Logging
import Testing
import VerificationServer
import TestSupport

/// Issue 16: `systemctl stop` sends SIGTERM. A gateway stopped mid-call exits 0; the call in
/// progress reaches the core's audit trail as ended exactly once: sent before the exit, or from the
/// gateway's journal when it starts again (README "Install and run as a service", stopping).
@Suite("verigate gateway stopped with SIGTERM mid-call", .timeLimit(.minutes(3)))
struct GracefulStopTests {
    @Test("SIGTERM mid-call: exit 0; the core's audit trail gets the call ended once, sent before the exit or from the journal at the next start")
    func sigtermMidCall() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let rtp = 63_606...63_646
        let setup = try CoreGatewayApartTests.Setup(name: "gw-term", general: ["rtp_start = \(rtp.lowerBound)", "rtp_end = \(rtp.upperBound)"])
        defer { setup.remove() }
        let journal = setup.directory.appendingPathComponent("gateway.journal").path
        let gatewayArguments = setup.gatewayArguments(["--journal", journal])
        let core = try await setup.core(verigate, systemNumbers: "+886229996666", name: "core-term")
        var gateway = try await PeerProcess(verigate, gatewayArguments, name: "gateway-term")
        var sipp: PeerProcess?
        func end() async {
            let processes = [core, gateway] + (sipp.map { [$0] } ?? [])
            for process in processes where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
            for process in processes { await process.stop() }
        }
        do {
            let apiKey = try await CoreGatewayApartTests.apiKey(core)
            let started = try await CoreGatewayApartTests.start(channel: "dtmf_callin", httpPort: setup.httpPort, apiKey: apiKey, core: core, gateway: gateway)
            let id = try #require(started["id"] as? String)
            // SIPp calls in and keys nothing; the gateway answers and waits for digits.
            sipp = try await PeerProcess(
                "/usr/bin/sipp",
                ["-sf", Peers.repository.appendingPathComponent("sipp/callin-voice.xml").path, "127.0.0.1:\(setup.sipPort)", "-i", "127.0.0.1", "-p", "0",
                 "-m", "1", "-nostdin", "-timeout", "60s", "-inf", try Peers.injectionFile([["0975000888", "+886229996666"]])],
                name: "sipp-term")
            #expect(try await eventuallyTrue {
                ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").contains("B\t")
            }, "gateway: \(gateway.tail())")

            let pid = gateway.process.processIdentifier
            kill(pid, SIGTERM)
            let backstop = Task { try await Task.sleep(for: .seconds(20)); kill(pid, SIGKILL) }
            let status = await gateway.exitStatus()
            backstop.cancel()
            #expect(status == 0, "\(gateway.tail())")
            await gateway.stop()
            // Started again, it sends what the core had not acknowledged: the outcome the stopping
            // gateway journaled but could not send, or, when it exited first, the call it was running
            // (reported failed, gateway restarted).
            gateway = try await PeerProcess(verigate, gatewayArguments, name: "gateway-term-2")
            var logger = Logger(label: "test")
            logger.logLevel = .error
            let store = try await SQLVerificationStore.open(url: setup.directory.appendingPathComponent("verigate.db").path, logger: logger)
            func callEnds() async throws -> [String] {
                try await store.events(verificationID: id).compactMap(\.detail).filter { $0.hasPrefix("call ended:") }
            }
            let reported = try await eventuallyTrue { try await !callEnds().isEmpty }
            let trail = try await store.events(verificationID: id).map { "\($0.kind) \($0.detail ?? "")" }
            #expect(reported, "audit trail: \(trail)\njournal: \((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "")")
            let ends = try await callEnds()
            #expect(ends.count == 1, "\(ends)")
            try await store.shutdown()
        } catch {
            await end()
            throw error
        }
        await end()
    }
}
