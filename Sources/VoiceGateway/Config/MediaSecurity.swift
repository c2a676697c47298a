// MediaSecurity: sip.conf's SRTP keys (`media_encryption`, `srtp`, `sdes_over_insecure_transport`;
// README "Encrypted calls") and the decision they make for one call: which `SRTPPolicy` its
// offer/answer runs with, and whether SDES keys may travel over the call's signalling at all
// (RFC 4568 §8.3: SDES needs a secure signalling transport — TLS — or the keys are in clear).

import NIOCore
import SDP

/// Whether calls use SRTP keyed by SDES (sip.conf `media_encryption`).
public enum MediaEncryption: String, Sendable, Equatable, CaseIterable {
    /// Plain RTP only (the default).
    case none
    /// SRTP keyed by `a=crypto` in the SDP (RFC 4568).
    case sdes
}

/// Whether SRTP is optional or required once `media_encryption = sdes` (sip.conf `srtp`).
public enum SRTPRequirement: String, Sendable, Equatable, CaseIterable {
    /// Plain RTP accepted; SRTP used when the offer has a usable `a=crypto`.
    case optional
    /// Offers without a usable `a=crypto` get 488.
    case required
}

/// The SRTP settings of one peer or trunk (defaults from `[general]`).
public struct MediaSecurity: Sendable, Equatable {
    /// `media_encryption`.
    public var encryption: MediaEncryption = .none
    /// `srtp`.
    public var srtp: SRTPRequirement = .optional
    /// `sdes_over_insecure_transport`: accept SDES keys over UDP/TCP signalling (peers and trunks only).
    public var sdesOverInsecureTransport = false

    /// The defaults: plain RTP.
    public init() {}

    /// The offer/answer policy (`MediaConfiguration.srtp`) these settings give.
    public var policy: SRTPPolicy {
        switch (encryption, srtp) {
        case (.none, _): .off
        case (.sdes, .optional): .optional
        case (.sdes, .required): .required
        }
    }

    /// Why an offer that arrived over `transport` must get 488 before offer/answer, or nil: with
    /// SDES on, keys (in the offer, or in the answer we would send when SRTP is required) must
    /// not cross signalling an eavesdropper can read, unless the peer allows it.
    public func refusal(of offer: SessionDescription, over transport: SIPTransportProtocol) -> String? {
        guard encryption == .sdes, !transport.protectsSDESKeys, !sdesOverInsecureTransport else { return nil }
        let offersKeys = offer.media.contains { !$0.attributeValues("crypto").isEmpty }
        guard offersKeys || srtp == .required else { return nil }
        return "SDES keys over \(transport.rawValue) signalling would travel in clear; use TLS or set sdes_over_insecure_transport = yes for this peer"
    }
}

extension SIPTransportProtocol {
    /// Whether signalling over this transport keeps SDES keys from eavesdroppers (RFC 4568 §8.3).
    /// Only TLS does (RFC 3261 §26).
    public var protectsSDESKeys: Bool {
        switch self {
        case .udp, .tcp: false
        case .tls: true
        }
    }
}

extension GatewayConfiguration {
    /// The SRTP settings of calls with the SIP peer `remote` (a mutual-TLS peer found by its
    /// certificate): the first matching peer's, else `[general]`'s.
    public func mediaSecurity(for remote: SIPPeer) -> MediaSecurity {
        peer(for: remote)?.mediaSecurity ?? mediaSecurity
    }
}

extension SIPConfParser {
    /// Applies one of the SRTP keys (`media_encryption`, `srtp`, and where `perPeer`
    /// `sdes_over_insecure_transport`) to `security`; the callers pass no other key.
    func mediaSecurityKey(_ key: String, _ value: String, _ line: Int, perPeer: Bool, into security: inout MediaSecurity) throws(SIPConfError) {
        switch key {
        case "media_encryption":
            guard let encryption = MediaEncryption(rawValue: value.lowercased()) else {
                throw error(.badValue, line, "media_encryption must be none or sdes, got '\(value)'")
            }
            security.encryption = encryption
        case "srtp":
            guard let requirement = SRTPRequirement(rawValue: value.lowercased()) else {
                throw error(.badValue, line, "srtp must be optional or required, got '\(value)'")
            }
            security.srtp = requirement
        case "sdes_over_insecure_transport" where perPeer:
            security.sdesOverInsecureTransport = try bool(value, line, key: key)
        default:
            break
        }
    }
}
