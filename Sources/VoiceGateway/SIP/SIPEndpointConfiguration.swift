// SIPEndpointConfiguration: the knobs of a SIP endpoint (listen addresses, timers, limits).

import NIOCore
import SIPMessage
import SIPStack

/// How a `SIPEndpoint` listens and behaves. The defaults are safe on loopback.
public struct SIPEndpointConfiguration: Sendable {
    /// UDP listen addresses (RFC 3261 §18; IPv4 and/or IPv6). Port 0 picks a free port.
    public var udp: [SocketAddress]
    /// TCP listen addresses (§18).
    public var tcp: [SocketAddress]
    /// TLS listen addresses (§26.2, RFC 5630; 5061 by default in sip.conf `tls_bind`). Needs `tlsSettings`.
    public var tls: [SocketAddress]
    /// Certificate, key and trusted CAs of the TLS transport. TLS connections we dial (to
    /// `transport=tls` destinations) go through that transport, so outgoing TLS needs a `tls` address too.
    public var tlsSettings: SIPTLSSettings?
    /// The host put in Via and Contact when a listen address is a wildcard (0.0.0.0, ::).
    public var advertisedHost: String?
    /// The host (name or literal IP) put in Via sent-by and Contact instead of the bound address,
    /// whatever it is, for a gateway behind NAT (§18.2.1, §8.1.1.8; sip.conf `sip_external_address`).
    public var externalHost: String?
    /// The port put there with `externalHost`; nil: the bound port.
    public var externalPort: Int?
    /// T1, T2, T4 (§17.1.1.1).
    public var timers: SIPTimers
    /// Message size, header count and line length limits (parser).
    public var parserLimits: SIPParserLimits
    /// What the UAS accepts (§8.2): methods, body types, schemes.
    public var capabilities: SIPServerCapabilities
    /// The most calls at once; more INVITEs get 503 with Retry-After (§21.5.4).
    public var maxCalls: Int
    /// Seconds put in Retry-After on 503 (§20.33).
    public var retryAfterSeconds: Int
    /// Live server transactions one source IP may hold; beyond it requests get 503 statelessly.
    public var maxTransactionsPerSource: Int
    /// Live transactions in all.
    public var maxTransactions: Int
    /// Idle TCP connections are closed after this long.
    public var tcpIdleTimeout: Duration
    /// The most TCP connections at once (per transport: TCP and TLS each).
    public var maxTCPConnections: Int
    /// The most TCP or TLS connections with one remote IP address (so that one host cannot take
    /// every slot).
    public var maxConnectionsPerIP: Int
    /// Send 100 Trying when the application has not answered an INVITE within this time (§17.2.1: 200 ms).
    public var tryingDelay: Duration
    /// The user part of our Contact URI.
    public var contactUser: String
    /// Sent in User-Agent and Server headers.
    public var userAgent: String
    /// RFC 4028 session timers: the interval we ask for and the smallest we accept (`session_expires`,
    /// `min_se`); nil turns session timers off (no `Supported: timer`, no 422).
    public var sessionTimer: SessionTimer.Settings?
    /// Test hook: a message for which this returns true is not sent (a lossy path).
    public var dropOutbound: (@Sendable (SIPMessage) -> Bool)?

    /// The SIP methods (UPDATE for session refreshes, RFC 3311), extensions (`timer`, RFC 4028), body
    /// types (SDP, RFC 6086 INFO DTMF) and URI schemes a gateway serves.
    public static let gatewayCapabilities = SIPServerCapabilities(
        allowedMethods: [.invite, .ack, .bye, .cancel, .options, .info, .update],
        supportedExtensions: ["timer"],
        acceptedBodyTypes: [
            .sdp,
            SIPMediaType(type: "application", subtype: "dtmf-relay"),
            SIPMediaType(type: "application", subtype: "dtmf"),
        ]
    )

    /// Loopback UDP and TCP on `port` (5060 by default).
    public init(
        udp: [SocketAddress]? = nil, tcp: [SocketAddress]? = nil, tls: [SocketAddress] = [], tlsSettings: SIPTLSSettings? = nil, port: Int = 5060, advertisedHost: String? = nil,
        externalHost: String? = nil, externalPort: Int? = nil, timers: SIPTimers = .rfc3261, parserLimits: SIPParserLimits = SIPParserLimits(),
        capabilities: SIPServerCapabilities = SIPEndpointConfiguration.gatewayCapabilities,
        maxCalls: Int = 1_000, retryAfterSeconds: Int = 5, maxTransactionsPerSource: Int = 4_096, maxTransactions: Int = 65_536,
        tcpIdleTimeout: Duration = .seconds(300), maxTCPConnections: Int = 1_024, maxConnectionsPerIP: Int = 128, tryingDelay: Duration = .milliseconds(200),
        contactUser: String = "verigate", userAgent: String = "Verigate", sessionTimer: SessionTimer.Settings? = SessionTimer.Settings(),
        dropOutbound: (@Sendable (SIPMessage) -> Bool)? = nil
    ) {
        let loopback = try! SocketAddress(ipAddress: "127.0.0.1", port: port)
        self.udp = udp ?? [loopback]
        self.tcp = tcp ?? [loopback]
        self.tls = tls
        self.tlsSettings = tlsSettings
        self.advertisedHost = advertisedHost
        self.externalHost = externalHost
        self.externalPort = externalPort
        self.timers = timers
        self.parserLimits = parserLimits
        self.capabilities = capabilities
        self.maxCalls = maxCalls
        self.retryAfterSeconds = retryAfterSeconds
        self.maxTransactionsPerSource = maxTransactionsPerSource
        self.maxTransactions = maxTransactions
        self.tcpIdleTimeout = tcpIdleTimeout
        self.maxTCPConnections = maxTCPConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.tryingDelay = tryingDelay
        self.contactUser = contactUser
        self.userAgent = userAgent
        self.sessionTimer = sessionTimer
        self.dropOutbound = dropOutbound
    }
}
