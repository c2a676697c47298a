import Foundation
import Testing
@testable import GatewayProtocol

@Suite("Gateway socket protocol: JSON lines")
struct GatewayCodingTests {
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
        var decoder = GatewayDecoder()
        decoder.append(line)
        #expect(try decoder.next() == envelope)
        #expect(try decoder.next() == nil)
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
        var decoder = GatewayDecoder()
        decoder.append(Array(#"{"v":1,"type":"inbound_call","id":9,"call_id":"abc","caller":null,"called":"100","trust":"withheld"}"#.utf8) + [0x0A])
        #expect(try decoder.next() == GatewayEnvelope(.inboundCall(InboundCall(callID: "abc", caller: nil, region: nil, called: "100", trust: .withheld)), id: 9))
    }

    @Test("bytes split anywhere and several lines per read are framed the same")
    func framing() throws {
        let bytes = Self.samples.flatMap { GatewayEncoder().encode($0) }
        for chunk in [1, 7, 64, bytes.count] {
            var decoder = GatewayDecoder()
            var decoded: [GatewayEnvelope] = []
            var index = 0
            while index < bytes.count {
                decoder.append(bytes[index..<min(index + chunk, bytes.count)])
                index += chunk
                while let envelope = try decoder.next() { decoded.append(envelope) }
            }
            #expect(decoded == Self.samples, "chunk \(chunk)")
        }
    }

    @Test("bad lines get their own error code and the stream goes on")
    func badLines() throws {
        var decoder = GatewayDecoder(maxLineLength: 200)
        let good = GatewayEncoder().encode(Self.samples[0])
        let input: [[UInt8]] = [
            Array("not json\n".utf8),
            Array(#"{"v":2,"type":"hello","gateway":"x","channels":[]}"#.utf8) + [0x0A],
            Array(#"{"v":1,"type":"teleport"}"#.utf8) + [0x0A],
            Array(#"{"v":1,"type":"digits","call_id":5}"#.utf8) + [0x0A],
            Array(repeating: UInt8(ascii: "x"), count: 500) + [0x0A],
            good,
        ]
        decoder.append(input.joined())
        var codes: [GatewayProtocolError.Code] = []
        var messages: [GatewayEnvelope] = []
        while true {
            do {
                guard let envelope = try decoder.next() else { break }
                messages.append(envelope)
            } catch {
                codes.append(error.code)
            }
        }
        #expect(codes == [.malformed, .unsupportedVersion, .unknownType, .malformed, .lineTooLong])
        #expect(messages == [Self.samples[0]])
    }

    @Test("a line that never ends is cut at the limit without buffering it all")
    func endlessLine() throws {
        var decoder = GatewayDecoder(maxLineLength: 100)
        decoder.append(Array(repeating: UInt8(ascii: "x"), count: 150))
        #expect(throws: GatewayProtocolError(.lineTooLong, "line over 100 bytes")) { try decoder.next() }
        decoder.append(Array(repeating: UInt8(ascii: "x"), count: 150))
        #expect(try decoder.next() == nil)
        decoder.append([0x0A] + GatewayEncoder().encode(Self.samples[1]))
        #expect(try decoder.next() == Self.samples[1])
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
