import Foundation
import GatewayProtocol
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing
import Verification
import VerificationServer

/// The core's gateway socket against raw clients (issue 15): a line over the limit, or one that is
/// no message, closes that connection (the server neither crashes, hangs nor buffers without end)
/// and the server goes on serving other gateways; a burst of outcomes is answered in full.
@Suite("Gateway socket framing against raw clients")
struct GatewaySocketFramingTests {
    /// A raw connection to the socket: what it received and whether the server closed it.
    struct RawClient {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

        static func connect(_ path: String) async throws -> RawClient {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
            return RawClient(channel: channel)
        }

        /// Sends `bytes`, then reads until the server closes the connection or `lines` lines came;
        /// the lines, and whether it was closed. Gives up (closing) after `limit`.
        func exchange(_ bytes: [UInt8], lines wanted: Int = .max, limit: Duration = .seconds(20)) async throws -> (lines: [String], closedByServer: Bool) {
            let channel = channel
            return try await withThrowingTaskGroup(of: ([String], Bool)?.self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        // The server may close while a long write is under way (that is what is tested).
                        try? await outbound.write(ByteBuffer(bytes: bytes))
                        var text = ""
                        var lines: [String] = []
                        do {
                            for try await buffer in inbound {
                                text += String(buffer: buffer)
                                while let newline = text.firstIndex(of: "\n") {
                                    lines.append(String(text[..<newline]))
                                    text = String(text[text.index(after: newline)...])
                                }
                                if lines.count >= wanted { return (lines, false) }
                            }
                        } catch {
                            // A reset by the server is a close too.
                        }
                        return (lines, !Task.isCancelled)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first ?? ([], false)
            }
        }
    }

    static let hello = GatewayEncoder().encode(GatewayEnvelope(.hello(Hello(gateway: "raw", channels: ["missed_call"])), id: 1))

    /// A core serving its gateway socket for `body`, stopped after it.
    private func withSocketServer(_ name: String, _ body: (TestCore) async throws -> Void) async throws {
        let test = try await TestCore.start(name, policy: VerificationPolicy(defaultRegion: "TW", systemNumbers: [MissedCallTests.systemNumber]))
        defer { test.removeDirectory() }
        let server = test.core.gatewaySocketServer(path: test.socket)
        let serving = Task { try await server.run() }
        #expect(try await eventuallyTrue { FileManager.default.fileExists(atPath: test.socket) })
        do {
            try await body(test)
        } catch {
            serving.cancel()
            try? await serving.value
            try? await test.store.shutdown()
            throw error
        }
        serving.cancel()
        try? await serving.value
        try await test.store.shutdown()
    }

