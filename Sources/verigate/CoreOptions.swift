// The options of `verigate serve`/`core`, typed as OptionValues.swift describes (its header says why
// typed ArgumentParser values and one environment reader, not swift-configuration).

import ArgumentParser
import Foundation
import GatewayProtocol
import Logging
import SMPP
import ServiceLifecycle
import Verification
import VerificationServer

/// The verification core's options, shared by `verigate serve` (core and gateway in one process)
/// and `verigate core` (the core alone). Each is typed (OptionValues.swift): its flag, else its
/// `VERIGATE_*` variable, else the default; a value its type cannot hold exits 78.
struct CoreOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "HTTP listen address host:port (env VERIGATE_HTTP_ADDRESS). Default: 127.0.0.1:8080.", transform: HostPort.init(option:))
    var httpAddress: HostPort?

    @Option(help: "Region for numbers typed without a country code, ISO 3166 alpha-2 (env VERIGATE_DEFAULT_REGION). Default: TW.", transform: Region.init(option:))
    var defaultRegion: Region?

    @Option(help: "Comma-separated regions allowed besides none: default only the default region (env VERIGATE_ALLOWED_REGIONS).", transform: RegionList.init(option:))
    var allowedRegions: RegionList?

    @Option(help: "Comma-separated channels to enable (env VERIGATE_CHANNELS). Default: all six.", transform: ChannelList.init(option:))
    var channels: ChannelList?

    @Option(help: "Comma-separated system numbers users call for call-in channels (env VERIGATE_SYSTEM_NUMBERS). Default: in dev mode the placeholder +886229996666; in production none besides the attached gateways' sip.conf system_number.")
    var systemNumbers: String?

    @Option(help: "Secret file (32 random bytes, created with mode 0600 when absent) (env VERIGATE_SECRET_FILE). Default: <data-dir>/secret.")
    var secretFile: String?

    @Option(help: "dev (SMS outbox at /dev/outbox) or production (env VERIGATE_MODE). Default: dev.", transform: RunMode.init(option:))
    var mode: RunMode?

    @Option(help: "Demo page at / (visitors start verifications; dev mode shows the SMS outbox): on or off (env VERIGATE_DEMO). Default: on in dev mode, off in production.", transform: OnOff.init(option:))
    var demo: OnOff?

    @Option(help: "Demo starts per visitor IP per hour (env VERIGATE_DEMO_STARTS). Default: 10.", transform: Int.init(option:))
    var demoStarts: Int?

    @Option(help: "Public base URL of this core, e.g. https://verify.example.com (env VERIGATE_PUBLIC_URL): hosted-page links (default from the request's Host) and Kannel's dlr-url (default the HTTP address).")
    var publicURL: String?

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Code lifetime: seconds, or with a unit (10m) (env VERIGATE_CODE_TTL). Default: 600.", transform: Seconds.init(option:))
    var codeTTL: Seconds?

    @Option(help: "Wrong checks before max_attempts_reached (env VERIGATE_MAX_CHECKS). Default: 5.", transform: Int.init(option:))
    var maxChecks: Int?

    @Option(help: "Time between two sends of one verification: seconds, or with a unit (env VERIGATE_RESEND_INTERVAL). Default: 30.", transform: Seconds.init(option:))
    var resendInterval: Seconds?

    @Option(help: "Sends per number per send window (env VERIGATE_MAX_SENDS). Default: 5.", transform: Int.init(option:))
    var maxSends: Int?

    @Option(help: "Send window: seconds, or with a unit (env VERIGATE_SEND_WINDOW). Default: 600.", transform: Seconds.init(option:))
    var sendWindow: Seconds?

    @Option(help: "Line types each channel may reach, e.g. 'sms=mobile,fixed_line_or_mobile;voice_call=mobile,fixed_line' (libphonenumber's types in lower case, or any) (env VERIGATE_LINE_TYPES). Default: mobile, fixed_line and fixed_line_or_mobile for sms, voice_call and dtmf_callout; any for the call-in channels.", transform: LineTypeRules.init(option:))
    var lineTypes: LineTypeRules?

    @Option(help: "National digits after the country code that make a number's prefix for --prefix-sends-per-hour, 1-12 (env VERIGATE_PREFIX_LENGTH). Default: 6.", transform: Int.init(option:))
    var prefixLength: Int?

    @Option(help: "Sends per hour to numbers of one prefix, all channels, 0 = off (env VERIGATE_PREFIX_SENDS_PER_HOUR). Default: 50.", transform: Int.init(option:))
    var prefixSendsPerHour: Int?

    @Option(help: "Sends per hour on each sending channel, all numbers: one count for all, or e.g. 'sms=1000;voice_call=500', 0 = off (env VERIGATE_CHANNEL_SENDS_PER_HOUR). Default: sms=1000;voice_call=500;dtmf_callout=500.", transform: ChannelBudgets.init(option:))
    var channelSendsPerHour: ChannelBudgets?

    @Option(help: "Requests per minute per API key, 0 = unlimited (env VERIGATE_KEY_RATE). Default: 600.", transform: Int.init(option:))
    var keyRate: Int?

    @Option(help: "Starts per minute per client IP, 0 = unlimited (env VERIGATE_IP_RATE). Default: 60.", transform: Int.init(option:))
    var ipRate: Int?

    @Option(help: "Outgoing calls (voice_call, dtmf_callout) per verification, the first included; busy, unanswered and failed calls are placed again up to this, 1-10 (env VERIGATE_MAX_CALLS). Default: 2.", transform: Int.init(option:))
    var maxCalls: Int?

    @Option(help: "Time before calling again after a busy, unanswered or failed call: seconds, or with a unit (env VERIGATE_CALL_RETRY_DELAY). Default: 30.", transform: Seconds.init(option:))
    var callRetryDelay: Seconds?

    @Option(help: "voice_call says \"press any key to hear your code\" and says the code only after a key, so a voicemail that answers records no code: on or off (env VERIGATE_VOICE_CALL_KEYPRESS). Default: on.", transform: OnOff.init(option:))
    var voiceCallKeypress: OnOff?

    @Option(help: "Caller-ID trust each call-in method accepts, e.g. 'missed_call=verified;dtmf_callin=asserted,unverified' (env VERIGATE_CALLER_ID_TRUST); verified: asserted and the carrier's verstat TN-Validation-Passed. Default: asserted only (P-Asserted-Identity from a trusted peer) for all three. A verstat TN-Validation-Failed never approves.", transform: CallerIDTrustRules.init(option:))
    var callerIDTrust: CallerIDTrustRules?

    @Option(help: "Default code length 4-10 (env VERIGATE_CODE_LENGTH). Default: 6.", transform: Int.init(option:))
    var codeLength: Int?

    @Option(help: "SMS driver: console, kannel or smpp (env VERIGATE_SMS_DRIVER). Default: console.", transform: SMSDriverKind.init(option:))
    var smsDriver: SMSDriverKind?

    @Option(help: "SMS sender (Kannel `from`, SMPP source_addr) (env VERIGATE_SMS_FROM).")
    var smsFrom: String?

    @Option(help: "Host for a last line `@host #code` in SMS texts (origin-bound one-time codes) (env VERIGATE_OTP_ORIGIN).")
    var otpOrigin: String?

    @Option(help: "Time within which a sent SMS must get a final delivery report, else the verification fails: seconds, or with a unit; 0 = not required (env VERIGATE_SMS_RECEIPT_TIMEOUT). Default: 0.", transform: Seconds.init(option:))
    var smsReceiptTimeout: Seconds?

    @Option(help: "Kannel smsbox sendsms URL (env VERIGATE_KANNEL_URL). Default: http://127.0.0.1:13013/cgi-bin/sendsms.")
    var kannelURL: String?

    @Option(help: "Kannel sendsms-user name (env VERIGATE_KANNEL_USERNAME).")
    var kannelUsername: String?

    @Option(help: "Kannel sendsms-user password; prefer the environment (env VERIGATE_KANNEL_PASSWORD).")
    var kannelPassword: String?

    @Option(help: "Kannel dlr-mask, 0-31 (1 delivered, 2 undelivered, 4 buffered, 8 SMSC ack, 16 SMSC reject; 0 = no reports) (env VERIGATE_KANNEL_DLR_MASK). Default: 27.", transform: Int.init(option:))
    var kannelDLRMask: Int?

    @Option(help: "SMSC address host:port (env VERIGATE_SMPP_ADDRESS). Default: 127.0.0.1:2775.", transform: HostPort.init(option:))
    var smppAddress: HostPort?

    @Option(help: "SMPP system_id (env VERIGATE_SMPP_SYSTEM_ID).")
    var smppSystemID: String?

    @Option(help: "SMPP password; prefer the environment (env VERIGATE_SMPP_PASSWORD).")
    var smppPassword: String?

    @Option(help: "SMPP system_type (env VERIGATE_SMPP_SYSTEM_TYPE).")
    var smppSystemType: String?

    @Option(help: "Most submit_sm awaiting an answer (env VERIGATE_SMPP_WINDOW). Default: 10.", transform: Int.init(option:))
    var smppWindow: Int?

    @Option(help: "Most submit_sm per second, 0 = unlimited (env VERIGATE_SMPP_RATE). Default: 0.", transform: Double.init(option:))
    var smppRate: Double?

    @Option(help: "GSM 03.38 packing: unpacked or packed (env VERIGATE_SMPP_PACKING). Default: unpacked.", transform: SMSEncoder.GSMPacking.init(option:))
    var smppPacking: SMSEncoder.GSMPacking?

    // MARK: Webhook destinations and safe defaults (issue 12 items 5 and 6)

    @Flag(help: "Let webhooks (callback_url) reach loopback, private, link-local and other non-public addresses (env VERIGATE_ALLOW_PRIVATE_WEBHOOKS=1). Default: refused, checked on the address resolved at each attempt.")
    var allowPrivateWebhooks = false

    /// The dev-mode system number: a placeholder that reaches no one, never offered in production.
    static let placeholderSystemNumber = "+886229996666"

    /// Refuses what is unsafe off loopback: dev mode (SMS outbox, demo, codes in API answers) on
    /// a non-loopback HTTP address, and `/metrics` there without a token.
    static func checkExposure(_ c: CoreConfiguration, httpAddress: HostPort) throws(ConfigurationError) {
        guard !isLoopback(host: c.httpHost) else { return }
        if c.devMode {
            throw ConfigurationError("dev mode (SMS outbox at /dev/outbox, demo page, codes in API answers) listens on loopback only, and --http-address \(httpAddress) is reachable from the network: use --mode production, or a loopback address such as 127.0.0.1:8080")
        }
        if c.metricsToken == nil {
            throw ConfigurationError("GET /metrics on --http-address \(httpAddress), reachable from the network, needs --metrics-token (16 or more characters), or listen on loopback")
        }
    }

    /// `--allow-private-webhooks` or `VERIGATE_ALLOW_PRIVATE_WEBHOOKS` (1/true/yes/on, 0/false/no/off).
    func allowsPrivateWebhooks() throws(ConfigurationError) -> Bool {
        if allowPrivateWebhooks { return true }
        return try Settings.value("ALLOW_PRIVATE_WEBHOOKS", as: Bool.self) ?? false
    }

    @Option(help: "Unix socket joining core and voice gateway (env VERIGATE_GATEWAY_SOCKET). Default: <data-dir>/gateway.sock.")
    var gatewaySocket: String?

    /// The gateway socket path (default `<data-dir>/gateway.sock`).
    func socketPath() throws(ConfigurationError) -> String {
        if let path = try Settings.resolve(gatewaySocket, "GATEWAY_SOCKET") { return path }
        return (try storeOptions.dataDirectory() as NSString).appendingPathComponent("gateway.sock")
    }

    /// The secret file's path (default `<data-dir>/secret`).
    func secretPath() throws(ConfigurationError) -> String {
        try storeOptions.secretPath(flag: secretFile)
    }

    /// The region for numbers typed without a country code.
    func region() throws(ConfigurationError) -> Region {
        try Settings.resolve(defaultRegion, "DEFAULT_REGION") ?? Self.defaultDefaultRegion
    }

    /// `TW`, the `--default-region` when none is given.
    static let defaultDefaultRegion = try! Region(option: "TW")

    /// The core's configuration from the flags, the `VERIGATE_*` variables and the defaults, in
    /// that order; a value that cannot be used throws a message naming its flag or variable.
    func configuration() throws(ConfigurationError) -> CoreConfiguration {
        var c = CoreConfiguration()
        let address = try Settings.resolve(httpAddress, "HTTP_ADDRESS", default: HostPort(host: "127.0.0.1", port: 8080))
        c.httpHost = address.host
        c.httpPort = address.port
        c.devMode = try Settings.resolve(mode, "MODE", default: RunMode.dev) == .dev
        c.demoMode = try Settings.resolve(demo, "DEMO")?.isOn ?? c.devMode
        let demoStarts = try Settings.resolve(demoStarts, "DEMO_STARTS", default: 10)
        guard demoStarts > 0 else { throw ConfigurationError("--demo-starts must be positive") }
        c.demoStartsPerVisitor = demoStarts
        let publicURL = try Settings.resolve(publicURL, "PUBLIC_URL", default: "")
        if !publicURL.isEmpty {
            guard HTTPURL(publicURL) != nil else {
                throw ConfigurationError("--public-url must be an absolute http or https URL")
            }
            c.publicURL = publicURL
        }
        c.metricsToken = try metrics.token()
        try Self.checkExposure(c, httpAddress: address)
        c.webhooks.allowPrivateAddresses = try allowsPrivateWebhooks()
        c.voiceCallKeypress = try Settings.resolve(voiceCallKeypress, "VOICE_CALL_KEYPRESS", default: OnOff.on).isOn
        let region = try region()
        var limits = VerificationLimits()
        limits.expiry = try Settings.resolve(codeTTL, "CODE_TTL", default: Seconds(600)).value
        limits.maxCheckAttempts = try Settings.resolve(maxChecks, "MAX_CHECKS", default: 5)
        limits.resendInterval = try Settings.resolve(resendInterval, "RESEND_INTERVAL", default: Seconds(30)).value
        limits.maxSendsPerNumber = try Settings.resolve(maxSends, "MAX_SENDS", default: 5)
        limits.sendWindow = try Settings.resolve(sendWindow, "SEND_WINDOW", default: Seconds(600)).value
        limits.perAPIKeyPerMinute = try Settings.resolve(keyRate, "KEY_RATE", default: 600)
        limits.perClientIPPerMinute = try Settings.resolve(ipRate, "IP_RATE", default: 60)
        guard limits.perAPIKeyPerMinute >= 0 else { throw ConfigurationError("--key-rate must be 0 or more") }
        guard limits.perClientIPPerMinute >= 0 else { throw ConfigurationError("--ip-rate must be 0 or more") }
        limits.maxCalls = try Settings.resolve(maxCalls, "MAX_CALLS", default: 2)
        guard (1...10).contains(limits.maxCalls) else { throw ConfigurationError("--max-calls must be 1 to 10") }
        limits.callRetryDelay = try Settings.resolve(callRetryDelay, "CALL_RETRY_DELAY", default: Seconds(30)).value
        limits.codeLength = try Settings.resolve(codeLength, "CODE_LENGTH", default: 6)
        guard VerificationCode.lengths.contains(limits.codeLength) else { throw ConfigurationError("--code-length must be 4 to 10") }
        guard limits.expiry > 0 else { throw ConfigurationError("--code-ttl must be more than 0") }
        guard limits.maxCheckAttempts > 0 else { throw ConfigurationError("--max-checks must be positive") }
        guard limits.maxSendsPerNumber > 0 else { throw ConfigurationError("--max-sends must be positive") }
        guard limits.sendWindow > 0 else { throw ConfigurationError("--send-window must be more than 0") }
        limits.prefixLength = try Settings.resolve(prefixLength, "PREFIX_LENGTH", default: 6)
        guard (1...12).contains(limits.prefixLength) else { throw ConfigurationError("--prefix-length must be 1 to 12") }
        limits.maxSendsPerPrefix = try Settings.resolve(prefixSendsPerHour, "PREFIX_SENDS_PER_HOUR", default: 50)
        guard limits.maxSendsPerPrefix >= 0 else { throw ConfigurationError("--prefix-sends-per-hour must be 0 or more") }
        limits.maxSendsPerChannel = try Settings.resolve(channelSendsPerHour, "CHANNEL_SENDS_PER_HOUR", default: ChannelBudgets.defaults).budgets
        limits.allowedRegions = try Settings.resolve(allowedRegions, "ALLOWED_REGIONS")?.regions ?? []
        let enabled = try Settings.resolve(channels, "CHANNELS", default: ChannelList.all).channels
        var numbers: [String] = []
        // Production offers call-in channels only with numbers the operator configured.
        // ("Given empty" differs from "not given": an empty variable counts here.)
        let given = systemNumbers ?? Settings.text("SYSTEM_NUMBERS", keepingEmpty: true)
        let configuredNumbers = given ?? (c.devMode ? Self.placeholderSystemNumber : "")
        for n in configuredNumbers.split(separator: ",") where !n.trimmingCharacters(in: .whitespaces).isEmpty {
            do { numbers.append(try PhoneNumber(parsing: String(n), defaultRegion: region.code).e164) } catch {
                throw ConfigurationError("system number \(n) is not valid: \(error.reason)")
            }
        }
        c.policy = VerificationPolicy(defaultRegion: region.code, limits: limits, enabledChannels: enabled, systemNumbers: numbers)
        c.policy.acceptedCallerIDTrust = try Settings.resolve(callerIDTrust, "CALLER_ID_TRUST")?.rules ?? [:]
        c.policy.allowedLineTypes = try Settings.resolve(lineTypes, "LINE_TYPES")?.rules ?? [:]
        c.smsTemplates.otpOrigin = try Settings.resolve(otpOrigin, "OTP_ORIGIN")
        c.smsDriver = try smsDriverConfiguration(publicURL: publicURL)
        c.smsReceiptTimeout = try Settings.resolve(smsReceiptTimeout, "SMS_RECEIPT_TIMEOUT", default: Seconds(0)).value
        // Nodes share a PostgreSQL store: pages here hear what the others do (LISTEN/NOTIFY), and
        // the request limits are counted there, for all of them (SQLite is one node).
        if (try? SQLStoreLocation(storeOptions.resolvedDatabaseURL()).backend) == .postgres {
            c.storeEvents = .listen
            c.sharedRateLimits = true
        }
        return c
    }

    /// The SMS driver `--sms-driver` names, with its own options; `publicURL` is `--public-url`.
    /// Every SMS option is read, whichever driver is chosen: a wrong value is refused even where
    /// it would not be used, as a wrong flag is.
    func smsDriverConfiguration(publicURL: String) throws(ConfigurationError) -> SMSDriver {
        let driver = try Settings.resolve(smsDriver, "SMS_DRIVER", default: SMSDriverKind.console)
        let from = try Settings.resolve(smsFrom, "SMS_FROM", default: "")
        let kannelURL = try Settings.resolve(kannelURL, "KANNEL_URL", default: "http://127.0.0.1:13013/cgi-bin/sendsms")
        let kannelUsername = try Settings.resolve(kannelUsername, "KANNEL_USERNAME", default: "")
        let kannelPassword = try Settings.resolve(kannelPassword, "KANNEL_PASSWORD", default: "")
        let dlrMask = try Settings.resolve(kannelDLRMask, "KANNEL_DLR_MASK", default: 27)
        guard (0...31).contains(dlrMask) else { throw ConfigurationError("--kannel-dlr-mask must be 0 to 31, not \(dlrMask)") }
        let smppAddress = try Settings.resolve(smppAddress, "SMPP_ADDRESS", default: HostPort(host: "127.0.0.1", port: 2775))
        guard smppAddress.port > 0 else { throw ConfigurationError("--smpp-address needs a port 1 to 65535, not 0") }
        let systemID = try Settings.resolve(smppSystemID, "SMPP_SYSTEM_ID", default: "")
        let smppPassword = try Settings.resolve(smppPassword, "SMPP_PASSWORD", default: "")
        let systemType = try Settings.resolve(smppSystemType, "SMPP_SYSTEM_TYPE", default: "")
        let window = try Settings.resolve(smppWindow, "SMPP_WINDOW", default: 10)
        guard window > 0 else { throw ConfigurationError("--smpp-window must be positive") }
        let rate = try Settings.resolve(smppRate, "SMPP_RATE", default: 0)
        guard rate >= 0 else { throw ConfigurationError("--smpp-rate must be 0 or more") }
        let packing = try Settings.resolve(smppPacking, "SMPP_PACKING", default: SMSEncoder.GSMPacking.unpacked)
        switch driver {
        case .console:
            return .console
        case .kannel:
            guard HTTPURL(kannelURL) != nil else {
                throw ConfigurationError("--kannel-url must be an http(s) URL")
            }
            guard !kannelUsername.isEmpty else { throw ConfigurationError("--kannel-username is required with --sms-driver kannel") }
            return .kannel(KannelConfiguration(
                sendsmsURL: kannelURL, username: kannelUsername, password: kannelPassword, from: from,
                dlrMask: dlrMask, callbackBaseURL: publicURL.isEmpty ? nil : publicURL))
        case .smpp:
            guard !systemID.isEmpty, systemID.count <= 15, smppPassword.count <= 8, systemType.count <= 12 else {
                throw ConfigurationError("--smpp-system-id (1-15 characters) is required; password at most 8, system_type at most 12 (SMPP 3.4 §4.2.5)")
            }
            let session = ESMEConfiguration(
                host: smppAddress.host, port: smppAddress.port,
                bind: SMPPBind(systemID: systemID, password: smppPassword, systemType: systemType),
                windowSize: window, maxSubmitsPerSecond: rate)
            return .smpp(SMPPDriverConfiguration(session: session, sourceAddr: from, packing: packing))
        }
    }

    /// Runs the core (HTTP API, background services, the gateway socket server, and with
    /// `gatewayLink` the server of an in-process gateway) with `extra` services (that gateway, given
    /// the socket and the core's metrics) until SIGTERM/SIGINT. A configuration error exits with 78.
    func run(logger: Logger, gatewayLink: InProcessGatewayLink? = nil,
             extra: (_ socket: String, _ metrics: ServerMetrics) async throws -> [any Service] = { _, _ in [] }) async throws {
        let (config, secretFilePath, socket): (CoreConfiguration, String, String)
        do { (config, secretFilePath, socket) = (try configuration(), try secretPath(), try socketPath()) } catch {
            configurationFailed("\(error)", logger: logger)
        }
        let secret = try Secrets.loadOrCreateSecret(at: secretFilePath)
        let store = try await storeOptions.openStore(logger: logger)
        do {
            let core = Core(configuration: config, store: store, secret: secret, logger: logger)
            core.metrics.observe(store)
            if let key = try await core.bootstrapAPIKey() {
                // Printed once, on the first start; only its hash is stored.
                FileHandle.standardOutput.write(Data("Created API key (shown once, keep it): \(key)\n".utf8))
            }
            let app = core.application()
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)] + core.services().map { .init(service: $0) }
            services.append(.init(service: core.gatewaySocketServer(path: socket)))
            if let gatewayLink { services.append(.init(service: core.gatewayInProcessServer(link: gatewayLink))) }
            services += try await extra(socket, core.metrics).map { .init(service: $0) }
            let group = ServiceGroup(configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            logger.info("core.serving", metadata: [
                "http": "\(HostPort(host: config.httpHost, port: config.httpPort))", "gateway_socket": "\(socket)",
                "mode": "\(config.devMode ? RunMode.dev : RunMode.production)", "region": "\(config.policy.defaultRegion)",
                "demo": "\(config.demoMode ? OnOff.on : OnOff.off)", "executor": "\(GlobalExecutor.current)",
                "malloc_trim": "\(MallocTrim.current)",
            ])
            try await group.run()
        } catch {
            try? await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }
}

