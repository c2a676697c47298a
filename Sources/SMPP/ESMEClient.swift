import Logging
import NIOCore
import NIOPosix

/// An SMPP 3.4 ESME (transceiver) on SwiftNIO: a thin shell that runs `ESMEStateMachine` actions
/// on one event loop. Submits are answered with the SMSC message_id; delivery receipts arrive on
/// `receipts`. Start with `start()`, end with `shutdown()`.
public final class ESMEClient: Sendable {
    /// Delivery receipts (SMPP 3.4 Appendix B), already acknowledged with deliver_sm_resp.
    public let receipts: AsyncStream<DeliveryReceipt>
    private let eventLoop: any EventLoop
    private let box: NIOLoopBoundBox<Runner>

    /// A client for `configuration` whose I/O and state live on `eventLoop`.
    public init(configuration: ESMEConfiguration, eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
                logger: Logger = Logger(label: "verigate.smpp")) {
        let (stream, continuation) = AsyncStream.makeStream(of: DeliveryReceipt.self, bufferingPolicy: .bufferingNewest(10_000))
        self.receipts = stream
        self.eventLoop = eventLoop
        self.box = NIOLoopBoundBox.makeBoxSendingValue(
            Runner(configuration: configuration, eventLoop: eventLoop, logger: logger, receipts: continuation),
            eventLoop: eventLoop)
    }

    /// Connects and binds; reconnects with backoff after every drop until `shutdown()`.
    public func start() {
        let box = self.box
        eventLoop.execute { box.value.start(box) }
    }

    /// Sends one submit_sm (SMPP 3.4 §4.4.1) and returns the SMSC's message_id; throws `ESMEFailure`.
    /// Waits through throttling and reconnects.
    public func submit(_ message: SMPPShortMessage) async throws -> String {
        let promise = eventLoop.makePromise(of: String.self)
        let box = self.box
        eventLoop.execute { box.value.submit(message, promise: promise, box: box) }
        return try await promise.futureResult.get()
    }

    /// Unbinds (§4.2.1), fails what is still queued, and closes.
    public func shutdown() async {
        let promise = eventLoop.makePromise(of: Void.self)
        let box = self.box
        eventLoop.execute { box.value.shutdown(promise: promise, box: box) }
        try? await promise.futureResult.get()
    }
}

/// The event-loop-confined owner of the machine, the channel and the timers.
private final class Runner {
    var machine: ESMEStateMachine
    let configuration: ESMEConfiguration
    let eventLoop: any EventLoop
    let logger: Logger
    let receipts: AsyncStream<DeliveryReceipt>.Continuation
    var channel: (any Channel)?
    var timers: [ESMEStateMachine.Timer: Scheduled<Void>] = [:]
    var promises: [ESMEStateMachine.SubmissionID: EventLoopPromise<String>] = [:]
    var shutdownPromises: [EventLoopPromise<Void>] = []
    var nextID: ESMEStateMachine.SubmissionID = 1
    var finished = false

    init(configuration: ESMEConfiguration, eventLoop: any EventLoop, logger: Logger,
         receipts: AsyncStream<DeliveryReceipt>.Continuation) {
        self.machine = ESMEStateMachine(configuration: configuration)
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.receipts = receipts
    }

    func start(_ box: NIOLoopBoundBox<Runner>) {
        run(machine.start(), box)
    }

    func submit(_ message: SMPPShortMessage, promise: EventLoopPromise<String>, box: NIOLoopBoundBox<Runner>) {
        let id = nextID
        nextID += 1
        promises[id] = promise
        run(machine.submitRequested(id, message, now: .now()), box)
    }

    func shutdown(promise: EventLoopPromise<Void>, box: NIOLoopBoundBox<Runner>) {
        if finished {
            promise.succeed()
            return
        }
        shutdownPromises.append(promise)
        run(machine.shutdownRequested(now: .now()), box)
    }

    func received(_ pdu: SMPPPDU, from channel: any Channel, _ box: NIOLoopBoundBox<Runner>) {
        guard channel === self.channel else { return }
        run(machine.pduReceived(pdu, now: .now()), box)
    }

    func closed(_ channel: any Channel, _ box: NIOLoopBoundBox<Runner>) {
        guard channel === self.channel else { return }
        self.channel = nil
        logger.info("smpp.link_closed")
        run(machine.connectionClosed(now: .now()), box)
    }

    func run(_ actions: [ESMEStateMachine.Action], _ box: NIOLoopBoundBox<Runner>) {
        var wrote = false
        for action in actions {
            switch action {
            case .connect:
                connect(box)
            case .send(let pdu):
                guard let channel else { continue }
                var buffer = channel.allocator.buffer(capacity: 64)
                SMPPPDUEncoder.encode(pdu, into: &buffer)
                channel.write(buffer, promise: nil)
                wrote = true
            case .closeConnection:
                if wrote { channel?.flush() }
                wrote = false
                channel?.close(promise: nil)
            case .startTimer(let timer, let deadline):
                timers[timer]?.cancel()
                timers[timer] = eventLoop.scheduleTask(deadline: deadline) {
                    box.value.timers[timer] = nil
                    box.value.run(box.value.machine.timerFired(timer, now: .now()), box)
                }
            case .cancelTimer(let timer):
                timers.removeValue(forKey: timer)?.cancel()
            case .submitSucceeded(let id, let messageID):
                promises.removeValue(forKey: id)?.succeed(messageID)
            case .submitFailed(let id, let failure):
                promises.removeValue(forKey: id)?.fail(failure)
            case .receiptReceived(let receipt):
                receipts.yield(receipt)
            case .bound(let systemID):
                logger.info("smpp.bound", metadata: ["smsc": "\(systemID)"])
            case .shutdownCompleted:
                finished = true
                for timer in timers.values { timer.cancel() }
                timers.removeAll()
                receipts.finish()
                for promise in shutdownPromises { promise.succeed() }
                shutdownPromises.removeAll()
            }
        }
        if wrote { channel?.flush() }
    }

    func connect(_ box: NIOLoopBoundBox<Runner>) {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.responseTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMPPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SMPPChannelHandler(box: box))
                }
            }
        bootstrap.connect(host: configuration.host, port: configuration.port).whenComplete { result in
            let runner = box.value
            switch result {
            case .success(let channel):
                runner.channel = channel
                runner.run(runner.machine.connected(now: .now()), box)
            case .failure(let error):
                runner.logger.info("smpp.connect_failed", metadata: ["error": "\(error)"])
                runner.run(runner.machine.connectFailed(now: .now()), box)
            }
        }
    }
}

/// Frames the byte stream into PDUs by command_length (SMPP 3.4 §3.2).
struct SMPPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMPPPDU
    let decoder = SMPPPDUDecoder()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let pdu = try decoder.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(pdu))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands PDUs and the link's end to the runner; a framing error closes the link (reconnect follows).
private final class SMPPChannelHandler: ChannelInboundHandler {
    typealias InboundIn = SMPPPDU
    let box: NIOLoopBoundBox<Runner>

    init(box: NIOLoopBoundBox<Runner>) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        box.value.received(Self.unwrapInboundIn(data), from: context.channel, box)
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.value.closed(context.channel, box)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        box.value.logger.warning("smpp.link_error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
