import Foundation
import Testing
@testable import Verification

@Suite("Carrier validation (verstat, 3GPP TS 24.229 §7.2A.20) in the call-in decision")
struct CarrierValidationTests {
    private func start(_ h: Harness, _ channel: VerificationMethod, to number: String = "0975000888") async throws -> StartResult {
        try await h.service.start(StartRequest(to: number, channel: channel))
    }

    private func policy(_ rules: String) throws -> VerificationPolicy {
        var policy = VerificationPolicy(systemNumbers: ["+886229996666"])
        policy.acceptedCallerIDTrust = try VerificationPolicy.parseCallerIDTrust(rules)
        return policy
    }

    @Test("verified is asserted plus Passed; nothing else upgrades")
    func confirmed() {
        #expect(CallerIDTrust.asserted.confirmed(by: .passed) == .verified)
        #expect(CallerIDTrust.asserted.confirmed(by: .notValidated) == .asserted)
        #expect(CallerIDTrust.asserted.confirmed(by: nil) == .asserted)
        #expect(CallerIDTrust.asserted.confirmed(by: .failed) == .asserted)
        #expect(CallerIDTrust.unverified.confirmed(by: .passed) == .unverified)
        #expect(CallerIDTrust.withheld.confirmed(by: .passed) == .withheld)
    }

    @Test("the policy: verified is accepted where asserted is; missed_call=verified refuses plain asserted")
    func policyLevels() throws {
        let strict = try policy("missed_call=verified")
        #expect(strict.accepts(.verified, for: .missedCall))
        #expect(!strict.accepts(.asserted, for: .missedCall))
        #expect(!strict.accepts(.unverified, for: .missedCall))
        // Other methods keep the default (asserted), which a verified caller ID satisfies.
        #expect(strict.accepts(.verified, for: .dtmfCallIn))
        #expect(strict.accepts(.asserted, for: .dtmfCallIn))
        #expect(VerificationPolicy().accepts(.verified, for: .voiceCallIn))
        #expect(!VerificationPolicy().accepts(.withheld, for: .voiceCallIn))
        #expect(try VerificationPolicy.parseCallerIDTrust("missed_call=verified;dtmf_callin=asserted,unverified")
                == [.missedCall: [.verified], .dtmfCallIn: [.asserted, .unverified]])
    }

    @Test("missed_call=verified: asserted without verstat is refused; with Passed approved, the audit line naming it")
    func verifiedRequired() async throws {
        let h = Harness(policy: try policy("missed_call=verified"))
        let started = try await start(h, .missedCall)
        for verstat: CarrierValidation? in [nil, .notValidated] {
            #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted, verstat: verstat)
                    == .reject(reason: "caller ID asserted not accepted for missed_call"))
        }
        // Passed from an untrusted source never reaches the core as asserted: unverified stays refused.
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .unverified, verstat: .passed)
                == .reject(reason: "caller ID unverified not accepted"))
        #expect(try await h.service.verification(id: started.verification.id).status == .pending)
        guard case .missedCallApproved(let v) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666",
                                                                                 trust: .asserted, verstat: .passed) else {
            Issue.record("not approved with Passed")
            return
        }
        #expect(v.id == started.verification.id)
        #expect(h.sink.events.last?.kind == .approved)
        #expect(h.sink.events.last?.detail == "caller ID matched (verified, verstat TN-Validation-Passed)")
    }

    @Test("TN-Validation-Failed never approves, even when the policy accepts unverified; the refusal is on the audit trail",
          arguments: [VerificationMethod.missedCall, .voiceCallIn, .dtmfCallIn])
    func failedNeverApproves(channel: VerificationMethod) async throws {
        let h = Harness(policy: try policy("\(channel.rawValue)=asserted,unverified"))
        let started = try await start(h, channel)
        for trust: CallerIDTrust in [.asserted, .unverified] {
            #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: trust, verstat: .failed)
                    == .reject(reason: "caller ID failed the carrier's validation (verstat TN-Validation-Failed)"))
        }
        let after = try await h.service.verification(id: started.verification.id)
        #expect(after.status == .pending)
        #expect(after.sendCount == started.verification.sendCount)
        #expect(h.sink.events.last?.kind == .callProgress)
        #expect(h.sink.events.last?.detail == "call refused: caller ID failed the carrier's validation (verstat TN-Validation-Failed)")
    }

    @Test("an unproven call (commit: false) with Failed is refused and writes nothing")
    func failedUnprovenWritesNothing() async throws {
        let h = Harness()
        let started = try await start(h, .missedCall)
        let system = try #require(started.verification.systemNumber)
        let before = h.sink.events.count
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: system, trust: .asserted, verstat: .failed, commit: false)
                == .reject(reason: "caller ID failed the carrier's validation (verstat TN-Validation-Failed)"))
        #expect(h.sink.events.count == before)
        #expect(try await h.service.verification(id: started.verification.id).status == .pending)
    }

    @Test("call_proven: Failed refuses, missed_call=verified wants Passed, and the audit line names the verstat")
    func proven() async throws {
        let h = Harness(policy: try policy("missed_call=verified"))
        let started = try await start(h, .missedCall)
        let id = started.verification.id
        #expect(try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted, verstat: .failed)
                == .refused(reason: "caller ID failed the carrier's validation (verstat TN-Validation-Failed)"))
        #expect(try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted)
                == .refused(reason: "caller ID asserted not accepted for missed_call"))
        guard case .approved = try await h.service.callProven(id: id, caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted, verstat: .passed) else {
            Issue.record("not approved")
            return
        }
        #expect(h.sink.events.last?.detail == "caller ID matched (verified, verstat TN-Validation-Passed), proven by ACK")
    }
}
