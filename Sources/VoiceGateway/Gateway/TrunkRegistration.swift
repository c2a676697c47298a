// TrunkRegistration: the shell that keeps one `register = yes` trunk registered (RFC 3261 §10.2).
// SIPStack's `Registration` value decides; this runs its actions on the endpoint's event loop: the
// REGISTERs go out in the endpoint's non-INVITE client transactions (§17.1.2), the one timer is an
// event-loop task, and its reports become `sip.register.*` log events and the state `/metrics`
// shows (`verigate_trunk_registered`). See README "Connecting a trunk".

import Logging
import NIOCore
import SIPMessage
import SIPStack
import Synchronization

/// Keeps one trunk's binding at its registrar: registers, refreshes, retries, un-registers.
public final class TrunkRegistration: Sendable {
    /// The trunk.
    public let trunk: Trunk
    let endpoint: SIPEndpoint
    let logger: Logger
    let backoffMinimum: Duration
    let backoffMaximum: Duration
    private let registered = Atomic<Bool>(false)
    /// Set by `stop()`: a registrar still being looked up in DNS is not registered with after it.
    private let stopping = Atomic<Bool>(false)
    private let lastFailure = Mutex<Registration.Failure?>(nil)
    /// Where a registrar given as a host name is now (RFC 3263 §4: the targets in order, and the one
    /// in use); unused for a literal IP.
    private let resolved = Mutex<(targets: [SIPPeer], index: Int)>(([], 0))
    /// The trunk's next hops through DNS (TrunkMonitor.nextHops); nil: literal hosts only.
    let locate: (@Sendable (Trunk) async throws(DNSError) -> [SIPServerTarget])?

    /// The registration's loop-confined state.
    private final class LoopState {
        var machine: Registration?
        var timer: Scheduled<Void>?
        var stopped: EventLoopPromise<Void>?
    }

    private let state: NIOLoopBoundBox<LoopState>

    /// Makes the shell for `trunk` on `endpoint`; `backoffMinimum` is the first retry delay after a
    /// failure (doubling up to `backoffMaximum`), shorter in tests.
    /// A registrar given as a host name is found through `locate` (RFC 3263 §4; TrunkMonitor.nextHops).
    public init(trunk: Trunk, endpoint: SIPEndpoint, logger: Logger, backoffMinimum: Duration = .seconds(30), backoffMaximum: Duration = .seconds(600),
                locate: (@Sendable (Trunk) async throws(DNSError) -> [SIPServerTarget])? = nil) {
        self.trunk = trunk
        self.locate = locate
        self.endpoint = endpoint
        self.logger = logger
        self.backoffMinimum = backoffMinimum
        self.backoffMaximum = backoffMaximum
        self.state = NIOLoopBoundBox.makeBoxSendingValue(LoopState(), eventLoop: endpoint.eventLoop)
    }

    /// Whether the registrar holds our binding (the last REGISTER got a 2xx).
    public var isRegistered: Bool { registered.load(ordering: .relaxed) }

    /// Why the last attempt failed, while it is failing.
    public var failure: Registration.Failure? { lastFailure.withLock { $0 } }

    /// Where the REGISTERs go: the trunk's outbound proxy, else its host, else the current DNS target
    /// of its host name.
    var nextHop: SIPPeer? {
        trunk.nextHop ?? resolved.withLock { $0.targets.isEmpty ? nil : $0.targets[$0.index % $0.targets.count] }
    }

    /// Sends the first REGISTER (for a registrar given as a name, once DNS has answered; a DNS
    /// failure is retried after the backoff's first delay, logged as `sip.register.dns_failed`).
    public func start() {
        if trunk.nextHop == nil, let locate {
            Task {
                while !stopping.load(ordering: .relaxed) {
                    do {
                        let targets = try await locate(trunk).map(\.peer)
                        if !targets.isEmpty {
                            resolved.withLock { $0 = (targets, 0) }
                            break
                        }
                    } catch {
                        lastFailure.withLock { $0 = .transportError }
                        logger.warning("sip.register.dns_failed", metadata: ["trunk": "\(trunk.name)", "host": "\(trunk.host)", "error": "\(error)"])
                    }
                    try? await Task.sleep(for: backoffMinimum)
                }
                if !stopping.load(ordering: .relaxed) { startMachine() }
            }
            return
        }
        startMachine()
    }

