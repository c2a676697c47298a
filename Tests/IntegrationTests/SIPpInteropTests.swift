import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SIPMessage
import SIPStack
import Testing
import VoiceGateway
import TestSupport

/// Our SIP endpoint against SIPp (sip-tester), the reference SIP load generator (docs/TESTING.md):
/// its built-in `uac` calling us, its built-in `uas` answering us, and `sipp/uas-digest.xml`
/// challenging us with 401. Real RFC 3261 timers; loopback only.
@Suite("SIPp interop", .serialized)
struct SIPpInteropTests {
    static let sipp = "/usr/bin/sipp"
    static let sdp = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

    private func startEndpoint() async throws -> SIPEndpoint {
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        return try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback], maxCalls: 2_000))
    }

    @Test("SIPp uac calls our endpoint: 1,000 calls at 100 calls/s, all answered and hung up")
    func sippCallsUs() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let endpoint = try await startEndpoint()
        let port = await endpoint.udpAddresses[0].port!
        let drops = Peers.udpReceiveBufferDrops()
        let confirmed = NIOLockedValueBox(0)
        let hungUp = NIOLockedValueBox(0)
        let answering = Task {
            await withDiscardingTaskGroup { group in
                for await call in endpoint.incomingCalls {
                    group.addTask {
                        call.answer(sdp: Self.sdp)
                        for await event in call.events {
                            switch event {
                            case .confirmed: confirmed.withLockedValue { $0 += 1 }
                            case .ended(.remoteHangUp): hungUp.withLockedValue { $0 += 1 }
                            default: break
                            }
                        }
                    }
                }
            }
        }
        let sipp = try await PeerProcess(
            Self.sipp, ["-sn", "uac", "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0", "-m", "1000", "-r", "100", "-l", "200", "-nostdin", "-timeout", "90s", "-timeout_error"] + Peers.sippBuffers,
            name: "sipp-uac"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "sipp exited \(status), \(Peers.udpReceiveBufferDrops() - drops) datagrams dropped by full UDP receive buffers meanwhile:\n\(sipp.tail())")
        // SIPp has its last 200 to BYE; our side's event streams may still be draining.
        _ = try await eventuallyTrue { confirmed.withLockedValue { $0 } == 1_000 && hungUp.withLockedValue { $0 } == 1_000 }
        #expect(confirmed.withLockedValue { $0 } == 1_000)
        #expect(hungUp.withLockedValue { $0 } == 1_000)
        await sipp.stop()
        await endpoint.shutdown()
        answering.cancel()
        _ = await answering.value
    }

    @Test("our endpoint calls SIPp uas: 1,000 calls at 100 calls/s, all answered and hung up")
    func weCallSipp() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let sippPort = try Peers.freePort()
        let drops = Peers.udpReceiveBufferDrops()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-sipp-uas-errors-\(sippPort).log")
        let sipp = try await PeerProcess(
            Self.sipp, ["-sn", "uas", "-i", "127.0.0.1", "-p", "\(sippPort)", "-m", "1000", "-nostdin", "-timeout", "90s", "-trace_err", "-error_file", errors.path] + Peers.sippBuffers,
            name: "sipp-uas"
        )
        let endpoint = try await startEndpoint()
        let from = try SIPNameAddress(parsing: "<sip:gateway@127.0.0.1>")
        let target = try SIPAnyURI(parsing: "sip:0975000888@127.0.0.1:\(sippPort)")
        let outcomes = try await withThrowingTaskGroup(of: [SIPCallEvent].self) { group in
            let clock = ContinuousClock()
            let start = clock.now
            for index in 0..<1_000 {
                // 100 calls per second: pace the starts on the clock.
                try await clock.sleep(until: start + .milliseconds(10 * index))
                group.addTask {
                    let call = try await endpoint.call(target, from: from, sdp: Self.sdp, ringTimeout: .seconds(20))
                    var events: [SIPCallEvent] = []
                    for await event in call.events {
                        events.append(event)
                        if case .answered = event { call.hangUp() }
                    }
                    return events
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let answered = outcomes.filter { $0.contains { if case .answered = $0 { true } else { false } } }.count
        let ended = outcomes.filter { $0.last == .ended(.localHangUp) }.count
        #expect(answered == 1_000)
        #expect(ended == 1_000, "other outcomes: \(Set(outcomes.compactMap(\.last).filter { $0 != .ended(.localHangUp) }.map { "\($0)" }))")
        let status = await sipp.exitStatus()
        // SIPp's built-in uas aborts a call on an INVITE retransmitted after its 200 (it only
        // recognises a retransmission before its second send), so a process too starved to read a
        // 180 within Timer A's 500 ms fails here: the error file says so.
        let firstErrors = ((try? String(contentsOf: errors, encoding: .utf8)) ?? "").prefix(1_500)
        #expect(status == 0, "sipp exited \(status), \(Peers.udpReceiveBufferDrops() - drops) datagrams dropped by full UDP receive buffers meanwhile:\n\(sipp.tail())\n\(firstErrors)")
        try? FileManager.default.removeItem(at: errors)
        await sipp.stop()
        await endpoint.shutdown()
    }

    @Test("SIPp challenges with 401: right credentials are answered, wrong ones get 403 (RFC 3261 §22.2)")
    func digestAgainstSipp() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let sippPort = try Peers.freePort()
        let scenario = Peers.repository.appendingPathComponent("sipp/uas-digest.xml").path
        let sipp = try await PeerProcess(Self.sipp, ["-sf", scenario, "-i", "127.0.0.1", "-p", "\(sippPort)", "-m", "2", "-nostdin", "-timeout", "30s"], name: "sipp-digest")
        let endpoint = try await startEndpoint()
        let from = try SIPNameAddress(parsing: "<sip:gateway@127.0.0.1>")
        let target = try SIPAnyURI(parsing: "sip:0975000888@127.0.0.1:\(sippPort)")

        let good = try await endpoint.call(target, from: from, sdp: Self.sdp, credentials: DigestClient(username: "verigate", password: "s3cret"))
        var goodEvents: [SIPCallEvent] = []
        for await event in good.events {
            goodEvents.append(event)
            if case .answered = event { good.hangUp() }
        }
        #expect(goodEvents.count == 2)
        #expect(goodEvents.last == .ended(.localHangUp), "\(goodEvents)\n\(sipp.tail())")

        let bad = try await endpoint.call(target, from: from, sdp: Self.sdp, credentials: DigestClient(username: "verigate", password: "wrong"))
        var badEvents: [SIPCallEvent] = []
        for await event in bad.events { badEvents.append(event) }
        #expect(badEvents == [.ended(.failed(statusCode: 403, reason: "Forbidden"))])

        let status = await sipp.exitStatus()
        #expect(status == 0, "sipp exited \(status):\n\(sipp.tail())")
        await sipp.stop()
        await endpoint.shutdown()
    }
}
