// The UAC half of SIPEndpoint: client transactions (RFC 3261 §17.1, RFC 6026), outgoing INVITE with
// digest authentication (§22.2, RFC 7616/8760), CANCEL on ring timeout (§9.1), the ACK for 2xx
// (§13.2.2.4) and BYE (§15.1.1).

import NIOCore
import SIPMessage
import SIPStack

/// Why an outgoing call could not be started.
public struct SIPCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

extension SIPEndpoint {
    /// Places a call: sends an INVITE with `sdp` to `uri` (or to `destination`, e.g. an outbound proxy
    /// or trunk, §8.1.2), answers one 401/407 with `credentials`, and CANCELs when no final answer comes
    /// within `ringTimeout` (§9.1). Events arrive on the returned call's stream.
    public func call(
        _ uri: SIPAnyURI, from: SIPNameAddress, to: SIPNameAddress? = nil, sdp: ByteBuffer, destination: SIPPeer? = nil,
        credentials: DigestClient? = nil, ringTimeout: Duration = .seconds(30), headers: [(SIPHeaderName, String)] = []
    ) async throws -> SIPCall {
        guard let peer = destination ?? SIPRouting.requestDestination(requestURI: uri, routes: []) else {
            throw SIPCallError(description: "no route to \(uri): give a literal IP address or a destination")
        }
        return try await eventLoop.submit {
            guard !self.isShutDown else { throw SIPCallError(description: "endpoint is shut down") }
            var from = from
            let localTag = SIPTokens.tag()
            from.parameters.set("tag", localTag)
            let callID = SIPTokens.callID()
            var invite = SIPRequest(
                method: .invite, uri: uri, via: self.makeVia(peer.transport), from: from, to: to ?? SIPNameAddress(uri: uri), callID: callID, cseq: 1,
                contact: self.makeContact(peer.transport)
            )
            invite.headers.add(.allow, self.configuration.capabilities.allowedMethods.map(\.description).joined(separator: ", "))
            invite.headers.add(.userAgent, self.configuration.userAgent)
            if let settings = self.configuration.sessionTimer {
                // RFC 4028 §7.1: offer a session timer; the answer's Session-Expires decides.
                for (name, value) in SessionTimer.requestHeaders(settings: settings) { invite.headers.add(name, value) }
            }
            for (name, value) in headers { invite.headers.add(name, value) }
            invite.setBody(sdp, contentType: "application/sdp")
            let callKey = SIPCallKey(callID: callID, localTag: localTag)
            let key = try TransactionKey(clientRequest: invite)
            let (events, continuation) = AsyncStream.makeStream(of: SIPCallEvent.self)
            let session = InviteSession(
                outgoingWithCredentials: credentials != nil, localContact: self.makeContact(peer.transport), sessionTimer: self.configuration.sessionTimer
            )
            self.calls[callKey] = CallState(
                session: session, invite: invite, inviteKey: key, peer: peer, localSDP: sdp, continuation: continuation, credentials: credentials
            )
            self.runSession(callKey) { $0.start(ringTime: ringTimeout) }
            return SIPCall(endpoint: self, key: callKey, direction: .outgoing, request: invite, remote: peer, events: events)
        }.get()
    }

    /// Starts a client transaction for `request` (§17.1).
    func startClient(_ request: SIPRequest, to peer: SIPPeer, purpose: ClientPurpose) {
        guard let key = try? TransactionKey(clientRequest: request) else { return }
        clientTransactions[key] = ClientEntry(
            machine: ClientTransaction(method: request.method.description, isReliable: peer.transport.isReliable, timers: configuration.timers),
            request: request, peer: peer, purpose: purpose
        )
        runClient(key) { $0.start() }
    }

    func runClient(_ key: TransactionKey, _ input: (inout ClientTransaction) -> [ClientTransactionAction]) {
        guard var entry = clientTransactions[key] else { return }
        var actions = input(&entry.machine)
        clientTransactions[key] = entry
        // The ACK for a failure goes out before the TU acts on it (a 401 retry must follow its ACK).
        if let ack = actions.firstIndex(where: { if case .sendACK = $0 { true } else { false } }),
           let pass = actions.firstIndex(where: { if case .passResponseToTU = $0 { true } else { false } }), pass < ack {
            actions.swapAt(pass, ack)
        }
        for action in actions {
            guard var entry = clientTransactions[key] else { return }
            switch action {
            case .sendRequest:
                send(.request(entry.request), to: entry.peer)
            case .sendACK:
                if let response = entry.lastResponse {
                    send(.request(RequestBuilders.ackForNonSuccess(invite: entry.request, response: response)), to: entry.peer)
                }
            case .passResponseToTU:
                if let response = entry.lastResponse { clientResponse(response, purpose: entry.purpose, request: entry.request) }
            case .startTimer(let timer, let delay):
                entry.timers[timer]?.cancel()
                entry.timers[timer] = schedule(delay) { [weak self] in self?.runClient(key) { $0.timerFired(timer) } }
                clientTransactions[key] = entry
            case .cancelTimer(let timer):
                entry.timers.removeValue(forKey: timer)?.cancel()
                clientTransactions[key] = entry
            case .reportTimeout:
                clientFailed(entry.purpose, .timeout)
            case .reportTransportError:
                clientFailed(entry.purpose, .transportError)
            case .terminate:
                clientTransactions.removeValue(forKey: key)?.cancelTimers()
            }
        }
    }

