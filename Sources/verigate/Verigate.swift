import ABNF
import ArgumentParser
import Foundation
import GatewayProtocol
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

    /// Installs the global executor `VERIGATE_NIO_EXECUTOR` asks for (GlobalExecutor) and the
    /// malloc trim threshold (MallocTrim), then unblocks SIGTERM and SIGINT: a parent (the Swift
    /// test runner, some supervisors) may have left them blocked, and graceful shutdown listens for
    /// them. Then ArgumentParser's parse (a refused value exits 78, EX_CONFIG) and run.
    static func main() async {
        // Before any task is enqueued: which executor runs global jobs (VERIGATE_NIO_EXECUTOR).
        _ = GlobalExecutor.current
        _ = MallocTrim.current
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch {
            // A flag value its type refuses (`--log-level bogus`), like any command line verigate
            // cannot use, is a configuration mistake: exit 78 as for the ones found later.
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Self.exit(withError: ExitCode(78))
            }
            exit(withError: error)
        }
        do {
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

/// Options shared by the commands that open the store.
struct StoreOptions: ParsableArguments {
    @Option(help: "Folder for the SQLite database and the generated secret (env VERIGATE_DATA_DIR). Default: ./data.")
    var dataDir: String?

    @Option(help: "Database: a SQLite file path or sqlite:// URL, or postgres://user@host:port/db (env VERIGATE_DATABASE_URL). Default: <data-dir>/verigate.db.")
    var databaseURL: String?

    @Option(help: "Database connections, 1-1000: SQLite read connections besides its one writer, or PostgreSQL connections (env VERIGATE_DB_POOL). Default: 8.", transform: Int.init(option:))
    var dbPool: Int?

    @Option(help: "PostgreSQL schema holding the tables, created if missing: deployments share a database without sharing a search path (env VERIGATE_POSTGRES_SCHEMA). Default: the server's search path.")
    var postgresSchema: String?

    /// The data folder: `--data-dir`, `VERIGATE_DATA_DIR`, else `./data`.
    func dataDirectory() throws(ConfigurationError) -> String {
        try Settings.resolve(dataDir, "DATA_DIR", default: "./data")
    }

    /// The database: `--database-url`, `VERIGATE_DATABASE_URL`, else `<data-dir>/verigate.db`.
    func resolvedDatabaseURL() throws(ConfigurationError) -> String {
        if let url = try Settings.resolve(databaseURL, "DATABASE_URL") { return url }
        return (try dataDirectory() as NSString).appendingPathComponent("verigate.db")
    }

    /// The secret file: `flag` (a command's `--secret-file`), `VERIGATE_SECRET_FILE`, else `<data-dir>/secret`.
    func secretPath(flag: String?) throws(ConfigurationError) -> String {
        if let path = try Settings.resolve(flag, "SECRET_FILE") { return path }
        return (try dataDirectory() as NSString).appendingPathComponent("secret")
    }

    /// Opens the store these options name; a bad pool size or schema, or an unreadable variable,
    /// exits with 78.
    func openStore(logger: Logger) async throws -> SQLVerificationStore {
        let (url, dbPool, schema): (String, Int?, String?)
        do {
            (url, dbPool, schema) = (try resolvedDatabaseURL(), try Settings.resolve(self.dbPool, "DB_POOL"), try Settings.resolve(postgresSchema, "POSTGRES_SCHEMA"))
            if let dbPool, !(1...1_000).contains(dbPool) { throw ConfigurationError("--db-pool must be 1 to 1000, not \(dbPool)") }
            if let schema {
                guard (try? SQLStoreLocation(url).backend) == .postgres else {
                    throw ConfigurationError("--postgres-schema (VERIGATE_POSTGRES_SCHEMA) needs a postgres:// --database-url; the database is SQLite")
                }
                guard SQLVerificationStore.Configuration.isValidSchema(schema) else {
                    throw ConfigurationError("--postgres-schema must be 1-63 letters, digits and _, not starting with a digit, not \(schema.debugDescription)")
                }
            }
        } catch {
            configurationFailed("\(error)", logger: logger)
        }
        return try await SQLVerificationStore.open(url: url, configuration: .init(poolSize: dbPool, postgresSchema: schema), logger: logger)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the verification core (HTTP API) and the voice gateway in one process, on embedded defaults.")

    @OptionGroup var core: CoreOptions
    @OptionGroup var gatewayOptions: GatewayOptions
    @OptionGroup var log: LogOptions

    @Option(help: "SIP listen address host:port for UDP and TCP (overrides sip.conf's bind), or off for no voice gateway (env VERIGATE_SIP_ADDRESS). Default: sip.conf's bind, else 127.0.0.1:5060.", transform: SIPListen.init(option:))
    var sipAddress: SIPListen?

    func run() async throws {
        let logger = log.logger()
        // Read sip.conf before anything starts, so a mistake in it stops the process at once.
        let (listen, region): (SIPListen?, Region)
        do { (listen, region) = (try Settings.resolve(sipAddress, "SIP_ADDRESS"), try core.region()) } catch {
            configurationFailed("\(error)", logger: logger)
        }
        let conf: SIPConf?
        switch listen {
        case .off: conf = nil
        case .address(let address): conf = gatewayOptions.load(region: region.code, sipAddress: address, logger: logger)
        case nil: conf = gatewayOptions.load(region: region.code, sipAddress: nil, logger: logger)
        }
        // The prompts too: a folder that is missing or incomplete stops the start here (exit 78).
        let media = conf.flatMap { gatewayOptions.media(conf: $0, logger: logger) }
        // The gateway of this process reaches its core in process: the same messages as values, no
        // JSON, no socket (the socket still serves gateways of their own, `verigate gateway`).
        let link = conf == nil ? nil : InProcessGatewayLink()
        try await core.run(logger: logger, gatewayLink: link) { socket, metrics in
            guard let conf, let link else { return [] }
            let runner = try await GatewayRunner.start(conf: conf, core: .inProcess(link), media: media,
                                                       journal: gatewayOptions.journalPath(socket: socket, logger: logger), logger: logger)
            // One /metrics: the gateway's counters join the core's.
            let gatewayMetrics = GatewayMetrics(registry: metrics.registry, calls: runner.gateway.calls, media: runner.gateway.media?.statistics,
                                                 registrations: runner.gateway.registrations, trunks: runner.gateway.trunks)
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
    var secretFile: String?

    func run() async throws {
        let path: String
        do { path = try storeOptions.secretPath(flag: secretFile) } catch {
            configurationFailed("\(error)", logger: Logger(label: "verigate"))
        }
        let secret = try Secrets.loadOrCreateSecret(at: path)
        print(Core.webhookSecret(serverSecret: secret).hexEncoded)
    }
}
