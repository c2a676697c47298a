// SIPEndpoint runs each call's InviteSession (RFC 3261 §13, §9, §15): it hands the session its
// inputs and executes the actions it returns — builds the messages, starts the transactions, keeps
// the timers and reports to the application. The decisions are the session's.

import NIOCore
import SIPMessage
import SIPStack

/// What an input brought besides the session's own state, for the actions that build messages.
struct SessionInputContext {
    /// The response to our INVITE being handled, and the INVITE it answers.
    var response: SIPResponse?
    var request: SIPRequest?
    /// Our SDP for a provisional response (early media) or the answer.
    var sdp: ByteBuffer?
    /// Extra headers for a rejection.
    var headers: [(SIPHeaderName, String)] = []
}

extension SIPEndpoint {
    /// Applies `input` to the session of `callKey` and runs the actions it returns. Call on the loop.
    @discardableResult
    func runSession(
        _ callKey: SIPCallKey, _ context: SessionInputContext = SessionInputContext(), _ input: (inout InviteSession) -> [InviteSession.Action]
    ) -> [InviteSession.Action] {
        guard var call = calls[callKey] else { return [] }
        let actions = input(&call.session)
        calls[callKey] = call
        for action in actions { perform(action, callKey: callKey, context: context) }
        return actions
    }

    /// Whether the call's current INVITE client transaction allows CANCEL (§9.1): the one source of
    /// that truth is `ClientInviteTransaction.canCancel`.
    func inviteCanCancel(_ callKey: SIPCallKey) -> Bool {
        guard let key = calls[callKey]?.inviteKey, case .invite(let machine)? = clientTransactions[key]?.machine else { return false }
        return machine.canCancel
    }

    /// Where a request in `dialog` goes — Request-URI and Route (§12.2.1.1), the first hop over the
    /// call's transport (§8.1.2, §18.1.1) — and a fresh Via for it (§8.1.1.7). Over TLS, a first hop
    /// at the call peer's IP is the call's own connection (RFC 5923 §1: a TLS client such as a
    /// softphone has no certificate to accept connections with), and keeps the server name to verify.
    func inDialogTarget(_ dialog: Dialog, callPeer: SIPPeer) -> (peer: SIPPeer, via: SIPVia) {
        let (requestURI, routes) = dialog.routing()
        var peer = SIPRouting.requestDestination(requestURI: requestURI, routes: routes).map { SIPPeer(callPeer.transport, $0.address, serverName: callPeer.serverName) } ?? callPeer
        if peer.transport == .tls, peer.address.ipAddress == callPeer.address.ipAddress { peer = callPeer }
        return (peer, makeVia(peer.transport))
    }

