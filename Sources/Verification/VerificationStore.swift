import Foundation

/// A webhook POST waiting to be delivered (kept in the store so a restart loses none).
public struct WebhookDelivery: Sendable, Equatable, Codable {
    /// The delivery's own id (one per status change to POST).
    public var id: String
    /// The verification whose status change this reports.
    public var verificationID: String
    /// The `callback_url` to POST to (README "Webhooks").
    public var url: String
    /// The JSON body, exactly as it will be signed and sent.
    public var body: String
    /// When the delivery was enqueued (with the status change).
    public var createdAt: Date
    /// POSTs tried so far; 0 until the first attempt.
    public var attempts: Int
    /// When the next attempt is due (the creation time at first, then per the retry backoff).
    public var nextAttemptAt: Date
    /// When a POST was accepted (2xx); nil while not delivered.
    public var deliveredAt: Date?
    /// Set when the delivery was abandoned (retry window over).
    public var abandonedAt: Date?
    /// Why the last attempt failed; nil before any attempt and after a success.
    public var lastError: String?

    /// A new delivery, due at once: no attempts yet, `nextAttemptAt` = `createdAt`.
    public init(id: String, verificationID: String, url: String, body: String, createdAt: Date) {
        self.id = id
        self.verificationID = verificationID
        self.url = url
        self.body = body
        self.createdAt = createdAt
        self.attempts = 0
        self.nextAttemptAt = createdAt
    }
}

/// An SMS whose delivery report may still come, as claimed from the store when due.
public struct SentSMS: Sendable, Equatable {
    /// The SMPP message_id or Kannel nonce.
    public var key: String
    /// The verification the SMS was sent for.
    public var verificationID: String
    /// True when the report was required by `dueAt` (the verification fails without it); false
    /// when the record only ended its retention.
    public var reportRequired: Bool

    /// A sent SMS as claimed from the store.
    public init(key: String, verificationID: String, reportRequired: Bool) {
        self.key = key
        self.verificationID = verificationID
        self.reportRequired = reportRequired
    }
}

/// A call-in system number held for one caller: shown for `verificationID`, not to be shown for
/// another verification of the same caller before `until` (that verification's expiry).
public struct SystemNumberHold: Sendable, Equatable {
    /// The held system number (E.164), the one the caller is told to call.
    public var systemNumber: String
    /// The verification the number is shown for.
    public var verificationID: String
    /// End of the hold: that verification's expiry.
    public var until: Date

    /// A hold of `systemNumber` for `verificationID` until `until`.
    public init(systemNumber: String, verificationID: String, until: Date) {
        self.systemNumber = systemNumber
        self.verificationID = verificationID
        self.until = until
    }
}

/// An API key as stored: its SHA-256 only, never the key.
public struct APIKeyRecord: Sendable, Equatable {
    /// The key's identifier ("AK" + 16 hex digits): what `verigate api-key list` shows and
    /// verifications record as their tenant; not a secret.
    public var id: String
    /// Who uses the key (free text given at creation).
    public var name: String
    /// SHA-256 of the key: the only form in which the key is stored.
    public var sha256: [UInt8]
    /// When the key was created.
    public var createdAt: Date
    /// When the key was revoked; nil while it is valid. A revoked key is kept (its verifications
    /// still name it) and authenticates nothing.
    public var revokedAt: Date?

