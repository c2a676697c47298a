import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Verification

/// Delivers the webhooks the store holds: POST with a signature, retried with exponential backoff
/// until `retryWindow` after creation, then abandoned. Every attempt is written back to the store,
/// so a restart resumes where it stopped. A `Service`: it polls, and `nudge()` wakes it early.
///
/// Each attempt resolves the callback's host itself, refuses it when any address is not public
/// (`WebhookAddressPolicy`, unless `allowPrivateAddresses`), and connects only to the address it
/// checked (the client's `dnsOverride`, which keeps the Host header, TLS SNI and certificate
/// verification on the name), so a name that answers differently at connect time (DNS
/// rebinding) cannot lead inside the network. Redirects are not followed: a 3xx is a failed attempt.
public final class WebhookDispatcher: Service, Sendable {
    /// Knobs of delivery.
    public struct Configuration: Sendable {
        /// How often the store is polled for due deliveries.
        public var pollInterval: Duration = .milliseconds(500)
        /// Deliveries are retried at least this long after they were created (seconds).
        public var retryWindow: Double = 3600
        /// Timeout of one POST.
        public var requestTimeout: Duration = .seconds(10)
        /// Deliveries per poll.
        public var batch: Int = 32
        /// Lets webhooks reach loopback, private, link-local and other non-public addresses
        /// (`--allow-private-webhooks`; tests and receivers on the same host or LAN).
        public var allowPrivateAddresses = false
        /// Resolves callback host names (the system resolver; tests give their own).
        public var resolver: any WebhookResolver = SystemWebhookResolver()
        /// The defaults: public addresses only, the system resolver.
        public init() {}
    }

