import NIOCore

/// Settings of an ESME session (SMPP 3.4 §2.2, §2.7): credentials, window, rate, keep-alive, retries.
public struct ESMEConfiguration: Sendable, Equatable {
    /// SMSC host (loopback in tests).
    public var host: String
    /// SMSC port (2775 by convention).
    public var port: Int
    /// bind_transceiver fields: system_id, password, system_type (§4.2.5).
    public var bind: SMPPBind
    /// Most submit_sm awaiting submit_sm_resp at once (§2.7 windowing).
    public var windowSize: Int
    /// Most submit_sm per second; 0 = unlimited.
    public var maxSubmitsPerSecond: Double
    /// enquire_link period while bound (§4.11).
    public var enquireLinkInterval: TimeAmount
    /// How long to wait for enquire_link_resp or bind_transceiver_resp before dropping the link.
    public var responseTimeout: TimeAmount
    /// Delays between reconnect attempts after a drop or a refused bind.
    public var reconnectBackoff: Backoff
    /// Delays before resending a submit refused with ESME_RTHROTTLED or ESME_RMSGQFUL.
    public var throttleBackoff: Backoff
    /// Most resends of one throttled submit before it fails with the status name.
    public var maxThrottleRetries: Int

    /// Builds a configuration with operator-friendly defaults.
    public init(host: String, port: Int, bind: SMPPBind, windowSize: Int = 10, maxSubmitsPerSecond: Double = 0,
                enquireLinkInterval: TimeAmount = .seconds(30), responseTimeout: TimeAmount = .seconds(10),
                reconnectBackoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(30)),
                throttleBackoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(30)),
                maxThrottleRetries: Int = 8) {
        self.host = host
        self.port = port
        self.bind = bind
        self.windowSize = max(1, windowSize)
        self.maxSubmitsPerSecond = maxSubmitsPerSecond
        self.enquireLinkInterval = enquireLinkInterval
        self.responseTimeout = responseTimeout
        self.reconnectBackoff = reconnectBackoff
        self.throttleBackoff = throttleBackoff
        self.maxThrottleRetries = maxThrottleRetries
    }

    /// Exponential backoff: `initial · 2^attempt`, capped at `maximum`.
    public struct Backoff: Sendable, Equatable {
        /// First delay.
        public var initial: TimeAmount
        /// Largest delay.
        public var maximum: TimeAmount
        /// Builds a backoff.
        public init(initial: TimeAmount, maximum: TimeAmount) {
            self.initial = initial
            self.maximum = maximum
        }
        /// The delay before attempt number `attempt` (0-based).
        public func delay(attempt: Int) -> TimeAmount {
            let factor = Int64(1) << Int64(min(max(attempt, 0), 20))
            let (product, overflow) = initial.nanoseconds.multipliedReportingOverflow(by: factor)
            return overflow ? maximum : .nanoseconds(min(product, maximum.nanoseconds))
        }
    }
}
