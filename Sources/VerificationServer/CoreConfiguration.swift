import Verification

/// Settings of the verification core (flags and `VERIGATE_*` variables of `verigate serve`).
public struct CoreConfiguration: Sendable {
    /// HTTP listen host (loopback by default).
    public var httpHost: String = "127.0.0.1"
    /// HTTP listen port.
    public var httpPort: Int = 8080
    /// The domain's policy: channels, limits, locales, caller-ID trust.
    public var policy: VerificationPolicy = .init()
    /// Dev mode keeps the SMS outbox at `/dev/outbox`; production mode never shows a code.
    public var devMode: Bool = true
    /// The SMS texts per locale.
    public var smsTemplates: SMSTemplates = .init()
    /// The SMS gateway codes are sent through (`console` by default).
    public var smsDriver: SMSDriver = .console
    /// Seconds within which a sent SMS must get a final delivery report, or its pending
    /// verification fails; 0 = reports are not required (Kannel and SMPP drivers only).
    public var smsReceiptTimeout: Double = 0
    /// Bearer token that `GET /metrics` requires (`Authorization: Bearer <token>`, as Prometheus's
    /// `authorization` scrape setting sends it); nil serves metrics to anyone who reaches the port.
    public var metricsToken: String?
    /// How often the store is swept for expired verifications and due call retries (seconds).
    public var expirySweepInterval: Double = 1
    /// How the changes other nodes sharing the store make reach this node's pages (`StoreEvents`).
    public var storeEvents: StoreEvents = .local
    /// The per-key, per-IP and demo limits are kept in the store, so they hold across the nodes
    /// sharing it (PostgreSQL), not per node (`SharedRateLimiter`).
    public var sharedRateLimits: Bool = false
    /// Demo mode: `GET /` lets visitors start verifications on the hosted page (within
    /// `demoStartsPerVisitor` per `demoPeriod` per client IP), and in dev mode the page shows the SMS outbox.
    public var demoMode: Bool = true
    /// Demo starts allowed per visitor (client IP) per `demoPeriod`.
    public var demoStartsPerVisitor: Int = 10
    /// Window of `demoStartsPerVisitor` (seconds).
    public var demoPeriod: Double = 3600
    /// Public base URL of the server (e.g. https://verify.example.com) for hosted-page links; by
    /// default taken from the request's Host header.
    public var publicURL: String?
    /// Webhook delivery: whether callbacks may reach non-public addresses (`--allow-private-webhooks`),
    /// the resolver, timeouts and retries.
    public var webhooks: WebhookDispatcher.Configuration = .init()
    /// voice_call waits for a key before saying the code (sent in `originate`), so a voicemail that
    /// answers records no code (`--voice-call-keypress`).
    public var voiceCallKeypress: Bool = true

    /// The defaults (README.md "Configuration").
    public init() {}
}

/// How a node learns of the audit events other nodes sharing its store write (README "Several
/// core nodes").
public enum StoreEvents: Sendable, Equatable {
    /// One node (SQLite): every event is published here.
    case local
    /// Read the events of followed verifications every `interval` seconds (`StoreEventFollower`).
    case poll(interval: Double)
    /// PostgreSQL LISTEN/NOTIFY (`StoreEventListener`): each committed event is announced, and
    /// a (re)connected listener catches up with one read.
    case listen
}
