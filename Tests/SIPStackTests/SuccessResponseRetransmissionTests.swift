import Testing
@testable import SIPStack

@Suite("2xx retransmission by the UAS core (RFC 3261 §13.3.1.4)")
struct SuccessResponseRetransmissionTests {
    @Test("Retransmits at T1 doubling to T2, gives up at 64·T1 and asks for BYE")
    func givesUp() {
        var machine = SuccessResponseRetransmission()
        var deadlines: [SuccessResponseRetransmission.Timer: Duration] = [:]
        var now = Duration.zero
        var sends: [Duration] = []
        func apply(_ actions: [SuccessResponseRetransmission.Action]) {
            for action in actions {
                switch action {
                case .startTimer(let timer, let after): deadlines[timer] = now + after
                case .cancelTimer(let timer): deadlines[timer] = nil
                case .retransmitResponse: sends.append(now)
                case .reportACKTimeout: break
                }
            }
        }
        apply(machine.start())
        var last: [SuccessResponseRetransmission.Action] = []
        while let (timer, deadline) = deadlines.min(by: { $0.value < $1.value }) {
            deadlines[timer] = nil
            now = deadline
            last = machine.timerFired(timer)
            apply(last)
        }
        #expect(Array(sends.prefix(6)) == [500, 1500, 3500, 7500, 11500, 15500].map { Duration.milliseconds($0) })
        #expect(last == [.cancelTimer(.retransmit), .reportACKTimeout])
        #expect(now == .seconds(32))
        #expect(machine.isFinished)
    }

    @Test("The ACK stops it")
    func ackStops() {
        var machine = SuccessResponseRetransmission()
        _ = machine.start()
        #expect(machine.timerFired(.retransmit) == [.retransmitResponse, .startTimer(.retransmit, after: .seconds(1))])
        #expect(machine.ackReceived() == [.cancelTimer(.retransmit), .cancelTimer(.giveUp)])
        #expect(machine.timerFired(.retransmit) == [])
        #expect(machine.ackReceived() == [])
    }
}
