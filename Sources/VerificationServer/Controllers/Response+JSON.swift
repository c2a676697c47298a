import Foundation
import Hummingbird
import NIOCore

extension Response {
    /// A JSON response (RFC 8259) of `value`, encoded as the API encodes everything (`JSONEncoder.api`).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }

    /// A verification resource as JSON, the same bytes as `json(_:status:)` makes of it, written
    /// without the encoder (`VerificationResource.json`).
    static func json(_ resource: VerificationResource, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: resource.json))
    }
}
