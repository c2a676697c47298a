import Foundation

/// A start request, as the API received it.
public struct StartRequest: Sendable, Equatable {
    /// The number to verify as given (E.164 or national, parsed with the policy's default region).
    public var to: String
    /// How to deliver or take the code (README "The six methods").
    public var channel: VerificationMethod
    /// The language of the message or call (e.g. `zh-TW`); nil or unsupported means the policy's default.
    public var locale: String?
    /// Digits in the code, 4 to 10; nil means the policy's `limits.codeLength`.
    public var codeLength: Int?
    /// Where status changes are POSTed as signed webhooks (README "Webhooks"); nil for none.
    public var callbackURL: String?
    /// The id of the API key that started it: its tenant. Nil for a start without a key (the hosted page's demo).
    public var apiKeyID: String?
    /// Channels to move to, in order, when delivery on `channel` fails at start (`"channels": ["sms", "voice_call"]`).
    /// Only channels that send a secret code (`sms`, `voice_call`) may be fallbacks.
    public var fallbackChannels: [VerificationMethod]
    /// The verification a hosted-page ticket switches away from (its own earlier start, same number):
    /// the only other verification whose call-in system number this one may take over.
    public var replacing: String?

    /// A start request; nil options take the policy's defaults.
    public init(to: String, channel: VerificationMethod, locale: String? = nil, codeLength: Int? = nil, callbackURL: String? = nil, apiKeyID: String? = nil,
                fallbackChannels: [VerificationMethod] = [], replacing: String? = nil) {
        self.to = to
        self.channel = channel
        self.fallbackChannels = fallbackChannels
        self.replacing = replacing
        self.locale = locale
        self.codeLength = codeLength
        self.callbackURL = callbackURL
        self.apiKeyID = apiKeyID
    }
}

/// What a start answers: the verification, plus the code for the channels that show it on the page.
public struct StartResult: Sendable, Equatable {
    /// The verification as stored after the start or resend.
    public var verification: Verification
    /// Only for `dtmf_callout` and `dtmf_callin`; nil for every other channel.
    public var code: String?
    /// True when it answers `resend(id:access:)` (the same verification sent again); a start is
    /// always a new verification.
    public var resent: Bool
}

/// Who acts on a verification. An API key is a tenant: only the verifications it started exist
/// for it (another key's id answers `not_found`, exactly as an unknown one). A capability names
/// the verification itself: the hosted page's sealed ticket, the voice gateway's call.
public enum VerificationAccess: Sendable, Equatable {
    /// The request authenticated with the API key of this id.
    case apiKey(String)
    /// The caller holds a capability bound to this verification (page ticket, gateway call).
    case capability

    /// Whether `v` exists for this caller.
    public func permits(_ v: Verification) -> Bool {
        switch self {
        case .apiKey(let id): v.apiKeyID == id
        case .capability: true
        }
    }
}

/// The verification flows (README "The six methods"): start, resend, check, cancel, expire. Holds no
/// mutable state; all state is in the store, so several core nodes may share one database.
public struct VerificationService: Sendable {
    /// Regions, channels, limits and locales the flows enforce.
    public let policy: VerificationPolicy
    /// Where all state is kept (shared by the core nodes).
    public let store: any VerificationStore
    /// Sends codes and places calls (SMS drivers, voice gateways).
    public let delivery: any CodeDelivery
    /// Told of every status change (the live SSE streams, metrics).
    public let events: any VerificationEventSink
    /// Hashes codes with the server secret: the store keeps no code in clear.
    public let hasher: CodeHasher
    /// The time the flows use (a fixed clock in tests).
    public let clock: any VerificationClock
    /// Source of codes and ids (seeded in tests).
    public let random: any RandomSource

    /// A service over these parts; `secret` keys the code hashes (`CodeHasher`).
    public init(
        policy: VerificationPolicy, store: any VerificationStore, delivery: any CodeDelivery,
        events: any VerificationEventSink, secret: [UInt8],
        clock: any VerificationClock = SystemClock(), random: any RandomSource = SystemRandomSource()
    ) {
        self.policy = policy
        self.store = store
        self.delivery = delivery
        self.events = events
        self.hasher = CodeHasher(secret: secret)
        self.clock = clock
        self.random = random
    }

