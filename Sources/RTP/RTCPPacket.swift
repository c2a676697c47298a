import NIOCore

/// A reception report block (RFC 3550 §6.4.1), shared by SR and RR.
public struct RTCPReportBlock: Equatable, Sendable {
    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction lost since the previous report, as a fixed point number with the point at the left (×256).
    public var fractionLost: UInt8
    /// Cumulative packets lost, 24-bit signed (duplicates can make it negative).
    public var cumulativeLost: Int32
    /// Extended highest sequence number received (cycles << 16 | max seq).
    public var extendedHighestSequence: UInt32
    /// Interarrival jitter in timestamp units (RFC 3550 §6.4.1, A.8).
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR), 0 if none.
    public var lastSR: UInt32
    /// Delay since that SR in 1/65536 s (DLSR), 0 if none.
    public var delaySinceLastSR: UInt32

    /// Creates a block; `cumulativeLost` is clamped to the 24-bit range.
    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32, jitter: UInt32, lastSR: UInt32 = 0, delaySinceLastSR: UInt32 = 0) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }
}

/// An SDES chunk (RFC 3550 §6.5): one source and its items.
public struct RTCPSourceDescription: Equatable, Sendable {
    /// SDES item types (RFC 3550 §6.5); the rest are kept by number.
    public enum ItemType: UInt8, Sendable {
        /// Canonical end-point identifier (RFC 3550 §6.5.1).
        case cname = 1
        /// User name.
        case name = 2
        /// Email.
        case email = 3
        /// Phone.
        case phone = 4
        /// Location.
        case location = 5
        /// Tool.
        case tool = 6
        /// Note.
        case note = 7
    }

    /// The source.
    public var ssrc: UInt32
    /// Items as (type, UTF-8 text) in order.
    public var items: [Item]

    /// One item.
    public struct Item: Equatable, Sendable {
        /// Item type number (1 = CNAME).
        public var type: UInt8
        /// Item text.
        public var text: String

        /// Creates an item.
        public init(type: UInt8, text: String) {
            self.type = type
            self.text = text
        }
    }

    /// Creates a chunk.
    public init(ssrc: UInt32, items: [Item]) {
        self.ssrc = ssrc
        self.items = items
    }

    /// A chunk carrying just a CNAME.
    public init(ssrc: UInt32, cname: String) {
        self.init(ssrc: ssrc, items: [Item(type: ItemType.cname.rawValue, text: cname)])
    }

    /// The CNAME item, if any.
    public var cname: String? { items.first(where: { $0.type == ItemType.cname.rawValue })?.text }
}

/// One RTCP packet (RFC 3550 §6.4–6.6); compound packets are arrays of these.
public enum RTCPPacket: Equatable, Sendable {
    /// Sender report (PT 200, RFC 3550 §6.4.1).
    case senderReport(RTCPSenderReport)
    /// Receiver report (PT 201, RFC 3550 §6.4.2).
    case receiverReport(ssrc: UInt32, reports: [RTCPReportBlock])
    /// Source description (PT 202, RFC 3550 §6.5).
    case sourceDescription([RTCPSourceDescription])
    /// Goodbye (PT 203, RFC 3550 §6.6).
    case bye(ssrcs: [UInt32], reason: String?)
    /// Any other packet type (APP, RTPFB, XR …), kept raw: count field and body after the 4-byte header.
    case other(payloadType: UInt8, count: UInt8, body: [UInt8])
}

/// Sender report contents (RFC 3550 §6.4.1).
public struct RTCPSenderReport: Equatable, Sendable {
    /// Sender's SSRC.
    public var ssrc: UInt32
    /// 64-bit NTP timestamp of this report.
    public var ntpTimestamp: UInt64
    /// The same instant in RTP timestamp units.
    public var rtpTimestamp: UInt32
    /// Packets sent since starting.
    public var packetCount: UInt32
    /// Payload octets sent since starting.
    public var octetCount: UInt32
    /// Reception reports.
    public var reports: [RTCPReportBlock]

    /// Creates a sender report.
    public init(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32, reports: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }

    /// The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR (RFC 3550 §6.4.1).
    public var middleNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }
}

/// Encodes and decodes RTCP compound packets (RFC 3550 §6.1, validity checks of A.2).
///
/// Hand-written: no maintained Swift RTCP library exists; the formats are fixed-layout words.
public enum RTCPCompoundPacket {
    /// Most packets accepted in one compound datagram.
    public static let maxPackets = 32