    /// A response from the network: matched to its client transaction by branch and CSeq method
    /// (§17.1.3); strays are dropped.
    func responseReceived(_ response: SIPResponse, from peer: SIPPeer) {
        guard let key = try? TransactionKey(clientResponse: response), clientTransactions[key] != nil else {
            logger.trace("sip.response.stray", metadata: ["peer": "\(peer)", "status": "\(response.statusCode)"])
            return
        }
        clientTransactions[key]?.lastResponse = response
        runClient(key) { $0.responseReceived(statusCode: response.statusCode) }
    }

    private func clientFailed(_ purpose: ClientPurpose, _ reason: SIPCallEnd) {
        switch purpose {
        case .invite(let callKey):
            runSession(callKey) { $0.inviteTransactionFailed(reason) }
        case .bye(let callKey):
            runSession(callKey) { $0.byeCompleted() }
        case .refresh(let callKey):
            runSession(callKey) { $0.refreshTimedOut() }
        case .standalone(let request):
            request.finish(.failed(reason))
        case .cancel:
            break
        }
    }

    private func clientResponse(_ response: SIPResponse, purpose: ClientPurpose, request: SIPRequest) {
        switch purpose {
        case .invite(let callKey):
            inviteResponse(response, callKey: callKey, request: request)
        case .bye(let callKey):
            if response.statusCode >= 200 { runSession(callKey) { $0.byeCompleted() } }
        case .refresh(let callKey):
            refreshResponse(response, callKey: callKey, request: request)
        case .standalone(let standalone):
            if response.statusCode >= 200 { standalone.finish(.response(response.statusCode)) }
        case .cancel:
            break
        }
    }

    private func inviteResponse(_ response: SIPResponse, callKey: SIPCallKey, request: SIPRequest) {
        guard calls[callKey] != nil else {
            // The call ended (e.g. we gave up) but the callee answered late: ACK and BYE it (§15).
            if (200..<300).contains(response.statusCode) { acknowledgeAndHangUpOrphan(response, request: request) }
            return
        }
        let actions = runSession(callKey, SessionInputContext(response: response, request: request)) { $0.responseReceived(response, to: request) }
        if (200..<300).contains(response.statusCode), actions.isEmpty {
            logger.info("sip.call.bad_2xx", metadata: ["call-id": "\(callKey.callID)"])
        }
    }

    /// The final response to a session refresh we sent (RFC 4028 §7.4): a 2xx to a re-INVITE is ACKed
    /// (§13.2.2.4, again for each retransmitted 2xx); the session restarts its timer or hangs up.
    private func refreshResponse(_ response: SIPResponse, callKey: SIPCallKey, request: SIPRequest) {
        guard response.statusCode >= 200, let call = calls[callKey] else { return }
        if request.method == .invite, (200..<300).contains(response.statusCode), let dialog = call.session.dialog,
           let cseq = try? request.headers.cseq() {
            let (peer, via) = inDialogTarget(dialog, callPeer: call.peer)
            send(.request(dialog.makeACK(via: via, inviteSequence: cseq.sequence)), to: peer)
        }
        runSession(callKey) { $0.refreshResponseReceived(response) }
    }

    private func acknowledgeAndHangUpOrphan(_ response: SIPResponse, request: SIPRequest) {
        guard var dialog = try? Dialog(uacRequest: request, response: response) else { return }
        let (requestURI, routes) = dialog.routing()
        guard let peer = SIPRouting.requestDestination(requestURI: requestURI, routes: routes) else { return }
        send(.request(dialog.makeACK(via: makeVia(peer.transport))), to: peer)
        if let bye = try? dialog.makeRequest(method: .bye, via: makeVia(peer.transport)) {
            startClient(bye, to: peer, purpose: .cancel(SIPCallKey(callID: dialog.id.callID, localTag: dialog.id.localTag)))
        }
    }

    /// Ends a call from our side, as its session decides: BYE when answered (§15.1.1); CANCEL before
    /// the answer (outgoing, §9.1); 480 before the answer (incoming).
    func hangUp(_ callKey: SIPCallKey, reason: SIPCallEnd = .localHangUp) {
        let canCancel = inviteCanCancel(callKey)
        runSession(callKey) { $0.hangUp(reason, canCancel: canCancel) }
    }
}

extension SIPEndpoint {
    /// Sends a request inside a call's dialog (INFO, OPTIONS, …; §12.2.1.1) in a client transaction
    /// whose outcome only frees state. Call on the loop. Throws when the call has no usable dialog.
    func sendInDialog(_ callKey: SIPCallKey, method: SIPMethod, body: ByteBuffer, contentType: String?) throws {
        guard var call = calls[callKey], let dialog = call.session.dialog else { throw SIPCallError(description: "no dialog for this call") }
        let (peer, via) = inDialogTarget(dialog, callPeer: call.peer)
        var request = try call.session.makeRequest(method: method, via: via)
        if body.readableBytes > 0 { request.setBody(body, contentType: contentType) }
        calls[callKey] = call
        startClient(request, to: peer, purpose: .cancel(callKey))
    }
}
