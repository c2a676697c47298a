/// An adaptive playout (jitter) buffer for one received audio stream.
///
/// Packets go in as they arrive (`packetReceived`); the playout clock takes one frame per packet
/// time (`nextFrame(now:)`) and gets a frame, a `.conceal` instruction (the decoder side turns it
/// into Opus PLC, Opus FEC from `next`, or G.711 repetition with fade), or `.empty` (nothing to
/// play yet: play silence). The buffer knows no codec.
///
/// - Target delay: from the spread of relative transit times (arrival − RTP timestamp, the quantity
///   RFC 3550 A.8 builds jitter from) over a sliding window, plus half a frame, clamped to
///   `minimumDelay…maximumDelay` (20–200 ms by default). It rises at once and falls slowly.
/// - The actual delay is measured at each playout against the transit baseline (the window
///   minimum), so a sender clock that runs fast or slow shows up as growing or shrinking delay;
///   the buffer drops a frame when the delay is two frames above target and inserts a concealment
///   frame when it is below target, at most once per `adaptationInterval` frames.
/// - Reorders by timestamp; drops duplicates and packets whose playout time has passed; conceals
///   gaps; starts a new timeline (continuing after the frames still queued) on SSRC change, on a timestamp jump (timestamps move far from what the
///   sequence numbers imply), and after a long underrun (the sender paused).
///
/// Pure value; time is an input (`Duration` on any monotonic clock). Storage is a fixed ring,
/// allocated once. Hand-written: no Swift jitter buffer library exists in the package mirror.
public struct JitterBuffer<Payload: Sendable>: Sendable {
    /// Tuning.
    public struct Configuration: Equatable, Sendable {
        /// RTP clock rate in Hz.
        public var clockRate: Int
        /// Timestamp units per frame (160 for 20 ms at 8 kHz, 960 for 20 ms Opus).
        public var samplesPerFrame: Int
        /// Lowest target delay.
        public var minimumDelay: Duration
        /// Highest target delay.
        public var maximumDelay: Duration
        /// Frames the ring holds; must cover `maximumDelay` plus bursts.
        public var capacity: Int
        /// Packets in the transit window used to estimate jitter.
        public var jitterWindow: Int
        /// Consecutive concealed frames with an empty buffer after which the stream is treated as
        /// paused and the next packet starts it again.
        public var maximumConcealment: Int
        /// Frames between two delay adjustments (drop or insert).
        public var adaptationInterval: Int
        /// A timestamp step this far (in frames) from what the sequence numbers imply is a jump.
        public var jumpFrames: Int

        /// Creates a configuration; defaults suit 20 ms frames.
        public init(clockRate: Int = 8000, samplesPerFrame: Int = 160, minimumDelay: Duration = .milliseconds(20), maximumDelay: Duration = .milliseconds(200),
                    capacity: Int = 64, jitterWindow: Int = 64, maximumConcealment: Int = 10, adaptationInterval: Int = 5, jumpFrames: Int = 50) {
            self.clockRate = max(1, clockRate)
            self.samplesPerFrame = max(1, samplesPerFrame)
            self.minimumDelay = minimumDelay
            self.maximumDelay = maximumDelay
            self.capacity = max(4, capacity)
            self.jitterWindow = max(2, jitterWindow)
            self.maximumConcealment = max(1, maximumConcealment)
            self.adaptationInterval = max(1, adaptationInterval)
            self.jumpFrames = max(2, jumpFrames)
        }
    }

    /// What the playout clock gets.
    public enum Output: Sendable {
        /// Decode and play this frame.
        case frame(Payload, timestamp: UInt32)
        /// No frame for this slot: conceal. `next` is the following frame when it is already here
        /// (Opus can decode its in-band FEC for the missing one).
        case conceal(timestamp: UInt32, next: Payload?)
        /// Nothing to play (not started, or the sender paused): play silence or comfort noise.
        case empty
    }

