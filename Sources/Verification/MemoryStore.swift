import Foundation

/// An in-memory `VerificationStore`: the reference semantics the SQL store must match, used by
/// domain tests. Not for production (nothing survives a restart).
public actor MemoryStore: VerificationStore {
    private var verifications: [String: Verification] = [:]
    private var audit: [String: [VerificationEvent]] = [:]
    private var sendLog: [String: [Date]] = [:]
    /// Sends reserved through `reserveSend`, for the prefix and channel guards.
    private var guardedSends: [(at: Date, channel: VerificationMethod, prefix: String)] = []
    private var webhooks: [String: WebhookDelivery] = [:]
    private var keys: [APIKeyRecord] = []
    private var callRetries: [String: Date] = [:]
    private var sentSMS: [String: (sms: SentSMS, dueAt: Date)] = [:]
    /// Holds by caller, then system number.
    private var holds: [String: [String: SystemNumberHold]] = [:]

    /// An empty store.
    public init() {}

    /// `insertAPIKey` of a key whose id or SHA-256 is stored already (the SQL store's unique constraints).
    struct DuplicateAPIKey: Error {}

    /// Refuses an id already stored; inserts under the actor, no I/O.
    public func insert(_ verification: Verification, event: VerificationEvent) -> Bool {
        guard verifications[verification.id] == nil else { return false }
        verifications[verification.id] = verification
        audit[verification.id, default: []].append(event)
        return true
    }

    /// A dictionary lookup; nil for an unknown id.
    public func verification(id: String) -> Verification? { verifications[id] }

    /// Compares `version` under the actor; no I/O.
    public func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) -> Bool {
        guard let stored = verifications[verification.id], stored.version == verification.version - 1 else { return false }
        verifications[verification.id] = verification
        audit[verification.id, default: []].append(event)
        if let webhook { webhooks[webhook.id] = webhook }
        return true
    }

    /// Filters the caller's holds by `until > now`, earliest end first.
    public func systemNumberHolds(caller: String, now: Date) -> [SystemNumberHold] {
        (holds[caller] ?? [:]).values.filter { $0.until > now }.sorted { $0.until < $1.until }
    }

    /// Checks and writes the hold under the actor, which is what makes it atomic here.
    public func holdSystemNumber(_ hold: SystemNumberHold, caller: String, now: Date, replacing: String?) -> Bool {
        if let running = holds[caller]?[hold.systemNumber], running.until > now, running.verificationID != replacing { return false }
        holds[caller, default: [:]][hold.systemNumber] = hold
        return true
    }

    /// Drops ended holds, and callers left with none.
    public func releaseSystemNumberHolds(endedBy now: Date) {
        for caller in holds.keys {
            holds[caller] = holds[caller]?.filter { $0.value.until > now }
            if holds[caller]?.isEmpty == true { holds[caller] = nil }
        }
    }

    /// Scans every stored verification (fine for tests, not for production sizes).
    public func pendingCallIn(caller: String, systemNumber: String?) -> [Verification] {
        verifications.values
            .filter { $0.status == .pending && $0.channel.isCallIn && $0.to == caller && $0.systemNumber != nil
                && (systemNumber == nil || $0.systemNumber == systemNumber) }
            .sorted { $0.createdAt > $1.createdAt }
    }

    /// Scans every pending verification; numbers with none are absent from the result.
    public func pendingCounts(systemNumbers: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for v in verifications.values where v.status == .pending {
            if let n = v.systemNumber, systemNumbers.contains(n) { counts[n, default: 0] += 1 }
        }
        return counts
    }

    /// Appends to the number's send log.
    public func recordSend(to: String, verificationID: String, at: Date) {
        sendLog[to, default: []].append(at)
    }

    /// Checks the guards and writes under the actor: reservations are serialized by the actor itself; no I/O.
    public func reserveSend(_ write: SendWrite, events: [VerificationEvent], send: SendReservation, guards: SendGuards) -> SendReservationOutcome {
        let now = send.at
        let number = sends(to: send.to, since: now.addingTimeInterval(-guards.numberWindow), limit: Swift.max(1, guards.maxPerNumber))
        let recent = guardedSends.filter { $0.at > now.addingTimeInterval(-guards.guardWindow) }
        let prefix = recent.filter { $0.prefix == send.prefix }.map { $0.at }
        let channel = recent.filter { $0.channel == send.channel }.map { $0.at }
        if let refused = guards.refusal(now: now, number: (number.count, number.first), prefix: (prefix.count, prefix.min()),
                                        channel: (channel.count, channel.min())) {
            return .refused(refused.limit, retryAfter: refused.retryAfter)
        }
        let v = write.verification
        switch write {
        case .insert:
            if verifications[v.id] != nil { return .conflict }
        case .update:
            guard let stored = verifications[v.id], stored.version == v.version - 1 else { return .conflict }
        }
        verifications[v.id] = v
        audit[v.id, default: []].append(contentsOf: events)
        sendLog[send.to, default: []].append(send.at)
        guardedSends.append((send.at, send.channel, send.prefix))
        return .reserved
    }

    /// Filters and sorts the number's send log.
    public func sends(to: String, since: Date, limit: Int) -> [Date] {
        Array((sendLog[to] ?? []).filter { $0 > since }.sorted().prefix(limit))
    }

    /// The events kept for the id; empty for an unknown one.
    public func events(verificationID: String) -> [VerificationEvent] { audit[verificationID] ?? [] }

    /// Merges the ids' events and sorts them by time.
    public func events(verificationIDs: [String], since: Date) -> [VerificationEvent] {
        verificationIDs.flatMap { audit[$0] ?? [] }.filter { $0.at >= since }.sorted { $0.at < $1.at }
    }

    /// Filters every stored delivery, oldest created first.
    public func dueWebhooks(now: Date, limit: Int) -> [WebhookDelivery] {
        Array(webhooks.values.filter { $0.deliveredAt == nil && $0.abandonedAt == nil && $0.nextAttemptAt <= now }
            .sorted { $0.createdAt < $1.createdAt }.prefix(limit))
    }

    /// Replaces the delivery of the same id.
    public func updateWebhook(_ webhook: WebhookDelivery) { webhooks[webhook.id] = webhook }

    /// Scans every stored verification; the order is unspecified (`expiresAt <= now` counts as expired).
    public func expiredPending(now: Date, limit: Int) -> [Verification] {
        Array(verifications.values.filter { $0.status == .pending && $0.expiresAt <= now }.prefix(limit))
    }

    /// One time per verification: a new one replaces the old.
    public func scheduleCallRetry(verificationID: String, at: Date) { callRetries[verificationID] = at }

    /// Takes and removes under the actor, ties ordered by verification id; a negative `limit` claims none.
    public func claimDueCallRetries(now: Date, limit: Int) -> [String] {
        let due = callRetries.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.prefix(max(0, limit)).map(\.key)
        for id in due { callRetries[id] = nil }
        return due
    }

    /// Keeps it by `key`; a second record under the same key replaces the first.
    public func recordSentSMS(key: String, verificationID: String, dueAt: Date, reportRequired: Bool) {
        sentSMS[key] = (SentSMS(key: key, verificationID: verificationID, reportRequired: reportRequired), dueAt)
    }

    /// A dictionary lookup; nil when not recorded.
    public func sentSMSOwner(key: String) -> String? { sentSMS[key]?.sms.verificationID }

    /// Removes it under the actor; nil when not recorded (or settled already).
    public func settleSentSMS(key: String) -> String? { sentSMS.removeValue(forKey: key)?.sms.verificationID }

    /// Takes and removes under the actor, ties ordered by key; a negative `limit` claims none.
    public func claimDueSentSMS(now: Date, limit: Int) -> [SentSMS] {
        let due = sentSMS.values.filter { $0.dueAt <= now }.sorted { ($0.dueAt, $0.sms.key) < ($1.dueAt, $1.sms.key) }.prefix(max(0, limit))
        for entry in due { sentSMS[entry.sms.key] = nil }
        return due.map(\.sms)
    }

    /// Throws `DuplicateAPIKey` on a stored id or SHA-256, as the SQL store's unique constraints do.
    public func insertAPIKey(_ key: APIKeyRecord) throws {
        guard !keys.contains(where: { $0.id == key.id || $0.sha256 == key.sha256 }) else { throw DuplicateAPIKey() }
        keys.append(key)
    }

    /// A linear search; nil when no key has this SHA-256.
    public func apiKey(sha256: [UInt8]) -> APIKeyRecord? { keys.first { $0.sha256 == sha256 } }

    /// The keys in insertion order.
    public func apiKeys() -> [APIKeyRecord] { keys }

    /// Sets `revokedAt` under the actor, only if it is nil.
    public func revokeAPIKey(id: String, at: Date) -> Bool {
        guard let index = keys.firstIndex(where: { $0.id == id }), keys[index].revokedAt == nil else { return false }
        keys[index].revokedAt = at
        return true
    }

    /// The number of keys kept.
    public func apiKeyCount() -> Int { keys.count }
}
