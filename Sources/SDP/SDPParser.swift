/// Parses SDP text (RFC 8866 §5) into a `SessionDescription`, with explicit size limits.
///
/// Lines end in CRLF or a bare LF (RFC 8866 §5 allows both). `v=`, `o=`, `s=` must come first in
/// that order; the other session-level lines are accepted in any order before the first `m=`
/// (real peers such as pjsua put `a=` between `b=` and `t=`). Unknown line types are rejected.
public struct SDPParser: Sendable {
    /// Size limits; anything above them fails with `.tooLarge`.
    public struct Limits: Sendable, Equatable {
        /// Largest accepted body in bytes.
        public var maxBodyBytes: Int
        /// Most lines in a body.
        public var maxLines: Int
        /// Longest line in bytes.
        public var maxLineLength: Int
        /// Most `m=` sections.
        public var maxMediaDescriptions: Int

        /// Creates limits.
        public init(maxBodyBytes: Int = 16_384, maxLines: Int = 512, maxLineLength: Int = 2_048, maxMediaDescriptions: Int = 16) {
            self.maxBodyBytes = maxBodyBytes
            self.maxLines = maxLines
            self.maxLineLength = maxLineLength
            self.maxMediaDescriptions = maxMediaDescriptions
        }
    }

    /// The limits in force.
    public var limits: Limits

    /// Creates a parser.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Parses a body given as bytes (a SIP message body); it must be UTF-8.
    public func parse(bytes: some Collection<UInt8>) throws(SDPError) -> SessionDescription {
        guard bytes.count <= limits.maxBodyBytes else {
            throw SDPError(.tooLarge, "body of \(bytes.count) bytes exceeds \(limits.maxBodyBytes)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SDPError(.notText, "body is not UTF-8")
        }
        return try parse(text)
    }

    /// Parses SDP text.
    public func parse(_ text: String) throws(SDPError) -> SessionDescription {
        guard text.utf8.count <= limits.maxBodyBytes else {
            throw SDPError(.tooLarge, "body of \(text.utf8.count) bytes exceeds \(limits.maxBodyBytes)")
        }
        var lines: [(number: Int, type: Character, value: Substring)] = []
        var number = 0
        // Split on bytes: as Characters, CRLF is one grapheme and would not match "\n".
        let whole = Substring(text)
        for rawLine in whole.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let bytes = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            let line = Substring(bytes)
            if line.isEmpty { continue }  // trailing CRLF, or blank lines some peers add
            guard number <= limits.maxLines else { throw SDPError(.tooLarge, line: number, "more than \(limits.maxLines) lines") }
            guard line.utf8.count <= limits.maxLineLength else {
                throw SDPError(.tooLarge, line: number, "line longer than \(limits.maxLineLength) bytes")
            }
            guard line.count >= 2, let type = line.first, type.isASCII, type.isLetter, line.dropFirst().first == "=" else {
                throw SDPError(.malformedLine, line: number, "expected '<type>=<value>', got '\(line.prefix(40))'")
            }
            lines.append((number, type, line.dropFirst(2)))
        }
        return try build(lines)
    }

    private func build(_ lines: [(number: Int, type: Character, value: Substring)]) throws(SDPError) -> SessionDescription {
        var index = 0
        func expect(_ type: Character) throws(SDPError) -> (Int, Substring) {
            guard index < lines.count, lines[index].type == type else {
                let at = index < lines.count ? lines[index].number : nil
                throw SDPError(.missingLine, line: at, "expected '\(type)=' line")
            }
            defer { index += 1 }
            return (lines[index].number, lines[index].value)
        }
        let (vLine, v) = try expect("v")
        guard v == "0" else { throw SDPError(.unsupportedVersion, line: vLine, "v=\(v)") }
        let (oLine, o) = try expect("o")
        let origin = try Self.origin(o, line: oLine)
        let (_, s) = try expect("s")
        var session = SessionDescription(origin: origin, sessionName: String(s), timings: [])

        // Session-level lines until the first m=.
        while index < lines.count, lines[index].type != "m" {
            let (number, type, value) = lines[index]
            index += 1
            switch type {
            case "i": session.information = String(value)
            case "u": session.uri = String(value)
            case "e": session.emails.append(String(value))
            case "p": session.phones.append(String(value))
            case "c": session.connection = try Self.connection(value, line: number)
            case "b": session.bandwidths.append(try Self.bandwidth(value, line: number))
            case "t": session.timings.append(try Self.timing(value, line: number))
            case "r":
                guard !session.timings.isEmpty else { throw SDPError(.badTiming, line: number, "r= before t=") }
                session.timings[session.timings.count - 1].repeats.append(String(value))
            case "z": session.timeZones = String(value)
            case "k": session.encryptionKey = String(value)
            case "a": session.attributes.append(Self.attribute(value))
            default: throw SDPError(.malformedLine, line: number, "unknown or misplaced '\(type)=' line")
            }
        }
        guard !session.timings.isEmpty else { throw SDPError(.missingLine, "no 't=' line") }

        while index < lines.count {
            let (mLine, type, value) = lines[index]
            index += 1
            guard type == "m" else { throw SDPError(.malformedLine, line: mLine, "misplaced '\(type)=' line") }
            guard session.media.count < limits.maxMediaDescriptions else {
                throw SDPError(.tooLarge, line: mLine, "more than \(limits.maxMediaDescriptions) media descriptions")
            }
            var media = try Self.media(value, line: mLine)
            while index < lines.count, lines[index].type != "m" {
                let (number, type, value) = lines[index]
                index += 1
                switch type {
                case "i": media.information = String(value)
                case "c": media.connections.append(try Self.connection(value, line: number))
                case "b": media.bandwidths.append(try Self.bandwidth(value, line: number))
                case "k": media.encryptionKey = String(value)
                case "a":
                    let attribute = Self.attribute(value)
                    try Self.validate(attribute, line: number)
                    media.attributes.append(attribute)
                default: throw SDPError(.malformedLine, line: number, "unknown or misplaced '\(type)=' line in media section")
                }
            }
            session.media.append(media)
        }
        for media in session.media where media.port != 0 && session.effectiveConnection(of: media) == nil {
            throw SDPError(.missingConnection, "m=\(media.media) \(media.port) has no c= line at either level")
        }
        return session
    }

