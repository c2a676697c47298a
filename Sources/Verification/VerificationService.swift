import Foundation

/// A start request, as the API received it.
public struct StartRequest: Sendable, Equatable {
    public var to: String
    public var channel: Channel
    public var locale: String?
    public var codeLength: Int?
    public var callbackURL: String?
    public var apiKeyID: String?
    /// Channels to move to, in order, when delivery on `channel` fails at start (`"channels": ["sms", "voice_call"]`).
    /// Only channels that send a secret code (`sms`, `voice_call`) may be fallbacks.
    public var fallbackChannels: [Channel]

    public init(to: String, channel: Channel, locale: String? = nil, codeLength: Int? = nil, callbackURL: String? = nil, apiKeyID: String? = nil,
                fallbackChannels: [Channel] = []) {
        self.to = to
        self.channel = channel
        self.fallbackChannels = fallbackChannels
        self.locale = locale
        self.codeLength = codeLength
        self.callbackURL = callbackURL
        self.apiKeyID = apiKeyID
    }
}

/// What a start answers: the verification, plus the code for the channels that show it on the page.
public struct StartResult: Sendable, Equatable {
    public var verification: Verification
    /// Only for `dtmf_callout` and `dtmf_callin`; nil for every other channel.
    public var code: String?
    /// True when an existing pending verification was resent instead of a new one made.
    public var resent: Bool
}

/// The verification flows of DESIGN.md: start (or resend), check, cancel, expire. Holds no
/// mutable state; all state is in the store, so several core nodes may share one database.
public struct VerificationService: Sendable {
    public let policy: VerificationPolicy
    public let store: any VerificationStore
    public let delivery: any CodeDelivery
    public let events: any VerificationEventSink
    public let hasher: CodeHasher
    public let clock: any VerificationClock
    public let random: any RandomSource

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

