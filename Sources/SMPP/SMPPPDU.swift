/// One SMPP 3.4 PDU: header fields (§3.2) plus the typed body.
public struct SMPPPDU: Sendable, Equatable {
    /// command_status (§5.1.3); `ESME_ROK` in requests.
    public var commandStatus: SMPPCommandStatus
    /// sequence_number (§3.2): matches a response to its request.
    public var sequenceNumber: UInt32
    /// The body, which also fixes command_id.
    public var body: Body

    /// Builds a PDU.
    public init(_ body: Body, sequenceNumber: UInt32, commandStatus: SMPPCommandStatus = .ESME_ROK) {
        self.body = body
        self.sequenceNumber = sequenceNumber
        self.commandStatus = commandStatus
    }

    /// The PDU bodies this ESME speaks (SMPP 3.4 §4).
    public enum Body: Sendable, Equatable {
        /// bind_transceiver (§4.2.5).
        case bindTransceiver(SMPPBind)
        /// bind_transceiver_resp (§4.2.6): the SMSC's system_id (absent when status ≠ 0) and TLVs.
        case bindTransceiverResp(systemID: String, tlvs: [SMPPTLV])
        /// submit_sm (§4.4.1).
        case submitSm(SMPPShortMessage)
        /// submit_sm_resp (§4.4.2): message_id (empty when status ≠ 0).
        case submitSmResp(messageID: String)
        /// deliver_sm (§4.6.1): MO message or delivery receipt.
        case deliverSm(SMPPShortMessage)
        /// deliver_sm_resp (§4.6.2).
        case deliverSmResp
        /// enquire_link (§4.11.1).
        case enquireLink
        /// enquire_link_resp (§4.11.2).
        case enquireLinkResp
        /// unbind (§4.2.1).
        case unbind
        /// unbind_resp (§4.2.2).
        case unbindResp
        /// generic_nack (§4.3.1).
        case genericNack
        /// A command this ESME does not speak; the body is skipped (answered with generic_nack ESME_RINVCMDID).
        case unsupported(commandID: UInt32)

        /// command_id of this body (§5.1.2.1).
        public var commandID: UInt32 {
            switch self {
            case .bindTransceiver: SMPPCommandID.bindTransceiver.rawValue
            case .bindTransceiverResp: SMPPCommandID.bindTransceiverResp.rawValue
            case .submitSm: SMPPCommandID.submitSm.rawValue
            case .submitSmResp: SMPPCommandID.submitSmResp.rawValue
            case .deliverSm: SMPPCommandID.deliverSm.rawValue
            case .deliverSmResp: SMPPCommandID.deliverSmResp.rawValue
            case .enquireLink: SMPPCommandID.enquireLink.rawValue
            case .enquireLinkResp: SMPPCommandID.enquireLinkResp.rawValue
            case .unbind: SMPPCommandID.unbind.rawValue
            case .unbindResp: SMPPCommandID.unbindResp.rawValue
            case .genericNack: SMPPCommandID.genericNack.rawValue
            case .unsupported(let id): id
            }
        }
    }
}

/// bind_transceiver body (SMPP 3.4 §4.2.5).
public struct SMPPBind: Sendable, Equatable {
    /// system_id, at most 15 characters.
    public var systemID: String
    /// password, at most 8 characters.
    public var password: String
    /// system_type, at most 12 characters.
    public var systemType: String
    /// interface_version: 0x34 for SMPP 3.4.
    public var interfaceVersion: UInt8
    /// addr_ton (§5.2.5).
    public var addrTON: UInt8
    /// addr_npi (§5.2.6).
    public var addrNPI: UInt8
    /// address_range, at most 40 characters.
    public var addressRange: String

    /// Builds a bind body.
    public init(systemID: String, password: String, systemType: String = "", interfaceVersion: UInt8 = 0x34,
                addrTON: UInt8 = 0, addrNPI: UInt8 = 0, addressRange: String = "") {
        self.systemID = systemID
        self.password = password
        self.systemType = systemType
        self.interfaceVersion = interfaceVersion
        self.addrTON = addrTON
        self.addrNPI = addrNPI
        self.addressRange = addressRange
    }
}

