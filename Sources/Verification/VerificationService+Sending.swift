// The send path of the verification flows: which numbers a channel may reach, the reservation of
// each send (limits checked and the send recorded in one store write, before delivery), delivery
// and the fallback to the next channel. README "Security" (send limits, toll fraud and pumping).

import Foundation

extension VerificationService {
    /// Refuses a number whose libphonenumber line type `channel` may not reach (`--line-types`).
    func checkLineType(_ number: PhoneNumber, for channel: VerificationMethod) throws(VerificationError) {
        guard policy.allows(number.type, for: channel) else { throw .numberTypeNotAllowed(number.type, channel) }
    }

    /// Channels that send something to the number (and so count against the send limits).
    func sendsSomething(_ channel: VerificationMethod) -> Bool {
        switch channel {
        case .sms, .voiceCall, .dtmfCallOut: true
        case .voiceCallIn, .missedCall, .dtmfCallIn: false
        }
    }

    /// Channels that may stand in for each other: both send a secret code that is typed on the web.
    static func canFallBack(_ channel: VerificationMethod) -> Bool {
        switch channel {
        case .sms, .voiceCall: true
        case .voiceCallIn, .missedCall, .dtmfCallOut, .dtmfCallIn: false
        }
    }

    /// `v` with one more send at `now` (`commitSend` writes it as the next version).
    func markedSent(_ v: Verification, at now: Date) -> Verification {
        var next = v
        next.lastSentAt = now
        next.sendCount += 1
        next.updatedAt = now
        return next
    }

    /// The audit event of a reserved send.
    func sentEvent(_ v: Verification, at now: Date) -> VerificationEvent {
        VerificationEvent(verificationID: v.id, kind: .sent, status: .pending, at: now, detail: v.channel.rawValue)
    }

    /// Reserves the send of `write`'s verification (already marked sent, see `markedSent`) in one
    /// store write with `auditEvents`: the limits are checked and the send recorded before anything
    /// is delivered, so concurrent resends, starts and nodes cannot pass a limit together. Returns
    /// false when another writer changed the verification first (the caller re-reads); throws
    /// `rateLimited` naming the guard when one refuses (logged and counted through the event sink).
    func reserve(_ write: SendWrite, auditEvents: [VerificationEvent], number: PhoneNumber, now: Date) async throws -> Bool {
        let v = write.verification
        let send = SendReservation(verificationID: v.id, to: v.to, channel: v.channel,
                                   prefix: number.prefix(length: policy.limits.prefixLength), at: now)
        switch try await store.reserveSend(write, events: auditEvents, send: send, guards: policy.limits.sendGuards(for: v.channel)) {
        case .reserved:
            for event in auditEvents { await events.published(event, verification: v) }
            return true
        case .conflict:
            return false
        case .refused(let limit, let retryAfter):
            await events.sendRefused(SendRefusal(limit: limit, channel: v.channel, prefix: send.prefix, verificationID: v.id, retryAfter: retryAfter))
            throw VerificationError.rateLimited(limit: limit, retryAfter: retryAfter)
        }
    }

    /// Delivers the code of a reserved send. A failed delivery keeps its reservation (it was an
    /// attempt the phone's owner may have been charged or bothered by) and moves the verification
    /// to the next of `fallbacks` that is available and allowed, itself a new reserved send, or
    /// fails it with the reason.
    func deliver(_ v: Verification, number: PhoneNumber, code: String, now: Date, fallbacks: [VerificationMethod] = []) async throws -> Verification {
        let message = CodeMessage(verificationID: v.id, to: number, channel: v.channel, code: code, locale: v.locale,
                                  expiresIn: v.expiresAt.timeIntervalSince(now), codeLength: v.codeLength)
        do {
            try await delivery.deliver(message)
            return v
        } catch {
            let reason = (error as? DeliveryFailure)?.reason ?? "delivery error"
            var rest = fallbacks[...]
            while let next = rest.popFirst() {
                guard await delivery.isAvailable(next), next != .sms || number.canReceiveSMS, policy.allows(number.type, for: next) else { continue }
                if let moved = try await fallBack(v, to: next, number: number, reason: reason, now: now) {
                    return try await deliver(moved, number: number, code: code, now: now, fallbacks: Array(rest))
                }
            }
            try await fail(v, reason: reason)
            throw VerificationError.deliveryFailed(reason: reason, verificationID: v.id)
        }
    }

    /// Moves a pending verification to another channel after a failed delivery (same id, same code)
    /// and reserves the send on it, in one write; nil when it is no longer pending, the write
    /// conflicts (a pending one exists on that channel) or a guard refuses the send.
    private func fallBack(_ v: Verification, to channel: VerificationMethod, number: PhoneNumber, reason: String, now: Date) async throws -> Verification? {
        guard let current = try await store.verification(id: v.id), current.status == .pending else { return nil }
        let at = clock.now()
        var moved = markedSent(current, at: at)
        moved.channel = channel
        let event = VerificationEvent(verificationID: v.id, kind: .channelFallback, status: .pending, at: at,
                                      detail: "\(v.channel.rawValue) failed (\(reason)); trying \(channel.rawValue)")
        return try? await commitSend(moved, auditEvents: [event, sentEvent(moved, at: at)], number: number, now: at)
    }
}
