// Header field names: case-insensitive, with compact forms (RFC 3261 §7.3.1, §7.3.3, §20).

/// A SIP header field name, compared case-insensitively with compact forms folded to the full name
/// (RFC 3261 §7.3.1: "field names are always case-insensitive"; §7.3.3 compact forms).
public struct SIPHeaderName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Header names this module knows, with their canonical spelling and compact form.
    @usableFromInline
    enum Known: UInt8, CaseIterable, Sendable {
        case other = 0
        case via, from, to, callID, cseq, contact, maxForwards, contentLength, contentType, route, recordRoute
        case require, supported, proxyRequire, unsupported, allow, accept, acceptEncoding, acceptLanguage
        case pAssertedIdentity, pPreferredIdentity, privacy, remotePartyID
        case authorization, wwwAuthenticate, proxyAuthenticate, proxyAuthorization, authenticationInfo
        case subject, contentEncoding, event, allowEvents, referTo, referredBy, sessionExpires, expires
        case date, userAgent, server, minExpires, retryAfter, contentDisposition, timestamp, warning, minSE

        var canonical: String {
            switch self {
            case .other: ""
            case .via: "Via"
            case .from: "From"
            case .to: "To"
            case .callID: "Call-ID"
            case .cseq: "CSeq"
            case .contact: "Contact"
            case .maxForwards: "Max-Forwards"
            case .contentLength: "Content-Length"
            case .contentType: "Content-Type"
            case .route: "Route"
            case .recordRoute: "Record-Route"
            case .require: "Require"
            case .supported: "Supported"
            case .proxyRequire: "Proxy-Require"
            case .unsupported: "Unsupported"
            case .allow: "Allow"
            case .accept: "Accept"
            case .acceptEncoding: "Accept-Encoding"
            case .acceptLanguage: "Accept-Language"
            case .pAssertedIdentity: "P-Asserted-Identity"
            case .pPreferredIdentity: "P-Preferred-Identity"
            case .privacy: "Privacy"
            case .remotePartyID: "Remote-Party-ID"
            case .authorization: "Authorization"
            case .wwwAuthenticate: "WWW-Authenticate"
            case .proxyAuthenticate: "Proxy-Authenticate"
            case .proxyAuthorization: "Proxy-Authorization"
            case .authenticationInfo: "Authentication-Info"
            case .subject: "Subject"
            case .contentEncoding: "Content-Encoding"
            case .event: "Event"
            case .allowEvents: "Allow-Events"
            case .referTo: "Refer-To"
            case .referredBy: "Referred-By"
            case .sessionExpires: "Session-Expires"
            case .expires: "Expires"
            case .date: "Date"
            case .userAgent: "User-Agent"
            case .server: "Server"
            case .minExpires: "Min-Expires"
            case .minSE: "Min-SE"
            case .retryAfter: "Retry-After"
            case .contentDisposition: "Content-Disposition"
            case .timestamp: "Timestamp"
            case .warning: "Warning"
            }
        }

        /// Compact forms, RFC 3261 §7.3.3 and the registry (RFC 3265 o/u, RFC 3515 r, RFC 3892 b, RFC 4028 x).
        static func compact(_ c: UInt8) -> Known? {
            switch c | 0x20 {
            case UInt8(ascii: "i"): .callID
            case UInt8(ascii: "m"): .contact
            case UInt8(ascii: "f"): .from
            case UInt8(ascii: "t"): .to
            case UInt8(ascii: "v"): .via
            case UInt8(ascii: "l"): .contentLength
            case UInt8(ascii: "c"): .contentType
            case UInt8(ascii: "k"): .supported
            case UInt8(ascii: "s"): .subject
            case UInt8(ascii: "e"): .contentEncoding
            case UInt8(ascii: "o"): .event
            case UInt8(ascii: "u"): .allowEvents
            case UInt8(ascii: "r"): .referTo
            case UInt8(ascii: "b"): .referredBy
            case UInt8(ascii: "x"): .sessionExpires
            default: nil
            }
        }

        /// Finds the known header for raw name bytes (any case, compact forms folded), allocation-free.
        @usableFromInline
        static func lookup(_ name: UnsafeRawBufferPointer) -> Known {
            @inline(__always) func eq(_ s: StaticString) -> Bool {
                let p = s.utf8Start
                for i in 0..<name.count where (name[i] | 0x20) != p[i] { return false }
                return true
            }
            switch name.count {
            case 1: return compact(name[0]) ?? .other
            case 2: if eq("to") { return .to }
            case 3: if eq("via") { return .via }
            case 4: if eq("from") { return .from }; if eq("cseq") { return .cseq }; if eq("date") { return .date }
            case 5: if eq("route") { return .route }; if eq("allow") { return .allow }; if eq("event") { return .event }
            case 6: if eq("accept") { return .accept }; if eq("server") { return .server }; if eq("min-se") { return .minSE }
            case 7: if eq("call-id") { return .callID }; if eq("contact") { return .contact }; if eq("require") { return .require }; if eq("privacy") { return .privacy }; if eq("subject") { return .subject }; if eq("expires") { return .expires }; if eq("warning") { return .warning }
            case 8: if eq("refer-to") { return .referTo }
            case 9: if eq("supported") { return .supported }; if eq("timestamp") { return .timestamp }
            case 10: if eq("user-agent") { return .userAgent }
            case 11: if eq("unsupported") { return .unsupported }; if eq("referred-by") { return .referredBy }; if eq("min-expires") { return .minExpires }; if eq("retry-after") { return .retryAfter }
            case 12: if eq("max-forwards") { return .maxForwards }; if eq("content-type") { return .contentType }; if eq("record-route") { return .recordRoute }; if eq("allow-events") { return .allowEvents }
            case 13: if eq("proxy-require") { return .proxyRequire }; if eq("authorization") { return .authorization }
            case 14: if eq("content-length") { return .contentLength }
            case 15: if eq("accept-encoding") { return .acceptEncoding }; if eq("accept-language") { return .acceptLanguage }; if eq("remote-party-id") { return .remotePartyID }; if eq("session-expires") { return .sessionExpires }
            case 16: if eq("www-authenticate") { return .wwwAuthenticate }; if eq("content-encoding") { return .contentEncoding }
            case 18: if eq("proxy-authenticate") { return .proxyAuthenticate }
            case 19: if eq("p-asserted-identity") { return .pAssertedIdentity }; if eq("proxy-authorization") { return .proxyAuthorization }; if eq("authentication-info") { return .authenticationInfo }; if eq("content-disposition") { return .contentDisposition }
            case 20: if eq("p-preferred-identity") { return .pPreferredIdentity }
            default: break
            }
            return .other
        }
    }

    @usableFromInline let known: Known
    /// Lower-cased name for headers this module does not know (empty for known ones).
    @usableFromInline let otherLowercased: String

    @usableFromInline
    init(known: Known) {
        self.known = known
        self.otherLowercased = ""
    }

    /// Makes a header name from any spelling: case and compact forms are folded (`"v"` is Via).
    public init(_ name: String) {
        var copy = name
        let known = copy.withUTF8 { Known.lookup(UnsafeRawBufferPointer($0)) }
        self.known = known
        self.otherLowercased = known == .other ? name.lowercased() : ""
    }

    /// Makes a header name from a string literal, as `init(_:)`.
    public init(stringLiteral value: String) { self.init(value) }

    /// The canonical spelling (`Call-ID`, `WWW-Authenticate`); unknown names as lower case.
    public var description: String { known == .other ? otherLowercased : known.canonical }

    /// Via, RFC 3261 §20.42 (compact `v`).
    public static let via = SIPHeaderName(known: .via)
    /// From, RFC 3261 §20.20 (compact `f`).
    public static let from = SIPHeaderName(known: .from)
    /// To, RFC 3261 §20.39 (compact `t`).
    public static let to = SIPHeaderName(known: .to)
    /// Call-ID, RFC 3261 §20.8 (compact `i`).
    public static let callID = SIPHeaderName(known: .callID)
    /// CSeq, RFC 3261 §20.16.
    public static let cseq = SIPHeaderName(known: .cseq)
    /// Contact, RFC 3261 §20.10 (compact `m`).
    public static let contact = SIPHeaderName(known: .contact)
    /// Max-Forwards, RFC 3261 §20.22.
    public static let maxForwards = SIPHeaderName(known: .maxForwards)
    /// Content-Length, RFC 3261 §20.14 (compact `l`).
    public static let contentLength = SIPHeaderName(known: .contentLength)
    /// Content-Type, RFC 3261 §20.15 (compact `c`).
    public static let contentType = SIPHeaderName(known: .contentType)
    /// Route, RFC 3261 §20.34.
    public static let route = SIPHeaderName(known: .route)
    /// Record-Route, RFC 3261 §20.30.
    public static let recordRoute = SIPHeaderName(known: .recordRoute)
    /// Require, RFC 3261 §20.32.
    public static let require = SIPHeaderName(known: .require)
    /// Supported, RFC 3261 §20.37 (compact `k`).
    public static let supported = SIPHeaderName(known: .supported)
    /// Proxy-Require, RFC 3261 §20.29.
    public static let proxyRequire = SIPHeaderName(known: .proxyRequire)
    /// Unsupported, RFC 3261 §20.40.
    public static let unsupported = SIPHeaderName(known: .unsupported)
    /// Allow, RFC 3261 §20.5.
    public static let allow = SIPHeaderName(known: .allow)
    /// Accept, RFC 3261 §20.1.
    public static let accept = SIPHeaderName(known: .accept)
    /// Accept-Encoding, RFC 3261 §20.2.
    public static let acceptEncoding = SIPHeaderName(known: .acceptEncoding)
    /// Accept-Language, RFC 3261 §20.3.
    public static let acceptLanguage = SIPHeaderName(known: .acceptLanguage)
    /// P-Asserted-Identity, RFC 3325 §9.1.
    public static let pAssertedIdentity = SIPHeaderName(known: .pAssertedIdentity)
    /// P-Preferred-Identity, RFC 3325 §9.2.
    public static let pPreferredIdentity = SIPHeaderName(known: .pPreferredIdentity)
    /// Privacy, RFC 3323 §4.2.
    public static let privacy = SIPHeaderName(known: .privacy)
    /// Remote-Party-ID, draft-ietf-sip-privacy-04 (still sent by many trunks).
    public static let remotePartyID = SIPHeaderName(known: .remotePartyID)
    /// Authorization, RFC 3261 §20.7.
    public static let authorization = SIPHeaderName(known: .authorization)
    /// WWW-Authenticate, RFC 3261 §20.44.
    public static let wwwAuthenticate = SIPHeaderName(known: .wwwAuthenticate)
    /// Proxy-Authenticate, RFC 3261 §20.27.
    public static let proxyAuthenticate = SIPHeaderName(known: .proxyAuthenticate)
    /// Proxy-Authorization, RFC 3261 §20.28.
    public static let proxyAuthorization = SIPHeaderName(known: .proxyAuthorization)
    /// Authentication-Info, RFC 3261 §20.6.
    public static let authenticationInfo = SIPHeaderName(known: .authenticationInfo)
    /// Subject, RFC 3261 §20.36 (compact `s`).
    public static let subject = SIPHeaderName(known: .subject)
    /// Content-Encoding, RFC 3261 §20.12 (compact `e`).
    public static let contentEncoding = SIPHeaderName(known: .contentEncoding)
    /// Event, RFC 6665 §8.2.1 (compact `o`).
    public static let event = SIPHeaderName(known: .event)
    /// Allow-Events, RFC 6665 §8.2.2 (compact `u`).
    public static let allowEvents = SIPHeaderName(known: .allowEvents)
    /// Refer-To, RFC 3515 §2.1 (compact `r`).
    public static let referTo = SIPHeaderName(known: .referTo)
    /// Referred-By, RFC 3892 (compact `b`).
    public static let referredBy = SIPHeaderName(known: .referredBy)
    /// Session-Expires, RFC 4028 (compact `x`).
    public static let sessionExpires = SIPHeaderName(known: .sessionExpires)
    /// Expires, RFC 3261 §20.19.
    public static let expires = SIPHeaderName(known: .expires)
    /// Date, RFC 3261 §20.17.
    public static let date = SIPHeaderName(known: .date)
    /// User-Agent, RFC 3261 §20.41.
    public static let userAgent = SIPHeaderName(known: .userAgent)
    /// Server, RFC 3261 §20.35.
    public static let server = SIPHeaderName(known: .server)
    /// Min-Expires, RFC 3261 §20.23.
    public static let minExpires = SIPHeaderName(known: .minExpires)
    /// Min-SE, RFC 4028 §5.
    public static let minSE = SIPHeaderName(known: .minSE)
    /// Retry-After, RFC 3261 §20.33.
    public static let retryAfter = SIPHeaderName(known: .retryAfter)
    /// Content-Disposition, RFC 3261 §20.11.
    public static let contentDisposition = SIPHeaderName(known: .contentDisposition)
    /// Timestamp, RFC 3261 §20.38.
    public static let timestamp = SIPHeaderName(known: .timestamp)
    /// Warning, RFC 3261 §20.43.
    public static let warning = SIPHeaderName(known: .warning)
}
