import ArgumentParser
import Foundation
import Logging
import SMPP
import ServiceLifecycle
import Verification
import VerificationServer

/// The verification core's options, shared by `verigate serve` (core and gateway in one process)
/// and `verigate core` (the core alone).
struct CoreOptions: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "HTTP listen address host:port (env VERIGATE_HTTP_ADDRESS).")
    var httpAddress: String = env("HTTP_ADDRESS") ?? "127.0.0.1:8080"

    @Option(help: "Region for numbers typed without a country code, ISO 3166 alpha-2 (env VERIGATE_DEFAULT_REGION).")
    var defaultRegion: String = env("DEFAULT_REGION") ?? "TW"

    @Option(help: "Comma-separated regions allowed besides none: default only the default region (env VERIGATE_ALLOWED_REGIONS).")
    var allowedRegions: String = env("ALLOWED_REGIONS") ?? ""

    @Option(help: "Comma-separated channels to enable (env VERIGATE_CHANNELS). Default: all six.")
    var channels: String = env("CHANNELS") ?? Channel.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Comma-separated system numbers users call for call-in channels (env VERIGATE_SYSTEM_NUMBERS). Default: in dev mode the placeholder +886229996666; in production none besides the attached gateways' sip.conf system_number.")
    var systemNumbers: String?

    @Option(help: "Secret file (32 random bytes, created with mode 0600 when absent) (env VERIGATE_SECRET_FILE). Default: <data-dir>/secret.")
    var secretFile: String = env("SECRET_FILE") ?? ""

    @Option(help: "dev (SMS outbox at /dev/outbox) or production (env VERIGATE_MODE).")
    var mode: String = env("MODE") ?? "dev"

    @Option(help: "Demo page at / (visitors start verifications; dev mode shows the SMS outbox): on or off (env VERIGATE_DEMO). Default: on in dev mode, off in production.")
    var demo: String = env("DEMO") ?? ""

    @Option(help: "Demo starts per visitor IP per hour (env VERIGATE_DEMO_STARTS).")
    var demoStarts: Int = env("DEMO_STARTS", 10)

    @Option(help: "Public base URL of this core, e.g. https://verify.example.com (env VERIGATE_PUBLIC_URL): hosted-page links (default from the request's Host) and Kannel's dlr-url (default the HTTP address).")
    var publicURL: String = env("PUBLIC_URL") ?? ""

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Code lifetime in seconds (env VERIGATE_CODE_TTL).")
    var codeTTL: Double = env("CODE_TTL", 600)

    @Option(help: "Wrong checks before max_attempts_reached (env VERIGATE_MAX_CHECKS).")
    var maxChecks: Int = env("MAX_CHECKS", 5)

    @Option(help: "Seconds between two sends of one verification (env VERIGATE_RESEND_INTERVAL).")
    var resendInterval: Double = env("RESEND_INTERVAL", 30)

    @Option(help: "Sends per number per send window (env VERIGATE_MAX_SENDS).")
    var maxSends: Int = env("MAX_SENDS", 5)

    @Option(help: "Send window in seconds (env VERIGATE_SEND_WINDOW).")
    var sendWindow: Double = env("SEND_WINDOW", 600)

    @Option(help: "Line types each channel may reach, e.g. 'sms=mobile,fixed_line_or_mobile;voice_call=mobile,fixed_line' (libphonenumber's types in lower case, or any) (env VERIGATE_LINE_TYPES). Default: mobile, fixed_line and fixed_line_or_mobile for sms, voice_call and dtmf_callout; any for the call-in channels.")
    var lineTypes: String = env("LINE_TYPES") ?? ""

    @Option(help: "National digits after the country code that make a number's prefix for --prefix-sends-per-hour, 1-12 (env VERIGATE_PREFIX_LENGTH).")
    var prefixLength: Int = env("PREFIX_LENGTH", 6)

    @Option(help: "Sends per hour to numbers of one prefix, all channels, 0 = off (env VERIGATE_PREFIX_SENDS_PER_HOUR).")
    var prefixSendsPerHour: Int = env("PREFIX_SENDS_PER_HOUR", 50)

    @Option(help: "Sends per hour on each sending channel, all numbers: one count for all, or e.g. 'sms=1000;voice_call=500', 0 = off (env VERIGATE_CHANNEL_SENDS_PER_HOUR). Default: sms=1000;voice_call=500;dtmf_callout=500.")
    var channelSendsPerHour: String = env("CHANNEL_SENDS_PER_HOUR") ?? ""

    @Option(help: "Requests per minute per API key, 0 = unlimited (env VERIGATE_KEY_RATE).")
    var keyRate: Int = env("KEY_RATE", 600)

    @Option(help: "Starts per minute per client IP, 0 = unlimited (env VERIGATE_IP_RATE).")
    var ipRate: Int = env("IP_RATE", 60)

    @Option(help: "Outgoing calls (voice_call, dtmf_callout) per verification, the first included; busy, unanswered and failed calls are placed again up to this (env VERIGATE_MAX_CALLS).")
    var maxCalls: Int = env("MAX_CALLS", 2)

    @Option(help: "Seconds before calling again after a busy, unanswered or failed call (env VERIGATE_CALL_RETRY_DELAY).")
    var callRetryDelay: Double = env("CALL_RETRY_DELAY", 30)

    @Option(help: "voice_call says \"press any key to hear your code\" and says the code only after a key, so a voicemail that answers records no code: on or off (env VERIGATE_VOICE_CALL_KEYPRESS).")
    var voiceCallKeypress: String = env("VOICE_CALL_KEYPRESS") ?? "on"

    @Option(help: "Caller-ID trust each call-in method accepts, e.g. 'missed_call=asserted;dtmf_callin=asserted,unverified' (env VERIGATE_CALLER_ID_TRUST). Default: asserted only (P-Asserted-Identity from a trusted peer) for all three.")
    var callerIDTrust: String = env("CALLER_ID_TRUST") ?? ""

    @Option(help: "Default code length 4-10 (env VERIGATE_CODE_LENGTH).")
    var codeLength: Int = env("CODE_LENGTH", 6)

    @Option(help: "SMS driver: console, kannel or smpp (env VERIGATE_SMS_DRIVER).")
    var smsDriver: String = env("SMS_DRIVER") ?? "console"

    @Option(help: "SMS sender (Kannel `from`, SMPP source_addr) (env VERIGATE_SMS_FROM).")
    var smsFrom: String = env("SMS_FROM") ?? ""

    @Option(help: "Host for a last line `@host #code` in SMS texts (origin-bound one-time codes) (env VERIGATE_OTP_ORIGIN).")
    var otpOrigin: String = env("OTP_ORIGIN") ?? ""

    @Option(help: "Seconds within which a sent SMS must get a final delivery report, else the verification fails; 0 = not required (env VERIGATE_SMS_RECEIPT_TIMEOUT).")
    var smsReceiptTimeout: Double = env("SMS_RECEIPT_TIMEOUT", 0)

    @Option(help: "Kannel smsbox sendsms URL (env VERIGATE_KANNEL_URL).")
    var kannelURL: String = env("KANNEL_URL") ?? "http://127.0.0.1:13013/cgi-bin/sendsms"

    @Option(help: "Kannel sendsms-user name (env VERIGATE_KANNEL_USERNAME).")
    var kannelUsername: String = env("KANNEL_USERNAME") ?? ""

    @Option(help: "Kannel sendsms-user password; prefer the environment (env VERIGATE_KANNEL_PASSWORD).")
    var kannelPassword: String = env("KANNEL_PASSWORD") ?? ""

    @Option(help: "Kannel dlr-mask (1 delivered, 2 undelivered, 4 buffered, 8 SMSC ack, 16 SMSC reject; 0 = no reports) (env VERIGATE_KANNEL_DLR_MASK).")
    var kannelDLRMask: Int = env("KANNEL_DLR_MASK", 27)

    @Option(help: "SMSC address host:port (env VERIGATE_SMPP_ADDRESS).")
    var smppAddress: String = env("SMPP_ADDRESS") ?? "127.0.0.1:2775"

    @Option(help: "SMPP system_id (env VERIGATE_SMPP_SYSTEM_ID).")
    var smppSystemID: String = env("SMPP_SYSTEM_ID") ?? ""

    @Option(help: "SMPP password; prefer the environment (env VERIGATE_SMPP_PASSWORD).")
    var smppPassword: String = env("SMPP_PASSWORD") ?? ""

    @Option(help: "SMPP system_type (env VERIGATE_SMPP_SYSTEM_TYPE).")
    var smppSystemType: String = env("SMPP_SYSTEM_TYPE") ?? ""

    @Option(help: "Most submit_sm awaiting an answer (env VERIGATE_SMPP_WINDOW).")
    var smppWindow: Int = env("SMPP_WINDOW", 10)

    @Option(help: "Most submit_sm per second, 0 = unlimited (env VERIGATE_SMPP_RATE).")
    var smppRate: Double = env("SMPP_RATE", 0)

    @Option(help: "GSM 03.38 packing: unpacked or packed (env VERIGATE_SMPP_PACKING).")
    var smppPacking: String = env("SMPP_PACKING") ?? "unpacked"

    // MARK: Webhook destinations and safe defaults (issue 12 items 5 and 6)

    @Flag(help: "Let webhooks (callback_url) reach loopback, private, link-local and other non-public addresses (env VERIGATE_ALLOW_PRIVATE_WEBHOOKS=1). Default: refused, checked on the address resolved at each attempt.")
    var allowPrivateWebhooks = false

    /// The dev-mode system number: a placeholder that reaches no one, never offered in production.
    static let placeholderSystemNumber = "+886229996666"

    /// Refuses what is unsafe off loopback: dev mode (SMS outbox, demo, codes in API answers) on
    /// a non-loopback HTTP address, and `/metrics` there without a token.
    static func checkExposure(_ c: CoreConfiguration, httpAddress: String) throws(ConfigurationError) {
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
        guard let value = env("ALLOW_PRIVATE_WEBHOOKS")?.lowercased() else { return false }
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if ["0", "false", "no", "off"].contains(value) { return false }
        throw ConfigurationError("VERIGATE_ALLOW_PRIVATE_WEBHOOKS must be 1 or 0, not \"\(value)\"")
    }

    @Option(help: "Unix socket joining core and voice gateway (env VERIGATE_GATEWAY_SOCKET). Default: <data-dir>/gateway.sock.")
    var gatewaySocket: String = env("GATEWAY_SOCKET") ?? ""

    /// The gateway socket path (default `<data-dir>/gateway.sock`).
    var socketPath: String { gatewaySocket.isEmpty ? (storeOptions.dataDir as NSString).appendingPathComponent("gateway.sock") : gatewaySocket }

    func configuration() throws -> CoreConfiguration {
        try EnvironmentErrors.check()
        var c = CoreConfiguration()
        let parts = httpAddress.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!), (0...65535).contains(port) else {
            throw ConfigurationError("--http-address must be host:port, got \(httpAddress)")
        }
        c.httpHost = parts.dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        c.httpPort = port
        guard ["dev", "production"].contains(mode) else { throw ConfigurationError("--mode must be dev or production") }
        c.devMode = mode == "dev"
        guard ["", "on", "off"].contains(demo) else { throw ConfigurationError("--demo must be on or off") }
        c.demoMode = demo.isEmpty ? c.devMode : demo == "on"
        guard demoStarts > 0 else { throw ConfigurationError("--demo-starts must be positive") }
        c.demoStartsPerVisitor = demoStarts
        if !publicURL.isEmpty {
            guard HTTPURL(publicURL) != nil else {
                throw ConfigurationError("--public-url must be an absolute http or https URL")
            }
            c.publicURL = publicURL
        }
        c.metricsToken = try metrics.token()
        try Self.checkExposure(c, httpAddress: httpAddress)
        c.webhooks.allowPrivateAddresses = try allowsPrivateWebhooks()
        guard ["on", "off"].contains(voiceCallKeypress) else { throw ConfigurationError("--voice-call-keypress must be on or off, got '\(voiceCallKeypress)'") }
        c.voiceCallKeypress = voiceCallKeypress == "on"
        guard PhoneNumber.countryCode(forRegion: defaultRegion) != nil else {
            throw ConfigurationError("--default-region \(defaultRegion) is not a known region")
        }
        var limits = VerificationLimits()
        limits.expiry = codeTTL
        limits.maxCheckAttempts = maxChecks
        limits.resendInterval = resendInterval
        limits.maxSendsPerNumber = maxSends
        limits.sendWindow = sendWindow
        limits.perAPIKeyPerMinute = keyRate
        limits.perClientIPPerMinute = ipRate
        guard (1...10).contains(maxCalls) else { throw ConfigurationError("--max-calls must be 1 to 10") }
        guard callRetryDelay >= 0 else { throw ConfigurationError("--call-retry-delay must be 0 or more") }
        limits.maxCalls = maxCalls
        limits.callRetryDelay = callRetryDelay
        guard VerificationCode.lengths.contains(codeLength) else { throw ConfigurationError("--code-length must be 4 to 10") }
        limits.codeLength = codeLength
        guard codeTTL > 0, maxChecks > 0, maxSends > 0, sendWindow > 0, resendInterval >= 0 else {
            throw ConfigurationError("limits must be positive")
        }
        guard (1...12).contains(prefixLength) else { throw ConfigurationError("--prefix-length must be 1 to 12") }
        guard prefixSendsPerHour >= 0 else { throw ConfigurationError("--prefix-sends-per-hour must be 0 or more") }
        limits.prefixLength = prefixLength
        limits.maxSendsPerPrefix = prefixSendsPerHour
        do {
            limits.maxSendsPerChannel = try VerificationPolicy.parseChannelBudgets(channelSendsPerHour, defaults: VerificationLimits.defaultChannelBudgets)
        } catch {
            throw ConfigurationError("--channel-sends-per-hour: \(error.description)")
        }
        limits.allowedRegions = Set(allowedRegions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty })
        var enabled = Set<Channel>()
        for name in channels.split(separator: ",") {
            guard let ch = Channel(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError("unknown channel \(name) in --channels")
            }
            enabled.insert(ch)
        }
        var numbers: [String] = []
        // Production offers call-in channels only with numbers the operator configured.
        // (Read here, not as the option's default: "given empty" differs from "not given".)
        let given = systemNumbers ?? ProcessInfo.processInfo.environment["VERIGATE_SYSTEM_NUMBERS"]
        let configuredNumbers = given ?? (c.devMode ? Self.placeholderSystemNumber : "")
        for n in configuredNumbers.split(separator: ",") where !n.trimmingCharacters(in: .whitespaces).isEmpty {
            do { numbers.append(try PhoneNumber(parsing: String(n), defaultRegion: defaultRegion).e164) } catch {
                throw ConfigurationError("system number \(n) is not valid: \(error.reason)")
            }
        }
        c.policy = VerificationPolicy(defaultRegion: defaultRegion, limits: limits, enabledChannels: enabled, systemNumbers: numbers)
        do { c.policy.acceptedCallerIDTrust = try VerificationPolicy.parseCallerIDTrust(callerIDTrust) } catch {
            throw ConfigurationError("--caller-id-trust: \(error.description)")
        }
        do { c.policy.allowedLineTypes = try VerificationPolicy.parseLineTypes(lineTypes) } catch {
            throw ConfigurationError("--line-types: \(error.description)")
        }
        c.smsTemplates.otpOrigin = otpOrigin.isEmpty ? nil : otpOrigin
        c.smsDriver = try smsDriverConfiguration()
        guard smsReceiptTimeout >= 0 else { throw ConfigurationError("--sms-receipt-timeout must be 0 or more") }
        c.smsReceiptTimeout = smsReceiptTimeout
        // Nodes share a PostgreSQL store: pages here follow what the others do (SQLite is one node).
        if (try? SQLStoreLocation(storeOptions.resolvedDatabaseURL).backend) == .postgres { c.storeEventFollowInterval = 0.25 }
        return c
    }

    func smsDriverConfiguration() throws -> SMSDriver {
        switch smsDriver {
        case "console":
            return .console
        case "kannel":
            guard HTTPURL(kannelURL) != nil else {
                throw ConfigurationError("--kannel-url must be an http(s) URL")
            }
            guard !kannelUsername.isEmpty else { throw ConfigurationError("--kannel-username is required with --sms-driver kannel") }
            return .kannel(KannelConfiguration(
                sendsmsURL: kannelURL, username: kannelUsername, password: kannelPassword, from: smsFrom,
                dlrMask: kannelDLRMask, callbackBaseURL: publicURL.isEmpty ? nil : publicURL))
        case "smpp":
            let parts = smppAddress.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ConfigurationError("--smpp-address must be host:port")
            }
            guard !smppSystemID.isEmpty, smppSystemID.count <= 15, smppPassword.count <= 8, smppSystemType.count <= 12 else {
                throw ConfigurationError("--smpp-system-id (1-15 characters) is required; password at most 8, system_type at most 12 (SMPP 3.4 §4.2.5)")
            }
            guard let packing = SMSEncoder.GSMPacking(rawValue: smppPacking) else {
                throw ConfigurationError("--smpp-packing must be unpacked or packed")
            }
            let session = ESMEConfiguration(
                host: String(parts[0]), port: port,
                bind: SMPPBind(systemID: smppSystemID, password: smppPassword, systemType: smppSystemType),
                windowSize: smppWindow, maxSubmitsPerSecond: smppRate)
            return .smpp(SMPPDriverConfiguration(session: session, sourceAddr: smsFrom, packing: packing))
        default:
            throw ConfigurationError("--sms-driver must be console, kannel or smpp")
        }
    }

    /// Runs the core (HTTP API, background services, the gateway socket server) with `extra`
    /// services (an in-process gateway, given the socket and the core's metrics) until
    /// SIGTERM/SIGINT. A configuration error exits with 78.
    func run(logger: Logger, extra: (_ socket: String, _ metrics: ServerMetrics) async throws -> [any Service] = { _, _ in [] }) async throws {
        let config: CoreConfiguration
        do { config = try configuration() } catch {
            configurationFailed("\(error)", logger: logger)
        }
        let secret = try Secrets.loadOrCreateSecret(at: secretFile.isEmpty ? (storeOptions.dataDir as NSString).appendingPathComponent("secret") : secretFile)
        let store = try await storeOptions.openStore(logger: logger)
        do {
            let core = Core(configuration: config, store: store, secret: secret, logger: logger)
            if let key = try await core.bootstrapAPIKey() {
                // Printed once, on the first start; only its hash is stored.
                FileHandle.standardOutput.write(Data("Created API key (shown once, keep it): \(key)\n".utf8))
            }
            let app = core.application()
            let socket = socketPath
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)] + core.services().map { .init(service: $0) }
            services.append(.init(service: core.gatewaySocketServer(path: socket)))
            services += try await extra(socket, core.metrics).map { .init(service: $0) }
            let group = ServiceGroup(configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            logger.info("verigate core serving", metadata: ["http": .string(httpAddress), "gateway-socket": .string(socket), "mode": .string(mode), "region": .string(defaultRegion), "demo": .string(config.demoMode ? "on" : "off")])
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
    var metricsToken: String = env("METRICS_TOKEN") ?? ""

    /// The token, nil when none is set; a short or non-ASCII one is refused.
    func token() throws(ConfigurationError) -> String? {
        guard !metricsToken.isEmpty else { return nil }
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
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env VERIGATE_LOG_LEVEL).")
    var logLevel: String = env("LOG_LEVEL") ?? "info"

    /// The process logger at the chosen level.
    func logger() -> Logger {
        var logger = Logger(label: "verigate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

/// Reports a configuration error on stderr and in the log, and exits with 78 (EX_CONFIG, sysexits.h).
func configurationFailed(_ message: String, logger: Logger) -> Never {
    logger.critical("configuration: \(message)")
    FileHandle.standardError.write(Data("verigate: \(message)\n".utf8))
    exit(78)
}
