import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import VerificationServer
import VoiceGateway

/// The voice gateway as a service of `verigate serve` and `verigate gateway`: the SIP endpoint and
/// the call logic as sip.conf says, joined to the core over its socket, or (serve) in process.
struct GatewayRunner: Service {
    let endpoint: SIPEndpoint
    let gateway: VoiceGatewayService

    /// Opens the journal and the SIP endpoint; `media` (GatewayOptions.media: the prompts, checked
    /// before anything starts) nil serves missed calls only.
    static func start(conf: SIPConf, core: CoreTransport, media: GatewayMedia?, journal path: String, logger: Logger) async throws -> GatewayRunner {
        // The journal first: a gateway that cannot keep its outcomes must not take calls.
        let journal: OutcomeJournal
        do { journal = try OutcomeJournal(path: path, recoveredOutcomeIDPrefix: "\(conf.name)-recovered-\(UInt32.random(in: 0...UInt32.max))") } catch {
            configurationFailed("gateway journal: \(error)", logger: logger)
        }
        let endpoint = try await SIPEndpoint.start(conf.endpointConfiguration, logger: logger)
        let gateway = VoiceGatewayService(endpoint: endpoint, core: core, configuration: conf.gatewayConfiguration, media: media, journal: journal, logger: logger)
        return GatewayRunner(endpoint: endpoint, gateway: gateway)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await gateway.run() }
        await endpoint.shutdown()
        // How punctually RTP left over the whole run (the load scripts read this line).
        if let statistics = gateway.media?.statistics.snapshot {
            gateway.logger.notice("gateway.media.totals \(statistics)")
        }
    }
}
