/// The six ways Verigate proves that a person holds a phone number (README.md, "The six methods").
public enum VerificationMethod: String, CaseIterable, Codable, Sendable, Hashable {
    /// Method A: the core sends the code by SMS; the user types it on the web page.
    case sms
    /// Method B: the gateway calls the number and reads the code aloud, twice.
    case voiceCall = "voice_call"
    /// Method C: the user calls a system number; the gateway reads the code for that caller ID.
    case voiceCallIn = "voice_callin"
    /// Method D: the user calls a system number; caller ID alone is the proof; the call is never answered.
    case missedCall = "missed_call"
    /// Method E: the page shows a code; the gateway calls the number and the user keys the code.
    case dtmfCallOut = "dtmf_callout"
    /// Method F: the page shows a code and a system number; the user calls and keys the code.
    case dtmfCallIn = "dtmf_callin"

    /// The user places the call to a system number (caller ID is part of the proof).
    public var isCallIn: Bool {
        switch self {
        case .voiceCallIn, .missedCall, .dtmfCallIn: true
        case .sms, .voiceCall, .dtmfCallOut: false
        }
    }

    /// The voice gateway takes part (inbound or outbound call).
    public var needsVoiceGateway: Bool {
        switch self {
        case .sms: false
        case .voiceCall, .voiceCallIn, .missedCall, .dtmfCallOut, .dtmfCallIn: true
        }
    }

    /// The code is shown to the user on the page and keyed on the phone; every other channel keeps it secret.
    public var showsCodeOnPage: Bool {
        switch self {
        case .dtmfCallOut, .dtmfCallIn: true
        case .sms, .voiceCall, .voiceCallIn, .missedCall: false
        }
    }

    /// The proof is the code typed on the web page (checked through the API).
    public var isCheckedOnWeb: Bool {
        switch self {
        case .sms, .voiceCall, .voiceCallIn: true
        case .missedCall, .dtmfCallOut, .dtmfCallIn: false
        }
    }

    /// The channel uses a code at all (a missed call proves by caller ID only).
    public var usesCode: Bool { self != .missedCall }
}
