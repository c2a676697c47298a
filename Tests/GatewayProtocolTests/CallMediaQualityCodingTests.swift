import Foundation
import Testing
@testable import GatewayProtocol

/// Issue 14: `call_ended.media` (loss, jitter, round-trip time of an answered call) is optional,
/// so old gateways and old cores still interoperate with new ones in both directions.
@Suite("call_ended.media: optional media figures")
struct CallMediaQualityCodingTests {
    static let ended = CallEnded(outcomeID: "gw1-11", callID: "c8", verificationID: "v8", reason: .completed,
                                 media: CallMediaQuality(packetsReceived: 250, packetsLost: 12, jitterSeconds: 0.0182, roundTripSeconds: 0.2011))

    @Test("new gateway → new core: the figures round-trip under snake_case keys")
    func roundTrip() throws {
        let line = GatewayEncoder().encode(GatewayEnvelope(.callEnded(Self.ended)))
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(#""media":{"#) && text.contains(#""packets_lost":12"#) && text.contains(#""round_trip_seconds":0.2011"#), "\(text)")
        #expect(try GatewayCodingTests.messages(line) == [GatewayEnvelope(.callEnded(Self.ended))])
    }

    @Test("old gateway → new core: a call_ended line without media (as version 1 gateways wrote it) decodes, media nil")
    func oldGateway() throws {
        let envelope = try GatewayDecoder.decode(line: Data(#"{"v":1,"type":"call_ended","outcome_id":"gw1-3","call_id":"c1","verification_id":"v1","reason":"completed"}"#.utf8))
        guard case .callEnded(let ended) = envelope.message else {
            Issue.record("\(envelope)")
            return
        }
        #expect(ended.media == nil && ended.reason == .completed && ended.callID == "c1")
    }

    /// `CallEnded` as cores before issue 14 declared it: no `media`.
    private struct OldCallEnded: Decodable, Equatable {
        var outcomeID: String
        var callID: String
        var verificationID: String?
        var reason: String
        var sipStatus: Int?
        var detail: String?
        enum CodingKeys: String, CodingKey {
            case outcomeID = "outcome_id", callID = "call_id", verificationID = "verification_id", reason, sipStatus = "sip_status", detail
        }
    }

    @Test("new gateway → old core: the line with media still decodes as the old message (the extra key is ignored)")
    func oldCore() throws {
        let line = GatewayEncoder().encode(GatewayEnvelope(.callEnded(Self.ended)))
        let old = try JSONDecoder().decode(OldCallEnded.self, from: Data(line.dropLast()))
        #expect(old == OldCallEnded(outcomeID: "gw1-11", callID: "c8", verificationID: "v8", reason: "completed", sipStatus: nil, detail: nil))
    }

    @Test("audit text: received, lost, jitter and rtt in ms with one decimal; unknown figures left out")
    func auditText() {
        #expect(Self.ended.media?.auditText == "received 250, lost 12, jitter 18.2 ms, rtt 201.1 ms")
        #expect(CallMediaQuality(packetsReceived: 3, packetsLost: 0).auditText == "received 3, lost 0")
    }
}
