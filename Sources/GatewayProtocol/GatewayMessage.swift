// GatewayMessage: what the voice gateway and the verification core say to each other over the local
// socket (docs/ARCHITECTURE.md "Gateway ↔ core link"): newline-delimited JSON, every message with `v`
// (protocol version), `type`, and `id` when an answer is expected (the answer carries `re`).

/// The protocol version this build speaks (`v` on every line).
public enum GatewayProtocolVersion {
    /// Version 1.
    public static let current = 1
}

/// One message on the socket, in either direction.
public enum GatewayMessage: Sendable, Equatable {
    // Gateway → core
    /// The gateway introduces itself; the core answers `helloOK` (or closes on a version mismatch).
    case hello(Hello)
    /// A call came in to a system number: what should the gateway do? Answered by `callDecision`.
    case inboundCall(InboundCall)
    /// Digits keyed on a call for a verification; answered by `digitsResult`.
    case digits(Digits)
    /// A call's progress (ringing, answered); kept by the gateway until the core's `ack`.
    case callProgress(CallProgress)
    /// A call's end and outcome; kept by the gateway until the core's `ack`.
    case callEnded(CallEnded)
    /// The caller acknowledged our final response (the round trip is proven): approve what the
    /// `awaits_proof` decision named; kept by the gateway until the core's `ack` (added in version 1).
    case callProven(CallProven)

    // Core → gateway
    /// The answer to `hello`.
    case helloOK(HelloOK)
    /// The answer to `inboundCall`.
    case callDecision(CallDecision)
    /// The answer to `digits`.
    case digitsResult(DigitsResult)
    /// Place a call for a verification (`voice_call`, `dtmf_callout`).
    case originate(Originate)
    /// The core stored the outcome with this id.
    case ack(Ack)

    /// The `type` on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .inboundCall: "inbound_call"
        case .digits: "digits"
        case .callProgress: "call_progress"
        case .callEnded: "call_ended"
        case .callProven: "call_proven"
        case .helloOK: "hello_ok"
        case .callDecision: "call_decision"
        case .digitsResult: "digits_result"
        case .originate: "originate"
        case .ack: "ack"
        }
    }
}

/// A message with its envelope fields.
public struct GatewayEnvelope: Sendable, Equatable {
    /// Protocol version (`v`).
    public var version: Int
    /// Set when the sender expects an answer (`id`), unique per connection and direction.
    public var id: Int?
    /// The `id` this message answers (`re`).
    public var inReplyTo: Int?
    /// The message.
    public var message: GatewayMessage

    /// Makes an envelope of the current version.
    public init(_ message: GatewayMessage, id: Int? = nil, inReplyTo: Int? = nil, version: Int = GatewayProtocolVersion.current) {
        self.version = version
        self.id = id
        self.inReplyTo = inReplyTo
        self.message = message
    }
}

/// `hello`: the gateway's name and what it can do.
public struct Hello: Codable, Sendable, Equatable {
    /// A name unique among the gateways of one core (host name by default).
    public var gateway: String
    /// Channels the gateway serves (`missed_call`, `voice_callin`, …).
    public var channels: [String]
    /// The system numbers (E.164) the gateway answers, from its sip.conf (optional).
    public var systemNumbers: [String]?
    /// Makes a hello.
    public init(gateway: String, channels: [String], systemNumbers: [String]? = nil) {
        self.gateway = gateway
        self.channels = channels
        self.systemNumbers = systemNumbers
    }
}

/// `hello_ok`: the core accepts the gateway.
public struct HelloOK: Codable, Sendable, Equatable {
    /// The core's name.
    public var core: String
    /// Makes the answer.
    public init(core: String) { self.core = core }
}

/// How far the caller ID of an inbound call can be trusted (docs/ARCHITECTURE.md "Security model"; RFC 3325 P-Asserted-Identity),
/// as the gateway reports it on the wire. The core reads it as the domain's `CallerIDTrust`
/// (docs/ARCHITECTURE.md "Gateway ↔ core link").
public enum CallerTrust: String, Codable, Sendable, Equatable {
    /// From P-Asserted-Identity of a trusted peer (RFC 3325 §9.1).
    case asserted
    /// From the From header (or Remote-Party-ID) of a peer not in the trust list: spoofable.
    case unverified
    /// No caller ID: anonymous, or `Privacy: id` (RFC 3325 §9.3).
    case withheld
}