    private let store: any WebhookStore
    private let signer: WebhookSigner
    private let configuration: Configuration
    private let clock: any VerificationClock
    private let logger: Logger
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    /// Makes a dispatcher over `store`, signing bodies with `secret` (`WebhookSigner`).
    public init(store: any WebhookStore, secret: [UInt8],
                configuration: Configuration = .init(), clock: any VerificationClock = SystemClock(), logger: Logger) {
        self.store = store
        self.signer = WebhookSigner(secret: secret)
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Wakes the loop now (a delivery was enqueued).
    public func nudge() { wake.yield() }

    /// Delivers due webhooks until cancelled: when nudged, and on a poll interval for retries and other nodes' work.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [wake, interval = configuration.pollInterval] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        wake.yield()
                    }
                }
                for await _ in wakes {
                    if Task.isShuttingDownGracefully { break }
                    do { _ = try await deliverDue() } catch { logger.warning("webhook.poll_failed", metadata: ["error": "\(error)"]) }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [wake] in
            wake.finish()
        }
    }

    /// One pass: delivers every due webhook once. Returns how many were delivered.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let due = try await store.dueWebhooks(now: clock.now(), limit: configuration.batch)
        return await withTaskGroup(of: Bool.self) { group in
            for webhook in due { group.addTask { await self.attempt(webhook) } }
            var delivered = 0
            for await ok in group where ok { delivered += 1 }
            return delivered
        }
    }

    /// One POST of `webhook`, and its outcome stored.
    func attempt(_ webhook: WebhookDelivery) async -> Bool {
        var next = webhook
        next.attempts += 1
        let now = clock.now()
        let outcome = await post(webhook, at: now)
        switch outcome {
        case .success:
            next.deliveredAt = now
            next.lastError = nil
        case .failure(let reason, let permanent):
            next.lastError = reason
            let delay = Self.backoff(afterAttempt: next.attempts, jitter: Double.random(in: 0.8...1.2))
            if permanent || now.timeIntervalSince(webhook.createdAt) + delay > configuration.retryWindow {
                next.abandonedAt = now
                logger.warning("webhook.abandoned", metadata: ["webhook": .string(webhook.id), "verification": .string(webhook.verificationID), "attempts": "\(next.attempts)", "error": .string(reason)])
            } else {
                next.nextAttemptAt = now.addingTimeInterval(delay)
            }
        }
        do { try await store.updateWebhook(next) } catch {
            logger.error("webhook.state_not_stored", metadata: ["webhook": .string(webhook.id), "error": "\(error)"])
        }
        if case .success = outcome { return true }
        return false
    }

    enum Outcome {
        case success
        case failure(String, permanent: Bool)
    }

    private func post(_ webhook: WebhookDelivery, at now: Date) async -> Outcome {
        guard let host = HTTPURL(webhook.url)?.host else {
            return .failure("callback URL is not an http(s) URL", permanent: true)
        }
        let pinned: [String: String]
        switch await destination(host: host) {
        case .success(let override): pinned = override
        case .failure(let refusal):
            logger.warning("webhook.destination_refused", metadata: ["webhook": .string(webhook.id), "verification": .string(webhook.verificationID), "reason": .string(refusal.reason)])
            return .failure(refusal.reason, permanent: refusal.permanent)
        }
        let body = Array(webhook.body.utf8)
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Verigate-Webhooks/1")
        request.headers.add(name: WebhookSigner.idHeader, value: webhook.id)
        request.headers.add(name: WebhookSigner.signatureHeader, value: signer.signature(body: body, timestamp: Int(now.timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(bytes: body))
        // One client per attempt: `dnsOverride` is a client setting, and it pins this attempt's
        // connection to the address checked above. No proxy, no redirects.
        var settings = HTTPClient.Configuration(redirectConfiguration: .disallow)
        settings.dnsOverride = pinned
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
        let outcome: Outcome
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(configuration.requestTimeout.components.seconds) * 1_000_000_000))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(response.status.code) {
                outcome = .success
            } else if (300..<400).contains(response.status.code) {
                outcome = .failure("HTTP \(response.status.code): redirects are not followed", permanent: false)
            } else {
                outcome = .failure("HTTP \(response.status.code)", permanent: false)
            }
        } catch {
            outcome = .failure("\(type(of: error)): \(error)", permanent: false)
        }
        try? await client.shutdown()
        return outcome
    }

    /// Why a callback host may not be connected to.
    struct Refusal: Error {
        var reason: String
        /// A literal address never changes; a name may resolve elsewhere at the next attempt.
        var permanent: Bool
    }

    /// The `dnsOverride` that pins the connection to `host`'s checked address (empty for an
    /// address literal, which is connected to as it is), or why `host` is refused.
    func destination(host rawHost: String) async -> Result<[String: String], Refusal> {
        // As AsyncHTTPClient reads the URL (DeconstructedURL): the host without IPv6 brackets.
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let allowPrivate = configuration.allowPrivateAddresses
        if let literal = WebhookAddressPolicy.parse(host) {
            if !allowPrivate, let refusal = WebhookAddressPolicy.refusal(for: literal) {
                return .failure(Refusal(reason: "callback address \(host) is \(refusal): not connected (--allow-private-webhooks allows it)", permanent: true))
            }
            return .success([:])
        }
        if !allowPrivate, WebhookAddressPolicy.isLocalhostName(host) {
            return .failure(Refusal(reason: "callback host \(host) is the local host: not connected (--allow-private-webhooks allows it)", permanent: true))
        }
        let addresses: [[UInt8]]
        do { addresses = try await configuration.resolver.addresses(of: host) } catch {
            return .failure(Refusal(reason: "\(error)", permanent: false))
        }
        guard let first = addresses.first else {
            return .failure(Refusal(reason: "callback host \(host) has no address", permanent: false))
        }
        if !allowPrivate {
            // Every address: the client could otherwise be led to any of them.
            for address in addresses {
                if let refusal = WebhookAddressPolicy.refusal(for: address) {
                    return .failure(Refusal(
                        reason: "callback host \(host) resolves to \(WebhookAddressPolicy.format(address)), \(refusal): not connected (--allow-private-webhooks allows it)",
                        permanent: false))
                }
            }
        }
        return .success([host: WebhookAddressPolicy.format(first)])
    }

    /// Delay before the attempt after `attempt` failures: 5 s doubling, capped at 5 min, times a jitter factor.
    public static func backoff(afterAttempt attempt: Int, jitter: Double = 1) -> Double {
        let base = 5.0 * pow(2, Double(max(0, min(attempt - 1, 16))))
        return min(300, base) * jitter
    }
}
