import Foundation
import Testing
@testable import Verification

@Suite struct ServiceTests {
    @Test func smsStartSendsCodeAndCheckApproves() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        #expect(r.verification.to == "+886975000888")
        #expect(r.verification.status == .pending)
        #expect(r.code == nil, "an SMS code is never returned by the API")
        #expect(r.verification.sendCount == 1)
        #expect(h.delivery.sent.count == 1)
        #expect(h.lastCode.count == 6)
        #expect(r.verification.codeMAC != nil && r.verification.codeMAC! != Array(h.lastCode.utf8))
        let v = try await h.service.check(id: r.verification.id, code: h.lastCode)
        #expect(v.status == .approved)
        // Single use: the same code again is refused.
        await #expect(throws: VerificationError.notPending(.approved)) { try await h.service.check(id: r.verification.id, code: h.lastCode) }
        #expect(h.sink.events.map(\.kind) == [.created, .sent, .approved])
    }

    @Test("ids start with the creation time in milliseconds, so later ones sort after; the rest is 80 random bits")
    func idsSortByCreationTime() async throws {
        let h = Harness()
        var ids: [String] = []
        for step in 0..<40 {
            // Steps of 1 ms, 1 s and a day: later always sorts after, whatever the gap.
            h.clock.advance([0.001, 1, 86_400][step % 3])
            let r = try await h.service.start(StartRequest(to: "+8869750009\(String(format: "%02d", step))", channel: .sms))
            #expect(Verification.isWellFormedID(r.verification.id))
            let milliseconds = UInt64(r.verification.id.dropFirst(2).prefix(12), radix: 16)
            #expect(milliseconds == UInt64((r.verification.createdAt.timeIntervalSince1970 * 1_000).rounded(.down)))
            ids.append(r.verification.id)
        }
        #expect(ids.sorted() == ids)
        // Two made in the same millisecond differ in their random part.
        let now = h.clock.now()
        let random = SeededRandom(seed: 7)
        let (a, b) = (Verification.makeID(random: random, now: now), Verification.makeID(random: random, now: now))
        #expect(a.prefix(14) == b.prefix(14) && a != b)
    }

    @Test func fiveWrongChecksReachMaxAttempts() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        let wrong = h.lastCode == "000000" ? "111111" : "000000"
        for attempt in 1...4 {
            let v = try await h.service.check(id: r.verification.id, code: wrong)
            #expect(v.status == .pending)
            #expect(v.checkAttempts == attempt)
        }
        #expect(try await h.service.check(id: r.verification.id, code: wrong).status == .maxAttemptsReached)
        // Even the right code is refused now.
        await #expect(throws: VerificationError.maxAttemptsReached) { try await h.service.check(id: r.verification.id, code: h.lastCode) }
    }

    @Test func codeExpiresAfterTenMinutes() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        h.clock.advance(600)
        await #expect(throws: VerificationError.expired) { try await h.service.check(id: r.verification.id, code: h.lastCode) }
        #expect(try await h.service.verification(id: r.verification.id).status == .expired)
    }

    @Test func expirySweeperExpiresPending() async throws {
        let h = Harness()
        let a = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        h.clock.advance(599)
        #expect(try await h.service.expireDue() == 0)
        h.clock.advance(1)
        #expect(try await h.service.expireDue() == 1)
        #expect(await h.store.verification(id: a.verification.id)?.status == .expired)
    }

    @Test func resendSendsTheSameVerificationAfterThirtySeconds() async throws {
        let h = Harness()
        let first = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, apiKeyID: "AKa"))
        let firstCode = h.lastCode
        h.clock.advance(10)
        do {
            _ = try await h.service.resend(id: first.verification.id, access: .apiKey("AKa"))
            Issue.record("a resend within 30 s must be refused")
        } catch let VerificationError.rateLimited(limit, retryAfter) {
            #expect(limit == .resendInterval)
            #expect(abs(retryAfter - 20) < 0.001)
        }
        h.clock.advance(20)
        let again = try await h.service.resend(id: first.verification.id, access: .apiKey("AKa"))
        #expect(again.resent)
        #expect(again.verification.id == first.verification.id)
        #expect(again.verification.sendCount == 2)
        #expect(h.delivery.sent.count == 2)
        if firstCode != h.lastCode {
            let afterOld = try await h.service.check(id: first.verification.id, code: firstCode)
            #expect(afterOld.status == .pending, "the old code no longer works")
        }
        #expect(try await h.service.check(id: first.verification.id, code: h.lastCode).status == .approved)
        await #expect(throws: VerificationError.notPending(.approved)) {
            _ = try await h.service.resend(id: first.verification.id)
        }
    }

    @Test func atMostFiveSendsPerNumberPerTenMinutes() async throws {
        let h = Harness()
        for _ in 0..<5 {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
            h.clock.advance(31)
        }
        do {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
            Issue.record("the sixth send must be refused")
        } catch let VerificationError.rateLimited(limit, retryAfter) {
            #expect(limit == .sendsPerNumber)
            #expect(abs(retryAfter - (600 - 5 * 31)) < 0.001)
        }
        // Other channels that send count too.
        await #expect(throws: VerificationError.rateLimited(limit: .sendsPerNumber, retryAfter: 600 - 5 * 31)) {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        }
        h.clock.advance(600 - 5 * 31)
        _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
    }

    @Test func countryAllowList() async throws {
        let h = Harness()
        await #expect(throws: VerificationError.countryNotAllowed(region: "US")) {
            _ = try await h.service.start(StartRequest(to: "+1 650 253 0000", channel: .sms))
        }
        var policy = VerificationPolicy()
        policy.limits.allowedRegions = ["TW", "US"]
        let open = Harness(policy: policy)
        let r = try await open.service.start(StartRequest(to: "+1 201 555 0123", channel: .sms))
        #expect(r.verification.region == "US")
    }

    @Test func invalidNumberAndSMSToFixedLineRefused() async throws {
        let h = Harness()
        await #expect(throws: VerificationError.invalidNumber(reason: PhoneNumberError.notANumber.reason)) {
            _ = try await h.service.start(StartRequest(to: "call me", channel: .sms))
        }
        await #expect(throws: VerificationError.cannotReceiveSMS) {
            _ = try await h.service.start(StartRequest(to: "02-2999-6666", channel: .sms))
        }
        // A fixed line can still be verified by voice.
        _ = try await h.service.start(StartRequest(to: "02-2999-6666", channel: .voiceCall))
    }

    @Test func codeLengthBounds() async throws {
        let h = Harness()
        await #expect(throws: VerificationError.invalidRequest("code_length must be between 4 and 10.")) {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, codeLength: 3))
        }
        _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, codeLength: 10))
        #expect(h.lastCode.count == 10)
    }

    @Test func onlyDTMFChannelsReturnTheCode() async throws {
        let h = Harness()
        for (i, channel) in VerificationMethod.allCases.enumerated() {
            let r = try await h.service.start(StartRequest(to: "+88697500088\(i)", channel: channel))
            #expect((r.code != nil) == (channel == .dtmfCallOut || channel == .dtmfCallIn), "\(channel)")
            #expect((r.verification.systemNumber != nil) == channel.isCallIn, "\(channel)")
        }
    }

    @Test func callInSystemNumbersSpreadOverThePool() async throws {
        let h = Harness()
        var used: [String: Int] = [:]
        for i in 0..<6 {
            let r = try await h.service.start(StartRequest(to: "+88697500080\(i)", channel: .missedCall))
            used[r.verification.systemNumber!, default: 0] += 1
        }
        #expect(used == ["+886229996666": 3, "+886229996667": 3])
        let matches = await h.store.pendingCallIn(caller: "+886975000803", systemNumber: nil)
        #expect(matches.count == 1)
    }

    @Test func voiceChannelsWithoutGatewayFailCleanly() async throws {
        let h = Harness(gateway: false)
        for channel in VerificationMethod.allCases where channel.needsVoiceGateway {
            await #expect(throws: VerificationError.noGateway) {
                _ = try await h.service.start(StartRequest(to: "0975000888", channel: channel))
            }
        }
        _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
    }

    @Test func failedDeliveryFailsTheVerification() async throws {
        let h = Harness()
        h.delivery.failWith = "SMSC refused: ESME_RINVDSTADR"
        do {
            _ = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, callbackURL: "http://127.0.0.1:9/hook"))
            Issue.record("must throw")
        } catch let VerificationError.deliveryFailed(reason, id) {
            #expect(reason == "SMSC refused: ESME_RINVDSTADR")
            let stored = await h.store.verification(id: id)
            let v = try #require(stored)
            #expect(v.status == .failed)
            #expect(v.failureReason == reason)
            let hooks = await h.store.dueWebhooks(now: h.clock.now(), limit: 10)
            #expect(hooks.count == 1)
            #expect(hooks[0].body.contains("\"status\":\"failed\""))
        }
    }

    @Test func cancelAndWebhookBodyCarriesNoCode() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms, callbackURL: "http://127.0.0.1:9/hook"))
        let v = try await h.service.cancel(id: r.verification.id)
        #expect(v.status == .canceled)
        await #expect(throws: VerificationError.notPending(.canceled)) { _ = try await h.service.cancel(id: r.verification.id) }
        let hooks = await h.store.dueWebhooks(now: h.clock.now(), limit: 10)
        #expect(hooks.count == 1)
        #expect(hooks[0].body.contains("\"status\":\"canceled\""))
        #expect(!hooks[0].body.contains(h.lastCode))
        for e in try await h.service.events(id: r.verification.id) { #expect(!(e.detail ?? "").contains(h.lastCode)) }
    }

    @Test func keyedChecksOnlyForDTMFChannels() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(r.code)
        await #expect(throws: VerificationError.wrongChannel(.dtmfCallIn)) { _ = try await h.service.check(id: r.verification.id, code: code) }
        #expect(try await h.service.checkKeyed(id: r.verification.id, digits: code).status == .approved)
    }

    @Test func malformedCodesDoNotCountAsAttempts() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        for bad in ["", "12", "12ab56", "12345678901", "１２３４５６"] {
            await #expect(throws: VerificationError.self) { _ = try await h.service.check(id: r.verification.id, code: bad) }
        }
        #expect(await h.store.verification(id: r.verification.id)?.checkAttempts == 0)
        await #expect(throws: VerificationError.notFound) { _ = try await h.service.check(id: "VEnope", code: "123456") }
    }

    /// Issue 12: concurrent starts for one number are each their own verification, each sent its
    /// own code (how many may be sent is the per-number limit's business, not a merge of starts).
    @Test func concurrentStartsAreEachTheirOwnVerification() async throws {
        let h = Harness()
        let results = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask { try? await h.service.start(StartRequest(to: "0975000888", channel: .sms)).verification.id }
            }
            var ids: [String] = []
            for await id in group { if let id { ids.append(id) } }
            return ids
        }
        #expect(!results.isEmpty)
        #expect(Set(results).count == results.count, "no two starts share a verification")
        #expect(h.delivery.sent.map(\.verificationID).sorted() == results.sorted(), "each started verification got its own send")
    }

    @Test func concurrentWrongChecksNeverExceedTheLimit() async throws {
        let h = Harness()
        let r = try await h.service.start(StartRequest(to: "0975000888", channel: .sms))
        let wrong = h.lastCode == "000000" ? "111111" : "000000"
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try? await h.service.check(id: r.verification.id, code: wrong) } }
        }
        let stored = await h.store.verification(id: r.verification.id)
        let v = try #require(stored)
        #expect(v.checkAttempts == 5)
        #expect(v.status == .maxAttemptsReached)
    }

    @Test func localeFallsBackToSupported() {
        let p = VerificationPolicy()
        #expect(p.locale(for: "zh-Hant-TW") == "zh-TW")
        #expect(p.locale(for: "en-GB") == "en")
        #expect(p.locale(for: "fr") == "en")
        #expect(p.locale(for: nil) == "en")
    }
}

@Suite struct RateLimiterTests {
    @Test func tokenBucketRefusesAndRefills() {
        var limiter = RateLimiter(limit: 3, period: 60)
        let t0 = Date(timeIntervalSince1970: 0)
        for _ in 0..<3 { #expect(limiter.acquire("k", now: t0) == nil) }
        let wait = limiter.acquire("k", now: t0)
        #expect(wait.map { abs($0 - 20) < 0.001 } == true)
        #expect(limiter.acquire("other", now: t0) == nil)
        #expect(limiter.acquire("k", now: t0.addingTimeInterval(20)) == nil)
    }

    @Test func boundedMemory() {
        var limiter = RateLimiter(limit: 1, period: 60, maxKeys: 10)
        for i in 0..<1000 { _ = limiter.acquire("ip\(i)", now: Date(timeIntervalSince1970: Double(i))) }
        #expect(limiter.acquire("ip999", now: Date(timeIntervalSince1970: 999)) != nil)
    }
}
