@testable import SIPStack

/// A mock clock for transaction scripts: it records the timers a machine starts and fires them in
/// deadline order as time is advanced, so tests see every timer without sleeping.
struct MockClock {
    private(set) var now: Duration = .zero
    private(set) var deadlines: [TransactionTimer: Duration] = [:]

    mutating func apply(_ actions: [ClientTransactionAction]) {
        for action in actions {
            switch action {
            case .startTimer(let timer, let after): deadlines[timer] = now + after
            case .cancelTimer(let timer): deadlines[timer] = nil
            case .terminate: deadlines = [:]
            case .sendRequest, .sendACK, .passResponseToTU, .reportTimeout, .reportTransportError: break
            }
        }
    }

    mutating func apply(_ actions: [ServerTransactionAction]) {
        for action in actions {
            switch action {
            case .startTimer(let timer, let after): deadlines[timer] = now + after
            case .cancelTimer(let timer): deadlines[timer] = nil
            case .terminate: deadlines = [:]
            case .passRequestToTU, .passACKToTU, .sendTrying, .sendResponse, .reportTimeout, .reportTransportError: break
            }
        }
    }

    /// The next timer due at or before `limit`, removed from the pending set, with the clock moved to it.
    mutating func nextDue(before limit: Duration) -> TransactionTimer? {
        guard let (timer, deadline) = deadlines.min(by: { $0.value < $1.value || ($0.value == $1.value && "\($0.key)" < "\($1.key)") }),
              deadline <= limit else {
            if !deadlines.isEmpty { now = max(now, limit) }
            return nil
        }
        deadlines[timer] = nil
        now = deadline
        return timer
    }

    var pending: Set<TransactionTimer> { Set(deadlines.keys) }
}
