// The deterministic tier (docs/TESTING.md) for OPTIONS (RFC 3261 §11.2) and RFC 4028 session timers:
// the endpoint on a manual clock, each test asserting the messages sent at the instants the RFCs name.

import NIOCore
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

@Suite(.timeLimit(.minutes(1)))
struct EndpointSessionTimerTests {
    /// An INVITE from the phone with `extra` header lines (no offer: our 2xx carries it, §13.2.1).
    static func invite(callID: String, extra: String) -> String {
        probeRequest("INVITE", port: 5070, branch: "inv-\(callID)", callID: callID, extra: extra)
    }

    /// A request from the phone in the dialog of `answer` (our tag on To), CSeq `cseq`.
    static func inDialog(_ method: String, answer: SIPResponse, cseq: Int, extra: String = "") throws -> String {
        let toTag = try #require(try answer.headers.to().tag)
        let callID = try answer.headers.callID()
        return """
            \(method) sip:verigate@127.0.0.1:5060 SIP/2.0
            Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK\(method)\(cseq);rport
            Max-Forwards: 70
            From: <sip:probe@127.0.0.1>;tag=probe
            To: <sip:gw@127.0.0.1>;tag=\(toTag)
            Call-ID: \(callID)
            CSeq: \(cseq) \(method)
            Contact: <sip:probe@127.0.0.1:5070>
            \(extra.isEmpty ? "" : extra + "\n")Content-Length: 0


            """
    }

    /// Answers the phone's INVITE, ACKs the 2xx, and returns the 2xx.
    static func answeredCall(_ rig: DeterministicRig, callID: String, extra: String) async throws -> (SIPCall, SIPResponse) {
        var incoming = rig.endpoint.incomingCalls.makeAsyncIterator()
        try await rig.transport.receive(invite(callID: callID, extra: extra), from: rig.phone)
        let call = try #require(await incoming.next())
        call.answer(sdp: testSDP)
        let sent = try await rig.transport.takeSent()
        let ok = try #require(sent.compactMap(\.response).first { $0.statusCode == 200 })
        try await rig.transport.receive(try inDialog("ACK", answer: ok, cseq: 1), from: rig.phone)
        return (call, ok)
    }

    /// §11.2: OPTIONS outside and inside a dialog gets 200 with Allow (UPDATE included), Accept
    /// (application/sdp) and Supported (timer); inside, the To tag is the dialog's.
    @Test func optionsAnsweredInAndOutOfDialog() async throws {
        let rig = try await DeterministicRig.start()
        try await rig.transport.receive(probeRequest("OPTIONS", port: 5070, branch: "opt1", callID: "options-out"), from: rig.phone)
        let outside = try #require(try await rig.transport.takeSent().first?.response)
        let (call, ok) = try await Self.answeredCall(rig, callID: "options-in", extra: "")
        try await rig.transport.receive(try Self.inDialog("OPTIONS", answer: ok, cseq: 2), from: rig.phone)
        let inside = try #require(try await rig.transport.takeSent().first?.response)
        for response in [outside, inside] {
            #expect(response.statusCode == 200)
            #expect(try response.headers.allow().contains(.update))
            #expect(try response.headers.allow().contains(.options))
            #expect(response.headers[.accept]?.contains("application/sdp") == true)
            #expect(try response.headers.supported().contains("timer"))
        }
        #expect(try inside.headers.to().tag == (try ok.headers.to().tag))
        #expect(try await rig.statistics().calls == 1, "OPTIONS leaves the call up")
        call.hangUp()
        await rig.stop()
    }

    /// RFC 4028 §9, §10: Session-Expires 90 with refresher=uac is honoured (2xx with Session-Expires
    /// and Require: timer); an UPDATE refresh at 59 s gets 200 with Session-Expires and moves the
    /// expiry to 59 + 60 s; with no further refresh the call ends with BYE at that instant, not before.
    @Test func updateRefreshKeepsTheCallAndExpiryHangsUp() async throws {
        let rig = try await DeterministicRig.start()
        let (call, ok) = try await Self.answeredCall(rig, callID: "refresh", extra: "Supported: timer\nSession-Expires: 90;refresher=uac\nAllow: INVITE, ACK, BYE, UPDATE")
        #expect(ok.headers[.sessionExpires] == "90;refresher=uac")
        #expect(try ok.headers.require().contains("timer"))

        await rig.advance(.seconds(59))
        #expect(try await rig.transport.takeSent().isEmpty)
        try await rig.transport.receive(try Self.inDialog("UPDATE", answer: ok, cseq: 2, extra: "Supported: timer\nSession-Expires: 90;refresher=uac"), from: rig.phone)
        let refreshed = try #require(try await rig.transport.takeSent().first?.response)
        #expect(refreshed.statusCode == 200)
        #expect(refreshed.headers[.sessionExpires] == "90;refresher=uac")
        #expect(refreshed.body.readableBytes == 0, "an UPDATE without an offer gets no SDP (RFC 3311 §5.2)")

        await rig.advance(.seconds(60) - .milliseconds(1))
        #expect(try await rig.transport.takeSent().isEmpty, "the refresh moved the expiry: still up at 118.999 s")
        await rig.advance(.milliseconds(1))
        let bye = try await rig.transport.takeSent()
        #expect(bye.map(\.summary) == ["BYE"])
        let request = try #require(bye.first?.request)
        try await rig.transport.receive(rig.reply(to: request, 200), from: rig.phone)
        #expect(await collect(call).last == .ended(.timeout))
        await rig.stop()
    }

