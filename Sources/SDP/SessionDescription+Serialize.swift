extension SessionDescription {
    /// The description as SDP text with CRLF line ends, in the order RFC 8866 §5 requires.
    public var text: String {
        var out = ""
        out.reserveCapacity(512)
        func line(_ type: Character, _ value: String) {
            out.append(type)
            out.append("=")
            out.append(value)
            out.append("\r\n")
        }
        line("v", String(version))
        line("o", "\(origin.username) \(origin.sessionID) \(origin.sessionVersion) \(origin.networkType) \(origin.addressType) \(origin.address)")
        line("s", sessionName)
        if let information { line("i", information) }
        if let uri { line("u", uri) }
        for email in emails { line("e", email) }
        for phone in phones { line("p", phone) }
        if let connection { line("c", connection.text) }
        for bandwidth in bandwidths { line("b", bandwidth.text) }
        for timing in timings {
            line("t", "\(timing.start) \(timing.stop)")
            for repeatLine in timing.repeats { line("r", repeatLine) }
        }
        if let timeZones { line("z", timeZones) }
        if let encryptionKey { line("k", encryptionKey) }
        for attribute in attributes { line("a", attribute.text) }
        for media in media {
            var m = "\(media.media) \(media.port)"
            if let count = media.portCount { m += "/\(count)" }
            m += " \(media.proto)"
            for format in media.formats { m += " \(format)" }
            line("m", m)
            if let information = media.information { line("i", information) }
            for connection in media.connections { line("c", connection.text) }
            for bandwidth in media.bandwidths { line("b", bandwidth.text) }
            if let key = media.encryptionKey { line("k", key) }
            for attribute in media.attributes { line("a", attribute.text) }
        }
        return out
    }
}

extension Connection {
    /// The `c=` value (RFC 8866 §5.7).
    public var text: String {
        "\(networkType) \(addressType.rawValue) \(address)" + (multicastSuffix.map { "/\($0)" } ?? "")
    }
}

extension Bandwidth {
    /// The `b=` value (RFC 8866 §5.8).
    public var text: String { "\(type):\(value)" }
}

extension Attribute {
    /// The `a=` value (RFC 8866 §5.13).
    public var text: String { value.map { "\(name):\($0)" } ?? name }
}
