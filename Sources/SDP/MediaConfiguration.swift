/// What we offer and accept in SDP offer/answer (RFC 3264): codec preference, packetization and
/// the payload types we assign in our own offers.
public struct MediaConfiguration: Equatable, Sendable {
    /// Codecs in order of preference; the answer picks the first one the offer has (RFC 3264 §6.1).
    public var codecs: [AudioCodec]
    /// Our packetization in ms, sent as `a=ptime` (RFC 8866 §6.4).
    public var ptime: Int
    /// Offer and accept RFC 4733 `telephone-event`.
    public var telephoneEvent: Bool
    /// The Opus receive parameters we announce (RFC 7587 §6.1).
    public var opus: OpusParameters
    /// Dynamic payload type for Opus in our offers.
    public var opusPayloadType: UInt8
    /// Payload type for `telephone-event/8000` in our offers.
    public var telephoneEventPayloadType: UInt8
    /// Payload type for `telephone-event/48000` (paired with Opus) in our offers.
    public var telephoneEventWidebandPayloadType: UInt8
    /// `o=` username.
    public var username: String
    /// Whether SRTP keyed by SDES is off, used when offered, or required (RFC 4568).
    public var srtp: SRTPPolicy
    /// The SRTP suites we offer and accept, in order of preference for our offers.
    public var cryptoSuites: [SRTPCryptoSuite]

    /// Creates a configuration. Defaults: PCMU, PCMA, Opus; 20 ms; telephone-event on;
    /// Opus with in-band FEC and 16 kHz playback (enough for a voice prompt line).
    public init(
        codecs: [AudioCodec] = [.pcmu, .pcma, .opus],
        ptime: Int = 20,
        telephoneEvent: Bool = true,
        opus: OpusParameters = OpusParameters(maxPlaybackRate: 16000, useInbandFEC: true),
        opusPayloadType: UInt8 = 111,
        telephoneEventPayloadType: UInt8 = 101,
        telephoneEventWidebandPayloadType: UInt8 = 110,
        username: String = "verigate",
        srtp: SRTPPolicy = .off,
        cryptoSuites: [SRTPCryptoSuite] = SRTPCryptoSuite.allCases
    ) {
        self.codecs = codecs
        self.ptime = ptime
        self.telephoneEvent = telephoneEvent
        self.opus = opus
        self.opusPayloadType = opusPayloadType
        self.telephoneEventPayloadType = telephoneEventPayloadType
        self.telephoneEventWidebandPayloadType = telephoneEventWidebandPayloadType
        self.username = username
        self.srtp = srtp
        self.cryptoSuites = cryptoSuites
    }
}

/// How a call uses SRTP keyed by SDES (RFC 3711, RFC 4568).
public enum SRTPPolicy: String, Equatable, Sendable, CaseIterable {
    /// Plain RTP only: `RTP/SAVP` streams are refused, `a=crypto` lines ignored.
    case off
    /// SRTP when the offer has a usable `a=crypto`, plain RTP otherwise; our offers are
    /// `RTP/AVP` with `a=crypto` lines (what most SDES peers accept).
    case optional
    /// SRTP or nothing: an offer without a usable `a=crypto` fails with `.noUsableCrypto` (488);
    /// our offers are `RTP/SAVP`.
    case required
}

/// The SRTP agreed for the audio stream (RFC 4568 §6.1: each side's `a=crypto` carries the key
/// that side encrypts what it sends with).
public struct NegotiatedSRTP: Equatable, Sendable {
    /// The agreed suite.
    public var suite: SRTPCryptoSuite
    /// The tag of the offer's line that was accepted.
    public var tag: UInt32
    /// Our key: we protect what we send with it.
    public var localKey: SRTPMasterKey
    /// The peer's key: we unprotect what it sends with it.
    public var remoteKey: SRTPMasterKey

    /// Creates the agreement.
    public init(suite: SRTPCryptoSuite, tag: UInt32, localKey: SRTPMasterKey, remoteKey: SRTPMasterKey) {
        self.suite = suite
        self.tag = tag
        self.localKey = localKey
        self.remoteKey = remoteKey
    }
}

/// The outcome of offer/answer for the audio stream: everything the RTP side needs.
public struct NegotiatedAudio: Equatable, Sendable {
    /// Index of the audio `m=` line in the offer and answer.
    public var mediaIndex: Int
    /// The chosen codec.
    public var codec: AudioCodec
    /// Its payload type; in an answer, the offerer's number (RFC 3264 §6.1).
    public var payloadType: UInt8
    /// RFC 4733 payload type at the codec's clock rate, if both sides have it.
    public var telephoneEventPayloadType: UInt8?
    /// Where the peer receives RTP.
    public var remoteAddress: String
    /// The peer's RTP port.
    public var remotePort: UInt16
    /// The peer's RTCP port: `a=rtcp` (RFC 3605) or RTP port + 1 (RFC 3550 §11).
    public var remoteRTCPPort: UInt16
    /// Our direction for the stream (what we may do: send, receive, both, neither).
    public var direction: Direction
    /// True when the peer put the stream on hold: `sendonly`/`inactive` or `c=0.0.0.0` (RFC 3264 §8.4).
    public var remoteHold: Bool
    /// The packetization in ms to send with: the peer's `a=ptime` when usable, else ours.
    public var ptime: Int
    /// The peer's Opus parameters (what it wants to receive), when Opus was chosen.
    public var remoteOpus: OpusParameters?
    /// SRTP suite and keys when the stream is encrypted (RFC 4568), nil for plain RTP.
    public var srtp: NegotiatedSRTP?
}

/// An answer to an offer: the SDP to send and the negotiated stream.
public struct SDPAnswer: Equatable, Sendable {
    /// The answer to put in the 200 OK (or 183) body.
    public var description: SessionDescription
    /// The accepted audio stream.
    public var audio: NegotiatedAudio
}
