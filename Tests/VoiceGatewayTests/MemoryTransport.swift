// The deterministic test tier (docs/TESTING.md): a SIPEndpoint on a NIOAsyncTestingEventLoop over an
// in-memory transport. Time moves only when a test calls advanceTime, so RFC 3261 timers (A, B, G,
// H, ring time) fire exactly when the test says, with no sockets, sleeps or polling.

import Logging
import NIOCore
import NIOEmbedded
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

/// A SIP transport that records what the endpoint sends and lets the test deliver messages, all on
/// the endpoint's event loop.
final class MemoryTransport: SIPTransport {
    /// One message the endpoint sent, parsed back from its bytes.
    struct Sent: Sendable {
        var message: SIPMessage
        var to: SocketAddress

        /// `INVITE` for a request, `487 INVITE` (status and CSeq method) for a response.
        var summary: String {
            switch message {
            case .request(let request):
                request.method.description
            case .response(let response):
                "\(response.statusCode) \((try? response.headers.cseq().method.description) ?? "?")"
            }
        }

        /// The request, or nil for a response.
        var request: SIPRequest? {
            if case .request(let request) = message { request } else { nil }
        }

        /// The response, or nil for a request.
        var response: SIPResponse? {
            if case .response(let response) = message { response } else { nil }
        }
    }

    private struct Wire: Sendable {
        var bytes: ByteBuffer
        var to: SocketAddress
    }

    let transportProtocol: SIPTransportProtocol
    let localAddress: SocketAddress
    let loop: NIOAsyncTestingEventLoop
    private let outbox: NIOLoopBoundBox<[Wire]>
    private let sink: NIOLoopBoundBox<(any SIPTransportSink)?>
    /// Addresses sends to which fail, as a TCP dial to a closed port does: the message is dropped and
    /// the sink hears `sendFailed` on a later loop turn (as the TCP transport reports it).
    private let unreachable: NIOLoopBoundBox<Set<SocketAddress>>

    init(_ transportProtocol: SIPTransportProtocol = .udp, localAddress: SocketAddress, loop: NIOAsyncTestingEventLoop) {
        self.transportProtocol = transportProtocol
        self.localAddress = localAddress
        self.loop = loop
        self.outbox = NIOLoopBoundBox.makeBoxSendingValue([], eventLoop: loop)
        self.sink = NIOLoopBoundBox.makeEmptyBox(eventLoop: loop)
        self.unreachable = NIOLoopBoundBox.makeBoxSendingValue([], eventLoop: loop)
    }

    /// Makes every later send to `address` fail (see `unreachable`).
    func makeUnreachable(_ address: SocketAddress) async throws {
        try await loop.executeInContext { _ = self.unreachable.value.insert(address) }
    }

    /// The error a failed send reports.
    struct Refused: Error {}

    /// Connects the transport to the endpoint (the opener `SIPEndpoint.start` calls).
    func attach(_ sink: any SIPTransportSink) async throws {
        try await loop.executeInContext { self.sink.value = sink }
    }

    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        if unreachable.value.contains(address) {
            let peer = SIPPeer(transportProtocol, address)
            loop.execute { self.sink.value?.sendFailed(to: peer, error: Refused()) }
            return
        }
        outbox.value.append(Wire(bytes: buffer, to: address))
    }

    var connectionCount: Int { 0 }

    func close() async {
        try? await loop.executeInContext { self.sink.value = nil }
    }

    /// What the endpoint sent since the last call, oldest first.
    func takeSent() async throws -> [Sent] {
        let wires = try await loop.executeInContext {
            let wires = self.outbox.value
            self.outbox.value = []
            return wires
        }
        let parser = SIPMessageParser()
        return try wires.map { Sent(message: try parser.parseDatagram($0.bytes), to: $0.to) }
    }

    /// Delivers `message` from `source` as the wire would: serialized, parsed, handed to the endpoint.
    func receive(_ message: SIPMessage, from source: SocketAddress) async throws {
        var bytes = ByteBuffer()
        message.write(to: &bytes)
        let parsed = try SIPMessageParser().parseDatagram(bytes)
        let peer = SIPPeer(transportProtocol, source)
        try await loop.executeInContext { self.sink.value?.messageReceived(parsed, from: peer) }
    }

    /// Delivers a hand-written message (LF line ends become CRLF).
    func receive(_ text: String, from source: SocketAddress) async throws {
        let message = try SIPMessageParser().parseDatagram(ByteBuffer(string: text.replacingOccurrences(of: "\n", with: "\r\n")))
        try await receive(message, from: source)
    }
}

/// An endpoint on a manual clock with one in-memory UDP transport, and a phone at 127.0.0.1:5070.
struct DeterministicRig {
    let loop: NIOAsyncTestingEventLoop
    let transport: MemoryTransport
    let endpoint: SIPEndpoint
    let phone = try! SocketAddress(ipAddress: "127.0.0.1", port: 5070)
    let timers = SIPTimers.rfc3261

    /// Starts the endpoint with RFC 3261 timers (T1 = 500 ms), adjusted by `tweak`.
    static func start(_ tweak: (inout SIPEndpointConfiguration) -> Void = { _ in }) async throws -> DeterministicRig {
        let loop = NIOAsyncTestingEventLoop()
        let transport = MemoryTransport(localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 5060), loop: loop)
        var configuration = SIPEndpointConfiguration(udp: [], tcp: [], timers: .rfc3261)
        tweak(&configuration)
        let endpoint = try await SIPEndpoint.start(
            configuration, on: loop, logger: Logger(label: "test.sip"),
            transports: [{ sink in
                try await transport.attach(sink)
                return transport
            }]
        )
        return DeterministicRig(loop: loop, transport: transport, endpoint: endpoint)
    }

    /// Moves the clock by `duration`, running every timer due by then.
    func advance(_ duration: Duration) async {
        await loop.advanceTime(by: .nanoseconds(duration.nanoseconds))
    }

    /// The phone's URI and our From, for outgoing calls.
    var phoneURI: SIPAnyURI { .sip(SIPURI(user: "phone", host: "127.0.0.1", port: 5070)) }
    var caller: SIPNameAddress { SIPNameAddress(uri: .sip(SIPURI(user: "verigate", host: "127.0.0.1"))) }

    /// The phone's answer to `request`, with its tag and Contact (§12.1.1).
    func reply(to request: SIPRequest, _ statusCode: Int, sdp: ByteBuffer? = nil) -> SIPMessage {
        var response = SIPResponse(replyingTo: request, statusCode: statusCode, toTag: request.method == .invite ? "phone" : nil)
        response.headers.add(.contact, "<sip:phone@127.0.0.1:5070>")
        if let sdp { response.setBody(sdp, contentType: "application/sdp") }
        return .response(response)
    }

    /// Live calls and transactions.
    func statistics() async throws -> SIPEndpoint.Statistics { try await endpoint.statistics() }

    /// Ends the endpoint and the loop.
    func stop() async {
        await endpoint.shutdown()
        await loop.shutdownGracefully()
    }
}

extension SIPEndpoint.Statistics {
    /// Nothing left: no call, no transaction, no connection.
    static let idle = SIPEndpoint.Statistics(calls: 0, serverTransactions: 0, clientTransactions: 0, tcpConnections: 0)
}
