import Foundation
import SIPMessage
@testable import SIPStack

/// Messages and a clock for the InviteSession scripts. Alice (pc33.atlanta) calls Bob (biloxi); the
/// outgoing scripts play Alice with `Fixture.invite`, the incoming ones play Bob receiving it.
enum SessionFixture {
    static let aliceContact = SIPNameAddress(uri: .sip(SIPURI(user: "alice", host: "pc33.atlanta.example.com")))
    static let bobContact = SIPNameAddress(uri: .sip(SIPURI(user: "bob", host: "192.0.2.4")))

    static func invite() throws -> SIPRequest { try Fixture.request(Fixture.invite) }

    /// The INVITE without its Contact: no dialog can come of it (§12.1.1).
    static func inviteWithoutContact() throws -> SIPRequest {
        try Fixture.request(Fixture.invite.replacingOccurrences(of: "Contact: <sip:alice@pc33.atlanta.example.com>\n", with: ""))
    }

    /// A response to `Fixture.invite` with this status line tail (e.g. "486 Busy Here"), from Bob's
    /// UA with `toTag` (none for 100 Trying).
    static func response(_ status: String, toTag: String? = "a6c85cf") throws -> SIPResponse {
        var text = Fixture.ringing.replacingOccurrences(of: "180 Ringing", with: status)
        text = text.replacingOccurrences(of: ";tag=a6c85cf", with: toTag.map { ";tag=\($0)" } ?? "")
        return try Fixture.response(text)
    }

    /// A 200 OK to `Fixture.invite` (Contact and Record-Route as in `Fixture.ok`), with `toTag`.
    static func ok(toTag: String = "a6c85cf", contact: String = "<sip:bob@192.0.2.4>") throws -> SIPResponse {
        try Fixture.response(Fixture.ok(contact: contact).replacingOccurrences(of: ";tag=a6c85cf", with: ";tag=\(toTag)"))
    }

    /// A request Alice sends in the dialog Bob answered with tag `bob1` (as Bob receives it).
    static func fromAlice(method: String, cseq: UInt32) throws -> SIPRequest {
        try Fixture.request("""
            \(method) sip:bob@192.0.2.4 SIP/2.0
            Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKalice\(cseq)
            Max-Forwards: 70
            From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
            To: Bob <sip:bob@biloxi.example.com>;tag=bob1
            Call-ID: a84b4c76e66710@pc33.atlanta.example.com
            CSeq: \(cseq) \(method)
            Contact: <sip:alice@pc33.atlanta.example.com>
            Content-Length: 0


            """)
    }

    static let via = SIPVia(transport: "UDP", host: "pc33.atlanta.example.com", port: 5060, branch: "z9hG4bKsession", parameters: [])
}

/// A mock clock for the session's own timers, like `MockClock` for the transactions': it records the
/// timers the session starts and fires them in deadline order as time is advanced.
struct SessionClock {
    private(set) var now: Duration = .zero
    private(set) var deadlines: [InviteSession.Timer: Duration] = [:]

    mutating func apply(_ actions: [InviteSession.Action]) {
        for action in actions {
            switch action {
            case .startTimer(let timer, let after): deadlines[timer] = now + after
            case .cancelTimer(let timer): deadlines[timer] = nil
            case .end: deadlines = [:]
            case .sendINVITE, .retryWithCredentials, .retryWithSessionInterval, .sendSessionRefresh, .sendCANCEL, .sendACK, .resendACK, .sendBYE, .sendProvisional, .sendAnswer,
                 .sendFinalResponse, .stopSuccessRetransmission, .report:
                break
            }
        }
    }

    /// The timer due at or before `limit`, removed, with the clock moved to it; else the clock moves to `limit`.
    mutating func nextDue(before limit: Duration) -> InviteSession.Timer? {
        guard let (timer, deadline) = deadlines.min(by: { $0.value < $1.value }), deadline <= limit else {
            now = max(now, limit)
            return nil
        }
        deadlines[timer] = nil
        now = deadline
        return timer
    }

    var pending: Set<InviteSession.Timer> { Set(deadlines.keys) }
}