/// Who may read `GET /metrics` (the core's, and `verigate gateway --metrics-address`).
struct MetricsOptions: ParsableArguments {
    @Option(help: "Bearer token GET /metrics requires, 16 or more visible characters (env VERIGATE_METRICS_TOKEN). Default: none, metrics open to whoever reaches the address.")
    var metricsToken: String?

    /// The token, nil when none is set; a short or non-ASCII one is refused.
    func token() throws(ConfigurationError) -> String? {
        guard let metricsToken = try Settings.resolve(metricsToken, "METRICS_TOKEN"), !metricsToken.isEmpty else { return nil }
        guard metricsToken.count >= 16, metricsToken.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ConfigurationError("--metrics-token must be 16 or more visible ASCII characters")
        }
        return metricsToken
    }
}

/// True when `host` (an `--http-address` or `--metrics-address` host) is a loopback address
/// (127.0.0.0/8, ::1, IPv4-mapped 127/8) or `localhost`: reachable from this machine only.
func isLoopback(host: String) -> Bool {
    if WebhookAddressPolicy.isLocalhostName(host) { return true }
    guard let bytes = WebhookAddressPolicy.parse(host) else { return false }
    if bytes.count == 4 { return bytes[0] == 127 }
    return bytes == [UInt8](repeating: 0, count: 15) + [1]
        || (bytes.starts(with: [UInt8](repeating: 0, count: 10) + [0xff, 0xff]) && bytes[12] == 127)
}

