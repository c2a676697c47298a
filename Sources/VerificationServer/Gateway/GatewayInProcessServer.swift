// GatewayInProcessServer: the core's end of `verigate serve`'s own link to its gateway (docs/ARCHITECTURE.md
// "Gateway ↔ core link"): the gateway's messages arrive as values through InProcessGatewayLink, no
// JSON and no socket, and GatewayHandler answers them exactly as it answers the socket's.

import GatewayProtocol
import Logging
import ServiceLifecycle

/// Serves the gateway of the same process on `link`.
public struct GatewayInProcessServer: Service {
    /// Where the gateway connects.
    public let link: InProcessGatewayLink
    /// What the messages mean (shared with the socket's server).
    public var handler: GatewayHandler
    let logger: Logger

    /// Makes the server for `handler` on `link`.
    public init(link: InProcessGatewayLink, handler: GatewayHandler, logger: Logger) {
        self.link = link
        self.handler = handler
        self.logger = logger
    }

    /// Accepts the gateway until graceful shutdown (or cancellation), then waits for the answers in
    /// progress (cancelled, they end sooner).
    public func run() async throws {
        let handler = handler
        link.listen { outbound in handler.connected(outbound, transport: "in_process") }
        logger.info("gateway.in_process.listening")
        try? await gracefulShutdown()
        link.stopListening()
        await handler.answers.waitUntilIdle()
    }
}
