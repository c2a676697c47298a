// GatewayRegistry: which voice gateways are attached to this core now, and which channels they serve.

import GatewayProtocol
import Synchronization
import Verification

/// The gateways connected (over the socket or in process); `ChannelRouter` asks it whether a call channel can be
/// used and hands it the outgoing calls (`originate`), spread round robin over the gateways.
public final class GatewayRegistry: Sendable {
    private struct Gateway: Sendable {
        var channels: Set<VerificationMethod>
        var systemNumbers: [String]
        var writer: (any GatewayOutbound)?
    }
    private let connected = Mutex<[Int: Gateway]>([:])
    private let nextID = Atomic<Int>(0)
    private let turn = Atomic<Int>(0)

    /// Makes an empty registry.
    public init() {}

    /// A gateway said hello with these channels; returns its registration (for `remove`).
    /// `systemNumbers` are kept only when they are E.164 numbers (`PhoneNumber`), normalized.
    func add(channels: [String], systemNumbers: [String] = [], writer: (any GatewayOutbound)? = nil) -> Int {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let set = Set(channels.compactMap(VerificationMethod.init(rawValue:)))
        let numbers = systemNumbers.compactMap { $0.hasPrefix("+") ? (try? PhoneNumber(parsing: $0, defaultRegion: "ZZ"))?.e164 : nil }
        connected.withLock { $0[id] = Gateway(channels: set, systemNumbers: numbers, writer: writer) }
        return id
    }

    /// The system numbers the connected gateways answer, each once, in registration order.
    public func systemNumbers() -> [String] {
        connected.withLock { gateways in
            var out: [String] = []
            for (_, gateway) in gateways.sorted(by: { $0.key < $1.key }) {
                for number in gateway.systemNumbers where !out.contains(number) { out.append(number) }
            }
            return out
        }
    }

    /// Sends `originate` to a gateway serving `channel`; throws `DeliveryFailure` when none is attached
    /// or the write fails.
    func originate(_ request: Originate, channel: VerificationMethod) async throws {
        let writers = connected.withLock { gateways in
            gateways.sorted { $0.key < $1.key }.compactMap { $0.value.channels.contains(channel) ? $0.value.writer : nil }
        }
        guard !writers.isEmpty else { throw DeliveryFailure(reason: "no voice gateway serves \(channel.rawValue)") }
        let writer = writers[turn.wrappingAdd(1, ordering: .relaxed).oldValue % writers.count]
        do {
            try writer.send(GatewayEnvelope(.originate(request)))
        } catch {
            throw DeliveryFailure(reason: "voice gateway unreachable")
        }
    }

    /// The gateway's connection closed.
    func remove(_ id: Int) {
        _ = connected.withLock { $0.removeValue(forKey: id) }
    }

    /// Whether some connected gateway serves `channel`.
    public func serves(_ channel: VerificationMethod) -> Bool {
        connected.withLock { gateways in gateways.values.contains { $0.channels.contains(channel) } }
    }

    /// How many gateways are connected.
    public var count: Int { connected.withLock { $0.count } }
}
