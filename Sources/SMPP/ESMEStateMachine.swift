import NIOCore

/// The ESME side of an SMPP 3.4 transceiver session as a value with no I/O (docs/ARCHITECTURE.md habit 1):
/// bind (§4.2.5), windowed submit_sm (§2.7, §4.4) under a rate limit, enquire_link (§4.11),
/// deliver_sm receipts (§4.6, Appendix B), unbind (§4.2.1), and reconnect after a drop.
/// Time is an input (`now`); timers are actions.
///
/// Delivery guarantee: a submit is handed back to the queue when the link drops before its
/// submit_sm_resp arrived, and sent again on the next link. This is *at-least-once*: if the SMSC
/// accepted the submit and the drop ate its submit_sm_resp, the SMSC sees the message twice.
/// SMPP 3.4 has no idempotency key to close this gap; a submit whose response did arrive is never
/// resent, so nothing is lost and a duplicate can happen only for responses lost on the wire.
public struct ESMEStateMachine: Sendable {
    /// Our handle of a submit (not the SMPP sequence number, which changes when resent).
    public typealias SubmissionID = UInt64

    /// Timers the machine asks for.
    public enum Timer: Hashable, Sendable {
        /// Next connect attempt.
        case reconnect
        /// Time to send enquire_link.
        case enquireLink
        /// bind or enquire_link answer overdue: drop the link.
        case responseTimeout
        /// The rate limit or a throttle pause ends: send more.
        case sendSlot
    }

    /// What the owner must do.
    public enum Action: Sendable, Equatable {
        /// Open the TCP connection.
        case connect
        /// Write a PDU.
        case send(SMPPPDU)
        /// Close the TCP connection (a `connectionClosed` follows).
        case closeConnection
        /// Arm (or re-arm) a timer.
        case startTimer(Timer, at: NIODeadline)
        /// Disarm a timer.
        case cancelTimer(Timer)
        /// The SMSC accepted a submit: its message_id (§4.4.2).
        case submitSucceeded(SubmissionID, messageID: String)
        /// A submit failed for good.
        case submitFailed(SubmissionID, ESMEFailure)
        /// A delivery receipt arrived (already acknowledged).
        case receiptReceived(DeliveryReceipt)
        /// bind_transceiver_resp OK: the session is bound.
        case bound(systemID: String)
        /// Shutdown finished; no more actions follow.
        case shutdownCompleted
    }

    private enum State: Sendable, Equatable {
        case idle
        case connecting
        case binding(sequence: UInt32)
        case bound
        case unbinding
        case waitingToReconnect
        case closed
    }

    private struct Submission: Sendable {
        var id: SubmissionID
        var message: SMPPShortMessage
        var throttled: Int
    }

    private let configuration: ESMEConfiguration
    private var state: State = .idle
    private var shuttingDown = false
    private var nextSequence: UInt32 = 1
    private var queue: [Submission] = []
    private var queueHead = 0
    private var outstanding: [UInt32: Submission] = [:]
    private var reconnectAttempts = 0
    private var pausedUntil = NIODeadline.uptimeNanoseconds(0)
    private var nextSendSlot = NIODeadline.uptimeNanoseconds(0)
    private var sendSlotArmed = false
    private var enquireLinkSequence: UInt32?

    /// A machine for this configuration, idle until `start`.
    public init(configuration: ESMEConfiguration) {
        self.configuration = configuration
    }

    /// Submits queued or awaiting a response.
    public var pendingCount: Int { queue.count - queueHead + outstanding.count }

    /// Submits awaiting submit_sm_resp.
    public var outstandingCount: Int { outstanding.count }

    /// Begin: connect.
    public mutating func start() -> [Action] {
        guard state == .idle else { return [] }
        state = .connecting
        return [.connect]
    }

    /// A message to send (SMPP 3.4 §4.4.1); `id` is the caller's handle.
    public mutating func submitRequested(_ id: SubmissionID, _ message: SMPPShortMessage, now: NIODeadline) -> [Action] {
        guard !shuttingDown else { return [.submitFailed(id, .shutdown)] }
        queue.append(Submission(id: id, message: message, throttled: 0))
        return sendReady(now: now)
    }

