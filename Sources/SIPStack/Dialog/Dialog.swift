// Dialog: the dialog state of RFC 3261 §12 for UAC and UAS, as a value with no I/O.

import SIPMessage

/// A SIP dialog (RFC 3261 §12): identifier, sequence numbers, local and remote URIs, remote target
/// and route set, in the states early, confirmed and terminated (§12.1, §12.3).
public struct Dialog: Sendable, Equatable {
    /// Which side created the dialog (§12.1.1, §12.1.2).
    public enum Role: Sendable, Equatable {
        /// We sent the dialog-creating request.
        case uac
        /// We received the dialog-creating request.
        case uas
    }

    /// The dialog states (§12, §12.3).
    public enum State: Sendable, Equatable {
        /// Created by a provisional response with a To tag (§12.1).
        case early
        /// Created or confirmed by a 2xx (§12.1).
        case confirmed
        /// Ended by BYE, or a non-2xx final response to the creating request (§12.3, §15).
        case terminated
    }

    /// The dialog ID: Call-ID, local tag and remote tag (§12).
    public struct ID: Sendable, Hashable {
        /// The Call-ID.
        public var callID: String
        /// Our tag (From tag for the UAC, To tag for the UAS).
        public var localTag: String
        /// The peer's tag.
        public var remoteTag: String

        /// Creates an ID.
        public init(callID: String, localTag: String, remoteTag: String) {
            self.callID = callID
            self.localTag = localTag
            self.remoteTag = remoteTag
        }

        /// The ID a received in-dialog request belongs to: local = To tag, remote = From tag (§12.2.2).
        public init?(incomingRequest request: SIPRequest) {
            guard let callID = try? request.headers.callID(), let local = try? request.headers.to().tag,
                  let remote = try? request.headers.from().tag else { return nil }
            self.init(callID: callID, localTag: local, remoteTag: remote)
        }

        /// The ID a received response belongs to: local = From tag, remote = To tag (§12.1.2).
        public init?(incomingResponse response: SIPResponse) {
            guard let callID = try? response.headers.callID(), let local = try? response.headers.from().tag,
                  let remote = try? response.headers.to().tag else { return nil }
            self.init(callID: callID, localTag: local, remoteTag: remote)
        }
    }

    /// Methods that refresh the remote target (§12.2; re-INVITE, and UPDATE of RFC 3311).
    public static let targetRefreshMethods: [SIPMethod] = [.invite, .update]

    /// The side we are.
    public let role: Role
    /// The current state.
    public private(set) var state: State
    /// The dialog ID.
    public let id: ID
    /// Our address with our tag (From of our requests).
    public let localAddress: SIPNameAddress
    /// The peer's address with its tag (To of our requests).
    public let remoteAddress: SIPNameAddress
    /// Where in-dialog requests go: the peer's Contact (§12.1.1, §12.1.2), refreshed by target refresh.
    public private(set) var remoteTarget: SIPAnyURI
    /// The route set from Record-Route: in order for the UAS, reversed for the UAC (§12.1.1, §12.1.2).
    public private(set) var routeSet: [SIPNameAddress]
    /// Our CSeq counter; nil until we send a request (UAS, §12.1.1).
    public private(set) var localSequence: UInt32?
    /// The peer's highest CSeq; nil until it sends a request (UAC, §12.1.2).
    public private(set) var remoteSequence: UInt32?
    /// Whether the dialog is secure (sips Request-URI over TLS, §12.1.1).
    public let isSecure: Bool
    /// Our Contact, put on requests we build.
    public var localContact: SIPNameAddress?
    /// The CSeq of the INVITE that created or last re-INVITEd the dialog, for its 2xx ACK (§13.2.2.4).
    public private(set) var lastInviteSequence: UInt32?

