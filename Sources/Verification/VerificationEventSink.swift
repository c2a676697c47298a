/// Receives every event after it is stored: the SSE stream, metrics and logs listen here.
public protocol VerificationEventSink: Sendable {
    /// `event` was stored; `verification` is the verification as it stands after it.
    func published(_ event: VerificationEvent, verification: Verification) async
    /// A send a guard refused (nothing was stored): logs and `/metrics` count it.
    func sendRefused(_ refusal: SendRefusal) async
}

extension VerificationEventSink {
    /// Sinks that only follow stored events ignore refusals.
    public func sendRefused(_ refusal: SendRefusal) async {}
}
