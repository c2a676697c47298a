import Foundation
import SIPMessage
import Testing
@testable import SIPStack

@Suite("Dialog (RFC 3261 §12)")
struct DialogTests {
    let via = SIPVia(transport: "UDP", host: "pc33.atlanta.example.com", port: 5060, branch: "z9hG4bKnew1")

    @Test("UAC: a 180 with a To tag creates an early dialog; the 2xx confirms it; route set reversed")
    func uacEarlyThenConfirmed() throws {
        let invite = try Fixture.request(Fixture.invite)
        var dialog = try Dialog(uacRequest: invite, response: try Fixture.response(Fixture.ringing))
        #expect(dialog.state == .early)
        #expect(dialog.role == .uac)
        #expect(dialog.id == Dialog.ID(callID: "a84b4c76e66710@pc33.atlanta.example.com", localTag: "1928301774", remoteTag: "a6c85cf"))
        #expect(dialog.routeSet.map(\.uri.description) == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"])
        #expect(dialog.remoteTarget.description == "sip:bob@192.0.2.4")
        #expect(dialog.localSequence == 314159)
        #expect(dialog.remoteSequence == nil)
        let ok = try Fixture.response(Fixture.ok(contact: "<sip:bob@192.0.2.44:5070>"))
        #expect(Dialog.ID(incomingResponse: ok) == dialog.id)
        dialog.responseReceived(ok)
        #expect(dialog.state == .confirmed)
        #expect(dialog.remoteTarget.description == "sip:bob@192.0.2.44:5070")
    }

    @Test("UAC: a 2xx creates a confirmed dialog; a non-2xx ends an early one; 1xx without tag cannot create")
    func uacCreation() throws {
        let invite = try Fixture.request(Fixture.invite)
        let dialog = try Dialog(uacRequest: invite, response: try Fixture.response(Fixture.ok()))
        #expect(dialog.state == .confirmed)
        var early = try Dialog(uacRequest: invite, response: try Fixture.response(Fixture.ringing))
        early.responseReceived(try Fixture.response(Fixture.ok().replacingOccurrences(of: "200 OK", with: "486 Busy Here")))
        #expect(early.state == .terminated)
        let noTag = Fixture.ringing.replacingOccurrences(of: ";tag=a6c85cf", with: "")
        #expect(throws: SIPStackError.self) { try Dialog(uacRequest: invite, response: try Fixture.response(noTag)) }
    }