/// Options of every long-running command.
struct LogOptions: ParsableArguments {
    @Option(help: "Log level: \(listing(Logger.Level.allCases.map(\.rawValue))) (env VERIGATE_LOG_LEVEL). Default: info.", transform: Logger.Level.init(option:))
    var logLevel: Logger.Level?

    @Option(help: "Log lines: text, or json: one JSON object a line with time, level, event, source and metadata (env VERIGATE_LOG_FORMAT). Default: text.", transform: LogFormat.init(option:))
    var logFormat: LogFormat?

    /// The process logger at the chosen level and format (json: every logger of the process writes
    /// JSON lines); a `VERIGATE_LOG_LEVEL` or `VERIGATE_LOG_FORMAT` it cannot use exits with 78.
    /// Call once per process.
    func logger() -> Logger {
        do {
            if try Settings.resolve(logFormat, "LOG_FORMAT", default: LogFormat.text) == .json { LoggingSystem.bootstrap(JSONLogHandler.init(label:)) }
        } catch {
            configurationFailed("\(error)", logger: Logger(label: "verigate"))
        }
        var logger = Logger(label: "verigate")
        do { logger.logLevel = try Settings.resolve(logLevel, "LOG_LEVEL", default: .info) } catch {
            configurationFailed("\(error)", logger: logger)
        }
        return logger
    }
}

/// Reports a configuration error on stderr and in the log, and exits with 78 (EX_CONFIG, sysexits.h).
func configurationFailed(_ message: String, logger: Logger) -> Never {
    logger.critical("configuration.refused", metadata: ["error": "\(message)"])
    FileHandle.standardError.write(Data("verigate: \(message)\n".utf8))
    exit(78)
}