    /// The TCP connection is up: bind (§4.2.5).
    public mutating func connected(now: NIODeadline) -> [Action] {
        guard state == .connecting else { return [.closeConnection] }
        let sequence = takeSequence()
        state = .binding(sequence: sequence)
        return [.send(SMPPPDU(.bindTransceiver(configuration.bind), sequenceNumber: sequence)),
                .startTimer(.responseTimeout, at: now + configuration.responseTimeout)]
    }

    /// The TCP connect failed.
    public mutating func connectFailed(now: NIODeadline) -> [Action] {
        connectionLost(now: now)
    }

    /// The TCP connection closed (by either side). Unanswered submits go back to the queue head.
    public mutating func connectionClosed(now: NIODeadline) -> [Action] {
        connectionLost(now: now)
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: Timer, now: NIODeadline) -> [Action] {
        switch timer {
        case .reconnect:
            guard state == .waitingToReconnect else { return [] }
            state = .connecting
            return [.connect]
        case .enquireLink:
            guard state == .bound else { return [] }
            let sequence = takeSequence()
            enquireLinkSequence = sequence
            return [.send(SMPPPDU(.enquireLink, sequenceNumber: sequence)),
                    .startTimer(.responseTimeout, at: now + configuration.responseTimeout)]
        case .responseTimeout:
            switch state {
            case .binding, .bound, .unbinding: return [.closeConnection]
            case .idle, .connecting, .waitingToReconnect, .closed: return []
            }
        case .sendSlot:
            sendSlotArmed = false
            return sendReady(now: now)
        }
    }

    /// Stop: unbind when bound (§4.2.1), fail what is still queued.
    public mutating func shutdownRequested(now: NIODeadline) -> [Action] {
        guard !shuttingDown else { return [] }
        shuttingDown = true
        var actions = failQueued(.shutdown)
        switch state {
        case .bound:
            state = .unbinding
            actions.append(.send(SMPPPDU(.unbind, sequenceNumber: takeSequence())))
            actions.append(.startTimer(.responseTimeout, at: now + configuration.responseTimeout))
        case .connecting, .binding:
            actions.append(.closeConnection)
        case .idle, .waitingToReconnect:
            state = .closed
            actions += [.cancelTimer(.reconnect), .cancelTimer(.enquireLink), .shutdownCompleted]
        case .unbinding, .closed:
            break
        }
        return actions
    }

    /// A PDU arrived from the SMSC.
    public mutating func pduReceived(_ pdu: SMPPPDU, now: NIODeadline) -> [Action] {
        switch pdu.body {
        case .bindTransceiverResp(let systemID, _):
            guard case .binding(let sequence) = state, sequence == pdu.sequenceNumber else { return [] }
            if pdu.commandStatus == .ESME_ROK {
                state = .bound
                reconnectAttempts = 0
                var actions: [Action] = [.cancelTimer(.responseTimeout), .bound(systemID: systemID),
                                         .startTimer(.enquireLink, at: now + configuration.enquireLinkInterval)]
                actions += sendReady(now: now)
                return actions
            }
            // A refused bind fails what is waiting: credentials will not fix themselves.
            state = .unbinding
            return failQueued(.bindRefused(pdu.commandStatus)) + [.cancelTimer(.responseTimeout), .closeConnection]
        case .submitSmResp(let messageID):
            return submitAnswered(pdu.sequenceNumber, status: pdu.commandStatus, messageID: messageID, now: now)
        case .genericNack:
            if outstanding[pdu.sequenceNumber] != nil {
                return submitAnswered(pdu.sequenceNumber, status: pdu.commandStatus, messageID: "", now: now)
            }
            return []
        case .deliverSm(let message):
            var actions: [Action] = [.send(SMPPPDU(.deliverSmResp, sequenceNumber: pdu.sequenceNumber))]
            // esm_class bits 2–5 = 0001: SMSC delivery receipt (§5.2.12).
            if message.esmClass & 0x3C == 0x04, let receipt = try? DeliveryReceipt.from(message) {
                actions.append(.receiptReceived(receipt))
            }
            return actions
        case .enquireLink:
            return [.send(SMPPPDU(.enquireLinkResp, sequenceNumber: pdu.sequenceNumber))]
        case .enquireLinkResp:
            guard state == .bound, enquireLinkSequence == pdu.sequenceNumber else { return [] }
            enquireLinkSequence = nil
            return [.cancelTimer(.responseTimeout), .startTimer(.enquireLink, at: now + configuration.enquireLinkInterval)]
        case .unbind:
            state = .unbinding
            return [.send(SMPPPDU(.unbindResp, sequenceNumber: pdu.sequenceNumber)), .closeConnection]
        case .unbindResp:
            guard state == .unbinding else { return [] }
            return [.closeConnection]
        case .bindTransceiver, .submitSm, .deliverSmResp, .unsupported:
            // Not ours to receive as an ESME (§4.3.1: generic_nack ESME_RINVCMDID).
            return [.send(SMPPPDU(.genericNack, sequenceNumber: pdu.sequenceNumber, commandStatus: .ESME_RINVCMDID))]
        }
    }

