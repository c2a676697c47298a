/// One `m=` section (RFC 8866 §5.14) with its media-level lines.
public struct MediaDescription: Equatable, Sendable {
    /// `audio`, `video`, `application`, … kept as text.
    public var media: String
    /// Transport port; 0 rejects or disables the stream (RFC 3264 §5.1, §6).
    public var port: UInt16
    /// The `/<number of ports>` suffix, if present.
    public var portCount: Int?
    /// Transport protocol, e.g. `RTP/AVP` (RFC 8866 §5.14).
    public var proto: String
    /// Media formats: RTP payload type numbers as text for RTP protocols.
    public var formats: [String]
    /// `i=` media title.
    public var information: String?
    /// Media-level `c=` lines (RFC 8866 §5.7).
    public var connections: [Connection]
    /// Media-level `b=` lines.
    public var bandwidths: [Bandwidth]
    /// `k=` (obsolete), raw.
    public var encryptionKey: String?
    /// Media-level `a=` lines in order.
    public var attributes: [Attribute]

    /// Creates a media description.
    public init(
        media: String = "audio",
        port: UInt16,
        proto: String = "RTP/AVP",
        formats: [String],
        connection: Connection? = nil,
        attributes: [Attribute] = []
    ) {
        self.media = media
        self.port = port
        self.portCount = nil
        self.proto = proto
        self.formats = formats
        self.information = nil
        self.connections = connection.map { [$0] } ?? []
        self.bandwidths = []
        self.encryptionKey = nil
        self.attributes = attributes
    }

    /// The media-level direction attribute, if any (RFC 8866 §6.7).
    public var direction: Direction? { Direction(attributes: attributes) }

    /// Values of every attribute with this name, in order.
    public func attributeValues(_ name: String) -> [String] {
        attributes.compactMap { $0.name == name ? $0.value : nil }
    }

    /// True for RTP profiles (`RTP/AVP`, `RTP/AVPF`, `RTP/SAVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVP[F]`).
    public var isRTP: Bool { proto.split(separator: "/").contains("RTP") }

    /// `a=rtpmap` entries (RFC 8866 §6.6) by payload type; malformed entries are skipped
    /// (use `SDPParser` strict validation to reject them).
    public var rtpMaps: [RTPMap] {
        attributeValues("rtpmap").compactMap { try? RTPMap(attributeValue: $0) }
    }

    /// The payload types with their encoding, for every RTP format listed in the `m=` line:
    /// from `a=rtpmap` or, for static payload types without one, RFC 3551 Table 4.
    public var payloadMaps: [RTPMap] {
        let maps = rtpMaps
        return formats.compactMap { format in
            guard let pt = UInt8(format), pt < 128 else { return nil }
            return maps.first(where: { $0.payloadType == pt }) ?? RTPMap.staticPayloadType(pt)
        }
    }

    /// The `a=fmtp` parameters for a payload type (RFC 8866 §6.15), raw.
    public func formatParameters(for payloadType: UInt8) -> String? {
        for value in attributeValues("fmtp") {
            let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count >= 1, UInt8(parts[0]) == payloadType {
                return parts.count == 2 ? String(parts[1]) : ""
            }
        }
        return nil
    }

    /// `a=ptime` in milliseconds (RFC 8866 §6.4); fractional values are rounded down.
    public var ptime: Int? { attributeValues("ptime").last.flatMap(Self.milliseconds) }
    /// `a=maxptime` in milliseconds (RFC 8866 §6.5).
    public var maxptime: Int? { attributeValues("maxptime").last.flatMap(Self.milliseconds) }

    static func milliseconds(_ text: String) -> Int? {
        let whole = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let value = Int(whole), value > 0, value <= 10_000 else { return nil }
        return value
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6).
public struct RTPMap: Equatable, Sendable {
    /// RTP payload type, 0…127.
    public var payloadType: UInt8
    /// Encoding name as written (`PCMU`, `opus`, `telephone-event`); compare case-insensitively.
    public var encodingName: String
    /// RTP clock rate in Hz.
    public var clockRate: Int
    /// Channel count for audio (the encoding parameters), nil when absent (meaning 1).
    public var channels: Int?

    /// Creates a map.
    public init(payloadType: UInt8, encodingName: String, clockRate: Int, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    /// Parses the attribute value (after `rtpmap:`).
    public init(attributeValue: String) throws(SDPError) {
        let parts = attributeValue.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, let pt = UInt8(parts[0]), pt < 128 else {
            throw SDPError(.badAttribute, "rtpmap payload type in '\(attributeValue)'")
        }
        let encoding = parts[1].split(separator: "/", omittingEmptySubsequences: false)
        guard encoding.count >= 2, encoding.count <= 3, !encoding[0].isEmpty,
              let rate = Int(encoding[1]), rate > 0, rate <= 1_000_000 else {
            throw SDPError(.badAttribute, "rtpmap encoding in '\(attributeValue)'")
        }
        var channels: Int?
        if encoding.count == 3 {
            guard let count = Int(encoding[2]), count > 0, count <= 255 else {
                throw SDPError(.badAttribute, "rtpmap channels in '\(attributeValue)'")
            }
            channels = count
        }
        self.init(payloadType: pt, encodingName: String(encoding[0]), clockRate: rate, channels: channels)
    }

    /// The attribute value, `0 PCMU/8000` or `111 opus/48000/2`.
    public var attributeValue: String {
        var text = "\(payloadType) \(encodingName)/\(clockRate)"
        if let channels { text += "/\(channels)" }
        return text
    }

    /// True when the encoding names match case-insensitively (RFC 4855 §3: names are case-insensitive).
    public func isEncoding(_ name: String) -> Bool {
        encodingName.lowercased() == name.lowercased()
    }

    /// Static audio payload types of RFC 3551 Table 4 that a peer may list without `a=rtpmap`.
    public static func staticPayloadType(_ pt: UInt8) -> RTPMap? {
        switch pt {
        case 0: RTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000)
        case 3: RTPMap(payloadType: 3, encodingName: "GSM", clockRate: 8000)
        case 4: RTPMap(payloadType: 4, encodingName: "G723", clockRate: 8000)
        case 8: RTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000)
        case 9: RTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000)
        case 13: RTPMap(payloadType: 13, encodingName: "CN", clockRate: 8000)
        case 18: RTPMap(payloadType: 18, encodingName: "G729", clockRate: 8000)
        default: nil
        }
    }
}
