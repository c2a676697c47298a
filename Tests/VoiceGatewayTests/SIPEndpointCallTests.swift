import NIOConcurrencyHelpers
import NIOCore
import SIPMessage
import SIPStack
import Testing
@testable import VoiceGateway

@Suite("SIP endpoint calls over loopback")
struct SIPEndpointCallTests {
    private let caller = try! SIPNameAddress(parsing: "<sip:+886975000888@127.0.0.1>")

    /// B answers every call as `behaviour` says and returns each call's events.
    private func serve(
        _ endpoint: SIPEndpoint, calls: Int = 1, onEvent: @escaping @Sendable (SIPCall, SIPCallEvent) -> Void = { _, _ in },
        _ behaviour: @escaping @Sendable (SIPCall) -> Void
    ) -> Task<[[SIPCallEvent]], Never> {
        Task {
            var results: [[SIPCallEvent]] = []
            var iterator = endpoint.incomingCalls.makeAsyncIterator()
            for _ in 0..<calls {
                guard let call = await iterator.next() else { break }
                behaviour(call)
                results.append(await collect(call) { onEvent(call, $0) })
            }
            return results
        }
    }

    private func uri(_ endpoint: SIPEndpoint, tcp: Bool = false) async -> SIPAnyURI {
        let port = tcp ? await endpoint.tcpAddresses[0].port! : await endpoint.udpAddresses[0].port!
        return try! SIPAnyURI(parsing: "sip:0975000888@127.0.0.1:\(port)\(tcp ? ";transport=tcp" : "")")
    }

    /// The transports and address families of RFC 3261 §18 the endpoint serves.
    enum Path: String, CaseIterable, Sendable {
        case udp4, tcp4, udp6, tcp6
    }

    @Test("ring, answer, ACK, BYE from the caller; both sides end and free everything", arguments: Path.allCases)
    func answeredCall(path: Path) async throws {
        let v6 = try SocketAddress(ipAddress: "::1", port: 0)
        let listen: (inout SIPEndpointConfiguration) -> Void = { configuration in
            if path == .udp6 || path == .tcp6 {
                configuration.udp = [v6]
                configuration.tcp = [v6]
            }
        }
        let a = try await startEndpoint(listen)
        let b = try await startEndpoint(listen)
        let served = serve(b) { call in
            call.ring()
            call.answer(sdp: testSDP)
        }
        let tcp = path == .tcp4 || path == .tcp6
        let host = path == .udp6 || path == .tcp6 ? "[::1]" : "127.0.0.1"
        let port = tcp ? await b.tcpAddresses[0].port! : await b.udpAddresses[0].port!
        let target = try SIPAnyURI(parsing: "sip:0975000888@\(host):\(port)\(tcp ? ";transport=tcp" : "")")
        let call = try await a.call(target, from: caller, sdp: testSDP)
        let events = await collect(call) { event in
            if case .answered = event { call.hangUp() }
        }
        #expect(events == [.progress(statusCode: 180), .answered(sdp: testSDP), .ended(.localHangUp)])
        let remote = await served.value
        #expect(remote == [[.confirmed, .ended(.remoteHangUp)]])
        #expect(try await eventually { try await drained(a, b) })
        if tcp {
            // The BYE reused the connection the INVITE opened (§18.2.2): one connection on each side.
            #expect(try await a.statistics().tcpConnections == 1)
            #expect(try await b.statistics().tcpConnections == 1)
        }
        await a.shutdown()
        await b.shutdown()
    }

    @Test("the callee hangs up: BYE from the UAS side reaches the caller")
    func calleeHangsUp() async throws {
        let a = try await startEndpoint()
        let b = try await startEndpoint()
        let served = serve(b, onEvent: { call, event in if event == .confirmed { call.hangUp() } }) { call in
            call.answer(sdp: testSDP)
        }
        let call = try await a.call(await uri(b), from: caller, sdp: testSDP)
        let events = await collect(call)
        #expect(events == [.answered(sdp: testSDP), .ended(.remoteHangUp)])
        _ = await served.value
        #expect(try await eventually { try await drained(a, b) })
        await a.shutdown()
        await b.shutdown()
    }