/// A carrier's verification of the caller's number: the `verstat` URI parameter of 3GPP TS 24.229
/// §7.2A.20 (STIR/SHAKEN results, RFC 8224 as applied by the carrier), as a trusted peer reports it.
/// On the wire it is the token itself, in the spelling below.
public enum Verstat: String, Codable, Sendable, Equatable, CaseIterable {
    /// `TN-Validation-Passed`: the carrier validated the calling number.
    case passed = "TN-Validation-Passed"
    /// `TN-Validation-Failed`: the carrier's validation failed — the number is likely spoofed.
    case failed = "TN-Validation-Failed"
    /// `No-TN-Validation`: the carrier did not validate the number.
    case notValidated = "No-TN-Validation"

    /// The token read case-insensitively (TS 24.229 §7.2A.20 gives the spelling; carriers vary its
    /// case); nil for anything else.
    public init?(token: some StringProtocol) {
        let lower = token.lowercased()
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == lower }) else { return nil }
        self = match
    }
}

/// `inbound_call`: an INVITE to a system number.
public struct InboundCall: Codable, Sendable, Equatable {
    /// The gateway's call id (SIP Call-ID).
    public var callID: String
    /// The caller's number as received (user part of the identity URI, or tel: number); nil when withheld.
    public var caller: String?
    /// The region (ISO 3166 alpha-2) to read a national caller number in (per peer in sip.conf).
    public var region: String?
    /// The called system number as received (Request-URI user part).
    public var called: String
    /// How the caller ID was learned.
    public var trust: CallerTrust
    /// How long the gateway waits for the answer (optional): a core that could only decide later
    /// refuses instead, changing nothing, since the caller has been turned away already.
    public var timeoutMilliseconds: Int?
    /// True: the caller's address is not proven yet (a UDP INVITE can be forged, RFC 3261 §18.2.2).
    /// The core decides but commits nothing — no approval, no code issued — and the gateway sends
    /// `call_proven` (missed_call) or asks again without this flag (voice_callin) once the ACK of our
    /// final response arrives (optional; added in version 1; absent: approve on the INVITE).
    public var awaitsProof: Bool?
    /// The carrier's `verstat` of the caller ID from a trusted peer (optional; added in version 1;
    /// absent: none reported). A `Verstat` raw value; a token this build does not know reads as absent.
    public var verstat: String?
    /// Makes the question.
    public init(callID: String, caller: String?, region: String?, called: String, trust: CallerTrust, timeoutMilliseconds: Int? = nil, awaitsProof: Bool? = nil,
                verstat: Verstat? = nil) {
        self.verstat = verstat?.rawValue
        self.callID = callID
        self.caller = caller
        self.region = region
        self.called = called
        self.trust = trust
        self.timeoutMilliseconds = timeoutMilliseconds
        self.awaitsProof = awaitsProof
    }
}

/// `call_proven`: the ACK of our final response to an `awaits_proof` call arrived carrying our To tag
/// (RFC 3261 §17.2.1), so the caller really is at the address the INVITE came from. The core approves
/// `verificationID` if it is still pending, unexpired, and of this caller and system number.
public struct CallProven: Codable, Sendable, Equatable {
    /// Unique per gateway; the core acknowledges it with `ack` once the approval (or refusal) is stored.
    public var outcomeID: String
    /// The call.
    public var callID: String
    /// The verification the `awaits_proof` decision named.
    public var verificationID: String
    /// The caller's number as received.
    public var caller: String
    /// The region to read a national caller number in.
    public var region: String?
    /// The called system number as received.
    public var called: String
    /// How the caller ID was learned.
    public var trust: CallerTrust
    /// The carrier's `verstat`, as in the `inbound_call` (optional; added in version 1).
    public var verstat: String?
    /// Makes the report.
    public init(outcomeID: String, callID: String, verificationID: String, caller: String, region: String?, called: String, trust: CallerTrust,
                verstat: String? = nil) {
        self.verstat = verstat
        self.outcomeID = outcomeID
        self.callID = callID
        self.verificationID = verificationID
        self.caller = caller
        self.region = region
        self.called = called
        self.trust = trust
    }
}