    /// Decodes a whole datagram (RFC 3550 A.2): version 2 everywhere, the first packet SR or RR
    /// without padding, lengths that add up to the datagram exactly.
    ///
    /// - Throws: `.truncated`, `.badVersion`, `.badLength`, `.badPadding`, `.notCompound`.
    public static func parse(_ datagram: ByteBuffer) throws(RTPError) -> [RTCPPacket] {
        var buffer = datagram
        var packets: [RTCPPacket] = []
        while buffer.readableBytes > 0 {
            guard packets.count < maxPackets else { throw RTPError(.badLength, "more than \(maxPackets) packets") }
            guard let first = buffer.readInteger(as: UInt8.self), let type = buffer.readInteger(as: UInt8.self),
                  let words = buffer.readInteger(as: UInt16.self) else {
                throw RTPError(.truncated, "RTCP header")
            }
            guard first >> 6 == 2 else { throw RTPError(.badVersion, "RTCP version \(first >> 6)") }
            let bodyLength = Int(words) * 4
            guard var body = buffer.readSlice(length: bodyLength) else {
                throw RTPError(.badLength, "length \(words) words exceeds the datagram")
            }
            if packets.isEmpty {
                guard type == 200 || type == 201 else { throw RTPError(.notCompound, "first packet type \(type)") }
                guard first & 0x20 == 0 else { throw RTPError(.badPadding, "padding on the first packet") }
            }
            if first & 0x20 != 0 {  // padding only allowed on the last packet (RFC 3550 §6.4.1)
                guard buffer.readableBytes == 0, let pad = body.getInteger(at: body.writerIndex - 1, as: UInt8.self),
                      pad > 0, Int(pad) <= body.readableBytes else {
                    throw RTPError(.badPadding, "bad RTCP padding")
                }
                body.moveWriterIndex(to: body.writerIndex - Int(pad))
            }
            packets.append(try packet(type: type, count: first & 0x1F, body: &body))
        }
        guard !packets.isEmpty else { throw RTPError(.truncated, "empty datagram") }
        return packets
    }

