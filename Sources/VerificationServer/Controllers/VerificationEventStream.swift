import Foundation
import Hummingbird
import NIOCore
import Verification

/// The Server-Sent Events of one verification (WHATWG HTML §9.2), for the API
/// (`GET /v1/verifications/{id}/events`) and the hosted page (`GET /v/{token}/events`) alike.
struct VerificationEventStream: Sendable {
    let service: VerificationService
    let broker: EventBroker
    /// Seconds between `: keep-alive` comments while nothing happens.
    var heartbeat: Double = 15

    /// First the current status, then every event until the verification ends or the server
    /// shuts down. One `access` may not see is `not_found` before anything is streamed.
    func response(id: String, access: VerificationAccess) async throws -> Response {
        _ = try await service.verification(id: id, access: access)
        let stream = broker.subscribe(id)
        let current = try await service.verification(id: id, access: access)
        let heartbeat = heartbeat
        let body = ResponseBody { writer in
            func send(_ name: String, _ data: some Encodable) async throws {
                let json = String(decoding: try JSONEncoder.api.encode(data), as: UTF8.self)
                try await writer.write(ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n"))
            }
            try await send("status", EventResource(VerificationEvent(
                verificationID: current.id, kind: .created, status: current.status, at: current.updatedAt, detail: "current")))
            if current.status.isFinal {
                try await writer.finish(nil)
                return
            }
            // Events and heartbeats merge into one stream; only this task writes.
            let (merged, feed) = AsyncStream.makeStream(of: SSEItem.self, bufferingPolicy: .bufferingNewest(64))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in stream { feed.yield(.event(event)) }
                    feed.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(heartbeat))
                        feed.yield(.heartbeat)
                    }
                }
                for await item in merged {
                    switch item {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .event(let event):
                        try await send(event.changesStatus ? "status" : "event", EventResource(event))
                        if event.status.isFinal { feed.finish() }
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }
}

/// What the SSE writer sends next.
enum SSEItem: Sendable {
    case event(VerificationEvent)
    case heartbeat
}
