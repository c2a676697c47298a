import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VerificationServer
import VoiceGateway

/// The voice gateway's options, shared by `verigate serve` and `verigate gateway`; typed as the
/// core's are (OptionValues.swift): flag, else `VERIGATE_*` variable, else default.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's telephony settings, sip.conf (see sip.conf.example) (env VERIGATE_SIP_CONFIG). Default: none, safe loopback defaults.")
    var sipConfig: String?

    @Option(help: "Folder of the call prompts, one sub-folder of 8 kHz WAVs per locale, or off for a gateway that serves missed calls only (env VERIGATE_PROMPTS). Default: the first that exists of <executable dir>/../share/verigate/prompts and ./prompts.")
    var prompts: String?

    @Option(help: "The gateway's outcome journal: outcomes the core has not acknowledged and calls running, kept across gateway restarts (env VERIGATE_GATEWAY_JOURNAL). Default: gateway.journal next to the gateway socket.")
    var journal: String?

    @Option(help: "SIP over TLS listen address host:port (overrides sip.conf's tls_bind; the certificate and key come from sip.conf's tls_certificate and tls_private_key) (env VERIGATE_SIP_TLS_ADDRESS). Default: sip.conf's tls_bind, else no TLS.", transform: HostPort.init(option:))
    var sipTLSAddress: HostPort?

    /// Where the prompts are looked for when neither `--prompts` nor `VERIGATE_PROMPTS` names a
    /// folder, in order: an installed binary's `<prefix>/share/verigate/prompts`, then `./prompts`
    /// (a checkout, `make run`).
    static func defaultPromptsCandidates() -> [String] {
        [InstallLayout.shareDirectory?.appendingPathComponent("prompts").path, "./prompts"].compactMap { $0 }
    }

    /// The gateway's media with its prompts (`--prompts`, `VERIGATE_PROMPTS`, else the first of
    /// `defaultPromptsCandidates()` that exists), or nil for `off` (missed calls only, said in
    /// the log). A folder that does not exist, or lacks a prompt a locale needs (every locale
    /// folder must be complete, and `en` and sip.conf's `prompt_locale` must be there), exits 78
    /// naming the folder and what is missing: never a silent fall back to missed calls only.
    func media(conf: SIPConf, logger: Logger) -> GatewayMedia? {
        let given: String?
        do { given = try Settings.resolve(prompts, "PROMPTS") } catch { configurationFailed("\(error)", logger: logger) }
        if given == "off" {
            logger.notice("gateway.prompts.off", metadata: ["channels": "missed_call"])
            return nil
        }
        let candidates = Self.defaultPromptsCandidates()
        guard let directory = given ?? candidates.first(where: Self.isDirectory) else {
            configurationFailed("no call prompts found in \(listing(candidates)): give --prompts <folder> (VERIGATE_PROMPTS), or --prompts off for a gateway that serves missed calls only", logger: logger)
        }
        let absolute = directory.hasPrefix("/") ? directory : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(directory)
        let folder = URL(fileURLWithPath: absolute).standardizedFileURL
        guard Self.isDirectory(folder.path) else {
            configurationFailed("prompts folder \(folder.path) (--prompts, VERIGATE_PROMPTS) does not exist or is not a folder", logger: logger)
        }
        let media: GatewayMedia
        do { media = try conf.media.gatewayMedia(promptsDirectory: folder, sipHost: conf.sipHost) } catch {
            configurationFailed("prompts folder \(folder.path) (--prompts, VERIGATE_PROMPTS) cannot be used: \(error)", logger: logger)
        }
        logger.info("gateway.prompts", metadata: [
            "directory": "\(folder.path)",
            "locales": "\(media.prompts.catalog.libraries.keys.sorted().joined(separator: ","))",
        ])
        return media
    }

    /// True when `path` is an existing folder.
    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The journal path: `--journal`, `VERIGATE_GATEWAY_JOURNAL`, else `gateway.journal` in the socket's folder.
    func journalPath(socket: String, logger: Logger) -> String {
        let journal: String?
        do { journal = try Settings.resolve(self.journal, "GATEWAY_JOURNAL") } catch { configurationFailed("\(error)", logger: logger) }
        return journal ?? ((socket as NSString).deletingLastPathComponent as NSString).appendingPathComponent("gateway.journal")
    }

    /// sip.conf (or the defaults with no file), with `region` as the default region and `sipAddress`
    /// replacing its bind addresses. A mistake exits with 78 and `file:line: message`.
    func load(region: String, sipAddress: HostPort?, logger: Logger) -> SIPConf {
        var defaults = SIPConf()
        defaults.region = region
        defaults.peers = defaults.peers.map { var peer = $0; peer.region = region; return peer }
        var conf: SIPConf
        do {
            let path = try Settings.resolve(sipConfig, "SIP_CONFIG", default: "")
            conf = path.isEmpty ? defaults : try SIPConf.load(path: path, defaults: defaults)
        } catch {
            configurationFailed("\(error)", logger: logger)
        }
        if let sipAddress {
            do { conf.bind = [try Self.address(sipAddress, option: "--sip-address")] } catch { configurationFailed("\(error)", logger: logger) }
        }
        do {
            if let tlsAddress = try Settings.resolve(sipTLSAddress, "SIP_TLS_ADDRESS") {
                guard conf.tls != nil else {
                    throw ConfigurationError("--sip-tls-address needs tls_certificate and tls_private_key in sip.conf (with a tls_bind, which the flag replaces)")
                }
                conf.tlsBind = [try Self.address(tlsAddress, option: "--sip-tls-address")]
            }
        } catch {
            configurationFailed("\(error)", logger: logger)
        }
        return conf
    }

    /// `address` as a socket address; its host must be a literal IP address (errors name `option`).
    static func address(_ address: HostPort, option: String) throws(ConfigurationError) -> SocketAddress {
        do { return try SocketAddress(ipAddress: address.host, port: address.port) } catch {
            throw ConfigurationError("\(option) needs a literal IP address, got \(address.host)")
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

    @Option(help: "The core's gateway socket (env VERIGATE_CORE_SOCKET). Default: ./data/gateway.sock.")
    var coreSocket: String?

    @Option(help: "Serve GET /metrics (calls, RTP) at this host:port (env VERIGATE_GATEWAY_METRICS_ADDRESS). Default: none.", transform: HostPort.init(option:))
    var metricsAddress: HostPort?

    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var log: LogOptions

    /// Where the gateway's own `GET /metrics` listens, and its token; nil when it has none.
    func metricsEndpoint() throws(ConfigurationError) -> (address: HostPort, token: String?)? {
        guard let address = try Settings.resolve(metricsAddress, "GATEWAY_METRICS_ADDRESS") else { return nil }
        let token = try metrics.token()
        let host = try GatewayOptions.address(address, option: "--metrics-address").ipAddress ?? address.host
        if token == nil, !isLoopback(host: host) {
            throw ConfigurationError("GET /metrics on --metrics-address \(address), reachable from the network, needs --metrics-token (16 or more characters), or listen on loopback")
        }
        return (HostPort(host: host, port: address.port), token)
    }

    func run() async throws {
        let logger = log.logger()
        let conf = gatewayOptions.load(region: SIPConf().region, sipAddress: nil, logger: logger)
        let (coreSocket, metricsEndpoint): (String, (address: HostPort, token: String?)?)
        do { (coreSocket, metricsEndpoint) = (try Settings.resolve(self.coreSocket, "CORE_SOCKET", default: "./data/gateway.sock"), try self.metricsEndpoint()) } catch {
            configurationFailed("\(error)", logger: logger)
        }
        let media = gatewayOptions.media(conf: conf, logger: logger)
        let runner = try await GatewayRunner.start(conf: conf, core: .socket(path: coreSocket), media: media,
                                                   journal: gatewayOptions.journalPath(socket: coreSocket, logger: logger), logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: runner)]
        if let metricsEndpoint {
            // The gateway's own /metrics: its counters on a registry of their own.
            let registry = ServerMetrics()
            let gatewayMetrics = GatewayMetrics(registry: registry.registry, calls: runner.gateway.calls, media: runner.gateway.media?.statistics,
                                                 registrations: runner.gateway.registrations, trunks: runner.gateway.trunks)
            registry.addCollector { gatewayMetrics.collect() }
            let router = Router()
            registry.addRoute(to: router, token: metricsEndpoint.token)
            addReadinessRoute(to: router, gateway: runner.gateway, token: metricsEndpoint.token)
            services.append(.init(service: Application(
                router: router, configuration: .init(address: .hostname(metricsEndpoint.address.host, port: metricsEndpoint.address.port), serverName: "verigate-gateway"),
                logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("gateway.serving", metadata: ["core_socket": "\(coreSocket)", "sip": "\(conf.bind.map { "\($0)" }.joined(separator: ","))", "sip_tls": "\(conf.tlsBind.map { "\($0)" }.joined(separator: ","))", "executor": "\(GlobalExecutor.current)", "malloc_trim": "\(MallocTrim.current)"])
        try await group.run()
    }
}

/// `GET /healthz` beside the gateway's `/metrics` (same token): 200 when the gateway is joined to
/// its core and every registering trunk is registered, else 503; the body says which part is not
/// (GatewayReadiness).
func addReadinessRoute<Context: RequestContext>(to router: Router<Context>, gateway: VoiceGatewayService, token: String?) {
    ServerMetrics.addOperatorRoute(to: router, path: "/healthz", token: token) {
        let readiness = GatewayReadiness(gateway)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = (try? encoder.encode(readiness)) ?? Data()
        return (readiness.ready ? .ok : .serviceUnavailable, "application/json", ByteBuffer(bytes: body))
    }
}