    private func perform(_ action: InviteSession.Action, callKey: SIPCallKey, context: SessionInputContext) {
        guard var call = calls[callKey] else { return }
        switch action {
        case .sendINVITE:
            startClient(call.invite, to: call.peer, purpose: .invite(callKey))
        case .retryWithCredentials:
            guard var client = call.credentials, let response = context.response, let request = context.request,
                  let retry = try? client.retry(request, answering: response, branch: SIPTokens.branch(), cnonce: SIPTokens.random(16)),
                  let key = try? TransactionKey(clientRequest: retry)
            else {
                let (statusCode, reason) = (context.response?.statusCode ?? 401, context.response?.reasonPhrase ?? "Unauthorized")
                runSession(callKey) { $0.retryFailed(statusCode: statusCode, reasonPhrase: reason) }
                return
            }
            call.credentials = client
            call.invite = retry
            call.inviteKey = key
            calls[callKey] = call
            startClient(retry, to: call.peer, purpose: .invite(callKey))
        case .retryWithSessionInterval:
            guard let settings = call.session.sessionTimerSettings,
                  let retry = SessionTimer.retry(call.invite, settings: settings, branch: SIPTokens.branch()),
                  let key = try? TransactionKey(clientRequest: retry)
            else {
                runSession(callKey) { $0.retryFailed(statusCode: 422, reasonPhrase: "Session Interval Too Small") }
                return
            }
            logger.info("sip.session_timer.retry_422", metadata: ["call-id": "\(callKey.callID)", "session-expires": "\(settings.sessionExpires)"])
            call.invite = retry
            call.inviteKey = key
            calls[callKey] = call
            startClient(retry, to: call.peer, purpose: .invite(callKey))
        case .sendSessionRefresh(let method):
            guard let dialog = call.session.dialog, let timer = call.session.sessionTimer else { return }
            let (peer, via) = inDialogTarget(dialog, callPeer: call.peer)
            guard var refresh = try? call.session.makeRequest(method: method, via: via) else { return }
            for (name, value) in timer.refreshHeaders { refresh.headers.add(name, value) }
            // RFC 4028 §7.4: a re-INVITE refresh offers our unchanged SDP; UPDATE goes without.
            if method == .invite, let sdp = call.localSDP { refresh.setBody(sdp, contentType: "application/sdp") }
            calls[callKey] = call
            logger.debug("sip.session_timer.refresh", metadata: ["call-id": "\(callKey.callID)", "method": "\(method)"])
            startClient(refresh, to: peer, purpose: .refresh(callKey))
        case .sendCANCEL:
            startClient(RequestBuilders.cancel(for: call.invite), to: call.peer, purpose: .cancel(callKey))
        case .sendACK:
            guard let dialog = call.session.dialog else { return }
            let (peer, via) = inDialogTarget(dialog, callPeer: call.peer)
            let ack = dialog.makeACK(via: via)
            send(.request(ack), to: peer)
            call.ackForSuccess = ack
            call.ackPeer = peer
            calls[callKey] = call
        case .resendACK:
            if let ack = call.ackForSuccess, let peer = call.ackPeer { send(.request(ack), to: peer) }
        case .sendBYE:
            guard let dialog = call.session.dialog else {
                runSession(callKey) { $0.byeCompleted() }
                return
            }
            let (peer, via) = inDialogTarget(dialog, callPeer: call.peer)
            guard let bye = try? call.session.makeBYE(via: via) else {
                runSession(callKey) { $0.byeCompleted() }
                return
            }
            calls[callKey] = call
            startClient(bye, to: peer, purpose: .bye(callKey))
        case .sendProvisional(let statusCode):
            var response = SIPResponse(replyingTo: call.invite, statusCode: statusCode, toTag: callKey.localTag)
            response.headers.add(.contact, makeContact(call.peer.transport).description)
            if let sdp = context.sdp { response.setBody(sdp, contentType: "application/sdp") }
            respond(call.inviteKey, with: response)
        case .sendAnswer:
            let sdp = context.sdp ?? ByteBuffer()
            var response = SIPResponse(replyingTo: call.invite, statusCode: 200, toTag: callKey.localTag)
            response.headers.add(.contact, call.session.localContact.description)
            response.headers.add(.allow, configuration.capabilities.allowedMethods.map(\.description).joined(separator: ", "))
            if configuration.sessionTimer != nil { response.headers.add(.supported, "timer") }
            for (name, value) in call.session.sessionTimer?.responseHeaders ?? [] { response.headers.add(name, value) }
            response.setBody(sdp, contentType: "application/sdp")
            call.localSDP = sdp
            calls[callKey] = call
            respond(call.inviteKey, with: response)
            startSuccessRetransmission(callKey, response: response)
        case .sendFinalResponse(let statusCode, let reasonPhrase):
            var response = SIPResponse(replyingTo: call.invite, statusCode: statusCode, reasonPhrase: reasonPhrase, toTag: callKey.localTag)
            for (name, value) in context.headers { response.headers.add(name, value) }
            respond(call.inviteKey, with: response)
        case .stopSuccessRetransmission:
            for timer in call.successTimers.values { timer.cancel() }
            call.successTimers = [:]
            calls[callKey] = call
        case .startTimer(let timer, let delay):
            call.sessionTimers[timer]?.cancel()
            call.sessionTimers[timer] = schedule(delay) { [weak self] in self?.sessionTimerFired(timer, callKey: callKey) }
            calls[callKey] = call
        case .cancelTimer(let timer):
            call.sessionTimers.removeValue(forKey: timer)?.cancel()
            calls[callKey] = call
        case .report(.progress(let statusCode)):
            call.continuation.yield(.progress(statusCode: statusCode))
        case .report(.answered):
            call.continuation.yield(.answered(sdp: context.response?.body ?? ByteBuffer()))
        case .report(.confirmed):
            call.continuation.yield(.confirmed)
        case .end(let reason):
            endCall(callKey, reason)
        }
    }

    private func sessionTimerFired(_ timer: InviteSession.Timer, callKey: SIPCallKey) {
        calls[callKey]?.sessionTimers[timer] = nil
        switch timer {
        case .ringTime:
            let canCancel = inviteCanCancel(callKey)
            runSession(callKey) { $0.ringTimeExpired(canCancel: canCancel) }
        case .sessionRefresh:
            runSession(callKey) { $0.sessionTimerFired(timer) }
        case .sessionExpiry:
            logger.info("sip.session_timer.expired", metadata: ["call-id": "\(callKey.callID)"])
            runSession(callKey) { $0.sessionTimerFired(timer) }
        }
    }

    /// Removes a call and ends its event stream. Transactions finish on their own.
    func endCall(_ callKey: SIPCallKey, _ reason: SIPCallEnd) {
        guard let call = calls.removeValue(forKey: callKey) else { return }
        call.cancelTimers()
        call.continuation.yield(.ended(reason))
        call.continuation.finish()
    }
}
