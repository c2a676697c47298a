import SIPMessage
import Testing
@testable import SIPStack

@Suite("InviteSession, incoming (RFC 3261 §13.3, §9.2, §17.2.1)")
struct InviteSessionIncomingTests {
    typealias S = SessionFixture

    func session(_ invite: SIPRequest? = nil) throws -> InviteSession {
        InviteSession(incoming: try invite ?? S.invite(), localTag: "bob1", localContact: S.bobContact)
    }

    @Test("ring sends the provisional and makes the early dialog with our tag (§12.1.1); only 101–199")
    func ring() throws {
        var session = try session()
        #expect(session.ring(statusCode: 200) == [])
        #expect(session.state == .inviting)
        #expect(session.ring(statusCode: 180) == [.sendProvisional(statusCode: 180)])
        #expect(session.state == .early)
        let dialog = try #require(session.dialog)
        #expect(dialog.state == .early)
        #expect(dialog.id.localTag == "bob1")
        #expect(dialog.id.remoteTag == "1928301774")
        #expect(session.ring(statusCode: 183) == [.sendProvisional(statusCode: 183)])
    }

    @Test("answer sends the 2xx and confirms the dialog (§13.3.1.4); later answers, rings and rejections do nothing")
    func answer() throws {
        var session = try session()
        _ = session.ring(statusCode: 180)
        #expect(session.answer() == [.sendAnswer])
        #expect(session.state == .confirmed)
        #expect(session.dialog?.state == .confirmed)
        #expect(session.answer() == [])
        #expect(session.ring(statusCode: 180) == [])
        #expect(session.reject(statusCode: 486) == [])
        #expect(session.cancelReceived() == [])
        #expect(session.state == .confirmed)
    }

    @Test("An INVITE without Contact makes no dialog: answering refuses it with 400 (§12.1.1)")
    func answerWithoutContact() throws {
        var session = try session(S.inviteWithoutContact())
        #expect(session.answer() == [.sendFinalResponse(statusCode: 400, reasonPhrase: "Missing Contact"), .end(.rejected(statusCode: 400))])
        #expect(session.isTerminated)
    }

