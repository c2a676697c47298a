/// Errors of the SMPP module, each with a stable `code` (docs/ARCHITECTURE.md habit 5).
public enum SMPPError: Error, Sendable, Equatable {
    /// `command_length` below 16 or above the configured limit (SMPP 3.4 §3.2).
    case invalidCommandLength(UInt32)
    /// A PDU body ended before a mandatory field (SMPP 3.4 §4).
    case truncated(field: String)
    /// A C-Octet String had no NUL within its maximum size (SMPP 3.4 §3.1).
    case fieldTooLong(field: String)
    /// A C-Octet String that is not UTF-8 (SMPP 3.4 §3.1 says ASCII).
    case notText(field: String)
    /// A delivery receipt text that does not follow SMPP 3.4 Appendix B.
    case malformedReceipt(String)
    /// The text cannot be encoded for the configured alphabet.
    case unencodable(String)

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .invalidCommandLength: "smpp_invalid_command_length"
        case .truncated: "smpp_truncated"
        case .fieldTooLong: "smpp_field_too_long"
        case .notText: "smpp_not_text"
        case .malformedReceipt: "smpp_malformed_receipt"
        case .unencodable: "smpp_unencodable"
        }
    }
}
