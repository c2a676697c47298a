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
    /// Completed once `expectedResponses` status lines have arrived.
    let answered: EventLoopPromise<String>
    var expectedResponses = Int.max

    init(eventLoop: EventLoop) {
        closed = eventLoop.makePromise()
        answered = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        let text = String(buffer: received)
        if text.components(separatedBy: "SIP/2.0 200 OK").count - 1 >= expectedResponses { answered.succeed(text) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.succeed(String(buffer: received))
        answered.fail(ChannelError.eof)
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
        let endpoint = try await startEndpoint()
        let (channel, probe) = try await TCPProbe.connect(to: await endpoint.tcpAddresses[0])
        try await channel.eventLoop.submit { probe.expectedResponses = 3 }.get()
        func options(_ n: Int) -> String {
            "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcpf\(n)\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: f\(n)\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        }
        try await channel.writeAndFlush(ByteBuffer(string: options(1) + options(2) + "\r\n\r\n"))
        let third = options(3)
        let cut = third.index(third.startIndex, offsetBy: 40)
        try await channel.writeAndFlush(ByteBuffer(string: String(third[..<cut])))
        try await channel.writeAndFlush(ByteBuffer(string: String(third[cut...])))
        let replies = try await probe.answered.futureResult.get()
        for n in 1...3 { #expect(replies.contains("Call-ID: f\(n)\r\n")) }
        #expect(try await endpoint.statistics().tcpConnections == 1)
        try await channel.close()
        await endpoint.shutdown()
    }

    @Test("an idle connection is closed by the endpoint after its idle timeout")
    func idleClose() async throws {
        let endpoint = try await startEndpoint { $0.tcpIdleTimeout = .milliseconds(200) }
        let (_, probe) = try await TCPProbe.connect(to: await endpoint.tcpAddresses[0])
        #expect(try await probe.closed.futureResult.get() == "")
        #expect(try await eventually { try await endpoint.statistics().tcpConnections == 0 })
        await endpoint.shutdown()
    }
}
