// SessionTimer: the RFC 4028 session timer of one call as a value — the negotiation (§7 UAC, §9
// UAS), who refreshes (§9), when to refresh (§7.4, §10) and when the session expires (§10).

import SIPMessage

/// The session timer of one call (RFC 4028): the session interval, who refreshes, and the instants
/// derived from them. `InviteSession` owns it; it reads no clock.
public struct SessionTimer: Sendable, Equatable {
    /// The side that refreshes (RFC 4028 §4, the `refresher` parameter).
    public enum Refresher: String, Sendable, Equatable {
        /// The side that sent the initial INVITE.
        case uac
        /// The side that answered it.
        case uas
    }

    /// Our wishes: the interval we ask for or accept (`session_expires`) and the smallest we accept
    /// (`min_se`, RFC 4028 §5; 90 s on the wire by §4, smaller only in tests).
    public struct Settings: Sendable, Equatable {
        /// The session interval we ask for, seconds (RFC 4028 §4 recommends 1800).
        public var sessionExpires: Int
        /// The smallest session interval we accept, seconds (RFC 4028 §5).
        public var minSE: Int

        /// Makes settings; `sessionExpires` is raised to `minSE` when smaller.
        public init(sessionExpires: Int = 1_800, minSE: Int = 90) {
            self.minSE = max(1, minSE)
            self.sessionExpires = max(sessionExpires, self.minSE)
        }
    }

    /// The outcome of a request's session-timer headers at the UAS (RFC 4028 §9).
    public enum Negotiation: Sendable, Equatable {
        /// No session timer for this session (neither side asked for one).
        case none
        /// The session runs this timer.
        case active(SessionTimer)
        /// The requested interval is below our Min-SE: answer 422 with this `Min-SE` (§8.1, §9).
        case tooSmall(minSE: Int)
    }

    /// The session interval, seconds (RFC 4028 §4).
    public internal(set) var interval: Int
    /// Who refreshes (§4, §9).
    public internal(set) var refresher: Refresher
    /// Whether we are the refresher (the refresher and our role agree).
    public internal(set) var isLocalRefresher: Bool
    /// Whether the peer supports the `timer` extension (Supported: timer): then our 2xx carries
    /// `Require: timer` (§9) and we may refresh with UPDATE when it allows UPDATE.
    public internal(set) var peerSupportsTimer: Bool
    /// Whether the peer listed UPDATE in Allow (RFC 3311 §5.1): our refreshes use UPDATE without SDP,
    /// else re-INVITE (RFC 4028 §7.4).
    public internal(set) var peerAllowsUPDATE: Bool
    /// Our Min-SE, repeated in the requests we send (§5).
    public let minSE: Int

    /// Makes a timer.
    public init(interval: Int, refresher: Refresher, isLocalRefresher: Bool, peerSupportsTimer: Bool, peerAllowsUPDATE: Bool, minSE: Int) {
        self.interval = interval
        self.refresher = refresher
        self.isLocalRefresher = isLocalRefresher
        self.peerSupportsTimer = peerSupportsTimer
        self.peerAllowsUPDATE = peerAllowsUPDATE
        self.minSE = minSE
    }

    // MARK: UAS (RFC 4028 §9)

    /// The UAS decision on an INVITE, re-INVITE or UPDATE `request` (§9): 422 when its
    /// Session-Expires is below our Min-SE (§8.1); a timer when it asks for one or supports `timer`
    /// (interval the smaller of its wish and ours, never below its Min-SE, §9; refresher as it asks,
    /// else the UAC, §9 table); no timer otherwise. `weAreUAC` is our role in the dialog (a refresh
    /// from the callee of an outgoing call).
    public static func negotiate(_ request: SIPRequest, settings: Settings, weAreUAC: Bool = false) -> Negotiation {
        let headers = request.headers
        let supportsTimer = (try? headers.supported())?.contains { $0.lowercased() == "timer" } ?? false
        let requested = sessionExpires(in: headers)
        let peerMinSE = minSE(in: headers) ?? 0
        let allowsUPDATE = (try? headers.allow())?.contains(.update) ?? false
        guard supportsTimer || requested != nil else { return .none }
        if let requested, requested.interval < settings.minSE {
            return .tooSmall(minSE: settings.minSE)
        }
        let interval = min(requested?.interval ?? Int.max, max(settings.sessionExpires, peerMinSE))
        // §9: the refresher the request names; else the UAC when it supports timers, else the UAS.
        // A UAC that does not support timers cannot refresh: we do (§9, "uas").
        let refresher: Refresher = supportsTimer ? (requested?.refresher ?? .uac) : .uas
        let isLocal = (refresher == .uac) == weAreUAC
        return .active(SessionTimer(
            interval: interval, refresher: refresher, isLocalRefresher: isLocal, peerSupportsTimer: supportsTimer, peerAllowsUPDATE: allowsUPDATE,
            minSE: settings.minSE
        ))
    }

    /// The headers of our 2xx (§9): `Session-Expires` with the refresher, and `Require: timer` when the
    /// peer supports the extension.
    public var responseHeaders: [(SIPHeaderName, String)] {
        var headers: [(SIPHeaderName, String)] = [(.sessionExpires, "\(interval);refresher=\(refresher.rawValue)")]
        if peerSupportsTimer { headers.append((.require, "timer")) }
        return headers
    }

    /// The headers of a 422 (§9): our Min-SE.
    public static func tooSmallHeaders(minSE: Int) -> [(SIPHeaderName, String)] {
        [(Self.minSEHeader, String(minSE))]
    }