    @Test("reject sends the failure and ends at once when no ACK is awaited (§13.3.1.3)")
    func reject() throws {
        var session = try session()
        #expect(session.reject(statusCode: 486, reasonPhrase: "Busy Here") == [
            .sendFinalResponse(statusCode: 486, reasonPhrase: "Busy Here"), .end(.rejected(statusCode: 486)),
        ])
        #expect(session.failureACKReceived() == [])
    }

    @Test("hang-up before the answer is a 480 rejection")
    func hangUpUnanswered() throws {
        var session = try session()
        _ = session.ring(statusCode: 180)
        #expect(session.hangUp() == [.sendFinalResponse(statusCode: 480, reasonPhrase: nil), .end(.rejected(statusCode: 480))])
    }

    @Test("Awaiting the failure ACK: reject keeps the session until the ACK, which is reported, then the end (§17.2.1)")
    func rejectAwaitsACK() throws {
        var session = try session()
        session.awaitFailureACK()
        _ = session.ring(statusCode: 180)
        #expect(session.reject(statusCode: 603) == [.sendFinalResponse(statusCode: 603, reasonPhrase: nil)])
        #expect(session.state == .terminating(.rejected(statusCode: 603), .awaitingACK))
        // The early dialog ended with the failure (§12.3): requests in it get 481.
        #expect(session.dialog?.state == .terminated)
        #expect(session.hangUp() == [])
        #expect(session.failureACKReceived() == [.report(.confirmed), .end(.rejected(statusCode: 603))])
        #expect(session.failureACKReceived() == [])
    }

    @Test("Awaiting the failure ACK: Timer H of the real server transaction ends it as timeout (§17.2.1)")
    func timerHEnds() throws {
        var session = try session()
        var transaction = ServerInviteTransaction(isReliable: false)
        var clock = MockClock()
        session.awaitFailureACK()
        clock.apply(transaction.start())
        #expect(session.reject(statusCode: 486) == [.sendFinalResponse(statusCode: 486, reasonPhrase: nil)])
        clock.apply(transaction.responseSent(statusCode: 486))
        var ended: [InviteSession.Action] = []
        while let timer = clock.nextDue(before: .seconds(60)) {
            let actions = transaction.timerFired(timer)
            clock.apply(actions)
            if actions.contains(.reportTimeout) { ended = session.inviteTransactionTimedOut() }
        }
        #expect(clock.now == .seconds(32))
        #expect(ended == [.end(.timeout)])
        #expect(session.state == .terminated(.timeout))
    }

    @Test("The caller's CANCEL ends an unanswered call as cancelled, at once or at the 487's ACK (§9.2, §17.2.1)")
    func cancelled() throws {
        var atOnce = try session()
        _ = atOnce.ring(statusCode: 180)
        #expect(atOnce.cancelReceived() == [.end(.cancelled)])

        var awaiting = try session()
        awaiting.awaitFailureACK()
        #expect(awaiting.cancelReceived() == [])
        #expect(awaiting.state == .terminating(.cancelled, .awaitingACK))
        #expect(awaiting.failureACKReceived() == [.report(.confirmed), .end(.cancelled)])
    }

    @Test("Timer H or a transport error ends an unanswered call, not a confirmed one")
    func transactionFailures() throws {
        var unanswered = try session()
        _ = unanswered.ring(statusCode: 180)
        #expect(unanswered.inviteTransactionTimedOut() == [.end(.timeout)])
        var answered = try session()
        _ = answered.answer()
        #expect(answered.inviteTransactionTimedOut() == [])
        #expect(answered.state == .confirmed)
    }

    @Test("The ACK of our 2xx confirms the call; the ACK of a re-INVITE's 2xx does not (§13.3.1.4, §14.2)")
    func successACK() throws {
        var session = try session()
        #expect(session.successACKReceived() == [])
        _ = session.answer()
        #expect(session.successACKReceived() == [.report(.confirmed)])
        let reinvite = try S.fromAlice(method: "INVITE", cseq: 314160)
        #expect(session.dialogRequestReceived(reinvite) == .accepted(refreshedTarget: true))
        #expect(session.successACKReceived() == [])
    }

    @Test("No ACK for our 2xx within 64·T1: stop resending, BYE, end as timeout (§13.3.1.4)")
    func successACKTimeout() throws {
        var session = try session()
        _ = session.answer()
        #expect(session.successACKTimedOut() == [.stopSuccessRetransmission, .sendBYE])
        #expect(session.state == .terminating(.timeout, .byeSent))
        let bye = try session.makeBYE(via: S.via)
        #expect(try bye.headers.cseq() == SIPCSeq(1, .bye))
        #expect(try bye.headers.to().tag == "1928301774")
        #expect(session.byeCompleted() == [.end(.timeout)])
    }

    @Test("The caller's BYE ends the call as a remote hang-up; a stale CSeq is refused by the dialog (§12.2.2, §15.1.2)")
    func remoteBYE() throws {
        var session = try session()
        _ = session.answer()
        #expect(session.dialogRequestReceived(try S.fromAlice(method: "INFO", cseq: 314161)) == .accepted(refreshedTarget: false))
        #expect(session.dialogRequestReceived(try S.fromAlice(method: "BYE", cseq: 314160)) == .rejected(statusCode: 500))
        #expect(session.dialogRequestReceived(try S.fromAlice(method: "BYE", cseq: 314162)) == .accepted(refreshedTarget: false))
        #expect(session.byeReceived() == [.end(.remoteHangUp)])
    }

    @Test("No dialog before a provisional or answer: in-dialog requests find none")
    func noDialogYet() throws {
        var session = try session()
        #expect(session.dialogRequestReceived(try S.fromAlice(method: "INFO", cseq: 314160)) == nil)
        #expect(throws: SIPStackError.self) { try session.makeRequest(method: .info, via: S.via) }
    }

    @Test("UAC inputs do nothing to an incoming session")
    func outgoingInputsIgnored() throws {
        var session = try session()
        #expect(session.start(ringTime: .seconds(30)) == [])
        #expect(session.responseReceived(try S.ok(), to: try S.invite()) == [])
        #expect(session.ringTimeExpired(canCancel: true) == [])
        #expect(session.state == .inviting)
    }
}