    /// Starts a verification, or resends the pending one for the same number and channel.
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
        guard await delivery.isAvailable(request.channel) else {
            throw request.channel.needsVoiceGateway ? VerificationError.noGateway : VerificationError.channelDisabled(request.channel)
        }
        for _ in 0..<8 {
            let now = clock.now()
            if var existing = try await store.pendingVerification(to: number.e164, channel: request.channel) {
                if existing.expiresAt <= now {
                    existing = try await finish(existing, status: .expired, kind: .expired, at: now) ?? existing
                    continue
                }
                if let result = try await resend(existing, number: number, now: now) { return result }
                continue
            }
            if let result = try await create(request, number: number, length: length, now: now) { return result }
        }
        throw VerificationError.invalidRequest("Too much contention on this number; retry.")
    }

    private func create(_ request: StartRequest, number: PhoneNumber, length: Int, now: Date) async throws -> StartResult? {
        let id = Verification.makeID(random: random)
        let code = issuesCodeAtStart(request.channel) ? VerificationCode.generate(length: length, random: random) : nil
        var v = Verification(
            id: id, to: number.e164, region: number.region, channel: request.channel,
            locale: policy.locale(for: request.locale), codeLength: length,
            codeMAC: code.map { hasher.mac(id: id, code: $0) }, createdAt: now,
            expiresAt: now.addingTimeInterval(policy.limits.expiry),
            systemNumber: request.channel.isCallIn ? try await pickSystemNumber() : nil,
            callbackURL: request.callbackURL, apiKeyID: request.apiKeyID)
        let created = VerificationEvent(verificationID: id, kind: .created, status: .pending, at: now, detail: request.channel.rawValue)
        if let code, sendsSomething(request.channel) {
            // Stored with its send reserved (limits checked in the same write), then delivered.
            v = markedSent(v, at: now)
            guard try await reserve(.insert(v), auditEvents: [created, sentEvent(v, at: now)], number: number, now: now) else { return nil }
            v = try await deliver(v, number: number, code: code, now: now, fallbacks: request.fallbackChannels)
        } else {
            guard try await store.insert(v, event: created) else { return nil }
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
        v.version += 1
        let event = VerificationEvent(verificationID: v.id, kind: .resent, status: .pending, at: now)
        if sendsSomething(v.channel) {
            // The new code, the last-sent time and the send are one versioned write with the
            // limits checked inside it: of concurrent resends one wins the version, and the
            // others re-read and meet the resend interval or the send limits.
            v = markedSent(v, at: now)
            guard try await reserve(.update(v), auditEvents: [event, sentEvent(v, at: now)], number: number, now: now) else { return nil }
            v = try await deliver(v, number: number, code: code, now: now)
        } else {
            v.lastSentAt = now
            guard try await store.update(v, event: event, webhook: nil) else { return nil }
            await events.published(event, verification: v)
        }
        return StartResult(verification: v, code: v.channel.showsCodeOnPage ? code : nil, resent: true)
    }

    // MARK: Delivery reports

    /// Records a gateway's delivery report as an audit event; a report that the message will not
    /// arrive fails a still-pending verification with the report as the reason.
    @discardableResult
    public func recordDeliveryReport(id: String, _ report: DeliveryReport) async throws -> Verification {
        for _ in 0..<16 {
            guard let v = try await store.verification(id: id) else { throw VerificationError.notFound }
            let now = clock.now()
            if report.outcome == .failed, v.status == .pending {
                if let done = try await fail(v, reason: "delivery report: \(report.detail)", at: now) { return done }
                continue
            }
            var next = v
            next.updatedAt = now
            next.version += 1
            let event = VerificationEvent(verificationID: id, kind: .deliveryReport, status: v.status, at: now,
                                          detail: "\(report.outcome.rawValue): \(report.detail)")
            if try await store.update(next, event: event, webhook: nil) {
                await events.published(event, verification: next)
                return next
            }
        }
        throw VerificationError.invalidRequest("Too much contention on this verification; retry.")
    }

    /// The system numbers users may call: the configured ones and those the attached gateways answer.
    public func systemNumbers() async -> [String] {
        var numbers = policy.systemNumbers
        for number in await delivery.gatewaySystemNumbers() where !numbers.contains(number) { numbers.append(number) }
        return numbers
    }

    /// The system number with the fewest pending verifications (ties broken at random).
    private func pickSystemNumber() async throws -> String {
        let numbers = await systemNumbers()
        let counts = try await store.pendingCounts(systemNumbers: numbers)
        let least = numbers.map { counts[$0] ?? 0 }.min() ?? 0
        let candidates = numbers.filter { (counts[$0] ?? 0) == least }
        return candidates[Int(random.uniform(below: UInt64(candidates.count)))]
    }

    /// Channels whose code exists from the start (the voice call-in code is made when the user calls).
    private func issuesCodeAtStart(_ channel: Channel) -> Bool {
        switch channel {
        case .sms, .voiceCall, .dtmfCallOut, .dtmfCallIn: true
        case .voiceCallIn, .missedCall: false
        }
    }

    // MARK: Check

    /// Checks a code typed on the web page (channels `sms`, `voice_call`, `voice_callin`).
    /// Returns the verification after the check: `approved`, still `pending` with one attempt
    /// more, or `max_attempts_reached` on the last wrong code.
    public func check(id: String, code: String) async throws -> Verification {
        guard code.utf8.count >= VerificationCode.lengths.lowerBound, code.utf8.count <= VerificationCode.lengths.upperBound,
              code.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw VerificationError.invalidRequest("code must be 4 to 10 digits.") }
        for _ in 0..<16 {
            guard let v = try await store.verification(id: id) else { throw VerificationError.notFound }
            guard v.channel.isCheckedOnWeb else { throw VerificationError.wrongChannel(v.channel) }
            if let result = try await applyCheck(v, code: code) { return result }
        }
        throw VerificationError.invalidRequest("Too much contention on this verification; retry.")
    }

    /// Checks digits keyed on a phone (channels `dtmf_callout`, `dtmf_callin`), reported by the gateway.
    public func checkKeyed(id: String, digits: String) async throws -> Verification {
        for _ in 0..<16 {
            guard let v = try await store.verification(id: id) else { throw VerificationError.notFound }
            guard v.channel.showsCodeOnPage else { throw VerificationError.wrongChannel(v.channel) }
            if let result = try await applyCheck(v, code: digits) { return result }
        }
        throw VerificationError.invalidRequest("Too much contention on this verification; retry.")
    }

    /// One check against the stored MAC; nil when a concurrent writer won (the caller re-reads).
    private func applyCheck(_ v: Verification, code: String) async throws -> Verification? {
        let now = clock.now()
        switch v.status {
        case .pending: break
        case .expired: throw VerificationError.expired
        case .maxAttemptsReached: throw VerificationError.maxAttemptsReached
        case .approved, .canceled, .failed: throw VerificationError.notPending(v.status)
        }
        if v.expiresAt <= now {
            _ = try await finish(v, status: .expired, kind: .expired, at: now)
            throw VerificationError.expired
        }
        let good = v.codeMAC.map { hasher.matches(id: v.id, code: code, stored: $0) } ?? false
        if good {
            return try await finish(v, status: .approved, kind: .approved, at: now)
        }
        var next = v
        next.checkAttempts += 1
        if next.checkAttempts >= policy.limits.maxCheckAttempts {
            return try await finish(next, status: .maxAttemptsReached, kind: .maxAttemptsReached, at: now)
        }
        next.updatedAt = now
        next.version += 1
        let event = VerificationEvent(verificationID: v.id, kind: .checkFailed, status: .pending, at: now,
                                      detail: "attempt \(next.checkAttempts) of \(policy.limits.maxCheckAttempts)")
        guard try await store.update(next, event: event, webhook: nil) else { return nil }
        await events.published(event, verification: next)
        return next
    }

    // MARK: Cancel, expire, read

    /// The verification with this id; a pending one past its expiry is expired first.
    public func verification(id: String) async throws -> Verification {
        guard let v = try await store.verification(id: id) else { throw VerificationError.notFound }
        if v.status == .pending, v.expiresAt <= clock.now() {
            if let expired = try await finish(v, status: .expired, kind: .expired, at: clock.now()) { return expired }
            return try await verification(id: id)
        }
        return v
    }

    /// Cancels a pending verification.
    public func cancel(id: String) async throws -> Verification {
        for _ in 0..<16 {
            let v = try await verification(id: id)
            guard v.status == .pending else { throw VerificationError.notPending(v.status) }
            if let done = try await finish(v, status: .canceled, kind: .canceled, at: clock.now()) { return done }
        }
        throw VerificationError.invalidRequest("Too much contention on this verification; retry.")
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
        return n
    }

    /// The audit trail of a verification.
    public func events(id: String) async throws -> [VerificationEvent] {
        try await store.events(verificationID: id)
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
        var next = v
        next.status = status
        next.updatedAt = now
        next.version += 1
        if status != .failed { next.failureReason = nil }
        let event = VerificationEvent(verificationID: v.id, kind: kind, status: status, at: now, detail: detail)
        let webhook = next.callbackURL.map { url in
            WebhookDelivery(id: "WH" + random.bytes(12).map { String(format: "%02x", $0) }.joined(),
                            verificationID: v.id, url: url, body: WebhookBody.json(next, event: event), createdAt: now)
        }
        guard try await store.update(next, event: event, webhook: webhook) else { return nil }
        await events.published(event, verification: next)
        return next
    }
}
