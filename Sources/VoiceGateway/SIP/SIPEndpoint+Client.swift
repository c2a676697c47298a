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
            for (name, value) in headers { invite.headers.add(name, value) }
            invite.setBody(sdp, contentType: "application/sdp")
            let callKey = SIPCallKey(callID: callID, localTag: localTag)
            let key = try TransactionKey(clientRequest: invite)
            let (events, continuation) = AsyncStream.makeStream(of: SIPCallEvent.self)
            var state = CallState(direction: .outgoing, invite: invite, inviteKey: key, peer: peer, continuation: continuation)
            state.localSDP = sdp
            state.credentials = credentials
            state.ringTimer = self.schedule(ringTimeout) { [weak self] in self?.ringTimedOut(callKey) }
            self.calls[callKey] = state
            self.startClient(invite, to: peer, purpose: .invite(callKey))
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
            endCall(callKey, calls[callKey]?.cancelReason ?? reason)
        case .bye(let callKey):
            endCall(callKey, calls[callKey]?.cancelReason ?? .localHangUp)
        case .cancel:
            break
        }
    }

    private func clientResponse(_ response: SIPResponse, purpose: ClientPurpose, request: SIPRequest) {
        switch purpose {
        case .invite(let callKey):
            inviteResponse(response, callKey: callKey, request: request)
        case .bye(let callKey):
            if response.statusCode >= 200 { endCall(callKey, calls[callKey]?.cancelReason ?? .localHangUp) }
        case .cancel:
            break
        }
    }

    private func inviteResponse(_ response: SIPResponse, callKey: SIPCallKey, request: SIPRequest) {
        guard var call = calls[callKey] else {
            // The call ended (e.g. we gave up) but the callee answered late: ACK and BYE it (§15).
            if (200..<300).contains(response.statusCode) { acknowledgeAndHangUpOrphan(response, request: request) }
            return
        }
        switch response.statusCode {
        case 100:
            call.provisionalReceived = true
            calls[callKey] = call
            sendPendingCancel(callKey)
        case 101..<200:
            call.provisionalReceived = true
            if call.dialog == nil, (try? response.headers.to().tag) != nil {
                call.dialog = try? Dialog(uacRequest: request, response: response, localContact: makeContact(call.peer.transport))
            }
            calls[callKey] = call
            call.continuation.yield(.progress(statusCode: response.statusCode))
            sendPendingCancel(callKey)
        case 200..<300:
            if let ack = call.ackForSuccess, let ackPeer = call.ackPeer {
                // A retransmitted 2xx (RFC 6026: passed up from Accepted): the same ACK again.
                send(.request(ack), to: ackPeer)
                return
            }
            var dialog: Dialog
            if var early = call.dialog, early.id.remoteTag == (try? response.headers.to().tag) {
                early.responseReceived(response)
                dialog = early
            } else if let confirmed = try? Dialog(uacRequest: request, response: response, localContact: makeContact(call.peer.transport)) {
                dialog = confirmed
            } else {
                logger.info("sip.call.bad_2xx", metadata: ["call-id": "\(callKey.callID)"])
                return
            }
            let (requestURI, routes) = dialog.routing()
            let peer = SIPRouting.requestDestination(requestURI: requestURI, routes: routes).map { SIPPeer(call.peer.transport, $0.address) } ?? call.peer
            let ack = dialog.makeACK(via: makeVia(peer.transport))
            send(.request(ack), to: peer)
            call.dialog = dialog
            call.ackForSuccess = ack
            call.ackPeer = peer
            call.phase = .answered
            call.ringTimer?.cancel()
            call.ringTimer = nil
            calls[callKey] = call
            if let reason = call.cancelReason {
                // CANCEL lost the race with the answer: end the call at once (§9.1).
                hangUp(callKey, reason: reason)
            } else {
                call.continuation.yield(.answered(sdp: response.body))
            }
        case 401...407 where (response.statusCode == 401 || response.statusCode == 407) && call.credentials != nil && !call.authenticated && call.cancelReason == nil:
            guard var client = call.credentials,
                  let retry = try? client.retry(request, answering: response, branch: SIPTokens.branch(), cnonce: SIPTokens.random(16)),
                  let key = try? TransactionKey(clientRequest: retry)
            else {
                endCall(callKey, .failed(statusCode: response.statusCode, reason: response.reasonPhrase))
                return
            }
            call.credentials = client
            call.authenticated = true
            call.invite = retry
            call.inviteKey = key
            call.provisionalReceived = false
            calls[callKey] = call
            startClient(retry, to: call.peer, purpose: .invite(callKey))
        default:
            if let reason = call.cancelReason, response.statusCode == 487 {
                endCall(callKey, reason)
            } else {
                endCall(callKey, .failed(statusCode: response.statusCode, reason: response.reasonPhrase))
            }
        }
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

    private func ringTimedOut(_ callKey: SIPCallKey) {
        guard var call = calls[callKey], call.phase == .inviting else { return }
        call.ringTimer = nil
        call.cancelReason = .noAnswer
        calls[callKey] = call
        sendPendingCancel(callKey)
    }

    /// Sends CANCEL when one is wanted and allowed: after a provisional response (§9.1). Without any
    /// response, Timer B ends the INVITE instead.
    func sendPendingCancel(_ callKey: SIPCallKey) {
        guard var call = calls[callKey], call.direction == .outgoing, call.phase == .inviting, call.cancelReason != nil,
              call.provisionalReceived, !call.cancelSent else { return }
        call.cancelSent = true
        calls[callKey] = call
        startClient(RequestBuilders.cancel(for: call.invite), to: call.peer, purpose: .cancel(callKey))
    }

    /// Ends a call from our side: BYE when answered (§15.1.1); CANCEL before the answer (outgoing);
    /// 480 before the answer (incoming).
    func hangUp(_ callKey: SIPCallKey, reason: SIPCallEnd = .localHangUp) {
        guard var call = calls[callKey] else { return }
        switch (call.direction, call.phase) {
        case (_, .ending):
            return
        case (.incoming, .inviting):
            reject(callKey, statusCode: 480, reasonPhrase: nil, headers: [])
        case (.outgoing, .inviting):
            call.cancelReason = reason
            calls[callKey] = call
            sendPendingCancel(callKey)
        case (_, .answered):
            guard var dialog = call.dialog else { return endCall(callKey, reason) }
            let (requestURI, routes) = dialog.routing()
            let peer = SIPRouting.requestDestination(requestURI: requestURI, routes: routes).map { SIPPeer(call.peer.transport, $0.address) } ?? call.peer
            guard let bye = try? dialog.makeRequest(method: .bye, via: makeVia(peer.transport)) else { return endCall(callKey, reason) }
            dialog.terminate()
            call.dialog = dialog
            call.phase = .ending
            call.cancelReason = reason
            for timer in call.successTimers.values { timer.cancel() }
            call.successTimers = [:]
            calls[callKey] = call
            startClient(bye, to: peer, purpose: .bye(callKey))
        }
    }
}

extension SIPEndpoint {
    /// Sends a request inside a call's dialog (INFO, OPTIONS, …; §12.2.1.1) in a client transaction
    /// whose outcome only frees state. Call on the loop. Throws when the call has no usable dialog.
    func sendInDialog(_ callKey: SIPCallKey, method: SIPMethod, body: ByteBuffer, contentType: String?) throws {
        guard var call = calls[callKey], var dialog = call.dialog else { throw SIPCallError(description: "no dialog for this call") }
        let (requestURI, routes) = dialog.routing()
        let peer = SIPRouting.requestDestination(requestURI: requestURI, routes: routes).map { SIPPeer(call.peer.transport, $0.address) } ?? call.peer
        var request = try dialog.makeRequest(method: method, via: makeVia(peer.transport))
        if body.readableBytes > 0 { request.setBody(body, contentType: contentType) }
        call.dialog = dialog
        calls[callKey] = call
        startClient(request, to: peer, purpose: .cancel(callKey))
    }
}
