// Actions emitted by the transaction state machines of RFC 3261 §17 for the shell to run.

/// What a client transaction asks its shell to do (RFC 3261 §17.1, RFC 6026).
///
/// The machine holds no messages: the shell keeps the request it started the transaction with and
/// builds the ACK for a non-2xx final response (§17.1.1.3) when asked to. `.startTimer` for a timer
/// that is already running replaces it.
public enum ClientTransactionAction: Sendable, Equatable {
    /// Transmit (or retransmit) the transaction's request (§17.1.1.2, §17.1.2.2).
    case sendRequest
    /// Send the ACK for the non-2xx final response with this status code, built per §17.1.1.3.
    case sendACK(statusCode: Int)
    /// Hand the response with this status code to the transaction user.
    case passResponseToTU(statusCode: Int)
    /// Start (or restart) a timer; `timerFired` comes back when it expires.
    case startTimer(TransactionTimer, after: Duration)
    /// Stop a running timer.
    case cancelTimer(TransactionTimer)
    /// Tell the TU the transaction timed out (Timer B or F, §17.1.1.2, §17.1.2.2; a 408 for the TU, §8.1.3.1).
    case reportTimeout
    /// Tell the TU the transport failed (§17.1.4, §8.1.3.1: treat as 503).
    case reportTransportError
    /// The transaction is over; remove it from the table (§17.1.1.2 Terminated).
    case terminate
}

/// What a server transaction asks its shell to do (RFC 3261 §17.2, RFC 6026).
///
/// The shell keeps the most recent response the TU gave; `.sendResponse` transmits or retransmits it.
public enum ServerTransactionAction: Sendable, Equatable {
    /// Hand the request to the transaction user (§17.2.1, §17.2.2).
    case passRequestToTU
    /// Hand an ACK to the TU; RFC 6026: ACKs for a 2xx arriving in Accepted go to the TU.
    case passACKToTU
    /// Generate and send a 100 (Trying) for the INVITE (§17.2.1).
    case sendTrying
    /// Send (or retransmit) the most recent response, which has this status code.
    case sendResponse(statusCode: Int)
    /// Start (or restart) a timer; `timerFired` comes back when it expires.
    case startTimer(TransactionTimer, after: Duration)
    /// Stop a running timer.
    case cancelTimer(TransactionTimer)
    /// Tell the TU that no ACK came (Timer H, §17.2.1).
    case reportTimeout
    /// Tell the TU the transport failed while sending a response (§17.2.4).
    case reportTransportError
    /// The transaction is over; remove it from the table.
    case terminate
}

/// The class of a SIP status code (RFC 3261 §7.2, §21).
enum StatusClass {
    case provisional, success, failure

    init(_ statusCode: Int) {
        if statusCode < 200 { self = .provisional } else if statusCode < 300 { self = .success } else { self = .failure }
    }
}
