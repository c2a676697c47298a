// UASCore: the answers a user agent server gives on its own before a request reaches the application
// (RFC 3261 §8.2, §9.2, §11.2), as a value with no I/O.

import SIPMessage

/// The UAS core of RFC 3261 §8.2: validates a new request with SIPMessage's `RequestValidator`
/// (400, 405 with Allow, 501, 416, 420 with Unsupported, 415 with Accept, 406), answers OPTIONS with
/// 200 carrying Allow, Accept and Supported (§11.2), applies the Max-Forwards rule for requests that
/// would be forwarded (483, §16.3 item 2), and answers CANCEL (§9.2).
public struct UASCore: Sendable {
    /// What to do with a received request outside any transaction already handled.
    public enum Decision: Sendable, Equatable {
        /// Send this response (the request does not reach the application).
        case respond(SIPResponse)
        /// Hand the request to the application (INVITE, BYE, INFO, …).
        case passToTU
    }

    /// The validator with the server's capabilities (Allow, Supported, Accept come from it).
    public var validator: RequestValidator

    /// Creates a core with the server's capabilities.
    public init(capabilities: SIPServerCapabilities = SIPServerCapabilities()) {
        self.validator = RequestValidator(capabilities: capabilities)
    }

    /// Decides on a new request (§8.2). `toTag` is put on responses that need one (§8.2.6.2);
    /// `willForward` is true only when this node would proxy the request, for the Max-Forwards check:
    /// a UA answers OPTIONS with Max-Forwards 0 normally (RFC 4475 §3.3.11 zeromf).
    public func requestReceived(_ request: SIPRequest, toTag: String, willForward: Bool = false) -> Decision {
        if let rejection = validator.validate(request) {
            return .respond(SIPResponse(replyingTo: request, rejection: rejection, toTag: toTag))
        }
        if willForward, let maxForwards = try? request.headers.maxForwards(), maxForwards == 0 {
            return .respond(SIPResponse(replyingTo: request, statusCode: 483, toTag: toTag))
        }
        switch request.method {
        case .options:
            return .respond(optionsResponse(to: request, toTag: toTag))
        case .ack:
            // An ACK that matched no transaction and no dialog is dropped by the shell (§17.2.3);
            // one that reaches here is passed up for the dialog's 2xx handling.
            return .passToTU
        case .invite, .bye, .cancel, .register, .prack, .subscribe, .notify, .publish, .info, .refer, .message, .update, .extension:
            return .passToTU
        }
    }

    /// The 200 to OPTIONS with Allow, Accept and Supported (§11.2).
    public func optionsResponse(to request: SIPRequest, toTag: String?) -> SIPResponse {
        var response = SIPResponse(replyingTo: request, statusCode: 200, toTag: toTag)
        let capabilities = validator.capabilities
        response.headers.add(.allow, capabilities.allowedMethods.map(\.description).joined(separator: ", "))
        response.headers.add(.accept, capabilities.acceptedBodyTypes.map(\.description).joined(separator: ", "))
        response.headers.add(.supported, capabilities.supportedExtensions.sorted().joined(separator: ", "))
        return response
    }

    /// The answers to a CANCEL (§9.2): `cancelResponse` is 200 when an INVITE server transaction matched
    /// (`invite` non-nil), else 481. `inviteResponse` is the 487 for that INVITE when it had no final
    /// response yet (state Proceeding); otherwise nil, the CANCEL having no effect on it.
    public func cancelReceived(_ cancel: SIPRequest, invite: (request: SIPRequest, transaction: ServerInviteTransaction)?, toTag: String) -> (cancelResponse: SIPResponse, inviteResponse: SIPResponse?) {
        guard let invite else {
            return (SIPResponse(replyingTo: cancel, statusCode: 481, toTag: toTag), nil)
        }
        let ok = SIPResponse(replyingTo: cancel, statusCode: 200, toTag: toTag)
        switch invite.transaction.state {
        case .proceeding:
            return (ok, SIPResponse(replyingTo: invite.request, statusCode: 487, toTag: toTag))
        case .completed, .confirmed, .accepted, .terminated:
            return (ok, nil)
        }
    }

    /// The answer to a request inside a dialog after `Dialog.requestReceived` (§12.2.2): the rejection
    /// status (500, 481, 400) when there is one; 200 for BYE (§15.1.2), INFO (RFC 6086 §4.2.2) and OPTIONS
    /// (§11.2); nil when the TU answers (re-INVITE: the SDP decision is the TU's, hold and resume keep the
    /// call; ACK: no answer).
    public func inDialogResponse(to request: SIPRequest, outcome: Dialog.RequestOutcome) -> SIPResponse? {
        switch outcome {
        case .rejected(let statusCode):
            return SIPResponse(replyingTo: request, statusCode: statusCode)
        case .accepted:
            switch request.method {
            case .bye, .info:
                return SIPResponse(replyingTo: request, statusCode: 200)
            case .options:
                return optionsResponse(to: request, toTag: nil)
            case .invite, .ack, .cancel, .register, .prack, .subscribe, .notify, .publish, .refer, .message, .update, .extension:
                return nil
            }
        }
    }
}
