import Foundation
import SDP
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc

/// Runs real peers on loopback, captures the SDP of their INVITE (answering 486 so they stop), and
/// checks `SDPParser` round-trips it and `SDPSession` answers it. Needs `sip-tester` and `baresip`;
/// fails without them when `CI=true`.
@Suite(.serialized) struct LivePeerSDPTests {
    static func tool(_ path: String) -> Bool {
        if FileManager.default.isExecutableFile(atPath: path) { return true }
        if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("\(path) is missing; apt-get install -y the package that provides it") }
        return false
    }

    /// Waits for the peer's INVITE, answers 486 Busy Here, returns the offer's bytes.
    static func captureOffer(on sip: LoopbackUDP) async throws -> [UInt8] {
        while true {
            let (message, peer) = try await sip.receive(timeoutSeconds: 10)
            guard message.starts(with: Array("INVITE ".utf8)) else { continue }
            try sip.send(LoopbackSIP.response(to: message, status: "486 Busy Here", body: nil, contactPort: sip.port), to: peer)
            return LoopbackSIP.body(of: message)
        }
    }

    static func launch(_ path: String, _ arguments: [String]) async throws -> ChildProcess {
        try await ChildProcess(path, arguments)
    }

    @Test func sippBuiltInUACOffer() async throws {
        guard Self.tool("/usr/bin/sipp") else { return }
        let sip = try LoopbackUDP()
        let sipp = try await Self.launch("/usr/bin/sipp", ["-sn", "uac", "127.0.0.1:\(sip.port)", "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "10s"])
        defer { sipp.signal(SIGKILL) }
        let body = try await Self.captureOffer(on: sip)
        let offer = try SDPParser().parse(bytes: body)
        #expect(offer.text == String(decoding: body, as: UTF8.self))
        var session = SDPSession(address: "127.0.0.1", port: 30000, sessionID: 1)
        let answer = try session.answer(offer)
        #expect(answer.audio.codec == .pcmu)
        #expect(answer.audio.remoteAddress == "127.0.0.1")
    }

    @Test func baresipOffer() async throws {
        guard Self.tool("/usr/bin/baresip") else { return }
        let sip = try LoopbackUDP()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-baresip-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = """
        poll_method\t\tepoll
        sip_listen\t\t127.0.0.1:0
        audio_player\t\taubridge,nil
        audio_source\t\taubridge,nil
        audio_alert\t\taubridge,nil
        module_path\t\t/usr/lib/baresip/modules
        module\t\t\tg711.so
        module\t\t\taubridge.so
        module_tmp\t\taccount.so
        module_app\t\tmenu.so

        """
        try config.write(to: dir.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        try "<sip:bot@127.0.0.1>;regint=0;audio_codecs=PCMA,PCMU\n".write(to: dir.appendingPathComponent("accounts"), atomically: true, encoding: .utf8)
        let baresip = try await Self.launch("/usr/bin/baresip", ["-f", dir.path, "-n", "127.0.0.1", "-t", "5", "-e", "/dial sip:100@127.0.0.1:\(sip.port)"])
        defer { baresip.signal(SIGKILL) }
        let body = try await Self.captureOffer(on: sip)
        let offer = try SDPParser().parse(bytes: body)
        #expect(offer.text == String(decoding: body, as: UTF8.self))
        #expect(offer.attributes.contains { $0.name == "tool" && ($0.value ?? "").hasPrefix("baresip") })
        #expect(offer.media.first?.formats.first == "8")  // baresip offers PCMA first, as configured
        var session = SDPSession(address: "127.0.0.1", port: 30000, sessionID: 1)
        let answer = try session.answer(offer)
        #expect(answer.audio.codec == .pcmu)  // our preference wins over the offer's order
        #expect(answer.audio.telephoneEventPayloadType == 101)
        #expect(answer.audio.remoteAddress == "127.0.0.1")
    }
}
#endif
