/// A gateway's report on a sent SMS: a Kannel `dlr-url` call (Kannel user guide, "Delivery
/// reports", `%d` values 1/2/4/8/16) or an SMPP delivery receipt (SMPP 3.4 Appendix B).
public struct DeliveryReport: Sendable, Equatable {
    /// What the report says about the message.
    public enum Outcome: String, Sendable, Equatable {
        /// The handset has it.
        case delivered
        /// On its way (accepted by the SMSC, buffered, en route).
        case inProgress = "in_progress"
        /// It will not arrive (undeliverable, rejected, expired).
        case failed
    }

    /// What the report says.
    public var outcome: Outcome
    /// Operator text kept on the audit event, e.g. `kannel 1 delivered` or `smpp DELIVRD err:000`.
    public var detail: String

    /// Builds a report.
    public init(outcome: Outcome, detail: String) {
        self.outcome = outcome
        self.detail = detail
    }
}