    /// RFC 4028 §8.1: an INVITE asking for less than our Min-SE gets 422 with Min-SE and makes no
    /// call; an UPDATE asking too little inside a dialog gets 422 too and leaves the call up.
    @Test func tooSmallIntervalsGet422() async throws {
        let rig = try await DeterministicRig.start()
        try await rig.transport.receive(Self.invite(callID: "small", extra: "Supported: timer\nSession-Expires: 30"), from: rig.phone)
        let rejected = try #require(try await rig.transport.takeSent().first?.response)
        #expect(rejected.statusCode == 422)
        #expect(rejected.headers[.minSE] == "90")
        #expect(try await rig.statistics().calls == 0)

        let (call, ok) = try await Self.answeredCall(rig, callID: "small-update", extra: "Supported: timer")
        try await rig.transport.receive(try Self.inDialog("UPDATE", answer: ok, cseq: 2, extra: "Session-Expires: 10"), from: rig.phone)
        let update = try #require(try await rig.transport.takeSent().first?.response)
        #expect(update.statusCode == 422)
        #expect(update.headers[.minSE] == "90")
        #expect(try await rig.statistics().calls == 1)
        call.hangUp()
        await rig.stop()
    }

    /// RFC 4028 §7.4: our INVITE offers a timer; a 422 with Min-SE is ACKed and retried once with
    /// that Min-SE as Session-Expires; the 2xx naming us refresher makes us refresh at half the
    /// interval, by re-INVITE with our SDP when the callee does not allow UPDATE, and ACK its 2xx.
    @Test func outgoing422IsRetriedAndWeRefresh() async throws {
        let rig = try await DeterministicRig.start()
        let call = try await rig.endpoint.call(rig.phoneURI, from: rig.caller, sdp: testSDP, ringTimeout: .seconds(600))
        var events = call.events.makeAsyncIterator()
        let invite = try #require(try await rig.transport.takeSent().first?.request)
        #expect(try invite.headers.supported().contains("timer"))
        #expect(invite.headers[.sessionExpires] == "1800")
        #expect(invite.headers[.minSE] == "90")

        guard case .response(var tooSmall) = rig.reply(to: invite, 422) else { return }
        tooSmall.headers.add(.minSE, "2000")
        try await rig.transport.receive(.response(tooSmall), from: rig.phone)
        let retried = try await rig.transport.takeSent()
        #expect(retried.map(\.summary) == ["ACK", "INVITE"])
        let retry = try #require(retried.last?.request)
        #expect(retry.headers[.sessionExpires] == "2000")
        #expect(retry.headers[.minSE] == "2000")
        #expect(try retry.headers.cseq().sequence == 2)
        #expect(try retry.headers.topVia().branch != (try invite.headers.topVia().branch))

        guard case .response(var ok) = rig.reply(to: retry, 200, sdp: testSDP) else { return }
        ok.headers.add(.sessionExpires, "2000;refresher=uac")
        try await rig.transport.receive(.response(ok), from: rig.phone)
        let answered = await events.next()
        #expect(answered == .answered(sdp: testSDP))
        #expect(try await rig.transport.takeSent().map(\.summary) == ["ACK"])

        await rig.advance(.seconds(1_000) - .milliseconds(1))
        #expect(try await rig.transport.takeSent().isEmpty)
        await rig.advance(.milliseconds(1))
        let refresh = try #require(try await rig.transport.takeSent().first?.request)
        #expect(refresh.method == .invite)
        #expect(refresh.headers[.sessionExpires] == "2000;refresher=uac")
        #expect(refresh.body == testSDP)
        try await rig.transport.receive(rig.reply(to: refresh, 200, sdp: testSDP), from: rig.phone)
        let ack = try #require(try await rig.transport.takeSent().first?.request)
        #expect(ack.method == .ack)
        #expect(try ack.headers.cseq().sequence == (try refresh.headers.cseq().sequence))
        #expect(try await rig.statistics().calls == 1)
        call.hangUp()
        await rig.stop()
    }
}
