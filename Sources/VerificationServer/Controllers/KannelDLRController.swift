import Hummingbird
import Verification

/// Kannel's delivery reports (`KannelDLR.path`): no API key (Kannel has none); the per-message
/// token the dlr-url carries authenticates each report.
struct KannelDLRController: Sendable {
    let dlr: KannelDLR
    /// The SMS whose reports may still come (nil with the console driver).
    let sentSMS: SentSMSLedger?
    let service: VerificationService

    /// The route, at its absolute path.
    var endpoints: RouteCollection<CoreRequestContext> {
        RouteCollection(context: CoreRequestContext.self)
            .get(RouterPath(KannelDLR.path), use: report)
    }

    /// `GET /v1/sms/kannel/dlr?id&m&t&status&smsc&answer`: one Kannel delivery report, recorded
    /// as a `delivery_report` event (or failing the verification when the SMS will not arrive).
    @Sendable func report(_ request: Request, context: CoreRequestContext) async throws -> Response {
        let q = request.uri.queryParameters
        guard let id = q["id"].map(String.init), let nonce = q["m"].map(String.init), let token = q["t"].map(String.init),
              dlr.verify(id: id, nonce: nonce, token: token)
        else { throw VerificationError.notFound }
        guard let status = q["status"].flatMap({ Int($0) }) else {
            throw VerificationError.invalidRequest("status must be Kannel's numeric %d value.")
        }
        let report = KannelDLR.report(status: status, smsc: q["smsc"].map(String.init), answer: q["answer"].map(String.init))
        if report.outcome != .inProgress, let sentSMS, sentSMS.reportTimeout != nil { try await sentSMS.settled(nonce) }
        try await service.recordDeliveryReport(id: id, report)
        return Response(status: .noContent)
    }
}