    // MARK: - Internals

    private mutating func submitAnswered(_ sequence: UInt32, status: SMPPCommandStatus, messageID: String, now: NIODeadline) -> [Action] {
        guard var submission = outstanding.removeValue(forKey: sequence) else { return [] }
        var actions: [Action]
        if status == .ESME_ROK {
            actions = [.submitSucceeded(submission.id, messageID: messageID)]
        } else if status.isTransient {
            if submission.throttled >= configuration.maxThrottleRetries {
                actions = [.submitFailed(submission.id, .retriesExhausted(status))]
            } else {
                // Back to the head of the queue; pause all sending: the SMSC asked us to slow down.
                let delay = configuration.throttleBackoff.delay(attempt: submission.throttled)
                submission.throttled += 1
                requeueAtHead([submission])
                pausedUntil = max(pausedUntil, now + delay)
                actions = []
            }
        } else {
            actions = [.submitFailed(submission.id, .status(status))]
        }
        return actions + sendReady(now: now)
    }

    private mutating func sendReady(now: NIODeadline) -> [Action] {
        guard state == .bound, !shuttingDown else { return [] }
        var actions: [Action] = []
        while queueHead < queue.count, outstanding.count < configuration.windowSize {
            let wake = max(pausedUntil, nextSendSlot)
            if now < wake {
                if !sendSlotArmed {
                    sendSlotArmed = true
                    actions.append(.startTimer(.sendSlot, at: wake))
                }
                break
            }
            let submission = queue[queueHead]
            queueHead += 1
            let sequence = takeSequence()
            outstanding[sequence] = submission
            actions.append(.send(SMPPPDU(.submitSm(submission.message), sequenceNumber: sequence)))
            if configuration.maxSubmitsPerSecond > 0 {
                let interval = TimeAmount.nanoseconds(Int64(1_000_000_000 / configuration.maxSubmitsPerSecond))
                nextSendSlot = max(nextSendSlot, now) + interval
            }
        }
        compactQueue()
        return actions
    }

    private mutating func connectionLost(now: NIODeadline) -> [Action] {
        // Unanswered submits return in their original order (SubmissionIDs grow with each request).
        let unanswered = outstanding.values.sorted { $0.id < $1.id }
        outstanding.removeAll()
        requeueAtHead(unanswered)
        enquireLinkSequence = nil
        sendSlotArmed = false
        var actions: [Action] = [.cancelTimer(.enquireLink), .cancelTimer(.responseTimeout), .cancelTimer(.sendSlot)]
        if shuttingDown {
            state = .closed
            actions += failQueued(.shutdown)
            actions.append(.shutdownCompleted)
            return actions
        }
        state = .waitingToReconnect
        let delay = configuration.reconnectBackoff.delay(attempt: reconnectAttempts)
        reconnectAttempts += 1
        actions.append(.startTimer(.reconnect, at: now + delay))
        return actions
    }

    private mutating func requeueAtHead(_ submissions: [Submission]) {
        guard !submissions.isEmpty else { return }
        queue.replaceSubrange(0..<queueHead, with: [])
        queueHead = 0
        queue.insert(contentsOf: submissions, at: 0)
    }

    private mutating func failQueued(_ failure: ESMEFailure) -> [Action] {
        let failed = queue[queueHead...].map { Action.submitFailed($0.id, failure) }
        queue.removeAll()
        queueHead = 0
        return Array(failed)
    }

    private mutating func compactQueue() {
        if queueHead > 64, queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    private mutating func takeSequence() -> UInt32 {
        let sequence = nextSequence
        // §3.2: sequence_number 0x00000001…0x7FFFFFFF.
        nextSequence = nextSequence >= 0x7FFF_FFFF ? 1 : nextSequence + 1
        return sequence
    }
}
