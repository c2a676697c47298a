import Foundation
import NIOCore
import SIPMessage
import SIPStack
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// Issue 17 "Caller ID from carriers", performed against the real core + gateway on loopback: the
/// carrier's `verstat` (3GPP TS 24.229 §7.2A.20) on P-Asserted-Identity or a configured header is
/// believed from a trusted peer only, `TN-Validation-Failed` never approves, and
/// `--caller-id-trust missed_call=verified` wants `TN-Validation-Passed`.
@Suite("Carriers' caller-ID verification (verstat) end to end", .serialized)
struct VerstatTests {
    static let victim = "0975000888"
    static let header = SIPHeaderName("X-VerStat")

    /// Loopback is the carrier: trusted (or not), From not vouched for, verstat also read from `X-VerStat`.
    private func stack(trusted: Bool = true, rules: String? = nil, media: GatewayMedia? = nil) async throws -> MissedCallTests.Stack {
        try await MissedCallTests.Stack(ringTime: .milliseconds(200), media: media, timers: CallerProofTests.timers, trustFrom: false, configure: { gateway in
            gateway.peers[0].trusted = trusted
            gateway.peers[0].verstatHeader = Self.header
        }, configurePolicy: { policy in
            if let rules { policy.acceptedCallerIDTrust = (try? VerificationPolicy.parseCallerIDTrust(rules)) ?? [:] }
        })
    }

    private func trail(_ stack: MissedCallTests.Stack, _ id: String) async throws -> [String] {
        try await stack.core.service.events(id: id).compactMap(\.detail)
    }

    /// One UDP call from a caller that reads our final response and ACKs it (for a failure, so the
    /// round trip is proven as a real caller would); the final status: 603 (approved missed call),
    /// 404 (refused) or 200 (answered), nil when none came.
    private func call(_ stack: MissedCallTests.Stack, callID: String, from number: String = Self.victim, extra: String) async throws -> Int? {
        let caller = try await RawUDP.make()
        let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        let via = "127.0.0.1:\(caller.port)"
        try await caller.send(RawSIP.invite(callID: callID, via: via, caller: number, extra: extra), to: gateway)
        func final() -> String? {
            caller.received.first { [200, 404, 603].contains(RawSIP.status($0) ?? 0) && $0.contains("Call-ID: \(callID)\r\n") }
        }
        _ = try? await eventually(.seconds(10)) { final() != nil }
        let response = final()
        let status = response.flatMap { RawSIP.status($0) }
        if let response, status != 200 {
            try await caller.send(RawSIP.ack(callID: callID, via: via, caller: number, toTag: RawSIP.toTag(response)), to: gateway)
        }
        await caller.close()
        return status
    }

