/// Turns message text into submit_sm payloads: GSM 03.38 when every character is in the default
/// alphabet (3GPP TS 23.038 §6.2.1), else UCS-2 (UTF-16BE, data_coding 8, SMPP 3.4 §5.2.19); long
/// texts are split with a concatenation User Data Header (3GPP TS 23.040 §9.2.3.24.1) or carried
/// whole in message_payload (SMPP 3.4 §5.3.2.32).
public struct SMSEncoder: Sendable, Equatable {
    /// How GSM 03.38 septets go into short_message.
    public enum GSMPacking: String, Sendable, Equatable, CaseIterable {
        /// One septet per octet (the usual SMPP "SMSC default alphabet").
        case unpacked
        /// Septets packed 8 into 7 octets.
        case packed
    }

    /// How a text longer than one SMS is sent.
    public enum LongMessageMode: String, Sendable, Equatable {
        /// Several submit_sm with a concatenation UDH (esm_class 0x40).
        case udh
        /// One submit_sm with the whole text in the message_payload TLV.
        case messagePayload
    }

    /// One submit_sm's worth of payload.
    public struct Segment: Sendable, Equatable {
        /// data_coding (0 GSM 03.38, 8 UCS-2).
        public var dataCoding: UInt8
        /// esm_class (0x40 when a UDH leads short_message).
        public var esmClass: UInt8
        /// short_message octets (empty when the text rides in TLVs).
        public var shortMessage: [UInt8]
        /// TLVs (message_payload).
        public var tlvs: [SMPPTLV]
    }

    /// GSM packing.
    public var packing: GSMPacking
    /// Long message mode.
    public var longMessageMode: LongMessageMode

    /// Builds an encoder.
    public init(packing: GSMPacking = .unpacked, longMessageMode: LongMessageMode = .udh) {
        self.packing = packing
        self.longMessageMode = longMessageMode
    }

    /// data_coding 0x00: SMSC default alphabet (SMPP 3.4 §5.2.19).
    public static let dataCodingDefault: UInt8 = 0x00
    /// data_coding 0x08: UCS-2 (SMPP 3.4 §5.2.19).
    public static let dataCodingUCS2: UInt8 = 0x08

    /// True when the text needs UCS-2 (a character outside GSM 03.38).
    public static func needsUCS2(_ text: String) -> Bool { GSM7.septets(text) == nil }

    /// Segments for `text`; `reference` is the concatenation reference number (one per message).
    public func segments(_ text: String, reference: UInt8) -> [Segment] {
        if let septets = GSM7.septets(text) {
            return gsmSegments(septets, reference: reference)
        }
        let units = Array(text.utf16)
        return ucs2Segments(units, reference: reference)
    }

    private func gsmSegments(_ septets: [UInt8], reference: UInt8) -> [Segment] {
        let octets: ([UInt8], Int) -> [UInt8] = { part, fill in
            packing == .packed ? GSM7.pack(part, fillBits: fill) : part
        }
        if septets.count <= 160 {
            return [Segment(dataCoding: Self.dataCodingDefault, esmClass: 0, shortMessage: octets(septets, 0), tlvs: [])]
        }
        if longMessageMode == .messagePayload {
            return [Segment(dataCoding: Self.dataCodingDefault, esmClass: 0, shortMessage: [],
                            tlvs: [SMPPTLV(tag: .messagePayload, value: octets(septets, 0))])]
        }
        // 153 septets per part; never split an ESC from its extension code.
        var parts: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        while index < septets.count {
            let width = septets[index] == 0x1B ? 2 : 1
            if current.count + width > 153 {
                parts.append(current)
                current = []
            }
            current.append(contentsOf: septets[index..<min(index + width, septets.count)])
            index += width
        }
        if !current.isEmpty { parts.append(current) }
        // A 6-octet UDH is 48 bits; packed text starts at the next septet boundary (49 bits): 1 fill bit.
        return parts.enumerated().map { number, part in
            let header = Self.udh(reference: reference, total: parts.count, number: number + 1)
            return Segment(dataCoding: Self.dataCodingDefault, esmClass: 0x40,
                           shortMessage: header + octets(part, 1), tlvs: [])
        }
    }

    private func ucs2Segments(_ units: [UInt16], reference: UInt8) -> [Segment] {
        let bytes: ([UInt16]) -> [UInt8] = { part in part.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
        if units.count <= 70 {
            return [Segment(dataCoding: Self.dataCodingUCS2, esmClass: 0, shortMessage: bytes(units), tlvs: [])]
        }
        if longMessageMode == .messagePayload {
            return [Segment(dataCoding: Self.dataCodingUCS2, esmClass: 0, shortMessage: [],
                            tlvs: [SMPPTLV(tag: .messagePayload, value: bytes(units))])]
        }
        // 67 UTF-16 units per part; never split a surrogate pair.
        var parts: [[UInt16]] = []
        var current: [UInt16] = []
        var index = 0
        while index < units.count {
            let width = UTF16.isLeadSurrogate(units[index]) && index + 1 < units.count ? 2 : 1
            if current.count + width > 67 {
                parts.append(current)
                current = []
            }
            current.append(contentsOf: units[index..<index + width])
            index += width
        }
        if !current.isEmpty { parts.append(current) }
        return parts.enumerated().map { number, part in
            Segment(dataCoding: Self.dataCodingUCS2, esmClass: 0x40,
                    shortMessage: Self.udh(reference: reference, total: parts.count, number: number + 1) + bytes(part), tlvs: [])
        }
    }

    /// Concatenated SMS UDH, 8-bit reference (3GPP TS 23.040 §9.2.3.24.1): UDHL 05, IEI 00, IEDL 03, ref, total, number.
    public static func udh(reference: UInt8, total: Int, number: Int) -> [UInt8] {
        [0x05, 0x00, 0x03, reference, UInt8(truncatingIfNeeded: total), UInt8(truncatingIfNeeded: number)]
    }
}
