// GatewayRegistry: which voice gateways are attached to this core now, and which channels they serve.

import Synchronization
import Verification

/// The gateways connected over the socket; `ChannelRouter` asks it whether a call channel can be used.
public final class GatewayRegistry: Sendable {
    private let connected = Mutex<[Int: Set<Channel>]>([:])
    private let nextID = Atomic<Int>(0)

    /// Makes an empty registry.
    public init() {}

    /// A gateway said hello with these channels; returns its registration (for `remove`).
    func add(channels: [String]) -> Int {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let set = Set(channels.compactMap(Channel.init(rawValue:)))
        connected.withLock { $0[id] = set }
        return id
    }

    /// The gateway's connection closed.
    func remove(_ id: Int) {
        _ = connected.withLock { $0.removeValue(forKey: id) }
    }

    /// Whether some connected gateway serves `channel`.
    public func serves(_ channel: Channel) -> Bool {
        connected.withLock { gateways in gateways.values.contains { $0.contains(channel) } }
    }

    /// How many gateways are connected.
    public var count: Int { connected.withLock { $0.count } }
}
