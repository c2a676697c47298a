import Foundation
import NIOCore
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("SIP endpoint under bad input and limits")
struct SIPEndpointInputTests {
    @Test("garbage is dropped silently and the listener keeps answering; OPTIONS gets Allow")
    func garbageThenOptions() async throws {
        let endpoint = try await startEndpoint()
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        try await probe.send("\u{1}\u{2}garbage that is not SIP at all\n\n", to: target)
        try await probe.send("\r\n\r\n", to: target)
        try await probe.send(probeRequest("OPTIONS", port: probe.port, branch: "opt1"), to: target)
        var replies = probe.datagrams.makeAsyncIterator()
        let reply = await replies.next()
        // The first datagram back answers the OPTIONS: nothing came back for the garbage.
        #expect(statusCode(reply) == 200)
        #expect(reply?.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO") == true)
        #expect(reply?.contains("rport=\(probe.port)") == true)
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("RFC 3261 §8.2 answers: unknown method 501, known-but-not-allowed 405, unknown Require 420, bad body 415, out-of-dialog BYE 481")
    func uasAnswers() async throws {
        let endpoint = try await startEndpoint()
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        let cases: [(String, String, String, Int)] = [
            ("FOO", "", "", 501),
            ("SUBSCRIBE", "", "", 405),
            ("INVITE", "Require: 100rel-nonsense", "", 420),
            ("INVITE", "Content-Type: text/plain", "hello", 415),
            ("BYE", "", "", 481),
        ]
        for (index, (method, extra, body, expected)) in cases.enumerated() {
            try await probe.send(probeRequest(method, port: probe.port, branch: "case\(index)", callID: "c\(index)", extra: extra, body: body), to: target)
            let reply = await nextReply(&replies, callID: "c\(index)")
            #expect(statusCode(reply) == expected, "\(method) \(extra)")
        }
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("a request whose Content-Length exceeds the datagram gets 400")
    func badContentLength() async throws {
        let endpoint = try await startEndpoint()
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        let text = probeRequest("OPTIONS", port: probe.port, branch: "cl").replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 500")
        try await probe.send(text, to: target)
        var replies = probe.datagrams.makeAsyncIterator()
        #expect(statusCode(await replies.next()) == 400)
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("a 20 KB request over UDP is read whole (RFC 3261 §18.1.1: up to 65,535 bytes), not cut at a receive buffer's size")
    func largeDatagram() async throws {
        let endpoint = try await startEndpoint()
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        // Ten 2,000-byte headers: each line is under the parser's line limit, the whole is 20 KB.
        let headers = (0..<10).map { "X-Padding-\($0): " + String(repeating: "a", count: 2_000) }.joined(separator: "\n")
        let text = probeRequest("OPTIONS", port: probe.port, branch: "big", callID: "big", extra: headers)
        #expect(text.utf8.count > 20_000)
        try await probe.send(text, to: target)
        var replies = probe.datagrams.makeAsyncIterator()
        #expect(statusCode(await nextReply(&replies, callID: "big")) == 200)
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("one source cannot hold more transactions than its share: 503 with Retry-After")
    func perSourceLimit() async throws {
        // RFC 3261 timers: with the fast ones Timer J (64·T1) ends the first transaction within
        // 1.3 s, and a loaded CI machine took longer than that to send the third request.
        let endpoint = try await startEndpoint { $0.maxTransactionsPerSource = 2; $0.timers = .rfc3261 }
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        var codes: [Int?] = []
        for index in 0..<3 {
            try await probe.send(probeRequest("OPTIONS", port: probe.port, branch: "lim\(index)", callID: "l\(index)"), to: target)
            let reply = await replies.next()
            codes.append(statusCode(reply))
            if index == 2 { #expect(reply?.contains("Retry-After: 5") == true) }
        }
        #expect(codes == [200, 200, 503])
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("over capacity a new INVITE gets 503 with Retry-After; a pending one gets 100 Trying after 200 ms")
    func callCapacity() async throws {
        let endpoint = try await startEndpoint { $0.maxCalls = 1 }
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        try await probe.send(probeRequest("INVITE", port: probe.port, branch: "cap1", callID: "cap1"), to: target)
        var incoming = endpoint.incomingCalls.makeAsyncIterator()
        let first = await incoming.next()
        #expect(first?.callID == "cap1")
        #expect(statusCode(await replies.next()) == 100)
        try await probe.send(probeRequest("INVITE", port: probe.port, branch: "cap2", callID: "cap2"), to: target)
        let busy = await nextReply(&replies, callID: "cap2")
        #expect(statusCode(busy) == 503)
        #expect(busy?.contains("Retry-After: 5") == true)
        first?.reject(statusCode: 404)
        #expect(statusCode(await nextReply(&replies, callID: "cap1")) == 404)
        await probe.close()
        await endpoint.shutdown()
    }

    @Test("CANCEL for an unknown INVITE gets 481; a retransmitted INVITE gets the last provisional again")
    func cancelUnknownAndRetransmission() async throws {
        let endpoint = try await startEndpoint()
        let probe = try await UDPProbe.make()
        let target = await endpoint.udpAddresses[0]
        var replies = probe.datagrams.makeAsyncIterator()
        try await probe.send(probeRequest("CANCEL", port: probe.port, branch: "nothere", callID: "x"), to: target)
        #expect(statusCode(await replies.next()) == 481)
        let invite = probeRequest("INVITE", port: probe.port, branch: "re1", callID: "re1")
        try await probe.send(invite, to: target)
        var incoming = endpoint.incomingCalls.makeAsyncIterator()
        let call = await incoming.next()
        call?.ring()
        #expect(statusCode(await nextNon100(&replies)) == 180)
        try await probe.send(invite, to: target)
        #expect(statusCode(await nextNon100(&replies)) == 180)
        call?.reject(statusCode: 603)
        #expect(statusCode(await nextNon100(&replies)) == 603)
        await probe.close()
        await endpoint.shutdown()
    }
}
