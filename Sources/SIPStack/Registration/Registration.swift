// Registration: one binding kept at a registrar as a value (RFC 3261 §10.2): REGISTER with digest
// (§22.2), refresh before expiry (§10.2.1, §10.2.4), 423 Interval Too Brief (§10.2.8), failures
// retried with capped exponential backoff, and the un-REGISTER of §10.2.2 at shutdown. It reads no
// clock and owns no socket: inputs come from its shell (start, responses, the one timer, shutdown),
// and it answers with actions (send this REGISTER, start or cancel the timer, report a state).

import ABNF
import SIPMessage

/// A registration of one contact for one address-of-record (RFC 3261 §10.2). A value machine like
/// `InviteSession`: the shell runs the `Action`s it returns.
public struct Registration: Sendable, Equatable {
    /// What the registration is made of and how it retries.
    public struct Settings: Sendable, Equatable {
        /// The Request-URI: the registrar's domain, no user part (§10.2, "Request-URI").
        public var registrar: SIPURI
        /// The address-of-record, in To and From (§10.2, "To", "From").
        public var addressOfRecord: SIPURI
        /// Our reachable contact (§10.2, "Contact"; §8.1.1.8).
        public var contact: SIPURI
        /// The Expires we ask for, seconds (§10.2.1.1).
        public var expires: Int
        /// Digest credentials for 401/407 (§22.2); nil: a challenge is a failure.
        public var credentials: DigestClient?
        /// The first retry delay after a failure; it doubles per failure in a row (§10.2 leaves
        /// the policy to the UA; a value so tests can shorten it).
        public var backoffMinimum: Duration
        /// The longest retry delay.
        public var backoffMaximum: Duration
        /// Sent in User-Agent.
        public var userAgent: String?

        /// Makes settings: 30 s doubling to 10 min between failed attempts.
        public init(registrar: SIPURI, addressOfRecord: SIPURI, contact: SIPURI, expires: Int, credentials: DigestClient? = nil,
                    backoffMinimum: Duration = .seconds(30), backoffMaximum: Duration = .seconds(600), userAgent: String? = nil) {
            self.registrar = registrar
            self.addressOfRecord = addressOfRecord
            self.contact = contact
            self.expires = max(1, expires)
            self.credentials = credentials
            self.backoffMinimum = backoffMinimum
            self.backoffMaximum = max(backoffMinimum, backoffMaximum)
            self.userAgent = userAgent
        }
    }

    /// Where the registration is.
    public enum State: Sendable, Equatable {
        /// Not started.
        case idle
        /// A REGISTER is out and no binding was granted yet (or the last attempt failed).
        case registering
        /// The registrar granted the binding for this many seconds (§10.2.4).
        case registered(expires: Int)
        /// The last attempt failed; the timer retries.
        case failing(Failure)
        /// The un-REGISTER (Expires 0, §10.2.2) is out.
        case unregistering
        /// Done: shut down (after the un-REGISTER's answer, or at once when nothing was bound).
        case stopped
    }

    /// Why an attempt failed.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        /// A final response outside 2xx that we could not answer (§10.2.4..§10.2.8, §21).
        case status(Int)
        /// No answer (Timer F, §17.1.2.2; a 408 for the TU, §8.1.3.1).
        case timeout
        /// The transport failed (§8.1.3.1, treated as 503).
        case transportError
        /// A 401/407 we could not answer (no credentials, unusable challenge, or ours refused).
        case authentication(Int)
        /// A 2xx whose Contact list does not hold our contact with a usable expiry.
        case badResponse

        /// A short text for logs.
        public var description: String {
            switch self {
            case .status(let code): "status \(code)"
            case .timeout: "timeout"
            case .transportError: "transport error"
            case .authentication(let code): "authentication refused (\(code))"
            case .badResponse: "2xx without our binding"
            }
        }

