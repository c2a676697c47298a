// ClientTransaction / ServerTransaction: one value per table entry, whichever §17 machine it holds.

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

/// A server transaction of either kind (RFC 3261 §17.2), for one `TransactionTable` of servers.
public enum ServerTransaction: Sendable, Equatable {
    /// An INVITE server transaction (§17.2.1).
    case invite(ServerInviteTransaction)
    /// A non-INVITE server transaction (§17.2.2).
    case nonInvite(ServerNonInviteTransaction)

    /// Creates the machine for a new request with `method` (never ACK, which matches or is a 2xx ACK).
    public init(method: String, isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self = method == "INVITE"
            ? .invite(ServerInviteTransaction(isReliable: isReliable, timers: timers))
            : .nonInvite(ServerNonInviteTransaction(isReliable: isReliable, timers: timers))
    }

    /// Passes the creating request up (and sends 100 Trying for INVITE, §17.2.1).
    public mutating func start() -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.start()
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.start()
        }
    }

    /// A retransmission of the request arrived.
    public mutating func requestRetransmissionReceived() -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.requestRetransmissionReceived()
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.requestRetransmissionReceived()
        }
    }

    /// An ACK matched this transaction (INVITE only; ignored by non-INVITE).
    public mutating func ackReceived() -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.ackReceived()
        case .nonInvite: return []
        }
    }

    /// The TU gave a response to send.
    public mutating func responseSent(statusCode: Int) -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.responseSent(statusCode: statusCode)
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.responseSent(statusCode: statusCode)
        }
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: TransactionTimer) -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.timerFired(timer)
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.timerFired(timer)
        }
    }

    /// The transport failed (§17.2.4).
    public mutating func transportErrorOccurred() -> [ServerTransactionAction] {
        switch self {
        case .invite(var machine): defer { self = .invite(machine) }; return machine.transportErrorOccurred()
        case .nonInvite(var machine): defer { self = .nonInvite(machine) }; return machine.transportErrorOccurred()
        }
    }
}
