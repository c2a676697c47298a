import Foundation
import Testing
@testable import Verification

/// The core's half of issue 12 item 2: a call whose caller's address is not proven yet is decided
/// without committing (`commit: false`), and approved only by `callProven`, which checks again.
@Suite("Call-in proof: decide without committing, approve on the proven round trip")
struct CallProofTests {
    @Test("missed_call with commit: false names the verification and changes nothing; callProven approves it once")
    func missedCallWaitsForProof() async throws {
        let h = Harness()
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let system = try #require(started.verification.systemNumber)
        let decision = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted, commit: false)
        #expect(decision == .awaitingProof(started.verification))
        #expect(try await h.service.verification(id: started.verification.id).status == .pending)
        #expect(try await h.service.verification(id: started.verification.id).version == started.verification.version, "not even a write")

        let proven = try await h.service.callProven(id: started.verification.id, caller: "0975000888", region: "TW", called: system, trust: .asserted)
        guard case .approved(let v) = proven else { Issue.record("got \(proven)"); return }
        #expect(v.status == .approved)
        #expect(h.sink.events.last?.detail == "caller ID matched (asserted), proven by ACK")
        // A resent call_proven (after a reconnect) changes nothing more.
        #expect(try await h.service.callProven(id: started.verification.id, caller: "0975000888", region: "TW", called: system, trust: .asserted)
            == .refused(reason: "not pending (approved)"))
    }

    @Test("callProven re-checks: another caller, another system number, unverified trust, expiry and other methods approve nothing")
    func callProvenRechecks() async throws {
        let h = Harness()
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let system = try #require(started.verification.systemNumber)
        let id = started.verification.id
        #expect(try await h.service.callProven(id: id, caller: "0975000999", region: "TW", called: system, trust: .asserted) == .refused(reason: "another caller"))
        #expect(try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: "+886229990000", trust: .asserted)
            == .refused(reason: "another system number"))
        #expect(try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: system, trust: .unverified)
            == .refused(reason: "caller ID unverified not accepted for missed_call"))
        #expect(try await h.service.callProven(id: "VEnothing", caller: "0975000888", region: "TW", called: system, trust: .asserted) == .refused(reason: "unknown verification"))
        #expect(try await h.service.verification(id: id).status == .pending)
        h.clock.advance(h.service.policy.limits.expiry + 1)
        #expect(try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: system, trust: .asserted) == .refused(reason: "expired"))
        #expect(try await h.service.verification(id: id).status == .expired)

        let voice = try await h.service.start(StartRequest(to: "0975000777", channel: .voiceCallIn))
        let voiceSystem = try #require(voice.verification.systemNumber)
        #expect(try await h.service.callProven(id: voice.verification.id, caller: "0975000777", region: "TW", called: voiceSystem, trust: .asserted)
            == .refused(reason: "voice_callin is not approved by a call's proof"))
    }

    @Test("voice_callin with commit: false issues no code; committing afterwards does")
    func voiceCallInIssuesNoCodeBeforeProof() async throws {
        let h = Harness()
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let system = try #require(started.verification.systemNumber)
        let waiting = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted, commit: false)
        #expect(waiting == .awaitingProof(started.verification))
        #expect(try await h.service.verification(id: started.verification.id).sendCount == started.verification.sendCount, "no code issued")
        guard case .playCode(_, let code) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted) else {
            Issue.record("no code after the proof")
            return
        }
        #expect(code.count == started.verification.codeLength)
    }
}
