import Foundation
import SIPMessage
import Testing
@testable import SIPStack

@Suite("SessionTimer and InviteSession refreshes (RFC 4028)")
struct SessionTimerTests {
    typealias S = SessionFixture

    /// `Fixture.invite` with `extra` header lines before Content-Length.
    static func invite(_ extra: String) throws -> SIPRequest {
        try Fixture.request(Fixture.invite.replacingOccurrences(of: "Content-Length: 0\n", with: extra + "Content-Length: 0\n"))
    }

    /// A request from Alice in the dialog answered with tag `bob1`, with `extra` header lines.
    static func fromAlice(_ method: String, cseq: UInt32, _ extra: String) throws -> SIPRequest {
        let plain = try S.fromAlice(method: method, cseq: cseq)
        var request = plain
        for line in extra.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            request.headers.add(SIPHeaderName(String(parts[0])), parts[1].trimmingCharacters(in: .whitespaces))
        }
        return request
    }

    static let settings = SessionTimer.Settings(sessionExpires: 1_800, minSE: 90)

    // MARK: Negotiation (§9)

    @Test("A request below our Min-SE gets 422 with our Min-SE (§8.1)")
    func tooSmall() throws {
        let request = try Self.invite("Supported: timer\nSession-Expires: 60\n")
        #expect(SessionTimer.negotiate(request, settings: Self.settings) == .tooSmall(minSE: 90))
        #expect(SessionTimer.tooSmallHeaders(minSE: 90).map { "\($0.0): \($0.1)" } == ["Min-SE: 90"])
    }

    @Test("Session-Expires 90 with refresher=uac is honoured: interval 90, the UAC refreshes, Require: timer (§9)")
    func honoursRequest() throws {
        let request = try Self.invite("Supported: timer\nSession-Expires: 90;refresher=uac\nAllow: INVITE, ACK, UPDATE\n")
        guard case .active(let timer) = SessionTimer.negotiate(request, settings: Self.settings) else {
            Issue.record("no timer")
            return
        }
        #expect(timer.interval == 90)
        #expect(timer.refresher == .uac)
        #expect(!timer.isLocalRefresher)
        #expect(timer.peerAllowsUPDATE)
        #expect(timer.responseHeaders.map { "\($0.0): \($0.1)" } == ["Session-Expires: 90;refresher=uac", "Require: timer"])
        #expect(timer.refreshDelay == nil)
        #expect(timer.expiryDelay == .seconds(60), "§10: interval − min(32, interval/3) = 90 − 30")
    }

    @Test("A larger request is reduced to ours but never below its Min-SE (§9); the refresher it names is kept")
    func reducesInterval() throws {
        let request = try Self.invite("Supported: timer\nSession-Expires: 7200;refresher=uas\nMin-SE: 2000\n")
        guard case .active(let timer) = SessionTimer.negotiate(request, settings: Self.settings) else {
            Issue.record("no timer")
            return
        }
        #expect(timer.interval == 2_000)
        #expect(timer.refresher == .uas)
        #expect(timer.isLocalRefresher)
        #expect(timer.refreshMethod == .invite, "no UPDATE in the peer's Allow: re-INVITE (§7.4)")
        #expect(timer.refreshDelay == .seconds(1_000), "§7.4: half the interval")
        #expect(timer.expiryDelay == .seconds(2_000))
    }

    @Test("Supported: timer without Session-Expires: our interval, the UAC refreshes; nothing at all: no timer (§9)")
    func supportedOnly() throws {
        guard case .active(let timer) = SessionTimer.negotiate(try Self.invite("Supported: timer\n"), settings: Self.settings) else {
            Issue.record("no timer")
            return
        }
        #expect(timer.interval == 1_800)
        #expect(timer.refresher == .uac)
        #expect(SessionTimer.negotiate(try S.invite(), settings: Self.settings) == .none)
    }

    @Test("Session-Expires from a UAC without timer support: we refresh (refresher=uas) and do not Require timer (§9)")
    func uacWithoutSupport() throws {
        guard case .active(let timer) = SessionTimer.negotiate(try Self.invite("Session-Expires: 300\n"), settings: Self.settings) else {
            Issue.record("no timer")
            return
        }
        #expect(timer.refresher == .uas)
        #expect(timer.isLocalRefresher)
        #expect(timer.responseHeaders.map { "\($0.0): \($0.1)" } == ["Session-Expires: 300;refresher=uas"])
    }

    @Test("After a 422 the retry carries the peer's Min-SE as Session-Expires and Min-SE, next CSeq, new branch (§7.4)")
    func retryAfter422() throws {
        let response = try S.response("422 Session Interval Too Small").withHeader("Min-SE: 600")
        let raised = try #require(SessionTimer.settings(after: response, previous: Self.settings))
        #expect(raised == SessionTimer.Settings(sessionExpires: 1_800, minSE: 600))
        let small = SessionTimer.Settings(sessionExpires: 120, minSE: 90)
        let raisedSmall = try #require(SessionTimer.settings(after: response, previous: small))
        #expect(raisedSmall.sessionExpires == 600)
        let retry = try #require(SessionTimer.retry(try Self.invite("Session-Expires: 120\nMin-SE: 90\n"), settings: raisedSmall, branch: "z9hG4bKretry"))
        #expect(retry.headers[.sessionExpires] == "600")
        #expect(retry.headers[SessionTimer.minSEHeader] == "600")
        #expect(try retry.headers.cseq().sequence == 314_160)
        #expect(try retry.headers.topVia().branch == "z9hG4bKretry")
        #expect(SessionTimer.settings(after: try S.response("422 Session Interval Too Small"), previous: Self.settings) == nil, "no Min-SE: no retry")
    }

    // MARK: InviteSession, incoming

    func answered(_ extra: String, settings: SessionTimer.Settings = SessionTimerTests.settings) throws -> (InviteSession, [InviteSession.Action]) {
        var session = InviteSession(incoming: try Self.invite(extra), localTag: "bob1", localContact: S.bobContact, sessionTimer: settings)
        let actions = session.answer()
        return (session, actions)
    }

    @Test("The peer refreshes: expiry at interval − min(32, interval/3) sends BYE (§10); an UPDATE refresh restarts it")
    func expiryAndRefresh() throws {
        var (session, actions) = try answered("Supported: timer\nSession-Expires: 90;refresher=uac\n")
        #expect(actions == [.sendAnswer, .cancelTimer(.sessionRefresh), .startTimer(.sessionExpiry, after: .seconds(60))])
        var clock = SessionClock()
        clock.apply(actions)
        #expect(clock.nextDue(before: .seconds(59)) == nil)
        let update = try Self.fromAlice("UPDATE", cseq: 314_160, "Supported: timer\nSession-Expires: 90;refresher=uac\n")
        #expect(session.dialogRequestReceived(update) == .accepted(refreshedTarget: true))
        let refreshed = session.refreshReceived(update)
        let answer = try #require(refreshed)
        #expect(answer.statusCode == 200)
        #expect(answer.headers[.sessionExpires] == "90;refresher=uac")
        #expect(answer.headers[.require] == "timer")
        clock.apply(answer.actions)
        #expect(clock.nextDue(before: .seconds(118)) == nil, "the refresh at 59 s moved the expiry to 119 s")
        #expect(clock.nextDue(before: .seconds(119)) == .sessionExpiry)
        #expect(session.sessionTimerFired(.sessionExpiry) == [
            .stopSuccessRetransmission, .cancelTimer(.sessionRefresh), .cancelTimer(.sessionExpiry), .sendBYE,
        ])
        #expect(session.state == .terminating(.timeout, .byeSent))
    }

    @Test("A refresh below our Min-SE gets 422 with Min-SE and leaves the timer running (§8.1)")
    func refreshTooSmall() throws {
        var (session, _) = try answered("Supported: timer\nSession-Expires: 90;refresher=uac\n")
        let update = try Self.fromAlice("UPDATE", cseq: 314_160, "Supported: timer\nSession-Expires: 30\n")
        let refreshed = session.refreshReceived(update)
        let answer = try #require(refreshed)
        #expect(answer.statusCode == 422)
        #expect(answer.headers[SessionTimer.minSEHeader] == "90")
        #expect(answer.actions.isEmpty)
        #expect(session.sessionTimer?.interval == 90)
    }

    @Test("We refresh: at half the interval with UPDATE when allowed (§7.4); its 2xx restarts the timers; 481 hangs up")
    func weRefresh() throws {
        var (session, actions) = try answered("Session-Expires: 120\nAllow: INVITE, ACK, BYE, UPDATE\n")
        #expect(actions == [.sendAnswer, .startTimer(.sessionRefresh, after: .seconds(60)), .startTimer(.sessionExpiry, after: .seconds(120))])
        #expect(session.sessionTimerFired(.sessionRefresh) == [.sendSessionRefresh(.update)])
        let ok = try S.response("200 OK").withHeader("Session-Expires: 120;refresher=uas")
        #expect(session.refreshResponseReceived(ok) == [.startTimer(.sessionRefresh, after: .seconds(60)), .startTimer(.sessionExpiry, after: .seconds(120))])
        #expect(session.refreshResponseReceived(try S.response("481 Call/Transaction Does Not Exist")).contains(.sendBYE))
    }

    @Test("Without settings (timers off) nothing changes: the answer starts no timer and refreshes are not ours to answer")
    func off() throws {
        var session = InviteSession(incoming: try Self.invite("Supported: timer\nSession-Expires: 90\n"), localTag: "bob1", localContact: S.bobContact)
        #expect(session.answer() == [.sendAnswer])
        #expect(session.refreshReceived(try Self.fromAlice("UPDATE", cseq: 314_160, "Session-Expires: 90\n")) == nil)
    }

    // MARK: InviteSession, outgoing

    @Test("Outgoing: one 422 is retried with the peer's Min-SE; a second ends the call; a 2xx with Session-Expires starts the timer")
    func outgoing422() throws {
        var session = InviteSession(outgoingWithCredentials: false, localContact: S.aliceContact, sessionTimer: SessionTimer.Settings(sessionExpires: 90, minSE: 90))
        _ = session.start(ringTime: .seconds(30))
        let request = try Self.invite("Supported: timer\nSession-Expires: 90\nMin-SE: 90\n")
        let tooSmall = try S.response("422 Session Interval Too Small").withHeader("Min-SE: 300")
        #expect(session.responseReceived(tooSmall, to: request) == [.retryWithSessionInterval])
        #expect(session.sessionTimerSettings == SessionTimer.Settings(sessionExpires: 300, minSE: 300))
        let ok = try S.ok().withHeader("Session-Expires: 300;refresher=uac")
        let actions = session.responseReceived(ok, to: request)
        #expect(actions == [
            .cancelTimer(.ringTime), .sendACK, .report(.answered), .startTimer(.sessionRefresh, after: .seconds(150)),
            .startTimer(.sessionExpiry, after: .seconds(300)),
        ])
        #expect(session.sessionTimer?.refreshMethod == .invite)

        var again = InviteSession(outgoingWithCredentials: false, localContact: S.aliceContact, sessionTimer: Self.settings)
        _ = again.start(ringTime: .seconds(30))
        #expect(again.responseReceived(tooSmall, to: request) == [.retryWithSessionInterval])
        #expect(again.responseReceived(tooSmall, to: request) == [.end(.failed(statusCode: 422, reason: "Session Interval Too Small"))])
    }
}

extension SIPResponse {
    /// This response with one more header line ("Name: value").
    func withHeader(_ line: String) -> SIPResponse {
        var copy = self
        let parts = line.split(separator: ":", maxSplits: 1)
        copy.headers.add(SIPHeaderName(String(parts[0])), parts[1].trimmingCharacters(in: .whitespaces))
        return copy
    }
}
