// GatewaySocketServer: the core's end of the gateway socket (docs/ARCHITECTURE.md "Gateway ↔ core socket"):
// newline-delimited JSON over a Unix domain socket, many gateways at once, each request answered
// by its own task so one slow database call does not hold up the other calls.

import Foundation
import GatewayProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Verification

/// Serves gateways on a Unix domain socket: hello, inbound calls, keyed digits, call outcomes.
public struct GatewaySocketServer: Service {
    /// The socket path (created 0600; an old socket file is replaced).
    public let path: String
    let service: VerificationService
    let gateways: GatewayRegistry
    let logger: Logger
    /// The longest line accepted from a gateway.
    public var maxLineLength = 65_536
    /// Inbound-call decisions in progress at most; more are refused at once (503 to the caller)
    /// rather than queued behind the database (admission control under overload).
    public var maxDecisionsInFlight = 256
    private let decisionsInFlight = InFlightCounter()

    /// Makes the server for `service`.
    public init(path: String, service: VerificationService, gateways: GatewayRegistry, logger: Logger) {
        self.path = path
        self.service = service
        self.gateways = gateways
        self.logger = logger
    }

    /// Listens until cancelled (graceful shutdown of the service group).
    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(path, 0o600)
        logger.info("gateway.socket.listening", metadata: ["path": "\(path)"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        var gateway = "unknown"
        let registration = Mutex<Int?>(nil)
        defer { if let id = registration.withLock({ $0 }) { gateways.remove(id) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                let writer = GatewayWriter(outbound: outbound)
                var decoder = GatewayDecoder(maxLineLength: maxLineLength)
                try await withThrowingDiscardingTaskGroup { group in
                    for try await buffer in inbound {
                        decoder.append(buffer.readableBytesView)
                        while true {
                            let envelope: GatewayEnvelope
                            do {
                                guard let next = try decoder.next() else { break }
                                envelope = next
                            } catch {
                                logger.warning("gateway.socket.bad_line", metadata: ["gateway": "\(gateway)", "error": "\(error)"])
                                continue
                            }
                            if case .hello(let hello) = envelope.message {
                                gateway = hello.gateway
                                let id = gateways.add(channels: hello.channels, systemNumbers: hello.systemNumbers ?? [], writer: writer)
                                if let old = registration.withLock({ old in defer { old = id }; return old }) { gateways.remove(old) }
                            }
                            let name = gateway
                            group.addTask { try await self.answer(envelope, gateway: name, writer: writer) }
                        }
                    }
                }
            }
        } catch {
            logger.info("gateway.socket.closed", metadata: ["gateway": "\(gateway)", "error": "\(error)"])
        }
    }

    /// Answers one message from a gateway.
    func answer(_ envelope: GatewayEnvelope, gateway: String, writer: GatewayWriter) async throws {
        switch envelope.message {
        case .hello(let hello):
            logger.info("gateway.hello", metadata: ["gateway": "\(hello.gateway)", "channels": "\(hello.channels)"])
            try await writer.send(GatewayEnvelope(.helloOK(HelloOK(core: ProcessInfo.processInfo.hostName)), inReplyTo: envelope.id))
        case .inboundCall(let call):
            let decision = await decide(call)
            try await writer.send(GatewayEnvelope(.callDecision(decision), inReplyTo: envelope.id))
        case .digits(let digits):
            let result = await check(digits)
            try await writer.send(GatewayEnvelope(.digitsResult(result), inReplyTo: envelope.id))
        case .callProgress(let progress):
            logger.debug("gateway.call_progress", metadata: ["call": "\(progress.callID)", "state": "\(progress.state.rawValue)"])
            if let id = progress.verificationID { try await service.recordCallProgress(id: id, detail: "call \(progress.state.rawValue)") }
            try await writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [progress.outcomeID]))))
        case .callEnded(let ended):
            logger.info("gateway.call_ended", metadata: ["call": "\(ended.callID)", "reason": "\(ended.reason.rawValue)", "verification": "\(ended.verificationID ?? "-")"])
            if let id = ended.verificationID {
                let status = ended.sipStatus.map { " (SIP \($0))" } ?? ""
                let detail = ended.detail.map { ", \($0.prefix(200))" } ?? ""
                try await service.recordCallProgress(id: id, detail: "call ended: \(ended.reason.rawValue)\(status)\(detail)",
                                                     evenIfFinished: ended.reason != .completed)
                // An answered call's media figures (optional: older gateways send none), as an entry
                // of their own, also on a verification the call's code approved already.
                if let media = ended.media {
                    try await service.recordCallProgress(id: id, detail: "call media: \(media.auditText)", evenIfFinished: true)
                }
                // An outgoing call's end: the retry policy says what follows.
                switch try await service.outgoingCallEnded(id: id, reason: ended.reason.rawValue, sipStatus: ended.sipStatus) {
                case .retry(let after): logger.info("call.retry_scheduled", metadata: ["verification": "\(id)", "after": "\(after)"])
                case .failed(let reason): logger.info("gateway.call_failed_verification", metadata: ["verification": "\(id)", "reason": "\(reason)"])
                case .none: break
                }
            }
            // Acknowledged only once stored: a core that dies before this gets the outcome again.
            try await writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [ended.outcomeID]))))
        case .callProven(let proven):
            let trust = Self.trust(proven.trust)
            let verstat = Self.validation(proven.verstat)
            switch try await service.callProven(id: proven.verificationID, caller: proven.caller, region: proven.region, called: proven.called, trust: trust,
                                                verstat: verstat) {
            case .approved:
                logger.info("gateway.call_proven", metadata: ["call": "\(proven.callID)", "verification": "\(proven.verificationID)"])
            case .refused(let reason):
                logger.info("gateway.call_proven_refused", metadata: ["call": "\(proven.callID)", "verification": "\(proven.verificationID)", "reason": "\(reason)"])
            }
            // Acknowledged only once stored: a core that dies before this gets the proof again.
            try await writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [proven.outcomeID]))))
        case .helloOK, .callDecision, .digitsResult, .originate, .ack:
            logger.warning("gateway.socket.unexpected", metadata: ["gateway": "\(gateway)", "type": "\(envelope.message.type)"])
        }
    }

    /// The core's decision on an inbound call; a store failure refuses the call (503) rather than hang it.
    func decide(_ call: InboundCall) async -> CallDecision {
        let trust = Self.trust(call.trust)
        let inFlight = decisionsInFlight.count.wrappingAdd(1, ordering: .relaxed).newValue
        defer { decisionsInFlight.count.wrappingSubtract(1, ordering: .relaxed) }
        guard inFlight <= maxDecisionsInFlight else {
            logger.warning("gateway.decide_overloaded", metadata: ["call": "\(call.callID)", "in_flight": "\(inFlight)"])
            return CallDecision(callID: call.callID, action: .reject, status: 503)
        }
        // The answer is useless after the gateway's timeout; leave a margin for the way back.
        let deadline = call.timeoutMilliseconds.map { service.clock.now().addingTimeInterval(Double($0) / 1_000 * 0.9) }
        do {
            // `awaits_proof`: decide, commit nothing; `call_proven` (or a second question) follows the ACK.
            let commit = call.awaitsProof != true
            switch try await service.inboundCall(caller: call.caller, region: call.region, called: call.called, trust: trust, verstat: Self.validation(call.verstat),
                                                 deadline: deadline, commit: commit) {
            case .reject(let reason):
                logger.info("gateway.call_rejected", metadata: ["call": "\(call.callID)", "reason": "\(reason)"])
                return CallDecision(callID: call.callID, action: .reject)
            case .missedCallApproved(let v):
                return CallDecision(callID: call.callID, action: .ringThenReject, verificationID: v.id)
            case .playCode(let v, let code):
                return CallDecision(callID: call.callID, action: .playCode, verificationID: v.id, code: code, locale: v.locale, repeats: 2)
            case .collectCode(let v):
                return CallDecision(callID: call.callID, action: .collectCode, verificationID: v.id, codeLength: v.codeLength, locale: v.locale)
            case .awaitingProof(let v):
                // No code yet: the gateway asks again, committing, once the caller has ACKed our 200.
                let action: CallDecision.Action = v.channel == .voiceCallIn ? .playCode : .ringThenReject
                return CallDecision(callID: call.callID, action: action, verificationID: v.id, locale: v.locale, repeats: action == .playCode ? 2 : nil)
            }
        } catch {
            logger.error("gateway.decide_failed", metadata: ["call": "\(call.callID)", "error": "\(error)"])
            return CallDecision(callID: call.callID, action: .reject, status: 503)
        }
    }

    /// The one mapping from the wire's `CallerTrust` (GatewayProtocol: what the gateway reports in
    /// `inbound_call` and `call_proven`) to the domain's `CallerIDTrust` (what the policy accepts per
    /// channel, `--caller-id-trust`). Two types because the domain imports no gateway protocol and
    /// the gateway no domain (docs/ARCHITECTURE.md "Gateway ↔ core socket"); the wire's cases match one
    /// for one, and the domain's `verified` is derived from `asserted` and the carrier's `verstat`
    /// (`CallerIDTrust.confirmed(by:)`).
    static func trust(_ trust: CallerTrust) -> CallerIDTrust {
        switch trust {
        case .asserted: .asserted
        case .unverified: .unverified
        case .withheld: .withheld
        }
    }

    /// The wire's `verstat` token (GatewayProtocol `Verstat`, 3GPP TS 24.229 §7.2A.20) as the
    /// domain's `CarrierValidation`; a token this build does not know counts as no validation
    /// reported, so it can never make a caller ID `verified` (nor refuse one).
    static func validation(_ token: String?) -> CarrierValidation? {
        switch token.flatMap({ Verstat(token: $0) }) {
        case .passed: .passed
        case .failed: .failed
        case .notValidated: .notValidated
        case nil: nil
        }
    }

    /// The check of keyed digits.
    func check(_ digits: Digits) async -> DigitsResult {
        do {
            let v = try await service.checkKeyed(id: digits.verificationID, digits: digits.digits)
            switch v.status {
            case .approved: return DigitsResult(outcome: .approved)
            case .pending: return DigitsResult(outcome: .wrong, attemptsLeft: max(0, service.policy.limits.maxCheckAttempts - v.checkAttempts))
            case .expired, .maxAttemptsReached, .canceled, .failed: return DigitsResult(outcome: .closed)
            }
        } catch {
            return DigitsResult(outcome: .closed)
        }
    }
}

/// Serialises writes of one connection's answers.
struct GatewayWriter: Sendable {
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    func send(_ envelope: GatewayEnvelope) async throws {
        try await outbound.write(ByteBuffer(bytes: GatewayEncoder().encode(envelope)))
    }
}

/// A shared counter a copyable server struct can hold.
final class InFlightCounter: Sendable {
    let count = Atomic<Int>(0)
}