    /// What happened to a packet.
    public enum PacketVerdict: Equatable, Sendable {
        /// Stored for playout.
        case buffered
        /// Stored, after flushing the buffer and starting a new timeline.
        case resynchronized(ResyncReason)
        /// Dropped: the same frame is already buffered.
        case duplicate
        /// Dropped: its playout time has passed.
        case late
        /// Dropped: beyond the buffer's capacity ahead of playout.
        case tooEarly
    }

    /// Why the buffer started a new timeline.
    public enum ResyncReason: Equatable, Sendable {
        /// The first packet.
        case start
        /// A new SSRC (RFC 3550 §8.2: a restarted or replaced sender).
        case ssrcChanged
        /// Timestamps jumped away from what the sequence numbers imply.
        case timestampJump
        /// The buffer ran dry for `maximumConcealment` frames (sender paused).
        case underrun
    }

    /// Counters.
    public struct Statistics: Equatable, Sendable {
        /// Packets given to `packetReceived`.
        public var received = 0
        /// Frames played.
        public var played = 0
        /// Concealment frames for missing packets.
        public var concealed = 0
        /// Packets dropped as late.
        public var late = 0
        /// Packets dropped as duplicates.
        public var duplicates = 0
        /// Packets dropped as too early.
        public var tooEarly = 0
        /// Frames dropped to reduce delay.
        public var droppedForDelay = 0
        /// Concealment frames inserted to add delay.
        public var insertedForDelay = 0
        /// Buffered frames discarded by resynchronizations.
        public var flushed = 0
        /// Resynchronizations (including the start).
        public var resyncs = 0
    }

    private struct Slot: Sendable {
        var frame: Int64
        var timestamp: UInt32
        var payload: Payload
    }

    private struct Last: Equatable, Sendable {
        var ssrc: UInt32
        var sequenceNumber: UInt16
        var frame: Int64
    }

    private enum State: Equatable, Sendable {
        case idle
        case buffering(startAt: Int64)  // arrival-clock samples at which playout starts
        case playing
    }

    /// The configuration.
    public let configuration: Configuration
    /// Counters.
    public private(set) var statistics = Statistics()

    private var slots: [Slot?]
    private var state: State = .idle
    private var last: Last?
    private var anchorTimestamp: UInt32 = 0  // timestamp of frame 0 of the current timeline
    private var playoutFrame: Int64 = 0
    private var transits: [Int64]
    private var transitCount = 0
    private var transitNext = 0
    private var transitBase: Int64 = 0
    private var smoothedTarget: Int64
    private var consecutiveEmptyConcealment = 0
    private var framesSinceAdjustment = 0
    private var buffered = 0

