import Foundation
import NIOCore
import SIPStack
import Testing
import Verification
import VerificationServer
@testable import VoiceGateway
import TestSupport

/// Trunks end to end with SIPp as the provider (README "Connecting a trunk"): inbound DIDs in every
/// format a provider sends reach the system number; an outbound route fails over from a trunk
/// answering 503 to the next, which gets the number in its own format.
@Suite("Trunks end to end with SIPp", .serialized)
struct TrunkIntegrationTests {
    /// The trunks, routes and dns_server of `text` (sip.conf) in the test gateway's configuration, replacing its loopback peer.
    static func apply(_ text: String) throws -> (inout GatewayConfiguration) -> Void {
        let conf = try SIPConf.parse(text, file: "trunks.conf")
        return { configuration in
            configuration.peers = conf.peers
            configuration.trunks = conf.trunks
            configuration.routes = conf.routes
            configuration.dnsServer = conf.dnsServer
        }
    }

    @Test("missed_call via a trunk: DIDs +886229996666, 886229996666, 0229996666 and 12345678*886229996666 all reach the system number; the caller comes without +",
          arguments: ["+886229996666", "886229996666", "0229996666", "12345678*886229996666"])
    func inboundFormats(did: String) async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let conf = """
            [carrier]
            type = trunk
            host = 127.0.0.1
            trusted = yes
            inbound_region = TW
            number_format = tech_prefix
            tech_prefix = 12345678*

            """
        let stack = try await MissedCallTests.Stack(configure: try Self.apply(conf))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-trunk-in-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        // The caller as Vonage sends it: E.164 without '+'.
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1", "-p", "0",
             "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([["886975000888", did]]), "-trace_msg", "-message_file", trace.path],
            name: "sipp-trunk-in"
        )
        let status = await sipp.exitStatus()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(sipp.tail())")
        #expect(messages.contains("SIP/2.0 603 "), "the DID \(did) reached the system number and the call was a missed call: \(messages.suffix(2_000))")
        await sipp.stop()
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        await stack.stop()
    }

    @Test("a DID the system does not have is refused (404) and approves nothing, whatever its format")
    func inboundWrongDID() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let conf = "[carrier]\ntype = trunk\nhost = 127.0.0.1\ntrusted = yes\ninbound_region = TW\n"
        let stack = try await MissedCallTests.Stack(configure: try Self.apply(conf))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-trunk-in-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1", "-p", "0",
             "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([["886975000888", "0229990000"]]), "-trace_msg", "-message_file", trace.path],
            name: "sipp-trunk-in"
        )
        let status = await sipp.exitStatus()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(sipp.tail())")
        #expect(!messages.contains("SIP/2.0 603 ") && messages.contains("SIP/2.0 4"), "\(messages.suffix(2_000))")
        await sipp.stop()
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await stack.stop()
    }

    @Test("voice_call over a route whose first trunk answers 503: the second trunk gets the call, in its national format, and it completes")
    func outboundFailover() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let downPort = try Peers.freePort()
        var upPort = try Peers.freePort()
        while upPort == downPort { upPort = try Peers.freePort() }
        let conf = """
            [general]
            route = + -> down
            route = +886 -> down, up
            [down]
            type = trunk
            host = 127.0.0.1:\(downPort)
            number_format = e164
            [up]
            type = trunk
            host = 127.0.0.1:\(upPort)
            number_format = national
            inbound_region = TW

            """
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 61_590...61_650), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media, configure: try Self.apply(conf))
        let traces = (0..<2).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("verigate-trunk-out-\(UUID().uuidString.prefix(8)).log") }
        defer { for trace in traces { try? FileManager.default.removeItem(at: trace) } }
        let down = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/uas-503.xml").path, "-i", "127.0.0.1", "-p", "\(downPort)",
             "-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg", "-message_file", traces[0].path],
            name: "sipp-trunk-503"
        )
        let up = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/uas-voice.xml").path, "-i", "127.0.0.1", "-p", "\(upPort)", "-mp", "0",
             "-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg", "-message_file", traces[1].path],
            name: "sipp-trunk-up"
        )
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(downPort) && Peers.udpPortIsBound(upPort) },
                "SIPp did not bind \(downPort)/\(upPort): \(down.tail())\n\(up.tail())")
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let downStatus = await down.exitStatus()
        let upStatus = await up.exitStatus()
        await down.stop()
        await up.stop()
        let downMessages = (try? String(contentsOf: traces[0], encoding: .utf8)) ?? ""
        let upMessages = (try? String(contentsOf: traces[1], encoding: .utf8)) ?? ""
        // SIPp's screen counts an unexpected message but does not show it; its message trace does.
        #expect(downStatus == 0, "\(down.tail())\nmessages: \(downMessages.suffix(3_000))")
        #expect(upStatus == 0, "\(up.tail())\nmessages: \(upMessages.suffix(3_000))")
        #expect(downMessages.contains("INVITE sip:+886975000888@127.0.0.1:\(downPort) SIP/2.0"), "the first trunk got E.164: \(downMessages.prefix(1_500))")
        #expect(upMessages.contains("INVITE sip:0975000888@127.0.0.1:\(upPort) SIP/2.0"), "the second trunk got the national number: \(upMessages.prefix(1_500))")
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        #expect(trail.contains("call answered") && !trail.contains { $0.contains("503") }, "the 503 is not the call's outcome: \(trail)")
        await stack.stop()
    }

    @Test("voice_call over a route whose first trunk cannot be reached (TCP, nobody listening): the transport error passes the call to the second trunk at once",
          .timeLimit(.minutes(1)))
    func outboundFailoverOnTransportError() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let closedPort = try Peers.freePort()
        let upPort = try Peers.freePort()
        let conf = """
            [general]
            route = +886 -> gone, up
            [gone]
            type = trunk
            host = 127.0.0.1:\(closedPort)
            transport = tcp
            [up]
            type = trunk
            host = 127.0.0.1:\(upPort)
            number_format = e164_no_plus

            """
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 61_660...61_720), firstDigitTimeout: .seconds(8))
        // T1 = 5 s puts Timer B at 320 s, far past eventuallyTrue's 30 s: the second trunk can only
        // answer in time if the refused connection ended the first attempt (RFC 3261 §18.4).
        let timers = SIPTimers(t1: .seconds(5), t2: .seconds(5), t4: .seconds(5))
        let stack = try await MissedCallTests.Stack(media: media, timers: timers, configure: try Self.apply(conf))
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-trunk-out-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let up = try await Self.answeringTrunk(port: upPort, trace: trace)
        let started = try await Self.voiceCallAnswered(stack, by: up)
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(messages.contains("INVITE sip:886975000888@127.0.0.1:\(upPort) SIP/2.0"), "the second trunk got E.164 without +: \(messages.prefix(1_500))")
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        await stack.stop()
    }

    /// SIPp answering one voice call on UDP `port` (`sipp/uas-voice.xml`: it keys 1 and listens),
    /// its messages traced to `trace` when given; returns once it listens.
    static func answeringTrunk(port: Int, trace: URL? = nil, name: String = "sipp-trunk-up") async throws -> PeerProcess {
        let up = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/uas-voice.xml").path, "-i", "127.0.0.1", "-p", "\(port)", "-mp", "0",
             "-m", "1", "-nostdin", "-timeout", "60s"] + (trace.map { ["-trace_msg", "-message_file", $0.path] } ?? []),
            name: name
        )
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(port) }, "SIPp did not bind \(port): \(up.tail())")
        return up
    }

    /// Starts a voice_call to 0975000888, waits until the core records it answered and `up` (the
    /// answering trunk) finished its scenario, and stops `up`; returns the verification.
    static func voiceCallAnswered(_ stack: MissedCallTests.Stack, by up: PeerProcess) async throws -> StartResult {
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call answered")
        })
        let status = await up.exitStatus()
        #expect(status == 0, "\(up.tail())")
        await up.stop()
        return started
    }
}
