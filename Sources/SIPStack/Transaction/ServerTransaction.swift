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
