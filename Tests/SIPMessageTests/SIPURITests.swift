import SIPMessage
import Testing

@Suite("URIs and addresses")
struct SIPURITests {
    /// (text, canonical re-serialization) — canonical differs only where escapes are normalized.
    static let roundTrips: [(String, String)] = [
        ("sip:alice@atlanta.com", "sip:alice@atlanta.com"),
        ("sip:alice:secretword@atlanta.com;transport=tcp", "sip:alice:secretword@atlanta.com;transport=tcp"),
        ("sips:alice@atlanta.com?subject=project%20x&priority=urgent", "sips:alice@atlanta.com?subject=project%20x&priority=urgent"),
        ("sip:+1-212-555-1212:1234@gateway.com;user=phone", "sip:+1-212-555-1212:1234@gateway.com;user=phone"),
        ("sips:1212@gateway.com", "sips:1212@gateway.com"),
        ("sip:alice@192.0.2.4", "sip:alice@192.0.2.4"),
        ("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com"),
        ("sip:alice;day=tuesday@atlanta.com", "sip:alice;day=tuesday@atlanta.com"),
        ("sip:[2001:db8::10]:5070;lr", "sip:[2001:db8::10]:5070;lr"),
        ("sip:%61lice@atlanta.com", "sip:alice@atlanta.com"),
        ("sip:user@host;n%61me=v%61lue%25", "sip:user@host;name=value%25"),
        ("tel:+1-201-555-0123", "tel:+1-201-555-0123"),
        ("tel:7042;phone-context=example.com", "tel:7042;phone-context=example.com"),
        ("tel:+358-555-1234567;postd=pp22", "tel:+358-555-1234567;postd=pp22"),
        ("urn:service:sos", "urn:service:sos"),
    ]

    @Test("parse and serialize", arguments: roundTrips.indices)
    func roundTrip(_ i: Int) throws {
        let (text, canonical) = Self.roundTrips[i]
        let uri = try SIPAnyURI(parsing: text)
        #expect(uri.description == canonical)
        #expect(try SIPAnyURI(parsing: uri.description) == uri)
    }

    @Test("components")
    func components() throws {
        let u = try SIPURI(parsing: "sips:alice:pw@[2001:db8::1]:5061;transport=TLS;lr;maddr=239.255.255.1?Subject=hi")
        #expect(u.isSecure && u.user == "alice" && u.password == "pw" && u.host == "2001:db8::1" && u.port == 5061)
        #expect(u.transport == "tls" && u.isLooseRouting && u.maddr == "239.255.255.1")
        #expect(u.headers == [.init(name: "Subject", value: "hi")])
        let t = try #require({ if case .tel(let t) = try SIPAnyURI(parsing: "tel:+1-(201)-555.0123;ext=1") { return t }; return nil }())
        #expect(t.isGlobal && t.digits == "+12015550123" && t.parameters["ext"] == "1")
        #expect(SIPURI(user: "a b", host: "h").description == "sip:a%20b@h")
    }

    static let badURIs = [
        "", "sip:", "sip:@host", "sip:user@", "sip:user@host:99999", "sip:user@host:", "sip:us er@host", "sip:user@[::1",
        "sip:user@host;=x", "sip:user@host?x", "sip:user@ho%zzst", "sip:a%4@h", "tel:", "tel:abc", "tel:1234", "<sip:a@b>", "1sip:a@b", "http:",
    ]

    @Test("malformed URIs are errors", arguments: badURIs)
    func bad(_ text: String) {
        #expect { try SIPAnyURI(parsing: text) } throws: { ($0 as? SIPParseError)?.code == .invalidURI }
    }

    static let addresses: [(String, String?, String, String?)] = [
        ("\"Alice\" <sip:alice@atlanta.com>;tag=88sja8x", "Alice", "sip:alice@atlanta.com", "88sja8x"),
        ("Bob <sip:bob@biloxi.com>", "Bob", "sip:bob@biloxi.com", nil),
        ("The Operator <sip:op@x.org>;tag=1", "The Operator", "sip:op@x.org", "1"),
        ("sip:carol@chicago.com;tag=5", nil, "sip:carol@chicago.com", "5"),
        ("<sip:c@d;lr>", nil, "sip:c@d;lr", nil),
        ("\"a \\\"q\\\" b\"<tel:+15551234567>", "a \"q\" b", "tel:+15551234567", nil),
    ]

    @Test("name-addr and addr-spec", arguments: addresses.indices)
    func nameAddr(_ i: Int) throws {
        let (text, display, uri, tag) = Self.addresses[i]
        let a = try SIPNameAddress(parsing: text)
        #expect(a.displayName == display && a.uri.description == uri && a.tag == tag)
        #expect(try SIPNameAddress(parsing: a.description) == a)
    }

    static let badAddresses = ["\"open <sip:a@b>", "Bell, A <sip:a@b>", "< sip:a@b>", "sip:a@b?x=y", "<sip:a@b", "<sip:a@b>;", "<sip:a@b>;tag=\"x"]

    @Test("malformed addresses are errors", arguments: badAddresses)
    func badAddress(_ text: String) {
        #expect(throws: SIPParseError.self) { try SIPNameAddress(parsing: text) }
    }

    @Test("header names fold case and compact forms")
    func headerNames() {
        #expect(SIPHeaderName("v") == .via && SIPHeaderName("VIA") == .via && SIPHeaderName("i") == .callID)
        #expect(SIPHeaderName("m") == .contact && SIPHeaderName("f") == .from && SIPHeaderName("t") == .to)
        #expect(SIPHeaderName("l") == .contentLength && SIPHeaderName("c") == .contentType && SIPHeaderName("k") == .supported)
        #expect(SIPHeaderName("s") == .subject && SIPHeaderName("e") == .contentEncoding && SIPHeaderName("o") == .event && SIPHeaderName("u") == .allowEvents)
        #expect(SIPHeaderName("www-authenticate") == .wwwAuthenticate && SIPHeaderName("X-Foo") == SIPHeaderName("x-foo"))
        #expect(SIPHeaderName("X-Foo") != .via && SIPHeaderName("Call-ID").description == "Call-ID")
    }

    @Test("methods")
    func methods() {
        #expect(SIPMethod("INVITE") == .invite && SIPMethod("invite") == .extension("invite"))
        for m in SIPMethod.known { #expect(SIPMethod(m.description) == m) }
    }

    @Test("Privacy, Remote-Party-ID, Proxy-Authorization, Contact *")
    func otherHeaders() throws {
        let h = SIPHeaders([
            (.privacy, "id;user"),
            (.remotePartyID, "\"Joe\" <sip:+15551112222@gw.example.com>;party=calling;screen=yes;privacy=off"),
            (.proxyAuthorization, "Digest username=\"bob\", realm=\"x\", nonce=\"n\", uri=\"sip:a@b\", response=\"abc\", qop=auth, nc=00000001, cnonce=\"c\""),
            (.contact, "*"),
            (.expires, "0"),
        ])
        #expect(try h.privacy() == ["id", "user"])
        let rpid = try #require(try h.remotePartyID().first)
        #expect(rpid.parameters["party"] == "calling" && rpid.parameters["screen"] == "yes")
        let pa = try #require(try h.proxyAuthorization().first)
        #expect(pa["username"] == "bob" && pa["qop"] == "auth" && pa["nc"] == "00000001")
        #expect(try h.contact() == .all)
        #expect(try h.expires() == 0)
    }
}
