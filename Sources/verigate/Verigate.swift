import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Verification
import VerificationServer

/// `verigate`: the verification server.
@main
struct Verigate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Self-hosted phone-number verification: SMS, voice, call-in, missed-call and keyed codes.",
        subcommands: [Serve.self, APIKey.self, WebhookSecret.self],
        defaultSubcommand: Serve.self)
}

/// Reads `VERIGATE_<NAME>` from the environment.
func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["VERIGATE_" + name].flatMap { $0.isEmpty ? nil : $0 }
}

/// Options shared by the commands that open the store.
struct StoreOptions: ParsableArguments {
    @Option(help: "Folder for the SQLite database and the generated secret (env VERIGATE_DATA_DIR).")
    var dataDir: String = env("DATA_DIR") ?? "./data"

    @Option(help: "Database: a SQLite file path or sqlite:// URL, or postgres://user@host:port/db (env VERIGATE_DATABASE_URL). Default: <data-dir>/verigate.db.")
    var databaseURL: String = env("DATABASE_URL") ?? ""

    var resolvedDatabaseURL: String { databaseURL.isEmpty ? (dataDir as NSString).appendingPathComponent("verigate.db") : databaseURL }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the verification core (HTTP API) on embedded defaults.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "HTTP listen address host:port (env VERIGATE_HTTP_ADDRESS).")
    var httpAddress: String = env("HTTP_ADDRESS") ?? "127.0.0.1:8080"

    @Option(help: "Region for numbers typed without a country code, ISO 3166 alpha-2 (env VERIGATE_DEFAULT_REGION).")
    var defaultRegion: String = env("DEFAULT_REGION") ?? "TW"

    @Option(help: "Comma-separated regions allowed besides none: default only the default region (env VERIGATE_ALLOWED_REGIONS).")
    var allowedRegions: String = env("ALLOWED_REGIONS") ?? ""

    @Option(help: "Comma-separated channels to enable (env VERIGATE_CHANNELS). Default: all six.")
    var channels: String = env("CHANNELS") ?? Channel.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Comma-separated system numbers users call for call-in channels (env VERIGATE_SYSTEM_NUMBERS).")
    var systemNumbers: String = env("SYSTEM_NUMBERS") ?? "+886229996666"

    @Option(help: "Secret file (32 random bytes, created with mode 0600 when absent) (env VERIGATE_SECRET_FILE). Default: <data-dir>/secret.")
    var secretFile: String = env("SECRET_FILE") ?? ""

    @Option(help: "dev (SMS outbox at /dev/outbox) or production (env VERIGATE_MODE).")
    var mode: String = env("MODE") ?? "dev"

    @Option(help: "Demo page at / (visitors start verifications; dev mode shows the SMS outbox): on or off (env VERIGATE_DEMO). Default: on in dev mode, off in production.")
    var demo: String = env("DEMO") ?? ""

    @Option(help: "Demo starts per visitor IP per hour (env VERIGATE_DEMO_STARTS).")
    var demoStarts: Int = env("DEMO_STARTS").flatMap(Int.init) ?? 10

    @Option(help: "Public base URL of hosted-page links, e.g. https://verify.example.com (env VERIGATE_PUBLIC_URL). Default: from the request's Host.")
    var publicURL: String = env("PUBLIC_URL") ?? ""

    @Option(help: "Code lifetime in seconds (env VERIGATE_CODE_TTL).")
    var codeTTL: Double = env("CODE_TTL").flatMap(Double.init) ?? 600

    @Option(help: "Wrong checks before max_attempts_reached (env VERIGATE_MAX_CHECKS).")
    var maxChecks: Int = env("MAX_CHECKS").flatMap(Int.init) ?? 5

    @Option(help: "Seconds between two sends of one verification (env VERIGATE_RESEND_INTERVAL).")
    var resendInterval: Double = env("RESEND_INTERVAL").flatMap(Double.init) ?? 30

    @Option(help: "Sends per number per send window (env VERIGATE_MAX_SENDS).")
    var maxSends: Int = env("MAX_SENDS").flatMap(Int.init) ?? 5

    @Option(help: "Send window in seconds (env VERIGATE_SEND_WINDOW).")
    var sendWindow: Double = env("SEND_WINDOW").flatMap(Double.init) ?? 600

    @Option(help: "Requests per minute per API key, 0 = unlimited (env VERIGATE_KEY_RATE).")
    var keyRate: Int = env("KEY_RATE").flatMap(Int.init) ?? 600

    @Option(help: "Starts per minute per client IP, 0 = unlimited (env VERIGATE_IP_RATE).")
    var ipRate: Int = env("IP_RATE").flatMap(Int.init) ?? 60

    @Option(help: "Default code length 4-10 (env VERIGATE_CODE_LENGTH).")
    var codeLength: Int = env("CODE_LENGTH").flatMap(Int.init) ?? 6

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env VERIGATE_LOG_LEVEL).")
    var logLevel: String = env("LOG_LEVEL") ?? "info"

    func configuration() throws -> CoreConfiguration {
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
            guard let u = URL(string: publicURL), ["http", "https"].contains(u.scheme ?? ""), u.host != nil else {
                throw ConfigurationError("--public-url must be an absolute http or https URL")
            }
            c.publicURL = publicURL
        }
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
        guard VerificationCode.lengths.contains(codeLength) else { throw ConfigurationError("--code-length must be 4 to 10") }
        limits.codeLength = codeLength
        guard codeTTL > 0, maxChecks > 0, maxSends > 0, sendWindow > 0, resendInterval >= 0 else {
            throw ConfigurationError("limits must be positive")
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
        for n in systemNumbers.split(separator: ",") where !n.trimmingCharacters(in: .whitespaces).isEmpty {
            do { numbers.append(try PhoneNumber(parsing: String(n), defaultRegion: defaultRegion).e164) } catch {
                throw ConfigurationError("system number \(n) is not valid: \(error.reason)")
            }
        }
        c.policy = VerificationPolicy(defaultRegion: defaultRegion, limits: limits, enabledChannels: enabled, systemNumbers: numbers)
        return c
    }

    func run() async throws {
        var logger = Logger(label: "verigate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let config: CoreConfiguration
        do { config = try configuration() } catch {
            logger.critical("configuration: \(error)")
            throw ExitCode(78)
        }
        let secret = try Secrets.loadOrCreateSecret(at: secretFile.isEmpty ? (storeOptions.dataDir as NSString).appendingPathComponent("secret") : secretFile)
        let store = try await SQLVerificationStore.open(url: storeOptions.resolvedDatabaseURL, logger: logger)
        do {
            let core = Core(configuration: config, store: store, secret: secret, logger: logger)
            if let key = try await core.bootstrapAPIKey() {
                // Printed once, on the first start; only its hash is stored.
                FileHandle.standardOutput.write(Data("Created API key (shown once, keep it): \(key)\n".utf8))
            }
            let app = core.application()
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: app)] + core.services().map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            logger.info("verigate serving", metadata: ["http": .string(httpAddress), "mode": .string(mode), "region": .string(defaultRegion), "demo": .string(config.demoMode ? "on" : "off")])
            try await group.run()
        } catch {
            try? await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }
}

struct APIKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api-key", abstract: "Create an API key and print it once.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "A name for the key (who uses it).")
    var name: String = "integrator"

    func run() async throws {
        let logger = Logger(label: "verigate")
        let store = try await SQLVerificationStore.open(url: storeOptions.resolvedDatabaseURL, logger: logger)
        let core = Core(configuration: CoreConfiguration(), store: store, secret: Array(repeating: 0, count: 32), logger: logger)
        let key = try await core.addAPIKey(name: name)
        try await store.shutdown()
        print(key)
    }
}

struct WebhookSecret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-secret", abstract: "Print the key (hex) that signs webhooks, for receivers to verify them.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Secret file (env VERIGATE_SECRET_FILE). Default: <data-dir>/secret.")
    var secretFile: String = env("SECRET_FILE") ?? ""

    func run() async throws {
        let secret = try Secrets.loadOrCreateSecret(at: secretFile.isEmpty ? (storeOptions.dataDir as NSString).appendingPathComponent("secret") : secretFile)
        print(Core.webhookSecret(serverSecret: secret).map { String(format: "%02x", $0) }.joined())
    }
}
