import Testing
@testable import SIPStack

@Suite("ServerNonInviteTransaction (RFC 3261 §17.2.2)")
struct ServerNonInviteTransactionTests {
    let timers = SIPTimers.rfc3261

    @Test("Trying absorbs retransmissions; Proceeding and Completed resend the latest response; Timer J = 64·T1")
    func lifecycle() {
        var tx = ServerNonInviteTransaction(isReliable: false, timers: timers)
        #expect(tx.start() == [.passRequestToTU])
        #expect(tx.requestRetransmissionReceived() == [])
        #expect(tx.responseSent(statusCode: 100) == [.sendResponse(statusCode: 100)])
        #expect(tx.state == .proceeding)
        #expect(tx.requestRetransmissionReceived() == [.sendResponse(statusCode: 100)])
        #expect(tx.responseSent(statusCode: 200) == [.sendResponse(statusCode: 200), .startTimer(.timerJ, after: .seconds(32))])
        #expect(tx.requestRetransmissionReceived() == [.sendResponse(statusCode: 200)])
        #expect(tx.responseSent(statusCode: 500) == [])
        #expect(tx.timerFired(.timerJ) == [.terminate])
        #expect(tx.state == .terminated)
        #expect(tx.requestRetransmissionReceived() == [])
    }

    @Test("Reliable: Timer J zero")
    func reliable() {
        var tx = ServerNonInviteTransaction(isReliable: true, timers: timers)
        _ = tx.start()
        #expect(tx.responseSent(statusCode: 200) == [.sendResponse(statusCode: 200), .startTimer(.timerJ, after: .zero)])
    }

    @Test("Transport error terminates and reports")
    func transportError() {
        var tx = ServerNonInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        _ = tx.responseSent(statusCode: 200)
        #expect(tx.transportErrorOccurred() == [.cancelTimer(.timerJ), .reportTransportError, .terminate])
    }
}