    // MARK: Start

    /// Starts a new verification: its own id and code, whoever else verifies the same number
    /// (issue 12: a start never returns, resends or reveals another verification). Resending is
    /// `resend(id:access:)`.
    public func start(_ request: StartRequest) async throws -> StartResult {
        let number: PhoneNumber
        do {
            number = try PhoneNumber(parsing: request.to, defaultRegion: policy.defaultRegion)
        } catch {
            throw VerificationError.invalidNumber(reason: error.reason)
        }
        guard policy.allowedRegions.contains(number.region) else {
            throw VerificationError.countryNotAllowed(region: number.region)
        }
        guard policy.enabledChannels.contains(request.channel) else {
            throw VerificationError.channelDisabled(request.channel)
        }
        try checkLineType(number, for: request.channel)
        if request.channel == .sms, !number.canReceiveSMS { throw VerificationError.cannotReceiveSMS }
        let length = request.codeLength ?? policy.limits.codeLength
        guard VerificationCode.lengths.contains(length) else {
            throw VerificationError.invalidRequest("code_length must be between 4 and 10.")
        }
        for fallback in request.fallbackChannels {
            guard Self.canFallBack(request.channel), Self.canFallBack(fallback), fallback != request.channel else {
                throw VerificationError.invalidRequest("channels: only sms and voice_call may be listed together, each once.")
            }
            guard policy.enabledChannels.contains(fallback) else { throw VerificationError.channelDisabled(fallback) }
        }
        if request.channel.isCallIn, await systemNumbers().isEmpty {
            throw VerificationError.channelDisabled(request.channel)
        }
        try await requireAvailable(request.channel)
        return try await create(request, number: number, length: length, now: clock.now())
    }

    /// Sends the code of the pending verification `id` again (a fresh code; the call-in channels
    /// without a code on the page have nothing to send and answer it unchanged), within the
    /// resend interval and the per-number send limit. Not pending: `expired`,
    /// `max_attempts_reached` or `not_pending`; not visible to `access`: `not_found`.
    public func resend(id: String, access: VerificationAccess = .capability) async throws -> StartResult {
        try await optimistically {
            let v = try await verification(id: id, access: access)
            switch v.status {
            case .pending: break
            case .expired: throw VerificationError.expired
            case .maxAttemptsReached: throw VerificationError.maxAttemptsReached
            case .approved, .canceled, .failed: throw VerificationError.notPending(v.status)
            }
            guard policy.enabledChannels.contains(v.channel) else { throw VerificationError.channelDisabled(v.channel) }
            try await requireAvailable(v.channel)
            let number: PhoneNumber
            do {
                number = try PhoneNumber(parsing: v.to, defaultRegion: v.region)
            } catch let error as PhoneNumberError {
                throw VerificationError.invalidNumber(reason: error.reason)
            }
            return try await resend(v, number: number, now: clock.now())
        }
    }

    private func create(_ request: StartRequest, number: PhoneNumber, length: Int, now: Date) async throws -> StartResult {
        let id = Verification.makeID(random: random, now: now)
        let code = issuesCodeAtStart(request.channel) ? VerificationCode.generate(length: length, random: random) : nil
        let expiresAt = now.addingTimeInterval(policy.limits.expiry)
        let systemNumber = request.channel.isCallIn
            ? try await holdSystemNumber(caller: number.e164, verificationID: id, until: expiresAt, now: now, replacing: request.replacing)
            : nil
        var v = Verification(
            id: id, to: number.e164, region: number.region, channel: request.channel,
            locale: policy.locale(for: request.locale), codeLength: length,
            codeMAC: code.map { hasher.mac(id: id, code: $0) }, createdAt: now,
            expiresAt: expiresAt, systemNumber: systemNumber,
            callbackURL: request.callbackURL, apiKeyID: request.apiKeyID)
        let created = VerificationEvent(verificationID: id, kind: .created, status: .pending, at: now, detail: request.channel.rawValue)
        if let code, sendsSomething(request.channel) {
            // Stored with its send reserved (limits checked in the same write), then delivered.
            v = markedSent(v, at: now)
            guard try await reserve(.insert(v), auditEvents: [created, sentEvent(v, at: now)], number: number, now: now) else {
                throw VerificationError.conflict
            }
            v = try await deliver(v, number: number, code: code, now: now, fallbacks: request.fallbackChannels)
        } else {
            guard try await store.insert(v, event: created) else {
                throw VerificationError.conflict
            }
            await events.published(created, verification: v)
        }
        return StartResult(verification: v, code: request.channel.showsCodeOnPage ? code : nil, resent: false)
    }