        /// The status code for logs and metrics, if there was one.
        public var statusCode: Int? {
            switch self {
            case .status(let code), .authentication(let code): code
            case .timeout: 408
            case .transportError: 503
            case .badResponse: nil
            }
        }
    }

    /// What the shell does.
    public enum Action: Sendable, Equatable {
        /// Send this REGISTER in a new non-INVITE client transaction (§17.1.2) after adding a top Via
        /// with a fresh branch (§8.1.1.7); report its final response or failure.
        case send(SIPRequest)
        /// Start (or restart) the one timer; `timerFired()` when it expires.
        case startTimer(Duration)
        /// Stop the timer.
        case cancelTimer
        /// Tell the operator (logs, metrics, readiness).
        case report(Report)
    }

    /// What happened, for logs and metrics.
    public enum Report: Sendable, Equatable {
        /// Bound for `expires` seconds; the refresh goes out after `refreshIn`.
        case registered(expires: Int, refreshIn: Duration)
        /// An attempt failed; the next one goes out after `retryIn`.
        case failed(Failure, retryIn: Duration)
        /// 423: retrying at once with the registrar's Min-Expires (§10.2.8).
        case intervalTooBrief(minExpires: Int)
        /// The registration is over (un-registered, or never bound).
        case stopped(unregistered: Bool)
    }

    /// The settings (`expires` rises after a 423).
    public private(set) var settings: Settings
    /// The state.
    public private(set) var state: State = .idle
    /// The Call-ID, the same for every REGISTER of this binding (§10.2.4).
    public let callID: String
    /// The From tag, the same for every REGISTER.
    public let fromTag: String
    /// The CSeq of the last REGISTER sent; each new one is one higher (§10.2, "CSeq").
    public private(set) var sequence: UInt32
    /// The request in flight (its CSeq identifies its answer).
    public private(set) var pending: SIPRequest?
    private var answeredChallenge = false
    private var failuresInARow = 0

    /// Makes a registration; `callID` and `fromTag` are the shell's random tokens.
    public init(settings: Settings, callID: String, fromTag: String, firstSequence: UInt32 = 1) {
        self.settings = settings
        self.callID = callID
        self.fromTag = fromTag
        self.sequence = firstSequence &- 1
    }

    /// Whether the registrar holds our binding now.
    public var isRegistered: Bool {
        if case .registered = state { return true }
        return false
    }

    // MARK: Inputs

    /// Sends the first REGISTER.
    public mutating func start() -> [Action] {
        guard state == .idle else { return [] }
        state = .registering
        return [.send(makeRegister(expires: settings.expires))]
    }

    /// The final response to the REGISTER in flight; provisional responses and answers to an older
    /// CSeq change nothing. `cnonce` is fresh randomness for a digest answer; `jitter` in 0...1
    /// spreads the refresh between 45 % and 55 % of the granted expiry.
    public mutating func responseReceived(_ response: SIPResponse, cnonce: String, jitter: Double) -> [Action] {
        guard response.statusCode >= 200, let pending, (try? response.headers.cseq().sequence) == sequence else { return [] }
        let unregistering = state == .unregistering
        switch response.statusCode {
        case 200..<300:
            self.pending = nil
            answeredChallenge = false
            if unregistering { return stop(unregistered: true) }
            guard let granted = grantedExpiry(response) else { return failed(.badResponse) }
            failuresInARow = 0
            state = .registered(expires: granted)
            // §10.2.1: refresh before the binding expires; about half the interval, jittered so many
            // gateways do not refresh together.
            let fraction = 0.45 + 0.1 * min(1, max(0, jitter))
            let refresh = Duration.milliseconds(max(1_000, Int(Double(granted) * 1_000 * fraction)))
            return [.startTimer(refresh), .report(.registered(expires: granted, refreshIn: refresh))]
        case 401, 407:
            guard !answeredChallenge || Self.isStale(response), var credentials = settings.credentials,
                  let retry = try? credentials.retry(Self.withPlaceholderVia(pending), answering: response, branch: "z9hG4bKplaceholder", cnonce: cnonce)
            else {
                self.pending = nil
                if unregistering { return stop(unregistered: false) }
                return failed(.authentication(response.statusCode))
            }
            settings.credentials = credentials
            answeredChallenge = true
            var request = retry
            request.headers.removeFirst(.via)
            sequence &+= 1
            self.pending = request
            return [.send(request)]
        case 423 where !unregistering:
            // §10.2.8: ask again with at least the registrar's Min-Expires.
            guard let text = response.headers[.minExpires], let minimum = Int(text.trimmingWSP), minimum > settings.expires else {
                self.pending = nil
                return failed(.status(423))
            }
            settings.expires = minimum
            answeredChallenge = false
            return [.report(.intervalTooBrief(minExpires: minimum)), .send(makeRegister(expires: minimum))]
        default:
            self.pending = nil
            if unregistering { return stop(unregistered: false) }
            return failed(.status(response.statusCode))
        }
    }

    /// The REGISTER in flight got no answer (Timer F) or could not be sent.
    public mutating func transactionFailed(_ failure: Failure) -> [Action] {
        guard pending != nil else { return [] }
        pending = nil
        if state == .unregistering { return stop(unregistered: false) }
        return failed(failure)
    }

    /// The timer expired: refresh the binding or retry after a failure.
    public mutating func timerFired() -> [Action] {
        switch state {
        case .registered, .failing:
            if pending != nil { return [] }
            answeredChallenge = false
            if case .failing = state { state = .registering }
            return [.send(makeRegister(expires: settings.expires))]
        case .idle, .registering, .unregistering, .stopped:
            return []
        }
    }

    /// Graceful shutdown: un-REGISTER (§10.2.2: Expires 0 for our contact, same Call-ID, next
    /// CSeq) when a binding may exist, else stop at once. Wait for `.report(.stopped)`.
    public mutating func shutdown() -> [Action] {
        switch state {
        case .registered, .registering:
            state = .unregistering
            answeredChallenge = false
            return [.cancelTimer, .send(makeRegister(expires: 0))]
        case .failing, .idle:
            return [.cancelTimer] + stop(unregistered: false)
        case .unregistering, .stopped:
            return []
        }
    }

    // MARK: Building

    /// A REGISTER without Via (§10.2): Request-URI the registrar, To and From the AOR, our Call-ID,
    /// the next CSeq, Contact with `expires`, and Expires.
    mutating func makeRegister(expires: Int) -> SIPRequest {
        sequence &+= 1
        var headers = SIPHeaders()
        headers.add(.maxForwards, "70")
        headers.add(.from, SIPNameAddress(uri: .sip(settings.addressOfRecord), parameters: [.init(name: "tag", value: fromTag)]).description)
        headers.add(.to, SIPNameAddress(uri: .sip(settings.addressOfRecord)).description)
        headers.add(.callID, callID)
        headers.add(.cseq, SIPCSeq(sequence, .register).description)
        headers.add(.contact, SIPNameAddress(uri: .sip(settings.contact), parameters: [.init(name: "expires", value: String(expires))]).description)
        headers.add(.expires, String(expires))
        if let userAgent = settings.userAgent { headers.add(.userAgent, userAgent) }
        headers.add(.contentLength, "0")
        let request = SIPRequest(method: .register, uri: .sip(settings.registrar), headers: headers)
        pending = request
        return request
    }

    /// The expiry the registrar granted our contact (§10.2.4): the `expires` of our Contact in the
    /// 2xx, else its Expires header, else what we asked. Nil when the 2xx lists contacts but not ours.
    func grantedExpiry(_ response: SIPResponse) -> Int? {
        var header: Int?
        if let text = response.headers[.expires] { header = Int(text.trimmingWSP) }
        guard case .addresses(let contacts)? = try? response.headers.contact() else { return header ?? settings.expires }
        guard let ours = contacts.first(where: { $0.uri.sipURI.map(Self.sameContact(settings.contact)) ?? false }) else { return nil }
        guard let granted = ours.parameters["expires"].flatMap({ Int($0) }) ?? header ?? Optional(settings.expires), granted > 0 else { return nil }
        return granted
    }

    /// §10.2.4 compares contacts with URI equality; user, host and port are what registrars keep.
    static func sameContact(_ ours: SIPURI) -> (SIPURI) -> Bool {
        { other in
            other.user == ours.user && other.host.lowercased() == ours.host.lowercased() && (other.port ?? 5060) == (ours.port ?? 5060)
        }
    }

    private static func isStale(_ response: SIPResponse) -> Bool {
        let values = (response.statusCode == 407 ? try? response.headers.proxyAuthenticate() : try? response.headers.wwwAuthenticate()) ?? []
        return values.contains { (try? DigestChallenge($0))?.stale ?? false }
    }

    /// `DigestClient.retry` rewrites the top Via's branch; our requests carry none until the shell
    /// adds it, so a placeholder stands in and is removed again.
    private static func withPlaceholderVia(_ request: SIPRequest) -> SIPRequest {
        var request = request
        request.headers.addFirst(.via, SIPVia(transport: "UDP", host: "invalid", port: nil, branch: "z9hG4bKplaceholder").description)
        return request
    }

    // MARK: Outcomes

    private mutating func failed(_ failure: Failure) -> [Action] {
        failuresInARow += 1
        state = .failing(failure)
        answeredChallenge = false
        let retry = Self.backoff(failures: failuresInARow, minimum: settings.backoffMinimum, maximum: settings.backoffMaximum)
        return [.startTimer(retry), .report(.failed(failure, retryIn: retry))]
    }

    private mutating func stop(unregistered: Bool) -> [Action] {
        state = .stopped
        pending = nil
        return [.report(.stopped(unregistered: unregistered))]
    }

    /// The delay before attempt `failures + 1`: `minimum` doubled per failure in a row, capped.
    public static func backoff(failures: Int, minimum: Duration, maximum: Duration) -> Duration {
        var delay = minimum
        for _ in 1..<max(1, failures) where delay < maximum { delay *= 2 }
        return min(delay, maximum)
    }
}
