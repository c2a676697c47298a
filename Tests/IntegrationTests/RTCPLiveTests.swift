import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Prometheus
import RTP
import SIPMessage
import TestSupport
import Testing
import Verification
import VoiceGateway

/// Issue 14: RTCP on every call (RFC 3550 §6). A test peer with RTCP on a port its SDP names
/// (`a=rtcp`, RFC 3605), not RTP's + 1, calls voice_callin; it gets our SRs (the SSRC of the RTP it hears, packet counts that
/// match), answers each SR with an RR held back for a known time and claiming no delay (DLSR 0),
/// so the round-trip time the gateway computes must be at least that hold (a stranger on 127.0.0.2
/// echoing each SR at once is not heard); and gets a BYE at the end.
@Suite("RTCP in a live call", .serialized)
struct RTCPLiveTests {
    /// RTP and RTCP sockets of the test peer.
    final class Peer: Sendable {
        let rtp: Channel
        let rtcp: Channel
        /// RTP packets heard: SSRCs in order.
        let rtpSSRCs: NIOLockedValueBox<[UInt32]>
        /// RTCP datagrams heard, parsed.
        let reports: NIOLockedValueBox<[[RTCPPacket]]>
        /// How long each RR was actually held after its SR arrived.
        let holds: NIOLockedValueBox<[Duration]>

        init(rtp: Channel, rtcp: Channel, rtpSSRCs: NIOLockedValueBox<[UInt32]>, reports: NIOLockedValueBox<[[RTCPPacket]]>, holds: NIOLockedValueBox<[Duration]>) {
            self.rtp = rtp
            self.rtcp = rtcp
            self.rtpSSRCs = rtpSSRCs
            self.reports = reports
            self.holds = holds
        }

