import Foundation
import Synchronization
import Testing
@testable import Verification

/// Fails every delivery on the channels in `failing`; records the rest.
final class PerChannelDelivery: CodeDelivery {
    let failing: Set<VerificationMethod>
    let available: Set<VerificationMethod>
    let sent = Mutex<[CodeMessage]>([])
    init(failing: Set<VerificationMethod>, available: Set<VerificationMethod> = Set(VerificationMethod.allCases)) {
        self.failing = failing
        self.available = available
    }
    func isAvailable(_ channel: VerificationMethod) async -> Bool { available.contains(channel) }
    func deliver(_ message: CodeMessage) async throws {
        if failing.contains(message.channel) { throw DeliveryFailure(reason: "\(message.channel.rawValue) gateway refused") }
        sent.withLock { $0.append(message) }
    }
}

@Suite struct FallbackAndReportTests {
    func service(_ delivery: PerChannelDelivery, sink: RecordingSink = RecordingSink(), store: MemoryStore = MemoryStore()) -> VerificationService {
        VerificationService(policy: VerificationPolicy(systemNumbers: ["+886229996666"]), store: store, delivery: delivery, events: sink,
                            secret: Array("test secret of thirty-two bytes!".utf8), clock: TestClock(), random: SeededRandom(seed: 7))
    }

    @Test func failedSMSMovesToTheNextChannelWithTheSameIDAndCode() async throws {
        let delivery = PerChannelDelivery(failing: [.sms])
        let sink = RecordingSink()
        let s = service(delivery, sink: sink)
        let r = try await s.start(StartRequest(to: "0975000888", channel: .sms, fallbackChannels: [.voiceCall]))
        #expect(r.verification.channel == .voiceCall)
        #expect(r.verification.status == .pending)
        // The failed SMS was an attempt: reserved and counted before delivery, like the call after it.
        #expect(r.verification.sendCount == 2)
        let sent = delivery.sent.withLock { $0 }
        #expect(sent.map(\.channel) == [.voiceCall])
        #expect(sink.events.map(\.kind) == [.created, .sent, .channelFallback, .sent])
        #expect(sink.events.map(\.detail) == ["sms", "sms", "sms failed (sms gateway refused); trying voice_call", "voice_call"])
        let v = try await s.check(id: r.verification.id, code: sent[0].code)
        #expect(v.status == .approved)
    }

    @Test func everyChannelFailingFailsWithTheLastReason() async throws {
        let s = service(PerChannelDelivery(failing: [.sms, .voiceCall]))
        await #expect(throws: VerificationError.self) {
            _ = try await s.start(StartRequest(to: "0975000888", channel: .sms, fallbackChannels: [.voiceCall]))
        }
        do {
            _ = try await s.start(StartRequest(to: "0975000889", channel: .sms, fallbackChannels: [.voiceCall]))
        } catch let VerificationError.deliveryFailed(reason, id) {
            #expect(reason == "voice_call gateway refused")
            let v = try await s.verification(id: id)
            #expect(v.status == .failed)
            #expect(v.channel == .voiceCall)
        }
    }

    @Test func unavailableFallbackIsSkipped() async throws {
        let s = service(PerChannelDelivery(failing: [.sms], available: [.sms]))
        do {
            _ = try await s.start(StartRequest(to: "0975000888", channel: .sms, fallbackChannels: [.voiceCall]))
            Issue.record("must throw")
        } catch let VerificationError.deliveryFailed(reason, _) {
            #expect(reason == "sms gateway refused")
        }
    }

    @Test func onlySMSAndVoiceCallCombine() async throws {
        let s = service(PerChannelDelivery(failing: []))
        await #expect(throws: VerificationError.invalidRequest("channels: only sms and voice_call may be listed together, each once.")) {
            _ = try await s.start(StartRequest(to: "0975000888", channel: .sms, fallbackChannels: [.missedCall]))
        }
        await #expect(throws: VerificationError.self) {
            _ = try await s.start(StartRequest(to: "0975000888", channel: .sms, fallbackChannels: [.sms]))
        }
    }

    @Test func deliveryReportsAreEventsAndAFailedOneFailsThePendingVerification() async throws {
        let delivery = PerChannelDelivery(failing: [])
        let sink = RecordingSink()
        let s = service(delivery, sink: sink)
        let a = try await s.start(StartRequest(to: "0975000888", channel: .sms))
        let after = try await s.recordDeliveryReport(id: a.verification.id, DeliveryReport(outcome: .delivered, detail: "kannel 1 delivered to phone"))
        #expect(after.status == .pending)
        #expect(sink.events.last?.kind == .deliveryReport)
        #expect(sink.events.last?.detail == "delivered: kannel 1 delivered to phone")
        let b = try await s.start(StartRequest(to: "0975000889", channel: .sms))
        let failed = try await s.recordDeliveryReport(id: b.verification.id, DeliveryReport(outcome: .failed, detail: "smpp UNDELIV err:001"))
        #expect(failed.status == .failed)
        #expect(failed.failureReason == "delivery report: smpp UNDELIV err:001")
        // A late report on a finished verification is still recorded, without changing it.
        let late = try await s.recordDeliveryReport(id: b.verification.id, DeliveryReport(outcome: .failed, detail: "again"))
        #expect(late.status == .failed)
        #expect(sink.events.last?.kind == .deliveryReport)
        await #expect(throws: VerificationError.notFound) {
            _ = try await s.recordDeliveryReport(id: "VEnope", DeliveryReport(outcome: .delivered, detail: ""))
        }
    }
}
