// TrunkAddresses: the addresses the host names of trunks resolved to (RFC 3263 §4), which count as
// those trunks' source addresses for inbound calls (README "Connecting a trunk"). Written when a
// name is resolved (the refresh at its TTL, an outbound call, a qualify ping), read per INVITE.

import NIOCore
import Synchronization

/// The last resolved addresses of each trunk with a host name. Shared by every copy of the
/// `GatewayConfiguration` that holds it.
public final class TrunkAddresses: Sendable {
    private let table = Mutex<[String: Set<String>]>([:])

    /// An empty table.
    public init() {}

    /// Replaces `trunk`'s addresses by those of `targets` (kept as they are when `targets` is
    /// empty: a failed lookup keeps the last known addresses).
    public func update(_ trunk: String, _ targets: [SIPServerTarget]) {
        let addresses = Set(targets.compactMap(\.peer.address.ipAddress))
        guard !addresses.isEmpty else { return }
        table.withLock { $0[trunk] = addresses }
    }

    /// The addresses of `trunk` (IP text), empty when never resolved.
    public func addresses(of trunk: String) -> Set<String> {
        table.withLock { $0[trunk] ?? [] }
    }

    /// Whether a packet from `address` comes from one of `trunk`'s resolved addresses.
    public func contains(_ trunk: String, _ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        return table.withLock { $0[trunk]?.contains(ip) ?? false }
    }
}
