import Foundation
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// pjsua2 (PyPI `pjsua2-python`, the pjsip stack) as the phone for the spoken-code methods: it records
/// what it hears to a WAV, and `tests/pjsua/phone.py --recognize` finds our digit prompts in that
/// recording — the code must be heard, not just sent.
@Suite("pjsua2 hears the spoken code", .serialized)
struct PjsuaTests {
    static let python = Peers.repository.appendingPathComponent(".venv/bin/python").path
    static let phone = Peers.repository.appendingPathComponent("tests/pjsua/phone.py").path
    static let digits = Peers.repository.appendingPathComponent("prompts/en").path

    private func media(_ range: ClosedRange<Int>) throws -> GatewayMedia {
        try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: range))
    }

    private func heard(_ process: PeerProcess) -> String? {
        process.tail(200).split(separator: "\n").last { $0.hasPrefix("heard: ") }.map { String($0.dropFirst(7)) }
    }

    /// What pjsua heard must approve (`Phone.expectHeardCodeApproves`).
    private func expectHeardCodeApproves(_ pjsua: PeerProcess, stack: MissedCallTests.Stack, id: String) async throws {
        let digits = try #require(heard(pjsua), "\(pjsua.tail())")
        try await Phone.expectHeardCodeApproves(digits, service: stack.core.service, id: id)
    }

    @Test("voice_callin: pjsua2 calls the system number and hears the code twice; typing it approves")
    func pjsuaCallsIn() async throws {
        guard Peers.available(Self.python, package: "python3-venv (then scripts/python-venv.sh)") else { return }
        let stack = try await MissedCallTests.Stack(media: try media(61_000...61_100))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-pjsua-in-\(UUID().uuidString.prefix(8)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let pjsua = try await PeerProcess(
            Self.python, [Self.phone, "call", "--caller", "0975000888", "--uri", "sip:+886229996666@127.0.0.1:\(await stack.sipPort)", "--wav", wav, "--recognize", Self.digits],
            name: "pjsua-in"
        )
        #expect(await pjsua.exitStatus() == 0, "\(pjsua.tail())")
        try await expectHeardCodeApproves(pjsua, stack: stack, id: started.verification.id)
        await pjsua.stop()
        await stack.stop()
    }

    @Test("voice_call: the gateway calls pjsua2, which answers, keys 1 when asked, and hears the code twice; typing it approves")
    func pjsuaAnswersVoiceCall() async throws {
        guard Peers.available(Self.python, package: "python3-venv (then scripts/python-venv.sh)") else { return }
        let port = try Peers.freePort()
        let stack = try await MissedCallTests.Stack(media: try media(61_110...61_210), outboundTarget: "sip:{number}@127.0.0.1:\(port)")
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-pjsua-out-\(UUID().uuidString.prefix(8)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let pjsua = try await PeerProcess(
            Self.python, [Self.phone, "answer", "--user", "+886975000888", "--port", "\(port)", "--wav", wav, "--key", "1", "--recognize", Self.digits],
            name: "pjsua-out"
        )
        #expect(try await eventuallyTrue { pjsua.tail().contains("ready \(port)") }, "\(pjsua.tail())")
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(await pjsua.exitStatus() == 0, "\(pjsua.tail())")
        try await expectHeardCodeApproves(pjsua, stack: stack, id: started.verification.id)
        await pjsua.stop()
        await stack.stop()
    }
}
