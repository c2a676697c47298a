// MediaSession: one call's RTP stream (RFC 3550) on SwiftNIO: prompts sent as 20 ms packets on
// their deadlines (RTPPacer), and keys heard three ways — RFC 4733 telephone-events, in-band tones
// (Goertzel detector on the decoded audio) — delivered in arrival order. Which sources are heard
// and where our RTP goes is the `RTPSourceFilter`'s decision (the SDP's address, or the latched one,
// RFC 4961). The socket is never `connect`ed: the kernel would drop a latchable source's packets.
// A destination the socket cannot send to (another family, off loopback from loopback) is not
// written to at all, since a failed send would close the socket. The pure parts (packets, pacing,
// filters, detectors, codecs) live in the RTP and Media targets; this is the thin shell.

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

/// The RTP side of one call. Its mutable state lives in a `MediaRunner` confined to the channel's
/// event loop by a `NIOLoopBoundBox`, so the class is checked `Sendable`; the public methods may be
/// called anywhere.
public final class MediaSession: Sendable {
    /// The local RTP port.
    public let port: Int
    /// What offer/answer agreed.
    public let audio: NegotiatedAudio
    /// Keys heard, in order; finishes on `close()`.
    public let digits: AsyncStream<KeyedDigit>
    private let channel: Channel
    private let allocator: RTPPortAllocator
    /// The loop-confined state; nil only between the bind and `open` returning.
    private let box: NIOLoopBoundBox<MediaRunner?>

    private init(channel: Channel, port: Int, audio: NegotiatedAudio, allocator: RTPPortAllocator, digits: AsyncStream<KeyedDigit>, box: NIOLoopBoundBox<MediaRunner?>) {
        self.channel = channel
        self.port = port
        self.audio = audio
        self.allocator = allocator
        self.digits = digits
        self.box = box
    }

    /// Binds `port` on `host` and starts receiving. Throws when the remote address is not an IP.
    /// `latching` and `signalling` (the SIP peer's address) decide which sources are heard and where
    /// our RTP goes (`RTPSourceFilter`, RFC 4961). Received audio goes through an adaptive jitter
    /// buffer (`AudioPlayout`) before the in-band DTMF detector.
    public static func open(
        host: String, port: Int, audio: NegotiatedAudio, allocator: RTPPortAllocator, eventLoop: EventLoop,
        latching: RTPLatching = .off, signalling: SocketAddress? = nil, statistics: MediaStatistics? = nil, logger: Logger
    ) async throws -> MediaSession {
        let remote = try SocketAddress(ipAddress: audio.remoteAddress, port: Int(audio.remotePort))
        let box = NIOLoopBoundBox<MediaRunner?>.makeEmptyBox(eventLoop: eventLoop)
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RTPInboundHandler(box: box)) }
            }
            .bind(host: host, port: port).get()
        let (digits, continuation) = AsyncStream.makeStream(of: KeyedDigit.self)
        do {
            // Made on the loop, where it stays; datagrams that came before are dropped, as before a bind.
            try await eventLoop.submit {
                let filter = RTPSourceFilter(expected: remote, latching: latching, signalling: signalling)
                let runner = try MediaRunner(channel: channel, audio: audio, filter: filter, statistics: statistics, digits: continuation, logger: logger)
                box.value = runner
                runner.startPlayout()
            }.get()
            statistics?.sessionOpened()
            return MediaSession(channel: channel, port: port, audio: audio, allocator: allocator, digits: digits, box: box)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Plays `player` to the end (or until `stopPlayback()`/`close()`), one packet per ptime.
    public func play(_ player: PromptPlayer) async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let box = self.box
        channel.eventLoop.execute {
            guard let runner = box.value else { return promise.succeed() }
            runner.play(player, promise: promise)
        }
        try? await promise.futureResult.get()
    }

    /// Stops the prompt playing now.
    public func stopPlayback() {
        let box = self.box
        channel.eventLoop.execute { box.value?.finishPlayback() }
    }

    /// Where our RTP goes now: the SDP's address, or the latched one (RFC 4961).
    public var destination: SocketAddress? {
        get async { try? await channel.eventLoop.submit { self.box.value?.destination }.get() }
    }

    /// Whether a socket bound to `local` can send to `destination` without failing (which would
    /// close it): the same family (an IPv6 wildcard socket also reaches IPv4), and from a loopback
    /// address only loopback (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3).
    static func canSend(from local: SocketAddress, to destination: SocketAddress) -> Bool {
        switch (local, destination) {
        case (.v4, .v4):
            return !isLoopback(local) || isLoopback(destination)
        case (.v6, .v6):
            return !isLoopback(local) || isLoopback(destination)
        case (.v6, .v4):
            return local.ipAddress == "::"
        default:
            return false
        }
    }

    private static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr.s_addr) { $0.first == 127 }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { $0.prefix(15).allSatisfy { $0 == 0 } && $0[15] == 1 }
        case .unixDomainSocket: return false
        }
    }

    /// Stops everything, closes the socket and returns the port.
    public func close() async {
        let box = self.box
        let wasOpen = (try? await channel.eventLoop.submit { box.value?.close() ?? false }.get()) ?? false
        guard wasOpen else { return }
        try? await channel.close()
        allocator.release(port)
    }
}

