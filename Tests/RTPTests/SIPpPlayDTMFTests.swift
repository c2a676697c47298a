import Foundation
import NIOCore
import RTP
import SDP
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc

/// SIPp keys "2407" with `<exec play_dtmf>` (RFC 4733, payload type 96, fixed) towards a loopback
/// port of ours; the packets go through `RTPPacket`, `RTPSourceFilter` and `TelephoneEventReceiver`.
/// Needs `sip-tester`; fails without it when `CI=true`.
@Suite struct SIPpPlayDTMFTests {
    @Test func sippKeyedDigitsDecodeOnce() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sipp") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("sipp missing: apt-get install -y sip-tester") }
            return
        }
        let sip = try LoopbackUDP()
        let rtp = try LoopbackUDP()
        let scenario = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-play-dtmf-\(getpid()).xml")
        try Self.scenario.write(to: scenario, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: scenario) }
        let sipp = try await ChildProcess("/usr/bin/sipp", ["-sf", scenario.path, "127.0.0.1:\(sip.port)", "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-m", "1", "-nostdin", "-timeout", "15s"])
        defer { sipp.signal(SIGKILL) }

        // INVITE → 200 OK with the answer SDPSession makes (PCMU + telephone-event at SIPp's 96).
        let (invite, peer) = try await sip.receive(timeoutSeconds: 10)
        let offer = try SDPParser().parse(bytes: LoopbackSIP.body(of: invite))
        var session = SDPSession(address: "127.0.0.1", port: rtp.port, sessionID: 1)
        let answer = try session.answer(offer)
        let telephoneEvent = try #require(answer.audio.telephoneEventPayloadType)
        #expect(telephoneEvent == 96)
        try sip.send(LoopbackSIP.response(to: invite, status: "200 OK", body: answer.description.text, contactPort: sip.port), to: peer)

        let announced = try SocketAddress(ipAddress: answer.audio.remoteAddress, port: Int(answer.audio.remotePort))
        var filter = RTPSourceFilter(expected: announced, latching: .anySource)
        var receiver = TelephoneEventReceiver(payloadType: telephoneEvent)
        var digits = ""
        while digits.count < 4 {
            let (datagram, source) = try await rtp.receive(timeoutSeconds: 10)
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
            let (message, from) = try await sip.receive(timeoutSeconds: 10)
            if message.starts(with: Array("BYE ".utf8)) {
                try sip.send(LoopbackSIP.response(to: message, status: "200 OK", body: nil, contactPort: sip.port), to: from)
                break
            }
        }
        #expect(await sipp.exitStatus() == 0)
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

#endif
