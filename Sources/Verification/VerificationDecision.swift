import Foundation

/// One verification's next version with its audit event and, when given, a webhook: what
/// `VerificationRecordStore.update` writes all or nothing (docs/ARCHITECTURE.md "Optimistic
/// concurrency").
public struct VerificationWrite: Sendable, Equatable {
    /// The next version (the stored one's `version + 1`).
    public var verification: Verification
    /// The audit event of the change.
    public var event: VerificationEvent
    /// The webhook POST to enqueue with it, if the verification has a `callback_url`.
    public var webhook: WebhookDelivery?

    /// A write of `verification` (already the next version) with `event` and `webhook`.
    public init(verification: Verification, event: VerificationEvent, webhook: WebhookDelivery? = nil) {
        self.verification = verification
        self.event = event
        self.webhook = webhook
    }
}

/// What a flow decided about stored verifications, as a value: what to write (nothing, or one
/// `VerificationWrite` per verification) and what to answer once those writes committed. Made by a
/// pure function of what was read and the time, so a store can make it inside its write
/// transaction (`VerificationRecordStore.change(id:_:)`, `changePendingCallIn`): one read and one
/// write, no race to lose on SQLite.
public struct VerificationDecision<Answer: Sendable>: Sendable {
    /// What to write, all or nothing; empty writes nothing.
    public var writes: [VerificationWrite]
    /// The flow's answer (a value or its error), given once `writes` committed.
    public var answer: Result<Answer, any Error>

    /// A decision to write `writes` and then answer `answer`.
    public init(writes: [VerificationWrite], answer: Result<Answer, any Error>) {
        self.writes = writes
        self.answer = answer
    }

    /// A decision to write `write` (if any) and then answer `answer`.
    public init(write: VerificationWrite?, answer: Result<Answer, any Error>) {
        self.init(writes: write.map { [$0] } ?? [], answer: answer)
    }

    /// A refusal that writes nothing.
    public static func refuse(_ error: any Error) -> Self {
        Self(writes: [], answer: .failure(error))
    }
}
