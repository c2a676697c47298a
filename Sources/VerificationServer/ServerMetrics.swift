import Hummingbird
import Prometheus
import Synchronization
import Verification

/// The Prometheus metrics of the core, on a registry of its own (served at `/metrics`):
/// starts, approvals and failures by channel, check results, request and store latency histograms.
public final class ServerMetrics: VerificationEventSink, SQLStoreLatencyObserver, Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// Run before each rendering: collectors that bring counters kept elsewhere up to date (the
    /// voice gateway's, in `verigate serve`).
    private let collectors = Mutex<[@Sendable () -> Void]>([])

    /// `verigate_store_duration_seconds` by operation, made once: a store statement is the
    /// hottest thing measured (several per call or check), and asking the registry for the
    /// histogram each time (its lock, the name and label lookup) cost half the core's CPU under load.
    private let storeDurations: [SQLStoreLatency.Operation: DurationHistogram]

    /// One series of a metric: its name and label values, as the registry keys it.
    private struct Series: Hashable {
        var name: String
        var labels: [String]
    }

    /// The counters and request histograms made so far, each asked of the registry once: the
    /// registry builds and validates the name, takes its lock and looks the labels up on every
    /// call (2 % of a check's CPU, counted per event and per request). Bounded: every label value
    /// comes from an enumeration, a route template or `methodLabel`.
    private let counters = Mutex<[Series: Counter]>([:])
    private let requestDurations = Mutex<[Series: DurationHistogram]>([:])

    /// Makes the core's metrics on `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var durations: [SQLStoreLatency.Operation: DurationHistogram] = [:]
        for operation in [SQLStoreLatency.Operation.statement, .transaction] {
            durations[operation] = registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "verigate", metricName: "store_duration", unitName: "seconds",
                                                 helpText: "SQL store operations by kind (statement, transaction), connection wait included"),
                labels: [("operation", operation.rawValue)], buckets: Self.latencyBuckets
            )
        }
        storeDurations = durations
    }

    /// Adds a collector run before every `render()`.
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        collectors.withLock { $0.append(collect) }
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        Self.cached(Series(name: name, labels: labels.map(\.1)), in: counters) {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "verigate", metricName: name, unitName: "total", helpText: help), labels: labels)
        }
    }

    /// The metric of `series` in `cache`, made by `make` (asking the registry) the first time.
    private static func cached<Metric: Sendable>(_ series: Series, in cache: borrowing Mutex<[Series: Metric]>, make: () -> Metric) -> Metric {
        if let metric = cache.withLock({ $0[series] }) { return metric }
        let metric = make()
        cache.withLock { $0[series] = metric }
        return metric
    }

    /// Counts the event by kind and channel.
    public func published(_ event: VerificationEvent, verification: Verification) async {
        let channel = [("channel", verification.channel.rawValue)]
        switch event.kind {
        case .created: counter("verifications_started", "Verifications started", channel).increment()
        case .approved:
            counter("verifications_approved", "Verifications approved", channel).increment()
            counter("checks", "Code checks by result", [("result", "approved")]).increment()
        case .checkFailed: counter("checks", "Code checks by result", [("result", "wrong_code")]).increment()
        case .maxAttemptsReached:
            counter("checks", "Code checks by result", [("result", "max_attempts_reached")]).increment()
            counter("verifications_ended", "Verifications ended without approval", channel + [("status", "max_attempts_reached")]).increment()
        case .failed:
            counter("verifications_failed", "Verifications whose delivery failed", channel).increment()
            counter("verifications_ended", "Verifications ended without approval", channel + [("status", "failed")]).increment()
        case .expired, .canceled:
            counter("verifications_ended", "Verifications ended without approval", channel + [("status", event.kind.rawValue)]).increment()
        case .sent, .resent: counter("codes_sent", "Codes sent or calls placed", channel).increment()
        case .callerIDMatched, .callProgress, .channelFallback: break
        case .deliveryReport: counter("sms_delivery_reports", "SMS delivery reports received", channel).increment()
        }
    }

    /// Counts a send a guard refused, by guard (`verigate_send_guard_refusals_total{guard="sends_per_prefix"}`).
    public func sendRefused(_ refusal: SendRefusal) async {
        counter("send_guard_refusals", "Sends refused by a send limit or guard, by guard", [("guard", refusal.limit.rawValue)]).increment()
    }

    /// Records a request's latency by route template, method (`methodLabel`) and status class.
    func observe(route: String, method: HTTPRequest.Method, status: Int, duration: Duration) {
        let labels = [route, Self.methodLabel(method), "\(status / 100)xx"]
        let series = Series(name: "http_request_duration", labels: labels)
        Self.cached(series, in: requestDurations) {
            registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "verigate", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                labels: [("route", labels[0]), ("method", labels[1]), ("status", labels[2])],
                buckets: Self.latencyBuckets
            )
        }.recordNanoseconds(duration.nanoseconds)
    }

    /// The `method` label of a request: the method's name when it is one of RFC 9110 §9.3's that a
    /// client of the API or the page sends, else `other`. A method may be any token (§9.1), and
    /// a label taken from the request as it came would give every made-up method a series of
    /// its own: a registry, and a `/metrics` page, that any client could grow without bound.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .delete, .patch, .options: method.rawValue
        default: "other"
        }
    }

    /// Records one store operation's duration, connection wait included
    /// (`verigate_store_duration_seconds{operation="statement|transaction"}`).
    public func observeStore(_ operation: SQLStoreLatency.Operation, duration: Duration) {
        storeDurations[operation]?.recordNanoseconds(duration.nanoseconds)
    }

    /// Starts recording `store`'s operations (`observeStore`).
    public func observe(_ store: SQLVerificationStore) {
        store.latency.observe(self)
    }

    /// Buckets of the latency histograms (HTTP requests, store operations): 250 µs to 2.5 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5),
    ]

    /// `GET /metrics` on `router`: the text exposition format, behind `token` when one is set
    /// (`Authorization: Bearer <token>`, compared in constant time). The core's API and
    /// `verigate gateway --metrics-address` serve it the same way.
    public func addRoute<Context: RequestContext>(to router: Router<Context>, token: String?) {
        Self.addOperatorRoute(to: router, path: "/metrics", token: token) {
            (.ok, "text/plain; version=0.0.4", ByteBuffer(string: self.render()))
        }
    }

    /// `GET path` for operators beside `/metrics`, behind the same token: answers what `respond`
    /// returns (status, content type, body); `verigate gateway` serves its readiness this way.
    public static func addOperatorRoute<Context: RequestContext>(to router: Router<Context>, path: RouterPath, token: String?,
                                                                 respond: @escaping @Sendable () -> (HTTPResponse.Status, String, ByteBuffer)) {
        router.get(path) { request, _ in
            if let token, !Secrets.tokenMatches(request.bearerToken ?? "", token) {
                return Problem(status: .unauthorized, code: "unauthorized", detail: "The metrics token is required (Authorization: Bearer …).").response()
            }
            let (status, contentType, body) = respond()
            return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: body))
        }
    }

    /// Text exposition format.
    public func render() -> String {
        for collect in collectors.withLock({ $0 }) { collect() }
        return registry.emitToString()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// Times every request into `ServerMetrics` (route templates, not raw paths, so ids do not explode the label set).
struct LatencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        metrics.observe(route: route, method: request.method, status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}