    @Test("rejected with 486: the caller sees the status, the INVITE transaction ACKs it")
    func rejected() async throws {
        let a = try await startEndpoint()
        let b = try await startEndpoint()
        let served = serve(b) { $0.reject(statusCode: 486) }
        let call = try await a.call(await uri(b), from: caller, sdp: testSDP)
        #expect(await collect(call) == [.ended(.failed(statusCode: 486, reason: "Busy Here"))])
        #expect(await served.value == [[.ended(.rejected(statusCode: 486))]])
        #expect(try await eventually { try await drained(a, b) })
        await a.shutdown()
        await b.shutdown()
    }

    @Test("no answer within the ring time: CANCEL, 487, both ends free")
    func ringTimeout() async throws {
        // T1 100 ms: Timer B (6.4 s) stays well beyond the ring time even on a loaded machine.
        let timers = SIPTimers(t1: .milliseconds(100), t2: .milliseconds(400), t4: .milliseconds(200), timerDFloor: .milliseconds(640))
        let a = try await startEndpoint { $0.timers = timers }
        let b = try await startEndpoint { $0.timers = timers }
        let served = serve(b) { $0.ring() }
        let call = try await a.call(await uri(b), from: caller, sdp: testSDP, ringTimeout: .seconds(1))
        let events = await collect(call)
        // The CANCEL goes after a provisional response (§9.1): 180, or the 100 Trying of a slow UAS.
        #expect(events.last == .ended(.noAnswer), "\(events)")
        #expect(events.dropLast().allSatisfy { $0 == .progress(statusCode: 180) }, "\(events)")
        #expect(await served.value == [[.ended(.cancelled)]])
        #expect(try await eventually { try await drained(a, b) })
        await a.shutdown()
        await b.shutdown()
    }

    @Test("INFO in the dialog reaches the application with its body (RFC 6086)")
    func infoInDialog() async throws {
        let a = try await startEndpoint()
        let b = try await startEndpoint()
        let served = serve(b) { $0.answer(sdp: testSDP) }
        let call = try await a.call(await uri(b), from: caller, sdp: testSDP)
        var iterator = call.events.makeAsyncIterator()
        #expect(await iterator.next() == .answered(sdp: testSDP))
        let bodyText = "Signal=5\r\nDuration=160\r\n"
        try await a.eventLoop.submit {
            try a.sendInDialog(call.key, method: .info, body: ByteBuffer(string: bodyText), contentType: "application/dtmf-relay")
        }.get()
        call.hangUp()
        while await iterator.next() != nil {}
        let remote = await served.value
        #expect(remote.first?.contains(.info(contentType: "application/dtmf-relay", body: ByteBuffer(string: bodyText))) == true)
        await a.shutdown()
        await b.shutdown()
    }

    @Test("a lossy path: the first copy of every message is lost, retransmission completes the call")
    func lossyPath() async throws {
        let seen = NIOLockedValueBox(Set<ByteBuffer>())
        let dropFirstCopy: @Sendable (SIPMessage) -> Bool = { message in
            seen.withLockedValue { $0.insert(message.serialized).inserted }
        }
        let dropped = NIOLockedValueBox(0)
        let countingDrop: @Sendable (SIPMessage) -> Bool = { message in
            let drop = dropFirstCopy(message)
            if drop { dropped.withLockedValue { $0 += 1 } }
            return drop
        }
        let a = try await startEndpoint { $0.dropOutbound = countingDrop }
        let b = try await startEndpoint { $0.dropOutbound = countingDrop }
        let served = serve(b) { call in
            call.ring()
            call.answer(sdp: testSDP)
        }
        let call = try await a.call(await uri(b), from: caller, sdp: testSDP)
        let events = await collect(call) { event in
            if case .answered = event { call.hangUp() }
        }
        #expect(events.contains(.answered(sdp: testSDP)))
        #expect(events.last == .ended(.localHangUp))
        #expect(await served.value.first?.last == .ended(.remoteHangUp))
        // INVITE, 180, 200, ACK, BYE, 200 at least were each lost once.
        #expect(dropped.withLockedValue { $0 } >= 6)
        #expect(try await eventually { try await drained(a, b) })
        await a.shutdown()
        await b.shutdown()
    }
}
