// VoiceGatewayService: takes the SIP endpoint's incoming calls, asks the core what to do with each
// (over CoreLink) and does it: missed_call (ring, then reject without answering), voice_callin and
// dtmf_callin (answer with prompts and keys, AnsweredCall.swift, when media is configured), reject
// when nothing is pending; and the calls the core asks for (originate, OutboundCall.swift).

import GatewayProtocol
import Logging
import NIOCore
import NIOPosix
import SIPMessage
import Synchronization

/// The gateway's call logic as one long-running task.
public final class VoiceGatewayService: Sendable {
    let endpoint: SIPEndpoint
    /// The link to the core.
    public let link: CoreLink
    let configuration: GatewayConfiguration
    /// Prompts, RTP ports and codecs for answered calls; nil: the gateway only rejects and rings.
    public let media: GatewayMedia?
    /// The gateway's logger (`gateway.*` events).
    public let logger: Logger
    /// What became of the calls (for metrics).
    public let calls = CallStatistics()
    /// One per `register = yes` trunk (RFC 3261 §10), run by `run()`.
    public let registrations: [TrunkRegistration]
    /// The trunks' next hops through DNS, resolved source addresses and qualify state.
    public let trunks: TrunkMonitor
    private let outcomeCounter = Atomic<Int>(0)
    /// Distinguishes outcome ids of this run from those of an earlier one.
    private let bootID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    /// The channels a gateway serves: missed_call always; the answered call-in channels with media;
    /// the outgoing ones with media and an outbound target.
    public static func channels(withMedia: Bool, outbound: Bool = false) -> [String] {
        guard withMedia else { return ["missed_call"] }
        return ["missed_call", "voice_callin", "dtmf_callin"] + (outbound ? ["voice_call", "dtmf_callout"] : [])
    }

    /// Makes the service over an endpoint and a core socket path.
    /// With a `journal`, outcomes and running calls are kept on disk: a restarted gateway sends what
    /// the core had not acknowledged, and reports calls it was running as failed.
    public convenience init(endpoint: SIPEndpoint, coreSocket: String, configuration: GatewayConfiguration = GatewayConfiguration(), media: GatewayMedia? = nil,
                            journal: OutcomeJournal = OutcomeJournal(), registrationBackoff: Duration = .seconds(30), logger: Logger) {
        self.init(endpoint: endpoint, core: .socket(path: coreSocket), configuration: configuration, media: media, journal: journal,
                  registrationBackoff: registrationBackoff, logger: logger)
    }

    /// Makes the service over an endpoint, reaching the core over `core` (its socket, or in
    /// `verigate serve` the core of the same process); `journal` as above.
    public init(endpoint: SIPEndpoint, core: CoreTransport, configuration: GatewayConfiguration = GatewayConfiguration(), media: GatewayMedia? = nil,
                journal: OutcomeJournal = OutcomeJournal(), registrationBackoff: Duration = .seconds(30), logger: Logger) {
        self.endpoint = endpoint
        let trunks = TrunkMonitor(configuration: configuration, endpoint: endpoint, logger: logger)
        self.trunks = trunks
        self.registrations = configuration.trunks.filter(\.register).map {
            TrunkRegistration(trunk: $0, endpoint: endpoint, logger: logger, backoffMinimum: registrationBackoff) { trunk throws(DNSError) in
                try await trunks.nextHops(trunk)
            }
        }
        self.configuration = configuration
        self.media = media
        self.logger = logger
        self.link = CoreLink(transport: core, gateway: configuration.name, channels: Self.channels(withMedia: media != nil, outbound: configuration.outboundTarget != nil || !configuration.routes.isEmpty),
                             systemNumbers: configuration.systemNumbers, journal: journal, logger: logger)
    }

