// SIPConf: the gateway's telephony settings as read from sip.conf (INI in the style of Asterisk's
// sip.conf; see sip.conf.example), and their mapping onto the endpoint and gateway configurations.

import Foundation
import NIOCore
import SDP
import SIPStack

/// Everything sip.conf sets. `SIPConf()` holds the defaults: loopback only, which is what
/// `SIPEndpointConfiguration()` and `GatewayConfiguration()` give.
public struct SIPConf: Sendable, Equatable {
    /// A SIP transport (RFC 3261 §18).
    public enum Transport: String, Sendable, Equatable, CaseIterable {
        /// §18 over UDP.
        case udp
        /// §18 over TCP.
        case tcp
        /// §26.2 over TLS (RFC 5630): trunks only; the listener is `tls_bind`.
        case tls

        /// The endpoint's transport protocol.
        public var sipTransport: SIPTransportProtocol {
            switch self {
            case .udp: .udp
            case .tcp: .tcp
            case .tls: .tls
            }
        }
    }

    /// The gateway's name in `hello` (`name`).
    public var name: String = "gateway"
    /// Listen addresses (`bind`), each used for every transport in `transports`. Port 0: any free port.
    public var bind: [SocketAddress] = [try! SocketAddress(ipAddress: "127.0.0.1", port: 5060)]
    /// Transports served (`transport`).
    public var transports: [Transport] = [.udp, .tcp]
    /// Host put in Via and Contact when a bind address is a wildcard (`advertised_host`).
    public var advertisedHost: String?
    /// Host (name or literal IP) and optional port put in Via sent-by and Contact instead of the
    /// bound ones, for a gateway behind NAT (`sip_external_address`; RFC 3261 §18.2.1, §8.1.1.8).
    public var sipExternalHost: String?
    /// The port of `sip_external_address`; nil: the bound port.
    public var sipExternalPort: Int?
    /// Sent in User-Agent and Server (`user_agent`).
    public var userAgent: String = "Verigate"
    /// Calls at once before 503 (`max_calls`; RFC 3261 §21.5.4).
    public var maxCalls: Int = 1_000
    /// Retry-After on 503, seconds (`retry_after`; §20.33).
    public var retryAfterSeconds: Int = 5
    /// Live server transactions per source IP (`max_transactions_per_source`).
    public var maxTransactionsPerSource: Int = 4_096
    /// Live transactions in all (`max_transactions`).
    public var maxTransactions: Int = 65_536
    /// TCP connections at once (`max_tcp_connections`).
    public var maxTCPConnections: Int = 1_024
    /// Idle TCP connections are closed after this (`tcp_idle_timeout`).
    public var tcpIdleTimeout: Duration = .seconds(300)
    /// TCP or TLS connections from one IP address (`max_connections_per_ip`).
    public var maxConnectionsPerIP: Int = 128
    /// TLS listen addresses (`tls_bind`, port 5061 unless given; RFC 3261 §26.2); empty: no TLS.
    public var tlsBind: [SocketAddress] = []
    /// Certificate, key, CA file, client certificates, handshake timeout (`tls_certificate`,
    /// `tls_private_key`, `tls_ca_file`, `tls_require_client_certificate`, `tls_handshake_timeout`);
    /// set whenever `tlsBind` is.
    public var tls: SIPTLSSettings?
    /// RTP, codecs, prompt locale, digit collection.
    public var media = MediaSettings()
    /// Numbers callers dial (`system_number`, E.164).
    public var systemNumbers: [String] = []
    /// Region for national numbers of callers not from a peer with its own (`region`).
    public var region: String = "TW"
    /// Read Remote-Party-ID from untrusted callers not from a peer with its own setting (`use_rpid`).
    public var useRemotePartyID: Bool = false
    /// missed_call: ring this long, then reject (`missed_call_ring_time`).
    public var missedCallRingTime: Duration = .milliseconds(1_500)
    /// missed_call: the rejecting status (`missed_call_reject`, 4xx–6xx).
    public var missedCallRejectStatus: Int = 603
    /// Nothing pending for the caller: reject with this (`no_verification_reject`, 4xx–6xx).
    public var noVerificationStatus: Int = 404
    /// The core's decision must come within this, else 503 (`core_timeout`).
    public var coreTimeout: Duration = .seconds(2)
    /// Outgoing calls go to this SIP URI with `{number}` replaced (`outbound_target`); nil: none.
    public var outboundTarget: String?
    /// From user of outgoing calls (`outbound_caller_id`).
    public var outboundCallerID: String = "verigate"
    /// RFC 4028 session timers (`session_timers`, `session_expires`, `min_se`); nil when
    /// `session_timers = no`.
    public var sessionTimer: SessionTimer.Settings? = SessionTimer.Settings()
    /// Peer sections, in file order (the first match wins).
    public var peers: [GatewayPeer] = [GatewayPeer(name: "loopback", networks: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!], trusted: true)]
    /// Trunk sections, in file order (each also in `peers`, for inbound matching and trust).
    public var trunks: [Trunk] = []
    /// Outbound routes (`route = +886 -> trunk, trunk`), in file order.
    public var routes: [OutboundRoute] = []
    /// The DNS server for trunk host names (`dns_server`), `IPv4:port` or `[IPv6]:port`; nil: the
    /// system's resolvers.
    public var dnsServer: String?
    /// `media_encryption` and `srtp` of `[general]`: the defaults of peers and trunks (README "Encrypted calls").
    public var mediaSecurity = MediaSecurity()

    /// The defaults.
    public init() {}

    /// Largest file read (1 MiB).
    public static let maxFileSize = 1 << 20
    /// Most lines read.
    public static let maxLines = 10_000
    /// Longest line.
    public static let maxLineLength = 4_096

    /// The keys of `[general]`.
    public static let generalKeys: [String] = [
        "name", "bind", "transport", "advertised_host", "sip_external_address", "rtp_external_address", "user_agent",
        "max_calls", "retry_after", "max_transactions_per_source", "max_transactions", "max_tcp_connections", "tcp_idle_timeout",
        "rtp_start", "rtp_end", "rtp_address", "disallow", "allow", "language", "max_wrong_codes", "first_digit_timeout", "inter_digit_timeout",
        "system_number", "region", "use_rpid", "missed_call_ring_time", "missed_call_reject", "no_verification_reject", "core_timeout",
        "outbound_target", "outbound_caller_id", "route", "session_timers", "session_expires", "min_se", "dns_server",
        "tls_bind", "tls_certificate", "tls_private_key", "tls_ca_file", "tls_require_client_certificate", "tls_handshake_timeout",
        "max_connections_per_ip", "media_encryption", "srtp",
    ]
    /// The keys of a peer section.
    public static let peerKeys: [String] = ["type", "host", "trusted", "region", "use_rpid", "trust_from", "approve_on", "media_latching", "verstat_header",
                                                 "tls_client_identity", "media_encryption", "srtp", "sdes_over_insecure_transport"]

    /// Reads and parses the file at `path` (at most `maxFileSize` bytes, UTF-8); `defaults` holds
    /// what keys the file leaves out take.
    public static func load(path: String, defaults: SIPConf = SIPConf()) throws(SIPConfError) -> SIPConf {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw SIPConfError(.unreadable, file: path, line: 0, "no such file")
        }
        if let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue, size > maxFileSize {
            throw SIPConfError(.tooLarge, file: path, line: 0, "the file has \(size) bytes, more than \(maxFileSize)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SIPConfError(.unreadable, file: path, line: 0, "cannot read the file")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SIPConfError(.unreadable, file: path, line: 0, "the file is not UTF-8")
        }
        return try parse(text, file: path, defaults: defaults)
    }

    /// Parses sip.conf text; `file` names it in errors.
    public static func parse(_ text: String, file: String = "sip.conf", defaults: SIPConf = SIPConf()) throws(SIPConfError) -> SIPConf {
        var parser = SIPConfParser(file: file, defaults: defaults)
        return try parser.parse(text)
    }

    /// The SIP endpoint's configuration: `bind` on each transport, limits, advertised host.
    public var endpointConfiguration: SIPEndpointConfiguration {
        SIPEndpointConfiguration(
            udp: transports.contains(.udp) ? bind : [], tcp: transports.contains(.tcp) ? bind : [], tls: tlsBind, tlsSettings: tls, advertisedHost: advertisedHost,
            externalHost: sipExternalHost, externalPort: sipExternalPort, maxCalls: maxCalls, retryAfterSeconds: retryAfterSeconds, maxTransactionsPerSource: maxTransactionsPerSource,
            maxTransactions: maxTransactions, tcpIdleTimeout: tcpIdleTimeout, maxTCPConnections: maxTCPConnections, maxConnectionsPerIP: maxConnectionsPerIP, userAgent: userAgent,
            sessionTimer: sessionTimer)
    }

    /// The gateway's configuration: trusted networks are those of the trusted peers.
    public var gatewayConfiguration: GatewayConfiguration {
        var configuration = GatewayConfiguration(
            name: name, trustedPeers: peers.filter(\.trusted).flatMap(\.networks), region: region, useRemotePartyID: useRemotePartyID,
            missedCallRingTime: missedCallRingTime, missedCallRejectStatus: missedCallRejectStatus, noVerificationStatus: noVerificationStatus,
            coreTimeout: coreTimeout, outboundTarget: outboundTarget, outboundCallerID: outboundCallerID, peers: peers, systemNumbers: systemNumbers)
        configuration.trunks = trunks
        configuration.routes = routes
        configuration.dnsServer = dnsServer
        configuration.mediaSecurity = mediaSecurity
        return configuration
    }

    /// The host of the first bind address (for RTP when `rtp_address` is not set).
    public var sipHost: String { bind.first?.ipAddress ?? "127.0.0.1" }
}
