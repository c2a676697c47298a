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

    public init() {}

    /// `insertAPIKey` of a key whose id or SHA-256 is stored already (the SQL store's unique constraints).
    struct DuplicateAPIKey: Error {}

    public func insert(_ verification: Verification, event: VerificationEvent) -> Bool {
        guard verifications[verification.id] == nil else { return false }
        verifications[verification.id] = verification
        audit[verification.id, default: []].append(event)
        return true
    }

    public func verification(id: String) -> Verification? { verifications[id] }

    public func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) -> Bool {
        guard let stored = verifications[verification.id], stored.version == verification.version - 1 else { return false }
        verifications[verification.id] = verification
        audit[verification.id, default: []].append(event)
        if let webhook { webhooks[webhook.id] = webhook }
        return true
    }

    public func systemNumberHolds(caller: String, now: Date) -> [SystemNumberHold] {
        (holds[caller] ?? [:]).values.filter { $0.until > now }.sorted { $0.until < $1.until }
    }

    public func holdSystemNumber(_ hold: SystemNumberHold, caller: String, now: Date, replacing: String?) -> Bool {
        if let running = holds[caller]?[hold.systemNumber], running.until > now, running.verificationID != replacing { return false }
        holds[caller, default: [:]][hold.systemNumber] = hold
        return true
    }

    public func releaseSystemNumberHolds(endedBy now: Date) {
        for caller in holds.keys {
            holds[caller] = holds[caller]?.filter { $0.value.until > now }
            if holds[caller]?.isEmpty == true { holds[caller] = nil }
        }
    }

    public func pendingCallIn(caller: String, systemNumber: String?) -> [Verification] {
        verifications.values
            .filter { $0.status == .pending && $0.channel.isCallIn && $0.to == caller && (systemNumber == nil || $0.systemNumber == systemNumber) }
            .sorted { $0.createdAt > $1.createdAt }
    }

    public func pendingCounts(systemNumbers: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for v in verifications.values where v.status == .pending {
            if let n = v.systemNumber, systemNumbers.contains(n) { counts[n, default: 0] += 1 }
        }
        return counts
    }

    public func recordSend(to: String, verificationID: String, at: Date) {
        sendLog[to, default: []].append(at)
    }

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

    public func sends(to: String, since: Date, limit: Int) -> [Date] {
        Array((sendLog[to] ?? []).filter { $0 > since }.sorted().prefix(limit))
    }

    public func events(verificationID: String) -> [VerificationEvent] { audit[verificationID] ?? [] }

    public func events(verificationIDs: [String], since: Date) -> [VerificationEvent] {
        verificationIDs.flatMap { audit[$0] ?? [] }.filter { $0.at >= since }.sorted { $0.at < $1.at }
    }

    public func dueWebhooks(now: Date, limit: Int) -> [WebhookDelivery] {
        Array(webhooks.values.filter { $0.deliveredAt == nil && $0.abandonedAt == nil && $0.nextAttemptAt <= now }
            .sorted { $0.createdAt < $1.createdAt }.prefix(limit))
    }

    public func updateWebhook(_ webhook: WebhookDelivery) { webhooks[webhook.id] = webhook }

    public func expiredPending(now: Date, limit: Int) -> [Verification] {
        Array(verifications.values.filter { $0.status == .pending && $0.expiresAt <= now }.prefix(limit))
    }

    public func scheduleCallRetry(verificationID: String, at: Date) { callRetries[verificationID] = at }

    public func claimDueCallRetries(now: Date, limit: Int) -> [String] {
        let due = callRetries.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.prefix(max(0, limit)).map(\.key)
        for id in due { callRetries[id] = nil }
        return due
    }

    public func recordSentSMS(key: String, verificationID: String, dueAt: Date, reportRequired: Bool) {
        sentSMS[key] = (SentSMS(key: key, verificationID: verificationID, reportRequired: reportRequired), dueAt)
    }

    public func sentSMSOwner(key: String) -> String? { sentSMS[key]?.sms.verificationID }

    public func settleSentSMS(key: String) -> String? { sentSMS.removeValue(forKey: key)?.sms.verificationID }

    public func claimDueSentSMS(now: Date, limit: Int) -> [SentSMS] {
        let due = sentSMS.values.filter { $0.dueAt <= now }.sorted { ($0.dueAt, $0.sms.key) < ($1.dueAt, $1.sms.key) }.prefix(max(0, limit))
        for entry in due { sentSMS[entry.sms.key] = nil }
        return due.map(\.sms)
    }

    public func insertAPIKey(_ key: APIKeyRecord) throws {
        guard !keys.contains(where: { $0.id == key.id || $0.sha256 == key.sha256 }) else { throw DuplicateAPIKey() }
        keys.append(key)
    }

    public func apiKey(sha256: [UInt8]) -> APIKeyRecord? { keys.first { $0.sha256 == sha256 } }

    public func apiKeys() -> [APIKeyRecord] { keys }

    public func revokeAPIKey(id: String, at: Date) -> Bool {
        guard let index = keys.firstIndex(where: { $0.id == id }), keys[index].revokedAt == nil else { return false }
        keys[index].revokedAt = at
        return true
    }

    public func apiKeyCount() -> Int { keys.count }
}