    static func fields(_ value: Substring) -> [Substring] {
        value.split(separator: " ", omittingEmptySubsequences: true)
    }

    static func origin(_ value: Substring, line: Int) throws(SDPError) -> Origin {
        let f = fields(value)
        guard f.count == 6, let version = UInt64(f[2]), !f[1].isEmpty, f[1].allSatisfy(\.isNumber) else {
            throw SDPError(.badOrigin, line: line, "o=\(value)")
        }
        return Origin(username: String(f[0]), sessionID: String(f[1]), sessionVersion: version,
                      networkType: String(f[3]), addressType: String(f[4]), address: String(f[5]))
    }

    static func connection(_ value: Substring, line: Int) throws(SDPError) -> Connection {
        let f = fields(value)
        guard f.count == 3, f[0] == "IN", let type = Connection.AddressType(rawValue: String(f[1])) else {
            throw SDPError(.badConnection, line: line, "c=\(value)")
        }
        let parts = f[2].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = parts[0]
        let valid = switch type {
        case .ip4: isIPv4(address) || isHostname(address)
        case .ip6: isIPv6(address)
        }
        guard valid else { throw SDPError(.badConnection, line: line, "address '\(address)' is not \(type.rawValue)") }
        var connection = Connection(addressType: type, address: String(address))
        if parts.count == 2 { connection.multicastSuffix = String(parts[1]) }
        return connection
    }

    static func isIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { $0.count <= 3 && !$0.isEmpty && $0.allSatisfy(\.isASCII) && (UInt8($0) != nil) }
    }

    static func isHostname(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 253 && text.contains(where: \.isLetter)
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    static func isIPv6(_ text: Substring) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }

    static func bandwidth(_ value: Substring, line: Int) throws(SDPError) -> Bandwidth {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let amount = UInt64(parts[1]) else {
            throw SDPError(.badBandwidth, line: line, "b=\(value)")
        }
        return Bandwidth(type: String(parts[0]), value: amount)
    }

    static func timing(_ value: Substring, line: Int) throws(SDPError) -> Timing {
        let f = fields(value)
        guard f.count == 2, let start = UInt64(f[0]), let stop = UInt64(f[1]) else {
            throw SDPError(.badTiming, line: line, "t=\(value)")
        }
        return Timing(start: start, stop: stop)
    }

    static func media(_ value: Substring, line: Int) throws(SDPError) -> MediaDescription {
        let f = fields(value)
        guard f.count >= 4, !f[0].isEmpty else { throw SDPError(.badMedia, line: line, "m=\(value)") }
        let portParts = f[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = UInt16(portParts[0]) else { throw SDPError(.badMedia, line: line, "port in m=\(value)") }
        var media = MediaDescription(media: String(f[0]), port: port, proto: String(f[2]), formats: f[3...].map(String.init))
        if portParts.count == 2 {
            guard let count = Int(portParts[1]), count > 0, count <= 65_535 else {
                throw SDPError(.badMedia, line: line, "port count in m=\(value)")
            }
            media.portCount = count
        }
        if media.isRTP {
            for format in media.formats {
                guard let pt = UInt8(format), pt < 128 else {
                    throw SDPError(.badMedia, line: line, "RTP payload type '\(format)' not in 0…127")
                }
            }
        }
        return media
    }

    static func attribute(_ value: Substring) -> Attribute {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        return Attribute(String(parts[0]), parts.count == 2 ? String(parts[1]) : nil)
    }

    /// Checks the media attributes we interpret (RFC 8866 §6.4–6.6, §6.15).
    static func validate(_ attribute: Attribute, line: Int) throws(SDPError) {
        switch attribute.name {
        case "rtpmap":
            do throws(SDPError) {
                _ = try RTPMap(attributeValue: attribute.value ?? "")
            } catch {
                throw SDPError(.badAttribute, line: line, error.detail)
            }
        case "ptime", "maxptime":
            guard let value = attribute.value, MediaDescription.milliseconds(value) != nil else {
                throw SDPError(.badAttribute, line: line, "a=\(attribute.name) needs milliseconds")
            }
        case "fmtp":
            guard let value = attribute.value, let first = fields(Substring(value)).first, first == "*" || UInt8(first) != nil else {
                throw SDPError(.badAttribute, line: line, "a=fmtp needs a format")
            }
        default:
            break
        }
    }
}
