// Ordered `;name[=value]` parameters of URIs and header values (RFC 3261 §19.1.1, §25.1 generic-param).

/// Parameters in order, with case-insensitive names (RFC 3261 §7.3.1, §19.1.4).
///
/// Header parameters keep their value as written (a quoted-string keeps its quotes);
/// URI parameters hold the unescaped value.
public struct SIPParameters: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral {
    /// One parameter; `value` nil for a flag like `;lr`.
    public struct Parameter: Hashable, Sendable {
        /// The name as written.
        public var name: String
        /// The value, or nil for a parameter without `=`.
        public var value: String?

        /// Makes a parameter.
        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    /// The parameters in order.
    public var items: [Parameter]

    /// Makes parameters.
    public init(_ items: [Parameter] = []) { self.items = items }

    /// Makes parameters from a literal list.
    public init(arrayLiteral elements: Parameter...) { self.items = elements }

    /// Iterates parameters in order.
    public func makeIterator() -> IndexingIterator<[Parameter]> { items.makeIterator() }

    /// True when there are no parameters.
    public var isEmpty: Bool { items.isEmpty }

    /// True when a parameter of that name is present (with or without value).
    public func contains(_ name: String) -> Bool {
        items.contains { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// The value of the first parameter of that name; nil when absent or valueless.
    public subscript(_ name: String) -> String? {
        get { items.first { $0.name.equalsIgnoringASCIICase(name) }?.value ?? nil }
        set {
            if let newValue { set(name, newValue) } else { remove(name) }
        }
    }

    /// Sets a parameter (replacing the first of that name, or appending).
    public mutating func set(_ name: String, _ value: String?) {
        if let i = items.firstIndex(where: { $0.name.equalsIgnoringASCIICase(name) }) {
            items[i].value = value
        } else {
            items.append(Parameter(name: name, value: value))
        }
    }

    /// Removes every parameter of that name.
    public mutating func remove(_ name: String) {
        items.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// Renders `;name=value` for each parameter, values as stored.
    public var description: String {
        var out = ""
        for p in items {
            out += ";" + p.name
            if let v = p.value { out += "=" + v }
        }
        return out
    }

    /// Parses `*( SEMI generic-param )` of a header value (§25.1): `generic-param = token [ EQUAL gen-value ]`,
    /// `gen-value = token / host / quoted-string`.
    static func parseHeaderParameters(_ s: inout ByteScanner) throws(SIPParseError) -> SIPParameters {
        var params = SIPParameters()
        while s.separator(UInt8(ascii: ";")) {
            let name = try s.requireToken("Parameter Name")
            var value: String?
            if s.separator(UInt8(ascii: "=")) {
                if s.peek == UInt8(ascii: "\"") {
                    value = try s.quotedString().raw
                } else {
                    let v = s.take { SIPMessageParser.isTokenChar($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }
                    guard !v.isEmpty else { throw s.fail("Empty Parameter Value") }
                    value = v.string
                }
            }
            params.items.append(Parameter(name: name, value: value))
        }
        return params
    }
}

/// Removes the quotes and quoted-pair escapes of a quoted-string; returns other text unchanged.
func unquote(_ value: String) -> String {
    guard value.utf8.first == UInt8(ascii: "\""), value.utf8.count >= 2, value.utf8.last == UInt8(ascii: "\"") else { return value }
    var s = ByteScanner(value)
    return (try? s.quotedString().text) ?? value
}

/// Makes a quoted-string (§25.1) of text, escaping `"` and `\`.
func quote(_ text: String) -> String {
    var out = "\""
    for c in text {
        if c == "\"" || c == "\\" { out.append("\\") }
        out.append(c)
    }
    return out + "\""
}

extension String {
    /// Equal when the UTF-8 bytes match with ASCII letters folded to lower case: parameter and
    /// token comparisons of RFC 3261 §7.3.1 and §19.1.4, without allocating lower-cased copies.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        if self == other { return true }  // the usual case, and a memcmp
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let ly = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }
}
