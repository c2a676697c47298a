import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Verification
@testable import VerificationServer

/// SSE across nodes: a page following a verification on one node sees what another node sharing
/// the store did to it, each event once.
@Suite(.timeLimit(.minutes(1)))
struct StoreEventFollowerTests {
    @Test func approvalOnAnotherNodeReachesThisNodesEventStreamOnce() async throws {
        let store = MemoryStore()
        let nodeA = try await TestCore(store: store)
        let nodeB = try await TestCore(store: store) { $0.storeEvents = .poll(interval: 0.05) }
        let follower = try #require(nodeB.core.services().compactMap { $0 as? StoreEventPoller }.first)
        #expect(nodeA.core.services().contains { $0 is StoreEventPoller || $0 is StoreEventListener } == false, "off unless configured")
        let following = Task { await follower.run() }
        defer { following.cancel() }
        try await nodeA.app().test(.router) { a in
            try await nodeB.app().test(.router) { b in
                let id = try await a.execute(uri: "/v1/verifications", method: .post, headers: nodeA.auth,
                                             body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in r.body.json["id"] as! String }
                let code = try #require(nodeA.sentCode(id))
                // The same tenant (API key) on the other node: keys live in the shared store.
                async let stream: String = b.execute(uri: "/v1/verifications/\(id)/events", method: .get, headers: nodeA.auth) { r in
                    String(buffer: r.body)
                }
                while nodeB.core.broker.subscriberCount == 0 { await Task.yield() }
                try await a.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: nodeA.auth,
                                    body: #"{"code":"\#(code)"}"#.buffer) { r in #expect(r.body.json["status"] as? String == "approved") }
                let events = try await stream.components(separatedBy: "\n\n").filter { $0.hasPrefix("event:") }
                #expect(events.first?.contains(#""status":"pending""#) == true)
                #expect(events.filter { $0.contains(#""event":"approved""#) }.count == 1, "\(events)")
                #expect(events.last?.contains(#""event":"approved""#) == true)
            }
        }
    }

    @Test func anEventPublishedHereAndReadFromTheStoreIsGivenOnce() async throws {
        let broker = EventBroker()
        let since = Date()
        let stream = broker.subscribe("VE1", now: since)
        let v = StoreFixtures.verification(id: "VE1", createdAt: since, expiresAt: since.addingTimeInterval(600))
        let local = VerificationEvent(verificationID: "VE1", kind: .sent, status: .pending, at: since.addingTimeInterval(0.1), detail: "sms")
        await broker.published(local, verification: v)
        broker.deliverFromStore(local)  // the same event, read back from the store
        // Before the stream began by more than the margin: its current status covered it.
        broker.deliverFromStore(VerificationEvent(verificationID: "VE1", kind: .sent, status: .pending,
                                                  at: since.addingTimeInterval(-StoreEventFollower.margin - 1), detail: "old"))
        let remote = VerificationEvent(verificationID: "VE1", kind: .approved, status: .approved, at: since.addingTimeInterval(0.2), detail: nil)
        broker.deliverFromStore(remote)
        broker.deliverFromStore(remote)
        broker.deliverFromStore(VerificationEvent(verificationID: "VE2", kind: .approved, status: .approved, at: since, detail: nil))
        broker.close()
        var received: [VerificationEvent] = []
        for await event in stream { received.append(event) }
        #expect(received == [local, remote])
    }
}