    private init(
        role: Role, state: State, id: ID, localAddress: SIPNameAddress, remoteAddress: SIPNameAddress, remoteTarget: SIPAnyURI,
        routeSet: [SIPNameAddress], localSequence: UInt32?, remoteSequence: UInt32?, isSecure: Bool, localContact: SIPNameAddress?, lastInviteSequence: UInt32?
    ) {
        self.role = role
        self.state = state
        self.id = id
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
        self.localSequence = localSequence
        self.remoteSequence = remoteSequence
        self.isSecure = isSecure
        self.localContact = localContact
        self.lastInviteSequence = lastInviteSequence
    }

    /// Creates the UAC side from our request and a response carrying a To tag: a 101–199 gives an early
    /// dialog, a 2xx a confirmed one (§12.1.2). Route set: Record-Route of the response, reversed;
    /// remote target: its Contact; local sequence: the request's CSeq; remote sequence empty.
    public init(uacRequest request: SIPRequest, response: SIPResponse, localContact: SIPNameAddress? = nil) throws(SIPStackError) {
        let state: State
        switch response.statusCode {
        case 101...199: state = .early
        case 200...299: state = .confirmed
        default: throw SIPStackError(.invalidDialogState, "status \(response.statusCode) does not create a dialog")
        }
        let parts = try Self.parts { () throws(SIPParseError) in
            (try request.headers.from(), try response.headers.to(), try request.headers.callID(), try request.headers.cseq(),
             try response.headers.recordRoute(), try response.headers.contact())
        }
        guard let localTag = parts.0.tag else { throw SIPStackError(.missingHeader, "request From has no tag") }
        guard let remoteTag = parts.1.tag else { throw SIPStackError(.missingHeader, "response To has no tag") }
        let target = try Self.target(from: parts.5, fallback: state == .early)
        self.init(
            role: .uac, state: state, id: ID(callID: parts.2, localTag: localTag, remoteTag: remoteTag),
            localAddress: parts.0, remoteAddress: parts.1, remoteTarget: target ?? (try? request.uri()) ?? .sip(SIPURI(host: "invalid")),
            routeSet: parts.4.reversed(), localSequence: parts.3.sequence, remoteSequence: nil,
            isSecure: request.uriText.lowercased().hasPrefix("sips:"), localContact: localContact,
            lastInviteSequence: request.method == .invite ? parts.3.sequence : nil
        )
    }

    /// Creates the UAS side when we answer `request` with a 1xx (early) or 2xx (confirmed) carrying
    /// `localTag` in To (§12.1.1). Route set: Record-Route of the request in order; remote target: its
    /// Contact; remote sequence: its CSeq; local sequence empty.
    public init(uasRequest request: SIPRequest, localTag: String, confirmed: Bool, localContact: SIPNameAddress? = nil) throws(SIPStackError) {
        let parts = try Self.parts { () throws(SIPParseError) in
            (try request.headers.from(), try request.headers.to(), try request.headers.callID(), try request.headers.cseq(),
             try request.headers.recordRoute(), try request.headers.contact())
        }
        guard let remoteTag = parts.0.tag else { throw SIPStackError(.missingHeader, "request From has no tag") }
        guard let target = try Self.target(from: parts.5, fallback: false) else { throw SIPStackError(.missingHeader, "request has no Contact") }
        var local = parts.1
        local.tag = localTag
        self.init(
            role: .uas, state: confirmed ? .confirmed : .early, id: ID(callID: parts.2, localTag: localTag, remoteTag: remoteTag),
            localAddress: local, remoteAddress: parts.0, remoteTarget: target, routeSet: parts.4, localSequence: nil,
            remoteSequence: parts.3.sequence, isSecure: request.uriText.lowercased().hasPrefix("sips:"), localContact: localContact,
            lastInviteSequence: request.method == .invite ? parts.3.sequence : nil
        )
    }

    // MARK: Inputs

    /// What a received in-dialog request means for the dialog (§12.2.2).
    public enum RequestOutcome: Sendable, Equatable {
        /// Pass to the TU; for BYE the dialog is now terminated (§15.1.2) and the answer is 200.
        case accepted(refreshedTarget: Bool)
        /// Answer with this status without passing the request up: 500 for a CSeq lower than the
        /// remote sequence (§12.2.2), 481 for a terminated dialog (§12.2.2).
        case rejected(statusCode: Int)
    }

