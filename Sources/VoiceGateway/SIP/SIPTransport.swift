// SIPTransport: what the endpoint needs of a transport (RFC 3261 §18): send a serialized message
// (with, over TLS, the name the server's certificate must show) to a peer, name the local address for Via and Contact, count connections, close. The NIO
// transports (SIPUDPTransport, SIPTCPTransport) implement it; the deterministic test tier
// (docs/TESTING.md) drives the endpoint over an in-memory one on a manual-clock event loop.

import NIOCore

/// A SIP transport the endpoint sends through (RFC 3261 §18.1.1, §18.2.2). Received messages go the
/// other way, to the `SIPTransportSink` the transport was opened with. Every member except `close()`
/// is called on the endpoint's event loop.
protocol SIPTransport: AnyObject, Sendable {
    /// UDP, TCP or TLS: the endpoint picks the transport whose protocol matches the peer's.
    var transportProtocol: SIPTransportProtocol { get }
    /// The bound local address (with the port picked for port 0), put in Via and Contact.
    var localAddress: SocketAddress { get }
    /// Sends one serialized message to `address` (§18.1.1: a datagram over UDP; over TCP the open
    /// connection to `address`, or a new one, §18.2.2).
    func send(_ buffer: ByteBuffer, to address: SocketAddress)
    /// `send(_:to:)` where a new TLS connection must verify that the server's certificate names
    /// `serverName` (RFC 5922 §7.2); transports without TLS ignore the name.
    func send(_ buffer: ByteBuffer, to address: SocketAddress, serverName: String?)
    /// Open connections (zero for connectionless transports), for `SIPEndpoint.statistics()`.
    var connectionCount: Int { get }
    /// Stops listening and closes every socket. Called off the loop, once.
    func close() async
}

extension SIPTransport {
    /// Transports without TLS have no server name to check.
    func send(_ buffer: ByteBuffer, to address: SocketAddress, serverName: String?) {
        send(buffer, to: address)
    }
}
