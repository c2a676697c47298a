// MediaSession: one call's RTP stream (RFC 3550) on SwiftNIO: prompts sent as ptime-long packets on
// their deadlines (RTPPacer), and keys heard three ways — RFC 4733 telephone-events, in-band tones
// (Goertzel detector on the decoded audio) — delivered in arrival order. Which sources are heard
// and where our RTP goes is the `RTPSourceFilter`'s decision (the SDP's address, or the latched one,
// RFC 4961). The socket is never `connect`ed: the kernel would drop a latchable source's packets.
// A destination the socket cannot send to (another family, off loopback from loopback) is not
// written to at all, since a failed send would close the socket. The pure parts (packets, pacing,
// filters, detectors, codecs) live in the RTP and Media targets; this is the thin shell.
// With SRTP (RFC 3711, keys from SDES) every datagram is protected as it leaves and unprotected as
// it arrives, before anything reads it: a packet that fails authentication or replay is counted
// and dropped, so it can neither be heard nor latch (RFC 4961) our media elsewhere.
// RTCP (RFC 3550 §6) runs on port + 1 (§11): SR or RR with SDES CNAME at the `RTCPScheduler`'s
// times, a BYE at close; the peer's reports give the round-trip time (§6.4.1). Every RTCP datagram
// passes `sendRTCP` / `receivedRTCP`, the one place an SRTCP layer (RFC 3711 §3.4) wraps them.

import Foundation
import GatewayProtocol
import Logging
import Media
import NIOCore
import NIOPosix
import RTP
import SDP
import Synchronization

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
    public var port: Int { sockets.port }
    /// What offer/answer agreed.
    public let audio: NegotiatedAudio
    /// Keys heard, in order; finishes on `close()`.
    public let digits: AsyncStream<KeyedDigit>
    /// The call's sockets and port, closed and returned by `close()`.
    private let sockets: RTPSockets
    private var channel: Channel { sockets.channel }
    /// The loop-confined state; nil only between the bind (`RTPSockets`) and `open` returning.
    private var box: NIOLoopBoundBox<MediaRunner?> { sockets.box }
    private let finalQuality = Mutex<CallMediaQuality?>(nil)

    /// The received audio's figures (loss, jitter, round-trip time), once `close()` has returned;
    /// for the call's audit trail (`call_ended.media`).
    public var quality: CallMediaQuality? { finalQuality.withLock { $0 } }

    private init(sockets: RTPSockets, audio: NegotiatedAudio, digits: AsyncStream<KeyedDigit>) {
        self.sockets = sockets
        self.audio = audio
        self.digits = digits
    }

    /// Starts the call's media on `sockets` (bound by `RTPSockets.bind` before the SDP named their
    /// port): from here on received datagrams are heard. Throws when the remote address is not an IP
    /// or the negotiated SRTP cannot be keyed; the sockets are then closed and the port returned.
    /// `latching` and `signalling` (the SIP peer's address) decide which sources are heard and where
    /// our RTP goes (`RTPSourceFilter`, RFC 4961). Received audio goes through an adaptive jitter
    /// buffer (`AudioPlayout`) before the in-band DTMF detector.
    public static func open(
        _ sockets: RTPSockets, audio: NegotiatedAudio, latching: RTPLatching = .off, signalling: SocketAddress? = nil,
        statistics: MediaStatistics? = nil, logger: Logger
    ) async throws -> MediaSession {
        let (digits, continuation) = AsyncStream.makeStream(of: KeyedDigit.self)
        do {
            let remote = try SocketAddress(ipAddress: audio.remoteAddress, port: Int(audio.remotePort))
            let box = sockets.box
            // Made on the loop, where it stays; datagrams that came before are dropped, as before a bind.
            try await sockets.channel.eventLoop.submit {
                let filter = RTPSourceFilter(expected: remote, latching: latching, signalling: signalling)
                let runner = try MediaRunner(channel: sockets.channel, rtcp: sockets.rtcp, audio: audio, filter: filter, statistics: statistics,
                                             digits: continuation, logger: logger)
                box.value = runner
                runner.startPlayout()
            }.get()
            statistics?.sessionOpened()
            return MediaSession(sockets: sockets, audio: audio, digits: digits)
        } catch {
            continuation.finish()
            await sockets.close()
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
        let closed = try? await channel.eventLoop.submit { box.value?.close() }.get()
        guard let quality = closed ?? nil else { return }
        finalQuality.withLock { $0 = quality }
        await sockets.close()
    }
}

