/// Our side of SDP offer/answer (RFC 3264) for one call: makes offers and answers, and keeps the
/// `o=` line so that every new description carries an incremented version (RFC 3264 §8).
///
/// A value type without I/O: the SIP layer owns it per dialog.
public struct SDPSession: Equatable, Sendable {
    /// Codec preferences and payload types.
    public var configuration: MediaConfiguration
    /// Our RTP address (a literal IPv4 or IPv6 address).
    public var address: String
    /// Our RTP port.
    public var port: UInt16
    /// The origin of the last description we produced; nil before the first.
    public private(set) var origin: Origin?
    /// The `a=crypto` lines of our last offer, with our keys (RFC 4568 §7.1.1).
    public private(set) var offeredCrypto: [CryptoAttribute] = []
    private let sessionID: UInt64

    /// Creates a session. `sessionID` should be random or time-based (RFC 8866 §5.2).
    public init(configuration: MediaConfiguration = MediaConfiguration(), address: String, port: UInt16, sessionID: UInt64) {
        self.configuration = configuration
        self.address = address
        self.port = port
        self.sessionID = sessionID
    }

    /// The origin for a new description: first version = session id, then +1 each time (RFC 3264 §8).
    private mutating func nextOrigin() -> Origin {
        var next = origin ?? Origin(username: configuration.username, sessionID: String(sessionID), sessionVersion: sessionID,
                                    addressType: Connection(address: address).addressType.rawValue, address: address)
        if origin != nil { next.sessionVersion &+= 1 }
        next.address = address
        next.addressType = Connection(address: address).addressType.rawValue
        origin = next
        return next
    }

    private func description(origin: Origin, media: [MediaDescription]) -> SessionDescription {
        SessionDescription(origin: origin, connection: Connection(address: address), media: media)
    }

    /// Makes an offer (initial or re-offer) with our codecs and telephone-event (RFC 3264 §5).
    /// Pass `.sendonly` to put the peer on hold, `.inactive` to stop media both ways (RFC 3264 §8.4).
    public mutating func makeOffer(direction: Direction = .sendrecv) -> SessionDescription {
        var formats: [String] = []
        var attributes: [Attribute] = []
        for codec in configuration.codecs {
            let pt = codec.staticPayloadType ?? configuration.opusPayloadType
            formats.append(String(pt))
            attributes.append(Attribute("rtpmap", RTPMap(payloadType: pt, encodingName: codec.encodingName, clockRate: codec.clockRate, channels: codec.rtpmapChannels).attributeValue))
            if codec == .opus, !configuration.opus.fmtp.isEmpty {
                attributes.append(Attribute("fmtp", "\(pt) \(configuration.opus.fmtp)"))
            }
        }
        if configuration.telephoneEvent {
            var rates: [Int] = []
            for codec in configuration.codecs where !rates.contains(codec.clockRate) { rates.append(codec.clockRate) }
            for rate in rates {
                let pt = rate == 8000 ? configuration.telephoneEventPayloadType : configuration.telephoneEventWidebandPayloadType
                formats.append(String(pt))
                attributes.append(Attribute("rtpmap", "\(pt) telephone-event/\(rate)"))
                attributes.append(Attribute("fmtp", "\(pt) 0-15"))
            }
        }
        attributes.append(Attribute("ptime", String(configuration.ptime)))
        attributes.append(Attribute(direction.rawValue))
        // RFC 4568 §7.1.1: one line per suite, each with a fresh key from the CSPRNG.
        offeredCrypto = configuration.srtp == .off ? [] : configuration.cryptoSuites.enumerated().map { index, suite in
            CryptoAttribute(tag: UInt32(index + 1), suite: suite, key: .random(for: suite))
        }
        attributes += offeredCrypto.map { Attribute("crypto", $0.attributeValue) }
        let proto = configuration.srtp == .required ? "RTP/SAVP" : "RTP/AVP"
        let media = MediaDescription(port: port, proto: proto, formats: formats, attributes: attributes)
        return description(origin: nextOrigin(), media: [media])
    }

