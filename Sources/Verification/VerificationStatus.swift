/// Lifecycle of a verification: `pending` → `approved` | `canceled` | `expired` |
/// `max_attempts_reached` | `failed` (README.md, "The six methods"). Every state but `pending` is final.
public enum VerificationStatus: String, CaseIterable, Codable, Sendable, Hashable {
    case pending
    case approved
    case canceled
    case expired
    case maxAttemptsReached = "max_attempts_reached"
    case failed

    /// No further change is possible.
    public var isFinal: Bool { self != .pending }
}
