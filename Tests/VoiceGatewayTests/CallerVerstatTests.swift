import GatewayProtocol
import NIOCore
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("Carriers' caller-ID verification (verstat, 3GPP TS 24.229 §7.2A.20)")
struct CallerVerstatTests {
    private func invite(_ extra: [(SIPHeaderName, String)], from: String = "<sip:+886975000888@198.51.100.7;user=phone>;tag=1") -> SIPRequest {
        .callerIDInvite(extra, from: from)
    }

    private static let twilio = SIPHeaderName("X-Twilio-VerStat")

    @Test("the URI parameter on P-Asserted-Identity (sip: and tel:) or From, and the configured header, in any case")
    func sources() {
        let pai = invite([(.pAssertedIdentity, "<sip:+886975000888@carrier.example;user=phone;verstat=TN-Validation-Passed>")])
        #expect(Verstat.read(from: pai) == .passed)
        let tel = invite([(.pAssertedIdentity, "<tel:+886975000888;verstat=tn-validation-failed>")])
        #expect(Verstat.read(from: tel) == .failed)
        let from = invite([], from: "<sip:+886975000888@carrier.example;verstat=No-TN-Validation>;tag=9")
        #expect(Verstat.read(from: from) == .notValidated)
        let header = invite([(Self.twilio, "TN-Validation-Passed")])
        #expect(Verstat.read(from: header, header: Self.twilio) == .passed)
        // The header counts only when configured; a header parameter outside the URI is not verstat.
        #expect(Verstat.read(from: header) == nil)
        #expect(Verstat.read(from: invite([(.pAssertedIdentity, "<sip:+886975000888@c>;verstat=TN-Validation-Passed")])) == nil)
        #expect(Verstat.read(from: invite([])) == nil)
    }

    @Test("hostile and conflicting values: any Failed wins; Passed only when every value is Passed; junk is No-TN-Validation")
    func conflicts() {
        // PAI Passed, header Failed (or the reverse): Failed.
        let conflicting = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed>"), (Self.twilio, "TN-Validation-Failed")])
        #expect(Verstat.read(from: conflicting, header: Self.twilio) == .failed)
        let reverse = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Failed>"), (Self.twilio, "TN-Validation-Passed")])
        #expect(Verstat.read(from: reverse, header: Self.twilio) == .failed)
        // From says Failed though PAI says Passed: Failed.
        let fromFailed = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed>")],
                                from: "<sip:+886975000888@c;verstat=TN-Validation-Failed>;tag=1")
        #expect(Verstat.read(from: fromFailed) == .failed)
        // Passed beside No-TN-Validation, junk, an empty or valueless parameter: not Passed.
        for other in ["No-TN-Validation", "TN-Validation-Passed-ish", "", String(repeating: "TN-Validation-Passed", count: 400)] {
            let mixed = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed>"), (Self.twilio, other)])
            #expect(Verstat.read(from: mixed, header: Self.twilio) == .notValidated, "\(other.prefix(40))")
        }
        #expect(Verstat.read(from: invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat>")])) == .notValidated)
        // Duplicated Passed (two rows, a comma list, two parameters) stays Passed; one Failed in a list wins.
        let duplicated = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed;verstat=TN-Validation-Passed>"),
                                 (Self.twilio, "TN-Validation-Passed"), (Self.twilio, " tn-validation-passed , TN-VALIDATION-PASSED ")])
        #expect(Verstat.read(from: duplicated, header: Self.twilio) == .passed)
        let listed = invite([(Self.twilio, "TN-Validation-Passed, TN-Validation-Failed")])
        #expect(Verstat.read(from: listed, header: Self.twilio) == .failed)
    }

    @Test("only a trusted peer's verstat is believed; an untrusted one's is kept aside for the log; none for a withheld number")
    func trust() {
        let request = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed>")])
        #expect(CallerIdentity(request: request, peerTrusted: true)
                == CallerIdentity(number: "+886975000888", trust: .asserted, verstat: .passed))
        #expect(CallerIdentity(request: request, peerTrusted: false)
                == CallerIdentity(number: "+886975000888", trust: .unverified, verstat: nil, ignoredVerstat: .passed))
        let header = invite([(Self.twilio, "TN-Validation-Failed")])
        #expect(CallerIdentity(request: header, peerTrusted: true, verstatHeader: Self.twilio).verstat == .failed)
        #expect(CallerIdentity(request: header, peerTrusted: false, verstatHeader: Self.twilio).verstat == nil)
        let withheld = invite([(.pAssertedIdentity, "<sip:+886975000888@c;verstat=TN-Validation-Passed>"), (.privacy, "id")])
        #expect(CallerIdentity(request: withheld, peerTrusted: true) == CallerIdentity(number: nil, trust: .withheld))
    }

    @Test("verstat_header per peer and per trunk; a name that is not a token names its line")
    func conf() throws {
        let conf = try SIPConf.parse("""
            [carrier]
            type = peer
            host = 192.0.2.0/24
            trusted = yes
            verstat_header = X-Twilio-VerStat
            [twilio]
            type = trunk
            host = 198.51.100.10
            trusted = yes
            verstat_header = X-VerStat
            [pbx]
            type = peer
            host = 10.0.0.0/8
            """)
        let gateway = conf.gatewayConfiguration
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "192.0.2.1", port: 5060)).verstatHeader == Self.twilio)
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "198.51.100.10", port: 5060)).verstatHeader == SIPHeaderName("x-verstat"))
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "10.0.0.1", port: 5060)).verstatHeader == nil)
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "203.0.113.1", port: 5060)).verstatHeader == nil)
        for (text, line) in [("[p]\ntype = peer\nhost = 10.0.0.1\nverstat_header = X VerStat\n", 4),
                             ("[t]\ntype = trunk\nhost = 192.0.2.1\nverstat_header = X-VerStat:\n", 4)] {
            var caught: SIPConfError?
            do { _ = try SIPConf.parse(text) } catch { caught = error }
            #expect(caught?.line == line && caught?.description.contains("verstat_header must be") == true, "\(caught.map(\.description) ?? "no error")")
        }
    }
}