    /// Answers an offer (RFC 3264 §6): accepts the first RTP audio stream that has one of our
    /// codecs, choosing our most preferred codec the offer lists and keeping the offerer's payload
    /// type numbers; adds telephone-event at the offer's payload type for the codec's clock rate;
    /// mirrors the direction; rejects every other stream with port 0, keeping m-line order.
    /// With SRTP on (`configuration.srtp`), `RTP/SAVP` is accepted too and the first offered
    /// `a=crypto` line we can use is answered with its tag, its suite and a fresh key of ours
    /// (RFC 4568 §7.1.2); the answer keeps the offer's profile.
    ///
    /// - Throws: `.noCommonCodec` when audio is offered without any of our codecs,
    ///   `.noUsableCrypto` when SRTP is required (or the stream is `RTP/SAVP`) and no `a=crypto`
    ///   line is usable, `.noAcceptableMedia` when no RTP audio stream is offered; the SIP layer answers 488.
    public mutating func answer(_ offer: SessionDescription) throws(SDPError) -> SDPAnswer {
        var accepted: (NegotiatedAudio, MediaDescription)?
        var sawAudio = false
        var cryptoMissing = false
        var answerMedia: [MediaDescription] = []
        for (index, offered) in offer.media.enumerated() {
            if accepted == nil, offered.port != 0, offered.media == "audio", acceptsProfile(offered.proto) {
                sawAudio = true
                let crypto = configuration.srtp == .off ? nil : CryptoAttribute.usable(in: offered, suites: configuration.cryptoSuites).first
                if crypto == nil, Self.isSecureRTP(offered.proto) || configuration.srtp == .required {
                    cryptoMissing = true
                    answerMedia.append(Self.rejected(offered))
                    continue
                }
                if let result = negotiate(offered, index: index, in: offer, crypto: crypto) {
                    accepted = result
                    answerMedia.append(result.1)
                    continue
                }
            }
            answerMedia.append(Self.rejected(offered))
        }
        guard let (audio, _) = accepted else {
            if cryptoMissing { throw SDPError(.noUsableCrypto, "no a=crypto line with one of \(configuration.cryptoSuites.map(\.rawValue)) and a usable key") }
            if sawAudio { throw SDPError(.noCommonCodec, "offer has none of \(configuration.codecs.map(\.encodingName))") }
            throw SDPError(.noAcceptableMedia, "offer has no RTP/AVP audio stream")
        }
        return SDPAnswer(description: description(origin: nextOrigin(), media: answerMedia), audio: audio)
    }

    /// Reads the answer to our offer (RFC 3264 §6, §7): same m-line count, a payload type of ours
    /// in the accepted audio stream.
    ///
    /// - Throws: `.answerMismatch` when the answer does not fit the offer, `.noCommonCodec` when it
    ///   rejects our audio or names none of our codecs.
    public func negotiate(answer: SessionDescription, to offer: SessionDescription) throws(SDPError) -> NegotiatedAudio {
        guard answer.media.count == offer.media.count else {
            throw SDPError(.answerMismatch, "answer has \(answer.media.count) m-lines, offer \(offer.media.count)")
        }
        guard let index = offer.media.firstIndex(where: { $0.media == "audio" }) else {
            throw SDPError(.answerMismatch, "our offer has no audio")
        }
        let answered = answer.media[index]
        guard answered.media == "audio", answered.port != 0 else {
            throw SDPError(.noCommonCodec, "the answer rejects the audio stream")
        }
        let maps = answered.payloadMaps
        guard let (codec, map) = Self.firstMatch(codecs: configuration.codecs, in: maps, order: .theirs) else {
            throw SDPError(.noCommonCodec, "the answer names none of our codecs")
        }
        var audio = try negotiated(answered, index: index, in: answer, codec: codec, map: map, ourDirection: answer.effectiveDirection(of: answered).mirrored)
        if !offeredCrypto.isEmpty {
            // RFC 4568 §7.1.3: the answer's line names the tag of one of ours, with the same suite.
            let lines = answered.attributeValues("crypto").compactMap { try? CryptoAttribute(attributeValue: $0) }
            for line in lines where line.isUsable {
                if let ours = offeredCrypto.first(where: { $0.tag == line.tag && $0.suite == line.suite }) {
                    audio.srtp = NegotiatedSRTP(suite: line.suite, tag: line.tag, localKey: ours.key, remoteKey: line.key)
                    break
                }
            }
            if audio.srtp == nil, Self.isSecureRTP(answered.proto) || configuration.srtp == .required {
                throw SDPError(.noUsableCrypto, "the answer has no a=crypto line matching one of our offer's")
            }
        }
        return audio
    }

    // MARK: - Helpers

    private static func isPlainRTP(_ proto: String) -> Bool {
        proto == "RTP/AVP" || proto == "RTP/AVPF"
    }

    /// `RTP/SAVP` and `RTP/SAVPF`: SRTP keyed in the SDP (RFC 3711 §12, RFC 5124).
    private static func isSecureRTP(_ proto: String) -> Bool {
        proto == "RTP/SAVP" || proto == "RTP/SAVPF"
    }

    /// The profiles we answer: plain RTP, and with SRTP on the SDES-keyed secure ones too.
    private func acceptsProfile(_ proto: String) -> Bool {
        Self.isPlainRTP(proto) || (configuration.srtp != .off && Self.isSecureRTP(proto))
    }

    private enum Order { case ours, theirs }

    private static func firstMatch(codecs: [AudioCodec], in maps: [RTPMap], order: Order) -> (AudioCodec, RTPMap)? {
        switch order {
        case .ours:
            for codec in codecs {
                if let map = maps.first(where: codec.matches) { return (codec, map) }
            }
        case .theirs:
            for map in maps {
                if let codec = codecs.first(where: { $0.matches(map) }) { return (codec, map) }
            }
        }
        return nil
    }

