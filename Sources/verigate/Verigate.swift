import ArgumentParser
import Foundation
import Synchronization
import Hummingbird
import Logging
import SMPP
import ServiceLifecycle
import Verification
import VerificationServer
import VoiceGateway

/// `verigate`: the verification server.
@main
struct Verigate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Self-hosted phone-number verification: SMS, voice, call-in, missed-call and keyed codes.",
        subcommands: [Serve.self, CoreCommand.self, GatewayCommand.self, APIKey.self, WebhookSecret.self],
        defaultSubcommand: Serve.self)

    /// Unblocks SIGTERM and SIGINT first: a parent (the Swift test runner, some supervisors) may
    /// have left them blocked, and graceful shutdown listens for them. Then ArgumentParser's run.
    static func main() async {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Reads `VERIGATE_<NAME>` from the environment.
func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["VERIGATE_" + name].flatMap { $0.isEmpty ? nil : $0 }
}

/// Reads a numeric `VERIGATE_<NAME>`, else `fallback`. A value that is not a number of that type
/// (`VERIGATE_CODE_TTL=10m`) is not replaced by the default in silence: it is kept in
/// `EnvironmentErrors`, which the commands check before they start (exit 78).
func env<Number: LosslessStringConvertible & Numeric>(_ name: String, _ fallback: Number) -> Number {
    guard let text = env(name) else { return fallback }
    if let value = Number(text.trimmingCharacters(in: .whitespaces)) { return value }
    EnvironmentErrors.record("VERIGATE_\(name) must be \(Number.self == Int.self ? "a whole number" : "a number"), not \"\(text)\"")
    return fallback
}

/// Environment variables that could not be read, for `check()` to refuse.
enum EnvironmentErrors {
    private static let messages = Mutex<[String]>([])

    static func record(_ message: String) {
        messages.withLock { $0.append(message) }
    }

    /// Throws the first unreadable variable's message, if any.
    static func check() throws(ConfigurationError) {
        if let first = messages.withLock({ $0.first }) { throw ConfigurationError(first) }
    }
}

/// Options shared by the commands that open the store.
struct StoreOptions: ParsableArguments {
    @Option(help: "Folder for the SQLite database and the generated secret (env VERIGATE_DATA_DIR).")
    var dataDir: String = env("DATA_DIR") ?? "./data"

    @Option(help: "Database: a SQLite file path or sqlite:// URL, or postgres://user@host:port/db (env VERIGATE_DATABASE_URL). Default: <data-dir>/verigate.db.")
    var databaseURL: String = env("DATABASE_URL") ?? ""

    @Option(help: "Database connections: SQLite read connections besides its one writer, or PostgreSQL connections (env VERIGATE_DB_POOL). Default: 8.")
    var dbPool: Int?

    var resolvedDatabaseURL: String { databaseURL.isEmpty ? (dataDir as NSString).appendingPathComponent("verigate.db") : databaseURL }

    /// Opens the store these options name; a bad pool size or unreadable variable exits with 78.
    func openStore(logger: Logger) async throws -> SQLVerificationStore {
        // Read here, not as the option's default: an optional option cannot have one.
        let dbPool = dbPool ?? env("DB_POOL").map { _ in env("DB_POOL", 0) }
        do {
            try EnvironmentErrors.check()
            if let dbPool, !(1...1_000).contains(dbPool) { throw ConfigurationError("--db-pool must be 1 to 1000, not \(dbPool)") }
        } catch {
            configurationFailed("\(error)", logger: logger)
        }
        return try await SQLVerificationStore.open(
            url: resolvedDatabaseURL, configuration: .init(poolSize: dbPool), logger: logger)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the verification core (HTTP API) and the voice gateway in one process, on embedded defaults.")

    @OptionGroup var core: CoreOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var log: LogOptions

    @Option(help: "SIP listen address host:port for UDP and TCP (overrides sip.conf's bind), or off for no voice gateway (env VERIGATE_SIP_ADDRESS). Default: sip.conf's bind, else 127.0.0.1:5060.")
    var sipAddress: String = env("SIP_ADDRESS") ?? ""

    func run() async throws {
        let logger = log.logger()
        // Read sip.conf before anything starts, so a mistake in it stops the process at once.
        let conf: SIPConf? = sipAddress == "off" ? nil : gatewayOptions.load(region: core.defaultRegion, sipAddress: sipAddress.isEmpty ? nil : sipAddress, logger: logger)
        try await core.run(logger: logger) { socket, metrics in
            guard let conf else { return [] }
            let runner = try await GatewayRunner.start(conf: conf, coreSocket: socket, promptsDirectory: gatewayOptions.prompts,
                                                       journal: gatewayOptions.journalPath(socket: socket), logger: logger)
            // One /metrics: the gateway's counters join the core's.
            let gatewayMetrics = GatewayMetrics(registry: metrics.registry, calls: runner.gateway.calls, media: runner.gateway.media?.statistics)
            metrics.addCollector { gatewayMetrics.collect() }
            return [runner]
        }
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
