import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Synchronization
import Testing
@testable import GatewayProtocol

/// The link's transports and its task tracking (issue 15): lines framed by a decoder with a limit
/// (NIO's own verifier), several messages in one write, the in-process link passing values, and
/// tasks cancelled and awaited without a task group.
@Suite("Gateway link: framing, coalesced writes, in-process link, task tracking")
struct GatewayLinkTests {
    static func buffer(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }

    @Test("GatewayLineDecoder passes NIO's ByteToMessageDecoderVerifier (drip-fed, batched, whole)")
    func verifier() throws {
        let hello = String(decoding: GatewayEncoder().encode(GatewayCodingTests.samples[0]), as: UTF8.self)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (Self.buffer(hello), [Self.buffer(String(hello.dropLast()))]),
                (Self.buffer("a\nbc\n"), [Self.buffer("a"), Self.buffer("bc")]),
                (Self.buffer("\n"), [Self.buffer("")]),
                (Self.buffer(String(repeating: "x", count: 100) + "\n"), [Self.buffer(String(repeating: "x", count: 100))]),
            ],
            decoderFactory: { GatewayLineDecoder(maxLineLength: 100) })
    }

    @Test("a line over the limit is refused, with or without its newline, not buffered without end")
    func lineTooLong() throws {
        var decoder = GatewayLineDecoder(maxLineLength: 16)
        var whole = Self.buffer(String(repeating: "x", count: 17) + "\n")
        #expect(throws: GatewayProtocolError(.lineTooLong, "line of 17 bytes, limit 16")) { try decoder.decode(buffer: &whole) }
        var endless = GatewayLineDecoder(maxLineLength: 16)
        var partial = Self.buffer(String(repeating: "y", count: 10))
        #expect(try endless.decode(buffer: &partial) == nil)
        partial.writeString(String(repeating: "y", count: 10))
        #expect(throws: GatewayProtocolError(.lineTooLong, "line over 16 bytes without a newline")) { try endless.decode(buffer: &partial) }
    }

    @Test("the decoder in a pipeline: an over-long line reaches the channel as an error")
    func decoderInPipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(GatewayLineDecoder(maxLineLength: 8)))
        try channel.writeInbound(Self.buffer("ok\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == Self.buffer("ok"))
        #expect(throws: GatewayProtocolError.self) { try channel.writeInbound(Self.buffer("far too long for it\n")) }
        _ = try? channel.finish()
    }

    @Test("messages sent together leave in one write with one flush; after the close, send throws")
    func coalescedWrites() throws {
        let channel = EmbeddedChannel()
        let writer = GatewayLineWriter(channel: channel)
        let messages = Array(GatewayCodingTests.samples.prefix(3))
        for message in messages { try writer.send(message) }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing written before the loop runs")
        channel.embeddedEventLoop.run()
        var written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "one write for the three")
        var decoder = GatewayLineDecoder()
        var decoded: [GatewayEnvelope] = []
        while let line = try decoder.decode(buffer: &written) { decoded.append(try #require(try GatewayDecoder.decode(line: line))) }
        #expect(decoded == messages)

        // A second batch after the first went out is a second write.
        try writer.send(GatewayCodingTests.samples[3])
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)

        writer.close()
        channel.embeddedEventLoop.run()
        #expect(throws: GatewayLinkClosed()) { try writer.send(GatewayCodingTests.samples[4]) }
    }

    /// Collects what one end of an in-process connection receives.
    final class End: Sendable {
        let received = Mutex<[GatewayEnvelope]>([])
        let closes = Atomic<Int>(0)
        var inbound: GatewayInbound {
            GatewayInbound(received: { envelope in self.received.withLock { $0.append(envelope) } },
                           closed: { self.closes.wrappingAdd(1, ordering: .relaxed) })
        }
    }

    @Test("in process: refused with nobody listening; values both ways, in order; a close reaches both ends once")
    func inProcess() throws {
        let link = InProcessGatewayLink()
        #expect(throws: GatewayLinkClosed()) { try link.connect(End().inbound) }

        let core = End()
        let toGateway = Mutex<(any GatewayOutbound)?>(nil)
        link.listen { outbound in
            toGateway.withLock { $0 = outbound }
            return core.inbound
        }
        let gateway = End()
        let toCore = try link.connect(gateway.inbound)
        let questions = Array(GatewayCodingTests.samples.prefix(3))
        for question in questions { try toCore.send(question) }
        #expect(core.received.withLock { $0 } == questions)
        let answer = GatewayCodingTests.samples[1]
        try #require(toGateway.withLock { $0 }).send(answer)
        #expect(gateway.received.withLock { $0 } == [answer])

        toCore.close()
        toCore.close()
        let closes = (core.closes.load(ordering: .relaxed), gateway.closes.load(ordering: .relaxed))
        #expect(closes == (1, 1))
        #expect(throws: GatewayLinkClosed()) { try toCore.send(answer) }
        #expect(throws: GatewayLinkClosed()) { try toGateway.withLock { $0 }!.send(answer) }

        link.stopListening()
        #expect(throws: GatewayLinkClosed()) { try link.connect(End().inbound) }
    }

    @Test("TaskTracker: cancelAndWait cancels running tasks and returns once they ended; later ones start cancelled")
    func tracker() async throws {
        let tracker = TaskTracker()
        let ended = Atomic<Int>(0)
        let started = AsyncStream<Void>.makeStream()
        for _ in 0..<100 {
            tracker.spawn {
                started.continuation.yield()
                // Ends only when cancelled.
                try? await Task.sleep(for: .seconds(3_600))
                ended.wrappingAdd(1, ordering: .relaxed)
            }
        }
        var count = 0
        for await _ in started.stream {
            count += 1
            if count == 100 { break }
        }
        #expect(tracker.count == 100)
        await tracker.cancelAndWait()
        let endedCount = ended.load(ordering: .relaxed)
        #expect(endedCount == 100)
        #expect(tracker.count == 0)

        let sawCancel = Atomic<Bool>(false)
        tracker.spawn { sawCancel.store(Task.isCancelled, ordering: .relaxed) }
        await tracker.waitUntilIdle()
        let cancelled = sawCancel.load(ordering: .relaxed)
        #expect(cancelled)
    }
}
