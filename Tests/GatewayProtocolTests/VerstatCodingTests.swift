import Foundation
import Testing
@testable import GatewayProtocol

@Suite("Gateway socket protocol: verstat on inbound_call and call_proven")
struct VerstatCodingTests {
    private func decode(_ line: String) throws -> GatewayEnvelope? {
        try GatewayDecoder.decode(line: Data(line.utf8))
    }

    @Test("verstat round-trips on both messages under the key verstat, as the 3GPP token")
    func roundTrip() throws {
        let question = GatewayEnvelope(.inboundCall(InboundCall(callID: "c1", caller: "+886975000888", region: "TW", called: "+886229996666", trust: .asserted,
                                                                awaitsProof: true, verstat: .passed)), id: 3)
        let proven = GatewayEnvelope(.callProven(CallProven(outcomeID: "gw-1", callID: "c1", verificationID: "v1", caller: "+886975000888", region: "TW",
                                                            called: "+886229996666", trust: .asserted, verstat: Verstat.failed.rawValue)))
        for envelope in [question, proven] {
            let line = GatewayEncoder().encode(envelope)
            #expect(try decode(String(decoding: line.dropLast(), as: UTF8.self)) == envelope)
        }
        #expect(String(decoding: GatewayEncoder().encode(question), as: UTF8.self).contains(#""verstat":"TN-Validation-Passed""#))
        #expect(String(decoding: GatewayEncoder().encode(proven), as: UTF8.self).contains(#""verstat":"TN-Validation-Failed""#))
        // Absent: not on the wire at all, so an old core sees the message it knows.
        let plain = GatewayEncoder().encode(GatewayEnvelope(.inboundCall(InboundCall(callID: "c2", caller: nil, region: nil, called: "1", trust: .withheld))))
        #expect(!String(decoding: plain, as: UTF8.self).contains("verstat"))
    }

    @Test("an old gateway's lines (no verstat) decode; a new gateway's extra fields do not break an old reader")
    func compatibility() throws {
        let old = try decode(#"{"v":1,"type":"call_proven","outcome_id":"o","call_id":"c","verification_id":"v","caller":"0975000888","called":"100","trust":"asserted"}"#)
        guard case .callProven(let proven) = old?.message else { Issue.record("not decoded: \(String(describing: old))"); return }
        #expect(proven.verstat == nil)
        // A field this build does not know (as verstat is to an old core) is skipped.
        let newer = try decode(#"{"v":1,"type":"inbound_call","id":1,"call_id":"c","called":"100","trust":"asserted","verstat":"TN-Validation-Passed","stir_attest":"A"}"#)
        guard case .inboundCall(let call) = newer?.message else { Issue.record("not decoded"); return }
        #expect(call.verstat == "TN-Validation-Passed")
        // A token this build does not know still decodes, and reads as no verstat.
        let unknown = try decode(#"{"v":1,"type":"inbound_call","id":2,"call_id":"c","called":"100","trust":"asserted","verstat":"TN-Validation-Maybe"}"#)
        guard case .inboundCall(let odd) = unknown?.message else { Issue.record("not decoded"); return }
        #expect(odd.verstat.flatMap { Verstat(token: $0) } == nil)
    }

    @Test("tokens are read case-insensitively and nothing else is a token")
    func tokens() {
        #expect(Verstat(token: "tn-validation-passed") == .passed)
        #expect(Verstat(token: "TN-VALIDATION-FAILED") == .failed)
        #expect(Verstat(token: "No-TN-Validation") == .notValidated)
        for junk in ["", "TN-Validation", "TN-Validation-Passed ", "Passed", String(repeating: "x", count: 10_000)] {
            #expect(Verstat(token: junk) == nil)
        }
    }
}