/// The event-loop-confined half of a `MediaSession`: the sender, filters, detectors, playback and
/// counters. Reached only through the session's `NIOLoopBoundBox`.
private final class MediaRunner {
    private let channel: Channel
    private let audio: NegotiatedAudio
    private let statistics: MediaStatistics?
    private let digits: AsyncStream<KeyedDigit>.Continuation
    private let logger: Logger
    /// Where RTP goes now, and whether our socket can send there (`MediaSession.canSend`).
    private(set) var destination: SocketAddress
    private var canSend: Bool

    private var sender: RTPSender
    private var filter: RTPSourceFilter
    private var events: TelephoneEventReceiver?
    /// Jitter buffer, decoder and in-band detector of the received audio.
    private var playout: AudioPlayout
    /// The playout clock: one tick per ptime while the session is open.
    private var playoutTimer: Scheduled<Void>?
    private var playback: Playback?
    private var closed = false
    /// Packets sent, received (accepted) and dropped as coming from a stranger.
    private var packetsSent = 0
    private var packetsReceived = 0
    private var strangerPackets = 0
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

    init(channel: Channel, audio: NegotiatedAudio, filter: RTPSourceFilter, statistics: MediaStatistics?,
         digits: AsyncStream<KeyedDigit>.Continuation, logger: Logger) throws {
        self.channel = channel
        self.audio = audio
        self.statistics = statistics
        self.digits = digits
        self.logger = logger
        self.filter = filter
        destination = filter.destination
        canSend = false
        var generator = SystemRandomNumberGenerator()
        let samplesPerPacket = UInt32(audio.codec.clockRate * audio.ptime / 1000)
        sender = RTPSender(payloadType: audio.payloadType, samplesPerPacket: samplesPerPacket, using: &generator)
        events = audio.telephoneEventPayloadType.map(TelephoneEventReceiver.init(payloadType:))
        playout = AudioPlayout(decoder: try PromptStore.makeCodec(audio.codec), frameDuration: .milliseconds(audio.ptime))
        sendTo(filter.destination)
    }

    /// Starts the playout clock. It ticks once per ptime from the event loop for the whole call
    /// rather than on packet arrival: a buffer is emptied on its own schedule, so the last frames
    /// of a tone still reach the detector when the sender pauses or its packets are late, which
    /// arrival-driven playout would hold back until the next packet. `AudioPlayout.tick` plays every
    /// frame due, so a late tick catches up; its clock is an input (tests use a manual one).
    func startPlayout() {
        schedulePlayout()
    }

