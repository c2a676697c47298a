// The call-in channels (missed_call, voice_callin, dtmf_callin): what the core decides when the
// gateway reports a call to a system number (README.md "The six methods").

import Foundation

/// How the gateway learned the caller's number (RFC 3325).
public enum CallerIDTrust: String, Sendable, Hashable, Codable, CaseIterable {
    /// Asserted, and validated by the caller's carrier (`verstat` TN-Validation-Passed, see
    /// `CarrierValidation`); a method that accepts `asserted` accepts it too.
    case verified
    /// P-Asserted-Identity (or the identity) given by a peer the gateway trusts.
    case asserted
    /// From or Remote-Party-ID of a peer the gateway does not trust: anyone can write it.
    case unverified
    /// No caller ID (anonymous, `Privacy: id`).
    case withheld
}

/// What to do with a call to a system number.
public enum CallInDecision: Sendable, Equatable {
    /// No pending call-in verification for this caller and number (or the caller ID cannot be used):
    /// reject without answering, so nobody pays.
    case reject(reason: String)
    /// missed_call: the verification is approved already; ring briefly and reject.
    case missedCallApproved(Verification)
    /// voice_callin: answer and say this code (stored only as its MAC).
    case playCode(Verification, code: String)
    /// dtmf_callin: answer and collect the code shown on the page.
    case collectCode(Verification)
    /// missed_call or voice_callin asked with `commit: false`: what would be approved or answered,
    /// nothing changed (see VerificationService+CallProof.swift).
    case awaitingProof(Verification)
}

extension VerificationService {
    /// A call from `caller` (as received; national numbers read in `region`, else the default region)
    /// to the system number `called` arrived with caller ID learned as `trust`. Finds the pending
    /// call-in verification for that caller and number and decides; several that a caller ID and a
    /// dialled number cannot tell apart are refused (dtmf_callin: the keyed code tells).
    /// With a `deadline` (the gateway's patience), a decision that could only be made after it
    /// changes nothing and refuses: the caller has been turned away already, and shedding the
    /// write keeps an overloaded core from falling further behind.
    /// With `commit: false` (the caller's address is not proven yet) nothing is approved nor issued.
    /// `verstat` is the carrier's validation of the caller ID: Passed makes an asserted one `verified`
    /// (`CallerIDTrust.confirmed(by:)`); Failed refuses the call whatever the policy accepts, and
    /// (committing) notes the refusal on the caller's pending call-in verifications' audit trail.
    public func inboundCall(caller: String?, region: String?, called: String, trust learned: CallerIDTrust, verstat: CarrierValidation? = nil,
                            deadline: Date? = nil, commit: Bool = true) async throws -> CallInDecision {
        guard let caller, learned != .withheld else { return .reject(reason: "caller ID withheld") }
        let trust = learned.confirmed(by: verstat)
        if verstat == .failed {
            if commit { try await noteFailedValidation(caller: caller, region: region, called: called) }
            return .reject(reason: Self.failedValidation)
        }
        guard VerificationMethod.allCases.contains(where: { $0.isCallIn && policy.accepts(trust, for: $0) }) else { return .reject(reason: "caller ID \(trust.rawValue) not accepted") }
        guard let callerNumber = try? PhoneNumber(parsing: caller, defaultRegion: region ?? policy.defaultRegion) else {
            return .reject(reason: "caller ID is not a phone number")
        }
        let systemNumber = (try? PhoneNumber(parsing: called, defaultRegion: policy.defaultRegion))?.e164
        guard let systemNumber, await systemNumbers().contains(systemNumber) else { return .reject(reason: "not a system number") }
        return try await optimistically {
            guard commit else {
                // Asking only (nothing approved nor issued): a read, and a write only for candidates
                // found expired.
                let candidates = try await store.pendingCallIn(caller: callerNumber.e164, systemNumber: systemNumber)
                return try await self.commit(callInDecision(candidates, trust: trust, verstat: verstat, deadline: deadline, commit: false, at: clock.now()))
            }
            // The read, the decision and its writes in one store write (`changePendingCallIn`).
            return try await published(store.changePendingCallIn(caller: callerNumber.e164, systemNumber: systemNumber) { [self] candidates in
                callInDecision(candidates, trust: trust, verstat: verstat, deadline: deadline, commit: true, at: clock.now())
            })
        }
    }

