import Foundation
import Hummingbird
import NIOCore

extension Response {
    /// A JSON response (RFC 8259) of `value`, encoded as the API encodes everything (`JSONEncoder.api`).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.api.encode(value))))
    }
}
