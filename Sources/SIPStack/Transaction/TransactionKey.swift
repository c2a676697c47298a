// TransactionKey: transaction matching of RFC 3261 §17.1.3 (client) and §17.2.3 (server),
// with the RFC 2543 fallback of §17.2.3.

/// The key that matches a message to its transaction (RFC 3261 §17.1.3, §17.2.3).
///
/// With an RFC 3261 branch (starting with the magic cookie `z9hG4bK`) the key is branch, sent-by and
/// method, where ACK matches the INVITE it acknowledges and CANCEL has a transaction of its own.
/// Otherwise it falls back to the RFC 2543 fields: Request-URI, To tag, From tag, Call-ID, CSeq and the
/// top Via. For INVITE and ACK the To tag is left out of the RFC 2543 key, because the ACK carries the
/// tag of our response, which the INVITE did not have (§17.2.3 compares it with the response's tag).
public enum TransactionKey: Sendable, Hashable {
    /// Matching by branch (§17.2.3 rule 1; §17.1.3 for clients, where sentBy is empty).
    case branch(branch: String, sentBy: String, method: String)
    /// RFC 2543 matching (§17.2.3, for requests whose branch lacks the magic cookie).
    case rfc2543(requestURI: String, toTag: String?, fromTag: String?, callID: String, cseqNumber: UInt32, method: String, topVia: String)

    /// The RFC 3261 branch magic cookie (§8.1.1.7).
    public static let magicCookie = "z9hG4bK"

    /// Whether a branch carries the RFC 3261 magic cookie (§8.1.1.7, §17.2.3).
    public static func isRFC3261Branch(_ branch: String?) -> Bool {
        branch?.hasPrefix(magicCookie) ?? false
    }

    /// The method that names the transaction: ACK matches its INVITE (§17.2.3); all else is itself.
    static func transactionMethod(_ method: String) -> String {
        method == "ACK" ? "INVITE" : method
    }

    /// The server transaction key for a received request (§17.2.3).
    /// - Parameters:
    ///   - method: the request method (ACK is keyed as the INVITE it acknowledges).
    ///   - branch: the top Via's branch parameter.
    ///   - sentBy: the top Via's sent-by (host[:port]); the host is compared case-insensitively.
    ///   - requestURI, toTag, fromTag, callID, cseqNumber, topVia: the RFC 2543 fields, used only without a magic cookie.
    public static func server(
        method: String, branch: String?, sentBy: String,
        requestURI: String, toTag: String?, fromTag: String?, callID: String, cseqNumber: UInt32, topVia: String
    ) -> TransactionKey {
        let keyed = transactionMethod(method)
        if let branch, isRFC3261Branch(branch) {
            return .branch(branch: branch, sentBy: sentBy.lowercased(), method: keyed)
        }
        let inviteLike = keyed == "INVITE"
        return .rfc2543(
            requestURI: requestURI, toTag: inviteLike ? nil : toTag, fromTag: fromTag, callID: callID,
            cseqNumber: cseqNumber, method: keyed, topVia: topVia
        )
    }

    /// The client transaction key (§17.1.3): the top Via branch and the CSeq method. Used both when the
    /// request is sent and when a response arrives; sent-by is not compared for clients.
    public static func client(branch: String, cseqMethod: String) -> TransactionKey {
        .branch(branch: branch, sentBy: "", method: transactionMethod(cseqMethod))
    }

    /// The key of the INVITE server transaction a CANCEL refers to (§9.2: same branch and sent-by,
    /// method INVITE; or the RFC 2543 fields with method INVITE).
    public func invitePeerOfCancel() -> TransactionKey? {
        switch self {
        case .branch(let branch, let sentBy, let method):
            method == "CANCEL" ? .branch(branch: branch, sentBy: sentBy, method: "INVITE") : nil
        case .rfc2543(let requestURI, _, let fromTag, let callID, let cseqNumber, let method, let topVia):
            method == "CANCEL"
                ? .rfc2543(requestURI: requestURI, toTag: nil, fromTag: fromTag, callID: callID, cseqNumber: cseqNumber, method: "INVITE", topVia: topVia)
                : nil
        }
    }
}