    private func resend(_ existing: Verification, number: PhoneNumber, now: Date) async throws -> StartResult? {
        if let last = existing.lastSentAt ?? Optional(existing.createdAt) {
            let wait = policy.limits.resendInterval - now.timeIntervalSince(last)
            if wait > 0 { throw VerificationError.rateLimited(limit: .resendInterval, retryAfter: wait) }
        }
        guard issuesCodeAtStart(existing.channel) else {
            // Call-in channels without a code on the page: nothing to send; the same verification stands.
            return StartResult(verification: existing, code: nil, resent: true)
        }
        let code = VerificationCode.generate(length: existing.codeLength, random: random)
        var v = existing
        v.codeMAC = hasher.mac(id: v.id, code: code)
        v.updatedAt = now
        let event = VerificationEvent(verificationID: v.id, kind: .resent, status: .pending, at: now)
        if sendsSomething(v.channel) {
            // The new code, the last-sent time and the send are one versioned write with the
            // limits checked inside it: of concurrent resends one wins the version, and the
            // others re-read and meet the resend interval or the send limits.
            v = markedSent(v, at: now)
            guard let reserved = try await commitSend(v, auditEvents: [event, sentEvent(v, at: now)], number: number, now: now) else { return nil }
            v = try await deliver(reserved, number: number, code: code, now: now)
        } else {
            v.lastSentAt = now
            guard let written = try await commit(v, event: event) else { return nil }
            v = written
        }
        return StartResult(verification: v, code: v.channel.showsCodeOnPage ? code : nil, resent: true)
    }

    // MARK: Delivery reports

    /// Records a gateway's delivery report as an audit event; a report that the message will not
    /// arrive fails a still-pending verification with the report as the reason.
    @discardableResult
    public func recordDeliveryReport(id: String, _ report: DeliveryReport) async throws -> Verification {
        try await optimistically {
            guard let v = try await store.verification(id: id) else { throw VerificationError.notFound }
            let now = clock.now()
            if report.outcome == .failed, v.status == .pending {
                return try await fail(v, reason: "delivery report: \(report.detail)", at: now)
            }
            var next = v
            next.updatedAt = now
            let event = VerificationEvent(verificationID: id, kind: .deliveryReport, status: v.status, at: now,
                                          detail: "\(report.outcome.rawValue): \(report.detail)")
            return try await commit(next, event: event)
        }
    }

    /// The system numbers users may call: the configured ones and those the attached gateways answer.
    public func systemNumbers() async -> [String] {
        var numbers = policy.systemNumbers
        for number in await delivery.gatewaySystemNumbers() where !numbers.contains(number) { numbers.append(number) }
        return numbers
    }

