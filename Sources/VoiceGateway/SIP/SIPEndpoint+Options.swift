// OPTIONS outside a dialog (RFC 3261 §11) in a non-INVITE client transaction (§17.1.2): the
// `qualify` ping of a trunk (TrunkQualifier.swift). Its outcome is the final response's status, or
// the transaction's timeout (Timer F) or transport error.

import NIOCore
import SIPMessage
import SIPStack
import Synchronization

/// How a request sent outside a dialog ended.
public enum SIPRequestOutcome: Sendable, Equatable {
    /// A final response with this status (§8.1.3.2).
    case response(Int)
    /// No final response: `.timeout` (Timer F, §17.1.2.2), `.transportError` (§8.1.3.1) or
    /// `.shutdown`.
    case failed(SIPCallEnd)
}

/// Completes a standalone request's waiter once (a late second report is ignored).
final class StandaloneRequest: Sendable {
    private let continuation = Mutex<CheckedContinuation<SIPRequestOutcome, Never>?>(nil)

    init(_ continuation: CheckedContinuation<SIPRequestOutcome, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func finish(_ outcome: SIPRequestOutcome) {
        continuation.withLock { $0.take() }?.resume(returning: outcome)
    }
}

extension SIPEndpoint {
    /// Sends OPTIONS to `uri` (§11.1) at `peer`, the next hop, and waits for its final response or
    /// its failure; never longer than the transaction's Timer F (64·T1).
    public func options(_ uri: SIPAnyURI, to peer: SIPPeer) async -> SIPRequestOutcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<SIPRequestOutcome, Never>) in
            let waiter = StandaloneRequest(continuation)
            eventLoop.execute {
                guard !self.isShutDown else { return waiter.finish(.failed(.shutdown)) }
                var from = self.makeContact(peer.transport)
                from.parameters.set("tag", SIPTokens.tag())
                var request = SIPRequest(
                    method: .options, uri: uri, via: self.makeVia(peer.transport), from: from, to: SIPNameAddress(uri: uri), callID: SIPTokens.callID(), cseq: 1,
                    contact: self.makeContact(peer.transport)
                )
                request.headers.add(.accept, "application/sdp")
                request.headers.add(.userAgent, self.configuration.userAgent)
                guard (try? TransactionKey(clientRequest: request)) != nil else { return waiter.finish(.failed(.transportError)) }
                self.startClient(request, to: peer, purpose: .request { outcome in
                    switch outcome {
                    case .response(let response): waiter.finish(.response(response.statusCode))
                    case .timeout: waiter.finish(.failed(.timeout))
                    case .transportError: waiter.finish(.failed(.transportError))
                    }
                })
            }
        }
    }
}
