import NIOCore
import Testing
@testable import SMPP

/// Scripted ESME session: no sockets, time as an input.
@Suite struct ESMEStateMachineTests {
    let bind = SMPPBind(systemID: "verigate", password: "secret", systemType: "OTP")
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func config(window: Int = 2, rate: Double = 0) -> ESMEConfiguration {
        ESMEConfiguration(host: "127.0.0.1", port: 2775, bind: bind, windowSize: window, maxSubmitsPerSecond: rate,
                          enquireLinkInterval: .seconds(30), responseTimeout: .seconds(5),
                          reconnectBackoff: .init(initial: .milliseconds(100), maximum: .seconds(2)),
                          throttleBackoff: .init(initial: .milliseconds(200), maximum: .seconds(2)), maxThrottleRetries: 2)
    }

    func message(_ n: Int) -> SMPPShortMessage { SMPPShortMessage(destinationAddr: "88697500088\(n)", shortMessage: [UInt8(n)]) }

    /// Start, connect and bind; returns the machine bound with sequence 1 used.
    func boundMachine(window: Int = 2, rate: Double = 0) -> ESMEStateMachine {
        var machine = ESMEStateMachine(configuration: config(window: window, rate: rate))
        #expect(machine.start() == [.connect])
        #expect(machine.connected(now: t0) == [.send(SMPPPDU(.bindTransceiver(bind), sequenceNumber: 1)),
                                               .startTimer(.responseTimeout, at: t0 + .seconds(5))])
        #expect(machine.pduReceived(SMPPPDU(.bindTransceiverResp(systemID: "SMSC", tlvs: []), sequenceNumber: 1), now: t0)
            == [.cancelTimer(.responseTimeout), .bound(systemID: "SMSC"), .startTimer(.enquireLink, at: t0 + .seconds(30))])
        return machine
    }

    @Test func submitsWithinWindowAndMatchesResponsesBySequence() {
        var machine = boundMachine(window: 2)
        #expect(machine.submitRequested(10, message(1), now: t0) == [.send(SMPPPDU(.submitSm(message(1)), sequenceNumber: 2))])
        #expect(machine.submitRequested(11, message(2), now: t0) == [.send(SMPPPDU(.submitSm(message(2)), sequenceNumber: 3))])
        #expect(machine.submitRequested(12, message(3), now: t0) == [])  // window full
        #expect(machine.pendingCount == 3)
        // Answers out of order: sequence 3 first.
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: "B"), sequenceNumber: 3), now: t0)
            == [.submitSucceeded(11, messageID: "B"), .send(SMPPPDU(.submitSm(message(3)), sequenceNumber: 4))])
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: "A"), sequenceNumber: 2), now: t0) == [.submitSucceeded(10, messageID: "A")])
        // An unknown sequence is ignored.
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: "Z"), sequenceNumber: 99), now: t0) == [])
    }

    @Test func errorStatusFailsWithName() {
        var machine = boundMachine()
        _ = machine.submitRequested(1, message(1), now: t0)
        let actions = machine.pduReceived(SMPPPDU(.submitSmResp(messageID: ""), sequenceNumber: 2, commandStatus: .ESME_RINVDSTADR), now: t0)
        #expect(actions == [.submitFailed(1, .status(.ESME_RINVDSTADR))])
        #expect(ESMEFailure.status(.ESME_RINVDSTADR).description == "ESME_RINVDSTADR")
    }

    @Test func throttledIsRetriedAfterBackoffThenGivesUp() {
        var machine = boundMachine()
        _ = machine.submitRequested(1, message(1), now: t0)
        // ESME_RTHROTTLED: paused for 200 ms, then resent with a new sequence number.
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: ""), sequenceNumber: 2, commandStatus: .ESME_RTHROTTLED), now: t0)
            == [.startTimer(.sendSlot, at: t0 + .milliseconds(200))])
        #expect(machine.submitRequested(2, message(2), now: t0 + .milliseconds(50)) == [])  // still paused
        let t1 = t0 + .milliseconds(200)
        #expect(machine.timerFired(.sendSlot, now: t1) == [.send(SMPPPDU(.submitSm(message(1)), sequenceNumber: 3)),
                                                           .send(SMPPPDU(.submitSm(message(2)), sequenceNumber: 4))])
        // ESME_RMSGQFUL: second backoff doubles.
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: ""), sequenceNumber: 3, commandStatus: .ESME_RMSGQFUL), now: t1)
            == [.startTimer(.sendSlot, at: t1 + .milliseconds(400))])
        let t2 = t1 + .milliseconds(400)
        #expect(machine.timerFired(.sendSlot, now: t2) == [.send(SMPPPDU(.submitSm(message(1)), sequenceNumber: 5))])
        // Third refusal: retries (2) exhausted.
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: ""), sequenceNumber: 5, commandStatus: .ESME_RTHROTTLED), now: t2)
            == [.submitFailed(1, .retriesExhausted(.ESME_RTHROTTLED))])
    }

    @Test func dropRequeuesOnlyUnansweredInOrderAndResendsAfterRebind() {
        var machine = boundMachine(window: 3)
        _ = machine.submitRequested(1, message(1), now: t0)
        _ = machine.submitRequested(2, message(2), now: t0)
        _ = machine.submitRequested(3, message(3), now: t0)
        _ = machine.submitRequested(4, message(4), now: t0)
        #expect(machine.pduReceived(SMPPPDU(.submitSmResp(messageID: "M2"), sequenceNumber: 3), now: t0).first
            == .submitSucceeded(2, messageID: "M2"))
        // Link drops: 1, 3 (unanswered) and 4 (queued) wait; 2 is done and never resent.
        #expect(machine.connectionClosed(now: t0) == [.cancelTimer(.enquireLink), .cancelTimer(.responseTimeout), .cancelTimer(.sendSlot),
                                                      .startTimer(.reconnect, at: t0 + .milliseconds(100))])
        #expect(machine.pendingCount == 3)
        #expect(machine.timerFired(.reconnect, now: t0 + .milliseconds(100)) == [.connect])
        // Second attempt fails: backoff doubles.
        #expect(machine.connectFailed(now: t0).last == .startTimer(.reconnect, at: t0 + .milliseconds(200)))
        #expect(machine.timerFired(.reconnect, now: t0) == [.connect])
        let bindActions = machine.connected(now: t0)
        guard case .send(let bindPDU) = bindActions.first else {
            Issue.record("no bind")
            return
        }
        let resent = machine.pduReceived(SMPPPDU(.bindTransceiverResp(systemID: "SMSC", tlvs: []), sequenceNumber: bindPDU.sequenceNumber), now: t0)
        let sent = resent.compactMap { action -> UInt8? in
            if case .send(let pdu) = action, case .submitSm(let sm) = pdu.body { return sm.shortMessage.first }
            return nil
        }
        #expect(sent == [1, 3, 4])
    }

    @Test func rateLimitSpacesSubmits() {
        var machine = boundMachine(window: 10, rate: 10)  // 100 ms apart
        #expect(machine.submitRequested(1, message(1), now: t0).count == 1)
        #expect(machine.submitRequested(2, message(2), now: t0) == [.startTimer(.sendSlot, at: t0 + .milliseconds(100))])
        #expect(machine.submitRequested(3, message(3), now: t0) == [])  // timer already armed
        #expect(machine.timerFired(.sendSlot, now: t0 + .milliseconds(100))
            == [.send(SMPPPDU(.submitSm(message(2)), sequenceNumber: 3)), .startTimer(.sendSlot, at: t0 + .milliseconds(200))])
    }

    @Test func receiptsAreAcknowledgedAndReported() {
        var machine = boundMachine()
        let receipt = SMPPShortMessage(shortMessage: Array("id:M1 sub:001 dlvrd:001 stat:DELIVRD err:000 text:x".utf8), esmClass: 0x04)
        #expect(machine.pduReceived(SMPPPDU(.deliverSm(receipt), sequenceNumber: 77), now: t0)
            == [.send(SMPPPDU(.deliverSmResp, sequenceNumber: 77)), .receiptReceived(DeliveryReceipt(messageID: "M1", state: .delivered, error: "000"))])
        // An MO message (esm_class 0) is acknowledged only.
        #expect(machine.pduReceived(SMPPPDU(.deliverSm(SMPPShortMessage(shortMessage: [0x41])), sequenceNumber: 78), now: t0)
            == [.send(SMPPPDU(.deliverSmResp, sequenceNumber: 78))])
    }

    @Test func keepAliveAndItsTimeout() {
        var machine = boundMachine()
        let t1 = t0 + .seconds(30)
        #expect(machine.timerFired(.enquireLink, now: t1) == [.send(SMPPPDU(.enquireLink, sequenceNumber: 2)),
                                                              .startTimer(.responseTimeout, at: t1 + .seconds(5))])
        #expect(machine.pduReceived(SMPPPDU(.enquireLinkResp, sequenceNumber: 2), now: t1)
            == [.cancelTimer(.responseTimeout), .startTimer(.enquireLink, at: t1 + .seconds(30))])
        _ = machine.timerFired(.enquireLink, now: t1 + .seconds(30))
        #expect(machine.timerFired(.responseTimeout, now: t1 + .seconds(35)) == [.closeConnection])
        // The SMSC's own enquire_link is answered.
        #expect(machine.pduReceived(SMPPPDU(.enquireLink, sequenceNumber: 500), now: t1) == [.send(SMPPPDU(.enquireLinkResp, sequenceNumber: 500))])
    }

    @Test func refusedBindFailsQueuedWithStatusAndRetriesLater() {
        var machine = ESMEStateMachine(configuration: config())
        _ = machine.start()
        _ = machine.submitRequested(1, message(1), now: t0)
        _ = machine.connected(now: t0)
        #expect(machine.pduReceived(SMPPPDU(.bindTransceiverResp(systemID: "", tlvs: []), sequenceNumber: 1, commandStatus: .ESME_RBINDFAIL), now: t0)
            == [.submitFailed(1, .bindRefused(.ESME_RBINDFAIL)), .cancelTimer(.responseTimeout), .closeConnection])
        #expect(machine.connectionClosed(now: t0).last == .startTimer(.reconnect, at: t0 + .milliseconds(100)))
        #expect(ESMEFailure.bindRefused(.ESME_RBINDFAIL).description == "bind refused: ESME_RBINDFAIL")
    }

    @Test func unbindFromSMSCAndShutdown() {
        var machine = boundMachine()
        #expect(machine.pduReceived(SMPPPDU(.unbind, sequenceNumber: 9), now: t0) == [.send(SMPPPDU(.unbindResp, sequenceNumber: 9)), .closeConnection])
        var other = boundMachine()
        _ = other.submitRequested(1, message(1), now: t0)
        _ = other.submitRequested(2, message(2), now: t0)
        _ = other.submitRequested(3, message(3), now: t0)
        #expect(other.shutdownRequested(now: t0) == [.submitFailed(3, .shutdown), .send(SMPPPDU(.unbind, sequenceNumber: 4)),
                                                     .startTimer(.responseTimeout, at: t0 + .seconds(5))])
        #expect(other.submitRequested(4, message(4), now: t0) == [.submitFailed(4, .shutdown)])
        #expect(other.pduReceived(SMPPPDU(.submitSmResp(messageID: "A"), sequenceNumber: 2), now: t0) == [.submitSucceeded(1, messageID: "A")])
        #expect(other.pduReceived(SMPPPDU(.unbindResp, sequenceNumber: 4), now: t0) == [.closeConnection])
        #expect(other.connectionClosed(now: t0) == [.cancelTimer(.enquireLink), .cancelTimer(.responseTimeout), .cancelTimer(.sendSlot),
                                                    .submitFailed(2, .shutdown), .shutdownCompleted])
        // A PDU no ESME should receive gets generic_nack ESME_RINVCMDID (§4.3.1).
        #expect(machine.pduReceived(SMPPPDU(.unsupported(commandID: 0x103), sequenceNumber: 5), now: t0)
            == [.send(SMPPPDU(.genericNack, sequenceNumber: 5, commandStatus: .ESME_RINVCMDID))])
    }
}
