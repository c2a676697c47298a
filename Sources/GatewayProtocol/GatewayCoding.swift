// GatewayCoding: one JSON object per line (newline-delimited JSON) for the gateway ↔ core socket,
// with snake_case keys and stable error codes. Foundation's JSON coders do the JSON; this file maps
// the envelope. Lines are framed (with a size limit) by GatewayLineFraming.swift.

import Foundation

/// Errors reading the socket; every one has a stable code. A line of an unknown type is skipped;
/// after any other error the reader closes the connection (GatewaySocketServer, CoreLink).
public struct GatewayProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes.
    public enum Code: String, Sendable, Equatable {
        /// A line longer than the limit (`GatewayLineDecoder`).
        case lineTooLong = "line_too_long"
        /// Not a JSON object with `v` and `type`, or a field of the wrong type.
        case malformed
        /// A `type` this version does not know (from a newer peer): ignore the line.
        case unknownType = "unknown_type"
        /// A `v` this build does not speak.
        case unsupportedVersion = "unsupported_version"
    }
    /// The code.
    public var code: Code
    /// Details for logs.
    public var detail: String
    /// Makes an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    /// `code: detail`.
    public var description: String { "\(code.rawValue): \(detail)" }
}

/// Encodes envelopes as lines.
public struct GatewayEncoder: Sendable {
    /// Makes an encoder.
    public init() {}

    /// The JSON line for `envelope`, ending with `\n`.
    public func encode(_ envelope: GatewayEnvelope) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .custom { keys in WireKey(GatewayKeys.wire(keys.last!.stringValue)) }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own value types cannot fail (no floats, no non-string keys).
        var bytes = [UInt8]((try? encoder.encode(EnvelopeCoding(envelope))) ?? Data())
        bytes.append(0x0A)
        return bytes
    }
}

/// Decodes one line (newline-delimited JSON; `GatewayLineDecoder` frames the lines).
public enum GatewayDecoder {
    /// Decodes one line (without its newline).
    public static func decode(line: Data) throws(GatewayProtocolError) -> GatewayEnvelope {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { keys in WireKey(GatewayKeys.swift(keys.last!.stringValue)) }
        do {
            return try decoder.decode(EnvelopeCoding.self, from: line).envelope
        } catch let error as GatewayProtocolError {
            throw error
        } catch {
            throw GatewayProtocolError(.malformed, "\(error)")
        }
    }
}

/// Key spelling: Swift `callID` ↔ wire `call_id`, `outcomeIDs` ↔ `outcome_ids`, `ringMilliseconds` ↔ `ring_milliseconds`.
/// On ASCII bytes: the coders call these for every key of every message, and Character-level
/// string work (Unicode case properties) made them a tenth of the gateway link's CPU under load.
enum GatewayKeys {
    static func wire(_ swift: String) -> String {
        let bytes = Array(swift.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 4)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "I"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "D") {
                out.append(contentsOf: "_id".utf8)
                i += 2
                if i < bytes.count, bytes[i] == UInt8(ascii: "s") {
                    out.append(UInt8(ascii: "s"))
                    i += 1
                }
            } else if c >= UInt8(ascii: "A"), c <= UInt8(ascii: "Z") {
                out.append(UInt8(ascii: "_"))
                out.append(c | 0x20)
                i += 1
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func swift(_ wire: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(wire.utf8.count)
        for (index, part) in wire.utf8.split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false).enumerated() {
            if index == 0 {
                out.append(contentsOf: part)
            } else if part.elementsEqual("id".utf8) {
                out.append(contentsOf: "ID".utf8)
            } else if part.elementsEqual("ids".utf8) {
                out.append(contentsOf: "IDs".utf8)
            } else if let first = part.first {
                out.append(first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z") ? first & ~0x20 : first)
                out.append(contentsOf: part.dropFirst())
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private struct WireKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The envelope's own fields live beside the payload's in one JSON object.
private struct EnvelopeCoding: Codable {
    let envelope: GatewayEnvelope

    init(_ envelope: GatewayEnvelope) { self.envelope = envelope }

    private enum Keys: String, CodingKey {
        case v, type, id, re
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(envelope.version, forKey: .v)
        try container.encode(envelope.message.type, forKey: .type)
        try container.encodeIfPresent(envelope.id, forKey: .id)
        try container.encodeIfPresent(envelope.inReplyTo, forKey: .re)
        switch envelope.message {
        case .hello(let payload): try payload.encode(to: encoder)
        case .inboundCall(let payload): try payload.encode(to: encoder)
        case .digits(let payload): try payload.encode(to: encoder)
        case .callProgress(let payload): try payload.encode(to: encoder)
        case .callEnded(let payload): try payload.encode(to: encoder)
        case .callProven(let payload): try payload.encode(to: encoder)
        case .helloOK(let payload): try payload.encode(to: encoder)
        case .callDecision(let payload): try payload.encode(to: encoder)
        case .digitsResult(let payload): try payload.encode(to: encoder)
        case .originate(let payload): try payload.encode(to: encoder)
        case .ack(let payload): try payload.encode(to: encoder)
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let version = try container.decode(Int.self, forKey: .v)
        guard version == GatewayProtocolVersion.current else {
            throw GatewayProtocolError(.unsupportedVersion, "v \(version), this build speaks \(GatewayProtocolVersion.current)")
        }
        let type = try container.decode(String.self, forKey: .type)
        let message: GatewayMessage
        switch type {
        case "hello": message = .hello(try Hello(from: decoder))
        case "inbound_call": message = .inboundCall(try InboundCall(from: decoder))
        case "digits": message = .digits(try Digits(from: decoder))
        case "call_progress": message = .callProgress(try CallProgress(from: decoder))
        case "call_ended": message = .callEnded(try CallEnded(from: decoder))
        case "call_proven": message = .callProven(try CallProven(from: decoder))
        case "hello_ok": message = .helloOK(try HelloOK(from: decoder))
        case "call_decision": message = .callDecision(try CallDecision(from: decoder))
        case "digits_result": message = .digitsResult(try DigitsResult(from: decoder))
        case "originate": message = .originate(try Originate(from: decoder))
        case "ack": message = .ack(try Ack(from: decoder))
        default: throw GatewayProtocolError(.unknownType, "type \(type)")
        }
        envelope = GatewayEnvelope(
            message, id: try container.decodeIfPresent(Int.self, forKey: .id), inReplyTo: try container.decodeIfPresent(Int.self, forKey: .re), version: version
        )
    }
}
