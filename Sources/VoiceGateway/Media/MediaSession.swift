// MediaSession: one call's RTP stream (RFC 3550) on SwiftNIO: prompts sent as 20 ms packets on
// their deadlines (RTPPacer), and keys heard three ways — RFC 4733 telephone-events, in-band tones
// (Goertzel detector on the decoded audio) — delivered in arrival order. RTP from any address but
// the one the SDP named is dropped. The pure parts (packets, pacing, filters, detectors, codecs)
// live in the RTP and Media targets; this is the thin shell.

import Logging
import Media
import NIOCore
import NIOPosix
import RTP
import SDP

/// A key pressed on the caller's phone, and how it reached us.
public struct KeyedDigit: Sendable, Equatable {
    /// The key.
    public var digit: Media.DTMFDigit
    /// RFC 4733, in-band or SIP INFO.
    public var source: DigitCollector.Source
}

/// The RTP side of one call. Confined to its event loop; the public methods may be called anywhere.
public final class MediaSession: @unchecked Sendable {
    /// The local RTP port.
    public let port: Int
    /// What offer/answer agreed.
    public let audio: NegotiatedAudio
    /// Keys heard, in order; finishes on `close()`.
    public let digits: AsyncStream<KeyedDigit>
    private let digitContinuation: AsyncStream<KeyedDigit>.Continuation
    private let channel: Channel
    private let allocator: RTPPortAllocator
    private let logger: Logger
    private let remote: SocketAddress
    private let statistics: MediaStatistics?

    // Loop-confined state.
    private var sender: RTPSender
    private var filter: RTPSourceFilter
    private var events: TelephoneEventReceiver?
    private var decoder: any AudioTranscoder
    private var detector = DTMFDetector()
    private var playback: Playback?
    private var closed = false
    /// Packets sent, received (accepted) and dropped as coming from a stranger.
    public private(set) var packetsSent = 0
    private(set) var packetsReceived = 0
    private(set) var strangerPackets = 0
    /// Punctuality of what this session sent, added to `statistics` once, at close.
    private var punctuality = MediaStatistics.SessionCounts()
    /// Loss and jitter of what the negotiated source sent (RFC 3550 A.1, A.3, A.8).
    private var reception: RTPReceiverStatistics?

    private struct Playback {
        var player: PromptPlayer
        var pacer: RTPPacer
        var promise: EventLoopPromise<Void>
        var timer: Scheduled<Void>?
    }

    private init(channel: Channel, port: Int, audio: NegotiatedAudio, remote: SocketAddress, allocator: RTPPortAllocator,
                 statistics: MediaStatistics?, logger: Logger) throws {
        self.channel = channel
        self.statistics = statistics
        self.port = port
        self.audio = audio
        self.remote = remote
        self.allocator = allocator
        self.logger = logger
        var generator = SystemRandomNumberGenerator()
        let samplesPerPacket = UInt32(audio.codec.clockRate * audio.ptime / 1000)
        sender = RTPSender(payloadType: audio.payloadType, samplesPerPacket: samplesPerPacket, using: &generator)
        filter = RTPSourceFilter(expected: remote, symmetric: false)
        events = audio.telephoneEventPayloadType.map(TelephoneEventReceiver.init(payloadType:))
        decoder = try PromptStore.makeCodec(audio.codec)
        (digits, digitContinuation) = AsyncStream.makeStream(of: KeyedDigit.self)
    }

