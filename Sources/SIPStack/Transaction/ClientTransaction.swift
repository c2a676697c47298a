/// A client transaction of either kind (RFC 3261 §17.1), for one `TransactionTable` of clients.
public enum ClientTransaction: Sendable, Equatable {
    /// An INVITE client transaction (§17.1.1).
    case invite(ClientInviteTransaction)
    /// A non-INVITE client transaction (§17.1.2).
    case nonInvite(ClientNonInviteTransaction)

    /// Creates the machine for a request with `method`, on a reliable or unreliable transport.
    public init(method: String, isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self = method == "INVITE"
            ? .invite(ClientInviteTransaction(isReliable: isReliable, timers: timers))
            : .nonInvite(ClientNonInviteTransaction(isReliable: isReliable, timers: timers))
    }

    /// Sends the request and starts the timers (§17.1.1.2, §17.1.2.2).
    public mutating func start() -> [ClientTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.start()
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.start()
        }
    }

    /// A matching response arrived (§17.1.3).
    public mutating func responseReceived(statusCode: Int) -> [ClientTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.responseReceived(statusCode: statusCode)
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.responseReceived(statusCode: statusCode)
        }
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: TransactionTimer) -> [ClientTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.timerFired(timer)
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.timerFired(timer)
        }
    }

    /// The transport failed (§17.1.4).
    public mutating func transportErrorOccurred() -> [ClientTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.transportErrorOccurred()
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.transportErrorOccurred()
        }
    }
}
