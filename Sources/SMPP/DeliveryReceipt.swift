import ABNF

/// An SMSC delivery receipt (SMPP 3.4 Appendix B), carried in deliver_sm with esm_class 0x04:
/// `id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…`.
public struct DeliveryReceipt: Sendable, Equatable {
    /// Final message state (Appendix B "stat", §5.2.28 message_state).
    public enum State: String, Sendable, Equatable, CaseIterable {
        /// Delivered to the handset.
        case delivered = "DELIVRD"
        /// Validity period expired.
        case expired = "EXPIRED"
        /// Deleted.
        case deleted = "DELETED"
        /// Undeliverable.
        case undeliverable = "UNDELIV"
        /// Accepted (manually read on behalf of the subscriber).
        case accepted = "ACCEPTD"
        /// Invalid state.
        case unknown = "UNKNOWN"
        /// Rejected.
        case rejected = "REJECTD"
        /// Still en route (intermediate receipts).
        case enroute = "ENROUTE"

        /// The message_state TLV value (§5.2.28).
        public init?(messageState: UInt8) {
            switch messageState {
            case 1: self = .enroute
            case 2: self = .delivered
            case 3: self = .expired
            case 4: self = .deleted
            case 5: self = .undeliverable
            case 6: self = .accepted
            case 7: self = .unknown
            case 8: self = .rejected
            default: return nil
            }
        }

        /// True when the message reached the handset.
        public var isSuccess: Bool { self == .delivered || self == .accepted }
    }

    /// The SMSC message id (as returned in submit_sm_resp).
    public var messageID: String
    /// Final state.
    public var state: State
    /// "err" network error code, as text.
    public var error: String
    /// "submit date" YYMMDDhhmm, as text.
    public var submitDate: String
    /// "done date" YYMMDDhhmm, as text.
    public var doneDate: String

    /// Builds a receipt.
    public init(messageID: String, state: State, error: String = "", submitDate: String = "", doneDate: String = "") {
        self.messageID = messageID
        self.state = state
        self.error = error
        self.submitDate = submitDate
        self.doneDate = doneDate
    }

    static let keys = ["id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:", "text:"]

    /// Parses the Appendix B text (keys case-insensitive, any order, `text:` last). Limited to 1000
    /// characters. The `text:` part is dropped: it is the start of the SMS, i.e. the code.
    public static func parse(_ text: String) throws(SMPPError) -> DeliveryReceipt {
        guard text.utf8.count <= 1000 else { throw .malformedReceipt("receipt longer than 1000 octets") }
        let bytes = Array(text.utf8)
        let lower = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
        // Each key at a token start (start of text or after a space), first occurrence.
        var found: [(key: String, start: Int, end: Int)] = []
        for key in keys {
            let pattern = Array(key.utf8)
            var index = 0
            while index + pattern.count <= lower.count {
                if (index == 0 || lower[index - 1] == 0x20), lower[index..<index + pattern.count].elementsEqual(pattern) {
                    found.append((key, index, index + pattern.count))
                    break
                }
                index += 1
            }
        }
        found.sort { $0.start < $1.start }
        // `text:` (the start of the SMS, which may carry the code) is last: whatever follows it is
        // its text, even words that look like keys ("… err:123456"), and is never kept.
        if let text = found.first(where: { $0.key == "text:" }) { found.removeAll { $0.start > text.start } }
        var values: [String: String] = [:]
        for (number, entry) in found.enumerated() {
            let stop = number + 1 < found.count ? found[number + 1].start : bytes.count
            guard entry.end <= stop else { continue }
            values[entry.key] = String(decoding: bytes[entry.end..<stop], as: UTF8.self).trimmingSP
        }
        guard let id = values["id:"], !id.isEmpty else { throw .malformedReceipt("no id") }
        guard let stat = values["stat:"] else { throw .malformedReceipt("no stat") }
        guard let state = State(rawValue: stat.uppercased()) else { throw .malformedReceipt("unknown stat \(stat)") }
        // err is a 3-character network error code (Appendix B); anything longer (it could be a
        // code of 4 or more digits) is not kept.
        let error = values["err:"].flatMap { $0.count <= 3 && $0.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) ? $0 : nil }
        return DeliveryReceipt(messageID: id, state: state, error: error ?? "",
                               submitDate: values["submit date:"] ?? "", doneDate: values["done date:"] ?? "")
    }

    /// The receipt of a deliver_sm: TLVs receipted_message_id and message_state win over the text (§5.3.2.12, §5.3.2.35).
    public static func from(_ message: SMPPShortMessage) throws(SMPPError) -> DeliveryReceipt {
        let text = String(decoding: message.shortMessage.isEmpty ? (message.tlv(.messagePayload)?.value ?? []) : message.shortMessage,
                          as: UTF8.self)
        if let idTLV = message.tlv(.receiptedMessageID), let stateTLV = message.tlv(.messageState),
           let value = stateTLV.value.first, let state = State(messageState: value) {
            let id = String(decoding: idTLV.value.prefix { $0 != 0 }, as: UTF8.self)
            var receipt = (try? parse(text)) ?? DeliveryReceipt(messageID: id, state: state)
            receipt.messageID = id
            receipt.state = state
            return receipt
        }
        return try parse(text)
    }
}