/// The mandatory fields shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1), plus TLVs (§5.3).
public struct SMPPShortMessage: Sendable, Equatable {
    /// service_type, at most 5 characters.
    public var serviceType: String = ""
    /// source_addr_ton (§5.2.5).
    public var sourceAddrTON: UInt8 = 0
    /// source_addr_npi (§5.2.6).
    public var sourceAddrNPI: UInt8 = 0
    /// source_addr, at most 20 characters.
    public var sourceAddr: String = ""
    /// dest_addr_ton (§5.2.5); 1 = international.
    public var destAddrTON: UInt8 = 1
    /// dest_addr_npi (§5.2.6); 1 = E.164.
    public var destAddrNPI: UInt8 = 1
    /// destination_addr, at most 20 characters (E.164 digits without `+`).
    public var destinationAddr: String = ""
    /// esm_class (§5.2.12): 0x40 UDHI, 0x04 delivery receipt (deliver_sm).
    public var esmClass: UInt8 = 0
    /// protocol_id (§5.2.13).
    public var protocolID: UInt8 = 0
    /// priority_flag (§5.2.14).
    public var priorityFlag: UInt8 = 0
    /// schedule_delivery_time (§5.2.15): empty for immediate.
    public var scheduleDeliveryTime: String = ""
    /// validity_period (§5.2.16): empty for the SMSC default.
    public var validityPeriod: String = ""
    /// registered_delivery (§5.2.17): 1 = receipt on final outcome.
    public var registeredDelivery: UInt8 = 0
    /// replace_if_present_flag (§5.2.18).
    public var replaceIfPresentFlag: UInt8 = 0
    /// data_coding (§5.2.19): 0 SMSC default (GSM 03.38), 8 UCS-2.
    public var dataCoding: UInt8 = 0
    /// sm_default_msg_id (§5.2.20).
    public var smDefaultMsgID: UInt8 = 0
    /// short_message, 0…254 octets (sm_length is derived).
    public var shortMessage: [UInt8] = []
    /// Optional parameters (§5.3).
    public var tlvs: [SMPPTLV] = []

    /// Builds a message; all fields have spec defaults.
    public init(sourceAddr: String = "", destinationAddr: String = "", shortMessage: [UInt8] = [],
                dataCoding: UInt8 = 0, esmClass: UInt8 = 0, registeredDelivery: UInt8 = 0, tlvs: [SMPPTLV] = []) {
        self.sourceAddr = sourceAddr
        self.destinationAddr = destinationAddr
        self.shortMessage = shortMessage
        self.dataCoding = dataCoding
        self.esmClass = esmClass
        self.registeredDelivery = registeredDelivery
        self.tlvs = tlvs
    }

    /// The first TLV with this tag.
    public func tlv(_ tag: SMPPTLV.Tag) -> SMPPTLV? { tlvs.first { $0.tag == tag } }
}

/// An optional parameter (SMPP 3.4 §3.2.4, §5.3): tag, length, value.
public struct SMPPTLV: Sendable, Equatable {
    /// Parameter tag (§5.3.2).
    public struct Tag: RawRepresentable, Hashable, Sendable {
        /// Wire value.
        public var rawValue: UInt16
        /// Wraps a wire value.
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// receipted_message_id (§5.3.2.12).
        public static let receiptedMessageID = Tag(rawValue: 0x001E)
        /// sar_msg_ref_num (§5.3.2.22).
        public static let sarMsgRefNum = Tag(rawValue: 0x020C)
        /// sar_total_segments (§5.3.2.23).
        public static let sarTotalSegments = Tag(rawValue: 0x020E)
        /// sar_segment_seqnum (§5.3.2.24).
        public static let sarSegmentSeqnum = Tag(rawValue: 0x020F)
        /// sc_interface_version (§5.3.2.25).
        public static let scInterfaceVersion = Tag(rawValue: 0x0210)
        /// network_error_code (§5.3.2.31).
        public static let networkErrorCode = Tag(rawValue: 0x0423)
        /// message_payload (§5.3.2.32).
        public static let messagePayload = Tag(rawValue: 0x0424)
        /// message_state (§5.3.2.35).
        public static let messageState = Tag(rawValue: 0x0427)
    }

    /// The tag.
    public var tag: Tag
    /// The value octets (length is derived).
    public var value: [UInt8]

    /// Builds a TLV.
    public init(tag: Tag, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }
}