    private static func packet(type: UInt8, count: UInt8, body: inout ByteBuffer) throws(RTPError) -> RTCPPacket {
        switch type {
        case 200:
            guard let ssrc = body.readInteger(as: UInt32.self), let ntp = body.readInteger(as: UInt64.self),
                  let rtp = body.readInteger(as: UInt32.self), let packets = body.readInteger(as: UInt32.self),
                  let octets = body.readInteger(as: UInt32.self) else { throw RTPError(.truncated, "SR sender info") }
            let reports = try reportBlocks(count: count, from: &body)
            return .senderReport(RTCPSenderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: packets, octetCount: octets, reports: reports))
        case 201:
            guard let ssrc = body.readInteger(as: UInt32.self) else { throw RTPError(.truncated, "RR SSRC") }
            return .receiverReport(ssrc: ssrc, reports: try reportBlocks(count: count, from: &body))
        case 202:
            var chunks: [RTCPSourceDescription] = []
            for _ in 0..<count {
                guard let ssrc = body.readInteger(as: UInt32.self) else { throw RTPError(.truncated, "SDES chunk") }
                var items: [RTCPSourceDescription.Item] = []
                var itemBytes = 0
                while true {
                    guard let itemType = body.readInteger(as: UInt8.self) else { throw RTPError(.truncated, "SDES item") }
                    itemBytes += 1
                    if itemType == 0 { break }
                    guard let length = body.readInteger(as: UInt8.self) else { throw RTPError(.truncated, "SDES item length") }
                    let text = try readText(length: length, from: &body, "SDES item")
                    itemBytes += 1 + Int(length)
                    items.append(.init(type: itemType, text: text))
                }
                let pad = (4 - itemBytes % 4) % 4  // null octets up to the next 32-bit boundary
                guard body.readableBytes >= pad else { throw RTPError(.truncated, "SDES chunk padding") }
                body.moveReaderIndex(forwardBy: pad)
                chunks.append(RTCPSourceDescription(ssrc: ssrc, items: items))
            }
            return .sourceDescription(chunks)
        case 203:
            var ssrcs: [UInt32] = []
            for _ in 0..<count {
                guard let ssrc = body.readInteger(as: UInt32.self) else { throw RTPError(.truncated, "BYE SSRC") }
                ssrcs.append(ssrc)
            }
            var reason: String?
            if let length = body.readInteger(as: UInt8.self) {
                reason = try readText(length: length, from: &body, "BYE reason")
            }
            return .bye(ssrcs: ssrcs, reason: reason)
        default:
            return .other(payloadType: type, count: count, body: body.readBytes(length: body.readableBytes) ?? [])
        }
    }

    /// SDES and BYE text (RFC 3550 §6.5, §6.6): UTF-8. Other bytes are refused rather than
    /// replaced: a replaced text would write longer than it arrived, past the 255-byte length.
    private static func readText(length: UInt8, from body: inout ByteBuffer, _ what: String) throws(RTPError) -> String {
        guard let bytes = body.readSlice(length: Int(length)) else { throw RTPError(.truncated, "\(what) text") }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw RTPError(.badText, "\(what) is not UTF-8")
        }
        return text
    }

    private static func reportBlocks(count: UInt8, from body: inout ByteBuffer) throws(RTPError) -> [RTCPReportBlock] {
        var blocks: [RTCPReportBlock] = []
        for _ in 0..<count {
            guard let ssrc = body.readInteger(as: UInt32.self), let lossWord = body.readInteger(as: UInt32.self),
                  let highest = body.readInteger(as: UInt32.self), let jitter = body.readInteger(as: UInt32.self),
                  let lsr = body.readInteger(as: UInt32.self), let dlsr = body.readInteger(as: UInt32.self) else {
                throw RTPError(.truncated, "report block")
            }
            let lost = Int32(bitPattern: lossWord << 8) >> 8  // sign-extend 24 bits
            blocks.append(RTCPReportBlock(ssrc: ssrc, fractionLost: UInt8(lossWord >> 24), cumulativeLost: lost, extendedHighestSequence: highest, jitter: jitter, lastSR: lsr, delaySinceLastSR: dlsr))
        }
        return blocks
    }

    /// Writes packets as one compound datagram (RFC 3550 §6.1). The caller puts SR or RR first.
    ///
    /// - Throws: `.valueOutOfRange` when a list exceeds 31 entries, an SDES/BYE text 255 bytes, or
    ///   an `.other` body is not whole 32-bit words anywhere but in the last packet (where it is
    ///   padded as RFC 3550 §6.4.1 describes, as it arrived).
    public static func write(_ packets: [RTCPPacket], into buffer: inout ByteBuffer) throws(RTPError) {
        for (index, packet) in packets.enumerated() {
            let start = buffer.writerIndex
            buffer.writeInteger(UInt32(0))  // header, patched below
            let count: Int
            let type: UInt8
            var padded = false
            switch packet {
            case .senderReport(let sr):
                type = 200
                count = sr.reports.count
                buffer.writeMultipleIntegers(sr.ssrc, sr.ntpTimestamp, sr.rtpTimestamp, sr.packetCount, sr.octetCount)
                write(sr.reports, into: &buffer)
            case .receiverReport(let ssrc, let reports):
                type = 201
                count = reports.count
                buffer.writeInteger(ssrc)
                write(reports, into: &buffer)
            case .sourceDescription(let chunks):
                type = 202
                count = chunks.count
                for chunk in chunks {
                    buffer.writeInteger(chunk.ssrc)
                    var itemBytes = 0
                    for item in chunk.items {
                        let length = item.text.utf8.count
                        guard length <= 255 else { throw RTPError(.valueOutOfRange, "SDES text of \(length) bytes") }
                        buffer.writeInteger(item.type)
                        buffer.writeInteger(UInt8(length))
                        buffer.writeString(item.text)
                        itemBytes += 2 + length
                    }
                    let end = 4 - itemBytes % 4  // at least one null octet ends the list (RFC 3550 §6.5)
                    buffer.writeRepeatingByte(0, count: end)
                }
            case .bye(let ssrcs, let reason):
                type = 203
                count = ssrcs.count
                for ssrc in ssrcs { buffer.writeInteger(ssrc) }
                if let reason {
                    let length = reason.utf8.count
                    guard length <= 255 else { throw RTPError(.valueOutOfRange, "BYE reason of \(length) bytes") }
                    buffer.writeInteger(UInt8(length))
                    buffer.writeString(reason)
                    buffer.writeRepeatingByte(0, count: (4 - (1 + length) % 4) % 4)
                }
            case .other(let payloadType, let otherCount, let body):
                type = payloadType
                count = Int(otherCount)
                buffer.writeBytes(body)
                // The parser removes padding; zeros instead would come back as body octets.
                let pad = (4 - body.count % 4) % 4
                if pad > 0 {
                    guard index == packets.count - 1 else {
                        throw RTPError(.valueOutOfRange, "packet type \(payloadType) body of \(body.count) bytes is not whole words")
                    }
                    buffer.writeRepeatingByte(0, count: pad - 1)
                    buffer.writeInteger(UInt8(pad))
                    padded = true
                }
            }
            guard count <= 31 else { throw RTPError(.valueOutOfRange, "\(count) entries, at most 31") }
            let words = (buffer.writerIndex - start) / 4 - 1
            buffer.setInteger(UInt8(2 << 6) | (padded ? 0x20 : 0) | UInt8(count), at: start)
            buffer.setInteger(type, at: start + 1)
            buffer.setInteger(UInt16(words), at: start + 2)
        }
    }

    private static func write(_ blocks: [RTCPReportBlock], into buffer: inout ByteBuffer) {
        for block in blocks {
            let lossWord = UInt32(block.fractionLost) << 24 | (UInt32(bitPattern: block.cumulativeLost) & 0xFF_FFFF)
            buffer.writeMultipleIntegers(block.ssrc, lossWord, block.extendedHighestSequence, block.jitter, block.lastSR, block.delaySinceLastSR)
        }
    }
}
