import ABNF

/// A DTMF key carried in a SIP INFO request body (RFC 6086 INFO; the de-facto bodies that
/// Cisco and most PBXs send). The gateway passes the Content-Type and body; this parses them.
///
/// - `application/dtmf-relay`: lines `Signal=5` and optionally `Duration=160` (ms), CRLF or LF.
/// - `application/dtmf`: the key alone, e.g. `5` (some senders use the RFC 4733 event number,
///   `10` for `*` and `11` for `#`).
public struct SIPInfoDTMF: Sendable, Equatable {
    /// The key.
    public var digit: DTMFDigit
    /// Duration in milliseconds, when the body gives one.
    public var durationMs: Int?

    /// The largest body accepted, bytes.
    public static let maximumBodySize = 1024

    /// Creates a value.
    public init(digit: DTMFDigit, durationMs: Int? = nil) {
        self.digit = digit
        self.durationMs = durationMs
    }

    /// Parses `body` according to `contentType` (parameters after `;` are ignored, case-insensitive).
    public init(contentType: String, body: [UInt8]) throws(MediaError) {
        guard body.count <= Self.maximumBodySize else {
            throw MediaError(.sipInfoMalformed, "INFO body of \(body.count) bytes is over \(Self.maximumBodySize)")
        }
        let type = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingWSP.lowercased() } ?? ""
        let text = String(decoding: body, as: UTF8.self)
        switch type {
        case "application/dtmf-relay":
            var signal: DTMFDigit?
            var duration: Int?
            for rawLine in text.split(whereSeparator: \.isNewline) {
                let parts = rawLine.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingWSP.lowercased()
                let value = parts[1].trimmingWSP
                switch key {
                case "signal":
                    guard let d = Self.digit(value) else {
                        throw MediaError(.sipInfoMalformed, "Signal '\(value)' is not a DTMF key")
                    }
                    signal = d
                case "duration":
                    guard let ms = Int(value), (0...60_000).contains(ms) else {
                        throw MediaError(.sipInfoMalformed, "Duration '\(value)' is not a number of milliseconds")
                    }
                    duration = ms
                default:
                    continue
                }
            }
            guard let s = signal else { throw MediaError(.sipInfoMalformed, "dtmf-relay body has no Signal line") }
            self.init(digit: s, durationMs: duration)
        case "application/dtmf":
            // The key alone on its line; a line break may follow it.
            let lines = text.split(whereSeparator: \.isNewline).map(\.trimmingWSP).filter { !$0.isEmpty }
            let value = lines.count == 1 ? lines[0] : text
            guard let d = Self.digit(value) else { throw MediaError(.sipInfoMalformed, "'\(value)' is not a DTMF key") }
            self.init(digit: d)
        default:
            throw MediaError(.sipInfoUnsupportedType, "Content-Type '\(contentType)' carries no DTMF we know")
        }
    }

    /// A key character (`0`–`9`, `*`, `#`, `A`–`D`) or an RFC 4733 event number `10`–`15`.
    private static func digit(_ value: String) -> DTMFDigit? {
        if value.count == 1, let c = value.first, let d = DTMFDigit(character: c) { return d }
        if let n = UInt8(value), (10...15).contains(n) { return DTMFDigit(rfc4733Event: n) }
        return nil
    }

    /// The body to send this key as `application/dtmf-relay`.
    public var dtmfRelayBody: String {
        "Signal=\(digit.character)\r\nDuration=\(durationMs ?? 160)\r\n"
    }
}
