// The proof step of the call-in channels (issue 12, "a caller ID that cannot be forged with one
// packet"): over UDP the gateway first asks `inboundCall(…, commit: false)`, which changes nothing,
// and reports the call proven only when the caller's ACK of our final response arrives carrying our
// To tag (RFC 3261 §17.2.1) — something a forged datagram, whose responses went elsewhere
// (§18.2.2), cannot produce. Only then is a missed_call approved, after checking again.

import Foundation

/// What became of a `call_proven` report.
public enum CallProofResult: Sendable, Equatable {
    /// The verification is approved now.
    case approved(Verification)
    /// Nothing changed, for this reason (already finished, expired, another caller or number, …).
    case refused(reason: String)
}

extension VerificationService {
    /// The gateway proved the round trip of a call from `caller` (as received, national numbers read
    /// in `region`) to `called` whose caller ID was learned as `trust`, for the missed_call
    /// verification `id` that `inboundCall(…, commit: false)` named. Approves it if it is still
    /// pending, unexpired, of that caller and that system number, and its method accepts `trust`.
    /// Repeating the report (a resend after a reconnect) changes nothing more. `verstat` is the
    /// carrier's validation as in `inboundCall`: Failed never approves; Passed makes asserted `verified`.
    public func callProven(id: String, caller: String, region: String?, called: String, trust learned: CallerIDTrust, verstat: CarrierValidation? = nil) async throws -> CallProofResult {
        if verstat == .failed { return .refused(reason: Self.failedValidation) }
        let trust = learned.confirmed(by: verstat)
        guard let callerNumber = try? PhoneNumber(parsing: caller, defaultRegion: region ?? policy.defaultRegion) else {
            return .refused(reason: "caller ID is not a phone number")
        }
        let systemNumber = (try? PhoneNumber(parsing: called, defaultRegion: policy.defaultRegion))?.e164
        do {
            // The read, the decision and the approval in one store write (`VerificationRecordStore.change`).
            return try await optimistically(attempts: 8) {
                try await change(id: id) { [self] stored in
                    proofDecision(stored, caller: callerNumber.e164, systemNumber: systemNumber, trust: trust, verstat: verstat, at: clock.now())
                }
            }
        } catch VerificationError.conflict {
            return .refused(reason: "kept changing")
        }
    }

    /// What a proven call from `caller` to `systemNumber` decides about the verification it named,
    /// as a value (`callProven`): its approval, its expiry past its time, or why nothing changes.
    func proofDecision(_ stored: Verification?, caller: String, systemNumber: String?, trust: CallerIDTrust, verstat: CarrierValidation?,
                       at now: Date) -> VerificationDecision<CallProofResult> {
        func refuse(_ reason: String, writing write: VerificationWrite? = nil) -> VerificationDecision<CallProofResult> {
            VerificationDecision(write: write, answer: .success(.refused(reason: reason)))
        }
        guard let v = stored else { return refuse("unknown verification") }
        guard v.status == .pending else { return refuse("not pending (\(v.status.rawValue))") }
        guard v.channel == .missedCall else { return refuse("\(v.channel.rawValue) is not approved by a call's proof") }
        guard v.to == caller else { return refuse("another caller") }
        guard let systemNumber, v.systemNumber == systemNumber else { return refuse("another system number") }
        guard policy.accepts(trust, for: v.channel) else { return refuse("caller ID \(trust.rawValue) not accepted for \(v.channel.rawValue)") }
        if v.expiresAt <= now { return refuse("expired", writing: finished(v, status: .expired, kind: .expired, at: now)) }
        let approval = finished(v, status: .approved, kind: .approved, at: now, detail: "caller ID matched (\(trust.auditText(verstat))), proven by ACK")
        return VerificationDecision(write: approval, answer: .success(.approved(approval.verification)))
    }
}
