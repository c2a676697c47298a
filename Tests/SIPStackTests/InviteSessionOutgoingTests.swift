import SIPMessage
import Testing
@testable import SIPStack

@Suite("InviteSession, outgoing (RFC 3261 §13.2, §9.1, §15, §22.2)")
struct InviteSessionOutgoingTests {
    typealias S = SessionFixture

    func session(credentials: Bool = false) -> InviteSession {
        InviteSession(outgoingWithCredentials: credentials, localContact: S.aliceContact)
    }

    @Test("start sends the INVITE and starts the ring time, once")
    func start() {
        var session = session()
        #expect(session.start(ringTime: .seconds(30)) == [.sendINVITE, .startTimer(.ringTime, after: .seconds(30))])
        #expect(session.state == .inviting)
        #expect(session.start(ringTime: .seconds(30)) == [])
    }

    @Test("100 makes it early without a report or dialog; 180 with a To tag reports progress and makes the early dialog (§12.1.2)")
    func provisional() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        #expect(session.responseReceived(try S.response("100 Trying", toTag: nil), to: invite) == [])
        #expect(session.state == .early)
        #expect(session.dialog == nil)
        #expect(session.responseReceived(try S.response("180 Ringing"), to: invite) == [.report(.progress(statusCode: 180))])
        let dialog = try #require(session.dialog)
        #expect(dialog.state == .early)
        #expect(dialog.id.remoteTag == "a6c85cf")
        #expect(session.responseReceived(try S.response("183 Session Progress"), to: invite) == [.report(.progress(statusCode: 183))])
        #expect(session.state == .early)
    }

    @Test("2xx: ring time stopped, ACK sent, answered reported, the early dialog confirmed; retransmitted 2xx get the same ACK (§13.2.2.4)")
    func answered() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.response("180 Ringing"), to: invite)
        #expect(session.responseReceived(try S.ok(), to: invite) == [.cancelTimer(.ringTime), .sendACK, .report(.answered)])
        #expect(session.state == .confirmed)
        let dialog = try #require(session.dialog)
        #expect(dialog.state == .confirmed)
        #expect(dialog.remoteTarget.description == "sip:bob@192.0.2.4")
        #expect(session.responseReceived(try S.ok(), to: invite) == [.resendACK])
        // Late provisional and failure responses change nothing once confirmed.
        #expect(session.responseReceived(try S.response("180 Ringing"), to: invite) == [])
        #expect(session.responseReceived(try S.response("500 Server Error"), to: invite) == [])
        #expect(session.state == .confirmed)
    }

    @Test("2xx without a provisional creates the confirmed dialog directly (§12.1.2)")
    func answeredWithoutProvisional() throws {
        var session = session()
        _ = session.start(ringTime: .seconds(30))
        #expect(session.responseReceived(try S.ok(toTag: "other"), to: try S.invite()) == [.cancelTimer(.ringTime), .sendACK, .report(.answered)])
        #expect(session.dialog?.id.remoteTag == "other")
        #expect(session.dialog?.state == .confirmed)
    }

    @Test("A 2xx that makes no dialog (no Contact) is dropped: nothing sent, still inviting")
    func unusable2xx() throws {
        var session = session()
        _ = session.start(ringTime: .seconds(30))
        let noContact = try Fixture.response(Fixture.ok().replacingOccurrences(of: "Contact: <sip:bob@192.0.2.4>\n", with: ""))
        #expect(session.responseReceived(noContact, to: try S.invite()) == [])
        #expect(session.state == .inviting)
        #expect(session.dialog == nil)
    }

    @Test("A final failure ends the session as failed with status and reason (§13.2.2.3); then nothing more")
    func failure() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.response("180 Ringing"), to: invite)
        #expect(session.responseReceived(try S.response("486 Busy Here"), to: invite) == [.end(.failed(statusCode: 486, reason: "Busy Here"))])
        #expect(session.state == .terminated(.failed(statusCode: 486, reason: "Busy Here")))
        #expect(session.responseReceived(try S.ok(), to: invite) == [])
        #expect(session.hangUp() == [])
        #expect(session.ringTimeExpired(canCancel: true) == [])
    }

    @Test("401/407: one retry with credentials, back to inviting; a second challenge is a failure (§22.2)")
    func oneRetryPerCall() throws {
        var session = session(credentials: true)
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.response("100 Trying", toTag: nil), to: invite)
        #expect(session.responseReceived(try S.response("407 Proxy Authentication Required"), to: invite) == [.retryWithCredentials])
        #expect(session.state == .inviting)
        #expect(session.responseReceived(try S.response("401 Unauthorized"), to: invite) == [.end(.failed(statusCode: 401, reason: "Unauthorized"))])
    }

    @Test("401 without credentials, or while cancelling, is a failure; an unusable challenge too")
    func challengeRefused() throws {
        let invite = try S.invite()
        var without = session()
        _ = without.start(ringTime: .seconds(30))
        #expect(without.responseReceived(try S.response("401 Unauthorized"), to: invite) == [.end(.failed(statusCode: 401, reason: "Unauthorized"))])

        var cancelling = session(credentials: true)
        _ = cancelling.start(ringTime: .seconds(30))
        _ = cancelling.hangUp()
        #expect(cancelling.responseReceived(try S.response("401 Unauthorized"), to: invite) == [.end(.failed(statusCode: 401, reason: "Unauthorized"))])

        var unusable = session(credentials: true)
        _ = unusable.start(ringTime: .seconds(30))
        #expect(unusable.responseReceived(try S.response("401 Unauthorized"), to: invite) == [.retryWithCredentials])
        #expect(unusable.retryFailed(statusCode: 401, reasonPhrase: "Unauthorized") == [.end(.failed(statusCode: 401, reason: "Unauthorized"))])
    }

    @Test("Ring time after a provisional: CANCEL at once; the 487 ends it as no answer (§9.1)")
    func ringTimeCancels() throws {
        var session = session()
        var transaction = ClientInviteTransaction(isReliable: false)
        var clock = SessionClock()
        let invite = try S.invite()
        clock.apply(session.start(ringTime: .seconds(30)))
        _ = transaction.start()
        _ = transaction.responseReceived(statusCode: 180)
        _ = session.responseReceived(try S.response("180 Ringing"), to: invite)
        #expect(clock.nextDue(before: .seconds(60)) == .ringTime)
        #expect(clock.now == .seconds(30))
        #expect(session.ringTimeExpired(canCancel: transaction.canCancel) == [.sendCANCEL])
        #expect(session.state == .terminating(.noAnswer, .cancelSent))
        #expect(session.responseReceived(try S.response("487 Request Terminated"), to: invite) == [.end(.noAnswer)])
    }

    @Test("Ring time before any provisional: CANCEL waits for one (§9.1), then goes out with the progress report")
    func cancelWaitsForProvisional() throws {
        var session = session()
        var transaction = ClientInviteTransaction(isReliable: false)
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = transaction.start()
        #expect(session.ringTimeExpired(canCancel: transaction.canCancel) == [])
        #expect(session.state == .terminating(.noAnswer, .cancelPending))
        _ = transaction.responseReceived(statusCode: 180)
        #expect(session.responseReceived(try S.response("180 Ringing"), to: invite) == [.report(.progress(statusCode: 180)), .sendCANCEL])
        #expect(session.state == .terminating(.noAnswer, .cancelSent))
        // A second provisional sends no second CANCEL.
        #expect(session.responseReceived(try S.response("183 Session Progress"), to: invite) == [.report(.progress(statusCode: 183))])
        #expect(session.responseReceived(try S.response("487 Request Terminated"), to: invite) == [.end(.noAnswer)])
    }

    @Test("No response at all: ring time then Timer B end the call as no answer, not timeout (§17.1.1.2)")
    func timerBWhileCancelPending() {
        var session = session()
        var transaction = ClientInviteTransaction(isReliable: false)
        var sessionClock = SessionClock()
        var transactionClock = MockClock()
        sessionClock.apply(session.start(ringTime: .seconds(30)))
        transactionClock.apply(transaction.start())
        #expect(sessionClock.nextDue(before: .seconds(40)) == .ringTime)
        #expect(session.ringTimeExpired(canCancel: transaction.canCancel) == [])
        var ended: [InviteSession.Action] = []
        while let timer = transactionClock.nextDue(before: .seconds(40)) {
            let actions = transaction.timerFired(timer)
            transactionClock.apply(actions)
            if actions.contains(.reportTimeout) { ended = session.inviteTransactionFailed(.timeout) }
        }
        #expect(transactionClock.now == .seconds(32))
        #expect(ended == [.end(.noAnswer)])
        #expect(session.isTerminated)
    }

    @Test("Timer B or a transport error without a cancel ends with that reason")
    func transactionFailures() {
        var timeout = session()
        _ = timeout.start(ringTime: .seconds(30))
        #expect(timeout.inviteTransactionFailed(.timeout) == [.end(.timeout)])
        var broken = session()
        _ = broken.start(ringTime: .seconds(30))
        #expect(broken.inviteTransactionFailed(.transportError) == [.end(.transportError)])
    }

    @Test("CANCEL/2xx race: a 2xx after we decided to cancel is ACKed, then BYE; BYE's answer ends it with our reason (§9.1, §15)")
    func cancelRacesAnswer() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.response("180 Ringing"), to: invite)
        #expect(session.ringTimeExpired(canCancel: true) == [.sendCANCEL])
        #expect(session.responseReceived(try S.ok(), to: invite) == [.cancelTimer(.ringTime), .sendACK, .sendBYE])
        #expect(session.state == .terminating(.noAnswer, .byeSent))
        let bye = try session.makeBYE(via: S.via)
        #expect(bye.method == .bye)
        #expect(try bye.headers.cseq() == SIPCSeq(314160, .bye))
        #expect(try bye.headers.to().tag == "a6c85cf")
        #expect(session.dialog?.state == .terminated)
        // The 2xx again: the same ACK again, no second BYE.
        #expect(session.responseReceived(try S.ok(), to: invite) == [.resendACK])
        #expect(session.byeCompleted() == [.end(.noAnswer)])
    }

    @Test("Hang-up before the answer: ring time stopped, CANCEL; the first reason stands against a later ring time")
    func hangUpBeforeAnswer() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.response("180 Ringing"), to: invite)
        #expect(session.hangUp(canCancel: true) == [.cancelTimer(.ringTime), .sendCANCEL])
        #expect(session.ringTimeExpired(canCancel: true) == [])
        #expect(session.hangUp() == [])
        #expect(session.responseReceived(try S.response("487 Request Terminated"), to: invite) == [.end(.localHangUp)])
    }

    @Test("Hang-up when confirmed: BYE from the dialog with the next CSeq; requests in the dialog then get 481; its answer ends it (§15.1.1)")
    func hangUpConfirmed() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.ok(), to: invite)
        let info = try session.makeRequest(method: .info, via: S.via)
        #expect(try info.headers.cseq() == SIPCSeq(314160, .info))
        #expect(session.hangUp() == [.sendBYE])
        #expect(session.state == .terminating(.localHangUp, .byeSent))
        #expect(try session.makeBYE(via: S.via).headers.cseq() == SIPCSeq(314161, .bye))
        let late = try Fixture.request(Fixture.inDialogFromBob(method: "INFO", cseq: 1))
        #expect(session.dialogRequestReceived(late) == .rejected(statusCode: 481))
        #expect(throws: SIPStackError.self) { try session.makeRequest(method: .info, via: S.via) }
        #expect(session.hangUp() == [])
        #expect(session.byeCompleted() == [.end(.localHangUp)])
        #expect(session.byeCompleted() == [])
    }

    @Test("The callee's BYE ends the call as a remote hang-up (§15.1.2)")
    func remoteBYE() throws {
        var session = session()
        let invite = try S.invite()
        _ = session.start(ringTime: .seconds(30))
        _ = session.responseReceived(try S.ok(), to: invite)
        let bye = try Fixture.request(Fixture.inDialogFromBob(method: "BYE", cseq: 1))
        #expect(session.dialogRequestReceived(bye) == .accepted(refreshedTarget: false))
        #expect(session.byeReceived() == [.end(.remoteHangUp)])
        #expect(session.byeReceived() == [])
    }

    @Test("UAS inputs do nothing to an outgoing session")
    func incomingInputsIgnored() {
        var session = session()
        _ = session.start(ringTime: .seconds(30))
        #expect(session.ring(statusCode: 180) == [])
        #expect(session.answer() == [])
        #expect(session.reject(statusCode: 486) == [])
        #expect(session.cancelReceived() == [])
        #expect(session.successACKReceived() == [])
        #expect(session.state == .inviting)
    }
}
