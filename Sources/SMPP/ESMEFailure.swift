/// Why a submit failed for good (the driver reports `reason` as the verification's failure reason).
public enum ESMEFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// submit_sm_resp or generic_nack with an error status (SMPP 3.4 §5.1.3).
    case status(SMPPCommandStatus)
    /// Still ESME_RTHROTTLED / ESME_RMSGQFUL after the configured retries.
    case retriesExhausted(SMPPCommandStatus)
    /// bind_transceiver_resp refused our credentials (§4.2.6).
    case bindRefused(SMPPCommandStatus)
    /// The client was shut down before the submit was answered.
    case shutdown

    /// A stable text: the SMPP status name where there is one (`ESME_RINVDSTADR`).
    public var description: String {
        switch self {
        case .status(let status): status.name
        case .retriesExhausted(let status): "\(status.name) (retries exhausted)"
        case .bindRefused(let status): "bind refused: \(status.name)"
        case .shutdown: "smpp client shut down"
        }
    }
}
