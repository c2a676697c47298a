// Transaction keys taken from parsed messages (RFC 3261 §17.1.3, §17.2.3).

import SIPMessage

extension TransactionKey {
    /// The server transaction key of a received request (§17.2.3), with the RFC 2543 fallback when the
    /// top Via branch lacks the magic cookie. Throws when Via, CSeq, Call-ID, From or To is unusable.
    public init(serverRequest request: SIPRequest) throws(SIPStackError) {
        do {
            let via = try request.headers.topVia()
            let cseq = try request.headers.cseq()
            if let branch = via.branch, TransactionKey.isRFC3261Branch(branch) {
                self = .server(method: request.method.description, branch: branch, sentBy: via.sentBy, requestURI: "", toTag: nil, fromTag: nil, callID: "", cseqNumber: cseq.sequence, topVia: "")
                return
            }
            self = .server(
                method: request.method.description, branch: via.branch, sentBy: via.sentBy, requestURI: request.uriText,
                toTag: try request.headers.to().tag, fromTag: try request.headers.from().tag, callID: try request.headers.callID(),
                cseqNumber: cseq.sequence, topVia: via.description
            )
        } catch {
            throw SIPStackError(.missingHeader, "request cannot be matched to a transaction: \(error)")
        }
    }

    /// The client transaction key of a received response (§17.1.3): top Via branch and CSeq method.
    public init(clientResponse response: SIPResponse) throws(SIPStackError) {
        do {
            let via = try response.headers.topVia()
            let cseq = try response.headers.cseq()
            guard let branch = via.branch else { throw SIPStackError(.missingHeader, "response Via has no branch") }
            self = .client(branch: branch, cseqMethod: cseq.method.description)
        } catch let error as SIPStackError {
            throw error
        } catch {
            throw SIPStackError(.missingHeader, "response cannot be matched to a transaction: \(error)")
        }
    }

    /// The client transaction key of a request we send (§17.1.3).
    public init(clientRequest request: SIPRequest) throws(SIPStackError) {
        guard let via = try? request.headers.topVia(), let branch = via.branch else {
            throw SIPStackError(.missingHeader, "request has no Via branch")
        }
        self = .client(branch: branch, cseqMethod: request.method.description)
    }
}