/// The event-loop-confined half of a `MediaSession`: the sender, filters, detectors, playback and
/// counters. Reached only through the session's `NIOLoopBoundBox`.
final class MediaRunner {
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
    /// RTCP compound packets sent and received from the peer; round-trip times measured (seconds).
    private var rtcpReportsSent = 0
    private var rtcpReportsReceived = 0
    private var roundTrips: [Double] = []
    /// Packets sent, received (accepted) and dropped as coming from a stranger.
    private var packetsSent = 0
    private var packetsReceived = 0
    private var strangerPackets = 0
    /// SRTP contexts when the call negotiated SRTP (RFC 4568): we protect with ours, unprotect with
    /// the peer's. Freed at close, so the derived keys are cleansed then (after it nothing is sent).
    private var srtp: (inbound: SRTPContext, outbound: SRTPContext)?
    /// Datagrams that failed SRTP authentication or replay, dropped before anything read them.
    private var srtpRejected = 0
    /// RTCP datagrams that failed SRTCP unprotection (RFC 3711 §3.4).
    private var srtcpRejected = 0
    /// Punctuality of what this session sent, added to `statistics` once, at close.
    private var punctuality = MediaStatistics.SessionCounts()
    /// Loss and jitter of what the negotiated source sent (RFC 3550 A.1, A.3, A.8).
    private var reception: RTPReceiverStatistics?
    /// The SSRC of the peer's RTP, once heard.
    private var peerSSRC: UInt32?

    /// RTCP (RFC 3550 §6): the socket on port + 1, the report times, and what the reports need.
    private let rtcp: Channel?
    private var rtcpScheduler: RTCPScheduler
    private var rtcpTimer: Scheduled<Void>?
    private var random = SystemRandomNumberGenerator()
    /// Whether we sent RTP since the last report (SR rather than RR, §6.4).
    private var sentSinceReport = false
    /// The peer's last SR: its middle NTP bits and when it came, for our LSR/DLSR (§6.4.1).
    private var peerSR: (middle: UInt32, at: Duration)?
    /// SDES CNAME (§6.5.1): random per session, as RFC 7022 §4.2 recommends.
    private let cname: String

    private struct Playback {
        var player: PromptPlayer
        var pacer: RTPPacer
        var promise: EventLoopPromise<Void>
        var timer: Scheduled<Void>?
    }

