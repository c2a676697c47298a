// OutboundCall: the calls the core asks for (`originate`): voice_call says the code when answered,
// dtmf_callout asks for the code shown on the page and collects it. We are the SDP offerer
// (RFC 3264 §5); progress (ringing, answered) and the end (busy, no answer after the ring time,
// rejected, failed, completed) go back to the core as outcomes.

import GatewayProtocol
import NIOCore
import NIOPosix
import SDP
import SIPMessage

extension VoiceGatewayService {
    /// The SRTP policy of our offer to `attempt`'s trunk (or `[general]`'s without one). SDES keys
    /// are never offered over signalling that exposes them unless the trunk allows it: then an
    /// optional trunk is offered plain RTP, and a trunk requiring SRTP is skipped (nil).
    func srtpPolicy(for attempt: OutboundAttempt, verificationID: String) -> SRTPPolicy? {
        let security = attempt.trunk.flatMap { name in configuration.peers.first { $0.name == name } }?.mediaSecurity ?? configuration.mediaSecurity
        // The next hop's transport, else the Request-URI's (RFC 3263 §4.1: `transport=tls`, `sips:`).
        let transport = attempt.destination?.transport ?? attempt.uri.sipURI.map(SIPTransportProtocol.init(uri:)) ?? .udp
        guard security.policy != .off, !transport.protectsSDESKeys, !security.sdesOverInsecureTransport else { return security.policy }
        guard security.policy == .optional else {
            logger.warning("gateway.srtp.sdes_refused", metadata: [
                "verification": "\(verificationID)", "trunk": "\(attempt.trunk ?? "-")", "transport": "\(transport.rawValue)",
                "reason": "srtp = required, but SDES keys over \(transport.rawValue) would travel in clear",
            ])
            return nil
        }
        return .off
    }

