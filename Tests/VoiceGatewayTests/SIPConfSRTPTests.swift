import NIOCore
import SDP
import Testing
@testable import VoiceGateway

/// sip.conf's SRTP keys (`media_encryption`, `srtp`, `sdes_over_insecure_transport`) and the
/// per-call decision they make (README "Encrypted calls").
@Suite("sip.conf SRTP keys")
struct SIPConfSRTPTests {
    @Test("[general] sets the defaults that peers and trunks inherit key by key and may override")
    func inheritance() throws {
        let conf = try SIPConf.parse("""
            [general]
            media_encryption = sdes
            srtp = required
            [plain]
            type = peer
            host = 192.0.2.1
            [softphones]
            type = peer
            host = 192.0.2.0/28
            srtp = optional
            sdes_over_insecure_transport = yes
            [off]
            type = peer
            host = 198.51.100.1
            media_encryption = none
            [carrier]
            type = trunk
            host = 203.0.113.5
            sdes_over_insecure_transport = yes

            """)
        #expect(conf.mediaSecurity.encryption == .sdes && conf.mediaSecurity.srtp == .required && !conf.mediaSecurity.sdesOverInsecureTransport)
        let byName = Dictionary(uniqueKeysWithValues: conf.peers.map { ($0.name, $0.mediaSecurity) })
        #expect(byName["plain"]?.policy == .required)
        #expect(byName["softphones"]?.policy == .optional && byName["softphones"]?.sdesOverInsecureTransport == true)
        #expect(byName["off"]?.policy == .off)
        #expect(byName["carrier"]?.policy == .required && byName["carrier"]?.sdesOverInsecureTransport == true)
        let gateway = conf.gatewayConfiguration
        #expect(gateway.mediaSecurity(for: SIPPeer(.udp, try SocketAddress(ipAddress: "192.0.2.3", port: 5060))).policy == .optional)
        #expect(gateway.mediaSecurity(for: SIPPeer(.udp, try SocketAddress(ipAddress: "10.9.9.9", port: 5060))).policy == .required, "no peer: [general]'s")
        #expect(SIPConf().mediaSecurity.policy == .off, "plain RTP by default")
    }

    @Test("malformed values are refused with file:line", arguments: [
        ("[general]\nmedia_encryption = dtls\n", 2, "media_encryption must be none or sdes"),
        ("[general]\nsrtp = mandatory\n", 2, "srtp must be optional or required"),
        ("[general]\nsdes_over_insecure_transport = yes\n", 2, "unknown key"),
        ("[p]\ntype = peer\nhost = 192.0.2.1\nsdes_over_insecure_transport = perhaps\n", 4, "sdes_over_insecure_transport"),
        ("[p]\ntype = peer\nhost = 192.0.2.1\nsrtp = required\nsrtp = optional\n", 5, "already set"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nmedia_encryption = zrtp\n", 4, "media_encryption must be none or sdes"),
    ])
    func badValues(text: String, line: Int, message: String) {
        let error = #expect(throws: SIPConfError.self) { try SIPConf.parse(text, file: "t.conf") }
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("t.conf:\(line): ") == true)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    static func offer(crypto: Bool) throws -> SessionDescription {
        try SDPParser().parse("v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
            + (crypto ? "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n" : ""))
    }

    @Test("SDES keys over UDP or TCP are refused unless the peer allows it, over TLS accepted; plain offers pass unless SRTP is required")
    func insecureTransport() throws {
        var security = MediaSecurity()
        security.encryption = .sdes
        for transport in SIPTransportProtocol.allCases where transport != .tls {
            #expect(!transport.protectsSDESKeys)
            #expect(security.refusal(of: try Self.offer(crypto: true), over: transport) != nil)
            #expect(security.refusal(of: try Self.offer(crypto: false), over: transport) == nil, "optional: a plain offer is fine")
        }
        #expect(SIPTransportProtocol.tls.protectsSDESKeys)
        #expect(security.refusal(of: try Self.offer(crypto: true), over: .tls) == nil, "over TLS the keys are hidden")
        security.srtp = .required
        #expect(security.refusal(of: try Self.offer(crypto: false), over: .udp) != nil, "required: our answer would carry a key")
        #expect(security.refusal(of: try Self.offer(crypto: false), over: .tls) == nil)
        security.sdesOverInsecureTransport = true
        #expect(security.refusal(of: try Self.offer(crypto: true), over: .udp) == nil)
        var off = MediaSecurity()
        off.encryption = .none
        #expect(off.refusal(of: try Self.offer(crypto: true), over: .udp) == nil, "SRTP off: crypto lines are ignored, not refused")
    }
}
