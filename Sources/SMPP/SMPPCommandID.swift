/// SMPP 3.4 §5.1.2.1 command_id values (the subset this ESME speaks; others decode as `.unsupported`).
public enum SMPPCommandID: UInt32, Sendable, Equatable {
    /// generic_nack (§4.3.1).
    case genericNack = 0x8000_0000
    /// bind_transceiver (§4.2.5).
    case bindTransceiver = 0x0000_0009
    /// bind_transceiver_resp (§4.2.6).
    case bindTransceiverResp = 0x8000_0009
    /// submit_sm (§4.4.1).
    case submitSm = 0x0000_0004
    /// submit_sm_resp (§4.4.2).
    case submitSmResp = 0x8000_0004
    /// deliver_sm (§4.6.1).
    case deliverSm = 0x0000_0005
    /// deliver_sm_resp (§4.6.2).
    case deliverSmResp = 0x8000_0005
    /// unbind (§4.2.1).
    case unbind = 0x0000_0006
    /// unbind_resp (§4.2.2).
    case unbindResp = 0x8000_0006
    /// enquire_link (§4.11.1).
    case enquireLink = 0x0000_0015
    /// enquire_link_resp (§4.11.2).
    case enquireLinkResp = 0x8000_0015
}
