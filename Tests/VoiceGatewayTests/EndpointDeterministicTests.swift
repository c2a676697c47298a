// The endpoint's timers and races on a manual clock (docs/TESTING.md, deterministic tier): each test
// asserts the exact messages sent and events delivered at the instants RFC 3261 names.

import NIOCore
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

// A broken endpoint may never end a call's event stream: the time limit turns that hang into a failure.
@Suite(.timeLimit(.minutes(1)))
struct EndpointDeterministicTests {
    /// Timer B (§17.1.1.2): an INVITE over UDP nobody answers is sent 7 times (Timer A: T1, 2·T1, …,
    /// 32·T1) and the call ends with `.timeout` at 64·T1, not a moment before.
    @Test func timerBEndsAnUnansweredInvite() async throws {
        let rig = try await DeterministicRig.start()
        let call = try await rig.endpoint.call(rig.phoneURI, from: rig.caller, sdp: testSDP, ringTimeout: .seconds(600))
        let first = try await rig.transport.takeSent()
        #expect(first.map(\.summary) == ["INVITE"])
        #expect(first.first?.to == rig.phone)

        await rig.advance(rig.timers.timerB - .milliseconds(1))
        let retransmissions = try await rig.transport.takeSent()
        #expect(retransmissions.map(\.summary) == Array(repeating: "INVITE", count: 6))
        #expect(Set(retransmissions.compactMap { try? $0.request?.headers.topVia().branch }) == Set(first.compactMap { try? $0.request?.headers.topVia().branch }))
        #expect(try await rig.statistics().calls == 1, "the call still waits just before Timer B")

        await rig.advance(.milliseconds(1))
        #expect(try await rig.statistics() == .idle)
        #expect(await collect(call) == [.ended(.timeout)])
        #expect(try await rig.transport.takeSent().isEmpty, "Timer B ends silently: no CANCEL without a provisional response (§9.1)")
        await rig.stop()
    }

    /// A transport error (§17.1.1.2, §18.4): when the INVITE cannot be sent (a TCP dial refused), the
    /// transport reports it and the call ends at once with `.transportError`: no retransmission, no
    /// wait for Timer B, nothing left behind.
    @Test func failedSendEndsTheCallWithATransportError() async throws {
        let rig = try await DeterministicRig.start()
        try await rig.transport.makeUnreachable(rig.phone)
        let call = try await rig.endpoint.call(rig.phoneURI, from: rig.caller, sdp: testSDP, ringTimeout: .seconds(600))
        await rig.loop.run()
        // Not a moment of the clock has passed: Timer B (32 s) cannot have ended the call.
        try #require(try await rig.statistics() == .idle, "the failed send ended the call and its transaction")
        #expect(await collect(call) == [.ended(.transportError)])
        await rig.advance(rig.timers.timerB)
        #expect(try await rig.transport.takeSent().isEmpty, "the dropped INVITE is not retransmitted, and no CANCEL follows")
        await rig.stop()
    }

    /// Timer H (§17.2.1): our failure response to an INVITE, never ACKed, is resent on Timer G (T1
    /// doubling to T2) and the call and its transaction are freed at 64·T1 with `.timeout`.
    @Test func timerHFreesACallWhoseRejectionIsNeverAcknowledged() async throws {
        let rig = try await DeterministicRig.start()
        var incoming = rig.endpoint.incomingCalls.makeAsyncIterator()
        try await rig.transport.receive(probeRequest("INVITE", port: 5070, branch: "timerh", callID: "timer-h"), from: rig.phone)
        let call = try #require(await incoming.next())
        call.awaitFinalACK()
        call.reject(statusCode: 486)

        let first = try await rig.transport.takeSent()
        #expect(first.map(\.summary) == ["486 INVITE"])
        #expect(first.first?.to == rig.phone)

        await rig.advance(rig.timers.timerH - .milliseconds(1))
        // Timer G: 0.5, 1.5, 3.5, 7.5 s, then every T2 = 4 s up to 31.5 s.
        #expect(try await rig.transport.takeSent().map(\.summary) == Array(repeating: "486 INVITE", count: 10))
        let waiting = try await rig.statistics()
        #expect(waiting.calls == 1 && waiting.serverTransactions == 1, "the call waits for the ACK until Timer H")

        await rig.advance(.milliseconds(1))
        #expect(try await rig.statistics() == .idle)
        #expect(await collect(call) == [.ended(.timeout)])
        #expect(try await rig.transport.takeSent().isEmpty)
        await rig.stop()
    }

    /// Ring time (§9.1): an outgoing call that rings past `ringTimeout` is CANCELled at that instant;
    /// the 487 that follows is ACKed and the call ends `.noAnswer`.
    @Test func ringTimeCancelsARingingCall() async throws {
        let rig = try await DeterministicRig.start()
        let call = try await rig.endpoint.call(rig.phoneURI, from: rig.caller, sdp: testSDP, ringTimeout: .seconds(20))
        var events = call.events.makeAsyncIterator()
        let invite = try #require(try await rig.transport.takeSent().first?.request)
        try await rig.transport.receive(rig.reply(to: invite, 180), from: rig.phone)
        let progress = await events.next()
        #expect(progress == .progress(statusCode: 180))

        await rig.advance(.seconds(20) - .milliseconds(1))
        #expect(try await rig.transport.takeSent().isEmpty, "no retransmission after 180, no CANCEL before the ring time")

        await rig.advance(.milliseconds(1))
        let cancels = try await rig.transport.takeSent()
        #expect(cancels.map(\.summary) == ["CANCEL"])
        let cancel = try #require(cancels.first?.request)
        // §9.1: the CANCEL has the INVITE's Request-URI, Call-ID, CSeq number and branch.
        #expect(try cancel.headers.topVia().branch == invite.headers.topVia().branch)
        #expect(try cancel.headers.cseq().sequence == invite.headers.cseq().sequence)
        #expect(cancels.first?.to == rig.phone)

        try await rig.transport.receive(rig.reply(to: cancel, 200), from: rig.phone)
        try await rig.transport.receive(rig.reply(to: invite, 487), from: rig.phone)
        let ack = try await rig.transport.takeSent()
        #expect(ack.map(\.summary) == ["ACK"])
        #expect(try ack.first?.request?.headers.topVia().branch == invite.headers.topVia().branch, "the ACK of a 487 is the transaction's (§17.1.1.3)")
        let end = await events.next()
        #expect(end == .ended(.noAnswer))
        let after = await events.next()
        #expect(after == nil)

        // Timer D (32 s) and Timer K (T4) then free the transactions.
        await rig.advance(rig.timers.timerD(isReliable: false))
        #expect(try await rig.statistics() == .idle)
        await rig.stop()
    }