    /// Binds `port` on `host` and starts receiving. Throws when the remote address is not an IP.
    public static func open(
        host: String, port: Int, audio: NegotiatedAudio, allocator: RTPPortAllocator, eventLoop: EventLoop,
        statistics: MediaStatistics? = nil, logger: Logger
    ) async throws -> MediaSession {
        let remote = try SocketAddress(ipAddress: audio.remoteAddress, port: Int(audio.remotePort))
        let box = SessionBox()
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RTPInboundHandler(box: box)) }
            }
            .bind(host: host, port: port).get()
        do {
            let session = try MediaSession(channel: channel, port: port, audio: audio, remote: remote, allocator: allocator, statistics: statistics, logger: logger)
            statistics?.sessionOpened()
            box.session = session
            return session
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Plays `player` to the end (or until `stopPlayback()`/`close()`), one packet per ptime.
    public func play(_ player: PromptPlayer) async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            guard !self.closed else { return promise.succeed() }
            self.finishPlayback()
            let start = Self.now()
            // A prompt carries a code: after a stall, catch up with a burst of up to 200 ms (a
            // jitter buffer absorbs it) rather than drop audio; only longer stalls skip frames.
            let pacer = RTPPacer(start: start, interval: .milliseconds(self.audio.ptime), maxBurst: 10)
            self.playback = Playback(player: player, pacer: pacer, promise: promise, timer: nil)
            self.tick()
        }
        try? await promise.futureResult.get()
    }

    /// Stops the prompt playing now.
    public func stopPlayback() {
        channel.eventLoop.execute { self.finishPlayback() }
    }

    /// Stops everything, closes the socket and returns the port.
    public func close() async {
        let wasOpen = (try? await channel.eventLoop.submit { () -> Bool in
            guard !self.closed else { return false }
            self.closed = true
            self.finishPlayback()
            self.digitContinuation.finish()
            self.punctuality.packetsSent = self.packetsSent
            self.punctuality.packetsReceived = self.packetsReceived
            self.punctuality.strangerPackets = self.strangerPackets
            if let reception = self.reception, reception.isValid {
                self.punctuality.packetsLost = Int(reception.cumulativeLost)
                self.punctuality.jitterSeconds = Double(reception.jitter) / Double(self.audio.codec.clockRate)
            }
            self.statistics?.sessionClosed(self.punctuality)
            return true
        }.get()) ?? false
        guard wasOpen else { return }
        try? await channel.close()
        allocator.release(port)
    }

    // MARK: Sending

    private static func now() -> Duration { .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds)) }

    private func tick() {
        guard var current = playback else { return }
        let now = Self.now()
        let decision = current.pacer.tick(now: now)
        if decision.send > 0 || decision.skip > 0 {
            let first = current.pacer.deadline(ofPacket: current.pacer.nextPacket - decision.send)
            punctuality.tick(sent: decision.send, firstLatenessMicroseconds: Int((now - first).nanoseconds / 1_000), skipped: decision.skip)
        }
        for _ in 0..<decision.skip { _ = current.player.nextFrame() }
        if decision.skip > 0 { sender.skip(frames: decision.skip) }
        var finished = false
        for _ in 0..<decision.send {
            guard let frame = current.player.nextFrame() else {
                finished = true
                break
            }
            send(frame)
        }
        if finished || current.player.remaining == 0 {
            playback = current
            finishPlayback()
            return
        }
        let wait = decision.nextDeadline - Self.now()
        current.timer = channel.eventLoop.scheduleTask(in: .nanoseconds(max(0, wait.nanoseconds))) { self.tick() }
        playback = current
    }

    private func send(_ payload: [UInt8]) {
        let header = sender.nextAudioHeader(payloadBytes: payload.count)
        var buffer = channel.allocator.buffer(capacity: 12 + payload.count)
        guard (try? buffer.writeRTPPacket(header, payload: ByteBuffer(bytes: payload))) != nil else { return }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
        packetsSent += 1
    }

    private func finishPlayback() {
        guard let current = playback else { return }
        playback = nil
        current.timer?.cancel()
        current.promise.succeed()
    }

    // MARK: Receiving

    fileprivate func received(_ datagram: ByteBuffer, from source: SocketAddress) {
        guard !closed, let packet = try? RTPPacket(parsing: datagram) else { return }
        switch filter.packetReceived(from: source, ssrc: packet.header.ssrc) {
        case .dropUnexpectedSource:
            strangerPackets += 1
            return
        case .dropForeignSSRC:
            return
        case .ssrcChanged:
            reception = nil
        case .accept, .latched:
            break
        }
        packetsReceived += 1
        if reception == nil { reception = RTPReceiverStatistics(firstSequenceNumber: packet.header.sequenceNumber) }
        // Arrival in the source's timestamp units (A.8); the clock's origin does not matter.
        let arrival = UInt32(truncatingIfNeeded: (NIODeadline.now().uptimeNanoseconds / 1_000) &* UInt64(audio.codec.clockRate) / 1_000_000)
        reception?.packetReceived(sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp, arrival: arrival)
        if var events, packet.header.payloadType == events.payloadType {
            if let report = events.packetReceived(packet.header, payload: packet.payload), let digit = report.digit,
               let keyed = Media.DTMFDigit(rawValue: digit.rawValue) {
                digitContinuation.yield(KeyedDigit(digit: keyed, source: .rfc4733))
            }
            self.events = events
            return
        }
        guard packet.header.payloadType == audio.payloadType else { return }
        let pcm = decoder.decode(Array(packet.payload.readableBytesView))
        for detection in detector.process(pcm) {
            digitContinuation.yield(KeyedDigit(digit: detection.digit, source: .inBand))
        }
    }
}

/// Lets the channel handler reach the session made after the bind.
private final class SessionBox: @unchecked Sendable {
    var session: MediaSession?
}

private final class RTPInboundHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let box: SessionBox

    init(box: SessionBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        box.session?.received(envelope.data, from: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP unreachable from a peer that went away: keep the socket.
    }
}
