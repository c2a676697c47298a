import Foundation
import SIPMessage
import Testing
@testable import SIPStack

@Suite("CANCEL flows (RFC 3261 §9)")
struct CancelFlowTests {
    @Test("UAC: CANCEL only after a 1xx; its own non-INVITE transaction; the 487 is ACKed by the INVITE transaction")
    func clientCancel() throws {
        let invite = try Fixture.request(Fixture.invite)
        var inviteTransaction = ClientInviteTransaction(isReliable: false)
        _ = inviteTransaction.start()
        #expect(!inviteTransaction.canCancel)
        _ = inviteTransaction.responseReceived(statusCode: 180)
        #expect(inviteTransaction.canCancel)

        let cancel = RequestBuilders.cancel(for: invite)
        var cancelTransaction = ClientNonInviteTransaction(isReliable: false)
        #expect(cancelTransaction.start() == [.sendRequest, .startTimer(.timerE, after: .milliseconds(500)), .startTimer(.timerF, after: .seconds(32))])
        var table = TransactionTable<String, Int>()
        try table.insert(1, for: try TransactionKey(clientRequest: invite), from: "peer")
        try table.insert(2, for: try TransactionKey(clientRequest: cancel), from: "peer")

        // The 200 to CANCEL and the 487 to INVITE each find their transaction.
        let cancelOK = try Fixture.response(Fixture.ok(cseq: "314159 CANCEL"))
        let terminated = try Fixture.response(Fixture.ringing.replacingOccurrences(of: "180 Ringing", with: "487 Request Terminated"))
        #expect(table[try TransactionKey(clientResponse: cancelOK)] == 2)
        #expect(table[try TransactionKey(clientResponse: terminated)] == 1)
        #expect(cancelTransaction.responseReceived(statusCode: 200).contains(.passResponseToTU(statusCode: 200)))
        let actions = inviteTransaction.responseReceived(statusCode: 487)
        #expect(actions.contains(.sendACK(statusCode: 487)))
        let ack = RequestBuilders.ackForNonSuccess(invite: invite, response: terminated)
        #expect(try ack.headers.cseq() == SIPCSeq(314159, .ack))
        #expect(try ack.headers.topVia().branch == "z9hG4bK776asdhds")
    }

    @Test("UAS: CANCEL arrives while ringing; 200 to CANCEL, 487 completes the INVITE, the ACK confirms it, Timer I ends it")
    func serverCancel() throws {
        let invite = try Fixture.request(Fixture.invite)
        var transaction = ServerInviteTransaction(isReliable: false)
        var table = TransactionTable<String, ServerInviteTransaction>()
        let inviteKey = try TransactionKey(serverRequest: invite)
        #expect(transaction.start() == [.passRequestToTU, .sendTrying])
        #expect(transaction.responseSent(statusCode: 180) == [.sendResponse(statusCode: 180)])
        try table.insert(transaction, for: inviteKey, from: "peer")

        let cancel = RequestBuilders.cancel(for: invite)
        let peerKey = try #require(try TransactionKey(serverRequest: cancel).invitePeerOfCancel())
        let matched = try #require(table[peerKey])
        let (cancelResponse, inviteResponse) = UASCore().cancelReceived(cancel, invite: (invite, matched), toTag: "uas1")
        #expect(cancelResponse.statusCode == 200)
        let response487 = try #require(inviteResponse)
        #expect(transaction.responseSent(statusCode: response487.statusCode).first == .sendResponse(statusCode: 487))
        let ack = RequestBuilders.ackForNonSuccess(invite: invite, response: response487)
        #expect(try TransactionKey(serverRequest: ack) == inviteKey)
        #expect(transaction.ackReceived() == [.cancelTimer(.timerG), .cancelTimer(.timerH), .startTimer(.timerI, after: .seconds(5))])
        #expect(transaction.timerFired(.timerI) == [.terminate])
        table.remove(inviteKey)
        #expect(table.count == 0)
    }
}