    /// A key record; `revokedAt` nil for a valid key.
    public init(id: String, name: String, sha256: [UInt8], createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.sha256 = sha256
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

// The store is split by aggregate, so that a caller takes only what it uses (the webhook
// dispatcher a `WebhookStore`, the key middleware an `APIKeyStore`, …); `VerificationStore` is
// their composition, which `MemoryStore` and the SQL store implement. Every method is atomic on
// its own. docs/ARCHITECTURE.md, "Storage".

/// Verifications themselves: insert, read, versioned update and the queries over them.
public protocol VerificationRecordStore: Sendable {
    /// Inserts a new verification with its `created` event (every start is its own verification:
    /// several may be pending for one number and channel). Returns false when nothing was stored.
    func insert(_ verification: Verification, event: VerificationEvent) async throws -> Bool

    /// The verification with this id.
    func verification(id: String) async throws -> Verification?

    /// Stores `verification` if the stored version is `verification.version - 1` (optimistic
    /// concurrency), with its audit event and, when given, a webhook to deliver — all or nothing.
    /// Returns false when another writer got there first.
    func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) async throws -> Bool

    /// Reads the verification `id`, lets `decide` say what to write, and writes it (as `update`,
    /// versioned) — in one write transaction where the store has them, so the read, the decision and
    /// the write cost one trip to the writer. Returns the decision; nil when its write lost the
    /// version to another writer (the caller decides again on a fresh read). `decide` runs inside
    /// that transaction: it must be quick, must not use the store, and may run more than once.
    func change<Answer: Sendable>(
        id: String, _ decide: @escaping @Sendable (Verification?) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>?

    /// Pending call-in verifications for a caller (E.164) that hold a system number (each call-in
    /// start holds one), newest first; when `systemNumber` is given only those that were told to
    /// call it.
    func pendingCallIn(caller: String, systemNumber: String?) async throws -> [Verification]

    /// Reads the pending call-in verifications as `pendingCallIn` does, lets `decide` say what to
    /// write, and writes it (each write versioned, all or nothing) — in one write transaction where
    /// the store has them, like `change(id:_:)`. Returns the decision; nil when a write lost the
    /// version to another writer. `decide` must be quick, must not use the store, and may run
    /// more than once.
    func changePendingCallIn<Answer: Sendable>(
        caller: String, systemNumber: String?, _ decide: @escaping @Sendable ([Verification]) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>?

    /// How many pending verifications point at each of these system numbers.
    func pendingCounts(systemNumbers: [String]) async throws -> [String: Int]

    /// Pending verifications whose `expiresAt` is before `now` (for the expiry sweeper).
    func expiredPending(now: Date, limit: Int) async throws -> [Verification]
}

extension VerificationRecordStore {
    /// `change(id:_:)` as a read, then versioned `update`s: correct for any store (a write that lost
    /// the version makes it nil), two trips instead of one.
    public func change<Answer: Sendable>(
        id: String, _ decide: @escaping @Sendable (Verification?) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>? {
        try await write(decide(try await verification(id: id)))
    }

    /// `changePendingCallIn` as a read, then versioned `update`s. Not all or nothing: a write that
    /// loses the version leaves the earlier ones of the decision written (each is a whole versioned
    /// change of its own verification).
    public func changePendingCallIn<Answer: Sendable>(
        caller: String, systemNumber: String?, _ decide: @escaping @Sendable ([Verification]) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>? {
        try await write(decide(try await pendingCallIn(caller: caller, systemNumber: systemNumber)))
    }

    /// Writes `decision`'s writes one `update` each; nil at the first that loses the version.
    private func write<Answer>(_ decision: VerificationDecision<Answer>) async throws -> VerificationDecision<Answer>? {
        for write in decision.writes {
            guard try await update(write.verification, event: write.event, webhook: write.webhook) else { return nil }
        }
        return decision
    }
}

/// Call-in system numbers held per caller (issue 12: one verification per caller and number).
public protocol SystemNumberHoldStore: Sendable {
    /// The system numbers held for `caller` whose hold has not ended at `now`.
    func systemNumberHolds(caller: String, now: Date) async throws -> [SystemNumberHold]

    /// Holds `hold.systemNumber` for `caller` and `hold.verificationID` until `hold.until`, if no
    /// hold of that number for that caller is still running at `now`, or the running one belongs to
    /// `replacing`; true when taken. Atomic: of two starts racing for one number, on any node, one wins.
    func holdSystemNumber(_ hold: SystemNumberHold, caller: String, now: Date, replacing: String?) async throws -> Bool

    /// Forgets holds that ended at or before `now` (housekeeping; an ended hold blocks nothing).
    func releaseSystemNumberHolds(endedBy now: Date) async throws
}

/// The send log behind the send limits (README "Security", send limits).
public protocol SendLogStore: Sendable {
    /// Records one send to a number outside a reservation, without channel or prefix (it counts for
    /// the per-number limit only). The service records every send through `reserveSend`.
    func recordSend(to: String, verificationID: String, at: Date) async throws

    /// Reserves one send before it is delivered, in one atomic write: checks `guards` against the
    /// sends recorded for the number, its prefix and the channel, and only if all pass writes
    /// `write` (insert, or update at `version - 1`) with `events` and records the send. Concurrent
    /// reservations on any node are serialized for the number, the prefix and the channel, so no
    /// limit is passed twice by the same free slot (README "Security", send limits).
    func reserveSend(_ write: SendWrite, events: [VerificationEvent], send: SendReservation, guards: SendGuards) async throws -> SendReservationOutcome

    /// Sends to `to` strictly after `since`, oldest first (at most `limit`): a send leaves the
    /// window exactly `sendWindow` seconds later.
    func sends(to: String, since: Date, limit: Int) async throws -> [Date]
}

/// The audit trail, written with each verification write and read by the API and other nodes.
public protocol AuditEventStore: Sendable {
    /// The audit trail of one verification, oldest first.
    func events(verificationID: String) async throws -> [VerificationEvent]

    /// The audit events of these verifications at or after `since`, oldest first: how a node
    /// learns what other nodes sharing the store did to the verifications its pages follow.
    func events(verificationIDs: [String], since: Date) async throws -> [VerificationEvent]
}

/// Webhook deliveries (enqueued by `VerificationRecordStore.update`), for the dispatcher.
public protocol WebhookStore: Sendable {
    /// Webhooks due at `now` (not delivered, not abandoned), oldest first.
    func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery]

    /// Stores a webhook's new delivery state.
    func updateWebhook(_ webhook: WebhookDelivery) async throws
}

/// Outgoing calls to place again (the retry policy).
public protocol CallRetryStore: Sendable {
    /// Records that verification `verificationID` is to be called again at `at` (replacing an
    /// earlier time). Kept in the store, so a core restart or another node places the call.
    func scheduleCallRetry(verificationID: String, at: Date) async throws

    /// Takes the call retries due at `now` (at most `limit`, earliest first) and removes them, in
    /// one step: two nodes claiming at once get disjoint sets, so no call is placed twice.
    func claimDueCallRetries(now: Date, limit: Int) async throws -> [String]
}

/// SMS whose delivery report may still come, for the SMS drivers' ledger.
public protocol SentSMSStore: Sendable {
    /// Records an SMS sent for `verificationID` under `key` (the SMPP message_id or the Kannel
    /// nonce its delivery reports name), to be claimed at `dueAt`: the report deadline when
    /// `reportRequired`, else the end of its retention. Kept in the store, so a receipt that comes
    /// after a restart, or to another node bound to the same SMSC, still finds its verification.
    func recordSentSMS(key: String, verificationID: String, dueAt: Date, reportRequired: Bool) async throws

    /// The verification of the sent SMS `key`, if it is still recorded.
    func sentSMSOwner(key: String) async throws -> String?

    /// Removes the sent SMS `key` (its final report came) and returns its verification, if it was recorded.
    func settleSentSMS(key: String) async throws -> String?

    /// Takes the sent SMS due at `now` (at most `limit`, earliest first) and removes them, in one
    /// step: two nodes claiming at once get disjoint sets.
    func claimDueSentSMS(now: Date, limit: Int) async throws -> [SentSMS]
}

/// API keys, by their SHA-256 (`APIKeys` in VerificationServer is the type that uses them).
public protocol APIKeyStore: Sendable {
    /// Stores an API key record; throws when its id or SHA-256 is already stored.
    func insertAPIKey(_ key: APIKeyRecord) async throws

    /// The API key whose SHA-256 is `sha256`, revoked or not.
    func apiKey(sha256: [UInt8]) async throws -> APIKeyRecord?

    /// Every API key, revoked ones included, oldest first.
    func apiKeys() async throws -> [APIKeyRecord]

    /// Marks the key `id` revoked at `at`; true when it was valid and is now revoked, false when
    /// there is no such key or it was revoked already (the first revocation's time stays).
    func revokeAPIKey(id: String, at: Date) async throws -> Bool

    /// Number of stored API keys, revoked ones included.
    func apiKeyCount() async throws -> Int
}

/// Persistence of the verification core: every aggregate's store in one. One implementation
/// (SQLKit) runs on SQLite and PostgreSQL; tests may use `MemoryStore`.
public protocol VerificationStore: VerificationRecordStore, SystemNumberHoldStore, SendLogStore, AuditEventStore,
    WebhookStore, CallRetryStore, SentSMSStore, APIKeyStore {}