    init(channel: Channel, rtcp: Channel?, audio: NegotiatedAudio, filter: RTPSourceFilter, statistics: MediaStatistics?,
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
        self.rtcp = rtcp
        // Session bandwidth (RFC 3550 §6.2): the codec's bit rate with IP/UDP/RTP headers.
        let bandwidth: Double = audio.codec == .opus ? 64_000 : 80_000
        rtcpScheduler = RTCPScheduler(sessionBandwidth: bandwidth, now: Self.now(), random: Double.random(in: 0..<1, using: &generator))
        cname = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 16) + "@verigate"
        if let agreed = audio.srtp {
            guard let suite = SRTPContext.Suite(rawValue: agreed.suite.rawValue) else { throw RTPError(.srtpBadSuite, agreed.suite.rawValue) }
            srtp = (try SRTPContext(suite: suite, direction: .inbound, masterKey: agreed.remoteKey.bytes),
                    try SRTPContext(suite: suite, direction: .outbound, masterKey: agreed.localKey.bytes))
            logger.info("rtp.srtp", metadata: ["suite": "\(suite.rawValue)"])
        } else {
            srtp = nil
        }
        sendTo(filter.destination)
    }

    /// Starts the RTCP timer. The playout clock starts with the first audio packet: it then ticks
    /// once per ptime from the event loop rather than on packet arrival, since a buffer is emptied
    /// on its own schedule, so the last frames of a tone still reach the detector when the sender
    /// pauses or its packets are late, which arrival-driven playout would hold back until the next
    /// packet. It stops while the buffer is idle (the sender paused, or sends no audio), so calls
    /// without incoming audio cost no timer. `AudioPlayout.tick` plays every frame due, so a late
    /// tick catches up; its clock is an input (tests use a manual one).
    func startPlayout() {
        scheduleRTCP(at: rtcpScheduler.nextExpiry)
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
        if playout.isIdle { playoutTimer = nil } else { schedulePlayout() }
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

    /// Stops everything, adds the counts to `statistics` and returns the call's figures; nil when already closed.
    func close() -> CallMediaQuality? {
        guard !closed else { return nil }
        playoutTimer?.cancel()
        playoutTimer = nil
        rtcpTimer?.cancel()
        rtcpTimer = nil
        sendReport(bye: true)  // RFC 3550 §6.6: a BYE when leaving, after a last report
        closed = true
        finishPlayback()
        digits.finish()
        punctuality.packetsSent = packetsSent
        punctuality.packetsReceived = packetsReceived
        punctuality.strangerPackets = strangerPackets
        punctuality.srtp = audio.srtp != nil
        punctuality.srtpRejectedPackets = srtpRejected
        punctuality.srtcpRejectedPackets = srtcpRejected
        srtp = nil
        if srtpRejected > 0 || srtcpRejected > 0 {
            logger.warning("rtp.srtp.rejected", metadata: ["packets": "\(srtpRejected)", "rtcp_packets": "\(srtcpRejected)"])
        }
        punctuality.rtcpReportsSent = rtcpReportsSent
        punctuality.rtcpReportsReceived = rtcpReportsReceived
        punctuality.roundTripSeconds = roundTrips
        if let reception, reception.isValid {
            punctuality.packetsLost = Int(reception.cumulativeLost)
            punctuality.jitterSeconds = Double(reception.jitter) / Double(audio.codec.clockRate)
        }
        statistics?.sessionClosed(punctuality)
        return CallMediaQuality(packetsReceived: packetsReceived, packetsLost: punctuality.packetsLost, jitterSeconds: punctuality.jitterSeconds,
                                roundTripSeconds: roundTrips.isEmpty ? nil : roundTrips.reduce(0, +) / Double(roundTrips.count))
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
        // Room for the SRTP tag too, so protecting in place does not reallocate the packet.
        var buffer = channel.allocator.buffer(capacity: 12 + payload.count + (srtp == nil ? 0 : SRTPContext.maxTrailer))
        guard (try? buffer.writeRTPPacket(header, payload: ByteBuffer(bytes: payload))) != nil else { return }
        guard canSend, protectRTP(&buffer) else { return }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
        packetsSent += 1
        sentSinceReport = true
    }

    /// Ends the prompt playing, if any, and completes its `play`.
    func finishPlayback() {
        guard let current = playback else { return }
        playback = nil
        current.timer?.cancel()
        current.promise.succeed()
    }

    // MARK: Receiving

    // MARK: SRTP (RFC 3711): at the socket boundary, and for the RTCP code

    /// Protects an RTP packet we are about to send; false (drop it) when SRTP fails. No-op without SRTP.
    func protectRTP(_ buffer: inout ByteBuffer) -> Bool {
        guard let srtp else { return audio.srtp == nil }  // an SRTP call sends nothing once its keys are gone
        return (try? srtp.outbound.protectRTP(&buffer)) != nil
    }

    /// Protects an RTCP compound packet we are about to send (SRTCP, RFC 3711 §3.4); false: drop it.
    func protectRTCP(_ buffer: inout ByteBuffer) -> Bool {
        guard let srtp else { return audio.srtp == nil }
        return (try? srtp.outbound.protectRTCP(&buffer)) != nil
    }

    /// Unprotects a received SRTCP packet; false (and counted apart from RTP: some peers send plain
    /// RTCP keep-alives, e.g. libre's APP "PING", on SRTP calls): drop it unread.
    func unprotectRTCP(_ buffer: inout ByteBuffer) -> Bool {
        guard let srtp else { return audio.srtp == nil }
        guard (try? srtp.inbound.unprotectRTCP(&buffer)) != nil else {
            srtcpRejected += 1
            return false
        }
        return true
    }

    /// An RTP datagram from `source`.
    func received(_ datagram: ByteBuffer, from source: SocketAddress) {
        guard !closed else { return }
        var datagram = datagram
        if let srtp {
            // Before the source filter: an unauthenticated packet must not latch (RFC 4961, RFC 3711 §3.3).
            guard (try? srtp.inbound.unprotectRTP(&datagram)) != nil else {
                srtpRejected += 1
                return
            }
        }
        guard let packet = try? RTPPacket(parsing: datagram) else { return }
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
            peerSR = nil
        case .latched(let address):
            logger.info("rtp.latched", metadata: ["source": "\(address)", "announced": "\(filter.expected)", "latching": "\(filter.latching.rawValue)"])
            sendTo(address)
        case .accept:
            break
        }
        packetsReceived += 1
        peerSSRC = packet.header.ssrc
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
        if playoutTimer == nil { schedulePlayout() }
    }
}