/// `call_decision`: what to do with an inbound call.
public struct CallDecision: Codable, Sendable, Equatable {
    /// The action.
    public enum Action: String, Codable, Sendable, Equatable {
        /// Refuse without answering, with `status` (404 when nothing is pending).
        case reject
        /// Missed call: ring for `ringMilliseconds`, then refuse with `status` (never answer).
        case ringThenReject = "ring_then_reject"
        /// Answer, say `code` `repeats` times in `locale`, hang up (voice_callin).
        case playCode = "play_code"
        /// Answer, ask for the code in `locale`, collect digits and send them as `digits` (dtmf_callin).
        case collectCode = "collect_code"
    }

    /// The call this decides.
    public var callID: String
    /// What to do.
    public var action: Action
    /// The SIP status to reject with (reject, ring_then_reject).
    public var status: Int?
    /// How long to ring before rejecting (ring_then_reject).
    public var ringMilliseconds: Int?
    /// The verification the call serves.
    public var verificationID: String?
    /// The code to say (play_code).
    public var code: String?
    /// How many digits to collect (collect_code).
    public var codeLength: Int?
    /// Prompt locale (`en`, `zh-TW`).
    public var locale: String?
    /// How many times to say the code (play_code).
    public var repeats: Int?

    /// Makes a decision.
    public init(
        callID: String, action: Action, status: Int? = nil, ringMilliseconds: Int? = nil, verificationID: String? = nil, code: String? = nil,
        codeLength: Int? = nil, locale: String? = nil, repeats: Int? = nil
    ) {
        self.callID = callID
        self.action = action
        self.status = status
        self.ringMilliseconds = ringMilliseconds
        self.verificationID = verificationID
        self.code = code
        self.codeLength = codeLength
        self.locale = locale
        self.repeats = repeats
    }
}

/// `digits`: a code keyed on a call.
public struct Digits: Codable, Sendable, Equatable {
    /// The call.
    public var callID: String
    /// The verification.
    public var verificationID: String
    /// The digits, `0-9`.
    public var digits: String
    /// Makes the message.
    public init(callID: String, verificationID: String, digits: String) {
        self.callID = callID
        self.verificationID = verificationID
        self.digits = digits
    }
}

/// `digits_result`: the core's check of keyed digits.
public struct DigitsResult: Codable, Sendable, Equatable {
    /// The outcome of the check.
    public enum Outcome: String, Codable, Sendable, Equatable {
        /// The code matched; the verification is approved.
        case approved
        /// Wrong; `attemptsLeft` more tries.
        case wrong
        /// No more tries (max attempts reached, expired, canceled).
        case closed
    }
    /// The outcome.
    public var outcome: Outcome
    /// Tries left after a wrong code.
    public var attemptsLeft: Int?
    /// Makes the result.
    public init(outcome: Outcome, attemptsLeft: Int? = nil) {
        self.outcome = outcome
        self.attemptsLeft = attemptsLeft
    }
}

/// `call_progress`: ringing or answered, for a verification's timeline.
public struct CallProgress: Codable, Sendable, Equatable {
    /// The progress states.
    public enum State: String, Codable, Sendable, Equatable {
        /// 180/183 from the callee.
        case ringing
        /// 200 from the callee.
        case answered
    }
    /// Unique per gateway; the core acknowledges it with `ack`.
    public var outcomeID: String
    /// The call.
    public var callID: String
    /// The verification, when the call serves one.
    public var verificationID: String?
    /// The state reached.
    public var state: State
    /// Makes the report.
    public init(outcomeID: String, callID: String, verificationID: String?, state: State) {
        self.outcomeID = outcomeID
        self.callID = callID
        self.verificationID = verificationID
        self.state = state
    }
}

