import Foundation
import NIOCore
import NIOPosix
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

/// Fast timers so Timer J, K, L, M end transactions within about a second.
let fastTimers = SIPTimers(t1: .milliseconds(20), t2: .milliseconds(160), t4: .milliseconds(200), timerDFloor: .milliseconds(640))

let loopbackAny = try! SocketAddress(ipAddress: "127.0.0.1", port: 0)

func startEndpoint(_ tweak: (inout SIPEndpointConfiguration) -> Void = { _ in }) async throws -> SIPEndpoint {
    var configuration = SIPEndpointConfiguration(udp: [loopbackAny], tcp: [loopbackAny], timers: fastTimers)
    tweak(&configuration)
    return try await SIPEndpoint.start(configuration)
}

let testSDP = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")

/// Waits until `condition` holds, checking every 20 ms, for at most `limit`.
func eventually(_ limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Both endpoints have no calls and no transactions left.
func drained(_ endpoints: SIPEndpoint...) async throws -> Bool {
    for endpoint in endpoints {
        let statistics = try await endpoint.statistics()
        if statistics.calls != 0 || statistics.serverTransactions != 0 || statistics.clientTransactions != 0 { return false }
    }
    return true
}

/// Collects a call's events until `.ended`.
func collect(_ call: SIPCall, onEvent: (SIPCallEvent) -> Void = { _ in }) async -> [SIPCallEvent] {
    var events: [SIPCallEvent] = []
    for await event in call.events {
        events.append(event)
        onEvent(event)
    }
    return events
}

/// A raw UDP socket for sending hand-written messages and reading what comes back.
final class UDPProbe: Sendable {
    let channel: Channel
    let datagrams: AsyncStream<String>

    private init(channel: Channel, datagrams: AsyncStream<String>) {
        self.channel = channel
        self.datagrams = datagrams
    }

    static func make() async throws -> UDPProbe {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(continuation: continuation)) }
            }
            .bind(to: loopbackAny).get()
        return UDPProbe(channel: channel, datagrams: stream)
    }

    var port: Int { channel.localAddress!.port! }

    func send(_ text: String, to address: SocketAddress) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(string: text.replacingOccurrences(of: "\n", with: "\r\n"))))
    }

    func close() async { try? await channel.close() }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let continuation: AsyncStream<String>.Continuation
        init(continuation: AsyncStream<String>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            continuation.yield(String(buffer: unwrapInboundIn(data).data))
        }
    }
}

/// The status line's code of a response text.
func statusCode(_ text: String?) -> Int? {
    guard let text, text.hasPrefix("SIP/2.0 ") else { return nil }
    return Int(text.dropFirst(8).prefix(3))
}

/// A request from the probe with the mandatory headers (§8.1.1).
func probeRequest(_ method: String, port: Int, branch: String, callID: String = "probe-call", extra: String = "", body: String = "") -> String {
    """
    \(method) sip:gw@127.0.0.1 SIP/2.0
    Via: SIP/2.0/UDP 127.0.0.1:\(port);branch=z9hG4bK\(branch);rport
    Max-Forwards: 70
    From: <sip:probe@127.0.0.1>;tag=probe
    To: <sip:gw@127.0.0.1>
    Call-ID: \(callID)
    CSeq: 1 \(method)
    Contact: <sip:probe@127.0.0.1:\(port)>
    \(extra.isEmpty ? "" : extra + "\n")Content-Length: \(body.utf8.count)

    \(body)
    """
}

/// The next datagram of the dialog or transaction with `callID` (retransmissions of other
/// transactions' responses are skipped).
/// The next reply that is not 100 Trying: the endpoint sends 100 when the application has not
/// answered within 200 ms (RFC 3261 §17.2.1), which a loaded test machine may take.
func nextNon100(_ iterator: inout AsyncStream<String>.Iterator) async -> String? {
    while let text = await iterator.next() {
        if statusCode(text) != 100 { return text }
    }
    return nil
}

func nextReply(_ iterator: inout AsyncStream<String>.Iterator, callID: String) async -> String? {
    while let text = await iterator.next() {
        if text.contains("Call-ID: \(callID)\r\n") { return text }
    }
    return nil
}
