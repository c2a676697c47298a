import NIOCore
import RTP
import SIPMessage
import Testing
@testable import VoiceGateway

/// A gateway behind NAT (issue 17): `sip_external_address` is what our Contact and Via sent-by
/// say (RFC 3261 §8.1.1.8, §18.2.1), read from sip.conf into the endpoint's configuration; and the
/// RTP socket's send check that keeps a socket alive when the SDP names an address it cannot reach.
@Suite("External addresses and unreachable media destinations")
struct ExternalAddressTests {
    @Test("sip_external_address = gw.example.net:5099: our 200's Contact and our INVITE's Via and Contact carry it")
    func externalAddressInContactAndVia() async throws {
        let conf = try SIPConf.parse("[general]\nbind = 127.0.0.1:0\nsip_external_address = gw.example.net:5099\n[phones]\ntype = peer\nhost = 127.0.0.1\n")
        var configuration = conf.endpointConfiguration
        configuration.timers = fastTimers
        #expect(configuration.externalHost == "gw.example.net" && configuration.externalPort == 5099)
        let endpoint = try await SIPEndpoint.start(configuration)
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        var incoming = endpoint.incomingCalls.makeAsyncIterator()

        // Answering: the 200's Contact.
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
        try await probe.send(probeRequest("INVITE", port: probe.port, branch: "ext1", callID: "ext-in", extra: "Content-Type: application/sdp", body: sdp), to: target)
        let call = try #require(await incoming.next())
        call.answer(sdp: ByteBuffer(string: sdp))
        let ok = try #require(await nextNon100(&replies))
        #expect(statusCode(ok) == 200)
        #expect(ok.contains("Contact: <sip:verigate@gw.example.net:5099>"), "\(ok)")
        call.hangUp()

        // Calling out: the INVITE's Via sent-by and Contact.
        let outgoing = try await endpoint.call(try SIPAnyURI(parsing: "sip:+15555550100@127.0.0.1:\(probe.port)"),
                                               from: try SIPNameAddress(parsing: "<sip:verigate@127.0.0.1>"), sdp: ByteBuffer(string: sdp))
        var invite: String?
        while let text = await replies.next() {
            if text.hasPrefix("INVITE ") { invite = text; break }
        }
        let request = try #require(invite)
        #expect(request.contains("Via: SIP/2.0/UDP gw.example.net:5099;"), "\(request)")
        #expect(request.contains("Contact: <sip:verigate@gw.example.net:5099>"), "\(request)")
        outgoing.hangUp()
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("without sip_external_address the bound address is used, as before")
    func boundAddressByDefault() throws {
        let conf = try SIPConf.parse("[general]\nbind = 127.0.0.1:0\n[phones]\ntype = peer\nhost = 127.0.0.1\n")
        #expect(conf.endpointConfiguration.externalHost == nil && conf.endpointConfiguration.externalPort == nil)
    }

    @Test("a media socket never writes where it cannot send: another family, or off loopback from loopback (a failed send would close it)")
    func canSend() throws {
        func address(_ ip: String) throws -> SocketAddress { try SocketAddress(ipAddress: ip, port: 7078) }
        #expect(MediaSession.canSend(from: try address("127.0.0.1"), to: try address("127.0.0.1")))
        #expect(MediaSession.canSend(from: try address("127.0.0.1"), to: try address("127.0.0.2")))
        #expect(!MediaSession.canSend(from: try address("127.0.0.1"), to: try address("192.0.2.1")))
        #expect(!MediaSession.canSend(from: try address("127.0.0.1"), to: try address("fd00::2")), "linphone's SDP in issue 17")
        #expect(MediaSession.canSend(from: try address("0.0.0.0"), to: try address("192.0.2.1")))
        #expect(MediaSession.canSend(from: try address("10.0.0.5"), to: try address("198.51.100.7")))
        #expect(!MediaSession.canSend(from: try address("10.0.0.5"), to: try address("fd00::2")))
        #expect(MediaSession.canSend(from: try address("::"), to: try address("fd00::2")))
        #expect(MediaSession.canSend(from: try address("::"), to: try address("192.0.2.1")), "a dual-stack wildcard reaches IPv4")
        #expect(!MediaSession.canSend(from: try address("::1"), to: try address("fd00::2")))
        #expect(!MediaSession.canSend(from: try address("fd00::1"), to: try address("192.0.2.1")))
    }

    @Test("a peer's media_latching reaches the calls with that peer; others are off")
    func latchingPerPeer() throws {
        let conf = try SIPConf.parse("[general]\n[nat]\ntype = peer\nhost = 198.51.100.0/24\nmedia_latching = signalling\n[plain]\ntype = peer\nhost = 192.0.2.9\n")
        let gateway = conf.gatewayConfiguration
        #expect(gateway.mediaLatching(for: SIPPeer(.udp, try SocketAddress(ipAddress: "198.51.100.20", port: 5060))) == .signallingSource)
        #expect(gateway.mediaLatching(for: SIPPeer(.udp, try SocketAddress(ipAddress: "192.0.2.9", port: 5060))) == .off)
        #expect(gateway.mediaLatching(for: SIPPeer(.udp, try SocketAddress(ipAddress: "203.0.113.1", port: 5060))) == .off)
    }

    @Test("the NAT keys are read, and every malformed value refused with file:line")
    func parsedAndRefused() throws {
        let good = try SIPConf.parse("[general]\nrtp_external_address = 203.0.113.5\nsip_external_address = [2001:db8::5]:5080\n[p]\ntype = peer\nhost = 192.0.2.1\nmedia_latching = YES\n")
        #expect(good.media.rtpExternalAddress == "203.0.113.5")
        #expect(good.sipExternalHost == "2001:db8::5" && good.sipExternalPort == 5080)
        #expect(good.peers.first?.mediaLatching == .anySource)
        #expect(try SIPConf.parse("[general]\nsip_external_address = 198.51.100.1\n").sipExternalPort == nil)
        let refused: [(String, Int, String)] = [
            ("[general]\nrtp_external_address = gw.example.net\n", 2, "rtp_external_address must be the literal"),
            ("[general]\nrtp_external_address = 0.0.0.0\n", 2, "not a wildcard"),
            ("[general]\n\nsip_external_address = gw.example.net:99999\n", 3, "the port must be 1-65535"),
            ("[general]\nsip_external_address = 2001:db8::5\n", 2, "in brackets"),
            ("[general]\nsip_external_address = bad_host!\n", 2, "must be a host name or IP address"),
            ("[general]\nsip_external_address = [::]:5060\n", 2, "not a wildcard"),
            ("[p]\ntype = peer\nhost = 192.0.2.1\nmedia_latching = comedia\n", 4, "media_latching must be no, signalling or yes, got 'comedia'"),
        ]
        for (text, line, message) in refused {
            do {
                _ = try SIPConf.parse(text, file: "t.conf")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.code == .badValue, "\(error)")
                #expect(error.description.hasPrefix("t.conf:\(line): "), "\(error)")
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }
}
