// GatewayConfiguration: the gateway's call-handling knobs. sip.conf (issue 6) will fill these; the
// defaults are the safe loopback ones.

/// How the gateway treats calls.
public struct GatewayConfiguration: Sendable {
    /// The gateway's name in `hello` (unique among the gateways of one core).
    public var name: String
    /// Peers whose P-Asserted-Identity (or From) is trusted as caller ID (RFC 3325 trust domain).
    public var trustedPeers: [IPNetwork]
    /// Region for national caller numbers (ISO 3166 alpha-2).
    public var region: String
    /// Read Remote-Party-ID from untrusted peers too (some older trunks send only that).
    public var useRemotePartyID: Bool
    /// missed_call: how long to ring before rejecting (the caller's phone shows a short ring).
    public var missedCallRingTime: Duration
    /// missed_call: the status that ends the call without answering (603 Decline).
    public var missedCallRejectStatus: Int
    /// No pending verification for the caller: reject with this (404), never answer.
    public var noVerificationStatus: Int
    /// How long to wait for the core's decision before refusing the call with 503.
    public var coreTimeout: Duration
    /// Where outgoing calls go: a SIP URI with `{number}` for the E.164 number called, e.g.
    /// `sip:{number}@127.0.0.1:5070` (a trunk or test peer; literal IP). Nil: no outgoing calls.
    public var outboundTarget: String?
    /// The caller ID of outgoing calls (From user part), e.g. a system number.
    public var outboundCallerID: String
    /// Peers by source address with their trust, region and Remote-Party-ID use (sip.conf peer
    /// sections); see `callerPolicy(for:)`. Empty: `trustedPeers` and `region` apply to every call.
    public var peers: [GatewayPeer]
    /// The system numbers (E.164) callers dial, from sip.conf (to be reported to the core).
    public var systemNumbers: [String]
    /// Trunks (sip.conf `type = trunk`), in file order; each also has a peer in `peers` by its name.
    public var trunks: [Trunk] = []
    /// Outbound routes (sip.conf `route`); the longest matching prefix wins, else `outboundTarget`.
    public var routes: [OutboundRoute] = []
    /// The DNS server trunk host names are resolved with (sip.conf `dns_server`, `IP:port`); nil:
    /// the system's resolvers.
    public var dnsServer: String?
    /// SRTP settings of calls from no peer section (sip.conf `[general]`: `media_encryption`, `srtp`).
    public var mediaSecurity = MediaSecurity()
    /// The addresses trunk host names resolved to: source addresses of those trunks (`peer(for:)`).
    public var trunkAddresses = TrunkAddresses()

    /// The defaults: loopback trusted, region TW, 1.5 s ring then 603, 404 when nothing is pending.
    public init(
        name: String = "gateway", trustedPeers: [IPNetwork] = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!], region: String = "TW",
        useRemotePartyID: Bool = false, missedCallRingTime: Duration = .milliseconds(1_500), missedCallRejectStatus: Int = 603,
        noVerificationStatus: Int = 404, coreTimeout: Duration = .seconds(2), outboundTarget: String? = nil, outboundCallerID: String = "verigate",
        peers: [GatewayPeer] = [], systemNumbers: [String] = []
    ) {
        self.peers = peers
        self.systemNumbers = systemNumbers
        self.outboundTarget = outboundTarget
        self.outboundCallerID = outboundCallerID
        self.name = name
        self.trustedPeers = trustedPeers
        self.region = region
        self.useRemotePartyID = useRemotePartyID
        self.missedCallRingTime = missedCallRingTime
        self.missedCallRejectStatus = missedCallRejectStatus
        self.noVerificationStatus = noVerificationStatus
        self.coreTimeout = coreTimeout
    }
}
