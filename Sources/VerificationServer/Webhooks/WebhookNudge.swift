import Verification

/// Wakes the webhook dispatcher when a status change was stored with a webhook.
struct WebhookNudge: VerificationEventSink {
    let dispatcher: WebhookDispatcher
    func published(_ event: VerificationEvent, verification: Verification) async {
        if event.changesStatus, event.kind != .created, verification.callbackURL != nil { dispatcher.nudge() }
    }
}
