// The outgoing call channels (voice_call, dtmf_callout): what the core does when the gateway
// reports how a call it placed ended — the retry policy of README.md "The six methods".

import Foundation

/// What follows an outgoing call's end.
public enum CallFollowUp: Sendable, Equatable {
    /// Nothing: the call did its job, the user hung up (they may ask again), or the verification
    /// is no longer waiting for a call.
    case none
    /// Call again after this many seconds (`retryCall(id:)`).
    case retry(after: Double)
    /// No more calls: the verification failed with this reason.
    case failed(reason: String)
}

extension VerificationService {
    /// An outgoing call for verification `id` ended (`reason` as the gateway reports it: completed,
    /// busy, no_answer, rejected, hung_up, failed). Busy, unanswered and failed calls are placed
    /// again after `limits.callRetryDelay` until `limits.maxCalls` calls were placed, then the
    /// verification fails; a rejected call (the callee or the network refused it) fails it at once.
    public func outgoingCallEnded(id: String, reason: String, sipStatus: Int?) async throws -> CallFollowUp {
        // Completed and hung-up calls (every missed call among them) need no follow-up: no read.
        let retried = ["busy", "no_answer", "failed"].contains(reason)
        guard retried || reason == "rejected" else { return .none }
        guard let v = try await store.verification(id: id), v.status == .pending, v.channel == .voiceCall || v.channel == .dtmfCallOut else {
            return .none
        }
        let status = sipStatus.map { " (SIP \($0))" } ?? ""
        let why: String
        if retried {
            if v.sendCount < policy.limits.maxCalls {
                // Kept in the store: `placeDueCallRetries` places it, on this node or another, after a restart too.
                try await store.scheduleCallRetry(verificationID: id, at: clock.now().addingTimeInterval(policy.limits.callRetryDelay))
                return .retry(after: policy.limits.callRetryDelay)
            }
            why = "\(v.channel.rawValue): \(reason.replacingOccurrences(of: "_", with: " "))\(status) after \(v.sendCount) call\(v.sendCount == 1 ? "" : "s")"
        } else {
            why = "\(v.channel.rawValue): call rejected\(status)"
        }
        return try await fail(v, reason: why) == nil ? .none : .failed(reason: why)
    }

    /// Places the calls whose retry is due (see `outgoingCallEnded`), each claimed from the store so
    /// that no other node places it too. Returns each verification id with whether a call went out
    /// or the error that stopped it (a claimed retry is not tried again: a call is never doubled).
    public func placeDueCallRetries(limit: Int = 100) async throws -> [(id: String, result: Result<Bool, any Error>)] {
        var results: [(id: String, result: Result<Bool, any Error>)] = []
        for id in try await store.claimDueCallRetries(now: clock.now(), limit: limit) {
            do {
                results.append((id, .success(try await retryCall(id: id))))
            } catch {
                results.append((id, .failure(error)))
            }
        }
        return results
    }

    /// Places the call again for a still-pending verification (a voice_call says a fresh code; a
    /// dtmf_callout asks again for the code on the page). Returns false when no call was placed:
    /// no longer pending, or `limits.maxCalls` reached. A refused send fails the verification.
    @discardableResult
    public func retryCall(id: String) async throws -> Bool {
        do {
            return try await optimistically(attempts: 8) { () async throws -> Bool? in
                guard var v = try await store.verification(id: id), v.status == .pending,
                      v.channel == .voiceCall || v.channel == .dtmfCallOut, v.sendCount < policy.limits.maxCalls else { return false }
                let now = clock.now()
                guard v.expiresAt > now else { return false }
                let number = try PhoneNumber(parsing: v.to, defaultRegion: v.region)
                var code = ""
                if v.channel == .voiceCall {
                    // The last code was never heard; a new one, so no old one stays valid.
                    code = VerificationCode.generate(length: v.codeLength, random: random)
                    v.codeMAC = hasher.mac(id: v.id, code: code)
                }
            let event = VerificationEvent(verificationID: v.id, kind: .resent, status: .pending, at: now, detail: "call retry \(v.sendCount + 1) of \(policy.limits.maxCalls)")
            // The call is reserved (send limits checked, send recorded) with the new code, then placed.
            v = markedSent(v, at: now)
            guard let reserved = try await commitSend(v, auditEvents: [event, sentEvent(v, at: now)], number: number, now: now) else { return nil }
            _ = try await deliver(reserved, number: number, code: code, now: now)
            return true
            }
        } catch VerificationError.conflict {
            return false
        }
    }
}