    /// A CANCEL racing a 200 (§9.1, §15): the callee answers after we sent CANCEL; we ACK the 200
    /// and end the call at once with BYE. The application never sees `.answered`.
    @Test func cancelLosingTheRaceToA200IsFollowedByACKAndBYE() async throws {
        let rig = try await DeterministicRig.start()
        let call = try await rig.endpoint.call(rig.phoneURI, from: rig.caller, sdp: testSDP, ringTimeout: .seconds(600))
        let invite = try #require(try await rig.transport.takeSent().first?.request)
        try await rig.transport.receive(rig.reply(to: invite, 180), from: rig.phone)

        call.hangUp()
        let cancels = try await rig.transport.takeSent()
        #expect(cancels.map(\.summary) == ["CANCEL"])
        let cancel = try #require(cancels.first?.request)

        try await rig.transport.receive(rig.reply(to: invite, 200, sdp: testSDP), from: rig.phone)
        let sent = try await rig.transport.takeSent()
        #expect(sent.map(\.summary) == ["ACK", "BYE"])
        #expect(sent.allSatisfy { $0.to == rig.phone }, "ACK and BYE go to the Contact of the 200")
        let ack = try #require(sent.first?.request)
        let bye = try #require(sent.last?.request)
        #expect(try ack.headers.to().tag == "phone")
        #expect(try ack.headers.cseq().sequence == invite.headers.cseq().sequence, "the ACK of a 2xx carries the INVITE's CSeq number (§13.2.2.4)")
        #expect(try bye.headers.to().tag == "phone")
        #expect(try bye.headers.cseq().sequence > invite.headers.cseq().sequence)

        try await rig.transport.receive(rig.reply(to: cancel, 200), from: rig.phone)
        try await rig.transport.receive(rig.reply(to: bye, 200), from: rig.phone)
        #expect(await collect(call) == [.progress(statusCode: 180), .ended(.localHangUp)])
        #expect(try await rig.statistics().calls == 0)
        await rig.stop()
    }

    /// Load (§21.5.4, §20.33): with the transaction table full, a new request is answered 503 with
    /// the configured Retry-After, statelessly, and no call or transaction is made for it.
    @Test func fullTransactionTableAnswers503WithRetryAfter() async throws {
        let rig = try await DeterministicRig.start {
            $0.maxTransactions = 2
            $0.retryAfterSeconds = 7
        }
        var incoming = rig.endpoint.incomingCalls.makeAsyncIterator()
        for index in 1...2 {
            try await rig.transport.receive(probeRequest("INVITE", port: 5070, branch: "load\(index)", callID: "load-\(index)"), from: rig.phone)
            let call = await incoming.next()
            #expect(call?.callID == "load-\(index)")
        }
        #expect(try await rig.transport.takeSent().isEmpty)

        try await rig.transport.receive(probeRequest("INVITE", port: 5070, branch: "load3", callID: "load-3"), from: rig.phone)
        let refused = try await rig.transport.takeSent()
        #expect(refused.map(\.summary) == ["503 INVITE"])
        #expect(refused.first?.to == rig.phone)
        #expect(refused.first?.response?.headers[.retryAfter] == "7")
        #expect(try refused.first?.response?.headers.callID() == "load-3")
        let statistics = try await rig.statistics()
        #expect(statistics.calls == 2 && statistics.serverTransactions == 2, "nothing is kept for the refused request")
        await rig.stop()
    }

    /// Load (§21.5.4): at `maxCalls` a new INVITE gets 503 with Retry-After from its transaction,
    /// and the application is not offered the call.
    @Test func callLimitAnswers503WithRetryAfter() async throws {
        let rig = try await DeterministicRig.start {
            $0.maxCalls = 1
            $0.retryAfterSeconds = 9
        }
        var incoming = rig.endpoint.incomingCalls.makeAsyncIterator()
        try await rig.transport.receive(probeRequest("INVITE", port: 5070, branch: "busy1", callID: "busy-1"), from: rig.phone)
        let first = await incoming.next()
        #expect(first?.callID == "busy-1")

        try await rig.transport.receive(probeRequest("INVITE", port: 5070, branch: "busy2", callID: "busy-2"), from: rig.phone)
        let refused = try await rig.transport.takeSent()
        #expect(refused.map(\.summary) == ["503 INVITE"])
        #expect(refused.first?.response?.headers[.retryAfter] == "9")
        #expect(try refused.first?.response?.headers.callID() == "busy-2")
        #expect(try await rig.statistics().calls == 1)
        await rig.stop()
    }
}
