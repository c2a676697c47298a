// AudioPlayout: the receive side of one call's audio — packets into the adaptive JitterBuffer,
// frames out on the playout clock, decoded (or concealed by the codec: G.711 repetition with fade,
// Opus PLC or in-band FEC from the next packet, RFC 6716 §2.1.7) and fed to the in-band DTMF
// detector. Pure value; time is an input, so tests drive it with a manual clock and the media
// shell (VoiceGateway's MediaSession) with the event loop's.

import SDP

/// Jitter buffer → decoder → in-band DTMF detector for one received audio stream.
public struct AudioPlayout {
    /// The buffer (its statistics: played, concealed, late, duplicates …).
    public private(set) var buffer: JitterBuffer<[UInt8]>
    private var decoder: any AudioTranscoder
    private var detector = DTMFDetector()
    /// The playout time of the next frame; nil until the first tick.
    private var nextPlayout: Duration?
    /// Most frames one tick plays when the clock was held up (a stalled event loop): beyond this
    /// the playout clock skips ahead instead of decoding a long backlog in one go.
    public static let maxCatchUpFrames = 10

    /// Packets stored so far: the first sets the frame duration.
    private var packets = 0

    /// A playout for `decoder`'s codec with frames of `frameDuration` (the SDP `ptime`) until the
    /// first packet says otherwise: the peer packetizes at its own ptime (its `a=ptime` is what it
    /// wants to receive, RFC 8866 §6.4), so the first packet's duration (``samples(in:codec:)``)
    /// sets the frame duration.
    public init(decoder: any AudioTranscoder, frameDuration: Duration) {
        self.decoder = decoder
        let milliseconds = Int(frameDuration.components.seconds * 1_000 + frameDuration.components.attoseconds / 1_000_000_000_000_000)
        let samplesPerFrame = max(1, decoder.rtpClockRate * milliseconds / 1_000)
        buffer = JitterBuffer(configuration: .init(clockRate: decoder.rtpClockRate, samplesPerFrame: samplesPerFrame))
    }

    /// The length of one frame on the playout clock.
    public var frameDuration: Duration {
        .nanoseconds(Int64(buffer.configuration.samplesPerFrame) * 1_000_000_000 / Int64(buffer.configuration.clockRate))
    }

    /// Stores one audio packet, received at `arrival` (monotonic).
    @discardableResult
    public mutating func packetReceived(ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32, arrival: Duration, payload: [UInt8]) -> JitterBuffer<[UInt8]>.PacketVerdict {
        if packets == 0, let samples = Self.samples(in: payload, codec: decoder.codec), samples != buffer.configuration.samplesPerFrame,
           (decoder.rtpClockRate / 100...decoder.rtpClockRate * 3 / 25).contains(samples) {
            var configuration = buffer.configuration
            configuration.samplesPerFrame = samples
            buffer = JitterBuffer(configuration: configuration)
        }
        packets += 1
        return buffer.packetReceived(ssrc: ssrc, sequenceNumber: sequenceNumber, timestamp: timestamp, arrival: arrival, payload: payload)
    }

    /// Plays every frame due by `now` (one per frame duration since the first tick; at most
    /// `maxCatchUpFrames`) and returns the keys the detector heard in them.
    public mutating func tick(now: Duration) -> [DTMFDetector.Detection] {
        var due = nextPlayout ?? now
        var detections: [DTMFDetector.Detection] = []
        var frames = 0
        while due <= now {
            if frames == Self.maxCatchUpFrames {
                due = now + frameDuration
                break
            }
            frames += 1
            detections += playOne(now: due)
            due += frameDuration
        }
        // Idle (the sender paused): the clock stops; the next packet starts it afresh.
        nextPlayout = buffer.isIdle ? nil : due
        return detections
    }

    /// The RTP timestamp units one packet carries: a G.711 payload is one byte per sample (RFC
    /// 3551 §4.5.14); an Opus packet says its duration in its TOC byte (RFC 6716 §3.1: the frame
    /// size by configuration, times the frame count of codes 0–3). Nil when it cannot tell.
    public static func samples(in payload: [UInt8], codec: AudioCodec) -> Int? {
        switch codec {
        case .pcmu, .pcma:
            return payload.isEmpty ? nil : payload.count
        case .opus:
            guard let toc = payload.first else { return nil }
            let config = Int(toc >> 3)
            let frame = switch config {
            case 0...11: [480, 960, 1920, 2880][config % 4]
            case 12...15: [480, 960][config % 2]
            default: [120, 240, 480, 960][config % 4]
            }
            switch toc & 0x03 {
            case 0: return frame
            case 1, 2: return frame * 2
            default: return payload.count > 1 ? frame * Int(payload[1] & 0x3F) : nil
            }
        }
    }

    /// True when there is nothing to play until the next packet: the playout clock may stop.
    public var isIdle: Bool { buffer.isIdle }

    /// Decodes `payload` and detects keys in it at once, bypassing the buffer: what the gateway
    /// did before the buffer was in the path (kept so tests can compare the two on one schedule).
    public mutating func decodeNow(_ payload: [UInt8]) -> [DTMFDetector.Detection] {
        detector.process(decoder.decode(payload))
    }

    private mutating func playOne(now: Duration) -> [DTMFDetector.Detection] {
        switch buffer.nextFrame(now: now) {
        case .frame(let payload, _):
            // Room for the whole packet, whatever its duration.
            let room = max(decoder.samplesPerFrame, buffer.configuration.samplesPerFrame * decoder.pcmSampleRate / decoder.rtpClockRate)
            var pcm = [Int16](repeating: 0, count: room)
            let n = payload.withUnsafeBytes { p in pcm.withUnsafeMutableBufferPointer { decoder.decode(p, into: $0) } }
            pcm.removeSubrange(n...)  // in place: no second array per frame
            return detector.process(pcm)
        case .conceal(_, let next):
            let pcm = next.map { decoder.recoverLost(usingNext: $0) } ?? decoder.conceal()
            return detector.process(pcm)
        case .empty:
            return []
        }
    }
}
