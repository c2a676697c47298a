import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPStack
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// Issue 12 item 2, performed against the real core + gateway on loopback: a UDP INVITE's source
/// can be forged, so one datagram with a trusted peer's address and the victim's
/// P-Asserted-Identity must approve nothing. Approval needs the ACK of our final response with our
/// To tag (RFC 3261 §17.2.1), which only a caller that received the response can send (§18.2.2).
/// Over TCP the handshake is the proof and the INVITE approves.
@Suite("Caller ID that one forged packet cannot fake", .serialized)
struct CallerProofTests {
    static let victim = "0975000888"
    /// Fast SIP timers: Timer H (64·T1) ends an unacknowledged 603 after 1.28 s.
    static let timers = SIPTimers(t1: .milliseconds(20), t2: .milliseconds(160), t4: .milliseconds(200), timerDFloor: .milliseconds(640))

    private func stack(media: GatewayMedia? = nil, ringTime: Duration = .milliseconds(200)) async throws -> MissedCallTests.Stack {
        // sip.conf's defaults for loopback: trusted, From not vouched for, approval on the ACK over UDP.
        try await MissedCallTests.Stack(ringTime: ringTime, media: media, timers: Self.timers, trustFrom: false)
    }

    /// The trail's details of a verification.
    private func trail(_ stack: MissedCallTests.Stack, _ id: String) async throws -> [String] {
        try await stack.core.service.events(id: id).compactMap(\.detail)
    }

    @Test("a single forged INVITE (raw UDP, Via at a closed port, victim's P-Asserted-Identity, never an ACK) approves nothing")
    func forgedInviteApprovesNothing() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let attacker = try await RawUDP.make()
        let closed = try Peers.freePort()
        // The attacker's datagram claims to come from a port nobody listens on: our answers go there.
        try await attacker.send(
            RawSIP.invite(callID: "forged-1", via: "127.0.0.1:\(closed)", caller: Self.victim, extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>"),
            to: try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        )
        // The call ends at Timer H with nothing approved; the gateway says why on the trail.
        #expect(try await eventuallyTrue { try await trail(stack, started.verification.id).contains { $0.contains("caller address unproven") } })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        #expect(try await eventuallyTrue { stack.gateway.link.unacknowledgedOutcomes == 0 })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        #expect(attacker.received.isEmpty, "the forger never saw a response")
        #expect(stack.gateway.calls.inboundCalls[.unproven] == 1)
        await attacker.close()
        await stack.stop()
    }

    @Test("the same call from a caller that reads our 603 and ACKs it with our To tag approves")
    func acknowledgedCallApproves() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let caller = try await RawUDP.make()
        let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        try await caller.send(
            RawSIP.invite(callID: "proven-1", via: "127.0.0.1:\(caller.port)", caller: Self.victim, extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>"), to: gateway
        )
        let final = try #require(await caller.response(status: 603))
        let tag = try #require(RawSIP.toTag(final))
        // Not approved before the ACK.
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        try await caller.send(RawSIP.ack(callID: "proven-1", via: "127.0.0.1:\(caller.port)", caller: Self.victim, toTag: tag), to: gateway)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        #expect(try await trail(stack, started.verification.id).contains("caller ID matched (asserted), proven by ACK"))
        await caller.close()
        await stack.stop()
    }

