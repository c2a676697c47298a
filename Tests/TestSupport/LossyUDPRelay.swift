// A seeded lossy, reordering UDP relay for tests (this kernel has no netem): datagrams sent to
// the relay go on to one target after a random delay, or are dropped, or are sent twice. The
// decisions come from a seeded generator, one per datagram in arrival order, so every run makes
// the same decisions; delays spread over more than the packet interval reorder packets.
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The relay's decisions, one per datagram, from a seed (SplitMix64). Pure value.
public struct RelaySchedule: Sendable {
    /// What happens to one datagram.
    public enum Decision: Equatable, Sendable {
        /// Not forwarded.
        case drop
        /// Forwarded after `delay`; a second copy right after when `duplicate`.
        case deliver(delay: Duration, duplicate: Bool)
    }

    /// Share of datagrams dropped (0…1).
    public var loss: Double
    /// Delays are uniform in 0…maxDelay (the jitter).
    public var maxDelay: Duration
    /// Share of forwarded datagrams sent twice.
    public var duplication: Double
    private var state: UInt64

    /// A schedule from `seed`.
    public init(seed: UInt64, loss: Double = 0.05, maxDelay: Duration = .milliseconds(60), duplication: Double = 0.01) {
        state = seed
        self.loss = loss
        self.maxDelay = maxDelay
        self.duplication = duplication
    }

    private mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }

    /// The decision for the next datagram. Always draws three numbers, so one datagram's fate
    /// does not shift the next one's.
    public mutating func next() -> Decision {
        let dropDraw = unit(), delayDraw = unit(), duplicateDraw = unit()
        guard dropDraw >= loss else { return .drop }
        let nanoseconds = Double(maxDelay.components.seconds) * 1e9 + Double(maxDelay.components.attoseconds) / 1e9
        return .deliver(delay: .nanoseconds(Int64(delayDraw * nanoseconds)), duplicate: duplicateDraw < duplication)
    }
}

/// A UDP relay on 127.0.0.1 (port 0) applying a `RelaySchedule` to everything sent to it, towards one target.
public final class LossyUDPRelay: Sendable {
    /// Counts of what the relay did.
    public struct Counts: Equatable, Sendable {
        /// Datagrams received.
        public var received = 0
        /// Datagrams dropped.
        public var dropped = 0
        /// Extra copies sent.
        public var duplicated = 0
    }

    private let channel: Channel
    private let counts: NIOLockedValueBox<Counts>

    /// Where to send what should pass through the relay.
    public var address: SocketAddress { channel.localAddress! }
    /// What the relay did so far.
    public var snapshot: Counts { counts.withLockedValue { $0 } }

    private init(channel: Channel, counts: NIOLockedValueBox<Counts>) {
        self.channel = channel
        self.counts = counts
    }

    /// Starts a relay towards `target`.
    public static func start(to target: SocketAddress, schedule: RelaySchedule) async throws -> LossyUDPRelay {
        let counts = NIOLockedValueBox(Counts())
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(target: target, schedule: schedule, counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LossyUDPRelay(channel: channel, counts: counts)
    }

    /// Closes the socket.
    public func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let target: SocketAddress
        var schedule: RelaySchedule
        let counts: NIOLockedValueBox<Counts>

        init(target: SocketAddress, schedule: RelaySchedule, counts: NIOLockedValueBox<Counts>) {
            self.target = target
            self.schedule = schedule
            self.counts = counts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let datagram = unwrapInboundIn(data).data
            let decision = schedule.next()
            counts.withLockedValue {
                $0.received += 1
                switch decision {
                case .drop: $0.dropped += 1
                case .deliver(_, let duplicate): if duplicate { $0.duplicated += 1 }
                }
            }
            guard case .deliver(let delay, let duplicate) = decision else { return }
            let channel = context.channel
            let envelope = AddressedEnvelope(remoteAddress: target, data: datagram)
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                channel.writeAndFlush(envelope, promise: nil)
                if duplicate { channel.writeAndFlush(envelope, promise: nil) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {}
    }
}
