// SIPStackError: the one error type of the SIPStack module, with stable codes (docs/ARCHITECTURE.md habit 5).

/// An error from the SIPStack module. `code` is stable and may be logged, counted or mapped;
/// `detail` is for people.
public struct SIPStackError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// A transaction with the same key already exists (RFC 3261 §17.2.3 matching).
        case duplicateTransaction = "sip_stack.duplicate_transaction"
        /// One source holds as many transactions as it may.
        case sourceTransactionLimit = "sip_stack.source_transaction_limit"
        /// The transaction table holds as many transactions as it may.
        case transactionTableFull = "sip_stack.transaction_table_full"
        /// A Digest challenge or credentials header could not be parsed (RFC 7616 §3.3, §3.4).
        case malformedDigestHeader = "sip_stack.malformed_digest_header"
        /// No offered Digest algorithm is supported (RFC 7616 §3.7, RFC 8760 §2.2).
        case unsupportedDigestAlgorithm = "sip_stack.unsupported_digest_algorithm"
        /// The challenge offers no qop we support (RFC 7616 §3.3; we require qop=auth or none).
        case unsupportedDigestQOP = "sip_stack.unsupported_digest_qop"
        /// A message lacks what a dialog or transaction needs (RFC 3261 §8.1.1, §12.1).
        case missingHeader = "sip_stack.missing_header"
        /// A request arrived for a dialog with a lower CSeq than seen before (RFC 3261 §12.2.2).
        case cseqOutOfOrder = "sip_stack.cseq_out_of_order"
        /// A dialog operation was attempted in a state that forbids it (RFC 3261 §12).
        case invalidDialogState = "sip_stack.invalid_dialog_state"
    }

    /// The stable code.
    public let code: Code
    /// A human-readable detail.
    public let detail: String

    /// Creates an error with a code and a detail.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `code: detail`.
    public var description: String { "\(code.rawValue): \(detail)" }
}