        /// RTP and RTCP on two free ports, never adjacent: the offer names the RTCP one (`a=rtcp`,
        /// RFC 3605), so reports reach it only if the gateway reads that attribute.
        static func start(hold: Duration, stranger: Channel?) async throws -> Peer {
            let ssrcs = NIOLockedValueBox<[UInt32]>([])
            let reports = NIOLockedValueBox<[[RTCPPacket]]>([])
            let holds = NIOLockedValueBox<[Duration]>([])
            let rtp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RTPRecorder(ssrcs: ssrcs)) }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            for _ in 0..<50 {
                let rtcp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(RTCPResponder(hold: hold, reports: reports, holds: holds, stranger: stranger))
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).get()
                if rtcp.localAddress!.port! != rtp.localAddress!.port! + 1 {
                    return Peer(rtp: rtp, rtcp: rtcp, rtpSSRCs: ssrcs, reports: reports, holds: holds)
                }
                try? await rtcp.close()
            }
            throw ChannelError.inappropriateOperationForState
        }

        var offer: ByteBuffer {
            ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.localAddress!.port!) RTP/AVP 0 101\r\n"
                + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:\(rtcp.localAddress!.port!)\r\n")
        }

        func stop() async {
            try? await rtp.close()
            try? await rtcp.close()
        }
    }

    final class RTPRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let ssrcs: NIOLockedValueBox<[UInt32]>
        init(ssrcs: NIOLockedValueBox<[UInt32]>) { self.ssrcs = ssrcs }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let packet = try? RTPPacket(parsing: unwrapInboundIn(data).data) { ssrcs.withLockedValue { $0.append(packet.header.ssrc) } }
        }
    }

    /// Records every RTCP datagram; answers each SR with an RR (one block on the SR's sender, LSR
    /// its middle NTP bits, DLSR 0) sent `hold` later.
    final class RTCPResponder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let hold: Duration
        let reports: NIOLockedValueBox<[[RTCPPacket]]>
        let holds: NIOLockedValueBox<[Duration]>
        /// A third party (127.0.0.2) that echoes each SR at once: were it heard, the RTT would be shorter than any hold.
        let stranger: Channel?
        init(hold: Duration, reports: NIOLockedValueBox<[[RTCPPacket]]>, holds: NIOLockedValueBox<[Duration]>, stranger: Channel?) {
            self.stranger = stranger
            self.hold = hold
            self.reports = reports
            self.holds = holds
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let packets = try? RTCPCompoundPacket.parse(envelope.data) else {
                reports.withLockedValue { $0.append([]) }  // unparsable: shows as an empty compound
                return
            }
            reports.withLockedValue { $0.append(packets) }
            guard case .senderReport(let sr) = packets.first, !packets.contains(where: { if case .bye = $0 { true } else { false } }) else { return }
            let arrived = ContinuousClock.now
            let channel = context.channel
            let holds = self.holds
            let forged = RTCPReportBlock(ssrc: sr.ssrc, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0, lastSR: sr.middleNTP, delaySinceLastSR: 0)
            var forgedBuffer = ByteBuffer()
            try? RTCPCompoundPacket.write([.receiverReport(ssrc: 0x7E57_7E57, reports: [forged])], into: &forgedBuffer)
            stranger?.writeAndFlush(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: forgedBuffer), promise: nil)
            let nanoseconds = hold.components.seconds * 1_000_000_000 + hold.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                var buffer = ByteBuffer()
                let block = RTCPReportBlock(ssrc: sr.ssrc, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0, lastSR: sr.middleNTP, delaySinceLastSR: 0)
                try? RTCPCompoundPacket.write([.receiverReport(ssrc: 0x7E57_7E57, reports: [block])], into: &buffer)
                holds.withLockedValue { $0.append(ContinuousClock.now - arrived) }
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer), promise: nil)
            }
        }
    }

    @Test("voice_callin: our SRs carry the SSRC of our RTP and its packet count, a BYE ends the call, and the peer's RR gives a round-trip time of at least the time it held its RR")
    func reportsAndRoundTrip() async throws {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 63_136...63_176), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let hold = Duration.milliseconds(200)
        let stranger = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.2", port: 0).get()
        let peer = try await Peer.start(hold: hold, stranger: stranger)
        let phone = try await Phone.start()
        let dialled = ContinuousClock.now
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: peer.offer
        )
        var events: [SIPCallEvent] = []
        for await event in call.events { events.append(event) }
        let callLasted = ContinuousClock.now - dialled
        #expect(events.last == .ended(.remoteHangUp), "\(events)")
        // The last compound is the BYE.
        #expect(try await eventuallyTrue(within: .seconds(5)) {
            peer.reports.withLockedValue { $0.last?.contains { if case .bye = $0 { true } else { false } } ?? false }
        })
        let reports = peer.reports.withLockedValue { $0 }
        let ssrcs = peer.rtpSSRCs.withLockedValue { $0 }
        let ssrc = try #require(ssrcs.first)
        #expect(Set(ssrcs) == [ssrc])
        #expect(reports.count >= 2, "at least one report during the call and the BYE: \(reports)")
        var senderReports: [RTCPSenderReport] = []
        for compound in reports {
            // SR when we sent RTP since the last report, else RR (§6.4), always from our SSRC, with our CNAME.
            switch compound.first {
            case .senderReport(let sr):
                #expect(sr.ssrc == ssrc)
                senderReports.append(sr)
            case .receiverReport(let reporter, _):
                #expect(reporter == ssrc)
            default:
                Issue.record("a compound starts with SR or RR: \(compound)")
            }
            #expect(compound.contains { if case .sourceDescription(let chunks) = $0 { chunks.first?.ssrc == ssrc && chunks.first?.cname != nil } else { false } })
        }
        let last = try #require(senderReports.last, "the prompts were sent, so there were SRs: \(reports)")
        // Loopback loses nothing, and no RTP follows the last SR (a report after it would be an SR):
        // its counts are exactly the packets the peer heard.
        #expect(Int(last.packetCount) == ssrcs.count, "SR says \(last.packetCount), peer heard \(ssrcs.count)")
        #expect(last.octetCount == last.packetCount * 160, "PCMU: 160 octets a packet")
        if case .bye(let byeSSRCs, _) = reports.last?.last { #expect(byeSSRCs == [ssrc]) }

        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let registry = PrometheusCollectorRegistry()
        GatewayMetrics(registry: registry, calls: stack.gateway.calls, media: stack.media?.statistics).collect()
        let text = registry.emitToString()
        let holds = peer.holds.withLockedValue { $0 }
        let count = try #require(metricValue(text, "verigate_rtp_round_trip_seconds_count"), "\(text)")
        let sum = try #require(metricValue(text, "verigate_rtp_round_trip_seconds_sum"), "\(text)")
        // Every RR sent before the gateway closed gave one sample (the last may have come after).
        #expect(count >= Double(holds.count - 1) && count >= 1, "\(holds.count) RRs: \(text)")
        // Each sample is the peer's hold plus loopback transit and scheduling: at least the
        // shortest hold (NTP middle bits resolve 15 µs), and never more than the whole call lasted
        // (a unit error, e.g. DLSR's 1/65536 s taken as seconds, would break that; how long a
        // loaded machine takes to read an RR is not bounded here).
        let shortest = Double(holds.min()!.components.attoseconds) / 1e18 + Double(holds.min()!.components.seconds)
        let lasted = Double(callLasted.components.attoseconds) / 1e18 + Double(callLasted.components.seconds)
        #expect(sum / count >= shortest - 0.000_1 && sum / count <= lasted, "mean RTT \(sum / count) s, holds \(holds), call \(callLasted)")
        #expect(metricValue(text, "verigate_rtcp_reports_received_total") == count, "\(text)")
        // The audit trail: the mean round-trip time of the call, in ms.
        #expect(try await eventuallyTrue(within: .seconds(5)) {
            try await stack.core.service.events(id: started.verification.id).contains { ($0.detail ?? "").hasPrefix("call media: ") }
        })
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        let ended = try #require(trail.first { $0.hasPrefix("call media: ") }, "\(trail)")
        let rtt = try #require(ended.split(separator: "rtt ").last.flatMap { Double($0.prefix { $0 != " " }) }, "\(ended)")
        #expect(abs(rtt / 1_000 - sum / count) < 0.000_2, "\(ended) vs metrics mean \(sum / count)")
        #expect(try #require(metricValue(text, "verigate_rtcp_reports_sent_total")) == Double(reports.count), "\(text)")
        try? await stranger.close()
        await peer.stop()
        await phone.stop()
        await stack.stop()
    }
}