    @Test("an over-long line, a malformed line, a wrong version: each closes its connection; the server serves the next gateway",
          arguments: [
            ("over-long without a newline", [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)),
            ("over-long with its newline", [UInt8](repeating: UInt8(ascii: "x"), count: 70_000) + [0x0A]),
            ("not JSON", Array("{this is not json\n".utf8)),
            ("wrong version", Array(#"{"v":99,"type":"hello","gateway":"x","channels":[]}"#.utf8) + [0x0A]),
          ])
    func badLineClosesConnection(_ attack: (name: String, bytes: [UInt8])) async throws {
        try await withSocketServer("framing") { test in
            // A hello first, answered; then the bad line: the connection closes, no further answer.
            let attacker = try await RawClient.connect(test.socket)
            let attacked = try await attacker.exchange(Self.hello + attack.bytes)
            #expect(attacked.closedByServer, "\(attack.name): the server must close the connection")
            #expect(attacked.lines.count <= 1, "\(attack.name): only the hello's answer, got \(attacked.lines)")
            #expect(attacked.lines.allSatisfy { $0.contains(#""type":"hello_ok""#) })
            // Its registration went with it.
            #expect(try await eventuallyTrue { test.core.gateways.count == 0 })

            // Another gateway is served as before.
            let honest = try await RawClient.connect(test.socket)
            let answered = try await honest.exchange(Self.hello, lines: 1)
            #expect(answered.lines.count == 1 && answered.lines[0].contains(#""type":"hello_ok""#) && answered.lines[0].contains(#""re":1"#), "\(answered)")
        }
    }

    @Test("a message of an unknown type (a newer gateway's) is skipped; the connection stays and answers the next")
    func unknownTypeSkipped() async throws {
        try await withSocketServer("framing-unknown") { test in
            let client = try await RawClient.connect(test.socket)
            let newer = Array(#"{"v":1,"type":"from_the_future","id":7}"#.utf8) + [0x0A]
            let answered = try await client.exchange(newer + Self.hello, lines: 1)
            #expect(answered.lines.count == 1 && answered.lines[0].contains(#""type":"hello_ok""#), "\(answered)")
        }
    }

    @Test("200 outcomes sent at once are each acknowledged once, through the coalescing writer")
    func coalescedAnswers() async throws {
        try await withSocketServer("framing-batch") { test in
            let client = try await RawClient.connect(test.socket)
            // 200 outcomes with no verification: each is acknowledged without a store write.
            let count = 200
            var bytes = Self.hello
            for index in 0..<count {
                bytes += GatewayEncoder().encode(GatewayEnvelope(.callEnded(CallEnded(outcomeID: "o\(index)", callID: "c\(index)", verificationID: nil, reason: .failed))))
            }
            let answered = try await client.exchange(bytes, lines: count + 1)
            let acked = Set(answered.lines.compactMap { line -> [String]? in
                guard case .ack(let ack)? = try? GatewayDecoder.decode(line: Data(line.utf8)).message else { return nil }
                return ack.outcomeIDs
            }.joined())
            #expect(acked == Set((0..<count).map { "o\($0)" }))
            #expect(answered.lines.count == count + 1, "one ack per outcome, no more")
        }
    }
}

/// The core's handling over `serve`'s in-process link: the same answers as on the socket, and the
/// same rule that an error answering a message closes that gateway's connection.
@Suite("Gateway handler over the in-process link")
struct GatewayInProcessLinkTests {
    /// Collects what the core sends the gateway, and the close.
    final class GatewayEnd: Sendable {
        let received = Mutex<[GatewayEnvelope]>([])
        let closed = Atomic<Bool>(false)
        var inbound: GatewayInbound {
            GatewayInbound(received: { envelope in self.received.withLock { $0.append(envelope) } }, closed: { self.closed.store(true, ordering: .relaxed) })
        }
    }

    @Test("hello is answered and registers the gateway; a store failure answering an outcome closes the link, unacknowledged")
    func answerFailureCloses() async throws {
        let test = try await TestCore.start("in-process", policy: VerificationPolicy(defaultRegion: "TW", systemNumbers: [MissedCallTests.systemNumber]))
        defer { test.removeDirectory() }
        let link = InProcessGatewayLink()
        let server = test.core.gatewayInProcessServer(link: link)
        let serving = Task { try await server.run() }
        #expect(try await eventuallyTrue { link.isListening })

        let gateway = GatewayEnd()
        let toCore = try link.connect(gateway.inbound)
        try toCore.send(GatewayEnvelope(.hello(Hello(gateway: "inproc", channels: ["missed_call"])), id: 1))
        #expect(try await eventuallyTrue { gateway.received.withLock { $0 }.contains { $0.inReplyTo == 1 } })
        #expect(test.core.gateways.count == 1)
        #expect(test.core.gateways.serves(.missedCall))

        // The store goes away: the outcome cannot be kept, so it must not be acknowledged, and the
        // link closes (the gateway reconnects and resends it).
        let started = try await test.core.service.start(StartRequest(to: "0975000888", channel: .missedCall)).verification.id
        try await test.store.shutdown()
        try toCore.send(GatewayEnvelope(.callProgress(CallProgress(outcomeID: "o1", callID: "c1", verificationID: started, state: .ringing))))
        #expect(try await eventuallyTrue { gateway.closed.load(ordering: .relaxed) })
        #expect(!gateway.received.withLock { $0 }.contains { if case .ack = $0.message { true } else { false } })
        #expect(test.core.gateways.count == 0)
        #expect(throws: GatewayLinkClosed()) { try toCore.send(GatewayEnvelope(.hello(Hello(gateway: "inproc", channels: [])), id: 2)) }

        serving.cancel()
        try? await serving.value
    }
}
