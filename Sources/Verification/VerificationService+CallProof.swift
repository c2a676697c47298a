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
            return try await optimistically(attempts: 8) { () async throws -> CallProofResult? in
                guard let v = try await store.verification(id: id) else { return .refused(reason: "unknown verification") }
                guard v.status == .pending else { return .refused(reason: "not pending (\(v.status.rawValue))") }
                guard v.channel == .missedCall else { return .refused(reason: "\(v.channel.rawValue) is not approved by a call's proof") }
                guard v.to == callerNumber.e164 else { return .refused(reason: "another caller") }
                guard let systemNumber, v.systemNumber == systemNumber else { return .refused(reason: "another system number") }
                guard policy.accepts(trust, for: v.channel) else { return .refused(reason: "caller ID \(trust.rawValue) not accepted for \(v.channel.rawValue)") }
                let now = clock.now()
                if v.expiresAt <= now {
                    _ = try await finish(v, status: .expired, kind: .expired, at: now)
                    return .refused(reason: "expired")
                }
                // nil: a concurrent writer won, read again.
                return try await finish(v, status: .approved, kind: .approved, at: now, detail: "caller ID matched (\(trust.auditText(verstat))), proven by ACK")
                    .map(CallProofResult.approved)
            }
        } catch VerificationError.conflict {
            return .refused(reason: "kept changing")
        }
    }
}
