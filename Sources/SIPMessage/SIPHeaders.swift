// The header section of a SIP message: every field in order with its raw bytes (RFC 3261 §7.3).
// Values stay as byte ranges into one ByteBuffer (the received message, not copied) and are typed
// lazily on access, so parsing allocates one array per message and no String per header.

import NIOCore

/// The header fields of a SIP message, kept in order with their raw values (RFC 3261 §7.3).
///
/// Names compare case-insensitively and compact forms are folded (§7.3.1, §7.3.3). Values keep
/// their exact bytes, so a parsed message serializes back byte for byte; `value(_:)` returns a value
/// with line folding replaced by single spaces (§7.3.1: folded LWS is equivalent to SP).
public struct SIPHeaders: Sendable, Hashable, Sequence {
    /// Where one field lives in `storage` (absolute indices).
    @usableFromInline
    struct Entry: Sendable, Hashable {
        @usableFromInline var known: SIPHeaderName.Known
        @usableFromInline var lineStart: Int
        @usableFromInline var nameEnd: Int
        @usableFromInline var valueStart: Int
        @usableFromInline var valueEnd: Int
        @usableFromInline var lineEnd: Int
    }

    @usableFromInline var storage: ByteBuffer
    @usableFromInline var entries: [Entry]

    /// An empty header section.
    public init() {
        storage = ByteBuffer()
        entries = []
    }

    @usableFromInline
    init(storage: ByteBuffer, entries: [Entry]) {
        self.storage = storage
        self.entries = entries
    }

    /// Makes headers from name/value pairs in order.
    public init(_ fields: [(SIPHeaderName, String)]) {
        self.init()
        for (name, value) in fields { add(name, value) }
    }

    /// Number of header field rows (a comma list in one row counts once).
    public var count: Int { entries.count }

    /// One header field: its name as received and its value (folding replaced by SP).
    public struct Field: Sendable, Hashable {
        /// The name as written in the message (e.g. `v`, `ViA`).
        public var rawName: String
        /// The header name (canonical, case-insensitive).
        public var name: SIPHeaderName { SIPHeaderName(rawName) }
        /// The value with line folding replaced by single spaces and outer whitespace trimmed.
        public var value: String
    }

    /// Iterates fields in message order.
    public func makeIterator() -> AnyIterator<Field> {
        var i = 0
        return AnyIterator {
            guard i < entries.count else { return nil }
            defer { i += 1 }
            return field(at: i)
        }
    }

    /// The field at a position in message order.
    public func field(at index: Int) -> Field {
        let e = entries[index]
        return Field(rawName: storage.getString(at: e.lineStart, length: e.nameEnd - e.lineStart) ?? "", value: text(e))
    }

    @usableFromInline
    func matches(_ e: Entry, _ name: SIPHeaderName) -> Bool {
        if name.known != .other { return e.known == name.known }
        guard e.known == .other else { return false }
        let wanted = name.otherLowercased.utf8
        guard wanted.count == e.nameEnd - e.lineStart else { return false }
        return storage.withUnsafeReadableBytes { raw in
            let base = e.lineStart - storage.readerIndex
            var i = base
            for w in wanted {
                let c = raw[i]
                let lower = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                if lower != w { return false }
                i += 1
            }
            return true
        }
    }

