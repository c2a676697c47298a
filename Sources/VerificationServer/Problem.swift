import Foundation
import Hummingbird
import Logging
import NIOCore
import Verification

/// An RFC 9457 problem document. `code` is a stable machine-readable string.
public struct Problem: Error, Sendable, Codable, Equatable {
    /// URI naming the problem type: `https://verigate.dev/problems/` + `code` (RFC 9457, Section 3.1.1).
    public var type: String
    /// Short summary: the HTTP status's reason phrase (RFC 9457, Section 3.1.3).
    public var title: String
    /// The HTTP status code, as sent on the response (RFC 9457, Section 3.1.2).
    public var status: Int
    /// What went wrong in this request, for a human (RFC 9457, Section 3.1.4).
    public var detail: String
    /// The stable machine-readable code, one of `codes` (listed in `openapi.yaml`).
    public var code: String
    /// Seconds to wait, for `rate_limited` and `no_system_number` (also sent as `Retry-After`).
    public var retryAfter: Int?
    /// For `rate_limited`: which limit refused (`sends_per_number`, `sends_per_prefix`, …).
    public var limit: String?
    /// For `delivery_failed`: the verification that failed.
    public var verificationID: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code
        case retryAfter = "retry_after"
        case limit
        case verificationID = "verification_id"
    }

    /// A problem with `type` and `title` derived from `code` and `status`; the optional fields are omitted from the JSON when nil.
    public init(status: HTTPResponse.Status, code: String, detail: String, retryAfter: Int? = nil, limit: String? = nil, verificationID: String? = nil) {
        self.type = "https://verigate.dev/problems/\(code)"
        self.title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code
        self.retryAfter = retryAfter
        self.limit = limit
        self.verificationID = verificationID
    }

    /// Every problem code the API can answer; `openapi.yaml` lists the same set (a test checks).
    public static let codes: Set<String> = [
        "invalid_number", "country_not_allowed", "channel_disabled", "number_cannot_receive_sms", "number_type_not_allowed", "invalid_request",
        "rate_limited", "not_found", "expired", "max_attempts_reached", "not_pending", "no_gateway",
        "delivery_failed", "wrong_channel", "unauthorized", "payload_too_large", "method_not_allowed",
        "unsupported_media_type", "internal", "no_system_number", "conflict",
    ]

    /// The problem for a domain error.
    public init(_ error: VerificationError) {
        switch error {
        case .invalidNumber, .countryNotAllowed, .cannotReceiveSMS, .numberTypeNotAllowed, .invalidRequest, .channelDisabled:
            self.init(status: .badRequest, code: error.code, detail: error.detail)
        case .rateLimited(let limit, _):
            self.init(status: .tooManyRequests, code: error.code, detail: error.detail, retryAfter: error.retryAfterSeconds, limit: limit.rawValue)
        case .notFound:
            self.init(status: .notFound, code: error.code, detail: error.detail)
        case .expired, .maxAttemptsReached, .notPending, .wrongChannel, .conflict:
            self.init(status: .conflict, code: error.code, detail: error.detail)
        case .noGateway:
            self.init(status: .serviceUnavailable, code: error.code, detail: error.detail)
        case .noSystemNumber:
            self.init(status: .serviceUnavailable, code: error.code, detail: error.detail, retryAfter: error.retryAfterSeconds)
        case .deliveryFailed(_, let id):
            self.init(status: .badGateway, code: error.code, detail: error.detail, verificationID: id)
        }
    }

    /// The HTTP response: `application/problem+json`, with `Retry-After` when set.
    public func response() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"verigate\"" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error into a problem document: bad input is never a 500, and a 500 says nothing
/// of the inside.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response()
        } catch let error as VerificationError {
            return Problem(error).response()
        } catch let error as HTTPError {
            return Self.problem(for: error).response()
        } catch is NIOTooManyBytesError {
            return Self.problem(for: HTTPError(.contentTooLarge)).response()
        } catch let error as DecodingError {
            return Problem(status: .badRequest, code: "invalid_request", detail: Self.describe(error)).response()
        } catch {
            logger.error("http.request_failed", metadata: ["path": .string(request.uri.path), "error": .string(String(describing: type(of: error)))])
            return Problem(status: .internalServerError, code: "internal", detail: "Internal error.").response()
        }
    }

    static func problem(for error: HTTPError) -> Problem {
        switch error.status {
        case .contentTooLarge:
            Problem(status: .contentTooLarge, code: "payload_too_large", detail: "The request body is larger than 64 KiB.")
        case .notFound:
            Problem(status: .notFound, code: "not_found", detail: error.body ?? "No such resource.")
        case .methodNotAllowed:
            Problem(status: .methodNotAllowed, code: "method_not_allowed", detail: "Method not allowed on this resource.")
        case .unauthorized:
            Problem(status: .unauthorized, code: "unauthorized", detail: error.body ?? "A valid API key is required (Authorization: Bearer …).")
        case .unsupportedMediaType:
            Problem(status: .unsupportedMediaType, code: "unsupported_media_type", detail: error.body ?? "Send application/json.")
        default:
            Problem(status: .badRequest, code: "invalid_request", detail: error.body ?? "The request is not valid JSON of the documented shape.")
        }
    }

    /// A sentence naming the field at fault, without echoing the input.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "the body" : "`\(p)`"
        }
        switch error {
        case .typeMismatch(_, let c): return "Wrong type for \(path(c))."
        case .valueNotFound(_, let c): return "Missing value for \(path(c))."
        case .keyNotFound(let key, let c):
            let prefix = path(c) == "the body" ? "" : path(c) + "."
            return "Missing field `\(prefix)\(key.stringValue)`."
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "The body is not valid JSON." : "Invalid value for \(path(c))."
        @unknown default: return "The body is not valid JSON of the documented shape."
        }
    }
}