    /// Places and runs one outgoing call: along the number's route (README "Connecting a trunk"),
    /// skipping trunks that qualify found down (unless all are), the next target of a trunk's host
    /// name (RFC 3263 §4.3), then the next trunk, when one answers 503 or 408, times out or cannot
    /// be reached before ringing. A name is resolved when its trunk's turn comes; a name that gives
    /// no address passes the call to the next trunk.
    func originate(_ request: Originate) async {
        calls.originated()
        let callID = "originate-\(request.verificationID)"
        var attempts = OutboundAttempt.availableFirst(configuration.outboundAttempts(for: request.number), down: trunks.downTrunks)
        guard let media, !attempts.isEmpty else {
            logger.error("gateway.originate.unconfigured", metadata: ["verification": "\(request.verificationID)"])
            return report(callID: callID, verificationID: request.verificationID, reason: .failed, sipStatus: nil)
        }
        // Bound before the offer names the port: a port another program holds is skipped.
        let sockets: RTPSockets
        do {
            guard let bound = try await media.bindRTP(logger: logger) else {
                return report(callID: callID, verificationID: request.verificationID, reason: .failed, sipStatus: 503)
            }
            sockets = bound
        } catch {
            logger.error("gateway.media.open_failed", metadata: ["verification": "\(request.verificationID)", "error": "\(error)"])
            return report(callID: callID, verificationID: request.verificationID, reason: .failed, sipStatus: nil)
        }
        var session = SDPSession(configuration: MediaConfiguration(codecs: media.codecs), address: media.announcedHost, port: UInt16(sockets.port),
                                 sessionID: UInt64.random(in: 1...UInt64(UInt32.max)))
        var offer = session.makeOffer()
        var placed: (call: SIPCall, answer: ByteBuffer)?
        var last: (call: SIPCall?, end: SIPCallEnd?) = (nil, nil)
        var index = 0
        while index < attempts.count {
            defer { index += 1 }
            let attempt = attempts[index]
            if attempt.resolvesHost {
                await resolve(&attempts, at: index, verificationID: request.verificationID)
                index -= 1  // the attempt's targets took its place (none: the next trunk's attempt did)
                continue
            }
            // SRTP per trunk (README "Encrypted calls"): a fresh offer with its policy and keys.
            guard let policy = srtpPolicy(for: attempt, verificationID: request.verificationID) else {
                last = (nil, nil)
                continue
            }
            session.configuration.srtp = policy
            offer = session.makeOffer()
            let call: SIPCall
            do {
                var host = attempt.fromDomain ?? media.host
                if host.contains(":") { host = "[\(host)]" }
                let from = try SIPNameAddress(parsing: "<sip:\(attempt.fromUser)@\(host)>")
                call = try await endpoint.call(attempt.uri, from: from, sdp: ByteBuffer(string: offer.text), destination: attempt.destination,
                                               credentials: attempt.credentials, ringTimeout: .seconds(request.ringSeconds))
            } catch {
                logger.error("gateway.originate.failed", metadata: ["verification": "\(request.verificationID)", "trunk": "\(attempt.trunk ?? "-")", "error": "\(error)"])
                last = (nil, nil)
                continue
            }
            // Ringing until answered or ended; the rest of the events belong to the dialogue.
            var answer: ByteBuffer?
            var end: SIPCallEnd?
            var rang = false
            for await event in call.events {
                switch event {
                case .progress(let status) where (180...183).contains(status) && !rang:
                    rang = true
                    began(callID: call.callID, verificationID: request.verificationID)
                    reportProgress(call, verificationID: request.verificationID, state: .ringing)
                case .answered(let sdp):
                    answer = sdp
                case .ended(let reason):
                    end = reason
                case .progress, .confirmed, .info, .reinvited:
                    break
                }
                if answer != nil || end != nil { break }
            }
            if let answer {
                if !rang { began(callID: call.callID, verificationID: request.verificationID) }
                placed = (call, answer)
                break
            }
            last = (call, end ?? .transportError)
            // Failover only before the callee's phone rang: after that the call was delivered.
            guard !rang, index + 1 < attempts.count, GatewayConfiguration.triesNextTrunk(after: end ?? .transportError) else { break }
            logger.warning("gateway.originate.failover", metadata: [
                "verification": "\(request.verificationID)", "trunk": "\(attempt.trunk ?? "-")", "target": "\(attempt.destination.map { "\($0)" } ?? "-")", "next": "\(attempts[index + 1].trunk ?? "-")", "end": "\(end ?? .transportError)",
            ])
        }
        guard let (call, answer) = placed else {
            await sockets.close()
            let (reason, status) = last.end.map(Self.outcome(of:)) ?? (.failed, nil)
            return report(callID: last.call?.callID ?? callID, verificationID: request.verificationID, reason: reason, sipStatus: status)
        }
        let rtp: MediaSession
        do {
            let audio: NegotiatedAudio
            do {
                audio = try session.negotiate(answer: try SDPParser().parse(bytes: answer.readableBytesView), to: offer)
            } catch {
                await sockets.close()
                throw error
            }
            // On failure `open` has closed the sockets and returned the port.
            rtp = try await MediaSession.open(sockets, audio: audio, latching: configuration.mediaLatching(for: call.remote),
                                              signalling: call.remote.address, statistics: media.statistics, logger: logger)
        } catch {
            logger.warning("gateway.originate.bad_answer", metadata: ["call-id": "\(call.callID)", "error": "\(error)"])
            call.hangUp()
            for await _ in call.events {}
            return report(call, verificationID: request.verificationID, reason: .failed, sipStatus: nil)
        }
        reportProgress(call, verificationID: request.verificationID, state: .answered)
        let decision = CallDecision(
            callID: call.callID, action: request.mode == .playCode ? .playCode : .collectCode, verificationID: request.verificationID,
            code: request.code, codeLength: request.codeLength, locale: request.locale, repeats: 2
        )
        // voice_call: the code only after a key, so a voicemail that answers records none (on unless the core says off).
        let reason = await runDialogue(call, rtp: rtp, media: media, decision: decision, keypress: request.mode == .playCode && request.keypress != false)
        report(callID: call.callID, verificationID: request.verificationID, reason: reason, sipStatus: nil,
               detail: reason == .noKey ? "no key pressed: the code was not said" : nil, media: rtp.quality)
    }

    /// Replaces the attempt at `index`, a trunk whose host is a name, by one attempt per next hop
    /// (`TrunkMonitor.nextHops`, RFC 3263 §4); removes it when the name gives none (logged), so the
    /// route moves on to its next trunk. The resolver runs on its own thread, never on the event loop.
    private func resolve(_ attempts: inout [OutboundAttempt], at index: Int, verificationID: String) async {
        let attempt = attempts[index]
        guard let name = attempt.trunk, let trunk = configuration.trunks.first(where: { $0.name == name }) else {
            attempts.remove(at: index)
            return
        }
        do {
            let targets = try await trunks.nextHops(trunk)
            logger.debug("gateway.originate.resolved", metadata: ["verification": "\(verificationID)", "trunk": "\(name)", "targets": "\(targets.map(\.description))"])
            attempts.replaceSubrange(index...index, with: attempt.expanded(over: targets))
        } catch {
            logger.warning("gateway.originate.dns_failed", metadata: ["verification": "\(verificationID)", "trunk": "\(name)", "host": "\(trunk.host)", "error": "\(error)"])
            attempts.remove(at: index)
        }
    }

    /// How an unanswered outgoing call is reported.
    static func outcome(of end: SIPCallEnd) -> (CallEnded.Reason, Int?) {
        switch end {
        case .failed(let status, _) where status == 486 || status == 600: (.busy, status)
        case .failed(let status, _): (.rejected, status)
        case .noAnswer: (.noAnswer, 487)
        case .remoteHangUp, .cancelled: (.hungUp, nil)
        case .timeout: (.failed, 408)
        case .transportError: (.failed, 503)
        case .localHangUp, .rejected, .shutdown: (.failed, nil)
        }
    }
}
