import Testing
@testable import SIPStack

@Suite("ServerInviteTransaction (RFC 3261 §17.2.1, RFC 6026)")
struct ServerInviteTransactionTests {
    let timers = SIPTimers.rfc3261

    @Test("INVITE passed up with 100 Trying; retransmitted INVITE resends the latest provisional")
    func proceeding() {
        var tx = ServerInviteTransaction(isReliable: false, timers: timers)
        #expect(tx.start() == [.passRequestToTU, .sendTrying])
        #expect(tx.requestRetransmissionReceived() == [.sendTrying])
        #expect(tx.responseSent(statusCode: 180) == [.sendResponse(statusCode: 180)])
        #expect(tx.requestRetransmissionReceived() == [.sendResponse(statusCode: 180)])
        #expect(tx.state == .proceeding)
    }

    @Test("Timer G doubles to T2 until Timer H fires at 64·T1 without an ACK")
    func timerGAndH() {
        var tx = ServerInviteTransaction(isReliable: false, timers: timers)
        var clock = MockClock()
        clock.apply(tx.start())
        let final = tx.responseSent(statusCode: 486)
        #expect(final == [.sendResponse(statusCode: 486), .startTimer(.timerG, after: .milliseconds(500)), .startTimer(.timerH, after: .seconds(32))])
        clock.apply(final)
        var sendTimes: [Duration] = []
        var last: [ServerTransactionAction] = []
        while let timer = clock.nextDue(before: .seconds(100)) {
            last = tx.timerFired(timer)
            clock.apply(last)
            if timer == .timerG {
                #expect(last.first == .sendResponse(statusCode: 486))
                sendTimes.append(clock.now)
            }
        }
        // 0.5, 1.5, 3.5, 7.5, then every 4 s (T2) up to 32 s.
        #expect(Array(sendTimes.prefix(6)) == [500, 1500, 3500, 7500, 11500, 15500].map { Duration.milliseconds($0) })
        #expect(last == [.cancelTimer(.timerG), .reportTimeout, .terminate])
        #expect(clock.now == .seconds(32))
        #expect(tx.state == .terminated)
    }

    @Test("ACK in Completed: Confirmed, ACK retransmissions absorbed, Timer I = T4")
    func confirmedTimerI() {
        var tx = ServerInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        _ = tx.responseSent(statusCode: 404)
        #expect(tx.requestRetransmissionReceived() == [.sendResponse(statusCode: 404)])
        #expect(tx.ackReceived() == [.cancelTimer(.timerG), .cancelTimer(.timerH), .startTimer(.timerI, after: .seconds(5))])
        #expect(tx.state == .confirmed)
        #expect(tx.ackReceived() == [])
        #expect(tx.requestRetransmissionReceived() == [])
        #expect(tx.timerFired(.timerI) == [.terminate])
    }

    @Test("Reliable: no Timer G, Timer I zero")
    func reliable() {
        var tx = ServerInviteTransaction(isReliable: true, timers: timers)
        _ = tx.start(sendTrying: false)
        #expect(tx.responseSent(statusCode: 487) == [.sendResponse(statusCode: 487), .startTimer(.timerH, after: .seconds(32))])
        #expect(tx.ackReceived() == [.cancelTimer(.timerH), .startTimer(.timerI, after: .zero)])
    }

    @Test("2xx: Accepted (RFC 6026): INVITE retransmissions absorbed, ACKs and 2xx retransmissions pass, Timer L ends it")
    func acceptedTimerL() {
        var tx = ServerInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.responseSent(statusCode: 200) == [.sendResponse(statusCode: 200), .startTimer(.timerL, after: .seconds(32))])
        #expect(tx.state == .accepted)
        #expect(tx.requestRetransmissionReceived() == [])
        #expect(tx.responseSent(statusCode: 200) == [.sendResponse(statusCode: 200)])
        #expect(tx.responseSent(statusCode: 486) == [])
        #expect(tx.ackReceived() == [.passACKToTU])
        #expect(tx.transportErrorOccurred() == [.reportTransportError])
        #expect(tx.state == .accepted)
        #expect(tx.timerFired(.timerL) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test("Transport error in Proceeding and Completed")
    func transportErrors() {
        var tx = ServerInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.transportErrorOccurred() == [.reportTransportError, .terminate])
        var tx2 = ServerInviteTransaction(isReliable: false, timers: timers)
        _ = tx2.start()
        _ = tx2.responseSent(statusCode: 500)
        #expect(tx2.transportErrorOccurred() == [.cancelTimer(.timerG), .cancelTimer(.timerH), .reportTransportError, .terminate])
    }
}