    private func schedulePlayout() {
        let interval = playout.frameDuration
        playoutTimer = channel.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(interval.nanoseconds)) { self.playoutTick() }
    }

    private func playoutTick() {
        guard !closed else { return }
        for detection in playout.tick(now: Self.now()) {
            digits.yield(KeyedDigit(digit: detection.digit, source: .inBand))
        }
        schedulePlayout()
    }

    /// Sends from now on to `address`, if the socket can reach it; says so once when it cannot.
    private func sendTo(_ address: SocketAddress) {
        destination = address
        canSend = channel.localAddress.map { MediaSession.canSend(from: $0, to: address) } ?? false
        if !canSend {
            logger.warning("rtp.destination_unreachable", metadata: [
                "destination": "\(address)", "local": "\(channel.localAddress.map { "\($0)" } ?? "none")", "latching": "\(filter.latching.rawValue)",
            ])
        }
    }

    /// Starts `player`, ending any prompt playing; `promise` succeeds when it ends.
    func play(_ player: PromptPlayer, promise: EventLoopPromise<Void>) {
        guard !closed else { return promise.succeed() }
        finishPlayback()
        let start = Self.now()
        // A prompt carries a code: after a stall, catch up with a burst of up to 200 ms (a
        // jitter buffer absorbs it) rather than drop audio; only longer stalls skip frames.
        let pacer = RTPPacer(start: start, interval: .milliseconds(audio.ptime), maxBurst: 10)
        playback = Playback(player: player, pacer: pacer, promise: promise, timer: nil)
        tick()
    }

    /// Stops everything and adds the counts to `statistics`; false when already closed.
    func close() -> Bool {
        guard !closed else { return false }
        closed = true
        playoutTimer?.cancel()
        playoutTimer = nil
        finishPlayback()
        digits.finish()
        punctuality.packetsSent = packetsSent
        punctuality.packetsReceived = packetsReceived
        punctuality.strangerPackets = strangerPackets
        if let reception, reception.isValid {
            punctuality.packetsLost = Int(reception.cumulativeLost)
            punctuality.jitterSeconds = Double(reception.jitter) / Double(audio.codec.clockRate)
        }
        statistics?.sessionClosed(punctuality)
        return true
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
        current.timer = channel.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(max(0, wait.nanoseconds))) { self.tick() }
        playback = current
    }

    private func send(_ payload: [UInt8]) {
        let header = sender.nextAudioHeader(payloadBytes: payload.count)
        var buffer = channel.allocator.buffer(capacity: 12 + payload.count)
        guard (try? buffer.writeRTPPacket(header, payload: ByteBuffer(bytes: payload))) != nil else { return }
        guard canSend else { return }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
        packetsSent += 1
    }

    /// Ends the prompt playing, if any, and completes its `play`.
    func finishPlayback() {
        guard let current = playback else { return }
        playback = nil
        current.timer?.cancel()
        current.promise.succeed()
    }

    // MARK: Receiving

    /// An RTP datagram from `source`.
    func received(_ datagram: ByteBuffer, from source: SocketAddress) {
        guard !closed, let packet = try? RTPPacket(parsing: datagram) else { return }
        // Only RTP of a negotiated payload type may latch or count (RTPSourceFilter).
        guard packet.header.payloadType == audio.payloadType || packet.header.payloadType == events?.payloadType else { return }
        switch filter.packetReceived(from: source, ssrc: packet.header.ssrc) {
        case .dropUnexpectedSource:
            strangerPackets += 1
            return
        case .dropForeignSSRC:
            return
        case .ssrcChanged:
            reception = nil
        case .latched(let address):
            logger.info("rtp.latched", metadata: ["source": "\(address)", "announced": "\(filter.expected)", "latching": "\(filter.latching.rawValue)"])
            sendTo(address)
        case .accept:
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
                digits.yield(KeyedDigit(digit: keyed, source: .rfc4733))
            }
            self.events = events
            return
        }
        guard packet.header.payloadType == audio.payloadType else { return }
        let payload = Array(packet.payload.readableBytesView)
        playout.packetReceived(ssrc: packet.header.ssrc, sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                               arrival: Self.now(), payload: payload)
    }
}

private final class RTPInboundHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let box: NIOLoopBoundBox<MediaRunner?>

    init(box: NIOLoopBoundBox<MediaRunner?>) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        box.value?.received(envelope.data, from: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP unreachable from a peer that went away: keep the socket.
    }
}
