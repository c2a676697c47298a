import Foundation
import NIOCore
import RTP
import Testing

#if canImport(Glibc)
import Glibc

/// SIPp keys "2407" with `<exec play_dtmf>` (RFC 4733, payload type 96, fixed) towards a loopback
/// port of ours; the packets go through `RTPPacket`, `RTPSourceFilter` and `TelephoneEventReceiver`.
/// Needs `sip-tester`; fails without it when `CI=true`.
@Suite struct SIPpPlayDTMFTests {
    @Test func sippKeyedDigitsDecodeOnce() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sipp") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("sipp missing: apt-get install -y sip-tester") }
            return
        }
        let sip = try LoopbackUDP()
        let rtp = try LoopbackUDP()
        let scenario = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-play-dtmf-\(getpid()).xml")
        try Self.scenario.write(to: scenario, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: scenario) }
        let sipp = Process()
        sipp.executableURL = URL(fileURLWithPath: "/usr/bin/sipp")
        sipp.arguments = ["-sf", scenario.path, "127.0.0.1:\(sip.port)", "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-m", "1", "-nostdin", "-timeout", "15s"]
        sipp.standardOutput = FileHandle.nullDevice
        sipp.standardError = FileHandle.nullDevice
        try sipp.run()
        defer {
            if sipp.isRunning { kill(sipp.processIdentifier, SIGKILL) }
            sipp.waitUntilExit()
        }

        // INVITE → 200 OK with our SDP (PCMU + telephone-event 96 on our RTP port).
        let (invite, peer) = try sip.receive(timeoutSeconds: 10)
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.port) RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n"
        try sip.send(Self.response(to: invite, status: "200 OK", body: sdp, contactPort: sip.port), to: peer)

        var filter = RTPSourceFilter(expected: try SocketAddress(ipAddress: "127.0.0.1", port: 6000), symmetric: true)
        var receiver = TelephoneEventReceiver(payloadType: 96)
        var digits = ""
        while digits.count < 4 {
            let (datagram, source) = try rtp.receive(timeoutSeconds: 10)
            let packet = try RTPPacket(parsing: ByteBuffer(bytes: datagram))
            switch filter.packetReceived(from: source.socketAddress, ssrc: packet.header.ssrc) {
            case .accept, .latched, .ssrcChanged:
                if let report = receiver.packetReceived(packet.header, payload: packet.payload), let digit = report.digit {
                    digits.append(digit.character)
                }
            case .dropUnexpectedSource, .dropForeignSSRC:
                continue
            }
        }
        #expect(digits == "2407")
        #expect(receiver.reportedEvents == 4)
        #expect(receiver.suppressedPackets >= 4 * 3)  // at least the end packets of each key
        #expect(receiver.otherPayloadPackets > 0)  // SIPp's filler packets (payload type 97)

        // BYE → 200 OK so SIPp ends cleanly.
        while true {
            let (message, from) = try sip.receive(timeoutSeconds: 10)
            if message.starts(with: Array("BYE ".utf8)) {
                try sip.send(Self.response(to: message, status: "200 OK", body: nil, contactPort: sip.port), to: from)
                break
            }
        }
        sipp.waitUntilExit()
        #expect(sipp.terminationStatus == 0)
    }

    static func response(to request: [UInt8], status: String, body: String?, contactPort: UInt16) -> [UInt8] {
        let text = String(decoding: request, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        let keep = head.components(separatedBy: "\r\n").dropFirst().filter { line in
            let name = line.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            return ["via", "from", "to", "call-id", "cseq"].contains(name)
        }.map { $0.lowercased().hasPrefix("to:") && !$0.contains("tag=") ? $0 + ";tag=verigate" : $0 }
        var out = "SIP/2.0 \(status)\r\n" + keep.joined(separator: "\r\n") + "\r\nContact: <sip:test@127.0.0.1:\(contactPort)>\r\n"
        if let body {
            out += "Content-Type: application/sdp\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            out += "Content-Length: 0\r\n\r\n"
        }
        return Array(out.utf8)
    }

    static let scenario = """
    <?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="uac keying 2407 with RFC 4733">
      <send retrans="500"><![CDATA[
    INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
    Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
    From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
    To: <sip:[service]@[remote_ip]:[remote_port]>
    Call-ID: [call_id]
    CSeq: 1 INVITE
    Contact: sip:sipp@[local_ip]:[local_port]
    Max-Forwards: 70
    Content-Type: application/sdp
    Content-Length: [len]

    v=0
    o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
    s=-
    c=IN IP[media_ip_type] [media_ip]
    t=0 0
    m=audio [media_port] RTP/AVP 0 96
    a=rtpmap:0 PCMU/8000
    a=rtpmap:96 telephone-event/8000
    a=fmtp:96 0-15

    ]]></send>
      <recv response="200"/>
      <send><![CDATA[
    ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
    Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
    From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
    To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
    Call-ID: [call_id]
    CSeq: 1 ACK
    Content-Length: 0

    ]]></send>
      <nop><action><exec play_dtmf="2407"/></action></nop>
      <pause milliseconds="2000"/>
      <send retrans="500"><![CDATA[
    BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
    Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
    From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
    To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
    Call-ID: [call_id]
    CSeq: 2 BYE
    Content-Length: 0

    ]]></send>
      <recv response="200"/>
    </scenario>

    """
}

/// A UDP socket bound to 127.0.0.1 on an ephemeral port, blocking reads with a timeout.
final class LoopbackUDP {
    struct Failure: Error, CustomStringConvertible { var description: String }
    struct Peer {
        var address: sockaddr_in
        var socketAddress: SocketAddress { SocketAddress(address, host: "127.0.0.1") }
    }

    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
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

    func receive(timeoutSeconds: Int) throws -> ([UInt8], Peer) {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65_535)
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { throw Failure(description: "nothing received within \(timeoutSeconds) s") }
        return (Array(buffer[0..<count]), Peer(address: peer))
    }

    func send(_ bytes: [UInt8], to peer: Peer) throws {
        var address = peer.address
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw Failure(description: "sendto") }
    }
}
#endif
