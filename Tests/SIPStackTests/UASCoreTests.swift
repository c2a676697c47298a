import Foundation
import SIPMessage
import Testing
@testable import SIPStack

@Suite("UAS core (RFC 3261 §8.2, §9.2, §11.2)")
struct UASCoreTests {
    let core = UASCore()

    func request(_ method: String, uri: String = "sip:bob@biloxi.example.com", extra: String = "", cseqMethod: String? = nil) throws -> SIPRequest {
        try Fixture.request(
            """
            \(method) \(uri) SIP/2.0
            Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKcore1
            Max-Forwards: 70
            To: <sip:bob@biloxi.example.com>
            From: <sip:alice@atlanta.example.com>;tag=88
            Call-ID: core-test@atlanta
            CSeq: 7 \(cseqMethod ?? method)
            \(extra)Content-Length: 0


            """)
    }

    func respond(_ decision: UASCore.Decision) -> SIPResponse? {
        if case .respond(let response) = decision { return response }
        return nil
    }

    @Test("OPTIONS → 200 with Allow, Accept, Supported and our To tag")
    func options() throws {
        let response = try #require(respond(core.requestReceived(try request("OPTIONS"), toTag: "ours")))
        #expect(response.statusCode == 200)
        #expect(response.headers[.allow] == "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO")
        #expect(response.headers[.accept] == "application/sdp")
        #expect(response.headers.contains(.supported))
        #expect(try response.headers.to().tag == "ours")
        #expect(try response.headers.cseq() == SIPCSeq(7, .options))
    }

    @Test("OPTIONS with Max-Forwards 0 is answered normally by a UA (RFC 4475 zeromf); 483 only when forwarding")
    func maxForwardsZero() throws {
        let zero = try request("OPTIONS").withHeader(.maxForwards, "0")
        #expect(respond(core.requestReceived(zero, toTag: "t"))?.statusCode == 200)
        let invite = try request("INVITE").withHeader(.maxForwards, "0")
        #expect(respond(core.requestReceived(invite, toTag: "t", willForward: true))?.statusCode == 483)
        #expect(core.requestReceived(invite, toTag: "t") == .passToTU)
    }

    @Test("Unknown method 501; known but not allowed 405 with Allow")
    func methods() throws {
        let unknown = try #require(respond(core.requestReceived(try request("FOOBAR"), toTag: "t")))
        #expect(unknown.statusCode == 501)
        let notAllowed = try #require(respond(core.requestReceived(try request("SUBSCRIBE"), toTag: "t")))
        #expect(notAllowed.statusCode == 405)
        #expect(notAllowed.headers[.allow] == "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO")
    }

    @Test("Unknown Require → 420 with Unsupported; unknown body type → 415 with Accept; tel/sip only → 416")
    func extensionsBodiesSchemes() throws {
        let require = try #require(respond(core.requestReceived(try request("INVITE", extra: "Require: nonsense\n"), toTag: "t")))
        #expect(require.statusCode == 420)
        #expect(require.headers[.unsupported] == "nonsense")
        let body = try Fixture.request(
            Fixture.invite.replacingOccurrences(of: "Content-Length: 0\n\n", with: "Content-Type: application/x-unknown\nContent-Length: 4\n\nabcd")
        )
        let unsupportedBody = try #require(respond(core.requestReceived(body, toTag: "t")))
        #expect(unsupportedBody.statusCode == 415)
        #expect(unsupportedBody.headers[.accept]?.contains("application/sdp") == true)
        let scheme = try #require(respond(core.requestReceived(try request("INVITE", uri: "mailto:bob@example.com"), toTag: "t")))
        #expect(scheme.statusCode == 416)
    }

    @Test("A valid INVITE, BYE or INFO goes to the TU")
    func passes() throws {
        #expect(core.requestReceived(try request("INVITE"), toTag: "t") == .passToTU)
        #expect(core.requestReceived(try request("INFO"), toTag: "t") == .passToTU)
    }

    @Test("CANCEL: 200 to CANCEL and 487 to a proceeding INVITE; 481 when nothing matches; no 487 after a final")
    func cancel() throws {
        let invite = try request("INVITE")
        var transaction = ServerInviteTransaction(isReliable: false)
        _ = transaction.start()
        let cancel = try request("CANCEL")
        let (cancelResponse, inviteResponse) = core.cancelReceived(cancel, invite: (invite, transaction), toTag: "t")
        #expect(cancelResponse.statusCode == 200)
        #expect(try cancelResponse.headers.cseq() == SIPCSeq(7, .cancel))
        let terminated = try #require(inviteResponse)
        #expect(terminated.statusCode == 487)
        #expect(try terminated.headers.cseq() == SIPCSeq(7, .invite))
        #expect(try terminated.headers.to().tag == "t")
        // The 487 drives the INVITE transaction to Completed, and the shell sends it.
        #expect(transaction.responseSent(statusCode: terminated.statusCode) == [
            .sendResponse(statusCode: 487), .startTimer(.timerG, after: .milliseconds(500)), .startTimer(.timerH, after: .seconds(32)),
        ])
        #expect(core.cancelReceived(cancel, invite: (invite, transaction), toTag: "t").inviteResponse == nil)
        #expect(core.cancelReceived(cancel, invite: nil, toTag: "t").cancelResponse.statusCode == 481)
    }

    @Test("CANCEL matches its INVITE server transaction by key (§9.2)")
    func cancelKey() throws {
        let inviteKey = try TransactionKey(serverRequest: try request("INVITE"))
        let cancelKey = try TransactionKey(serverRequest: try request("CANCEL"))
        #expect(cancelKey != inviteKey)
        #expect(cancelKey.invitePeerOfCancel() == inviteKey)
    }

    @Test("In-dialog: INFO, BYE, OPTIONS answered 200; lower CSeq 500; re-INVITE left to the TU")
    func inDialog() throws {
        var dialog = try Dialog(uacRequest: try Fixture.request(Fixture.invite), response: try Fixture.response(Fixture.ok()))
        let info = try Fixture.request(Fixture.inDialogFromBob(method: "INFO", cseq: 5))
        #expect(core.inDialogResponse(to: info, outcome: dialog.requestReceived(info))?.statusCode == 200)
        let options = try Fixture.request(Fixture.inDialogFromBob(method: "OPTIONS", cseq: 6))
        let optionsResponse = try #require(core.inDialogResponse(to: options, outcome: dialog.requestReceived(options)))
        #expect(optionsResponse.statusCode == 200)
        #expect(try optionsResponse.headers.to().tag == "1928301774")
        let old = try Fixture.request(Fixture.inDialogFromBob(method: "INFO", cseq: 4))
        #expect(core.inDialogResponse(to: old, outcome: dialog.requestReceived(old))?.statusCode == 500)
        let reinvite = try Fixture.request(Fixture.inDialogFromBob(method: "INVITE", cseq: 7, contact: "<sip:bob@192.0.2.4>"))
        #expect(core.inDialogResponse(to: reinvite, outcome: dialog.requestReceived(reinvite)) == nil)
        #expect(dialog.state == .confirmed)
        let bye = try Fixture.request(Fixture.inDialogFromBob(method: "BYE", cseq: 8))
        #expect(core.inDialogResponse(to: bye, outcome: dialog.requestReceived(bye))?.statusCode == 200)
        #expect(dialog.state == .terminated)
    }
}

extension SIPRequest {
    func withHeader(_ name: SIPHeaderName, _ value: String) -> SIPRequest {
        var copy = self
        copy.headers.replaceOrAdd(name, value)
        return copy
    }
}
