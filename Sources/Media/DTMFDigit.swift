/// One DTMF key: the 16 positions of the 4×4 keypad (ITU-T Q.23).
///
/// The raw value is the RFC 4733 §3.2 event code (0–9, `*` = 10, `#` = 11, A–D = 12–15).
public enum DTMFDigit: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// 0
    case zero = 0
    /// 1
    case one = 1
    /// 2
    case two = 2
    /// 3
    case three = 3
    /// 4
    case four = 4
    /// 5
    case five = 5
    /// 6
    case six = 6
    /// 7
    case seven = 7
    /// 8
    case eight = 8
    /// 9
    case nine = 9
    /// `*`
    case star = 10
    /// `#`
    case pound = 11
    /// A
    case a = 12
    /// B
    case b = 13
    /// C
    case c = 14
    /// D
    case d = 15

    /// The digit for a keypad character (`0`–`9`, `*`, `#`, `A`–`D`, case-insensitive).
    public init?(character: Character) {
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

    /// The RFC 4733 event code (0–15) as a digit; nil for other events.
    public init?(rfc4733Event: UInt8) {
        self.init(rawValue: rfc4733Event)
    }

    /// The keypad character.
    public var character: Character {
        Character(UnicodeScalar(Self.characters[Int(rawValue)]))
    }

    /// The keypad character as a string.
    public var description: String { String(character) }

    private static let characters: [UInt8] = Array("0123456789*#ABCD".utf8)

    /// Row (low group) index 0–3 on the Q.23 keypad: 697, 770, 852, 941 Hz.
    public var row: Int { Self.rowColumn[Int(rawValue)].0 }
    /// Column (high group) index 0–3 on the Q.23 keypad: 1209, 1336, 1477, 1633 Hz.
    public var column: Int { Self.rowColumn[Int(rawValue)].1 }

    /// The low-group frequency in Hz (ITU-T Q.23 Table 1).
    public var lowFrequency: Double { Self.lowGroup[row] }
    /// The high-group frequency in Hz (ITU-T Q.23 Table 1).
    public var highFrequency: Double { Self.highGroup[column] }

    /// Low-group (row) frequencies, ITU-T Q.23.
    public static let lowGroup: [Double] = [697, 770, 852, 941]
    /// High-group (column) frequencies, ITU-T Q.23.
    public static let highGroup: [Double] = [1209, 1336, 1477, 1633]

    /// The digit at a keypad position (row, column).
    public static func at(row: Int, column: Int) -> DTMFDigit {
        keypad[row][column]
    }

    private static let keypad: [[DTMFDigit]] = [
        [.one, .two, .three, .a],
        [.four, .five, .six, .b],
        [.seven, .eight, .nine, .c],
        [.star, .zero, .pound, .d],
    ]

    private static let rowColumn: [(Int, Int)] = [
        (3, 1), (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2),
        (3, 0), (3, 2), (0, 3), (1, 3), (2, 3), (3, 3),
    ]
}