    /// The value bytes of an entry with folding (CRLF + WSP) replaced by one SP.
    func text(_ e: Entry) -> String {
        storage.withUnsafeReadableBytes { raw in
            let slice = UnsafeRawBufferPointer(rebasing: raw[(e.valueStart - storage.readerIndex)..<(e.valueEnd - storage.readerIndex)])
            if !slice.contains(0x0A) && !slice.contains(0x0D) { return String(decoding: slice, as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(slice.count)
            var i = 0
            while i < slice.count {
                let c = slice[i]
                if c == 0x0D || c == 0x0A {
                    while let last = out.last, last == 0x20 || last == 0x09 { out.removeLast() }
                    i += 1
                    while i < slice.count, [0x0D, 0x0A, 0x20, 0x09].contains(slice[i]) { i += 1 }
                    out.append(0x20)
                } else {
                    out.append(c)
                    i += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The raw value bytes of an entry, folding and all (what the typed parsers read).
    func bytes(_ e: Entry) -> [UInt8] {
        storage.getBytes(at: e.valueStart, length: e.valueEnd - e.valueStart) ?? []
    }

    /// The first value of a header, or nil when absent.
    public subscript(_ name: SIPHeaderName) -> String? {
        for e in entries where matches(e, name) { return text(e) }
        return nil
    }

    /// The value of every row of a header, in order (comma lists are not split).
    public func values(_ name: SIPHeaderName) -> [String] {
        entries.filter { matches($0, name) }.map(text)
    }

    /// Raw value bytes of every row of a header, in order.
    func rawValues(_ name: SIPHeaderName) -> [[UInt8]] {
        entries.filter { matches($0, name) }.map(bytes)
    }

    /// Raw value bytes of the first row of a header and whether another row follows (no arrays
    /// of rows: the transaction layer reads Via, CSeq, Call-ID, From and To of every message).
    func firstRawValue(_ name: SIPHeaderName) -> (bytes: [UInt8], more: Bool)? {
        guard let i = entries.firstIndex(where: { matches($0, name) }) else { return nil }
        let more = entries[(i + 1)...].contains { matches($0, name) }
        return (bytes(entries[i]), more)
    }

    /// True when the header occurs at least once.
    public func contains(_ name: SIPHeaderName) -> Bool {
        entries.contains { matches($0, name) }
    }

    /// Number of rows of a header.
    public func count(of name: SIPHeaderName) -> Int {
        entries.reduce(0) { $0 + (matches($1, name) ? 1 : 0) }
    }

    private mutating func makeEntry(_ name: SIPHeaderName, _ value: String) -> Entry {
        let lineStart = storage.writerIndex
        storage.writeString(name.description)
        let nameEnd = storage.writerIndex
        storage.writeStaticString(": ")
        let valueStart = storage.writerIndex
        storage.writeString(value)
        let valueEnd = storage.writerIndex
        return Entry(known: name.known, lineStart: lineStart, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd, lineEnd: valueEnd)
    }

    /// Appends a header row at the end (RFC 3261 §7.3: order of rows with the same name matters).
    public mutating func add(_ name: SIPHeaderName, _ value: String) {
        entries.append(makeEntry(name, value))
    }

    /// Inserts a header row before all others of the same name, or at the end when there are none
    /// (as a proxy prepends Via, RFC 3261 §16.6 step 8).
    public mutating func addFirst(_ name: SIPHeaderName, _ value: String) {
        let entry = makeEntry(name, value)
        if let i = entries.firstIndex(where: { matches($0, name) }) { entries.insert(entry, at: i) } else { entries.append(entry) }
    }

    /// Removes every row of a header.
    public mutating func remove(_ name: SIPHeaderName) {
        let kept = entries.filter { !matches($0, name) }
        entries = kept
    }

    /// Removes the first row of a header (as a proxy pops its Via from a response, §16.7 step 3).
    public mutating func removeFirst(_ name: SIPHeaderName) {
        if let i = entries.firstIndex(where: { matches($0, name) }) { entries.remove(at: i) }
    }

    /// Replaces all rows of a header by one row with this value, at the place of the first row.
    public mutating func replaceOrAdd(_ name: SIPHeaderName, _ value: String) {
        let entry = makeEntry(name, value)
        if let i = entries.firstIndex(where: { matches($0, name) }) {
            entries[i] = entry
            var j = entries.count - 1
            while j > i {
                if matches(entries[j], name) { entries.remove(at: j) }
                j -= 1
            }
        } else {
            entries.append(entry)
        }
    }

    /// Copies every row of a header from other headers, in order, appending them.
    public mutating func copy(_ name: SIPHeaderName, from other: SIPHeaders) {
        for e in other.entries where other.matches(e, name) {
            let lineStart = storage.writerIndex
            var slice = other.storage.getSlice(at: e.lineStart, length: e.lineEnd - e.lineStart) ?? ByteBuffer()
            storage.writeBuffer(&slice)
            let shift = lineStart - e.lineStart
            entries.append(Entry(known: e.known, lineStart: lineStart, nameEnd: e.nameEnd + shift, valueStart: e.valueStart + shift, valueEnd: e.valueEnd + shift, lineEnd: e.lineEnd + shift))
        }
    }

    /// Writes every row as `name: value CRLF`, with the exact bytes it was parsed from.
    public func write(to buffer: inout ByteBuffer) {
        storage.withUnsafeReadableBytes { raw in
            let base = storage.readerIndex
            // Rows still adjacent as parsed (separated by exactly CRLF) are written in one run.
            var i = 0
            while i < entries.count {
                let runStart = entries[i].lineStart
                var runEnd = entries[i].lineEnd
                i += 1
                while i < entries.count, entries[i].lineStart == runEnd + 2, raw[runEnd - base] == 0x0D, raw[runEnd + 1 - base] == 0x0A {
                    runEnd = entries[i].lineEnd
                    i += 1
                }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(runStart - base)..<(runEnd - base)]))
                buffer.writeStaticString("\r\n")
            }
        }
    }

    /// Headers are equal when they hold the same rows with the same bytes in the same order.
    public static func == (lhs: SIPHeaders, rhs: SIPHeaders) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (a, b) in zip(lhs.entries, rhs.entries) {
            guard a.lineEnd - a.lineStart == b.lineEnd - b.lineStart,
                  lhs.storage.getSlice(at: a.lineStart, length: a.lineEnd - a.lineStart) == rhs.storage.getSlice(at: b.lineStart, length: b.lineEnd - b.lineStart)
            else { return false }
        }
        return true
    }

    /// Hashes the row bytes in order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for e in entries { hasher.combine(storage.getSlice(at: e.lineStart, length: e.lineEnd - e.lineStart)) }
    }
}
