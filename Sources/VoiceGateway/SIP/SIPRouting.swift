// SIPRouting: the address rules of RFC 3261 §18.1.1 and §18.2.1–18.2.2 with RFC 3581 (rport), as pure
// functions over values so they are tested without sockets.

import NIOCore
import SIPMessage

/// Address rules for received requests, responses and new requests.
public enum SIPRouting {
    /// Stamps the top Via of a received request (§18.2.1, RFC 3581 §4): `received` when the sent-by
    /// host is not the packet's source address (or when rport was asked for), and `rport` filled with
    /// the source port when the client sent an empty `rport`.
    public static func stampReceived(_ request: inout SIPRequest, from source: SocketAddress) {
        guard var via = try? request.headers.topVia(), let sourceIP = source.ipAddress else { return }
        let wantsRport = via.rport == .some(nil)
        if wantsRport, let port = source.port { via.parameters.set("rport", String(port)) }
        if wantsRport || normalized(via.host) != normalized(sourceIP) { via.received = sourceIP }
        request.headers.removeFirst(.via)
        request.headers.addFirst(.via, via.description)
    }

    /// Where to send a response over UDP (§18.2.2, RFC 3581 §4): to `received` (else the sent-by host)
    /// at the `rport` value (else the sent-by port, else 5060). Nil when the address is not a literal IP
    /// (§18.2.2's DNS procedure of RFC 3263 is not done; `stampReceived` always gives a literal for
    /// requests we received).
    public static func responseDestination(topVia via: SIPVia) -> SocketAddress? {
        let host = via.received ?? via.host
        let port: Int = {
            if case .some(.some(let rport)) = via.rport { return rport }
            return via.port ?? 5060
        }()
        return try? SocketAddress(ipAddress: normalized(host), port: port)
    }

    /// Where to send a new request (§18.1.1 with §8.1.2): the first Route's URI when there is one,
    /// else the Request-URI; transport from its `transport` parameter (UDP by default); `maddr` wins over
    /// the host. Only literal IPs and `localhost` are resolved here (RFC 3263 DNS is left to an
    /// outbound proxy). Nil for a non-SIP URI or a host that is not an IP.
    public static func requestDestination(requestURI: SIPAnyURI, routes: [SIPNameAddress]) -> SIPPeer? {
        let target = routes.first?.uri ?? requestURI
        guard let uri = target.sipURI else { return nil }
        let transport = SIPTransportProtocol(uri: uri)
        var host = normalized(uri.maddr ?? uri.host)
        if host == "localhost" { host = "127.0.0.1" }
        guard let address = try? SocketAddress(ipAddress: host, port: uri.port ?? (transport == .tls ? 5061 : 5060)) else { return nil }
        return SIPPeer(transport, address)
    }

    /// The host without IPv6 brackets, lowercased.
    static func normalized(_ host: String) -> String {
        var text = host.lowercased()
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        return text
    }
}
