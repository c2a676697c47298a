/// Collects the keys a caller presses, merging the three ways DTMF arrives — RFC 4733 telephone
/// events, in-band tones found by ``DTMFDetector``, and SIP INFO (``SIPInfoDTMF``) — so that a key
/// carried both as an RFC 4733 event and as audio counts once.
///
/// A pure state machine: time is an input (`at:` is the time since any fixed origin, e.g. call
/// start, on a monotonic clock) and timers are actions the caller runs and reports back with
/// ``timerFired(_:at:)``. `#` (configurable) ends input early; the inter-digit timeout ends it too.
///
/// Merging: a key from source S is a duplicate when an already accepted key with the same value,
/// accepted within ``Configuration/duplicateWindow`` and not yet matched by S, exists; it is then
/// matched to the earliest such key. So "2 2" carried both ways still gives two 2s.
public struct DigitCollector: Sendable {
    /// Limits and timers.
    public struct Configuration: Sendable, Equatable {
        /// Input ends when this many keys (not counting the terminator) are in.
        public var maxDigits: Int = 6
        /// The key that ends input early (not included in the result); nil for none.
        public var terminator: DTMFDigit? = .pound
        /// How long to wait for the first key.
        public var firstDigitTimeout: Duration = .seconds(10)
        /// How long to wait for each further key.
        public var interDigitTimeout: Duration = .seconds(5)
        /// How far apart the same key from two sources may be and still count once.
        public var duplicateWindow: Duration = .milliseconds(500)
        /// Creates the defaults.
        public init() {}
    }

    /// Where a key came from.
    public enum Source: Sendable, Hashable, CaseIterable {
        /// RFC 4733 telephone-event.
        case rfc4733
        /// In-band audio tones.
        case inBand
        /// SIP INFO body.
        case sipInfo
    }

    /// The collector's timers.
    public enum Timer: Sendable, Equatable {
        /// Waiting for the first key.
        case firstDigit
        /// Waiting for the next key.
        case interDigit
    }

    /// Why collection ended.
    public enum Reason: Sendable, Equatable {
        /// The terminator key was pressed.
        case terminator
        /// ``Configuration/maxDigits`` keys are in.
        case maxDigits
        /// No further key within the inter-digit timeout.
        case interDigitTimeout
        /// No key at all within the first-digit timeout.
        case firstDigitTimeout
    }

    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        /// Nothing (a duplicate, a stale timer, or input already complete).
        case none
        /// (Re)start `timer` to fire after the duration, replacing any running collector timer.
        case startTimer(Timer, after: Duration)
        /// A new key was accepted; (re)start `timer`.
        case digitAccepted(DTMFDigit, startTimer: Timer, after: Duration)
        /// Input is complete: stop the timer and use `digits`.
        case completed(digits: String, reason: Reason)
    }

    private enum State: Sendable {
        case idle
        case collecting
        case completed
    }

    private struct Accepted: Sendable {
        var digit: DTMFDigit
        var time: Duration
        var sources: Set<Source>
    }

    /// The configuration.
    public let configuration: Configuration
    private var state: State = .idle
    private var recent: [Accepted] = []
    private var lastActivity: Duration = .zero

    /// The keys accepted so far (without the terminator).
    public private(set) var digits: String = ""
    /// Keys dropped as duplicates of the same key from another source.
    public private(set) var duplicatesDropped = 0

    /// Creates a collector.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Starts collecting (after the prompt has been played).
    public mutating func start(at now: Duration) -> Action {
        switch state {
        case .idle:
            state = .collecting
            lastActivity = now
            return .startTimer(.firstDigit, after: configuration.firstDigitTimeout)
        case .collecting, .completed:
            return .none
        }
    }

    /// A key arrived from `source`. Keys before ``start(at:)`` are collected too (type-ahead).
    public mutating func digitReceived(_ digit: DTMFDigit, from source: Source, at now: Duration) -> Action {
        switch state {
        case .completed:
            return .none
        case .idle, .collecting:
            break
        }
        recent.removeAll { now - $0.time > configuration.duplicateWindow }
        if let i = recent.firstIndex(where: { $0.digit == digit && !$0.sources.contains(source) && now - $0.time <= configuration.duplicateWindow }) {
            recent[i].sources.insert(source)
            duplicatesDropped += 1
            return .none
        }
        recent.append(Accepted(digit: digit, time: now, sources: [source]))
        lastActivity = now
        state = .collecting
        if digit == configuration.terminator {
            return complete(.terminator)
        }
        digits.append(digit.character)
        if digits.count >= configuration.maxDigits {
            return complete(.maxDigits)
        }
        return .digitAccepted(digit, startTimer: .interDigit, after: configuration.interDigitTimeout)
    }

    /// A timer the collector asked for fired. Stale firings (a key arrived since) are ignored.
    public mutating func timerFired(_ timer: Timer, at now: Duration) -> Action {
        switch state {
        case .idle, .completed:
            return .none
        case .collecting:
            break
        }
        switch timer {
        case .firstDigit:
            guard digits.isEmpty, now - lastActivity >= configuration.firstDigitTimeout else { return .none }
            return complete(.firstDigitTimeout)
        case .interDigit:
            guard !digits.isEmpty, now - lastActivity >= configuration.interDigitTimeout else { return .none }
            return complete(.interDigitTimeout)
        }
    }

    private mutating func complete(_ reason: Reason) -> Action {
        state = .completed
        return .completed(digits: digits, reason: reason)
    }
}