    /// Runs the core link, keeps the trunks registered and handles calls until cancelled; cancelled,
    /// it un-registers the trunks (waiting briefly for the answers) before it returns, so stop the
    /// endpoint only after it.
    /// Each call is a task of its own (a `TaskTracker`'s, not of a task group, whose cost per finished child grows
    /// with the live ones: issue 15); cancelled, the calls are cancelled and waited for first, so
    /// their outcomes reach the link before it stops.
    public func run() async {
        let running = TaskTracker()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.link.run() }
            if !registrations.isEmpty { group.addTask { await self.keepRegistered() } }
            group.addTask { await self.trunks.run() }
            group.addTask {
                for await request in self.link.originations {
                    running.spawn { await self.originate(request) }
                }
            }
            for await call in endpoint.incomingCalls {
                running.spawn { await self.handle(call) }
            }
            await running.cancelAndWait()
            group.cancelAll()
        }
    }

    /// Starts each trunk's registration and, once cancelled, un-registers them all (RFC 3261 §10.2.2).
    private func keepRegistered() async {
        for registration in registrations { registration.start() }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(86_400)) }
        await withDiscardingTaskGroup { group in
            for registration in registrations { group.addTask { await registration.stop() } }
        }
    }

    /// One inbound call, from INVITE to its end.
    func handle(_ call: SIPCall) async {
        // From a trunk (by its registered Contact user and host, else its host): the called number
        // where the trunk puts it, both numbers as E.164 whatever the trunk's format (README
        // "Connecting a trunk").
        let trunk = configuration.trunk(for: call.remote.address, requestURI: try? call.request.uri())
        // Trust, region, Remote-Party-ID, From and approval proof per peer (sip.conf peer sections), else the general ones.
        let policy = configuration.callerPolicy(for: call.remote, trunk: trunk)
        let identity = CallerIdentity(request: call.request, peerTrusted: policy.trusted, useRemotePartyID: policy.useRemotePartyID, trustFrom: policy.trustFrom,
                                      verstatHeader: policy.verstatHeader)
        if let ignored = identity.ignoredVerstat {
            // Anyone can write a verstat: only a trusted peer's is passed on (README "Caller ID from carriers").
            logger.notice("gateway.call.verstat_ignored", metadata: ["call-id": "\(call.callID)", "verstat": "\(ignored.rawValue)", "source": "\(call.remote.address)"])
        }
        guard let received = trunk.map({ $0.rawCalledNumber(of: call.request) }) ?? CallerIdentity.calledNumber(of: call.request) else {
            calls.inbound(.noCalledNumber)
            call.reject(statusCode: 404)
            return await drain(call)
        }
        var called = received
        var caller = identity.number
        if let trunk {
            called = TrunkNumbers.inbound(received, techPrefix: trunk.techPrefix, region: trunk.region)
            caller = caller.map { TrunkNumbers.inbound($0, techPrefix: nil, region: trunk.region) }
            logger.debug("gateway.call.trunk", metadata: ["call-id": "\(call.callID)", "trunk": "\(trunk.name)", "called": "\(received)", "normalised": "\(called)"])
        }
        // Over UDP the INVITE's source can be forged: unless the peer is configured otherwise, the
        // core commits nothing until the ACK of our final response proves the round trip.
        let awaitsProof = policy.proof(reliableTransport: call.remote.transport.isReliable) == .ack
        let question = InboundCall(callID: call.callID, caller: caller, region: policy.region, called: called, trust: identity.trust,
                                   timeoutMilliseconds: Int(configuration.coreTimeout.nanoseconds / 1_000_000), awaitsProof: awaitsProof ? true : nil,
                                   verstat: identity.verstat)
        let decision: CallDecision
        do {
            guard case .callDecision(let answer) = try await link.ask(.inboundCall(question), timeout: configuration.coreTimeout) else {
                throw CoreLinkError.unavailable
            }
            decision = answer
            if let id = answer.verificationID { began(callID: call.callID, verificationID: id) }
        } catch {
            // The core is away: refuse at once rather than let the caller wait (§21.5.4).
            logger.warning("gateway.call.core_unavailable", metadata: ["call-id": "\(call.callID)", "error": "\(error)"])
            calls.inbound(.coreUnavailable)
            call.reject(statusCode: 503, headers: [(.retryAfter, "5")])
            return await drain(call)
        }
        let proof = awaitsProof ? question : nil
        switch decision.action {
        case .reject:
            calls.inbound(.rejected)
            call.reject(statusCode: decision.status ?? configuration.noVerificationStatus)
            await drain(call)
        case .ringThenReject:
            calls.inbound(.missedCall)
            await missedCall(call, decision: decision, proof: proof)
        case .playCode, .collectCode:
            guard let media else {
                // Not configured to answer (no prompts): refuse without answering.
                logger.error("gateway.call.media_unconfigured", metadata: ["call-id": "\(call.callID)", "action": "\(decision.action.rawValue)"])
                calls.inbound(.noMedia)
                call.reject(statusCode: 480)
                await drain(call)
                report(call, verificationID: decision.verificationID, reason: .failed, sipStatus: 480)
                return
            }
            calls.inbound(decision.action == .playCode ? .playCode : .collectCode)
            await runAnswered(call, media: media, decision: decision, proof: proof)
        }
    }

    /// missed_call: ring for the configured time (or until the caller gives up) and reject without
    /// answering, so nobody pays. The core approved on the INVITE already, or — with `proof`, the
    /// question asked with `awaits_proof` — approves on `call_proven`, sent only when the ACK of our
    /// rejection (or of the 487 after CANCEL) arrives with our To tag (RFC 3261 §17.2.1). Timer H
    /// without that ACK approves nothing.
    private func missedCall(_ call: SIPCall, decision: CallDecision, proof: InboundCall?) async {
        if proof != nil { call.awaitFinalACK() }
        call.ring()
        let status = decision.status ?? configuration.missedCallRejectStatus
        let ringTime = decision.ringMilliseconds.map { Duration.milliseconds($0) } ?? configuration.missedCallRingTime
        let timer = endpoint.eventLoop.scheduleTask(in: .nanoseconds(ringTime.nanoseconds)) { call.reject(statusCode: status) }
        var ending: SIPCallEnd = .shutdown
        var acknowledged = false
        for await event in call.events {
            if case .confirmed = event { acknowledged = true }
            if case .ended(let end) = event { ending = end }
        }
        timer.cancel()
        let reason: CallEnded.Reason = switch ending {
        case .rejected, .cancelled: .completed
        case .remoteHangUp, .localHangUp, .failed, .noAnswer, .timeout, .transportError, .shutdown: .failed
        }
        if let proof, let verificationID = decision.verificationID, let caller = proof.caller {
            guard acknowledged, reason == .completed else {
                logger.info("gateway.call.unproven", metadata: ["call-id": "\(call.callID)", "verification": "\(verificationID)"])
                calls.unproven()
                return report(callID: call.callID, verificationID: verificationID, reason: .failed, sipStatus: status,
                              detail: "no ACK of our final response: caller address unproven, not approved")
            }
            let outcomeID = nextOutcomeID()
            link.report(.callProven(CallProven(outcomeID: outcomeID, callID: call.callID, verificationID: verificationID, caller: caller, region: proof.region,
                                               called: proof.called, trust: proof.trust, verstat: proof.verstat)), outcomeID: outcomeID)
        }
        report(call, verificationID: decision.verificationID, reason: reason, sipStatus: status)
    }

    /// A call now serves a verification: if the gateway dies before it ends, the next run reports it.
    func began(callID: String, verificationID: String) {
        link.journal.callBegan(callID: callID, verificationID: verificationID)
    }

    func report(_ call: SIPCall, verificationID: String?, reason: CallEnded.Reason, sipStatus: Int?, media: CallMediaQuality? = nil) {
        report(callID: call.callID, verificationID: verificationID, reason: reason, sipStatus: sipStatus, media: media)
    }

    func report(callID: String, verificationID: String?, reason: CallEnded.Reason, sipStatus: Int?, detail: String? = nil, media: CallMediaQuality? = nil) {
        calls.ended(reason)
        let outcomeID = nextOutcomeID()
        link.report(.callEnded(CallEnded(outcomeID: outcomeID, callID: callID, verificationID: verificationID, reason: reason, sipStatus: sipStatus, detail: detail,
                                         media: media)),
                    outcomeID: outcomeID)
    }

    func reportProgress(_ call: SIPCall, verificationID: String?, state: CallProgress.State) {
        let outcomeID = nextOutcomeID()
        link.report(.callProgress(CallProgress(outcomeID: outcomeID, callID: call.callID, verificationID: verificationID, state: state)), outcomeID: outcomeID)
    }

    func nextOutcomeID() -> String {
        "\(configuration.name)-\(bootID)-\(outcomeCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    private func drain(_ call: SIPCall) async {
        for await _ in call.events {}
    }
}