    /// An m-line rejecting an offered stream: port 0, the offered formats, no attributes (RFC 3264 §6).
    private static func rejected(_ offered: MediaDescription) -> MediaDescription {
        var media = MediaDescription(media: offered.media, port: 0, proto: offered.proto, formats: offered.formats)
        if media.formats.isEmpty { media.formats = ["0"] }
        return media
    }

    private func negotiate(_ offered: MediaDescription, index: Int, in offer: SessionDescription, crypto: CryptoAttribute?) -> (NegotiatedAudio, MediaDescription)? {
        guard let (codec, map) = Self.firstMatch(codecs: configuration.codecs, in: offered.payloadMaps, order: .ours) else { return nil }
        let hold = offer.effectiveConnection(of: offered)?.isHoldAddress ?? false
        var direction = offer.effectiveDirection(of: offered).mirrored
        if hold {  // RFC 3264 §8.4: c=0.0.0.0 means the offerer receives nothing
            direction = direction.receives ? .recvonly : .inactive
        }
        guard var audio = try? negotiated(offered, index: index, in: offer, codec: codec, map: map, ourDirection: direction) else { return nil }

        var attributes = [Attribute("rtpmap", RTPMap(payloadType: map.payloadType, encodingName: map.encodingName, clockRate: map.clockRate, channels: map.channels).attributeValue)]
        if codec == .opus, !configuration.opus.fmtp.isEmpty {
            attributes.append(Attribute("fmtp", "\(map.payloadType) \(configuration.opus.fmtp)"))
        }
        var formats = [String(map.payloadType)]
        if let te = audio.telephoneEventPayloadType {
            formats.append(String(te))
            attributes.append(Attribute("rtpmap", "\(te) telephone-event/\(codec.clockRate)"))
            attributes.append(Attribute("fmtp", "\(te) 0-15"))
        }
        attributes.append(Attribute("ptime", String(configuration.ptime)))
        attributes.append(Attribute(direction.rawValue))
        if let crypto {
            // RFC 4568 §7.1.2: the offer's tag and suite, our own fresh key.
            let ours = CryptoAttribute(tag: crypto.tag, suite: crypto.suite, key: .random(for: crypto.suite))
            attributes.append(Attribute("crypto", ours.attributeValue))
            audio.srtp = NegotiatedSRTP(suite: crypto.suite, tag: crypto.tag, localKey: ours.key, remoteKey: crypto.key)
        }
        let media = MediaDescription(media: offered.media, port: port, proto: offered.proto, formats: formats, attributes: attributes)
        return (audio, media)
    }

    /// The packetization we send Opus with for a wanted `ptime` (10–60 ms): an Opus packet of
    /// one frame lasts 10, 20, 40 or 60 ms (RFC 6716 §2.1.4; 2.5 and 5 ms are not whole ms), so 30
    /// and 50 are rounded DOWN to 20 and 40. RFC 7587 §6.1 makes `ptime` a preference and
    /// `maxptime` a limit: rounding down never exceeds the peer's `maxptime` (which the wanted
    /// value already respects), where rounding up (30 → 40) could; and a shorter packet only costs
    /// header overhead.
    static func opusPtime(_ ptime: Int) -> Int {
        [60, 40, 20, 10].first { $0 <= ptime } ?? 10
    }

    private func negotiated(_ media: MediaDescription, index: Int, in session: SessionDescription, codec: AudioCodec, map: RTPMap, ourDirection: Direction) throws(SDPError) -> NegotiatedAudio {
        guard let connection = session.effectiveConnection(of: media) else {
            throw SDPError(.missingConnection, "m=\(media.media) has no c= line")
        }
        let peerDirection = session.effectiveDirection(of: media)
        let telephoneEvent = configuration.telephoneEvent
            ? media.payloadMaps.first(where: { $0.isEncoding("telephone-event") && $0.clockRate == codec.clockRate })?.payloadType
            : nil
        var remoteOpus: OpusParameters?
        if codec == .opus {
            remoteOpus = (try? OpusParameters(fmtp: media.formatParameters(for: map.payloadType) ?? "")) ?? OpusParameters()
        }
        var ptime = configuration.ptime
        if let wanted = media.ptime ?? remoteOpus?.ptime, wanted % 10 == 0, (10...60).contains(wanted), wanted <= (media.maxptime ?? 60) {
            ptime = wanted
        }
        if codec == .opus { ptime = Self.opusPtime(ptime) }
        var rtcpPort = media.port &+ 1
        if let rtcp = media.attributeValues("rtcp").first, let value = rtcp.split(separator: " ").first.flatMap({ UInt16($0) }) {
            rtcpPort = value  // RFC 3605 §2.1
        }
        return NegotiatedAudio(
            mediaIndex: index, codec: codec, payloadType: map.payloadType, telephoneEventPayloadType: telephoneEvent,
            remoteAddress: connection.address, remotePort: media.port, remoteRTCPPort: rtcpPort, direction: ourDirection,
            remoteHold: connection.isHoldAddress || !peerDirection.receives, ptime: ptime, remoteOpus: remoteOpus)
    }
}
