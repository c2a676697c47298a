import Foundation
import NIOCore
import Testing
@testable import GatewayProtocol

@Suite("Gateway socket protocol: JSON lines")
struct GatewayCodingTests {
    /// What a socket reader makes of `bytes`: lines framed by `GatewayLineDecoder` (fed `chunk`
    /// bytes at a time, all at once by default), each decoded; blank lines skipped.
    static func messages(_ bytes: [UInt8], chunk: Int = .max, maxLineLength: Int = 65_536) throws -> [GatewayEnvelope] {
        var framer = GatewayLineDecoder(maxLineLength: maxLineLength)
        var buffer = ByteBuffer()
        var messages: [GatewayEnvelope] = []
        var index = 0
        repeat {
            let end = index + min(chunk, bytes.count - index)
            buffer.writeBytes(bytes[index..<end])
            index = end
            while let line = try framer.decode(buffer: &buffer) {
                if let envelope = try GatewayDecoder.decode(line: line) { messages.append(envelope) }
            }
        } while index < bytes.count
        return messages
    }

    static let samples: [GatewayEnvelope] = [
        GatewayEnvelope(.hello(Hello(gateway: "gw1", channels: ["missed_call", "dtmf_callin"])), id: 1),
        GatewayEnvelope(.helloOK(HelloOK(core: "core-a")), inReplyTo: 1),
        GatewayEnvelope(.inboundCall(InboundCall(callID: "c1@x", caller: "0975000888", region: "TW", called: "+88621234567", trust: .asserted)), id: 2),
        GatewayEnvelope(.callDecision(CallDecision(callID: "c1@x", action: .ringThenReject, status: 603, ringMilliseconds: 1_500, verificationID: "v1")), inReplyTo: 2),
        GatewayEnvelope(.callDecision(CallDecision(callID: "c2", action: .playCode, verificationID: "v2", code: "123456", locale: "zh-TW", repeats: 2)), inReplyTo: 3),
        GatewayEnvelope(.digits(Digits(callID: "c3", verificationID: "v3", digits: "2407")), id: 4),
        GatewayEnvelope(.digitsResult(DigitsResult(outcome: .wrong, attemptsLeft: 2)), inReplyTo: 4),
        GatewayEnvelope(.callProgress(CallProgress(outcomeID: "gw1-7", callID: "c4", verificationID: "v4", state: .ringing))),
        GatewayEnvelope(.callEnded(CallEnded(outcomeID: "gw1-8", callID: "c4", verificationID: "v4", reason: .busy, sipStatus: 486))),
        GatewayEnvelope(.originate(Originate(verificationID: "v5", number: "+886975000888", mode: .collectCode, code: nil, codeLength: 6, locale: "en", ringSeconds: 30))),
        GatewayEnvelope(.ack(Ack(outcomeIDs: ["gw1-7", "gw1-8"]))),
        GatewayEnvelope(.inboundCall(InboundCall(callID: "c6", caller: "0975000888", region: "TW", called: "+88621234567", trust: .asserted, awaitsProof: true)), id: 5),
        GatewayEnvelope(.callProven(CallProven(outcomeID: "gw1-9", callID: "c6", verificationID: "v6", caller: "0975000888", region: "TW", called: "+88621234567", trust: .asserted))),
        GatewayEnvelope(.originate(Originate(verificationID: "v7", number: "+886975000888", mode: .playCode, code: "123456", codeLength: nil, locale: "en", ringSeconds: 30, keypress: false))),
        GatewayEnvelope(.callEnded(CallEnded(outcomeID: "gw1-10", callID: "c7", verificationID: "v7", reason: .noKey, detail: "no key pressed"))),
    ]

    @Test("the proof fields on the wire: awaits_proof, call_proven, keypress, no_key")
    func proofWireShape() throws {
        let question = String(decoding: GatewayEncoder().encode(Self.samples[11]), as: UTF8.self)
        #expect(question.contains(#""awaits_proof":true"#))
        let proven = String(decoding: GatewayEncoder().encode(Self.samples[12]), as: UTF8.self)
        #expect(proven.contains(#""type":"call_proven""#) && proven.contains(#""outcome_id":"gw1-9""#) && proven.contains(#""verification_id":"v6""#))
        #expect(String(decoding: GatewayEncoder().encode(Self.samples[13]), as: UTF8.self).contains(#""keypress":false"#))
        #expect(String(decoding: GatewayEncoder().encode(Self.samples[14]), as: UTF8.self).contains(#""reason":"no_key""#))
    }