    /// A request within this dialog arrived (§12.2.2): checks the CSeq (ACK and CANCEL carry the
    /// INVITE's and are not checked), refreshes the remote target on re-INVITE/UPDATE (§12.2.2) and
    /// terminates on BYE (§15.1.2).
    public mutating func requestReceived(_ request: SIPRequest) -> RequestOutcome {
        switch state {
        case .terminated:
            return .rejected(statusCode: 481)
        case .early, .confirmed:
            break
        }
        guard let cseq = try? request.headers.cseq() else { return .rejected(statusCode: 400) }
        switch request.method {
        case .ack, .cancel:
            return .accepted(refreshedTarget: false)
        case .invite, .bye, .options, .info, .update, .register, .prack, .subscribe, .notify, .publish, .refer, .message, .extension:
            break
        }
        if let remoteSequence, cseq.sequence < remoteSequence { return .rejected(statusCode: 500) }
        remoteSequence = cseq.sequence
        var refreshed = false
        if Self.targetRefreshMethods.contains(request.method), case .addresses(let contacts)? = try? request.headers.contact(), let first = contacts.first {
            remoteTarget = first.uri
            refreshed = true
        }
        if request.method == .invite { lastInviteSequence = cseq.sequence }
        if request.method == .bye { state = .terminated }
        return .accepted(refreshedTarget: refreshed)
    }

    /// A response to a request we sent in (or to create) this dialog arrived (§12.1.2, §12.2.1.2, §13.2.2.4):
    /// a 2xx confirms an early dialog (recomputing its route set from the 2xx) and a 2xx to a target
    /// refresh replaces the remote target; a non-2xx final to the creating INVITE ends an early dialog;
    /// 481 and 408 end the dialog (§12.2.1.2).
    public mutating func responseReceived(_ response: SIPResponse) {
        guard let cseq = try? response.headers.cseq() else { return }
        switch (state, response.statusCode) {
        case (.terminated, _):
            return
        case (.early, 200...299):
            state = .confirmed
            if let recordRoute = try? response.headers.recordRoute() { routeSet = recordRoute.reversed() }
            refreshTarget(from: response)
        case (.confirmed, 200...299):
            if Self.targetRefreshMethods.contains(cseq.method) { refreshTarget(from: response) }
        case (.early, 300...699) where cseq.method == .invite:
            state = .terminated
        case (.early, 481), (.confirmed, 481), (.early, 408), (.confirmed, 408):
            state = .terminated
        case (.early, _), (.confirmed, _):
            return
        }
    }

    /// We sent a final response to the dialog-creating INVITE (UAS, §12.1.1, §13.3.1.4): 2xx confirms
    /// an early dialog, a non-2xx ends it.
    public mutating func finalResponseSent(statusCode: Int) {
        switch (state, statusCode) {
        case (.early, 200...299): state = .confirmed
        case (.early, 300...699): state = .terminated
        case (.early, _), (.confirmed, _), (.terminated, _): return
        }
    }

    /// Ends the dialog locally (after we send BYE, §15.1.1, or on a timeout).
    public mutating func terminate() { state = .terminated }

    // MARK: Outputs

    /// Builds a request within the dialog (§12.2.1.1): To/From with tags, Call-ID, the next local CSeq,
    /// Request-URI and Route from the remote target and route set (loose or strict routing), our
    /// Contact, and `via` (the caller picks a fresh branch, §8.1.1.7). ACK is built by `makeACK`.
    public mutating func makeRequest(method: SIPMethod, via: SIPVia, maxForwards: Int = 70) throws(SIPStackError) -> SIPRequest {
        switch state {
        case .terminated: throw SIPStackError(.invalidDialogState, "dialog is terminated")
        case .early, .confirmed: break
        }
        let sequence = (localSequence ?? 0) &+ 1
        localSequence = sequence
        if method == .invite { lastInviteSequence = sequence }
        return build(method: method, sequence: sequence, via: via, maxForwards: maxForwards)
    }