    /// After a timeout or transport error, the next REGISTER goes to the name's next target (RFC
    /// 3263 §4.3), with the list looked up again (its TTL may have run out).
    private func moveToNextTarget() {
        guard trunk.nextHop == nil, let locate else { return }
        Task {
            let fresh = (try? await locate(trunk).map(\.peer)) ?? []
            resolved.withLock { current in
                let previous = current.targets.isEmpty ? nil : current.targets[current.index % current.targets.count]
                let targets = fresh.isEmpty ? current.targets : fresh
                let index = previous.flatMap { targets.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                current = (targets, index)
            }
        }
    }

    private func startMachine() {
        endpoint.eventLoop.execute {
            guard self.state.value.machine == nil, !self.stopping.load(ordering: .relaxed) else { return }
            guard self.nextHop != nil, let settings = self.settings() else {
                self.logger.error("sip.register.no_route", metadata: ["trunk": "\(self.trunk.name)", "host": "\(self.trunk.host)"])
                return
            }
            self.state.value.machine = Registration(settings: settings, callID: SIPTokens.callID(), fromTag: SIPTokens.tag())
            self.run { $0.start() }
        }
    }

    /// Un-registers (Expires 0, §10.2.2) and waits for the answer, at most `grace`.
    public func stop(grace: Duration = .seconds(2)) async {
        stopping.store(true, ordering: .relaxed)
        let loop = endpoint.eventLoop
        let done: EventLoopFuture<Void>? = try? await loop.submit { () -> EventLoopFuture<Void> in
            guard self.state.value.machine != nil else { return loop.makeSucceededVoidFuture() }
            let promise = loop.makePromise(of: Void.self)
            self.state.value.stopped = promise
            let deadline = loop.scheduleTask(in: .nanoseconds(grace.nanoseconds)) {
                guard let pending = self.state.value.stopped else { return }
                self.logger.warning("sip.register.unregister_unanswered", metadata: ["trunk": "\(self.trunk.name)"])
                self.state.value.stopped = nil
                self.state.value.timer?.cancel()
                pending.succeed()
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            self.run { $0.shutdown() }
            return promise.futureResult
        }.get()
        try? await done?.get()
    }

    /// The settings from the trunk and our listening (or external) address. On the loop.
    private func settings() -> Registration.Settings? {
        guard let peer = nextHop else { return nil }
        let (host, port) = endpoint.localHostPort(peer.transport)
        var contact = SIPURI(user: trunk.contactUser, host: host, port: port)
        if peer.transport != .udp { contact.parameters.set("transport", peer.transport.rawValue.lowercased()) }
        // §10.2: the Request-URI names the registrar's domain; To and From the address-of-record.
        let domain = trunk.fromDomain ?? trunk.host
        var registrar = SIPURI(host: domain, port: trunk.fromDomain == nil ? trunk.port : nil)
        if let transport = trunk.transport, transport != .udp { registrar.parameters.set("transport", transport.rawValue) }
        let aor = SIPURI(user: trunk.fromUser ?? trunk.username ?? trunk.contactUser, host: domain)
        let credentials = trunk.password.map { DigestClient(username: trunk.authUsername ?? trunk.username ?? "", password: $0) }
        return Registration.Settings(
            registrar: registrar, addressOfRecord: aor, contact: contact, expires: Int(trunk.registerExpiry.components.seconds), credentials: credentials,
            backoffMinimum: backoffMinimum, backoffMaximum: backoffMaximum, userAgent: endpoint.configuration.userAgent
        )
    }

    /// Runs an input of the machine and its actions. On the loop.
    private func run(_ input: (inout Registration) -> [Registration.Action]) {
        guard var machine = state.value.machine, let peer = nextHop else { return }
        let actions = input(&machine)
        state.value.machine = machine
        for action in actions {
            switch action {
            case .send(let request):
                endpoint.sendRequest(request, to: peer) { [weak self] outcome in self?.received(outcome) }
            case .startTimer(let delay):
                state.value.timer?.cancel()
                state.value.timer = endpoint.schedule(delay) { [weak self] in self?.run { $0.timerFired() } }
            case .cancelTimer:
                state.value.timer?.cancel()
                state.value.timer = nil
            case .report(let report):
                reported(report)
            }
        }
    }

    private func received(_ outcome: SIPClientOutcome) {
        switch outcome {
        case .response(let response):
            run { $0.responseReceived(response, cnonce: SIPTokens.random(16), jitter: Double.random(in: 0...1)) }
        case .timeout:
            moveToNextTarget()
            run { $0.transactionFailed(.timeout) }
        case .transportError:
            moveToNextTarget()
            run { $0.transactionFailed(.transportError) }
        }
    }

    private func reported(_ report: Registration.Report) {
        let name = trunk.name
        switch report {
        case .registered(let expires, let refreshIn):
            registered.store(true, ordering: .relaxed)
            lastFailure.withLock { $0 = nil }
            logger.info("sip.register.registered", metadata: ["trunk": "\(name)", "expires": "\(expires)", "refresh_in": "\(refreshIn)"])
        case .failed(let failure, let retryIn):
            registered.store(false, ordering: .relaxed)
            lastFailure.withLock { $0 = failure }
            logger.warning("sip.register.failed", metadata: [
                "trunk": "\(name)", "reason": "\(failure)", "status": "\(failure.statusCode.map(String.init) ?? "-")", "retry_in": "\(retryIn)",
            ])
        case .intervalTooBrief(let minExpires):
            logger.notice("sip.register.interval_too_brief", metadata: ["trunk": "\(name)", "min_expires": "\(minExpires)"])
        case .stopped(let unregistered):
            registered.store(false, ordering: .relaxed)
            logger.info("sip.register.stopped", metadata: ["trunk": "\(name)", "unregistered": "\(unregistered)"])
            state.value.timer?.cancel()
            state.value.timer = nil
            state.value.stopped?.succeed()
            state.value.stopped = nil
        }
    }
}
