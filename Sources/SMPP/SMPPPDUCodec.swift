// SMPP 3.4 PDU encoding and decoding, written by hand: the Swift server ecosystem has no SMPP
// library (none in the package mirror), and the wire format (§3.2 header, §4 bodies, §3.2.4 TLVs)
// is small. Decoding is incremental over a `ByteBuffer` and framed by command_length with a limit.
import NIOCore

/// Encodes PDUs (SMPP 3.4 §3.2: command_length, command_id, command_status, sequence_number, body).
public enum SMPPPDUEncoder {
    /// Appends the PDU to `buffer`.
    public static func encode(_ pdu: SMPPPDU, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))  // command_length, patched below
        buffer.writeInteger(pdu.body.commandID)
        buffer.writeInteger(pdu.commandStatus.rawValue)
        buffer.writeInteger(pdu.sequenceNumber)
        switch pdu.body {
        case .bindTransceiver(let bind):
            writeCString(bind.systemID, &buffer)
            writeCString(bind.password, &buffer)
            writeCString(bind.systemType, &buffer)
            buffer.writeInteger(bind.interfaceVersion)
            buffer.writeInteger(bind.addrTON)
            buffer.writeInteger(bind.addrNPI)
            writeCString(bind.addressRange, &buffer)
        case .bindTransceiverResp(let systemID, let tlvs):
            writeCString(systemID, &buffer)
            writeTLVs(tlvs, &buffer)
        case .submitSm(let sm), .deliverSm(let sm):
            writeCString(sm.serviceType, &buffer)
            buffer.writeInteger(sm.sourceAddrTON)
            buffer.writeInteger(sm.sourceAddrNPI)
            writeCString(sm.sourceAddr, &buffer)
            buffer.writeInteger(sm.destAddrTON)
            buffer.writeInteger(sm.destAddrNPI)
            writeCString(sm.destinationAddr, &buffer)
            buffer.writeInteger(sm.esmClass)
            buffer.writeInteger(sm.protocolID)
            buffer.writeInteger(sm.priorityFlag)
            writeCString(sm.scheduleDeliveryTime, &buffer)
            writeCString(sm.validityPeriod, &buffer)
            buffer.writeInteger(sm.registeredDelivery)
            buffer.writeInteger(sm.replaceIfPresentFlag)
            buffer.writeInteger(sm.dataCoding)
            buffer.writeInteger(sm.smDefaultMsgID)
            buffer.writeInteger(UInt8(truncatingIfNeeded: min(sm.shortMessage.count, 254)))
            buffer.writeBytes(sm.shortMessage.prefix(254))
            writeTLVs(sm.tlvs, &buffer)
        case .submitSmResp(let messageID):
            writeCString(messageID, &buffer)
        case .deliverSmResp:
            writeCString("", &buffer)  // message_id: unused, NULL (§4.6.2)
        case .enquireLink, .enquireLinkResp, .unbind, .unbindResp, .genericNack, .unsupported:
            break
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start), at: start)
    }

    /// The PDU as bytes.
    public static func bytes(_ pdu: SMPPPDU) -> [UInt8] {
        var buffer = ByteBuffer()
        encode(pdu, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    private static func writeCString(_ string: String, _ buffer: inout ByteBuffer) {
        buffer.writeString(string)
        buffer.writeInteger(UInt8(0))
    }

    private static func writeTLVs(_ tlvs: [SMPPTLV], _ buffer: inout ByteBuffer) {
        for tlv in tlvs {
            buffer.writeInteger(tlv.tag.rawValue)
            buffer.writeInteger(UInt16(truncatingIfNeeded: tlv.value.count))
            buffer.writeBytes(tlv.value)
        }
    }
}

/// Incremental PDU decoder framed by command_length (SMPP 3.4 §3.2), with a size limit.
public struct SMPPPDUDecoder: Sendable {
    /// Largest accepted command_length; larger frames are an error (the connection should close).
    public var maximumPDULength: Int

    /// Builds a decoder; 64 KiB comfortably holds a message_payload of a long SMS.
    public init(maximumPDULength: Int = 65_536) { self.maximumPDULength = maximumPDULength }

    /// Decodes one PDU if a whole frame is readable; leaves `buffer` untouched when more bytes are needed.
    /// A malformed body throws after the frame is consumed, so the stream stays in sync.
    public func parse(_ buffer: inout ByteBuffer) throws(SMPPError) -> SMPPPDU? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= 16, length <= maximumPDULength else { throw .invalidCommandLength(length) }
        guard buffer.readableBytes >= Int(length), var frame = buffer.readSlice(length: Int(length)) else { return nil }
        frame.moveReaderIndex(forwardBy: 4)
        // Safe: the frame has at least 16 bytes.
        let commandID = frame.readInteger(as: UInt32.self) ?? 0
        let status = SMPPCommandStatus(rawValue: frame.readInteger(as: UInt32.self) ?? 0)
        let sequence = frame.readInteger(as: UInt32.self) ?? 0
        let body = try Self.body(commandID: commandID, status: status, &frame)
        return SMPPPDU(body, sequenceNumber: sequence, commandStatus: status)
    }

    private static func body(commandID: UInt32, status: SMPPCommandStatus, _ frame: inout ByteBuffer) throws(SMPPError) -> SMPPPDU.Body {
        guard let id = SMPPCommandID(rawValue: commandID) else { return .unsupported(commandID: commandID) }
        switch id {
        case .genericNack: return .genericNack
        case .enquireLink: return .enquireLink
        case .enquireLinkResp: return .enquireLinkResp
        case .unbind: return .unbind
        case .unbindResp: return .unbindResp
        case .deliverSmResp: return .deliverSmResp
        case .bindTransceiver:
            return .bindTransceiver(SMPPBind(
                systemID: try cString(&frame, max: 16, "system_id"),
                password: try cString(&frame, max: 9, "password"),
                systemType: try cString(&frame, max: 13, "system_type"),
                interfaceVersion: try u8(&frame, "interface_version"),
                addrTON: try u8(&frame, "addr_ton"),
                addrNPI: try u8(&frame, "addr_npi"),
                addressRange: try cString(&frame, max: 41, "address_range")))
        case .bindTransceiverResp:
            // §4.2.6: the body may be absent when command_status ≠ 0.
            if frame.readableBytes == 0 { return .bindTransceiverResp(systemID: "", tlvs: []) }
            let systemID = try cString(&frame, max: 16, "system_id")
            return .bindTransceiverResp(systemID: systemID, tlvs: try tlvs(&frame))
        case .submitSmResp:
            // §4.4.2: the body is not returned when command_status ≠ 0.
            if frame.readableBytes == 0 { return .submitSmResp(messageID: "") }
            return .submitSmResp(messageID: try cString(&frame, max: 65, "message_id"))
        case .submitSm: return .submitSm(try shortMessage(&frame))
        case .deliverSm: return .deliverSm(try shortMessage(&frame))
        }
    }

    private static func shortMessage(_ frame: inout ByteBuffer) throws(SMPPError) -> SMPPShortMessage {
        var sm = SMPPShortMessage()
        sm.serviceType = try cString(&frame, max: 6, "service_type")
        sm.sourceAddrTON = try u8(&frame, "source_addr_ton")
        sm.sourceAddrNPI = try u8(&frame, "source_addr_npi")
        sm.sourceAddr = try cString(&frame, max: 21, "source_addr")
        sm.destAddrTON = try u8(&frame, "dest_addr_ton")
        sm.destAddrNPI = try u8(&frame, "dest_addr_npi")
        sm.destinationAddr = try cString(&frame, max: 21, "destination_addr")
        sm.esmClass = try u8(&frame, "esm_class")
        sm.protocolID = try u8(&frame, "protocol_id")
        sm.priorityFlag = try u8(&frame, "priority_flag")
        sm.scheduleDeliveryTime = try cString(&frame, max: 17, "schedule_delivery_time")
        sm.validityPeriod = try cString(&frame, max: 17, "validity_period")
        sm.registeredDelivery = try u8(&frame, "registered_delivery")
        sm.replaceIfPresentFlag = try u8(&frame, "replace_if_present_flag")
        sm.dataCoding = try u8(&frame, "data_coding")
        sm.smDefaultMsgID = try u8(&frame, "sm_default_msg_id")
        let length = try u8(&frame, "sm_length")
        // §4.4.1, §4.6.1: 0…254 octets (what the encoder writes; more goes in message_payload).
        guard length <= 254 else { throw .fieldTooLong(field: "short_message") }
        guard let message = frame.readBytes(length: Int(length)) else { throw .truncated(field: "short_message") }
        sm.shortMessage = message
        sm.tlvs = try tlvs(&frame)
        return sm
    }

    private static func tlvs(_ frame: inout ByteBuffer) throws(SMPPError) -> [SMPPTLV] {
        var result: [SMPPTLV] = []
        while frame.readableBytes > 0 {
            guard let tag = frame.readInteger(as: UInt16.self), let length = frame.readInteger(as: UInt16.self) else {
                throw .truncated(field: "tlv")
            }
            guard let value = frame.readBytes(length: Int(length)) else { throw .truncated(field: "tlv value") }
            result.append(SMPPTLV(tag: SMPPTLV.Tag(rawValue: tag), value: value))
        }
        return result
    }

    private static func u8(_ frame: inout ByteBuffer, _ field: String) throws(SMPPError) -> UInt8 {
        guard let value = frame.readInteger(as: UInt8.self) else { throw .truncated(field: field) }
        return value
    }

    /// C-Octet String (§3.1): at most `max` octets including the NUL; ASCII in the spec, UTF-8
    /// accepted. Other bytes are refused rather than replaced: a replaced string would encode
    /// longer than it arrived, past `max`.
    private static func cString(_ frame: inout ByteBuffer, max: Int, _ field: String) throws(SMPPError) -> String {
        let view = frame.readableBytesView.prefix(max)
        guard let nul = view.firstIndex(of: 0) else {
            throw frame.readableBytes < max ? .truncated(field: field) : .fieldTooLong(field: field)
        }
        guard let string = String(validating: view[..<nul], as: UTF8.self) else { throw .notText(field: field) }
        frame.moveReaderIndex(forwardBy: nul - view.startIndex + 1)
        return string
    }
}
