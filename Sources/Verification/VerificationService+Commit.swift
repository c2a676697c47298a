// The one write path of the verification flows: every change to a stored verification is its
// next version, written with its audit event (and webhook) in one store write, then published
// (docs/ARCHITECTURE.md "Optimistic concurrency"). A write that loses the version to another
// writer (another request, another node) is tried again on a fresh read; one that keeps losing
// is `conflict` (HTTP 409), never a wrong answer.

import ABNF
import Foundation

extension VerificationService {
    /// How often a flow re-reads and tries again after losing a version race before it answers
    /// `VerificationError.conflict`.
    public static let commitAttempts = 16

    /// Runs `attempt` (read, decide, write) until it returns a value; nil means another writer
    /// changed the verification first, and it runs again on a fresh read, at most `attempts`
    /// times. Errors `attempt` throws end it at once. Throws `VerificationError.conflict` when
    /// every attempt lost.
    func optimistically<T>(attempts: Int = commitAttempts, _ attempt: () async throws -> T?) async throws -> T {
        for _ in 0..<attempts {
            if let result = try await attempt() { return result }
        }
        throw VerificationError.conflict
    }

    /// Writes `changed` (a verification as read, then changed) as its next version with `event`
    /// and `webhook`, and publishes the event. Returns the written verification; nil when the
    /// stored one is no longer the version read (the caller re-reads, see `optimistically`).
    @discardableResult
    func commit(_ changed: Verification, event: VerificationEvent, webhook: WebhookDelivery? = nil) async throws -> Verification? {
        var next = changed
        next.version += 1
        return try await commit(VerificationDecision(write: VerificationWrite(verification: next, event: event, webhook: webhook), answer: .success(next)))
    }

    /// Writes `changed` (as read, then changed and marked sent, see `markedSent`) as its next
    /// version with its send reserved (`reserve`): nil when another writer changed it first;
    /// throws `rateLimited` when a send guard refuses.
    func commitSend(_ changed: Verification, auditEvents: [VerificationEvent], number: PhoneNumber, now: Date) async throws -> Verification? {
        var next = changed
        next.version += 1
        return try await reserve(.update(next), auditEvents: auditEvents, number: number, now: now) ? next : nil
    }

    /// Ends `v` as failed with `reason` (kept on the verification and its audit event); nil when
    /// it changed meanwhile.
    @discardableResult
    func fail(_ v: Verification, reason: String, at now: Date? = nil) async throws -> Verification? {
        var failed = v
        failed.failureReason = reason
        return try await finish(failed, status: .failed, kind: .failed, at: now ?? clock.now(), detail: reason)
    }

    /// Moves `v` to a final status with its event and webhook; nil if a concurrent writer won.
    @discardableResult
    func finish(_ v: Verification, status: VerificationStatus, kind: VerificationEvent.Kind, at now: Date, detail: String? = nil) async throws -> Verification? {
        let write = finished(v, status: status, kind: kind, at: now, detail: detail)
        return try await commit(VerificationDecision(write: write, answer: .success(write.verification)))
    }

    /// `v` moved to a final status: its next version with the event and, when it has a
    /// `callback_url`, the webhook (the value `finish` writes).
    func finished(_ v: Verification, status: VerificationStatus, kind: VerificationEvent.Kind, at now: Date, detail: String? = nil) -> VerificationWrite {
        var next = v
        next.version += 1
        next.status = status
        next.updatedAt = now
        if status != .failed { next.failureReason = nil }
        let event = VerificationEvent(verificationID: v.id, kind: kind, status: status, at: now, detail: detail)
        let webhook = next.callbackURL.map { url in
            WebhookDelivery(id: "WH" + random.bytes(12).hexEncoded,
                            verificationID: v.id, url: url, body: WebhookBody.json(next, event: event), createdAt: now)
        }
        return VerificationWrite(verification: next, event: event, webhook: webhook)
    }

    /// Writes `decision`'s writes (versioned) and publishes them, then gives its answer; nil when a
    /// write lost the version (the caller decides again on a fresh read, see `optimistically`).
    func commit<Answer>(_ decision: VerificationDecision<Answer>) async throws -> Answer? {
        for write in decision.writes {
            guard try await store.update(write.verification, event: write.event, webhook: write.webhook) else { return nil }
            await events.published(write.event, verification: write.verification)
        }
        return try decision.answer.get()
    }

    /// Reads the verification `id` and writes what `decide` makes of it in one store write
    /// (`VerificationRecordStore.change`), publishes what was written, then gives the decision's
    /// answer; nil when the write lost the version (see `optimistically`). An id not of `makeID`'s
    /// form names no verification: it is decided on as unknown (nil) without a trip to the store's
    /// writer.
    func change<Answer: Sendable>(id: String, _ decide: @escaping @Sendable (Verification?) -> VerificationDecision<Answer>) async throws -> Answer? {
        guard Verification.isWellFormedID(id) else { return try await published(decide(nil)) }
        return try await published(store.change(id: id, decide))
    }

    /// Publishes what a store change wrote and gives its answer; nil for a change that lost.
    func published<Answer>(_ decision: VerificationDecision<Answer>?) async throws -> Answer? {
        guard let decision else { return nil }
        for write in decision.writes { await events.published(write.event, verification: write.verification) }
        return try decision.answer.get()
    }
}