    /// Builds the ACK for a 2xx to the INVITE with CSeq `inviteSequence` (default: the last INVITE),
    /// routed like any in-dialog request (§13.2.2.4, §12.2.1.1); its CSeq method is ACK and the number
    /// that of the INVITE.
    public func makeACK(via: SIPVia, inviteSequence: UInt32? = nil, maxForwards: Int = 70) -> SIPRequest {
        build(method: .ack, sequence: inviteSequence ?? lastInviteSequence ?? localSequence ?? 1, via: via, maxForwards: maxForwards)
    }

    private func build(method: SIPMethod, sequence: UInt32, via: SIPVia, maxForwards: Int) -> SIPRequest {
        var headers = SIPHeaders()
        headers.add(.via, via.description)
        headers.add(.maxForwards, String(maxForwards))
        headers.add(.from, localAddress.description)
        headers.add(.to, remoteAddress.description)
        headers.add(.callID, id.callID)
        headers.add(.cseq, SIPCSeq(sequence, method).description)
        let (requestURI, routes) = routing()
        for route in routes { headers.add(.route, route.description) }
        if let localContact, method != .bye, method != .ack { headers.add(.contact, localContact.description) }
        headers.add(.contentLength, "0")
        return SIPRequest(method: method, uri: requestURI, headers: headers)
    }

    /// A response to a request received in this dialog (§12.2.2, §8.2.6): To carries our tag; a 2xx to
    /// INVITE or UPDATE carries our Contact (§12.1.1, §13.3.1.4), as when answering a re-INVITE for hold
    /// or resume (the SDP body is the TU's to set).
    public func makeResponse(to request: SIPRequest, statusCode: Int) -> SIPResponse {
        var response = SIPResponse(replyingTo: request, statusCode: statusCode, toTag: id.localTag)
        if (200..<300).contains(statusCode), Self.targetRefreshMethods.contains(request.method), let localContact {
            response.headers.add(.contact, localContact.description)
        }
        return response
    }

    /// Request-URI and Route headers per §12.2.1.1: with an empty route set or a loose router first,
    /// Request-URI = remote target and Route = route set; with a strict router first, Request-URI = its
    /// URI (without parameters not allowed there) and the remote target appended as the last Route.
    public func routing() -> (requestURI: SIPAnyURI, routes: [SIPNameAddress]) {
        guard let first = routeSet.first else { return (remoteTarget, []) }
        if case .sip(let uri) = first.uri, !uri.isLooseRouting {
            var stripped = uri
            for name in ["method", "maddr", "ttl", "transport", "lr"] { stripped.parameters.remove(name) }
            stripped.headers = []
            return (.sip(stripped), Array(routeSet.dropFirst()) + [SIPNameAddress(uri: remoteTarget)])
        }
        return (remoteTarget, routeSet)
    }

    private mutating func refreshTarget(from response: SIPResponse) {
        if case .addresses(let contacts)? = try? response.headers.contact(), let first = contacts.first {
            remoteTarget = first.uri
        }
    }

    private static func target(from contact: SIPContact?, fallback: Bool) throws(SIPStackError) -> SIPAnyURI? {
        switch contact {
        case .addresses(let addresses)?:
            if let first = addresses.first { return first.uri }
            if fallback { return nil }
            throw SIPStackError(.missingHeader, "no Contact")
        case .all?:
            throw SIPStackError(.missingHeader, "Contact: * in a dialog-creating message")
        case nil:
            if fallback { return nil }
            throw SIPStackError(.missingHeader, "no Contact")
        }
    }

    private static func parts<T>(_ body: () throws(SIPParseError) -> T) throws(SIPStackError) -> T {
        do {
            return try body()
        } catch {
            throw SIPStackError(.missingHeader, "dialog headers unusable: \(error)")
        }
    }
}