    /// What a call from a caller with these pending call-in `candidates` (newest first) decides at
    /// `now`, as a value (`inboundCall`): the expiry of candidates past their time, and the one
    /// candidate's approval (missed_call) or new code (voice_callin) when the call commits.
    func callInDecision(_ candidates: [Verification], trust: CallerIDTrust, verstat: CarrierValidation?, deadline: Date?,
                        commit: Bool, at now: Date) -> VerificationDecision<CallInDecision> {
        if let deadline, now > deadline { return VerificationDecision(write: nil, answer: .success(.reject(reason: "too late: the gateway gave up waiting"))) }
        // One call approves at most one verification, and only one whose page showed this system
        // number: starts hold a number per caller until expiry (`holdSystemNumber`), so normally one
        // live verification is left here. Several (a page switching method, or rows older than the
        // holds) are never guessed between for missed_call and voice_callin; for dtmf_callin the
        // keyed code says which (`checkKeyed`).
        var writes: [VerificationWrite] = []
        var refused: VerificationMethod?
        var live: [Verification] = []
        for candidate in candidates {
            if candidate.expiresAt <= now {
                writes.append(finished(candidate, status: .expired, kind: .expired, at: now))
                continue
            }
            // Each method's own trust policy: a verification whose method wants more is not touched.
            guard policy.accepts(trust, for: candidate.channel) else {
                refused = refused ?? candidate.channel
                continue
            }
            guard candidate.channel.isCallIn else { continue }
            live.append(candidate)
        }
        func answer(_ decision: CallInDecision) -> VerificationDecision<CallInDecision> {
            VerificationDecision(writes: writes, answer: .success(decision))
        }
        if live.count > 1 {
            guard live.allSatisfy({ $0.channel == .dtmfCallIn }) else {
                return answer(.reject(reason: "ambiguous: \(live.count) pending verifications for this caller and system number"))
            }
            return answer(.collectCode(live[0]))
        }
        if let candidate = live.first {
            if !commit, candidate.channel != .dtmfCallIn { return answer(.awaitingProof(candidate)) }
            switch candidate.channel {
            case .missedCall:
                let approval = finished(candidate, status: .approved, kind: .approved, at: now, detail: "caller ID matched (\(trust.auditText(verstat)))")
                writes.append(approval)
                return answer(.missedCallApproved(approval.verification))
            case .voiceCallIn:
                let (write, code) = callInCode(candidate, at: now)
                writes.append(write)
                return answer(.playCode(write.verification, code: code))
            case .dtmfCallIn:
                return answer(.collectCode(candidate))
            case .sms, .voiceCall, .dtmfCallOut:
                break
            }
        }
        if let refused { return answer(.reject(reason: "caller ID \(trust.rawValue) not accepted for \(refused.rawValue)")) }
        return answer(.reject(reason: "no pending verification for this caller"))
    }

    /// Why a call whose carrier failed to validate the caller ID is refused.
    static let failedValidation = "caller ID failed the carrier's validation (verstat TN-Validation-Failed)"

    /// An audit line on each pending, unexpired call-in verification of `caller` for `called`: a call
    /// claiming the number came in and its carrier said the number failed validation.
    private func noteFailedValidation(caller: String, region: String?, called: String) async throws {
        guard let callerNumber = try? PhoneNumber(parsing: caller, defaultRegion: region ?? policy.defaultRegion),
              let systemNumber = (try? PhoneNumber(parsing: called, defaultRegion: policy.defaultRegion))?.e164 else { return }
        let now = clock.now()
        for candidate in try await store.pendingCallIn(caller: callerNumber.e164, systemNumber: systemNumber) where candidate.channel.isCallIn && candidate.expiresAt > now {
            try await recordCallProgress(id: candidate.id, detail: "call refused: \(Self.failedValidation)")
        }
    }

    /// voice_callin: a fresh code for the caller and `v`'s next version with its MAC (a second call
    /// gets a new code).
    private func callInCode(_ v: Verification, at now: Date) -> (VerificationWrite, code: String) {
        let code = VerificationCode.generate(length: v.codeLength, random: random)
        var next = v
        next.version += 1
        next.codeMAC = hasher.mac(id: v.id, code: code)
        next.lastSentAt = now
        next.sendCount += 1
        next.updatedAt = now
        let event = VerificationEvent(verificationID: v.id, kind: .sent, status: .pending, at: now, detail: "voice_callin")
        return (VerificationWrite(verification: next, event: event), code)
    }
}

extension VerificationService {
    /// Records what a voice gateway reported about a call for a verification (ringing, answered,
    /// ended and why) on its audit trail; the status does not change (the user may ask for another
    /// call or switch method). A finished verification gets the event only when `evenIfFinished`
    /// (a call that failed after it was approved is worth an audit line; the usual end of a missed
    /// call is not worth a write). Nothing happens for an unknown one.
    public func recordCallProgress(id: String, detail: String, evenIfFinished: Bool = false) async throws {
        do {
            _ = try await optimistically(attempts: 8) { () async throws -> Bool? in
                guard var v = try await store.verification(id: id), v.status == .pending || evenIfFinished else { return false }
                v.updatedAt = clock.now()
                let event = VerificationEvent(verificationID: id, kind: .callProgress, status: v.status, at: v.updatedAt, detail: detail)
                return try await commit(v, event: event) == nil ? nil : true
            }
        } catch VerificationError.conflict {
            // Progress is an audit line: one that keeps losing the version race is left out, not an error.
        }
    }
}
