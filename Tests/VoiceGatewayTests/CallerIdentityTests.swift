import GatewayProtocol
import NIOCore
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("Caller ID (RFC 3325) and trusted networks")
struct CallerIdentityTests {
    private func invite(_ extra: [(SIPHeaderName, String)], from: String = "<sip:0975000888@198.51.100.7>;tag=1") -> SIPRequest {
        .callerIDInvite(extra, from: from)
    }

    @Test("a trusted peer's P-Asserted-Identity wins (tel: preferred) and is asserted")
    func trustedPAI() {
        let request = invite([(.pAssertedIdentity, "<sip:0911000111@trunk>"), (.pAssertedIdentity, "<tel:+886-975-000-999>")])
        #expect(CallerIdentity(request: request, peerTrusted: true) == CallerIdentity(number: "+886975000999", trust: .asserted))
    }

    @Test("a trusted peer's From is not an assertion: unverified without PAI, asserted only with trust_from")
    func trustedFrom() {
        #expect(CallerIdentity(request: invite([]), peerTrusted: true) == CallerIdentity(number: "0975000888", trust: .unverified))
        #expect(CallerIdentity(request: invite([]), peerTrusted: true, trustFrom: true) == CallerIdentity(number: "0975000888", trust: .asserted))
        // trust_from means nothing for an untrusted peer.
        #expect(CallerIdentity(request: invite([]), peerTrusted: false, trustFrom: true) == CallerIdentity(number: "0975000888", trust: .unverified))
    }

    @Test("a present but unparsable P-Asserted-Identity is unverified, never asserted (trust_from included)")
    func unparsablePAI() {
        for broken in ["<sip:0911000111@trunk", "not an address <", "<>"] {
            let request = invite([(.pAssertedIdentity, broken)])
            #expect(CallerIdentity(request: request, peerTrusted: true) == CallerIdentity(number: "0975000888", trust: .unverified), "\(broken)")
            #expect(CallerIdentity(request: request, peerTrusted: true, trustFrom: true).trust == .unverified, "\(broken)")
        }
        // A parsable anonymous assertion withholds the number.
        #expect(CallerIdentity(request: invite([(.pAssertedIdentity, "<sip:anonymous@anonymous.invalid>")]), peerTrusted: true).trust == .withheld)
    }

    @Test("an untrusted peer's PAI is ignored: From, unverified; Remote-Party-ID only when enabled")
    func untrusted() {
        let request = invite([(.pAssertedIdentity, "<sip:0911000111@trunk>"), (.remotePartyID, "<sip:0922000222@trunk>;party=calling")])
        #expect(CallerIdentity(request: request, peerTrusted: false) == CallerIdentity(number: "0975000888", trust: .unverified))
        #expect(CallerIdentity(request: request, peerTrusted: false, useRemotePartyID: true) == CallerIdentity(number: "0922000222", trust: .unverified))
    }

    @Test("Privacy: id and anonymous identities withhold the number")
    func withheld() {
        #expect(CallerIdentity(request: invite([(.privacy, "id")]), peerTrusted: true).trust == .withheld)
        #expect(CallerIdentity(request: invite([], from: "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1"), peerTrusted: true) == CallerIdentity(number: nil, trust: .withheld))
        #expect(CallerIdentity(request: invite([], from: "<sip:alice@example.com>;tag=1"), peerTrusted: false) == CallerIdentity(number: nil, trust: .withheld))
    }

    @Test("the called number is the Request-URI user part")
    func called() {
        #expect(CallerIdentity.calledNumber(of: invite([])) == "+886229996666")
    }

    @Test("networks match their addresses, IPv4-mapped IPv6 included, and reject malformed prefixes")
    func networks() throws {
        let lan = try #require(IPNetwork("10.1.0.0/16"))
        #expect(lan.contains(try SocketAddress(ipAddress: "10.1.200.3", port: 5060)))
        #expect(!lan.contains(try SocketAddress(ipAddress: "10.2.0.1", port: 5060)))
        #expect(lan.contains(try SocketAddress(ipAddress: "::ffff:10.1.0.9", port: 5060)))
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        #expect(v6.contains(try SocketAddress(ipAddress: "2001:db8:1::5", port: 1)))
        #expect(!v6.contains(try SocketAddress(ipAddress: "2001:db9::5", port: 1)))
        #expect(IPNetwork("203.0.113.9")?.contains(try SocketAddress(ipAddress: "203.0.113.9", port: 1)) == true)
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("example.com/8") == nil)
        #expect(IPNetwork("10.1.0.0/16")?.description == "10.1.0.0/16")
    }
}

extension SIPRequest {
    /// An INVITE from 198.51.100.7 to the system number with `from` and the `extra` headers: what
    /// the caller-ID readers (CallerIdentity, Verstat) are given in their tests.
    static func callerIDInvite(_ extra: [(SIPHeaderName, String)], from: String) -> SIPRequest {
        var headers = SIPHeaders()
        headers.add(.via, "SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKx")
        headers.add(.from, from)
        headers.add(.to, "<sip:+886229996666@gw>")
        headers.add(.callID, "c")
        headers.add(.cseq, "1 INVITE")
        for (name, value) in extra { headers.add(name, value) }
        return SIPRequest(method: .invite, uriText: "sip:+886229996666@127.0.0.1", headers: headers)
    }
}
