import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import VoiceGateway

/// A raw TCP connection to the endpoint, collecting what comes back until the endpoint closes it.
private final class TCPProbe: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var received = ByteBuffer()
    let closed: EventLoopPromise<String>

    init(eventLoop: EventLoop) { closed = eventLoop.makePromise() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.succeed(String(buffer: received))
    }

    static func connect(to address: SocketAddress) async throws -> (Channel, TCPProbe) {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let probe = TCPProbe(eventLoop: eventLoop)
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(probe) } }
            .connect(to: address).get()
        return (channel, probe)
    }
}

@Suite("SIP over TCP (RFC 3261 §18.3)")
struct SIPTCPTransportTests {
    @Test("a request without Content-Length on a stream gets 400, then the connection is closed")
    func missingContentLength() async throws {
        let endpoint = try await startEndpoint()
        let (channel, probe) = try await TCPProbe.connect(to: await endpoint.tcpAddresses[0])
        let text = "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: tcp1\r\nCSeq: 1 OPTIONS\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: text))
        let reply = try await probe.closed.futureResult.get()
        #expect(statusCode(reply) == 400)
        #expect(reply.contains("Call-ID: tcp1"))
        await endpoint.shutdown()
    }

    @Test("two requests in one segment and one split across segments are all framed and answered")
    func framing() async throws {
        let endpoint = try await startEndpoint { $0.tcpIdleTimeout = .milliseconds(500) }
        let (channel, probe) = try await TCPProbe.connect(to: await endpoint.tcpAddresses[0])
        func options(_ n: Int) -> String {
            "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcpf\(n)\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: f\(n)\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        }
        try await channel.writeAndFlush(ByteBuffer(string: options(1) + options(2) + "\r\n\r\n"))
        let third = options(3)
        let cut = third.index(third.startIndex, offsetBy: 40)
        try await channel.writeAndFlush(ByteBuffer(string: String(third[..<cut])))
        try await channel.writeAndFlush(ByteBuffer(string: String(third[cut...])))
        // The idle timeout closes the connection after the answers; all three are in what came back.
        let replies = try await probe.closed.futureResult.get()
        for n in 1...3 { #expect(replies.contains("Call-ID: f\(n)\r\n")) }
        #expect(replies.components(separatedBy: "SIP/2.0 200 OK").count == 4)
        #expect(try await eventually { try await endpoint.statistics().tcpConnections == 0 })
        await endpoint.shutdown()
    }
}