    /// Creates an empty buffer.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.slots = Array(repeating: nil, count: configuration.capacity)
        self.transits = Array(repeating: 0, count: configuration.jitterWindow)
        self.smoothedTarget = 0
        self.smoothedTarget = minimumSamples
    }

    // MARK: - Public readings

    /// Frames currently buffered.
    public var bufferedFrames: Int { buffered }

    /// True before the first packet and after the sender paused (nothing to play until the next packet).
    public var isIdle: Bool { state == .idle }

    /// The current target delay.
    public var targetDelay: Duration { duration(samples: smoothedTarget) }

    // MARK: - Input

    /// Stores one packet's payload. `arrival` is the monotonic time it was received.
    public mutating func packetReceived(ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32, arrival: Duration, payload: Payload) -> PacketVerdict {
        statistics.received += 1
        let now = samples(arrival)
        var reason: ResyncReason?
        var frame: Int64 = 0
        if let last, state != .idle {
            frame = frameNumber(timestamp)
            if ssrc != last.ssrc {
                reason = .ssrcChanged
            } else {
                let seqDelta = Int64(Int16(bitPattern: sequenceNumber &- last.sequenceNumber))
                let frameDelta = frame - last.frame
                if abs(frameDelta - seqDelta) > Int64(configuration.jumpFrames) {
                    // Timestamps moved far from what the sequence numbers imply (RFC 3550 §5.1).
                    reason = .timestampJump
                }
            }
        } else {
            reason = last == nil ? .start : .underrun
        }
        if let reason {
            frame = resynchronize(timestamp: timestamp, arrivalSamples: now)
            last = Last(ssrc: ssrc, sequenceNumber: sequenceNumber, frame: frame)
            recordTransit(arrivalSamples: now, frame: frame)
            store(Slot(frame: frame, timestamp: timestamp, payload: payload))
            return .resynchronized(reason)
        }
        if Int16(bitPattern: sequenceNumber &- (last?.sequenceNumber ?? sequenceNumber)) > 0 {
            last = Last(ssrc: ssrc, sequenceNumber: sequenceNumber, frame: frame)
        }
        recordTransit(arrivalSamples: now, frame: frame)

        if frame < playoutFrame {
            // Still buffering: a reordered earlier packet moves the start back instead of being late.
            if case .buffering = state, playoutFrame - frame < Int64(configuration.capacity / 2), frame > playoutFrame - 4 {
                playoutFrame = frame
            } else {
                statistics.late += 1
                return .late
            }
        }
        guard frame < playoutFrame + Int64(configuration.capacity) else {
            statistics.tooEarly += 1
            return .tooEarly
        }
        if let existing = slots[index(frame)], existing.frame == frame {
            statistics.duplicates += 1
            return .duplicate
        }
        store(Slot(frame: frame, timestamp: timestamp, payload: payload))
        return .buffered
    }

    // MARK: - Output

    /// Takes the next frame for playout; call once per frame interval on the playout clock.
    public mutating func nextFrame(now: Duration) -> Output {
        let nowSamples = samples(now)
        switch state {
        case .idle:
            return .empty
        case .buffering(let startAt):
            guard nowSamples >= startAt else { return .empty }
            state = .playing
            framesSinceAdjustment = 0
        case .playing:
            break
        }

        framesSinceAdjustment += 1
        if framesSinceAdjustment >= configuration.adaptationInterval {
            let delay = nowSamples - nominalArrival(of: playoutFrame)
            let spf = Int64(configuration.samplesPerFrame)
            if delay >= smoothedTarget + 2 * spf, buffered > 0 {
                // Too much delay (sender clock fast, or jitter fell): drop the frame due now.
                if take(playoutFrame) != nil { statistics.droppedForDelay += 1 }
                playoutFrame += 1
                framesSinceAdjustment = 0
            } else if delay < smoothedTarget {
                // Too little delay (sender clock slow, or jitter rose): play a concealment frame
                // without advancing, so every later frame plays one frame later.
                framesSinceAdjustment = 0
                statistics.insertedForDelay += 1
                return .conceal(timestamp: timestamp(of: playoutFrame), next: peek(playoutFrame))
            }
        }

        let frame = playoutFrame
        playoutFrame += 1
        if let slot = take(frame) {
            consecutiveEmptyConcealment = 0
            statistics.played += 1
            return .frame(slot.payload, timestamp: slot.timestamp)
        }
        if buffered == 0 {
            consecutiveEmptyConcealment += 1
            if consecutiveEmptyConcealment > configuration.maximumConcealment {
                state = .idle  // the sender paused; the next packet starts a new timeline
                return .empty
            }
        }
        statistics.concealed += 1
        return .conceal(timestamp: timestamp(of: frame), next: peek(frame + 1))
    }

    // MARK: - Internals

    private var minimumSamples: Int64 { samples(configuration.minimumDelay) }
    private var maximumSamples: Int64 { samples(configuration.maximumDelay) }

    private func samples(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let rate = Int64(configuration.clockRate)
        return seconds &* rate &+ (attoseconds / 1_000_000_000) &* rate / 1_000_000_000
    }

    private func duration(samples: Int64) -> Duration {
        .nanoseconds(samples * 1_000_000_000 / Int64(configuration.clockRate))
    }

    private func index(_ frame: Int64) -> Int {
        let capacity = Int64(configuration.capacity)
        return Int(((frame % capacity) + capacity) % capacity)
    }

    /// The frame number of a timestamp on the current timeline (rounded, wrap-aware).
    private func frameNumber(_ timestamp: UInt32) -> Int64 {
        let offset = Int64(Int32(bitPattern: timestamp &- anchorTimestamp))
        let spf = Int64(configuration.samplesPerFrame)
        let shifted = offset + spf / 2
        return shifted >= 0 ? shifted / spf : -((-shifted + spf - 1) / spf)
    }

    private func timestamp(of frame: Int64) -> UInt32 {
        anchorTimestamp &+ UInt32(truncatingIfNeeded: frame &* Int64(configuration.samplesPerFrame))
    }

    private mutating func store(_ slot: Slot) {
        let i = index(slot.frame)
        if slots[i] == nil { buffered += 1 } else { statistics.flushed += 1 }
        slots[i] = slot
    }

    private mutating func take(_ frame: Int64) -> Slot? {
        let i = index(frame)
        guard let slot = slots[i] else { return nil }
        guard slot.frame == frame else {
            if slot.frame < frame {  // a stale frame left behind: discard
                slots[i] = nil
                buffered -= 1
            }
            return nil
        }
        slots[i] = nil
        buffered -= 1
        return slot
    }

    private func peek(_ frame: Int64) -> Payload? {
        guard let slot = slots[index(frame)], slot.frame == frame else { return nil }
        return slot.payload
    }

    /// Relative transit of a packet: arrival minus media time, both in samples (RFC 3550 A.8).
    private mutating func recordTransit(arrivalSamples: Int64, frame: Int64) {
        transits[transitNext] = arrivalSamples - frame * Int64(configuration.samplesPerFrame)
        transitNext = (transitNext + 1) % transits.count
        transitCount = min(transitCount + 1, transits.count)
        let window = transits.prefix(transitCount)
        let base = window.min() ?? 0
        let spread = (window.max() ?? 0) - base
        transitBase = base
        let target = min(max(spread + Int64(configuration.samplesPerFrame) / 2, minimumSamples), maximumSamples)
        if target > smoothedTarget {
            smoothedTarget = target
        } else {  // fall by at most one frame per 50 packets (one second at 20 ms)
            smoothedTarget = max(target, smoothedTarget - max(1, Int64(configuration.samplesPerFrame) / 50))
        }
    }

    /// When frame `frame` would arrive with the least transit seen in the window.
    private func nominalArrival(of frame: Int64) -> Int64 {
        transitBase + frame * Int64(configuration.samplesPerFrame)
    }

    /// Starts a new timeline at `timestamp` and returns the frame number the packet gets.
    /// While playing, frames already buffered still play and the new timeline continues right
    /// after them; when idle, the buffer starts over and waits `targetDelay` before playing.
    private mutating func resynchronize(timestamp: UInt32, arrivalSamples: Int64) -> Int64 {
        statistics.resyncs += 1
        transitCount = 0
        transitNext = 0
        consecutiveEmptyConcealment = 0
        switch state {
        case .playing, .buffering:
            var next = playoutFrame
            for slot in slots {
                if let slot, slot.frame >= next { next = slot.frame + 1 }
            }
            anchorTimestamp = timestamp &- UInt32(truncatingIfNeeded: next &* Int64(configuration.samplesPerFrame))
            return next
        case .idle:
            for i in slots.indices where slots[i] != nil {
                slots[i] = nil
                statistics.flushed += 1
            }
            buffered = 0
            anchorTimestamp = timestamp
            playoutFrame = 0
            state = .buffering(startAt: arrivalSamples + smoothedTarget)
            return 0
        }
    }
}

extension JitterBuffer.Output: Equatable where Payload: Equatable {}