    /// Holds a system number of the pool for a call-in verification of `caller` until `until`.
    ///
    /// A call to a system number is matched by caller ID and the number dialled, and for
    /// `missed_call` that pair is the only proof; so a number shown for one verification of a
    /// caller is never shown for another verification of the same caller until the first one's
    /// expiry has passed, whatever became of it (canceled ones included): a later start (an
    /// attacker's) can never take over a number the caller is about to dial. The one exception is
    /// `replacing`, the verification the same page ticket switches away from, whose number the new
    /// one keeps when it can. The same rule holds for all three call-in channels, so a call always
    /// meets at most one live verification. Among the free numbers the least loaded is taken (ties
    /// at random). None free: `no_system_number`, retry when the earliest hold ends. The hold is
    /// taken in the store (`holdSystemNumber`), atomically against other starts and other nodes.
    private func holdSystemNumber(caller: String, verificationID: String, until: Date, now: Date, replacing: String?) async throws -> String {
        let numbers = await systemNumbers()
        return try await optimistically(attempts: 8) {
            let holds = try await store.systemNumberHolds(caller: caller, now: now)
            let blocking = holds.filter { $0.verificationID != replacing }
            let taken = Set(blocking.map(\.systemNumber))
            let free = numbers.filter { !taken.contains($0) }
            guard !free.isEmpty else {
                let earliest = blocking.filter { numbers.contains($0.systemNumber) }.map(\.until).min() ?? now.addingTimeInterval(1)
                throw VerificationError.noSystemNumber(retryAfter: Swift.max(1, earliest.timeIntervalSince(now)))
            }
            let pick: String
            if let replacing, let kept = holds.first(where: { $0.verificationID == replacing })?.systemNumber, free.contains(kept) {
                pick = kept
            } else {
                let counts = try await store.pendingCounts(systemNumbers: free)
                let least = free.map { counts[$0] ?? 0 }.min() ?? 0
                let candidates = free.filter { (counts[$0] ?? 0) == least }
                pick = candidates[Int(random.uniform(below: UInt64(candidates.count)))]
            }
            let hold = SystemNumberHold(systemNumber: pick, verificationID: verificationID, until: until)
            return try await store.holdSystemNumber(hold, caller: caller, now: now, replacing: replacing) ? pick : nil
        }
    }

    /// Channels whose code exists from the start (the voice call-in code is made when the user calls).
    private func issuesCodeAtStart(_ channel: VerificationMethod) -> Bool {
        switch channel {
        case .sms, .voiceCall, .dtmfCallOut, .dtmfCallIn: true
        case .voiceCallIn, .missedCall: false
        }
    }

    // MARK: Check

