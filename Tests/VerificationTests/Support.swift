import Foundation
import Synchronization
@testable import Verification

/// A clock the test moves by hand.
final class TestClock: VerificationClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }
    func now() -> Date { lock.withLock { current } }
    func advance(_ seconds: Double) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

/// SplitMix64: a seeded, reproducible random source.
final class SeededRandom: RandomSource, @unchecked Sendable {
    private let lock = NSLock()
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    func next() -> UInt64 {
        lock.withLock {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// Records what would have been sent; can be told to fail or to have no gateway.
final class RecordingDelivery: CodeDelivery, @unchecked Sendable {
    private let lock = NSLock()
    private var _sent: [CodeMessage] = []
    var failWith: String? {
        get { lock.withLock { _fail } }
        set { lock.withLock { _fail = newValue } }
    }
    private var _fail: String?
    let gatewayAttached: Bool
    init(gatewayAttached: Bool = true) { self.gatewayAttached = gatewayAttached }
    var sent: [CodeMessage] { lock.withLock { _sent } }
    func isAvailable(_ channel: VerificationMethod) async -> Bool { channel.needsVoiceGateway ? gatewayAttached : true }
    func deliver(_ message: CodeMessage) async throws {
        if let reason = failWith { throw DeliveryFailure(reason: reason) }
        lock.withLock { _sent.append(message) }
    }
}

/// Records published events.
final class RecordingSink: VerificationEventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [VerificationEvent] = []
    var events: [VerificationEvent] { lock.withLock { _events } }
    func published(_ event: VerificationEvent, verification: Verification) async { lock.withLock { _events.append(event) } }
}

struct Harness {
    let clock = TestClock()
    let store = MemoryStore()
    let delivery: RecordingDelivery
    let sink = RecordingSink()
    let service: VerificationService

    init(policy: VerificationPolicy = VerificationPolicy(systemNumbers: ["+886229996666", "+886229996667"]), gateway: Bool = true, seed: UInt64 = 42) {
        delivery = RecordingDelivery(gatewayAttached: gateway)
        service = VerificationService(policy: policy, store: store, delivery: delivery, events: sink,
                                      secret: Array("test secret of thirty-two bytes!".utf8), clock: clock, random: SeededRandom(seed: seed))
    }

    /// The code of the last message sent.
    var lastCode: String { delivery.sent.last!.code }
}