    @Test("SIPp through the gateway, missed_call=verified: TN-Validation-Failed gets 404, TN-Validation-Passed 603 and approves; the trail names the verstat")
    func sippVerified() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let stack = try await stack(rules: "missed_call=verified")
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        #expect(try await sipp(stack, verstat: "TN-Validation-Failed") == 404)
        #expect(try await sipp(stack, verstat: "No-TN-Validation") == 404)
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        #expect(try await sipp(stack, verstat: "TN-Validation-Passed") == 603)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        #expect(try await trail(stack, started.verification.id).contains("caller ID matched (verified, verstat TN-Validation-Passed), proven by ACK"))
        await stack.stop()
    }

    /// Runs `sipp/callin-missed-verstat.xml` once with `verstat` on the P-Asserted-Identity; the final status SIPp got.
    private func sipp(_ stack: MissedCallTests.Stack, verstat: String) async throws -> Int? {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-verstat-msgs-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed-verstat.xml").path, "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1",
             "-p", "0", "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([[Self.victim, MissedCallTests.systemNumber, verstat]]),
             "-trace_msg", "-message_file", trace.path],
            name: "sipp-verstat"
        )
        let status = await sipp.exitStatus()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        await sipp.stop()
        #expect(status == 0, "\(sipp.tail())")
        #expect(messages.contains(";verstat=\(verstat)>"), "the INVITE carried the verstat")
        return [404, 603].first { messages.contains("SIP/2.0 \($0) ") }
    }

    @Test("missed_call=verified: an asserted caller ID without verstat is refused (404), even with the ACK")
    func assertedWithoutVerstatRefused() async throws {
        let stack = try await stack(rules: "missed_call=verified")
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let pai = "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1;user=phone>"
        #expect(try await call(stack, callID: "plain-1", extra: pai) == 404)
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await stack.stop()
    }

    @Test("an untrusted address's verstat=TN-Validation-Passed is not believed: refused under missed_call=verified, and only 'unverified' where that is accepted")
    func untrustedPassedIgnored() async throws {
        let pai = "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1;user=phone;verstat=TN-Validation-Passed>\r\nX-VerStat: TN-Validation-Passed"
        let strict = try await stack(trusted: false, rules: "missed_call=verified")
        let first = try await strict.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        #expect(try await call(strict, callID: "untrusted-1", extra: pai) == 404)
        #expect(try await strict.core.service.verification(id: first.verification.id).status == .pending)
        await strict.stop()
        // An operator who accepts From for missed_call: the call approves, as unverified — never verified.
        let lenient = try await stack(trusted: false, rules: "missed_call=verified,unverified")
        let second = try await lenient.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        #expect(try await call(lenient, callID: "untrusted-2", extra: pai) == 603)
        #expect(try await eventuallyTrue { try await lenient.core.service.verification(id: second.verification.id).status == .approved })
        let details = try await trail(lenient, second.verification.id)
        #expect(details.contains("caller ID matched (unverified), proven by ACK"), "\(details)")
        #expect(!details.contains { $0.contains("verstat") }, "\(details)")
        await lenient.stop()
    }

    @Test("a trusted trunk's TN-Validation-Failed (in the configured header) refuses missed_call and dtmf_callin though the policy accepts asserted")
    func failedRefused() async throws {
        // Media, so the gateway offers dtmf_callin (a refused call never opens a port of the range).
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_000...62_040))
        let stack = try await stack(media: media)
        let missed = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let pai = "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1;user=phone;verstat=TN-Validation-Passed>"
        // The PAI says Passed, the carrier's header says Failed: Failed wins.
        #expect(try await call(stack, callID: "failed-1", extra: pai + "\r\nX-VerStat: TN-Validation-Failed") == 404)
        #expect(try await stack.core.service.verification(id: missed.verification.id).status == .pending)
        // Over TCP (no proof step) the refusal is on the verification's audit trail.
        let caller = try await RawTCP.connect(port: await stack.sipTCPPort)
        try await caller.send(RawSIP.invite(callID: "failed-tcp", via: "127.0.0.1:\(caller.port)", caller: Self.victim, transport: "TCP",
                                            extra: "P-Asserted-Identity: <tel:+886975000888;verstat=TN-Validation-Failed>"))
        #expect(try await eventuallyTrue {
            try await trail(stack, missed.verification.id).contains("call refused: caller ID failed the carrier's validation (verstat TN-Validation-Failed)")
        })
        #expect(try await stack.core.service.verification(id: missed.verification.id).status == .pending)
        await caller.close()
        // dtmf_callin (another caller, the victim's system number is held): never answered (no 200), nothing to key.
        let other = "0975000777"
        let keyed = try await stack.core.service.start(StartRequest(to: other, channel: .dtmfCallIn))
        #expect(try await call(stack, callID: "failed-2", from: other,
                               extra: "P-Asserted-Identity: <sip:\(other)@127.0.0.1;user=phone;verstat=TN-Validation-Failed>") == 404)
        #expect(try await stack.core.service.verification(id: keyed.verification.id).status == .pending)
        await stack.stop()
    }
}
