import Foundation
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTP
import SIPMessage
import TestSupport
import Testing
import Verification
import VoiceGateway

/// Issue 14: the Opus parameters a caller's SDP negotiates (RFC 7587 §6.1 `a=fmtp`) reach the
/// encoder that makes what is sent on that call. Two voice_callin calls offer only Opus, one
/// with `maxplaybackrate=8000;useinbandfec=0`, one with `useinbandfec=1`; the packets each gets are
/// inspected: TOC bandwidth (RFC 6716 §3.1) narrowband, and in-band FEC (RFC 6716 §2.1.7)
/// present in the second call's packets only — decoding packet k + 1's redundancy for a "lost"
/// packet k recovers it far better than concealment does only where the encoder added it.
@Suite("Opus parameters from SDP reach the encoder", .serialized)
struct OpusParametersLiveTests {
    final class OpusRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let payloads: NIOLockedValueBox<[[UInt8]]>
        init(payloads: NIOLockedValueBox<[[UInt8]]>) { self.payloads = payloads }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let packet = try? RTPPacket(parsing: unwrapInboundIn(data).data), packet.header.payloadType == 111 else { return }
            payloads.withLockedValue { $0.append(Array(packet.payload.readableBytesView)) }
        }
    }

    /// A voice_callin call offering only Opus with `fmtp`; the Opus payloads it received, in order.
    private func call(fmtp: String, ports: ClosedRange<Int>) async throws -> [[UInt8]] {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: ports), codecs: [.opus, .pcmu])
        let stack = try await MissedCallTests.Stack(media: media)
        _ = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let payloads = NIOLockedValueBox<[[UInt8]]>([])
        let rtp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(OpusRecorder(payloads: payloads)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let phone = try await Phone.start()
        let offer = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.localAddress!.port!) RTP/AVP 111 101\r\n"
            + "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 \(fmtp)\r\na=rtpmap:101 telephone-event/48000\r\n")
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: offer
        )
        var answer = ""
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            if case .answered(let sdp) = event { answer = String(buffer: sdp) }
        }
        #expect(answer.contains("a=rtpmap:111 opus/48000/2"), "answer: \(answer); the call: \(events)")
        try? await rtp.close()
        await phone.stop()
        await stack.stop()
        return payloads.withLockedValue { $0 }
    }

    /// Summed squared error over the loud frames k of `packets` when packet k is "lost": recovered
    /// from packet k + 1's FEC, and concealed, each against decoding it normally.
    private func recoveryErrors(_ packets: [[UInt8]]) throws -> (fec: Double, plc: Double, frames: Int) {
        var fecError = 0.0, plcError = 0.0, frames = 0
        for k in stride(from: 40, to: packets.count - 1, by: 15) {
            var reference = try OpusCodec(pcmSampleRate: 8000)
            var withFEC = try OpusCodec(pcmSampleRate: 8000)
            var concealing = try OpusCodec(pcmSampleRate: 8000)
            for packet in packets[..<k] {
                _ = reference.decode(packet)
                _ = withFEC.decode(packet)
                _ = concealing.decode(packet)
            }
            let truth = reference.decode(packets[k]).map(Double.init)
            guard truth.map({ $0 * $0 }).reduce(0, +) / Double(max(1, truth.count)) > 1e4 else { continue }  // speech, not silence
            let recovered = withFEC.recoverLost(usingNext: packets[k + 1]).map(Double.init)
            let concealed = concealing.conceal().map(Double.init)
            fecError += zip(truth, recovered).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            plcError += zip(truth, concealed).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            frames += 1
        }
        return (fecError, plcError, frames)
    }

    @Test("maxplaybackrate=8000;useinbandfec=0: narrowband packets without FEC; useinbandfec=1: with FEC")
    func negotiatedParametersReachTheEncoder() async throws {
        let plain = try await call(fmtp: "maxplaybackrate=8000;useinbandfec=0", ports: 63_186...63_226)
        let protected = try await call(fmtp: "maxplaybackrate=8000;useinbandfec=1", ports: 63_236...63_276)
        #expect(plain.count > 100 && protected.count > 100, "\(plain.count), \(protected.count) packets")
        // RFC 6716 §3.1: TOC config 0–3 is SILK narrowband, 16–19 CELT narrowband. (The prompts
        // are 8 kHz audio, so libopus codes them narrowband whatever the cap; this shows nothing
        // wider slips through, the FEC comparison below is what tells the two calls apart.)
        for packets in [plain, protected] {
            let configs = Set(packets.compactMap { $0.first.map { Int($0 >> 3) } })
            #expect(configs.isSubset(of: Set(0...3).union(16...19)), "TOC configs \(configs.sorted())")
        }
        let without = try recoveryErrors(plain)
        let with = try recoveryErrors(protected)
        #expect(without.frames >= 5 && with.frames >= 5, "loud frames: \(without.frames), \(with.frames)")
        // No FEC in the packets: decoding "FEC" is concealment, no better.
        #expect(without.fec > without.plc * 0.8, "useinbandfec=0: FEC error \(without.fec), PLC error \(without.plc)")
        // FEC present: the redundancy recovers the lost frame far better than concealment.
        #expect(with.fec < with.plc / 2, "useinbandfec=1: FEC error \(with.fec), PLC error \(with.plc)")
    }

    /// RFC 7587 §6.1 `ptime` reaches the encoder: 40 ms asked, every packet one 40 ms frame (TOC,
    /// RFC 6716 §3.1); 30 ms asked, which no Opus frame lasts (§2.1.4): 20 ms packets.
    @Test("fmtp ptime=40: 40 ms Opus packets; ptime=30: 20 ms packets")
    func negotiatedPtimeReachesTheEncoder() async throws {
        for (asked, sent, ports) in [(40, 40, 63_506...63_546), (30, 20, 63_556...63_596)] {
            let packets = try await call(fmtp: "maxplaybackrate=8000;ptime=\(asked)", ports: ports)
            #expect(packets.count > 50, "\(packets.count) packets")
            let durations = Set(packets.map { AudioPlayout.samples(in: $0, codec: .opus) })
            #expect(durations == [sent * 48], "ptime \(asked): 48 kHz samples per packet \(durations)")
        }
    }
}
