import Foundation
import NIOCore
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

/// `SIPCall.awaitFinalACK()`: a rejected call lasts until the ACK of the rejection carrying our To
/// tag (RFC 3261 §17.2.1) — the proof that the caller got our response — or until Timer H.
@Suite("SIP endpoint: the ACK of a final failure response as proof")
struct SIPEndpointFinalACKTests {
    /// The To tag of a response text.
    private func toTag(_ text: String?) -> String? {
        guard let text else { return nil }
        for line in text.split(separator: "\r\n") where line.hasPrefix("To:") {
            guard let range = line.range(of: ";tag=") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != ";" && $0 != ">" })
        }
        return nil
    }

    /// Sends an INVITE from `probe`, rejects the call with 603 awaiting the ACK, then sends an ACK
    /// with `ackTag(ourTag)` (nil: no tag); returns the call's events. `timers` sets Timer H
    /// (64 × T1, RFC 3261 §17.2.1), how long the call waits for that ACK.
    private func rejectedCall(timers: SIPTimers = fastTimers, ackTag: @escaping @Sendable (String) -> String?) async throws -> [SIPCallEvent] {
        let endpoint = try await startEndpoint { $0.timers = timers }
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        var incoming = endpoint.incomingCalls.makeAsyncIterator()
        try await probe.send(probeRequest("INVITE", port: probe.port, branch: "fin1", callID: "fin"), to: target)
        let call = try #require(await incoming.next())
        call.awaitFinalACK()
        call.reject(statusCode: 603)
        var reply = await nextReply(&replies, callID: "fin")
        while let text = reply, statusCode(text) == 100 { reply = await nextReply(&replies, callID: "fin") }
        #expect(statusCode(reply) == 603)
        let ours = try #require(toTag(reply))
        let ack = probeRequest("ACK", port: probe.port, branch: "fin1", callID: "fin")
            .replacingOccurrences(of: "To: <sip:gw@127.0.0.1>", with: "To: <sip:gw@127.0.0.1>" + (ackTag(ours).map { ";tag=\($0)" } ?? ""))
        try await probe.send(ack, to: target)
        let events = await collect(call)
        await probe.close()
        await endpoint.shutdown()
        return events
    }

    @Test("the ACK with our To tag confirms the rejected call, which then ends as rejected")
    func ackWithOurTag() async throws {
        // RFC 3261's timers (Timer H 32 s): the ACK must not lose a race with the test's fast Timer
        // H (1.28 s), which a loaded CI machine once let it lose, ending the call as a timeout.
        let events = try await rejectedCall(timers: .rfc3261) { $0 }
        #expect(events == [.confirmed, .ended(.rejected(statusCode: 603))])
    }

    @Test("an ACK with another To tag, or none, is dropped: the call ends at Timer H, unconfirmed")
    func ackWithAnotherTag() async throws {
        #expect(try await rejectedCall { $0 + "x" } == [.ended(.timeout)])
        #expect(try await rejectedCall { _ in nil } == [.ended(.timeout)])
    }
}
