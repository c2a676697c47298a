// Trunk: a `type = trunk` section of sip.conf — a SIP provider we send calls to and receive calls
// from: where it is, how numbers look on it, how we authenticate, and how its inbound calls are
// read. Inbound matching and trust go through the GatewayPeer the trunk also makes (its host
// addresses are its source addresses); see README "Connecting a trunk".

import NIOCore
import SIPMessage

/// A SIP trunk (sip.conf `type = trunk`).
public struct Trunk: Sendable, Equatable {
    /// How the called number of an inbound call is read from the INVITE.
    public enum CalledNumberSource: String, Sendable, Equatable, CaseIterable {
        /// The Request-URI's user part (RFC 3261 §8.2.2.1), the default.
        case requestURI = "request_uri"
        /// The To header's URI (§8.1.1.2), for trunks that put a registered contact in the Request-URI.
        case to
        /// The first Diversion entry (RFC 5806), else the first History-Info entry (RFC 7044), else
        /// the Request-URI: for DIDs forwarded to us.
        case diversion
    }

    /// The section name.
    public var name: String
    /// The provider's host: a literal IP address, or a name the next hops are found for (RFC 3263 §4,
    /// `SIPServerLocator.nextHops(for:)`); the Request-URI and To keep it as written.
    public var host: String
    /// The provider's port; nil: 5060 for a literal IP, SRV for a name (RFC 3263 §4.2).
    public var port: Int?
    /// The transport to the provider (`transport`); nil: UDP.
    public var transport: SIPConf.Transport?
    /// Digest user name and password (§22.2) for the provider's 401/407 challenges.
    public var username: String?
    /// The digest password (`password` or the first line of `password_file`).
    public var password: String?
    /// The digest user name when it differs from `username` (`auth_username`).
    public var authUsername: String?
    /// The realm to answer; nil: any realm the trunk challenges with.
    public var realm: String?
    /// The From user of calls we send (`from_user`); nil: the [general] `outbound_caller_id`.
    public var fromUser: String?
    /// The From host of calls we send (`from_domain`); nil: our own address.
    public var fromDomain: String?
    /// Where our requests go instead of `host` (`outbound_proxy`, §8.1.2), a literal IP with a port.
    public var outboundProxy: SocketAddress?
    /// How numbers we send to this trunk are written.
    public var numberFormat: TrunkNumberFormat
    /// The region of national numbers to and from this trunk (ISO 3166 alpha-2).
    public var region: String
    /// Where the called number of inbound calls is read.
    public var calledNumber: CalledNumberSource
    /// REGISTER with the provider (RFC 3261 §10; `TrunkRegistration` keeps the binding).
    public var register: Bool
    /// The user part of the Contact we register (`contact_user`; default: the section name), distinct
    /// per trunk: a call the provider delivers to that contact is this trunk's.
    public var contactUser: String
    /// The Expires we ask for when registering.
    public var registerExpiry: Duration
    /// The OPTIONS ping interval (`qualify`, RFC 3261 §11); nil: never pinged, always up
    /// (`TrunkAvailability`).
    public var qualify: Duration?

    /// Makes a trunk with the defaults: UDP, E.164 with `+`, numbers read from the Request-URI.
    public init(name: String, host: String, port: Int? = nil, transport: SIPConf.Transport? = nil, numberFormat: TrunkNumberFormat = .e164,
                region: String = "TW", calledNumber: CalledNumberSource = .requestURI) {
        self.name = name
        self.host = host
        self.port = port
        self.transport = transport
        self.numberFormat = numberFormat
        self.region = region
        self.calledNumber = calledNumber
        self.register = false
        self.contactUser = name
        self.registerExpiry = .seconds(3_600)
    }

    /// The tech prefix inbound numbers may carry (the one we send with), if any.
    public var techPrefix: String? {
        if case .techPrefix(let prefix) = numberFormat { return prefix }
        return nil
    }

    /// The host as it goes in a URI (`[v6]` bracketed).
    var uriHost: String { host.contains(":") ? "[\(host)]" : host }

    /// The Request-URI for calling `number` (E.164) on this trunk, in the trunk's number format.
    public func requestURI(calling number: String) -> SIPAnyURI? {
        let user = TrunkNumbers.outbound(number, format: numberFormat, region: region)
        var text = "sip:\(user)@\(uriHost)"
        if let port { text += ":\(port)" }
        // RFC 5630 §3.1.3: transport=tls on a sip: URI, not sips:.
        if let transport, transport != .udp { text += ";transport=\(transport.rawValue)" }
        return try? SIPAnyURI(parsing: text)
    }

    /// Whether `host` is a name (resolved by RFC 3263 §4) rather than a literal IP address.
    public var hostIsName: Bool { (try? SocketAddress(ipAddress: host, port: 0)) == nil }

    /// Where requests go without DNS: the outbound proxy, else a literal IP host itself; nil for a
    /// host name (its next hops come from `SIPServerLocator.nextHops(for:)`).
    public var nextHop: SIPPeer? {
        let protocolName = transport?.sipTransport ?? .udp
        if let outboundProxy { return SIPPeer(protocolName, outboundProxy) }
        guard let address = try? SocketAddress(ipAddress: host, port: port ?? SIPServerLocator.defaultPort(protocolName)) else { return nil }
        return SIPPeer(protocolName, address)
    }

    /// The called number of an inbound INVITE from this trunk, as configured, before normalising
    /// (the tech prefix already removed).
    public func rawCalledNumber(of request: SIPRequest) -> String? {
        switch calledNumber {
        case .requestURI:
            return (try? request.uri()).flatMap { number(of: SIPNameAddress(uri: $0)) }
        case .to:
            return (try? request.headers.to()).flatMap(number(of:))
        case .diversion:
            if let first = (try? request.headers.diversion())?.first, let number = number(of: first) { return number }
            if let first = (try? request.headers.historyInfo())?.first, let number = number(of: first) { return number }
            return (try? request.uri()).flatMap { number(of: SIPNameAddress(uri: $0)) }
        }
    }

    /// The number in `address` (see `CallerIdentity.number(of:)`), after this trunk's tech prefix
    /// when the user part starts with it (`12345678*886229996666`: `*` is no digit).
    func number(of address: SIPNameAddress) -> String? {
        if let techPrefix, case .sip(var sip) = address.uri, let user = sip.user, user.hasPrefix(techPrefix) {
            sip.user = String(user.dropFirst(techPrefix.count))
            return CallerIdentity.number(of: SIPNameAddress(uri: .sip(sip)))
        }
        return CallerIdentity.number(of: address)
    }
}

extension GatewayConfiguration {
    /// The trunk a call from `address` to `requestURI` comes from: a registering trunk whose Contact
    /// user is the Request-URI's user (the provider delivers to our registered contact, RFC 3261
    /// §10.2, §16.5) and whose host addresses (or its host name's resolved addresses) include
    /// `address`; else the first peer or trunk section matching the source address, when that
    /// section is a trunk.
    public func trunk(for address: SocketAddress, requestURI: SIPAnyURI? = nil) -> Trunk? {
        if let user = requestURI?.sipURI?.user,
           let trunk = trunks.first(where: { trunk in
               trunk.register && trunk.contactUser == user
                   && peers.contains { $0.name == trunk.name && ($0.matches(address) || trunkAddresses.contains($0.name, address)) }
           }) {
            return trunk
        }
        guard let peer = peer(for: address) else { return nil }
        return trunks.first { $0.name == peer.name }
    }
}
