import Foundation
import Testing
@testable import Verification

/// The retry policy after an outgoing call ends: busy, unanswered and failed calls are placed
/// again up to `maxCalls`; then, or at once for a rejected call, the verification fails.
@Suite("Outgoing call retry policy")
struct CallRetryTests {
    private func harness(maxCalls: Int = 2, delay: Double = 30) -> Harness {
        var policy = VerificationPolicy(systemNumbers: ["+886229996666"])
        policy.limits.maxCalls = maxCalls
        policy.limits.callRetryDelay = delay
        policy.limits.maxSendsPerNumber = 10
        return Harness(policy: policy)
    }

    @Test("busy, no answer and failed are retried after the delay; the last allowed call failing fails the verification",
          arguments: [("busy", 486), ("no_answer", 487), ("failed", 503)])
    func retriedThenFailed(reason: String, status: Int) async throws {
        let h = harness(maxCalls: 2, delay: 45)
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let id = started.verification.id
        let firstCode = h.lastCode
        #expect(try await h.service.outgoingCallEnded(id: id, reason: reason, sipStatus: status) == .retry(after: 45))
        #expect(try await h.service.retryCall(id: id))
        #expect(h.delivery.sent.count == 2)
        // A new code for the second call; the first is no longer valid.
        let secondCode = h.lastCode
        #expect(secondCode.count == 6)
        if secondCode != firstCode {
            #expect(try await h.service.check(id: id, code: firstCode).status == .pending)
        }
        #expect(try await h.service.verification(id: id).sendCount == 2)
        let spoken = reason.replacingOccurrences(of: "_", with: " ")
        #expect(try await h.service.outgoingCallEnded(id: id, reason: reason, sipStatus: status)
                == .failed(reason: "voice_call: \(spoken) (SIP \(status)) after 2 calls"))
        let failed = try await h.service.verification(id: id)
        #expect(failed.status == .failed)
        #expect(failed.failureReason == "voice_call: \(spoken) (SIP \(status)) after 2 calls")
        #expect(try await h.service.retryCall(id: id) == false)
        #expect(h.delivery.sent.count == 2)
    }

    @Test("a retry is kept in the store: placed once when due, by whichever sweep comes first (a restarted core too)")
    func retryIsStored() async throws {
        let h = harness(maxCalls: 3, delay: 30)
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let id = started.verification.id
        #expect(try await h.service.outgoingCallEnded(id: id, reason: "busy", sipStatus: 486) == .retry(after: 30))
        h.clock.advance(29)
        #expect(try await h.service.placeDueCallRetries().isEmpty)
        #expect(h.delivery.sent.count == 1)
        h.clock.advance(1)
        // A second service on the same store stands for the core after a restart (or another node).
        let restarted = VerificationService(policy: h.service.policy, store: h.store, delivery: h.delivery, events: RecordingSink(),
                                            secret: Array("test secret of thirty-two bytes!".utf8), clock: h.clock, random: SeededRandom(seed: 9))
        let placed = try await restarted.placeDueCallRetries()
        #expect(placed.map(\.id) == [id])
        #expect((try? placed.first?.result.get()) == true)
        #expect(h.delivery.sent.count == 2)
        #expect(try await h.service.placeDueCallRetries().isEmpty)
        #expect(try await h.service.verification(id: id).sendCount == 2)
    }

    @Test("a rejected call fails the verification at once; no more calls")
    func rejectedFails() async throws {
        let h = harness(maxCalls: 3)
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallOut))
        #expect(try await h.service.outgoingCallEnded(id: started.verification.id, reason: "rejected", sipStatus: 603)
                == .failed(reason: "dtmf_callout: call rejected (SIP 603)"))
        #expect(try await h.service.verification(id: started.verification.id).status == .failed)
    }

    @Test("completed and hung-up calls, and other channels, need nothing", arguments: ["completed", "hung_up"])
    func nothingToDo(reason: String) async throws {
        let h = harness()
        let call = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await h.service.outgoingCallEnded(id: call.verification.id, reason: reason, sipStatus: nil) == .none)
        let sms = try await h.service.start(StartRequest(to: "0975000777", channel: .sms))
        #expect(try await h.service.outgoingCallEnded(id: sms.verification.id, reason: "busy", sipStatus: 486) == .none)
        #expect(try await h.service.verification(id: call.verification.id).status == .pending)
    }

    @Test("dtmf_callout: the repeated call keeps the code on the page and asks for as many keys")
    func dtmfCallOutKeepsTheCode() async throws {
        let h = harness()
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallOut))
        let code = try #require(started.code)
        #expect(try await h.service.outgoingCallEnded(id: started.verification.id, reason: "no_answer", sipStatus: 487) == .retry(after: 30))
        #expect(try await h.service.retryCall(id: started.verification.id))
        let again = try #require(h.delivery.sent.last)
        #expect(again.code.isEmpty, "the code is never sent for dtmf_callout")
        #expect(again.codeLength == 6)
        #expect(try await h.service.checkKeyed(id: started.verification.id, digits: code).status == .approved)
    }

    @Test("a retry for a verification that ended meanwhile places no call")
    func noRetryAfterTheEnd() async throws {
        let h = harness()
        let started = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await h.service.outgoingCallEnded(id: started.verification.id, reason: "busy", sipStatus: 486) == .retry(after: 30))
        _ = try await h.service.check(id: started.verification.id, code: h.lastCode)
        #expect(try await h.service.retryCall(id: started.verification.id) == false)
        #expect(h.delivery.sent.count == 1)
    }
}