extension MediaRunner {
    // MARK: RTCP (RFC 3550 §6)

    /// Round-trip samples one session keeps (a peer reporting too often cannot grow memory).
    static let maxRoundTrips = 100

    private static func unixNanoseconds() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
    }

    private func scheduleRTCP(at deadline: Duration) {
        guard rtcp != nil, !closed else { return }
        let wait = max(0, (deadline - Self.now()).nanoseconds)
        rtcpTimer = channel.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(wait)) { self.rtcpExpired() }
    }

    private func rtcpExpired() {
        guard !closed else { return }
        let now = Self.now()
        switch rtcpScheduler.expired(now: now, weSent: sentSinceReport, random: Double.random(in: 0..<1, using: &random)) {
        case .wait(let until):
            scheduleRTCP(at: until)
        case .sendNow:
            let weSent = sentSinceReport
            let octets = sendReport(bye: false)
            scheduleRTCP(at: rtcpScheduler.sent(octets: octets, now: now, weSent: weSent, random: Double.random(in: 0..<1, using: &random)))
        }
    }

    /// Sends one compound packet: SR when we sent RTP since the last report, else RR (§6.4), with
    /// a reception block on the peer's stream once it is valid (A.1), SDES CNAME (§6.1), and a BYE
    /// when `bye`. Returns its size.
    @discardableResult
    private func sendReport(bye: Bool) -> Int {
        guard rtcp != nil else { return 0 }
        var blocks: [RTCPReportBlock] = []
        if let peerSSRC, var stream = reception, stream.isValid {
            var lastSR: UInt32 = 0, delay: UInt32 = 0
            if let peerSR {
                lastSR = peerSR.middle
                delay = UInt32(clamping: (Self.now() - peerSR.at).nanoseconds * 65_536 / 1_000_000_000)
            }
            blocks.append(stream.makeReportBlock(ssrc: peerSSRC, lastSR: lastSR, delaySinceLastSR: delay))
            reception = stream
        }
        let first: RTCPPacket
        if sentSinceReport {
            // The RTP timestamp of the last packet sent stands for "now" (§6.4.1 allows the
            // approximation; no receiver here synchronizes streams by it).
            first = .senderReport(RTCPSenderReport(
                ssrc: sender.ssrc, ntpTimestamp: NTPTime.timestamp(unixNanoseconds: Self.unixNanoseconds()), rtpTimestamp: sender.timestamp,
                packetCount: sender.packetCount, octetCount: sender.octetCount, reports: blocks))
        } else {
            first = .receiverReport(ssrc: sender.ssrc, reports: blocks)
        }
        sentSinceReport = false
        var packets = [first, .sourceDescription([RTCPSourceDescription(ssrc: sender.ssrc, cname: cname)])]
        if bye { packets.append(.bye(ssrcs: [sender.ssrc], reason: nil)) }
        var buffer = channel.allocator.buffer(capacity: 128 + SRTPContext.maxTrailer)
        guard (try? RTCPCompoundPacket.write(packets, into: &buffer)) != nil else { return 0 }
        let size = buffer.readableBytes
        sendRTCP(buffer)
        return size
    }

    /// Every RTCP datagram we send leaves here, as SRTCP when the call is SRTP (RFC 3711 §3.4): to
    /// the port the peer's SDP names for RTCP (`a=rtcp`, RFC 3605; RTP's + 1 without it, RFC 3550
    /// §11) while our RTP goes to the SDP's address, to the latched address's port + 1 once latched
    /// elsewhere (RFC 4961).
    func sendRTCP(_ bytes: ByteBuffer) {
        var bytes = bytes
        guard let rtcp, canSend, let ip = destination.ipAddress, let port = destination.port else { return }
        let rtcpPort = destination == filter.expected ? Int(audio.remoteRTCPPort) : port + 1
        guard let address = try? SocketAddress(ipAddress: ip, port: rtcpPort), protectRTCP(&bytes) else { return }
        rtcp.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: bytes), promise: nil)
        rtcpReportsSent += 1
    }

    /// Every RTCP datagram received arrives here; on an SRTP call it is SRTCP, authenticated and
    /// decrypted before it is read (a forgery is counted and dropped, RFC 3711 §3.4).
    /// Only the call's peer is heard: the host our RTP goes to (SDP's or latched); strangers' and
    /// malformed reports are dropped. SR: remembered for our LSR/DLSR. A report block on our SSRC
    /// with an LSR gives the round-trip time (§6.4.1).
    func receivedRTCP(_ datagram: ByteBuffer, from source: SocketAddress) {
        var datagram = datagram
        guard !closed, source.ipAddress == destination.ipAddress, unprotectRTCP(&datagram),
              let packets = try? RTCPCompoundPacket.parse(datagram) else { return }
        let now = Self.now()
        let arrival = NTPTime.middle(NTPTime.timestamp(unixNanoseconds: Self.unixNanoseconds()))
        var heard = false
        for packet in packets {
            let blocks: [RTCPReportBlock]
            switch packet {
            case .senderReport(let report):
                guard peerSSRC == nil || report.ssrc == peerSSRC else { continue }
                peerSR = (report.middleNTP, now)
                blocks = report.reports
            case .receiverReport(let ssrc, let reports):
                guard peerSSRC == nil || ssrc == peerSSRC else { continue }
                blocks = reports
            case .bye(let ssrcs, _):
                if let peerSSRC, ssrcs.contains(peerSSRC) { logger.debug("rtcp.bye", metadata: ["ssrc": "\(peerSSRC)"]) }
                continue
            default:
                continue
            }
            heard = true
            for block in blocks where block.ssrc == sender.ssrc {
                if roundTrips.count < Self.maxRoundTrips, let rtt = NTPTime.roundTrip(arrival: arrival, lastSR: block.lastSR, delaySinceLastSR: block.delaySinceLastSR) {
                    roundTrips.append(Double(rtt.nanoseconds) / 1e9)
                }
            }
        }
        if heard { rtcpReportsReceived += 1 }
    }
}

/// Hands one socket's datagrams to the runner: RTP (`received`) or RTCP (`receivedRTCP`).
final class MediaInboundHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let box: NIOLoopBoundBox<MediaRunner?>
    private let isRTCP: Bool

    init(box: NIOLoopBoundBox<MediaRunner?>, isRTCP: Bool) {
        self.box = box
        self.isRTCP = isRTCP
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if isRTCP {
            box.value?.receivedRTCP(envelope.data, from: envelope.remoteAddress)
        } else {
            box.value?.received(envelope.data, from: envelope.remoteAddress)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP unreachable from a peer that went away: keep the socket.
    }
}
