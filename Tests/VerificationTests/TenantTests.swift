import Foundation
import Testing
@testable import Verification

/// Issue 12, item 1: a verification belongs to the API key that started it; every start is its
/// own verification; a call approves at most one verification, one whose page showed what the
/// caller used. Each test performs the attack on the domain service and shows it refused.
@Suite("Tenants: verifications belong to their start")
struct TenantTests {
    /// Numbers that can take every channel (mobile, so SMS too), one per channel so the per-number
    /// send limit of one test does not meet another's.
    static let numbers: [VerificationMethod: String] = [
        .sms: "0975000801", .voiceCall: "0975000802", .voiceCallIn: "0975000803",
        .missedCall: "0975000804", .dtmfCallOut: "0975000805", .dtmfCallIn: "0975000806",
    ]

    @Test("another key cannot read, check, cancel, resend or list the events of a verification; its start is a new one", arguments: VerificationMethod.allCases)
    func anotherKeySeesNothing(channel: VerificationMethod) async throws {
        let h = Harness()
        let number = try #require(Self.numbers[channel])
        let a = try await h.service.start(StartRequest(to: number, channel: channel, apiKeyID: "AKvictim"))
        let sentToA = h.delivery.sent.filter { $0.verificationID == a.verification.id }.count
        h.clock.advance(31)
        let b = try await h.service.start(StartRequest(to: number, channel: channel, apiKeyID: "AKattacker"))
        #expect(b.verification.id != a.verification.id, "a start never returns another verification")
        #expect(b.verification.apiKeyID == "AKattacker")
        if channel.isCallIn {
            #expect(b.verification.systemNumber != a.verification.systemNumber, "a caller's number is shown for one verification at a time")
        }
        // A's verification did not change: no send, no new code, same version.
        let storedA = try #require(await h.store.verification(id: a.verification.id))
        #expect(storedA == a.verification)
        #expect(h.delivery.sent.filter { $0.verificationID == a.verification.id }.count == sentToA)

        let attacker = VerificationAccess.apiKey("AKattacker")
        let id = a.verification.id
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.verification(id: id, access: attacker) }
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.check(id: id, code: "123456", access: attacker) }
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.cancel(id: id, access: attacker) }
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.resend(id: id, access: attacker) }
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.events(id: id, access: attacker) }
        // Unknown ids answer the same.
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.verification(id: "VEnope", access: attacker) }
        #expect(try #require(await h.store.verification(id: id)) == a.verification, "the attempts changed nothing")
        // The owner still can.
        #expect(try await h.service.verification(id: id, access: .apiKey("AKvictim")).status == .pending)
        #expect(try await h.service.cancel(id: id, access: .apiKey("AKvictim")).status == .canceled)
    }

    @Test("two end users of one key: the second start is a new verification and leaves the first alone", arguments: VerificationMethod.allCases)
    func twoUsersOfOneKey(channel: VerificationMethod) async throws {
        let h = Harness()
        let number = try #require(Self.numbers[channel])
        let first = try await h.service.start(StartRequest(to: number, channel: channel, apiKeyID: "AKshop"))
        // Immediately: no resend_interval refusal, which would tell the second user that a verification exists.
        let second = try await h.service.start(StartRequest(to: number, channel: channel, apiKeyID: "AKshop"))
        #expect(second.verification.id != first.verification.id)
        #expect(second.resent == false)
        #expect(try #require(await h.store.verification(id: first.verification.id)) == first.verification)
        if channel.isCallIn { #expect(second.verification.systemNumber != first.verification.systemNumber) }
    }

    @Test("the attacker starts first, the victim verifies: the attacker's verification is not approved")
    func attackerFirstThenVictimSMS() async throws {
        let h = Harness()
        let attacker = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, apiKeyID: "AKattacker"))
        h.clock.advance(40)
        let victim = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, apiKeyID: "AKvictim"))
        #expect(victim.verification.id != attacker.verification.id)
        let code = try #require(h.delivery.sent.last { $0.verificationID == victim.verification.id }?.code)
        #expect(try await h.service.check(id: victim.verification.id, code: code, access: .apiKey("AKvictim")).status == .approved)
        #expect(try await h.service.verification(id: attacker.verification.id).status == .pending)
        await #expect(throws: VerificationError.notFound) {
            _ = try await h.service.verification(id: victim.verification.id, access: .apiKey("AKattacker"))
        }
    }

    @Test("missed_call: the attacker's earlier start holds another number; the victim's call approves only the victim's verification")
    func attackerFirstThenVictimMissedCall() async throws {
        let h = Harness()
        let attacker = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKattacker"))
        let victim = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKvictim"))
        let shown = try #require(victim.verification.systemNumber)
        #expect(shown != attacker.verification.systemNumber)
        let decision = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: shown, trust: .asserted)
        guard case .missedCallApproved(let approved) = decision else { Issue.record("got \(decision)"); return }
        #expect(approved.id == victim.verification.id)
        #expect(try await h.service.verification(id: attacker.verification.id).status == .pending)
    }

    @Test("missed_call: the victim starts first; the attacker's later start never gets the victim's number, and the pool runs out with no_system_number")
    func attackerAfterVictimMissedCall() async throws {
        let h = Harness()
        let victim = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKvictim"))
        let attacker = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKattacker"))
        #expect(attacker.verification.systemNumber != victim.verification.systemNumber)
        // Both numbers of the pool are held for this caller now: a third start (any key, any call-in channel) is refused.
        h.clock.advance(100)
        for channel in [VerificationMethod.missedCall, .voiceCallIn, .dtmfCallIn] {
            await #expect(throws: VerificationError.noSystemNumber(retryAfter: 500)) {
                _ = try await h.service.start(StartRequest(to: "0975000888", channel: channel, apiKeyID: "AKattacker"))
            }
        }
        // Canceling does not free a number: the victim may still be dialling it.
        _ = try await h.service.cancel(id: attacker.verification.id)
        await #expect(throws: VerificationError.noSystemNumber(retryAfter: 500)) {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKattacker"))
        }
        // Another caller is not concerned.
        _ = try await h.service.start(StartRequest(to: "0975000999", channel: .missedCall, apiKeyID: "AKattacker"))
        // After the first expiry the number is free again.
        h.clock.advance(500)
        let later = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKattacker"))
        #expect(later.verification.systemNumber != nil)
    }

    @Test("a page switching method keeps its number; another start does not get it")
    func switchKeepsTheNumber() async throws {
        let h = Harness()
        let first = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn, apiKeyID: "AKshop"))
        let switched = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKshop", replacing: first.verification.id))
        #expect(switched.verification.systemNumber == first.verification.systemNumber)
        _ = try await h.service.cancel(id: first.verification.id)
        // The switched one holds the number now; the other number is the only one left.
        let other = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKshop"))
        #expect(other.verification.systemNumber != switched.verification.systemNumber)
        // Naming a verification that holds nothing for this caller takes nothing over.
        await #expect(throws: VerificationError.noSystemNumber(retryAfter: 600)) {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKshop", replacing: "VEunknown"))
        }
    }

    @Test("a call approves at most one verification: two that a call cannot tell apart are both left alone")
    func ambiguousCallApprovesNothing() async throws {
        // Two pending missed calls on one number for one caller (rows from before the holds, say).
        let h = Harness()
        let now = h.clock.now()
        func row(_ id: String) -> Verification {
            Verification(id: id, to: "+886975000888", region: "TW", channel: .missedCall, locale: "en", codeLength: 6, codeMAC: nil,
                         createdAt: now, expiresAt: now.addingTimeInterval(600), systemNumber: "+886229996666")
        }
        for id in ["VEone", "VEtwo"] {
            #expect(await h.store.insert(row(id), event: VerificationEvent(verificationID: id, kind: .created, status: .pending, at: now)))
        }
        let decision = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted)
        guard case .reject(let reason) = decision else { Issue.record("got \(decision)"); return }
        #expect(reason.hasPrefix("ambiguous"))
        #expect(try await h.service.verification(id: "VEone").status == .pending)
        #expect(try await h.service.verification(id: "VEtwo").status == .pending)
    }

    @Test("a missed call approves one verification once; a second call approves nothing more")
    func oneCallOneApproval() async throws {
        let h = Harness()
        let a = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKshop"))
        let b = try await h.service.start(StartRequest(to: "0975000888", channel: .missedCall, apiKeyID: "AKshop"))
        let called = try #require(a.verification.systemNumber)
        guard case .missedCallApproved(let approved) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: called, trust: .asserted) else {
            Issue.record("not approved")
            return
        }
        #expect(approved.id == a.verification.id)
        #expect(try await h.service.verification(id: b.verification.id).status == .pending)
        #expect(try await h.service.inboundCall(caller: "0975000888", region: "TW", called: called, trust: .asserted)
            == .reject(reason: "no pending verification for this caller"))
    }

    @Test("dtmf_callin, two pending for one caller: the keyed code approves exactly its own verification")
    func dtmfCallInKeyedCodeSaysWhich() async throws {
        let h = Harness()
        let a = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn, apiKeyID: "AKvictim"))
        let b = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn, apiKeyID: "AKattacker"))
        let codeA = try #require(a.code)
        let systemA = try #require(a.verification.systemNumber)
        #expect(systemA != b.verification.systemNumber)
        guard case .collectCode(let routed) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: systemA, trust: .asserted) else {
            Issue.record("no collect")
            return
        }
        #expect(routed.id == a.verification.id, "the call goes to the verification that showed this number")
        #expect(try await h.service.checkKeyed(id: routed.id, digits: codeA).status == .approved)
        #expect(try await h.service.verification(id: b.verification.id).status == .pending)
    }

    @Test("dtmf_callin, two pending on one system number: digits approve the one whose code they are; wrong digits count against the routed one only")
    func dtmfCallInSiblingsOnOneNumber() async throws {
        let h = Harness()
        let now = h.clock.now()
        func row(_ id: String, code: String, age: Double) -> Verification {
            Verification(id: id, to: "+886975000888", region: "TW", channel: .dtmfCallIn, locale: "en", codeLength: 6,
                         codeMAC: h.service.hasher.mac(id: id, code: code), createdAt: now.addingTimeInterval(-age),
                         expiresAt: now.addingTimeInterval(600 - age), systemNumber: "+886229996666")
        }
        for v in [row("VEold", code: "111111", age: 20), row("VEnew", code: "222222", age: 10)] {
            #expect(await h.store.insert(v, event: VerificationEvent(verificationID: v.id, kind: .created, status: .pending, at: v.createdAt)))
        }
        guard case .collectCode(let routed) = try await h.service.inboundCall(caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted) else {
            Issue.record("no collect")
            return
        }
        #expect(routed.id == "VEnew")
        let wrong = try await h.service.checkKeyed(id: routed.id, digits: "999999")
        #expect(wrong.id == "VEnew")
        #expect(wrong.checkAttempts == 1)
        #expect(try await h.service.verification(id: "VEold").checkAttempts == 0)
        let keyed = try await h.service.checkKeyed(id: routed.id, digits: "111111")
        #expect(keyed.id == "VEold")
        #expect(keyed.status == .approved)
        #expect(try await h.service.verification(id: "VEnew").status == .pending)
    }

    @Test("explicit resend: only the owner, only that verification, within the resend interval")
    func explicitResend() async throws {
        let h = Harness()
        let a = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn, apiKeyID: "AKshop"))
        await #expect(throws: VerificationError.rateLimited(limit: .resendInterval, retryAfter: 30)) {
            _ = try await h.service.resend(id: a.verification.id, access: .apiKey("AKshop"))
        }
        h.clock.advance(30)
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.resend(id: a.verification.id, access: .apiKey("AKother")) }
        let again = try await h.service.resend(id: a.verification.id, access: .apiKey("AKshop"))
        #expect(again.verification.id == a.verification.id)
        #expect(again.verification.systemNumber == a.verification.systemNumber)
        let code = try #require(again.code)
        // The new code works, on the same verification.
        #expect(try await h.service.checkKeyed(id: a.verification.id, digits: code).status == .approved)
    }

    @Test("the per-number send limit holds across keys and names only the limit")
    func sendLimitAcrossKeys() async throws {
        let h = Harness()
        for i in 0..<5 {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, apiKeyID: i % 2 == 0 ? "AKa" : "AKb"))
        }
        do {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, apiKeyID: "AKc"))
            Issue.record("the sixth send must be refused")
        } catch let error as VerificationError {
            guard case .rateLimited(.sendsPerNumber, let after) = error else { Issue.record("got \(error)"); return }
            #expect(after == 600)
            #expect(error.detail == "Too many requests (sends_per_number limit); retry in 600 s.")
        }
    }
}
