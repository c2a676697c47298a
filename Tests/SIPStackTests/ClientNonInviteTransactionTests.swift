import Testing
@testable import SIPStack

@Suite("ClientNonInviteTransaction (RFC 3261 §17.1.2)")
struct ClientNonInviteTransactionTests {
    let timers = SIPTimers.rfc3261

    @Test("Timer E doubles to T2 and stays there; Timer F times out at 64·T1")
    func timerEAndF() {
        var tx = ClientNonInviteTransaction(isReliable: false, timers: timers)
        var clock = MockClock()
        let start = tx.start()
        #expect(start == [.sendRequest, .startTimer(.timerE, after: .milliseconds(500)), .startTimer(.timerF, after: .seconds(32))])
        clock.apply(start)
        var intervals: [Duration] = []
        var last: [ClientTransactionAction] = []
        while let timer = clock.nextDue(before: .seconds(100)) {
            last = tx.timerFired(timer)
            clock.apply(last)
            if timer == .timerE, case .startTimer(.timerE, let after) = last.last { intervals.append(after) }
        }
        #expect(Array(intervals.prefix(5)) == [1, 2, 4, 4, 4].map { Duration.seconds($0) })
        #expect(intervals.allSatisfy { $0 <= timers.t2 })
        #expect(last == [.cancelTimer(.timerE), .reportTimeout, .terminate])
        #expect(clock.now == .seconds(32))
    }

    @Test("In Proceeding, Timer E retransmits every T2")
    func proceedingRetransmitsAtT2() {
        var tx = ClientNonInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.responseReceived(statusCode: 100) == [.passResponseToTU(statusCode: 100)])
        #expect(tx.state == .proceeding)
        #expect(tx.timerFired(.timerE) == [.sendRequest, .startTimer(.timerE, after: .seconds(4))])
        #expect(tx.timerFired(.timerF) == [.cancelTimer(.timerE), .reportTimeout, .terminate])
    }

    @Test("Final response: Completed, retransmissions absorbed, Timer K = T4 unreliable")
    func completedTimerK() {
        var tx = ClientNonInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.responseReceived(statusCode: 200) == [
            .cancelTimer(.timerE), .cancelTimer(.timerF), .passResponseToTU(statusCode: 200), .startTimer(.timerK, after: .seconds(5)),
        ])
        #expect(tx.responseReceived(statusCode: 200) == [])
        #expect(tx.timerFired(.timerE) == [])
        #expect(tx.timerFired(.timerK) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test("Reliable: no Timer E, Timer K zero")
    func reliable() {
        var tx = ClientNonInviteTransaction(isReliable: true, timers: timers)
        #expect(tx.start() == [.sendRequest, .startTimer(.timerF, after: .seconds(32))])
        #expect(tx.responseReceived(statusCode: 481) == [
            .cancelTimer(.timerF), .passResponseToTU(statusCode: 481), .startTimer(.timerK, after: .zero),
        ])
    }

    @Test("Transport error terminates and reports")
    func transportError() {
        var tx = ClientNonInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.transportErrorOccurred() == [.cancelTimer(.timerE), .cancelTimer(.timerF), .reportTransportError, .terminate])
        #expect(tx.transportErrorOccurred() == [])
    }
}
