import NIOCore

/// One RFC 4733 event payload (RFC 4733 §2.3): event code, end bit, volume and duration.
public struct TelephoneEvent: Equatable, Hashable, Sendable {
    /// Event code; 0–15 are the DTMF keys (RFC 4733 §3.2).
    public var event: UInt8
    /// E bit: this packet ends the event.
    public var end: Bool
    /// Power level in −dBm0, 0…63 (RFC 4733 §2.3.4).
    public var volume: UInt8
    /// Duration so far in timestamp units (RFC 4733 §2.3.5).
    public var duration: UInt16

    /// Creates an event payload.
    public init(event: UInt8, end: Bool = false, volume: UInt8 = 10, duration: UInt16) {
        self.event = event
        self.end = end
        self.volume = volume
        self.duration = duration
    }

    /// Size of one event payload.
    public static let size = 4

    /// Decodes the first event of a payload (RFC 4733 §2.3). Extra bytes (further events of a
    /// redundant payload) are ignored; the R bit is ignored as the RFC requires.
    ///
    /// - Throws: `.badEvent` when fewer than 4 bytes.
    public init(parsing payload: ByteBuffer) throws(RTPError) {
        let at = payload.readerIndex
        guard let event = payload.getInteger(at: at, as: UInt8.self),
              let flags = payload.getInteger(at: at + 1, as: UInt8.self),
              let duration = payload.getInteger(at: at + 2, as: UInt16.self) else {
            throw RTPError(.badEvent, "\(payload.readableBytes) bytes, an event needs 4")
        }
        self.init(event: event, end: flags & 0x80 != 0, volume: flags & 0x3F, duration: duration)
    }

    /// The DTMF key for this event, nil for other events (e.g. 16, flash).
    public var digit: DTMFDigit? { DTMFDigit(event: event) }
}

extension ByteBuffer {
    /// Writes an RFC 4733 event payload (RFC 4733 §2.3); volume is clamped to 63.
    @discardableResult
    public mutating func writeTelephoneEvent(_ event: TelephoneEvent) -> Int {
        writeInteger(event.event) + writeInteger((event.end ? 0x80 : 0) | min(event.volume, 63)) + writeInteger(event.duration)
    }
}

/// A DTMF key: RFC 4733 §3.2 events 0–15.
public enum DTMFDigit: UInt8, Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Keys 0–9.
    case zero = 0, one, two, three, four, five, six, seven, eight, nine
    /// `*` (event 10).
    case star = 10
    /// `#` (event 11).
    case pound = 11
    /// A–D (events 12–15).
    case a = 12, b, c, d

    /// The key for an event code, nil beyond 15.
    public init?(event: UInt8) {
        self.init(rawValue: event)
    }

    /// The key for a character `0-9 * # A-D` (case-insensitive).
    public init?(_ character: Character) {
        guard let ascii = character.asciiValue else { return nil }
        switch character {
        case "0"..."9": self.init(rawValue: ascii - 48)
        case "*": self = .star
        case "#": self = .pound
        case "A", "a": self = .a
        case "B", "b": self = .b
        case "C", "c": self = .c
        case "D", "d": self = .d
        default: return nil
        }
    }

    /// The event code (RFC 4733 §3.2).
    public var event: UInt8 { rawValue }

    /// The key as a character.
    public var character: Character {
        switch self {
        case .star: "*"
        case .pound: "#"
        case .a: "A"
        case .b: "B"
        case .c: "C"
        case .d: "D"
        case .zero, .one, .two, .three, .four, .five, .six, .seven, .eight, .nine: Character(String(rawValue))
        }
    }

    /// The key as text.
    public var description: String { String(character) }
}