    @Test("every message round-trips through one line", arguments: samples)
    func roundTrip(_ envelope: GatewayEnvelope) throws {
        let line = GatewayEncoder().encode(envelope)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false)
        #expect(try Self.messages(line) == [envelope])
    }

    @Test("the wire uses v, type, id, re and snake_case keys as docs/ARCHITECTURE.md describes")
    func wireShape() throws {
        let line = GatewayEncoder().encode(Self.samples[3])
        let text = String(decoding: line, as: UTF8.self)
        #expect(text == #"{"action":"ring_then_reject","call_id":"c1@x","re":2,"ring_milliseconds":1500,"status":603,"type":"call_decision","v":1,"verification_id":"v1"}"# + "\n")
        let ack = String(decoding: GatewayEncoder().encode(Self.samples[10]), as: UTF8.self)
        #expect(ack.contains(#""outcome_ids":["gw1-7","gw1-8"]"#))
    }

    @Test("a hand-written line (as socat would send) decodes")
    func handWritten() throws {
        let line = Array(#"{"v":1,"type":"inbound_call","id":9,"call_id":"abc","caller":null,"called":"100","trust":"withheld"}"#.utf8) + [0x0A]
        #expect(try Self.messages(line) == [GatewayEnvelope(.inboundCall(InboundCall(callID: "abc", caller: nil, region: nil, called: "100", trust: .withheld)), id: 9)])
    }

    @Test("bytes split anywhere and several lines per read are framed the same")
    func framing() throws {
        let bytes = Self.samples.flatMap { GatewayEncoder().encode($0) }
        for chunk in [1, 7, 64, bytes.count] {
            #expect(try Self.messages(bytes, chunk: chunk) == Self.samples, "chunk \(chunk)")
        }
        // A blank line between messages is skipped.
        #expect(try Self.messages(GatewayEncoder().encode(Self.samples[0]) + Array(" \r\n".utf8) + GatewayEncoder().encode(Self.samples[1]))
                == Array(Self.samples.prefix(2)))
    }

    @Test("bad lines get their own error code: not JSON, another version, an unknown type, a field of the wrong type, too long")
    func badLines() throws {
        let lines: [[UInt8]] = [
            Array("not json".utf8),
            Array(#"{"v":2,"type":"hello","gateway":"x","channels":[]}"#.utf8),
            Array(#"{"v":1,"type":"teleport"}"#.utf8),
            Array(#"{"v":1,"type":"digits","call_id":5}"#.utf8),
        ]
        var codes: [GatewayProtocolError.Code] = []
        for line in lines {
            do {
                _ = try GatewayDecoder.decode(line: Data(line))
            } catch {
                codes.append(error.code)
            }
        }
        #expect(codes == [.malformed, .unsupportedVersion, .unknownType, .malformed])
        let good = GatewayEncoder().encode(Self.samples[0])
        #expect(throws: GatewayProtocolError(.lineTooLong, "line of 500 bytes, limit 200")) {
            try Self.messages(Array(repeating: UInt8(ascii: "x"), count: 500) + [0x0A] + good, maxLineLength: 200)
        }
        #expect(try Self.messages(good, maxLineLength: 200) == [Self.samples[0]])
    }

    @Test("key spelling maps acronyms both ways")
    func keys() {
        for (swift, wire) in [
            ("callID", "call_id"), ("outcomeIDs", "outcome_ids"), ("ringMilliseconds", "ring_milliseconds"), ("v", "v"),
            ("verificationID", "verification_id"), ("timeoutMilliseconds", "timeout_milliseconds"), ("systemNumbers", "system_numbers"),
            ("sipStatus", "sip_status"), ("IDs", "_ids"), ("idle", "idle"),
        ] {
            #expect(GatewayKeys.wire(swift) == wire)
            #expect(GatewayKeys.swift(wire) == swift)
        }
    }
}

extension GatewayEnvelope: CustomTestStringConvertible {
    public var testDescription: String { message.type }
}