/// `call_ended`: how a call ended.
public struct CallEnded: Codable, Sendable, Equatable {
    /// Outcomes the core's retry policy acts on.
    public enum Reason: String, Codable, Sendable, Equatable {
        /// The call did what it was for (code said, digits collected, missed call rejected).
        case completed
        /// 486/600 from the callee.
        case busy
        /// No answer within the ring time.
        case noAnswer = "no_answer"
        /// Another final failure from the callee or network.
        case rejected
        /// The caller hung up before the end.
        case hungUp = "hung_up"
        /// Transport error, timeout, or our own failure.
        case failed
        /// voice_call: answered, but no key was pressed within the time limit; the code was not said
        /// (added in version 1).
        case noKey = "no_key"
    }
    /// Unique per gateway; the core acknowledges it with `ack`.
    public var outcomeID: String
    /// The call.
    public var callID: String
    /// The verification, when the call served one.
    public var verificationID: String?
    /// Why it ended.
    public var reason: Reason
    /// The SIP status involved, when there was one.
    public var sipStatus: Int?
    /// More words for the audit trail, e.g. `gateway restarted` (optional; added in version 1).
    public var detail: String?
    /// How the call's received audio fared, for answered calls (optional, added in version 1 by
    /// issue 14: a core that does not know it ignores it, and a gateway that does not send it is
    /// simply without it).
    public var media: CallMediaQuality?
    /// Makes the report.
    public init(outcomeID: String, callID: String, verificationID: String?, reason: Reason, sipStatus: Int? = nil, detail: String? = nil,
                media: CallMediaQuality? = nil) {
        self.media = media
        self.outcomeID = outcomeID
        self.callID = callID
        self.verificationID = verificationID
        self.reason = reason
        self.sipStatus = sipStatus
        self.detail = detail
    }
}

/// The media figures of one answered call (`call_ended.media`): RTP received from the peer and
/// lost on the way (RFC 3550 A.3), interarrival jitter (A.8) and the round-trip time from the
/// peer's RTCP reports (§6.4.1), each absent when not known.
public struct CallMediaQuality: Codable, Sendable, Equatable {
    /// RTP packets accepted from the peer.
    public var packetsReceived: Int
    /// RTP packets lost on the way in (expected − received).
    public var packetsLost: Int
    /// Interarrival jitter, seconds.
    public var jitterSeconds: Double?
    /// Mean round-trip time of the peer's reports, seconds.
    public var roundTripSeconds: Double?
    /// Makes the figures.
    public init(packetsReceived: Int, packetsLost: Int, jitterSeconds: Double? = nil, roundTripSeconds: Double? = nil) {
        self.packetsReceived = packetsReceived
        self.packetsLost = packetsLost
        self.jitterSeconds = jitterSeconds
        self.roundTripSeconds = roundTripSeconds
    }

    /// The figures as audit text: `received 250, lost 12, jitter 18.2 ms, rtt 201.0 ms`.
    public var auditText: String {
        var text = "received \(packetsReceived), lost \(packetsLost)"
        if let jitterSeconds { text += ", jitter \(Self.milliseconds(jitterSeconds)) ms" }
        if let roundTripSeconds { text += ", rtt \(Self.milliseconds(roundTripSeconds)) ms" }
        return text
    }

    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = (seconds * 10_000).rounded()
        guard tenths.isFinite, abs(tenths) < 1e12 else { return "?" }
        return "\(Int(tenths) / 10).\(abs(Int(tenths)) % 10)"
    }
}

/// `originate`: place a call for a verification.
public struct Originate: Codable, Sendable, Equatable {
    /// What the call does when answered.
    public enum Mode: String, Codable, Sendable, Equatable {
        /// Say the code (voice_call).
        case playCode = "play_code"
        /// Ask for the code shown on the page and collect it (dtmf_callout).
        case collectCode = "collect_code"
    }
    /// The verification.
    public var verificationID: String
    /// The number to call, E.164.
    public var number: String
    /// What to do on answer.
    public var mode: Mode
    /// The code to say (play_code) — never sent for collect_code.
    public var code: String?
    /// How many digits to collect (collect_code).
    public var codeLength: Int?
    /// Prompt locale.
    public var locale: String
    /// Seconds to ring before giving up.
    public var ringSeconds: Int
    /// play_code: say "press any key to hear your code" and say the code only after a key, so a
    /// voicemail that answers records no code (optional; added in version 1; absent: true).
    public var keypress: Bool?
    /// Makes the request.
    public init(verificationID: String, number: String, mode: Mode, code: String?, codeLength: Int?, locale: String, ringSeconds: Int, keypress: Bool? = nil) {
        self.keypress = keypress
        self.verificationID = verificationID
        self.number = number
        self.mode = mode
        self.code = code
        self.codeLength = codeLength
        self.locale = locale
        self.ringSeconds = ringSeconds
    }
}

/// `ack`: the core stored these outcomes.
public struct Ack: Codable, Sendable, Equatable {
    /// The outcome ids stored.
    public var outcomeIDs: [String]
    /// Makes the acknowledgement.
    public init(outcomeIDs: [String]) { self.outcomeIDs = outcomeIDs }
}
