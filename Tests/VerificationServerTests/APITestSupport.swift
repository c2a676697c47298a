import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Verification
@testable import VerificationServer

/// A core on an in-memory store with one API key, for HTTP tests.
struct TestCore {
    let core: Core
    let key: String
    let store: MemoryStore

    /// A core on `store` (a new one by default; two cores on one store are two nodes).
    /// `clock` is the core's (`StoppedClock` for a test that reads exact waits).
    init(store: MemoryStore = MemoryStore(), clock: any VerificationClock = SystemClock(),
         configure: (inout CoreConfiguration) -> Void = { _ in }) async throws {
        var config = CoreConfiguration()
        config.policy = VerificationPolicy(systemNumbers: ["+886229996666"])
        configure(&config)
        self.store = store
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        core = Core(configuration: config, store: store, secret: Array(repeating: 9, count: 32), logger: logger, clock: clock)
        // The first core on a store gets the bootstrap key; a second one (another node) adds its own.
        if let first = try await core.bootstrapAPIKey() { key = first } else { key = try await core.addAPIKey(name: "second node") }
    }

    var auth: HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }

    func app() -> some ApplicationProtocol {
        Application(router: core.router())
    }

    /// The code the console driver sent for a verification.
    func sentCode(_ id: String) -> String? {
        guard let text = core.sms.outbox.last(where: { $0.verificationID == id })?.text else { return nil }
        return text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count >= 4 }
    }
}

extension ByteBuffer {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(readableBytesView))) as? [String: Any] ?? [:]
    }
}

extension String {
    var buffer: ByteBuffer { ByteBuffer(string: self) }
}
