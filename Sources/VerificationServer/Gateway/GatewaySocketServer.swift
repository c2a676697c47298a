// GatewaySocketServer: the core's end of the gateway socket (docs/ARCHITECTURE.md "Gateway ↔ core link"):
// newline-delimited JSON over a Unix domain socket, many gateways at once. Lines are framed by
// GatewayLineDecoder in the pipeline, answers leave through GatewayLineWriter (several at once in
// one write); what the messages mean is GatewayHandler's, shared with the in-process link.

import Foundation
import GatewayProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Serves gateways on a Unix domain socket: hello, inbound calls, keyed digits, call outcomes.
public struct GatewaySocketServer: Service {
    /// The socket path (created 0600; an old socket file is replaced).
    public let path: String
    /// What the messages mean (shared with the in-process link's server).
    public var handler: GatewayHandler
    let logger: Logger
    /// The longest line accepted from a gateway; a longer one closes its connection.
    public var maxLineLength = 65_536
    /// Inbound-call decisions in progress at most; more are refused at once (503 to the caller).
    public var maxDecisionsInFlight: Int {
        get { handler.maxDecisionsInFlight }
        set { handler.maxDecisionsInFlight = newValue }
    }

    /// Makes the server for `handler`.
    public init(path: String, handler: GatewayHandler, logger: Logger) {
        self.path = path
        self.handler = handler
        self.logger = logger
    }

    /// Listens until cancelled (graceful shutdown of the service group); then waits for the answers
    /// in progress.
    public func run() async throws {
        let maxLineLength = maxLineLength
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(GatewayLineDecoder(maxLineLength: maxLineLength)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(path, 0o600)
        logger.info("gateway.socket.listening", metadata: ["path": "\(path)"])
        let connections = TaskTracker()
        // Each connection is a task of `connections`; the listener's failure is thrown once they ended.
        let failure: (any Error)? = await withGracefulShutdownHandler {
            do {
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.spawn { await self.serve(connection) }
                    }
                }
                return nil
            } catch is CancellationError {
                return nil
            } catch {
                return error
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        await connections.waitUntilIdle()
        await handler.answers.waitUntilIdle()
        if let failure { throw failure }
    }

    /// One gateway's connection: each line decoded and handed to the handler, until it closes. A
    /// line too long or not a message closes it (after a log line saying why); a message of a type
    /// this build does not know (a newer gateway) is skipped.
    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let writer = GatewayLineWriter(channel: connection.channel)
        let inbound = handler.connected(writer, transport: "socket")
        defer { inbound.closed() }
        do {
            try await connection.executeThenClose { lines, _ in
                try await GatewayDecoder.messages(in: lines, skipped: { error in
                    logger.warning("gateway.socket.unknown_type", metadata: ["error": "\(error)"])
                }) { inbound.received($0) }
            }
        } catch let error as GatewayProtocolError {
            // Too long (from the decoder in the pipeline) or not a message: this peer does not speak
            // the protocol, or lost a byte; nothing after it can be trusted to be framed right.
            logger.warning("gateway.socket.bad_line", metadata: ["error": "\(error)", "action": "closing the connection"])
        } catch {
            logger.info("gateway.socket.closed", metadata: ["error": "\(error)"])
        }
    }
}
