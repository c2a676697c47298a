import Foundation
import Testing
@testable import Verification

@Suite("Call-in channels: the core's decision on a call to a system number")
struct CallInTests {
    private func start(_ h: Harness, _ channel: VerificationMethod, to number: String = "0975000888") async throws -> StartResult {
        try await h.service.start(StartRequest(to: number, channel: channel))
    }

    @Test("missed_call: an asserted caller ID to the verification's system number approves at once")
    func missedCallApproves() async throws {
        let h = Harness()
        let started = try await start(h, .missedCall)
        let system = try #require(started.verification.systemNumber)
        // National format from the peer, as a TW trunk sends it.
        let decision = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted)
        guard case .missedCallApproved(let v) = decision else { Issue.record("got \(decision)"); return }
        #expect(v.id == started.verification.id)
        #expect(try await h.service.verification(id: v.id).status == .approved)
        #expect(h.sink.events.last?.detail == "caller ID matched (asserted)")
        // A second call finds nothing pending.
        #expect(try await h.service.inboundCall(caller: "+886975000888", region: nil, called: system, trust: .asserted)
            == .reject(reason: "no pending verification for this caller"))
    }

    @Test("caller ID that is withheld, unverified, from another number, or to another system number does not approve")
    func refusals() async throws {
        let h = Harness()
        let started = try await start(h, .missedCall)
        let system = try #require(started.verification.systemNumber)
        let other = h.service.policy.systemNumbers.first { $0 != system }!
        #expect(try await h.service.inboundCall(caller: nil, region: nil, called: system, trust: .withheld) == .reject(reason: "caller ID withheld"))
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .unverified) == .reject(reason: "caller ID unverified not accepted"))
        #expect(try await h.service.inboundCall(caller: "0975000999", region: "TW", called: system, trust: .asserted) == .reject(reason: "no pending verification for this caller"))
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: other, trust: .asserted) == .reject(reason: "no pending verification for this caller"))
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+15555550100", trust: .asserted) == .reject(reason: "not a system number"))
        #expect(try await h.service.inboundCall(caller: "anonymous", region: "TW", called: system, trust: .asserted) == .reject(reason: "caller ID is not a phone number"))
        #expect(try await h.service.verification(id: started.verification.id).status == .pending)
    }

    @Test("the operator may accept unverified caller ID for one method; the others still want asserted")
    func unverifiedAcceptedPerMethod() async throws {
        var policy = VerificationPolicy(systemNumbers: ["+886229996666"])
        policy.acceptedCallerIDTrust = try VerificationPolicy.parseCallerIDTrust("dtmf_callin=asserted,unverified")
        let h = Harness(policy: policy)
        let missed = try await start(h, .missedCall)
        // The missed call wants asserted: an unverified call does not touch it.
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .unverified)
                == .reject(reason: "caller ID unverified not accepted for missed_call"))
        #expect(try await h.service.verification(id: missed.verification.id).status == .pending)
        // dtmf_callin accepts it: the caller is asked for the code (which still has to be right).
        let keyed = try await h.service.start(StartRequest(to: "0975000777", channel: .dtmfCallIn))
        guard case .collectCode(let v) = try await h.service.inboundCall(caller: "0975000777", region: "TW", called: "+886229996666", trust: .unverified) else {
            Issue.record("dtmf_callin did not accept unverified caller ID")
            return
        }
        #expect(v.id == keyed.verification.id)
        // The same policy for missed_call approves.
        policy.acceptedCallerIDTrust[.missedCall] = [.asserted, .unverified]
        let h2 = Harness(policy: policy)
        _ = try await start(h2, .missedCall)
        guard case .missedCallApproved = try await h2.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .unverified) else {
            Issue.record("not approved")
            return
        }
    }

    @Test("a decision that comes after the gateway's deadline changes nothing and refuses")
    func lateDecisionChangesNothing() async throws {
        let h = Harness()
        let started = try await start(h, .missedCall)
        let system = try #require(started.verification.systemNumber)
        let past = h.clock.now().addingTimeInterval(-1)
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted, deadline: past)
                == .reject(reason: "too late: the gateway gave up waiting"))
        #expect(try await h.service.verification(id: started.verification.id).status == .pending)
        let future = h.clock.now().addingTimeInterval(2)
        guard case .missedCallApproved = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted, deadline: future) else {
            Issue.record("not approved before the deadline")
            return
        }
    }

    @Test("caller ID trust settings: a clear error for each mistake", arguments: [
        ("sms=asserted", "caller ID trust: sms=asserted must be missed_call, voice_callin or dtmf_callin = levels"),
        ("missed_call=trusted", "caller ID trust: trusted is not verified, asserted or unverified"),
        ("missed_call=withheld", "caller ID trust: withheld is not verified, asserted or unverified"),
        ("missed_call", "caller ID trust: missed_call must be missed_call, voice_callin or dtmf_callin = levels"),
    ])
    func trustSettingErrors(text: String, message: String) {
        #expect(throws: ConfigurationProblem(message)) { try VerificationPolicy.parseCallerIDTrust(text) }
    }

    @Test("voice_callin: each call issues a fresh code that the web check accepts")
    func voiceCallInCode() async throws {
        let h = Harness()
        let started = try await start(h, .voiceCallIn)
        let system = try #require(started.verification.systemNumber)
        guard case .playCode(_, let first) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted),
              case .playCode(_, let second) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted)
        else { Issue.record("no code"); return }
        #expect(first.count == 6)
        #expect(second.count == 6)
        if first != second {
            await #expect(throws: Never.self) { _ = try await h.service.check(id: started.verification.id, code: first) }
            #expect(try await h.service.verification(id: started.verification.id).status == .pending)
        }
        #expect(try await h.service.check(id: started.verification.id, code: second).status == .approved)
    }

    @Test("dtmf_callin: collect the code shown on the page; keyed digits approve")
    func dtmfCallIn() async throws {
        let h = Harness()
        let started = try await start(h, .dtmfCallIn)
        let system = try #require(started.verification.systemNumber)
        let code = try #require(started.code)
        guard case .collectCode(let v) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted) else {
            Issue.record("no collect")
            return
        }
        #expect(try await h.service.checkKeyed(id: v.id, digits: code).status == .approved)
    }

    @Test("an expired verification is expired, not matched")
    func expired() async throws {
        let h = Harness()
        let started = try await start(h, .missedCall)
        h.clock.advance(h.service.policy.limits.expiry + 1)
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: started.verification.systemNumber!, trust: .asserted)
            == .reject(reason: "no pending verification for this caller"))
        #expect(try await h.service.verification(id: started.verification.id).status == .expired)
    }
}