    @Test("In-dialog requests: loose routing keeps the remote target as Request-URI and the route set as Route; CSeq increments; ACK reuses the INVITE's")
    func looseRouting() throws {
        var dialog = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: try Fixture.response(Fixture.ok()))
        let ack = dialog.makeACK(via: via)
        #expect(ack.method == .ack)
        #expect(ack.uriText == "sip:bob@192.0.2.4")
        #expect(try ack.headers.cseq() == SIPCSeq(314159, .ack))
        #expect(try ack.headers.route().map(\.uri.description) == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"])
        let bye = try dialog.makeRequest(method: .bye, via: via)
        #expect(try bye.headers.cseq() == SIPCSeq(314160, .bye))
        #expect(try bye.headers.to().tag == "a6c85cf")
        #expect(try bye.headers.from().tag == "1928301774")
        #expect(try bye.headers.callID() == "a84b4c76e66710@pc33.atlanta.example.com")
        let info = try dialog.makeRequest(method: .info, via: via)
        #expect(try info.headers.cseq().sequence == 314161)
        // Serialized and parsed again, the request is the same.
        #expect(try SIPMessageParser().parseDatagram(SIPMessage.request(info).serialized) == .request(info))
    }

    @Test("Strict routing (§12.2.1.1): first route becomes the Request-URI, remote target the last Route")
    func strictRouting() throws {
        let ok = try Fixture.response(Fixture.ok(recordRoute: "<sip:strict.example.com;transport=udp>, <sip:p1.example.com;lr>"))
        var dialog = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: ok)
        // Reversed: p1 first (loose). Make a UAS-like strict first hop instead.
        #expect(dialog.routing().requestURI.description == "sip:bob@192.0.2.4")
        let ok2 = try Fixture.response(Fixture.ok(recordRoute: "<sip:p1.example.com;lr>, <sip:strict.example.com;transport=udp>"))
        dialog = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: ok2)
        let (uri, routes) = dialog.routing()
        #expect(uri.description == "sip:strict.example.com")
        #expect(routes.map(\.uri.description) == ["sip:p1.example.com;lr", "sip:bob@192.0.2.4"])
        let reinvite = try dialog.makeRequest(method: .invite, via: via)
        #expect(reinvite.uriText == "sip:strict.example.com")
    }

    @Test("UAS: dialog from the INVITE with our tag; route set in order; remote CSeq checks (500 on lower); re-INVITE refreshes the target; BYE ends it")
    func uasSide() throws {
        let invite = try Fixture.request(Fixture.invite)
        var dialog = try Dialog(
            uasRequest: invite, localTag: "ourtag", confirmed: false,
            localContact: SIPNameAddress(uri: .sip(SIPURI(user: "bob", host: "192.0.2.4", port: 5080)))
        )
        #expect(dialog.state == .early)
        #expect(dialog.routeSet.map(\.uri.description) == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"])
        #expect(dialog.remoteTarget.description == "sip:alice@pc33.atlanta.example.com")
        #expect(dialog.remoteSequence == 314159)
        #expect(dialog.localSequence == nil)
        #expect(dialog.id == Dialog.ID(callID: "a84b4c76e66710@pc33.atlanta.example.com", localTag: "ourtag", remoteTag: "1928301774"))
        dialog.finalResponseSent(statusCode: 200)
        #expect(dialog.state == .confirmed)

        func fromAlice(_ method: String, _ cseq: UInt32, contact: String? = nil) throws -> SIPRequest {
            try Fixture.request(
                """
                \(method) sip:bob@192.0.2.4 SIP/2.0
                Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa\(cseq)\(method)
                Max-Forwards: 70
                From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
                To: Bob <sip:bob@biloxi.example.com>;tag=ourtag
                Call-ID: a84b4c76e66710@pc33.atlanta.example.com
                CSeq: \(cseq) \(method)
                \(contact.map { "Contact: \($0)\n" } ?? "")Content-Length: 0


                """)
        }
        let ack = try fromAlice("ACK", 314159)
        #expect(Dialog.ID(incomingRequest: ack) == dialog.id)
        #expect(dialog.requestReceived(ack) == .accepted(refreshedTarget: false))
        #expect(dialog.requestReceived(try fromAlice("INFO", 314160)) == .accepted(refreshedTarget: false))
        #expect(dialog.requestReceived(try fromAlice("OPTIONS", 314158)) == .rejected(statusCode: 500))
        // Hold: re-INVITE with a new Contact; the dialog stays confirmed and the target moves.
        #expect(dialog.requestReceived(try fromAlice("INVITE", 314161, contact: "<sip:alice@198.51.100.7:5062>")) == .accepted(refreshedTarget: true))
        #expect(dialog.state == .confirmed)
        #expect(dialog.remoteTarget.description == "sip:alice@198.51.100.7:5062")
        #expect(dialog.remoteSequence == 314161)
        let holdAnswer = dialog.makeResponse(to: try fromAlice("INVITE", 314161), statusCode: 200)
        #expect(try holdAnswer.headers.to().tag == "ourtag")
        #expect(holdAnswer.headers[.contact] == "<sip:bob@192.0.2.4:5080>")
        #expect(dialog.makeResponse(to: try fromAlice("INFO", 314161), statusCode: 200).headers[.contact] == nil)
        // Resume: another re-INVITE keeps the call.
        #expect(dialog.requestReceived(try fromAlice("INVITE", 314162, contact: "<sip:alice@198.51.100.7:5062>")) == .accepted(refreshedTarget: true))
        #expect(dialog.state == .confirmed)
        // Our own requests start a local sequence.
        let bye = try dialog.makeRequest(method: .bye, via: via)
        #expect(try bye.headers.cseq().sequence == 1)
        #expect(bye.uriText == "sip:alice@198.51.100.7:5062")
        #expect(try bye.headers.from().tag == "ourtag")
        // BYE from the peer ends the dialog; later requests get 481.
        #expect(dialog.requestReceived(try fromAlice("BYE", 314163)) == .accepted(refreshedTarget: false))
        #expect(dialog.state == .terminated)
        #expect(dialog.requestReceived(try fromAlice("INFO", 314164)) == .rejected(statusCode: 481))
        #expect(throws: SIPStackError.self) { _ = try dialog.makeRequest(method: .info, via: via) }
    }

    @Test("UAS: a non-2xx final ends the early dialog; a request without Contact cannot create one")
    func uasRejected() throws {
        var dialog = try Dialog(uasRequest: try Fixture.request(Fixture.invite), localTag: "t", confirmed: false)
        dialog.finalResponseSent(statusCode: 486)
        #expect(dialog.state == .terminated)
        let noContact = Fixture.invite.replacingOccurrences(of: "Contact: <sip:alice@pc33.atlanta.example.com>\n", with: "")
        #expect(throws: SIPStackError.self) { try Dialog(uasRequest: try Fixture.request(noContact), localTag: "t", confirmed: false) }
    }

    @Test("UAC: BYE from the peer (UAS) ends our dialog; 481 to our request ends it too")
    func byeFromPeer() throws {
        var dialog = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: try Fixture.response(Fixture.ok()))
        #expect(dialog.requestReceived(try Fixture.request(Fixture.inDialogFromBob(method: "BYE", cseq: 1))) == .accepted(refreshedTarget: false))
        #expect(dialog.state == .terminated)
        var other = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: try Fixture.response(Fixture.ok()))
        other.responseReceived(try Fixture.response(Fixture.ok(cseq: "314160 INFO").replacingOccurrences(of: "200 OK", with: "481 Call/Transaction Does Not Exist")))
        #expect(other.state == .terminated)
    }
}