    // MARK: UAC (RFC 4028 §7)

    /// The headers of our initial INVITE (§7.1): `Supported: timer`, our Session-Expires and Min-SE.
    public static func requestHeaders(settings: Settings) -> [(SIPHeaderName, String)] {
        [(.supported, "timer"), (.sessionExpires, String(settings.sessionExpires)), (minSEHeader, String(settings.minSE))]
    }

    /// The UAC reading of the 2xx to our INVITE (§7.2): a timer when it carries Session-Expires (the
    /// refresher it names, `uac` when absent), none otherwise.
    public static func negotiated(byAnswer response: SIPResponse, settings: Settings) -> SessionTimer? {
        guard let granted = sessionExpires(in: response.headers) else { return nil }
        let refresher = granted.refresher ?? .uac
        let supportsTimer = (try? response.headers.require())?.contains { $0.lowercased() == "timer" } ?? false
            || ((try? response.headers.supported())?.contains { $0.lowercased() == "timer" } ?? false)
        let allowsUPDATE = (try? response.headers.allow())?.contains(.update) ?? false
        return SessionTimer(
            interval: granted.interval, refresher: refresher, isLocalRefresher: refresher == .uac, peerSupportsTimer: supportsTimer,
            peerAllowsUPDATE: allowsUPDATE, minSE: settings.minSE
        )
    }

    /// The settings for the one retry after a 422 (§7.4 via §6): the Session-Expires and Min-SE of the
    /// new INVITE become the 422's Min-SE. Nil when the 422 carries no usable Min-SE.
    public static func settings(after response422: SIPResponse, previous: Settings) -> Settings? {
        guard response422.statusCode == 422, let peerMinSE = minSE(in: response422.headers), peerMinSE > 0 else { return nil }
        return Settings(sessionExpires: max(previous.sessionExpires, peerMinSE), minSE: max(previous.minSE, peerMinSE))
    }

    /// The new INVITE after a 422 (RFC 3261 §8.1.3.5): `invite` with a fresh `branch`, the next CSeq,
    /// and the Session-Expires and Min-SE of `settings` (RFC 4028 §7.4 via §6). Nil without Via/CSeq.
    public static func retry(_ invite: SIPRequest, settings: Settings, branch: String) -> SIPRequest? {
        guard var via = try? invite.headers.topVia(), let cseq = try? invite.headers.cseq() else { return nil }
        var retry = invite
        via.branch = branch
        retry.headers.removeFirst(.via)
        retry.headers.addFirst(.via, via.description)
        retry.headers.replaceOrAdd(.cseq, SIPCSeq(cseq.sequence &+ 1, cseq.method).description)
        retry.headers.replaceOrAdd(.sessionExpires, String(settings.sessionExpires))
        retry.headers.replaceOrAdd(minSEHeader, String(settings.minSE))
        return retry
    }

    // MARK: Refreshes (§7.4, §10)

    /// What a refresh we send carries (§7.4): Session-Expires with the current interval and refresher,
    /// `Supported: timer` and our Min-SE.
    public var refreshHeaders: [(SIPHeaderName, String)] {
        [(.supported, "timer"), (.sessionExpires, "\(interval);refresher=\(refresher.rawValue)"), (Self.minSEHeader, String(minSE))]
    }

    /// The method of our refreshes: UPDATE when the peer allows it (RFC 4028 §7.4, RFC 3311), else
    /// re-INVITE.
    public var refreshMethod: SIPMethod { peerAllowsUPDATE ? .update : .invite }

    /// When we refresh, after each refresh (§7.4 recommends half the interval); nil when the peer does.
    public var refreshDelay: Duration? {
        isLocalRefresher ? .milliseconds(interval * 500) : nil
    }

    /// When we give up on a session with no refresh and send BYE (§10): the refresher's peer ends it
    /// at `interval − min(32, interval/3)`; the refresher (whose refreshes failed) at the interval.
    public var expiryDelay: Duration {
        if isLocalRefresher { return .seconds(interval) }
        return .milliseconds(interval * 1_000 - min(32_000, interval * 1_000 / 3))
    }

    /// The 2xx to a refresh we sent (§7.4, §7.2): the interval and refresher it grants, if any.
    public mutating func refreshAnswered(_ response: SIPResponse, weAreUAC: Bool) {
        guard let granted = Self.sessionExpires(in: response.headers) else { return }
        interval = granted.interval
        if let named = granted.refresher {
            refresher = named
            isLocalRefresher = (named == .uac) == weAreUAC
        }
    }

    // MARK: Header parsing

    /// Min-SE (RFC 4028 §5).
    public static let minSEHeader = SIPHeaderName.minSE

    /// Session-Expires: delta-seconds and the optional refresher parameter (§4). Nil when absent or bad.
    static func sessionExpires(in headers: SIPHeaders) -> (interval: Int, refresher: Refresher?)? {
        guard let value = headers[.sessionExpires] else { return nil }
        let parts = value.split(separator: ";").map(trimmed)
        guard let first = parts.first, let interval = Int(first), interval > 0 else { return nil }
        var refresher: Refresher?
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { trimmed($0).lowercased() }
            if pair.count == 2, pair[0] == "refresher" { refresher = Refresher(rawValue: pair[1]) }
        }
        return (interval, refresher)
    }

    /// Min-SE delta-seconds (§5). Nil when absent or bad.
    static func minSE(in headers: SIPHeaders) -> Int? {
        guard let value = headers[minSEHeader] else { return nil }
        return value.split(separator: ";").first.flatMap { Int(trimmed($0)) }
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