    @Test("a caller who hangs up while it rings (CANCEL) and ACKs our 487 with our To tag approves; the CANCEL alone does not")
    func cancelledCallApprovesAtTheACK() async throws {
        let stack = try await stack(ringTime: .seconds(10))
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let caller = try await RawUDP.make()
        let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        let via = "127.0.0.1:\(caller.port)"
        try await caller.send(RawSIP.invite(callID: "cancel-1", via: via, caller: Self.victim, extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>"), to: gateway)
        _ = try #require(await caller.response(status: 180))
        try await caller.send(RawSIP.cancel(callID: "cancel-1", via: via, caller: Self.victim), to: gateway)
        let terminated = try #require(await caller.response(status: 487))
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending, "not before the ACK")
        try await caller.send(RawSIP.ack(callID: "cancel-1", via: via, caller: Self.victim, toTag: RawSIP.toTag(terminated)), to: gateway)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        await caller.close()
        await stack.stop()
    }

    @Test("an ACK with a To tag other than ours (made without seeing our 603) approves nothing")
    func wrongTagApprovesNothing() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let caller = try await RawUDP.make()
        let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        let via = "127.0.0.1:\(caller.port)"
        try await caller.send(RawSIP.invite(callID: "guess-1", via: via, caller: Self.victim, extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>"), to: gateway)
        let final = try #require(await caller.response(status: 603))
        let tag = try #require(RawSIP.toTag(final))
        // A guessed tag, and one with no tag at all.
        try await caller.send(RawSIP.ack(callID: "guess-1", via: via, caller: Self.victim, toTag: tag + "x"), to: gateway)
        try await caller.send(RawSIP.ack(callID: "guess-1", via: via, caller: Self.victim, toTag: nil), to: gateway)
        #expect(try await eventuallyTrue { try await trail(stack, started.verification.id).contains { $0.contains("caller address unproven") } })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await caller.close()
        await stack.stop()
    }

    @Test("over TCP the handshake is the proof: the INVITE approves, with no ACK ever sent")
    func tcpApprovesOnInvite() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let caller = try await RawTCP.connect(port: await stack.sipTCPPort)
        try await caller.send(RawSIP.invite(callID: "tcp-1", via: "127.0.0.1:\(caller.port)", caller: Self.victim, transport: "TCP",
                                            extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>"))
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        #expect(try await trail(stack, started.verification.id).contains("caller ID matched (asserted)"))
        await caller.close()
        await stack.stop()
    }

    @Test("a trusted peer's From without P-Asserted-Identity, or with an unparsable one, is unverified: 404, nothing approved, even with the ACK")
    func fromIsNotAnAssertion() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let caller = try await RawUDP.make()
        let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        let via = "127.0.0.1:\(caller.port)"
        for (index, extra) in ["", "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1"].enumerated() {
            let callID = "from-\(index)"
            try await caller.send(RawSIP.invite(callID: callID, via: via, caller: Self.victim, extra: extra), to: gateway)
            let final = try #require(await caller.response(status: 404, callID: callID), "from-\(index): unverified is refused")
            try await caller.send(RawSIP.ack(callID: callID, via: via, caller: Self.victim, toTag: RawSIP.toTag(final)), to: gateway)
        }
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await caller.close()
        await stack.stop()
    }

    @Test("voice_callin: a forged INVITE is answered into the void, and no code is issued or said without the ACK of our 200")
    func forgedVoiceCallInSaysNothing() async throws {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 61_540...61_580))
        let stack = try await stack(media: media)
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .voiceCallIn))
        // The forger points the media at a socket we watch: nothing must arrive there.
        let listener = try await RawUDP.make()
        let attacker = try await RawUDP.make()
        let closed = try Peers.freePort()
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(listener.port) RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        try await attacker.send(
            RawSIP.invite(callID: "forged-voice", via: "127.0.0.1:\(closed)", caller: Self.victim, extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>", sdp: sdp),
            to: try SocketAddress(ipAddress: "127.0.0.1", port: await stack.sipPort)
        )
        // No ACK: the 200 is given up on (64·T1) and the call ends.
        #expect(try await eventuallyTrue { try await trail(stack, started.verification.id).contains { $0.hasPrefix("call ended") } })
        let events = try await stack.core.service.events(id: started.verification.id)
        #expect(!events.contains { $0.kind == .sent && $0.detail == "voice_callin" }, "no code was issued: \(events.compactMap(\.detail))")
        #expect(listener.received.isEmpty, "no audio was sent")
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await listener.close()
        await attacker.close()
        await stack.stop()
    }
}

/// Hand-written SIP for the attacks (RFC 3261 §8.1.1 mandatory headers).
enum RawSIP {
    static func invite(callID: String, via: String, caller: String, transport: String = "UDP", extra: String = "", sdp: String = "") -> String {
        var text = "INVITE sip:\(MissedCallTests.systemNumber)@127.0.0.1 SIP/2.0\r\n"
        text += "Via: SIP/2.0/\(transport) \(via);branch=z9hG4bK\(callID)\r\n"
        text += "Max-Forwards: 70\r\n"
        text += "From: <sip:\(caller)@127.0.0.1>;tag=caller\r\n"
        text += "To: <sip:\(MissedCallTests.systemNumber)@127.0.0.1>\r\n"
        text += "Call-ID: \(callID)\r\nCSeq: 1 INVITE\r\nContact: <sip:\(caller)@\(via)>\r\n"
        if !extra.isEmpty { text += extra + "\r\n" }
        if !sdp.isEmpty { text += "Content-Type: application/sdp\r\n" }
        text += "Content-Length: \(sdp.utf8.count)\r\n\r\n" + sdp
        return text
    }

