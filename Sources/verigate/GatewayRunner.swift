import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import VerificationServer
import VoiceGateway

/// The voice gateway as a service of `verigate serve`: the SIP endpoint on `--sip-address` and the
/// call logic, joined to the core over the gateway socket.
struct GatewayRunner: Service {
    let endpoint: SIPEndpoint
    let gateway: VoiceGatewayService

    static func start(sipAddress: String, coreSocket: String, region: String, promptsDirectory: String, logger: Logger) async throws -> GatewayRunner {
        let parts = sipAddress.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!), (0...65535).contains(port) else {
            throw ConfigurationError("--sip-address must be host:port or off, got \(sipAddress)")
        }
        let host = parts.dropLast().joined(separator: ":").trimmingCharacters(in: ["[", "]"])
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: host, port: port) } catch {
            throw ConfigurationError("--sip-address needs a literal IP address, got \(host)")
        }
        let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [address], tcp: [address]), logger: logger)
        // Answered calls need the prompts; without them the gateway still serves missed calls.
        var media: GatewayMedia?
        do {
            let rtpHost = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
            media = try GatewayMedia(promptsDirectory: URL(fileURLWithPath: promptsDirectory), host: rtpHost)
        } catch {
            logger.warning("gateway.prompts_unavailable", metadata: ["directory": "\(promptsDirectory)", "error": "\(error)"])
        }
        let gateway = VoiceGatewayService(endpoint: endpoint, coreSocket: coreSocket, configuration: GatewayConfiguration(region: region), media: media, logger: logger)
        return GatewayRunner(endpoint: endpoint, gateway: gateway)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await gateway.run() }
        await endpoint.shutdown()
    }
}
