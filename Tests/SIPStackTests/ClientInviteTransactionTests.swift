import Testing
@testable import SIPStack

@Suite("ClientInviteTransaction (RFC 3261 §17.1.1, RFC 6026)")
struct ClientInviteTransactionTests {
    let timers = SIPTimers.rfc3261

    @Test("Timer A doubles from T1 without cap until Timer B fires at 64·T1, unreliable")
    func timerAAndBUnreliable() {
        var tx = ClientInviteTransaction(isReliable: false, timers: timers)
        var clock = MockClock()
        let start = tx.start()
        #expect(start == [.sendRequest, .startTimer(.timerA, after: .milliseconds(500)), .startTimer(.timerB, after: .seconds(32))])
        clock.apply(start)
        var sends: [Duration] = []
        var intervals: [Duration] = []
        var last: [ClientTransactionAction] = []
        while let timer = clock.nextDue(before: .seconds(100)) {
            last = tx.timerFired(timer)
            clock.apply(last)
            if timer == .timerA {
                #expect(last.first == .sendRequest)
                sends.append(clock.now)
                if case .startTimer(.timerA, let after) = last.last { intervals.append(after) }
            }
        }
        // Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (§17.1.1.2: 7 sends in all with the first).
        #expect(sends == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5].map { Duration.milliseconds(Int($0 * 1000)) })
        #expect(intervals == [1, 2, 4, 8, 16, 32].map { Duration.seconds($0) })
        #expect(last == [.cancelTimer(.timerA), .reportTimeout, .terminate])
        #expect(clock.now == .seconds(32))
        #expect(tx.state == .terminated)
    }

    @Test("Reliable transport: no Timer A, Timer B still times out")
    func reliableNoTimerA() {
        var tx = ClientInviteTransaction(isReliable: true, timers: timers)
        #expect(tx.start() == [.sendRequest, .startTimer(.timerB, after: .seconds(32))])
        #expect(tx.timerFired(.timerB) == [.reportTimeout, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test("1xx moves to Proceeding and stops retransmission; CANCEL allowed only then")
    func provisional() {
        var tx = ClientInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(!tx.canCancel)
        #expect(tx.responseReceived(statusCode: 100) == [.cancelTimer(.timerA), .cancelTimer(.timerB), .passResponseToTU(statusCode: 100)])
        #expect(tx.state == .proceeding)
        #expect(tx.canCancel)
        #expect(tx.responseReceived(statusCode: 180) == [.passResponseToTU(statusCode: 180)])
        #expect(tx.timerFired(.timerA) == [])
    }

    @Test("Non-2xx: ACK inside the transaction, retransmitted final re-ACKed not passed up, Timer D 32 s")
    func failureAndTimerD() {
        var tx = ClientInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        _ = tx.responseReceived(statusCode: 180)
        #expect(tx.responseReceived(statusCode: 486) == [
            .passResponseToTU(statusCode: 486), .sendACK(statusCode: 486), .startTimer(.timerD, after: .seconds(32)),
        ])
        #expect(tx.state == .completed)
        #expect(tx.responseReceived(statusCode: 486) == [.sendACK(statusCode: 486)])
        #expect(tx.responseReceived(statusCode: 200) == [])
        #expect(tx.timerFired(.timerD) == [.terminate])
        #expect(tx.state == .terminated)
        #expect(tx.responseReceived(statusCode: 486) == [])
    }

    @Test("Reliable transport: Timer D is zero")
    func timerDReliable() {
        var tx = ClientInviteTransaction(isReliable: true, timers: timers)
        _ = tx.start()
        #expect(tx.responseReceived(statusCode: 603) == [
            .cancelTimer(.timerB), .passResponseToTU(statusCode: 603), .sendACK(statusCode: 603), .startTimer(.timerD, after: .zero),
        ])
    }

    @Test("2xx: Accepted (RFC 6026), 2xx retransmissions go to the TU, Timer M ends it; no ACK from the transaction")
    func acceptedAndTimerM() {
        var tx = ClientInviteTransaction(isReliable: false, timers: timers)
        var clock = MockClock()
        clock.apply(tx.start())
        let ok = tx.responseReceived(statusCode: 200)
        #expect(ok == [.cancelTimer(.timerA), .cancelTimer(.timerB), .passResponseToTU(statusCode: 200), .startTimer(.timerM, after: .seconds(32))])
        clock.apply(ok)
        #expect(!ok.contains { if case .sendACK = $0 { true } else { false } })
        #expect(tx.state == .accepted)
        #expect(tx.responseReceived(statusCode: 200) == [.passResponseToTU(statusCode: 200)])
        #expect(tx.responseReceived(statusCode: 180) == [])
        #expect(clock.pending == [.timerM])
        let timer = clock.nextDue(before: .seconds(60))
        #expect(timer == .timerM)
        #expect(clock.now == .seconds(32))
        #expect(tx.timerFired(.timerM) == [.terminate])
    }

    @Test("Transport error in Calling and Completed terminates and reports")
    func transportErrors() {
        var tx = ClientInviteTransaction(isReliable: false, timers: timers)
        _ = tx.start()
        #expect(tx.transportErrorOccurred() == [.cancelTimer(.timerA), .cancelTimer(.timerB), .reportTransportError, .terminate])
        var tx2 = ClientInviteTransaction(isReliable: false, timers: timers)
        _ = tx2.start()
        _ = tx2.responseReceived(statusCode: 404)
        #expect(tx2.transportErrorOccurred() == [.cancelTimer(.timerD), .reportTransportError, .terminate])
        #expect(tx2.state == .terminated)
    }

    @Test("Injected T1 scales every timer")
    func injectedT1() {
        var tx = ClientInviteTransaction(isReliable: false, timers: SIPTimers(t1: .milliseconds(100), t2: .seconds(1), t4: .seconds(2)))
        #expect(tx.start() == [.sendRequest, .startTimer(.timerA, after: .milliseconds(100)), .startTimer(.timerB, after: .milliseconds(6400))])
    }
}
