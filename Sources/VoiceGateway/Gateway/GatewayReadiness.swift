// GatewayReadiness: whether a gateway can take calls as configured — joined to its core, and every
// `register = yes` trunk registered (RFC 3261 §10) — served as `GET /healthz` next to the gateway's
// `/metrics` (README "Connecting a trunk", "Operations"). A trunk that fails to register keeps the
// gateway serving its other trunks and peers; readiness only says so.

/// The readiness of one gateway at one moment.
public struct GatewayReadiness: Sendable, Equatable, Encodable {
    /// One registering trunk's state.
    public struct TrunkState: Sendable, Equatable, Encodable {
        /// Whether its last REGISTER was accepted and has not expired.
        public var registered: Bool
        /// Why it is not registered (`status 403`, `timeout`, …); nil when registered or not tried yet.
        public var failure: String?
    }

    /// Whether the gateway socket to the core is up.
    public var core: Bool
    /// Every registering trunk by name.
    public var trunks: [String: TrunkState]

    /// Ready: the core is joined and every registering trunk is registered.
    public var ready: Bool { core && trunks.values.allSatisfy(\.registered) }

    /// The state of `gateway` now.
    public init(_ gateway: VoiceGatewayService) {
        core = gateway.link.isConnected
        trunks = Dictionary(uniqueKeysWithValues: gateway.registrations.map { registration in
            (registration.trunk.name, TrunkState(registered: registration.isRegistered, failure: registration.failure?.description))
        })
    }

    /// Makes a readiness report from its parts.
    public init(core: Bool, trunks: [String: TrunkState]) {
        self.core = core
        self.trunks = trunks
    }

    private enum CodingKeys: String, CodingKey { case ready, core, trunks }

    /// `{"ready": …, "core": …, "trunks": {name: {"registered": …, "failure": …}}}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ready, forKey: .ready)
        try container.encode(core, forKey: .core)
        try container.encode(trunks, forKey: .trunks)
    }
}
