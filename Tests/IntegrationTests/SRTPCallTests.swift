import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTP
import SIPMessage
import TestSupport
import Testing
import Verification
import VerificationServer
import VoiceGateway

/// SRTP keyed by SDES on live calls over loopback (README "Encrypted calls"): a phone offering
/// `RTP/SAVP` hears the code in what it decrypts with the key of the gateway's answer (and only
/// noise without it); its protected RFC 4733 keys are collected; forged packets — the right SSRC
/// and sequence with a wrong tag, or another key from another address — are neither heard nor
/// latched; the sip.conf policy refuses plain offers when SRTP is required and SDES over UDP
/// unless the peer allows it.
@Suite("SRTP calls end to end", .serialized)
struct SRTPCallTests {
    /// A stack whose loopback peer has `security` (media_encryption, srtp, sdes_over_insecure_transport).
    private func stack(_ range: ClosedRange<Int>, encryption: MediaEncryption = .sdes, srtp: SRTPRequirement = .optional, allowInsecure: Bool = true,
                       latching: RTPLatching = .off) async throws -> MissedCallTests.Stack {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: range), firstDigitTimeout: .seconds(8))
        var security = MediaSecurity()
        security.encryption = encryption
        security.srtp = srtp
        security.sdesOverInsecureTransport = allowInsecure
        return try await MissedCallTests.Stack(media: media, mediaLatching: latching) { configuration in
            configuration.peers = configuration.peers.map { peer in
                var peer = peer
                peer.mediaSecurity = security
                return peer
            }
        }
    }

    /// A test phone speaking SRTP: records every datagram as it arrived (still protected).
    final class SecurePhone: Sendable {
        let endpoint: SIPEndpoint
        let rtp: NIOCore.Channel
        /// Our key (we protect with it), AES_CM_128_HMAC_SHA1_80.
        let key: [UInt8]
        private let datagrams: NIOLockedValueBox<[[UInt8]]>

        private init(endpoint: SIPEndpoint, rtp: NIOCore.Channel, key: [UInt8], datagrams: NIOLockedValueBox<[[UInt8]]>) {
            (self.endpoint, self.rtp, self.key, self.datagrams) = (endpoint, rtp, key, datagrams)
        }

        static func start(host: String = "127.0.0.1") async throws -> SecurePhone {
            let loopback = try SocketAddress(ipAddress: host, port: 0)
            let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]))
            let datagrams = NIOLockedValueBox<[[UInt8]]>([])
            let rtp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Recorder(datagrams: datagrams)) }
                }
                .bind(to: loopback).get()
            var generator = SystemRandomNumberGenerator()
            let key = (0..<30).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return SecurePhone(endpoint: endpoint, rtp: rtp, key: key, datagrams: datagrams)
        }

        /// An offer of `proto` with our key in `a=crypto` (or none).
        func offer(proto: String = "RTP/SAVP", crypto: Bool = true) -> ByteBuffer {
            var sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.localAddress!.port!) \(proto) 0 101\r\n"
                + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            if crypto {
                // A suite we do not support first: the gateway must pick the next one.
                sdp += "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:\(Data(repeating: 7, count: 46).base64EncodedString())\r\n"
                sdp += "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:\(Data(key).base64EncodedString())\r\n"
            }
            return ByteBuffer(string: sdp)
        }

        /// Answers the next incoming call with SRTP: takes the offer's `AES_CM_128_HMAC_SHA1_80`
        /// line, answers its tag with our key, keys "5" by SIP INFO once confirmed (voice_call says
        /// the code after a key). Returns the offer's profile, the gateway's key and the events.
        func answerNextCall() -> Task<(proto: String, key: [UInt8], events: [SIPCallEvent])?, Never> {
            Task {
                var iterator = endpoint.incomingCalls.makeAsyncIterator()
                guard let call = await iterator.next() else { return nil }
                let lines = String(buffer: call.offer).split(separator: "\r\n")
                guard let media = lines.first(where: { $0.hasPrefix("m=audio ") })?.split(separator: " "), media.count > 2,
                      let crypto = lines.first(where: { $0.hasPrefix("a=crypto:") && $0.contains(" AES_CM_128_HMAC_SHA1_80 ") })?.split(separator: " "),
                      let inline = crypto.last?.split(separator: "|").first?.dropFirst("inline:".count),
                      let key = Data(base64Encoded: String(inline)) else {
                    call.reject(statusCode: 488)
                    return nil
                }
                let tag = crypto[0].dropFirst("a=crypto:".count)
                let answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.localAddress!.port!) \(media[2]) 0 101\r\n"
                    + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:\(tag) AES_CM_128_HMAC_SHA1_80 inline:\(Data(self.key).base64EncodedString())\r\n"
                call.ring()
                call.answer(sdp: ByteBuffer(string: answer))
                var events: [SIPCallEvent] = []
                for await event in call.events {
                    events.append(event)
                    if event == .confirmed {
                        call.sendInfo(body: ByteBuffer(string: "Signal=5\r\nDuration=160\r\n"), contentType: "application/dtmf-relay")
                    }
                }
                return (String(media[2]), Array(key), events)
            }
        }

        var datagramCount: Int { datagrams.withLockedValue { $0.count } }
        var received: [[UInt8]] { datagrams.withLockedValue { $0 } }

        func stop() async {
            await endpoint.shutdown()
            try? await rtp.close()
        }

        private final class Recorder: ChannelInboundHandler, Sendable {
            typealias InboundIn = AddressedEnvelope<ByteBuffer>
            let datagrams: NIOLockedValueBox<[[UInt8]]>
            init(datagrams: NIOLockedValueBox<[[UInt8]]>) { self.datagrams = datagrams }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
                datagrams.withLockedValue { $0.append(bytes) }
            }
        }
    }

    /// The gateway's answer: its RTP port, profile and `a=crypto` (tag, suite, key).
    struct Answer {
        var port: Int
        var proto: String
        var tag: String
        var suite: String
        var key: [UInt8]

        init(_ answer: ByteBuffer) throws {
            let lines = String(buffer: answer).split(separator: "\r\n")
            let media = try #require(lines.first { $0.hasPrefix("m=audio ") }).split(separator: " ")
            port = try #require(Int(media[1]))
            proto = String(media[2])
            let crypto = try #require(lines.first { $0.hasPrefix("a=crypto:") }, "the answer has no a=crypto").dropFirst("a=crypto:".count).split(separator: " ")
            tag = String(crypto[0])
            suite = String(crypto[1])
            let inline = try #require(crypto[2].split(separator: "|").first?.dropFirst("inline:".count))
            key = try #require(Data(base64Encoded: String(inline))).map { $0 }
        }
    }

    /// PCMU frames of `packets` placed by timestamp, as `Phone.payloads` does.
    static func slots(_ packets: [RTPPacket]) -> [[UInt8]?] {
        let audio = packets.filter { $0.header.payloadType == 0 }
        guard let first = audio.first else { return [] }
        var slots: [[UInt8]?] = []
        var lastSlot = -1
        for packet in audio.sorted(by: { Int32(bitPattern: $0.header.timestamp &- first.header.timestamp) < Int32(bitPattern: $1.header.timestamp &- first.header.timestamp) }) {
            let slot = Int(Int32(bitPattern: packet.header.timestamp &- first.header.timestamp)) / 160
            guard slot > lastSlot else { continue }
            if slot - lastSlot > 1 { slots += Array(repeating: nil, count: min(slot - lastSlot - 1, 25)) }
            slots.append(Array(packet.payload.readableBytesView))
            lastSlot = slot
        }
        return slots
    }

    private func target(_ stack: MissedCallTests.Stack) async throws -> SIPAnyURI {
        try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)")
    }

    private let from = try! SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>")

    @Test("voice_callin over RTP/SAVP: the answer picks AES_CM_128_HMAC_SHA1_80 with our tag and its own key; decrypted with it the RTP says the code; as received it says nothing")
    func voiceCallInIsHeardDecrypted() async throws {
        let stack = try await stack(62_536...62_576)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await SecurePhone.start()
        let call = try await phone.endpoint.call(try await target(stack), from: from, sdp: phone.offer())
        var answer: Answer?
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            if case .answered(let body) = event { answer = try Answer(body) }
        }
        #expect(events.last == .ended(.remoteHangUp), "\(events)")
        let agreed = try #require(answer)
        #expect(agreed.proto == "RTP/SAVP")
        #expect(agreed.tag == "2" && agreed.suite == "AES_CM_128_HMAC_SHA1_80")
        #expect(agreed.key.count == 30 && agreed.key != phone.key)

        let datagrams = phone.received
        #expect(datagrams.count > 50, "\(datagrams.count) datagrams")
        let prompts = try stack.gatewayPrompts().encoded(locale: "en", codec: .pcmu)
        // As received: encrypted payloads (10 bytes of tag each) match no digit prompt.
        let raw = datagrams.compactMap { try? RTPPacket(parsing: ByteBuffer(bytes: $0)) }
        #expect(raw.allSatisfy { $0.payload.readableBytes == 170 }, "160 bytes of PCMU + an 80-bit tag")
        #expect(Phone.digits(in: Self.slots(raw), prompts: prompts).isEmpty, "the code is not in clear")
        // Decrypted with the answer's key: every packet authenticates, and the code is said.
        let inbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: agreed.key)
        var clear: [RTPPacket] = []
        for datagram in datagrams {
            var buffer = ByteBuffer(bytes: datagram)
            try inbound.unprotectRTP(&buffer)
            clear.append(try RTPPacket(parsing: buffer))
        }
        try await Phone.expectHeardCodeApproves(Phone.digits(in: Self.slots(clear), prompts: prompts), service: stack.core.service, id: started.verification.id)
        await phone.stop()
        await stack.stop()
    }

    @Test("dtmf_callin over SRTP with latching on any source: forged keys (right SSRC and sequence, wrong tag; another key from 127.0.0.2) are not heard and do not latch, a plain RTCP report forged from the caller's address is not read; the protected code approves")
    func protectedKeysApproveForgedAreDropped() async throws {
        let stack = try await stack(62_586...62_626, latching: .anySource)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let wrong = code == "111111" ? "222222" : "111111"
        let phone = try await SecurePhone.start()
        let strangerDatagrams = NIOLockedValueBox(0)
        let stranger = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(PacketCounter(count: strangerDatagrams)) }
            }
            .bind(host: "127.0.0.2", port: 0).get()
        let call = try await phone.endpoint.call(try await target(stack), from: from, sdp: phone.offer())
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            guard case .answered(let body) = event else { continue }
            let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: try Answer(body).port)
            let outbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .outbound, masterKey: phone.key)
            // 1. An attacker who does not know the key, from another address: its own key.
            var guess = phone.key
            guess[0] ^= 0xFF
            let attacker = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .outbound, masterKey: guess)
            try await Phone.sendRFC4733(code: wrong, from: stranger, to: gateway) { try attacker.protectRTP(&$0) }
            // 2. The caller's SSRC and sequence numbers with a flipped tag, from the caller's address.
            let forger = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .outbound, masterKey: phone.key)
            try await Phone.sendRFC4733(code: wrong, from: phone.rtp, to: gateway) { packet in
                try forger.protectRTP(&packet)
                let last = packet.writerIndex - 1
                packet.setInteger(packet.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
            }
            // 3. A report forged from the caller's address in plain RTCP (SRTCP is keyed, RFC 3711
            //    §3.4): an RR on our SSRC echoing "now" as LSR would give a round-trip time were it read.
            #expect(try await eventuallyTrue { phone.datagramCount > 0 })
            let ourSSRC = phone.received[0][8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let now = NTPTime.middle(NTPTime.timestamp(unixNanoseconds: UInt64(Date().timeIntervalSince1970 * 1e9)))
            var report = ByteBuffer()
            try RTCPCompoundPacket.write([.receiverReport(ssrc: 0x5151_5151, reports: [
                RTCPReportBlock(ssrc: ourSSRC, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0, lastSR: now, delaySinceLastSR: 0),
            ])], into: &report)
            try await phone.rtp.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: gateway.port! + 1), data: report))
            // 4. The caller, properly protected (the same sequence numbers: the forgeries did not spend them).
            try await Phone.sendRFC4733(code: code, from: phone.rtp, to: gateway) { try outbound.protectRTP(&$0) }
        }
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up after 'verified': \(events)")
        let verification = try await stack.core.service.verification(id: started.verification.id)
        #expect(verification.status == .approved)
        #expect(verification.checkAttempts == 0, "no forged key was heard: the wrong code was never checked")
        #expect(strangerDatagrams.withLockedValue { $0 } == 0, "the forged packets did not latch our media to 127.0.0.2")
        #expect(phone.datagramCount > 0, "our (protected) prompts went to the caller")
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let statistics = try #require(stack.media?.statistics.snapshot)
        #expect(statistics.srtpSessions == 1, "\(statistics)")
        #expect(statistics.srtpRejectedPackets >= 2 * 5 * code.count, "both forgeries counted: \(statistics)")
        #expect(statistics.srtcpRejectedPackets >= 1, "the forged report was refused: \(statistics)")
        #expect(stack.media?.statistics.drainRoundTrips() == [], "no round-trip time from a forged report")
        try? await stranger.close()
        await phone.stop()
        await stack.stop()
    }

    /// The phone's datagrams decrypted with `key` (each must authenticate), as RTP packets.
    static func decrypt(_ datagrams: [[UInt8]], key: [UInt8]) throws -> [RTPPacket] {
        let inbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: key)
        return try datagrams.map { datagram in
            var buffer = ByteBuffer(bytes: datagram)
            try inbound.unprotectRTP(&buffer)
            return try RTPPacket(parsing: buffer)
        }
    }

    @Test("voice_call to a phone over SRTP (srtp = required, sdes_over_insecure_transport): our offer is RTP/SAVP with every suite; the phone answers one tag and hears the code in what it decrypts with that tag's key")
    func voiceCallOutOverSRTP() async throws {
        let phone = try await SecurePhone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_746...62_776), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media, outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)") { configuration in
            configuration.mediaSecurity.encryption = .sdes
            configuration.mediaSecurity.srtp = .required
            configuration.mediaSecurity.sdesOverInsecureTransport = true
        }
        let answering = phone.answerNextCall()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let answered = try #require(await answering.value, "the offer had no AES_CM_128_HMAC_SHA1_80 line")
        #expect(answered.proto == "RTP/SAVP")
        #expect(answered.events.last == .ended(.remoteHangUp), "\(answered.events)")
        let clear = try Self.decrypt(phone.received, key: answered.key)
        let prompts = try stack.gatewayPrompts().encoded(locale: "en", codec: .pcmu)
        try await Phone.expectHeardCodeApproves(Phone.digits(in: Self.slots(clear), prompts: prompts), service: stack.core.service, id: started.verification.id)
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call with srtp = required over UDP without sdes_over_insecure_transport: no INVITE carries keys; the call fails")
    func voiceCallOutRefusesKeysOverUDP() async throws {
        let phone = try await SecurePhone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_786...62_806), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media, outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)") { configuration in
            configuration.mediaSecurity.encryption = .sdes
            configuration.mediaSecurity.srtp = .required
        }
        let answering = phone.answerNextCall()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let failed = try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains { $0.hasPrefix("call ended: failed") }
        }
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        #expect(failed, "\(trail)")
        #expect(!trail.contains("call ringing"), "no INVITE was sent: \(trail)")
        let calls = try await stack.endpoint.statistics().calls
        #expect(calls == 0)
        answering.cancel()
        await phone.stop()
        await stack.stop()
    }

    /// The final status of a call offering `sdp`.
    private func finalStatus(_ stack: MissedCallTests.Stack, _ phone: SecurePhone, sdp: ByteBuffer) async throws -> [SIPCallEvent] {
        let call = try await phone.endpoint.call(try await target(stack), from: from, sdp: sdp)
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            if case .answered = event { call.hangUp() }
        }
        return events
    }

    @Test("policy: srtp = required refuses a plain offer with 488; SDES over UDP without sdes_over_insecure_transport gets 488; optional takes plain RTP")
    func policyRefusals() async throws {
        func is488(_ events: [SIPCallEvent]) -> Bool {
            if case .ended(.failed(488, _))? = events.last { return true }
            return false
        }
        let required = try await stack(62_636...62_656, srtp: .required)
        _ = try await required.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await SecurePhone.start()
        let plain = try await finalStatus(required, phone, sdp: phone.offer(proto: "RTP/AVP", crypto: false))
        #expect(is488(plain), "\(plain)")
        #expect(try await eventuallyTrue { required.gatewayPortsInUse() == 0 })
        await required.stop()

        let insecure = try await stack(62_666...62_686, allowInsecure: false)
        _ = try await insecure.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let keyed = try await finalStatus(insecure, phone, sdp: phone.offer())
        #expect(is488(keyed), "\(keyed)")
        // Optional SRTP: the same gateway takes a plain offer.
        let accepted = try await finalStatus(insecure, phone, sdp: phone.offer(proto: "RTP/AVP", crypto: false))
        #expect(accepted.contains { if case .answered = $0 { true } else { false } }, "\(accepted)")
        await phone.stop()
        await insecure.stop()
    }
}
