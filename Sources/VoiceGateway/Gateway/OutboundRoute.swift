// OutboundRoute: sip.conf `route = <E.164 prefix> -> trunk[, trunk…]` lines and the choice among
// them (longest prefix wins), with `outbound_target` as the simplest route of all. The failover
// along a route's trunks happens in OutboundCall.swift; the choice here is a pure value.

import SIPMessage
import SIPStack

/// One `route` line: numbers starting with `prefix` go to `trunks`, in order.
public struct OutboundRoute: Sendable, Equatable {
    /// An E.164 prefix with `+` (`+886`, `+8862`); `+` alone matches every number.
    public var prefix: String
    /// Trunk names, tried in order: the next when one answers 503, 408, times out or fails to send.
    public var trunks: [String]

    /// Makes a route.
    public init(prefix: String, trunks: [String]) {
        self.prefix = prefix
        self.trunks = trunks
    }
}

/// Where one attempt of an outgoing call goes.
public struct OutboundAttempt: Sendable, Equatable {
    /// The trunk's name; nil for `outbound_target`.
    public var trunk: String?
    /// The Request-URI (and To), the number in the trunk's format.
    public var uri: SIPAnyURI
    /// The next hop (an outbound proxy or the trunk's address); nil: from the Request-URI.
    public var destination: SIPPeer?
    /// The From user.
    public var fromUser: String
    /// The From host; nil: our media address.
    public var fromDomain: String?
    /// Digest credentials for the trunk's 401/407 (RFC 3261 §22.2); nil: none.
    public var credentials: DigestClient?
    /// The trunk's host is a name: `destination` is found when this attempt's turn comes, by
    /// `SIPServerLocator.nextHops(for:)`, and the attempt becomes one per target (`expanded(over:)`).
    public var resolvesHost = false

    /// This attempt once per DNS target, in the targets' order (RFC 3263 §4.3: on 503, 408/timeout
    /// or a transport error the next target is tried, then the route's next trunk); the
    /// Request-URI and To keep the host name, only the destination changes.
    public func expanded(over targets: [SIPServerTarget]) -> [OutboundAttempt] {
        targets.map { target in
            var attempt = self
            attempt.destination = target.peer
            attempt.resolvesHost = false
            return attempt
        }
    }
}

extension GatewayConfiguration {
    /// The route for `number` (E.164): the longest matching prefix, nil when none matches.
    public func route(for number: String) -> OutboundRoute? {
        routes.filter { number.hasPrefix($0.prefix) }.max { $0.prefix.count < $1.prefix.count }
    }

    /// The attempts for calling `number` (E.164), in order: the trunks of its route (one attempt
    /// each; a trunk whose host is a name has `resolvesHost` and no destination yet), else
    /// `outbound_target` alone; empty when neither applies.
    public func outboundAttempts(for number: String) -> [OutboundAttempt] {
        if let route = route(for: number) {
            return route.trunks.compactMap { name in
                guard let trunk = trunks.first(where: { $0.name == name }), let uri = trunk.requestURI(calling: number) else { return nil }
                let credentials = trunk.password.map { DigestClient(username: trunk.authUsername ?? trunk.username ?? "", password: $0) }
                return OutboundAttempt(trunk: trunk.name, uri: uri, destination: trunk.nextHop, fromUser: trunk.fromUser ?? outboundCallerID, fromDomain: trunk.fromDomain,
                                       credentials: credentials, resolvesHost: trunk.nextHop == nil)
            }
        }
        guard let template = outboundTarget, let uri = try? SIPAnyURI(parsing: template.replacingOccurrences(of: "{number}", with: number)) else { return [] }
        return [OutboundAttempt(trunk: nil, uri: uri, destination: nil, fromUser: outboundCallerID, fromDomain: nil)]
    }

    /// Whether a failed attempt that ended with `end` passes the call to the route's next trunk:
    /// 503 (RFC 3261 §21.5.4), 408 or no response (§17.1.1.2), a transport error (§8.1.3.1).
    public static func triesNextTrunk(after end: SIPCallEnd) -> Bool {
        switch end {
        case .failed(let status, _): status == 503 || status == 408
        case .timeout, .transportError: true
        default: false
        }
    }
}
