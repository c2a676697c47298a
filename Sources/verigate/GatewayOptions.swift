import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VerificationServer
import VoiceGateway

/// The voice gateway's options, shared by `verigate serve` and `verigate gateway`.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's telephony settings, sip.conf (see sip.conf.example) (env VERIGATE_SIP_CONFIG). Default: none, safe loopback defaults.")
    var sipConfig: String = env("SIP_CONFIG") ?? ""

    @Option(help: "Folder of the call prompts, one sub-folder of 8 kHz WAVs per locale (env VERIGATE_PROMPTS).")
    var prompts: String = env("PROMPTS") ?? "prompts"

    @Option(help: "The gateway's outcome journal: outcomes the core has not acknowledged and calls running, kept across gateway restarts (env VERIGATE_GATEWAY_JOURNAL). Default: gateway.journal next to the gateway socket.")
    var journal: String = env("GATEWAY_JOURNAL") ?? ""

    /// The journal path: `--journal`, else `gateway.journal` in the socket's folder.
    func journalPath(socket: String) -> String {
        journal.isEmpty ? ((socket as NSString).deletingLastPathComponent as NSString).appendingPathComponent("gateway.journal") : journal
    }

    /// sip.conf (or the defaults with no file), with `region` as the default region and `sipAddress`
    /// (host:port) replacing its bind addresses. A mistake exits with 78 and `file:line: message`.
    func load(region: String, sipAddress: String?, logger: Logger) -> SIPConf {
        var defaults = SIPConf()
        defaults.region = region
        defaults.peers = defaults.peers.map { var peer = $0; peer.region = region; return peer }
        var conf: SIPConf
        do {
            conf = sipConfig.isEmpty ? defaults : try SIPConf.load(path: sipConfig, defaults: defaults)
        } catch {
            configurationFailed(error.description, logger: logger)
        }
        if let sipAddress {
            do { conf.bind = [try Self.address(sipAddress)] } catch { configurationFailed("\(error)", logger: logger) }
        }
        return conf
    }

    /// `host:port` (IPv6 in brackets) as a socket address; errors name `option`.
    static func address(_ text: String, option: String = "--sip-address") throws -> SocketAddress {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!), (0...65535).contains(port) else {
            throw ValidationError("\(option) must be host:port\(option == "--sip-address" ? " or off" : ""), got \(text)")
        }
        let host = parts.dropLast().joined(separator: ":").trimmingCharacters(in: ["[", "]"])
        do { return try SocketAddress(ipAddress: host, port: port) } catch {
            throw ValidationError("\(option) needs a literal IP address, got \(host)")
        }
    }
}

/// `verigate core`: the verification core alone, with the gateway socket for gateways in other processes.
struct CoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core", abstract: "Run the verification core alone; voice gateways attach to its --gateway-socket (verigate gateway).")

    @OptionGroup var core: CoreOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await core.run(logger: log.logger())
    }
}

/// `verigate gateway`: the voice gateway alone, attached to a core's socket.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "Run the voice gateway alone (SIP and RTP per --sip-config), attached to a core's socket (verigate core).")

    @Option(help: "The core's gateway socket (env VERIGATE_CORE_SOCKET).")
    var coreSocket: String = env("CORE_SOCKET") ?? "./data/gateway.sock"

    @Option(help: "Serve GET /metrics (calls, RTP) at this host:port (env VERIGATE_GATEWAY_METRICS_ADDRESS). Default: none.")
    var metricsAddress: String = env("GATEWAY_METRICS_ADDRESS") ?? ""

    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.logger()
        let conf = gatewayOptions.load(region: SIPConf().region, sipAddress: nil, logger: logger)
        var metricsEndpoint: (host: String, port: Int, token: String?)?
        if !metricsAddress.isEmpty {
            do {
                let address = try GatewayOptions.address(metricsAddress, option: "--metrics-address")
                metricsEndpoint = (address.ipAddress ?? "127.0.0.1", address.port ?? 0, try metrics.token())
                if let endpoint = metricsEndpoint, endpoint.token == nil, !isLoopback(host: endpoint.host) {
                    throw ConfigurationError("GET /metrics on --metrics-address \(metricsAddress), reachable from the network, needs --metrics-token (16 or more characters), or listen on loopback")
                }
            } catch {
                configurationFailed("\(error)", logger: logger)
            }
        }
        let runner = try await GatewayRunner.start(conf: conf, coreSocket: coreSocket, promptsDirectory: gatewayOptions.prompts,
                                                   journal: gatewayOptions.journalPath(socket: coreSocket), logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: runner)]
        if let metricsEndpoint {
            // The gateway's own /metrics: its counters on a registry of their own.
            let registry = ServerMetrics()
            let gatewayMetrics = GatewayMetrics(registry: registry.registry, calls: runner.gateway.calls, media: runner.gateway.media?.statistics)
            registry.addCollector { gatewayMetrics.collect() }
            let router = Router()
            registry.addRoute(to: router, token: metricsEndpoint.token)
            services.append(.init(service: Application(
                router: router, configuration: .init(address: .hostname(metricsEndpoint.host, port: metricsEndpoint.port), serverName: "verigate-gateway"),
                logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("verigate gateway serving", metadata: ["core-socket": .string(coreSocket), "sip": .string(conf.bind.map { "\($0)" }.joined(separator: ","))])
        try await group.run()
    }
}
