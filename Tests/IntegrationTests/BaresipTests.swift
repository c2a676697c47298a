import Foundation
import Testing
import Verification
import VoiceGateway
import TestSupport

/// baresip (a real softphone, headless, docs/TESTING.md) calling the gateway for dtmf_callin and
/// keying the code through its control socket (ctrl_tcp netstrings): RFC 4733 from a stack nobody
/// on the project wrote.
@Suite("baresip calls in and keys the code", .serialized)
struct BaresipTests {
    /// baresip's TCP control (netstring JSON commands), as peers/baresip-ctrl.py speaks it.
    struct Control {
        let port: Int

        func send(_ command: String, _ params: String = "") -> String? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { return nil }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let json = try! JSONSerialization.data(withJSONObject: ["command": command, "params": params, "token": "t"])
            let message = Array("\(json.count):".utf8) + Array(json) + Array(",".utf8)
            guard write(fd, message, message.count) == message.count else { return nil }
            var buffer = [UInt8](repeating: 0, count: 8_192)
            let n = read(fd, &buffer, buffer.count)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    /// A headless baresip: no audio devices, G.711, control over TCP (docs/TESTING.md).
    static func writeConfig(in directory: URL, sipListen: Int, control: Control) throws {
        try """
        poll_method\t\tepoll
        sip_listen\t\t127.0.0.1:\(sipListen)
        audio_player\t\taubridge,nil
        audio_source\t\taubridge,nil
        audio_alert\t\taubridge,nil
        module_path\t\t/usr/lib/baresip/modules
        module\t\t\tg711.so
        module\t\t\taubridge.so
        module\t\t\tctrl_tcp.so
        module_tmp\t\taccount.so
        module_app\t\tmenu.so
        ctrl_tcp_listen\t\t127.0.0.1:\(control.port)

        """.write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
    }

    /// A headless baresip (`writeConfig` plus `extraConfig` lines) in its own temporary folder with
    /// one `account` line. `dial`: a URI it calls once started (`-e /dial`); nil: it waits for calls.
    final class Softphone: Sendable {
        let process: PeerProcess
        let control: Control
        let directory: URL

        init(name: String, sipListen: Int = 0, extraConfig: String = "", account: String, dial: String? = nil) async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            control = Control(port: try Peers.freePort())
            try BaresipTests.writeConfig(in: directory, sipListen: sipListen, control: control)
            let config = directory.appendingPathComponent("config")
            try (try String(contentsOf: config, encoding: .utf8) + extraConfig).write(to: config, atomically: true, encoding: .utf8)
            try (account + "\n").write(to: directory.appendingPathComponent("accounts"), atomically: true, encoding: .utf8)
            process = try await PeerProcess("/usr/bin/baresip", ["-f", directory.path, "-n", "127.0.0.1", "-t", "60"] + (dial.map { ["-e", "/dial \($0)"] } ?? []), name: name)
        }

        /// Whether a call is up now.
        var established: Bool { control.send("listcalls")?.contains("ESTABLISHED") == true }

        /// Waits until no call is up (the gateway hung up), at most `limit`.
        func hungUp(within limit: Duration = .seconds(20)) async throws -> Bool {
            try await eventually(limit) { control.send("listcalls")?.contains("ESTABLISHED") == false }
        }

        /// Asks baresip to quit and waits for it to exit (so files it writes are complete), then
        /// removes its folder.
        func quit() async {
            _ = control.send("quit")
            _ = await process.exitStatus()
            await process.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test("dtmf_callin: baresip dials the system number, keys the page's code, the verification is approved and the gateway hangs up")
    func baresipKeysCode() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip") else { return }
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 31_400...31_600))
        let stack = try await MissedCallTests.Stack(media: media)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)

        let phone = try await Softphone(name: "baresip", account: "<sip:0975000888@127.0.0.1>;regint=0;audio_codecs=PCMU",
                                        dial: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)")
        #expect(try await eventuallyTrue { phone.established }, "baresip's call was not answered:\n\(phone.process.tail())")
        #expect(phone.control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        // After "verified" and "goodbye" the gateway ends the call.
        #expect(try await phone.hungUp())
        await phone.quit()
        await stack.stop()
    }
}

extension BaresipTests {
    @Test("dtmf_callout: the gateway calls baresip (auto-answer), baresip keys the page's code, the verification is approved")
    func baresipAnswersCallOut() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip") else { return }
        let sipPort = try Peers.freeBaresipPort()
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 31_620...31_680))
        let stack = try await MissedCallTests.Stack(media: media, outboundTarget: "sip:{number}@127.0.0.1:\(sipPort)")
        // baresip finds the account by the Request-URI user: the E.164 number the gateway calls.
        let phone = try await Softphone(name: "baresip-out", sipListen: sipPort, account: "<sip:+886975000888@127.0.0.1>;regint=0;audio_codecs=PCMU;answermode=auto")
        #expect(try await eventuallyTrue { phone.control.send("listcalls") != nil }, "baresip's control socket:\n\(phone.process.tail())")

        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallOut))
        let code = try #require(started.code)
        #expect(try await eventuallyTrue { phone.established }, "baresip did not answer:\n\(phone.process.tail())")
        #expect(phone.control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        #expect(try await phone.hungUp())
        await phone.quit()
        await stack.stop()
    }
}

/// Waits (polling every 20 ms) until `condition` holds, at most `limit`.
func eventually(_ limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