    /// Checks a code typed on the web page (channels `sms`, `voice_call`, `voice_callin`).
    /// Returns the verification after the check: `approved`, still `pending` with one attempt
    /// more, or `max_attempts_reached` on the last wrong code.
    public func check(id: String, code: String, access: VerificationAccess = .capability) async throws -> Verification {
        guard code.utf8.count >= VerificationCode.lengths.lowerBound, code.utf8.count <= VerificationCode.lengths.upperBound,
              code.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw VerificationError.invalidRequest("code must be 4 to 10 digits.") }
        // The read, the decision and the write in one store write (`VerificationRecordStore.change`).
        return try await optimistically {
            let now = clock.now()
            return try await change(id: id) { [self] stored in
                guard let v = stored, access.permits(v) else { return .refuse(VerificationError.notFound) }
                guard v.channel.isCheckedOnWeb else { return .refuse(VerificationError.wrongChannel(v.channel)) }
                return checkDecision(v, code: code, at: now)
            }
        }
    }

    /// Checks digits keyed on a phone (channels `dtmf_callout`, `dtmf_callin`), reported by the gateway.
    ///
    /// dtmf_callin: the keyed code says which verification. The digits are checked against every
    /// live pending dtmf_callin verification of the same caller and system number, and approve
    /// only the one whose code they are; digits matching none count as a wrong attempt against
    /// `id`, the verification the call was routed to (the one holding that system number for the
    /// caller, see `inboundCall`), never against a sibling the caller did not aim at.
    public func checkKeyed(id: String, digits: String) async throws -> Verification {
        try await optimistically {
            guard var v = try await store.verification(id: id) else { throw VerificationError.notFound }
            guard v.channel.showsCodeOnPage else { throw VerificationError.wrongChannel(v.channel) }
            let now = clock.now()
            if v.channel == .dtmfCallIn, v.status == .pending, !(v.codeMAC.map { hasher.matches(id: v.id, code: digits, stored: $0) } ?? false) {
                let siblings = try await store.pendingCallIn(caller: v.to, systemNumber: v.systemNumber)
                if let keyed = siblings.first(where: { sibling in
                    sibling.id != v.id && sibling.channel == .dtmfCallIn && sibling.expiresAt > now
                        && (sibling.codeMAC.map { hasher.matches(id: sibling.id, code: digits, stored: $0) } ?? false)
                }) {
                    v = keyed
                }
            }
            return try await commit(checkDecision(v, code: digits, at: now))
        }
    }

    /// One check of `code` against `v`'s stored MAC at `now`: approved on the right code, one
    /// attempt more (`max_attempts_reached` on the last) on a wrong one, `expired` (written) past its
    /// expiry, and a refusal for a verification no longer pending.
    func checkDecision(_ v: Verification, code: String, at now: Date) -> VerificationDecision<Verification> {
        switch v.status {
        case .pending: break
        case .expired: return .refuse(VerificationError.expired)
        case .maxAttemptsReached: return .refuse(VerificationError.maxAttemptsReached)
        case .approved, .canceled, .failed: return .refuse(VerificationError.notPending(v.status))
        }
        if v.expiresAt <= now {
            return VerificationDecision(write: finished(v, status: .expired, kind: .expired, at: now), answer: .failure(VerificationError.expired))
        }
        let write: VerificationWrite
        if v.codeMAC.map({ hasher.matches(id: v.id, code: code, stored: $0) }) ?? false {
            write = finished(v, status: .approved, kind: .approved, at: now)
        } else if v.checkAttempts + 1 >= policy.limits.maxCheckAttempts {
            var next = v
            next.checkAttempts += 1
            write = finished(next, status: .maxAttemptsReached, kind: .maxAttemptsReached, at: now)
        } else {
            var next = v
            next.version += 1
            next.checkAttempts += 1
            next.updatedAt = now
            let event = VerificationEvent(verificationID: v.id, kind: .checkFailed, status: .pending, at: now,
                                          detail: "attempt \(next.checkAttempts) of \(policy.limits.maxCheckAttempts)")
            write = VerificationWrite(verification: next, event: event)
        }
        return VerificationDecision(write: write, answer: .success(write.verification))
    }

    // MARK: Cancel, expire, read

    /// The verification with this id; a pending one past its expiry is expired first. One that
    /// `access` may not see is `not_found`, exactly as an unknown id.
    public func verification(id: String, access: VerificationAccess = .capability) async throws -> Verification {
        try await optimistically {
            let v = try await stored(id: id, access: access)
            guard v.status == .pending, v.expiresAt <= clock.now() else { return v }
            return try await finish(v, status: .expired, kind: .expired, at: clock.now())
        }
    }

    /// Cancels a pending verification.
    public func cancel(id: String, access: VerificationAccess = .capability) async throws -> Verification {
        try await optimistically {
            let v = try await verification(id: id, access: access)
            guard v.status == .pending else { throw VerificationError.notPending(v.status) }
            return try await finish(v, status: .canceled, kind: .canceled, at: clock.now())
        }
    }

    /// Expires pending verifications past their time; returns how many. Run periodically so the
    /// page and the webhook learn of expiry without anyone asking.
    @discardableResult
    public func expireDue(limit: Int = 500) async throws -> Int {
        let now = clock.now()
        var n = 0
        for v in try await store.expiredPending(now: now, limit: limit) {
            if try await finish(v, status: .expired, kind: .expired, at: now) != nil { n += 1 }
        }
        try await store.releaseSystemNumberHolds(endedBy: now)
        return n
    }

    /// The audit trail of a verification.
    public func events(id: String, access: VerificationAccess = .capability) async throws -> [VerificationEvent] {
        try await store.events(verificationID: stored(id: id, access: access).id)
    }

    /// The stored verification `id` as `access` may see it: `not_found` for an unknown id and for
    /// another tenant's alike.
    private func stored(id: String, access: VerificationAccess) async throws -> Verification {
        guard let v = try await store.verification(id: id), access.permits(v) else { throw VerificationError.notFound }
        return v
    }

    /// Refuses a channel no gateway or driver serves right now: `no_gateway` for the voice channels.
    private func requireAvailable(_ channel: VerificationMethod) async throws {
        guard await delivery.isAvailable(channel) else {
            throw channel.needsVoiceGateway ? VerificationError.noGateway : VerificationError.channelDisabled(channel)
        }
    }
}