    /// The ACK of a non-2xx final response: same branch as the INVITE, To with `toTag` (§17.1.1.3).
    static func ack(callID: String, via: String, caller: String, toTag: String?) -> String {
        var text = "ACK sip:\(MissedCallTests.systemNumber)@127.0.0.1 SIP/2.0\r\n"
        text += "Via: SIP/2.0/UDP \(via);branch=z9hG4bK\(callID)\r\n"
        text += "Max-Forwards: 70\r\n"
        text += "From: <sip:\(caller)@127.0.0.1>;tag=caller\r\n"
        text += "To: <sip:\(MissedCallTests.systemNumber)@127.0.0.1>\(toTag.map { ";tag=\($0)" } ?? "")\r\n"
        text += "Call-ID: \(callID)\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        return text
    }

    /// CANCEL of the INVITE (§9.1): same Request-URI, branch, From, To and Call-ID.
    static func cancel(callID: String, via: String, caller: String) -> String {
        var text = "CANCEL sip:\(MissedCallTests.systemNumber)@127.0.0.1 SIP/2.0\r\n"
        text += "Via: SIP/2.0/UDP \(via);branch=z9hG4bK\(callID)\r\n"
        text += "Max-Forwards: 70\r\n"
        text += "From: <sip:\(caller)@127.0.0.1>;tag=caller\r\n"
        text += "To: <sip:\(MissedCallTests.systemNumber)@127.0.0.1>\r\n"
        text += "Call-ID: \(callID)\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
        return text
    }

    /// The status code of a response.
    static func status(_ text: String) -> Int? {
        guard text.hasPrefix("SIP/2.0 ") else { return nil }
        return Int(text.dropFirst(8).prefix(3))
    }

    /// The To tag of a message.
    static func toTag(_ text: String) -> String? {
        for line in text.split(separator: "\r\n") where line.lowercased().hasPrefix("to:") || line.lowercased().hasPrefix("t:") {
            guard let range = line.range(of: ";tag=") else { return nil }
            return String(line[range.upperBound...].prefix { $0 != ";" && $0 != ">" && $0 != " " })
        }
        return nil
    }
}

/// A raw UDP socket on loopback keeping every datagram it receives.
final class RawUDP: Sendable {
    let channel: NIOCore.Channel
    private let box: NIOLockedValueBox<[String]>

    private init(channel: NIOCore.Channel, box: NIOLockedValueBox<[String]>) {
        self.channel = channel
        self.box = box
    }

    static func make() async throws -> RawUDP {
        let box = NIOLockedValueBox<[String]>([])
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(box: box)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawUDP(channel: channel, box: box)
    }

    var port: Int { channel.localAddress!.port! }
    var received: [String] { box.withLockedValue { $0 } }

    func send(_ text: String, to address: SocketAddress) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(string: text)))
    }

    /// The first response with `status` (for `callID` when given), waiting up to 10 s; nil if none came.
    func response(status: Int, callID: String? = nil) async -> String? {
        func find() -> String? {
            received.first { text in RawSIP.status(text) == status && (callID.map { text.contains("Call-ID: \($0)\r\n") } ?? true) }
        }
        _ = try? await eventually(.seconds(10)) { find() != nil }
        return find()
    }

    func close() async { try? await channel.close() }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let box: NIOLockedValueBox<[String]>
        init(box: NIOLockedValueBox<[String]>) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data).data)
            box.withLockedValue { $0.append(text) }
        }
    }
}

/// A raw TCP connection to the gateway's SIP port.
final class RawTCP: Sendable {
    let channel: NIOCore.Channel

    private init(channel: NIOCore.Channel) { self.channel = channel }

    static func connect(port: Int) async throws -> RawTCP {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        return RawTCP(channel: channel)
    }

    var port: Int { channel.localAddress!.port! }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func close() async { try? await channel.close() }
}
