// GatewayHandler: the core's handling of what gateways say (docs/ARCHITECTURE.md "Gateway ↔ core
// link"), whatever carries it: the socket (GatewaySocketServer, JSON lines) or the in-process link of
// `verigate serve` (GatewayInProcessServer, the values themselves). Each message is answered by a
// task of its own so one slow database call does not hold up the other calls.

import Foundation
import GatewayProtocol
import Logging
import Synchronization
import Verification

/// Answers gateways: hello, inbound calls, keyed digits, call outcomes; one per server, shared by
/// its connections.
public struct GatewayHandler: Sendable {
    let service: VerificationService
    let gateways: GatewayRegistry
    let logger: Logger
    /// Inbound-call decisions in progress at most; more are refused at once (503 to the caller)
    /// rather than queued behind the database (admission control under overload).
    public var maxDecisionsInFlight = 256
    private let decisionsInFlight = InFlightCounter()
    /// The answers in progress, one task each (waited for, or cancelled, at shutdown).
    let answers = TaskTracker()

    /// Makes the handler for `service`, registering gateways in `gateways`.
    public init(service: VerificationService, gateways: GatewayRegistry, logger: Logger) {
        self.service = service
        self.gateways = gateways
        self.logger = logger
    }

    /// A gateway connected: what to do with its messages, given where its answers go. Its hello
    /// registers it (its channels, system numbers, and `outbound` for `originate`); the close
    /// removes it. An error answering one of its messages closes its connection.
    public func connected(_ outbound: any GatewayOutbound, transport: String) -> GatewayInbound {
        let session = GatewaySession()
        return GatewayInbound(
            received: { envelope in
                if case .hello(let hello) = envelope.message {
                    let id = gateways.add(channels: hello.channels, systemNumbers: hello.systemNumbers ?? [], writer: outbound)
                    if let old = session.registered(name: hello.gateway, id: id) { gateways.remove(old) }
                }
                let name = session.name
                answers.spawn {
                    do {
                        try await self.answer(envelope, gateway: name, writer: outbound)
                    } catch {
                        logger.warning("gateway.answer_failed", metadata: ["gateway": "\(name)", "type": "\(envelope.message.type)", "transport": "\(transport)",
                                                                          "error": "\(error)"])
                        outbound.close()
                    }
                }
            },
            closed: {
                let (name, id) = session.closed()
                if let id { gateways.remove(id) }
                logger.info("gateway.link.closed", metadata: ["gateway": "\(name)", "transport": "\(transport)"])
            })
    }

    /// Answers one message from a gateway.
    func answer(_ envelope: GatewayEnvelope, gateway: String, writer: any GatewayOutbound) async throws {
        switch envelope.message {
        case .hello(let hello):
            logger.info("gateway.hello", metadata: ["gateway": "\(hello.gateway)", "channels": "\(hello.channels)"])
            try writer.send(GatewayEnvelope(.helloOK(HelloOK(core: ProcessInfo.processInfo.hostName)), inReplyTo: envelope.id))
        case .inboundCall(let call):
            let decision = await decide(call)
            try writer.send(GatewayEnvelope(.callDecision(decision), inReplyTo: envelope.id))
        case .digits(let digits):
            let result = await check(digits)
            try writer.send(GatewayEnvelope(.digitsResult(result), inReplyTo: envelope.id))
        case .callProgress(let progress):
            logger.debug("gateway.call_progress", metadata: ["call": "\(progress.callID)", "state": "\(progress.state.rawValue)"])
            if let id = progress.verificationID { try await service.recordCallProgress(id: id, detail: "call \(progress.state.rawValue)") }
            try writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [progress.outcomeID]))))
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
            try writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [ended.outcomeID]))))
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
            try writer.send(GatewayEnvelope(.ack(Ack(outcomeIDs: [proven.outcomeID]))))
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
    /// the gateway no domain (docs/ARCHITECTURE.md "Gateway ↔ core link"); the wire's cases match one
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

/// One connection's gateway: its name (from hello) and its registration in `GatewayRegistry`.
final class GatewaySession: Sendable {
    private let state = Mutex<(name: String, registration: Int?)>(("unknown", nil))

    /// The gateway's name, "unknown" before its hello.
    var name: String { state.withLock { $0.name } }

    /// A hello registered it as `id`; returns the registration it replaces.
    func registered(name: String, id: Int) -> Int? {
        state.withLock { state in
            defer { state = (name, id) }
            return state.registration
        }
    }

    /// The connection closed: its name and the registration to remove (once).
    func closed() -> (String, Int?) {
        state.withLock { state in
            defer { state.registration = nil }
            return (state.name, state.registration)
        }
    }
}

/// A shared counter a copyable struct can hold.
final class InFlightCounter: Sendable {
    let count = Atomic<Int>(0)
}
