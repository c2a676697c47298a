// The UAS half of SIPEndpoint: server transactions (RFC 3261 §17.2, RFC 6026), the UAS core's own
// answers (§8.2), CANCEL (§9.2), incoming calls and in-dialog requests (§12.2.2).

import NIOCore
import SIPMessage
import SIPStack

extension SIPEndpoint {
    /// A request from the network, Via already stamped (§18.2.1).
    func requestReceived(_ request: SIPRequest, from peer: SIPPeer) {
        guard let key = try? TransactionKey(serverRequest: request) else {
            // No usable Via/CSeq/Call-ID: the parser's checks let it through only for odd cases; drop.
            logger.debug("sip.request.unmatchable", metadata: ["peer": "\(peer)"])
            return
        }
        if request.method == .ack {
            ackReceived(request, key: key)
            return
        }
        if serverTransactions[key] != nil {
            runServer(key) { $0.requestRetransmissionReceived() }
            return
        }
        if request.method == .cancel {
            cancelReceived(request, key: key, from: peer)
            return
        }
        do {
            try serverTransactions.insert(
                ServerEntry(machine: ServerTransaction(method: request.method.description, isReliable: peer.transport.isReliable, timers: configuration.timers), request: request, peer: peer),
                for: key, from: peer.host
            )
        } catch {
            // Per-source or total transaction limit: answer statelessly, keep nothing (§21.5.4).
            let busy = serviceUnavailable(replyingTo: request, toTag: SIPTokens.tag())
            send(.response(busy), to: responsePeer(for: busy, requestFrom: peer))
            logger.info("sip.request.limited", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return
        }
        let isInvite = request.method == .invite
        let actions = startServer(key, sendTrying: false)
        if isInvite {
            // §17.2.1: 100 Trying only when the TU has not answered within 200 ms.
            serverTransactions[key]?.tryingTimer = schedule(configuration.tryingDelay) { [weak self] in
                self?.tryingTimerFired(key)
            }
        }
        guard actions.contains(.passRequestToTU) else { return }
        if let toTag = try? request.headers.to().tag {
            inDialogRequestReceived(request, key: key, toTag: toTag)
            return
        }
        let localTag = SIPTokens.tag()
        switch uasCore.requestReceived(request, toTag: localTag) {
        case .respond(let response):
            respond(key, with: response)
        case .passToTU:
            switch request.method {
            case .invite:
                newCallReceived(request, key: key, from: peer, localTag: localTag)
            case .bye, .info, .update, .prack, .ack, .cancel, .register, .subscribe, .notify, .publish, .refer, .message, .options, .extension:
                // Outside a dialog these have nothing to act on (§12.2.2 for dialog methods).
                respond(key, with: SIPResponse(replyingTo: request, statusCode: 481, toTag: localTag))
            }
        }
    }

    /// 503 with Retry-After (§21.5.4, §20.33): what we answer when a limit (transactions per source
    /// or in all, calls) is reached.
    private func serviceUnavailable(replyingTo request: SIPRequest, toTag: String) -> SIPResponse {
        var busy = SIPResponse(replyingTo: request, statusCode: 503, toTag: toTag)
        busy.headers.add(.retryAfter, String(configuration.retryAfterSeconds))
        return busy
    }

    private func startServer(_ key: TransactionKey, sendTrying: Bool) -> [ServerTransactionAction] {
        guard var entry = serverTransactions[key] else { return [] }
        let actions: [ServerTransactionAction]
        if case .invite(var machine) = entry.machine {
            actions = machine.start(sendTrying: sendTrying)
            entry.machine = .invite(machine)
        } else {
            actions = entry.machine.start()
        }
        serverTransactions[key] = entry
        run(serverActions: actions, key: key)
        return actions
    }

    private func tryingTimerFired(_ key: TransactionKey) {
        guard var entry = serverTransactions[key], entry.lastResponse == nil else { return }
        entry.tryingTimer = nil
        serverTransactions[key] = entry
        respond(key, with: SIPResponse(replyingTo: entry.request, statusCode: 100))
    }

    /// Hands a response to the server transaction `key` (the TU's answer, §17.2).
    func respond(_ key: TransactionKey, with response: SIPResponse) {
        guard var entry = serverTransactions[key] else { return }
        var response = response
        if !response.headers.contains(.server) { response.headers.add(.server, configuration.userAgent) }
        entry.lastResponse = response
        entry.tryingTimer?.cancel()
        entry.tryingTimer = nil
        serverTransactions[key] = entry
        runServer(key) { $0.responseSent(statusCode: response.statusCode) }
    }

    /// Applies an input to the server transaction `key` and runs what it asks.
    func runServer(_ key: TransactionKey, _ input: (inout ServerTransaction) -> [ServerTransactionAction]) {
        guard var entry = serverTransactions[key] else { return }
        let actions = input(&entry.machine)
        serverTransactions[key] = entry
        run(serverActions: actions, key: key)
    }

    private func run(serverActions actions: [ServerTransactionAction], key: TransactionKey) {
        for action in actions {
            guard var entry = serverTransactions[key] else { return }
            switch action {
            case .passRequestToTU:
                break  // the caller hands the request up after `start`
            case .passACKToTU:
                if let callKey = entry.callKey { successACKReceived(callKey) }
            case .sendTrying:
                send(.response(SIPResponse(replyingTo: entry.request, statusCode: 100)), to: entry.peer)
            case .sendResponse:
                if let response = entry.lastResponse { send(.response(response), to: responsePeer(for: response, requestFrom: entry.peer)) }
            case .startTimer(let timer, let delay):
                entry.timers[timer]?.cancel()
                entry.timers[timer] = schedule(delay) { [weak self] in self?.runServer(key) { $0.timerFired(timer) } }
                serverTransactions[key] = entry
            case .cancelTimer(let timer):
                entry.timers.removeValue(forKey: timer)?.cancel()
                serverTransactions[key] = entry
            case .reportTimeout, .reportTransportError:
                // Timer H (no ACK for our failure response) or a send failure: the session decides.
                if let callKey = entry.callKey { runSession(callKey) { $0.inviteTransactionTimedOut() } }
            case .terminate:
                serverTransactions.remove(key)?.cancelTimers()
            }
        }
    }

    // MARK: ACK and CANCEL

    /// An ACK: for a non-2xx it matches the INVITE transaction (§17.2.1); for a 2xx it belongs to the
    /// dialog (§13.3.1.4, RFC 6026 also passes it up from Accepted). Unmatched ACKs are dropped (§17.2.3).
    /// The ACK of a non-2xx must carry the To tag of the response it acknowledges (§17.1.1.3): one
    /// with another tag (made without seeing our response) is dropped, so it cannot stop our
    /// retransmissions nor prove a call.
    private func ackReceived(_ request: SIPRequest, key: TransactionKey) {
        if let entry = serverTransactions[key] {
            let ourTag = entry.lastResponse.flatMap { try? $0.headers.to().tag }
            if let ourTag, (try? request.headers.to().tag) != ourTag {
                logger.info("sip.ack.wrong_tag", metadata: ["call-id": "\((try? request.headers.callID()) ?? "-")"])
                return
            }
            runServer(key) { $0.ackReceived() }
            if let callKey = entry.callKey { runSession(callKey) { $0.failureACKReceived() } }
            return
        }
        guard let callID = try? request.headers.callID(), let toTag = try? request.headers.to().tag else { return }
        successACKReceived(SIPCallKey(callID: callID, localTag: toTag))
    }

    /// The ACK for our 2xx arrived: stop resending the 2xx; the call is confirmed.
    func successACKReceived(_ callKey: SIPCallKey) {
        guard var call = calls[callKey], var retransmission = call.successRetransmission else { return }
        let wasFinished = retransmission.isFinished
        let actions = retransmission.ackReceived()
        call.successRetransmission = retransmission
        calls[callKey] = call
        runSuccess(actions, callKey: callKey)
        if !wasFinished { runSession(callKey) { $0.successACKReceived() } }
    }

    /// CANCEL (§9.2): 200 when it matches a pending INVITE, which then gets 487; else 481.
    private func cancelReceived(_ request: SIPRequest, key: TransactionKey, from peer: SIPPeer) {
        let inviteKey = key.invitePeerOfCancel()
        let invite = inviteKey.flatMap { serverTransactions[$0] }
        let localTag = invite?.callKey?.localTag ?? SIPTokens.tag()
        var inviteMachine: ServerInviteTransaction?
        if case .invite(let machine)? = invite?.machine { inviteMachine = machine }
        let answers = uasCore.cancelReceived(request, invite: invite.flatMap { entry in inviteMachine.map { (entry.request, $0) } }, toTag: localTag)
        // The CANCEL has a non-INVITE server transaction of its own (§9.2).
        if (try? serverTransactions.insert(
            ServerEntry(machine: ServerTransaction(method: "CANCEL", isReliable: peer.transport.isReliable, timers: configuration.timers), request: request, peer: peer),
            for: key, from: peer.host
        )) != nil {
            _ = startServer(key, sendTrying: false)
            respond(key, with: answers.cancelResponse)
        } else {
            send(.response(answers.cancelResponse), to: responsePeer(for: answers.cancelResponse, requestFrom: peer))
        }
        if let inviteKey, let terminated = answers.inviteResponse {
            respond(inviteKey, with: terminated)
            if let callKey = invite?.callKey { runSession(callKey) { $0.cancelReceived() } }
        }
    }

    // MARK: Calls

    private func newCallReceived(_ request: SIPRequest, key: TransactionKey, from peer: SIPPeer, localTag: String) {
        guard let callID = try? request.headers.callID() else { return }
        if calls.count >= configuration.maxCalls {
            respond(key, with: serviceUnavailable(replyingTo: request, toTag: localTag))
            return
        }
        if let settings = configuration.sessionTimer, case .tooSmall(let minSE) = SessionTimer.negotiate(request, settings: settings) {
            // RFC 4028 §8.1, §9: the requested session interval is below our Min-SE.
            var tooSmall = SIPResponse(replyingTo: request, statusCode: 422, toTag: localTag)
            for (name, value) in SessionTimer.tooSmallHeaders(minSE: minSE) { tooSmall.headers.add(name, value) }
            logger.info("sip.session_timer.too_small", metadata: ["call-id": "\(callID)", "min-se": "\(minSE)"])
            respond(key, with: tooSmall)
            return
        }
        let callKey = SIPCallKey(callID: callID, localTag: localTag)
        let (events, continuation) = AsyncStream.makeStream(of: SIPCallEvent.self)
        let session = InviteSession(incoming: request, localTag: localTag, localContact: makeContact(peer.transport), sessionTimer: configuration.sessionTimer)
        calls[callKey] = CallState(session: session, invite: request, inviteKey: key, peer: peer, continuation: continuation)
        serverTransactions[key]?.callKey = callKey
        incomingContinuation.yield(SIPCall(endpoint: self, key: callKey, direction: .incoming, request: request, remote: peer, events: events))
    }

    /// Sends a provisional response (180, 183) to an incoming call, creating the early dialog (§12.1.1).
    func provisional(_ callKey: SIPCallKey, statusCode: Int, sdp: ByteBuffer?) {
        runSession(callKey, SessionInputContext(sdp: sdp)) { $0.ring(statusCode: statusCode) }
    }

    /// Answers an incoming call with 200 and our SDP (§13.3.1.4) and resends the 2xx until the ACK.
    func answer(_ callKey: SIPCallKey, sdp: ByteBuffer) {
        runSession(callKey, SessionInputContext(sdp: sdp)) { $0.answer() }
    }

    /// Starts resending `response` (a 2xx to INVITE) until the ACK (§13.3.1.4).
    func startSuccessRetransmission(_ callKey: SIPCallKey, response: SIPResponse) {
        guard var call = calls[callKey] else { return }
        let retransmission = SuccessResponseRetransmission(timers: configuration.timers)
        call.successRetransmission = retransmission
        call.successResponse = response
        calls[callKey] = call
        runSuccess(retransmission.start(), callKey: callKey)
    }

    private func runSuccess(_ actions: [SuccessResponseRetransmission.Action], callKey: SIPCallKey) {
        for action in actions {
            guard var call = calls[callKey] else { return }
            switch action {
            case .retransmitResponse:
                if let response = call.successResponse { send(.response(response), to: responsePeer(for: response, requestFrom: call.peer)) }
            case .startTimer(let timer, let delay):
                call.successTimers[timer]?.cancel()
                call.successTimers[timer] = schedule(delay) { [weak self] in self?.successTimerFired(timer, callKey: callKey) }
                calls[callKey] = call
            case .cancelTimer(let timer):
                call.successTimers.removeValue(forKey: timer)?.cancel()
                calls[callKey] = call
            case .reportACKTimeout:
                // §13.3.1.4: no ACK — confirm and end the session with BYE.
                logger.info("sip.call.ack_timeout", metadata: ["call-id": "\(callKey.callID)"])
                runSession(callKey) { $0.successACKTimedOut() }
            }
        }
    }

    private func successTimerFired(_ timer: SuccessResponseRetransmission.Timer, callKey: SIPCallKey) {
        guard var call = calls[callKey], var retransmission = call.successRetransmission else { return }
        call.successTimers[timer] = nil
        let actions = retransmission.timerFired(timer)
        call.successRetransmission = retransmission
        calls[callKey] = call
        runSuccess(actions, callKey: callKey)
    }

    /// Rejects an incoming call that has not been answered (§13.3.1.3), with optional extra headers.
    func reject(_ callKey: SIPCallKey, statusCode: Int, reasonPhrase: String?, headers: [(SIPHeaderName, String)]) {
        runSession(callKey, SessionInputContext(headers: headers)) { $0.reject(statusCode: statusCode, reasonPhrase: reasonPhrase) }
    }

    /// Makes an incoming call's final failure response (rejection, or 487 after CANCEL) end it only at
    /// the ACK carrying our To tag (`.confirmed`, then `.ended`) or at Timer H (`.timeout`). That ACK
    /// proves the caller received our response at the address it gave (§17.2.1, §18.2.2).
    func awaitFinalACK(_ callKey: SIPCallKey) {
        calls[callKey]?.session.awaitFailureACK()
    }

    // MARK: In-dialog requests

    /// A request carrying a To tag (§12.2.2): matched to a call by Call-ID and our tag, else 481.
    private func inDialogRequestReceived(_ request: SIPRequest, key: TransactionKey, toTag: String) {
        guard let callID = try? request.headers.callID() else { return }
        let callKey = SIPCallKey(callID: callID, localTag: toTag)
        guard var call = calls[callKey], let outcome = call.session.dialogRequestReceived(request), let dialog = call.session.dialog else {
            respond(key, with: SIPResponse(replyingTo: request, statusCode: 481))
            return
        }
        calls[callKey] = call
        if let response = uasCore.inDialogResponse(to: request, outcome: outcome) {
            var response = response
            if response.statusCode == 200, request.method == .options {
                // §11.2 inside a dialog: our tag on To, with Allow, Accept and Supported kept.
                var inDialog = dialog.makeResponse(to: request, statusCode: 200)
                for name in [SIPHeaderName.allow, .accept, .supported] { inDialog.headers.copy(name, from: response.headers) }
                response = inDialog
            }
            respond(key, with: response)
            guard case .accepted = outcome else { return }
            switch request.method {
            case .bye:
                runSession(callKey) { $0.byeReceived() }
            case .info:
                call.continuation.yield(.info(contentType: request.headers[.contentType], body: request.body))
            case .invite, .ack, .cancel, .register, .prack, .subscribe, .notify, .publish, .refer, .message, .update, .options, .extension:
                break
            }
            return
        }
        guard request.method == .invite || request.method == .update else {
            respond(key, with: dialog.makeResponse(to: request, statusCode: 501))
            return
        }
        // re-INVITE (§14.2) or UPDATE (RFC 3311 §5.2): keep the call; a session refresh restarts the
        // session timer (RFC 4028 §9), or is refused with 422 when its interval is below our Min-SE.
        let hasOffer = request.body.readableBytes > 0
        guard !hasOffer || call.localSDP != nil, request.method == .update || call.localSDP != nil else {
            // RFC 3311 §5.2: an offer we cannot answer yet (no SDP of ours before the answer).
            respond(key, with: dialog.makeResponse(to: request, statusCode: 488))
            return
        }
        var refresh: InviteSession.RefreshAnswer?
        if var updated = calls[callKey] {
            refresh = updated.session.refreshReceived(request)
            calls[callKey] = updated
        }
        var response = dialog.makeResponse(to: request, statusCode: refresh?.statusCode ?? 200)
        if let refresh {
            for field in refresh.headers { response.headers.add(field.name, field.value) }
        }
        guard response.statusCode == 200 else {
            respond(key, with: response)
            return
        }
        if configuration.sessionTimer != nil { response.headers.add(.supported, "timer") }
        // A re-INVITE always gets our SDP (an answer, or our offer when it had none, §14.2); an
        // UPDATE only when it carried an offer (RFC 3311 §5.2).
        if let sdp = call.localSDP, request.method == .invite || hasOffer { response.setBody(sdp, contentType: "application/sdp") }
        respond(key, with: response)
        if request.method == .invite { startSuccessRetransmission(callKey, response: response) }
        if let refresh { runSession(callKey) { _ in refresh.actions } }
        if request.method == .invite || hasOffer { call.continuation.yield(.reinvited(offer: request.body)) }
    }
}
