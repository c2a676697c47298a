import Foundation
import SDP
import Testing

#if canImport(Glibc)
import Glibc

/// Runs real peers on loopback, captures the SDP of their INVITE, and answers it.
/// The peers must be installed in CI (`CI=true`): `sip-tester` (sipp) and `baresip`.
@Suite(.serialized) struct LivePeerSDPTests {
    static var ci: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func tool(_ path: String) -> Bool {
        if FileManager.default.isExecutableFile(atPath: path) { return true }
        if ci { Issue.record("\(path) is missing; apt-get install -y the package that provides it") }
        return false
    }

    @Test func sippBuiltInUACOffer() throws {
        guard Self.tool("/usr/bin/sipp") else { return }
        let capture = try LoopbackINVITECapture()
        let sipp = try Self.launch("/usr/bin/sipp", ["-sn", "uac", "127.0.0.1:\(capture.port)", "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "10s"])
        defer { Self.stop(sipp) }
        let body = try capture.receiveINVITEBody(timeoutSeconds: 10)
        let offer = try SDPParser().parse(bytes: body)
        #expect(offer.text == String(decoding: body, as: UTF8.self))
        var session = SDPSession(address: "127.0.0.1", port: 30000, sessionID: 1)
        let answer = try session.answer(offer)
        #expect(answer.audio.codec == .pcmu)
        #expect(answer.audio.remoteAddress == "127.0.0.1")
    }

    @Test func baresipOffer() throws {
        guard Self.tool("/usr/bin/baresip") else { return }
        let capture = try LoopbackINVITECapture()
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
        let baresip = try Self.launch("/usr/bin/baresip", ["-f", dir.path, "-n", "127.0.0.1", "-t", "5", "-e", "/dial sip:100@127.0.0.1:\(capture.port)"])
        defer { Self.stop(baresip) }
        let body = try capture.receiveINVITEBody(timeoutSeconds: 10)
        let offer = try SDPParser().parse(bytes: body)
        #expect(offer.text == String(decoding: body, as: UTF8.self))
        var session = SDPSession(address: "127.0.0.1", port: 30000, sessionID: 1)
        let answer = try session.answer(offer)
        #expect(offer.attributes.contains(Attribute("tool", "baresip 1.0.0")) || offer.attributes.contains { $0.name == "tool" })
        #expect(offer.media.first?.formats.first == "8")  // baresip offers PCMA first as configured
        #expect(answer.audio.codec == .pcmu)  // our preference wins over the offer's order
        #expect(answer.audio.telephoneEventPayloadType == 101)
        #expect(answer.audio.remoteAddress == "127.0.0.1")
    }

    /// The peer has sent its INVITE; end it at once (baresip ignores SIGTERM while it shuts down).
    static func stop(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    static func launch(_ path: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A UDP socket on 127.0.0.1 (ephemeral port) that waits for an INVITE, answers 486 Busy Here so
/// the peer ends the call, and returns the INVITE's body.
final class LoopbackINVITECapture {
    struct Failure: Error, CustomStringConvertible { var description: String }
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            close(fd)
            throw Failure(description: "bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    func receiveINVITEBody(timeoutSeconds: Int) throws -> [UInt8] {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65_535)
        while true {
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard count > 0 else { throw Failure(description: "no INVITE within \(timeoutSeconds) s") }
            let message = Array(buffer[0..<count])
            guard message.starts(with: Array("INVITE ".utf8)) else { continue }
            guard let split = message.firstRange(of: Array("\r\n\r\n".utf8)) else { throw Failure(description: "no header end") }
            let head = String(decoding: message[..<split.lowerBound], as: UTF8.self)
            // Answer 486 so the peer stops (headers copied from the request, RFC 3261 §8.2.6.2).
            let keep = head.components(separatedBy: "\r\n").dropFirst().filter { line in
                let name = line.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
                return ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"].contains(name)
            }.map { $0.lowercased().hasPrefix("to:") || $0.lowercased().hasPrefix("t:") ? $0 + ";tag=test" : $0 }
            let response = Array(("SIP/2.0 486 Busy Here\r\n" + keep.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n").utf8)
            _ = withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, response, response.count, 0, $0, peerLength) }
            }
            return Array(message[split.upperBound...])
        }
    }
}
#endif
