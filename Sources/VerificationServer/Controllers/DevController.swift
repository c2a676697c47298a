import Hummingbird

/// Routes only a dev-mode server has (`--mode dev`), under `/dev`.
struct DevController: Sendable {
    let sms: ConsoleSMS

    /// `GET /dev/outbox`: the SMS the console driver "sent", as JSON.
    var endpoints: RouteCollection<CoreRequestContext> {
        RouteCollection(context: CoreRequestContext.self)
            .get("outbox") { _, _ in try Response.json(sms.outbox) }
    }
}
