// MediaSettings: the media part of sip.conf (RTP port range and address, codecs in order, the
// default prompt locale, digit collection), for the gateway's media path.

import Foundation
import SDP

/// Media settings read from sip.conf `[general]`.
public struct MediaSettings: Sendable, Equatable {
    /// RTP ports (`rtp_start`…`rtp_end`); RTP takes the even ports, RTCP the odd ones (RFC 3550 §11).
    public var rtpPorts: ClosedRange<Int>
    /// The literal IP RTP binds to and SDP announces (RFC 8866 §5.7 `c=`); nil: the first SIP bind
    /// address, or 127.0.0.1 when that is a wildcard.
    public var rtpAddress: String?
    /// The literal IP SDP announces instead, for a gateway behind NAT (`rtp_external_address`; RFC
    /// 8866 §5.7); RTP still binds to the address above. Nil: announce the bound one.
    public var rtpExternalAddress: String?
    /// Codecs offered and accepted, most preferred first (RFC 3264 §5.1).
    public var codecs: [SDP.AudioCodec]
    /// Prompt locale for calls whose verification names none (`en` or `zh-TW`).
    public var promptLocale: String
    /// Wrong codes one call may key before it ends politely.
    public var maxWrongCodesPerCall: Int
    /// Wait for the first key after the prompt.
    public var firstDigitTimeout: Duration
    /// Wait between keys.
    public var interDigitTimeout: Duration

    /// The locales prompts exist for.
    public static let promptLocales = ["en", "zh-TW"]

    /// The defaults (those of `GatewayMedia`): ports 10000–20000, PCMU then PCMA, English, 3 wrong
    /// codes, 10 s for the first key and 4 s between keys.
    public init(
        rtpPorts: ClosedRange<Int> = 10_000...20_000, rtpAddress: String? = nil, codecs: [SDP.AudioCodec] = [.pcmu, .pcma], promptLocale: String = "en",
        maxWrongCodesPerCall: Int = 3, firstDigitTimeout: Duration = .seconds(10), interDigitTimeout: Duration = .seconds(4)
    ) {
        self.rtpPorts = rtpPorts
        self.rtpAddress = rtpAddress
        self.codecs = codecs
        self.promptLocale = promptLocale
        self.maxWrongCodesPerCall = maxWrongCodesPerCall
        self.firstDigitTimeout = firstDigitTimeout
        self.interDigitTimeout = interDigitTimeout
    }

    /// The gateway's media with these settings and the prompts in `promptsDirectory`; `sipHost` is
    /// the SIP bind host, used for RTP when `rtpAddress` is nil.
    public func gatewayMedia(promptsDirectory: URL, sipHost: String) throws -> GatewayMedia {
        let wildcard = sipHost == "0.0.0.0" || sipHost == "::"
        var media = try GatewayMedia(
            promptsDirectory: promptsDirectory, ports: RTPPortAllocator(range: rtpPorts), host: rtpAddress ?? (wildcard ? "127.0.0.1" : sipHost),
            codecs: codecs, maxWrongCodesPerCall: maxWrongCodesPerCall, firstDigitTimeout: firstDigitTimeout, interDigitTimeout: interDigitTimeout,
            externalAddress: rtpExternalAddress)
        if promptLocale != "en" {
            media.prompts = try PromptStore(directory: promptsDirectory, defaultLocale: promptLocale)
        }
        return media
    }
}
