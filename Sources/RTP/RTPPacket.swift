import NIOCore

/// The fields of the RTP fixed header that a sender chooses per packet (RFC 3550 §5.1).
/// Version is always 2; padding, extension and CSRC count are derived when writing.
public struct RTPHeader: Equatable, Hashable, Sendable {
    /// Marker bit (RFC 3550 §5.1; RFC 3551 §4.1: first packet of a talkspurt).
    public var marker: Bool
    /// Payload type, 0…127.
    public var payloadType: UInt8
    /// Sequence number, +1 per packet, wraps.
    public var sequenceNumber: UInt16
    /// Sampling instant of the first octet, in the payload's clock.
    public var timestamp: UInt32
    /// Synchronization source.
    public var ssrc: UInt32

    /// Creates a header.
    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }
}

/// A header extension (RFC 3550 §5.3.1): a 16-bit profile-defined value and whole 32-bit words.
public struct RTPHeaderExtension: Equatable, Sendable {
    /// The profile-defined first 16 bits (e.g. 0xBEDE for RFC 8285 one-byte headers).
    public var profile: UInt16
    /// The extension data; a view into the packet when parsed. Written padded to 32-bit words.
    public var data: ByteBuffer

    /// Creates an extension.
    public init(profile: UInt16, data: ByteBuffer) {
        self.profile = profile
        self.data = data
    }
}

/// A parsed RTP packet (RFC 3550 §5.1). Parsing allocates nothing: the CSRC list, extension data
/// and payload are slices sharing the datagram's storage.
///
/// Hand-written: swift-nio has no RTP codec and the fixed header is 12 bytes of bit fields.
public struct RTPPacket: Equatable, Sendable {
    /// The fixed header fields.
    public var header: RTPHeader
    /// The CSRC identifiers as 4-byte big-endian words (RFC 3550 §5.1); see `csrc(at:)`.
    public var csrcBytes: ByteBuffer
    /// The header extension, if the X bit was set.
    public var headerExtension: RTPHeaderExtension?
    /// The payload, without padding.
    public var payload: ByteBuffer
    /// Number of padding octets removed (0 when the P bit was clear).
    public var paddingLength: Int

    /// The number of CSRC entries, 0…15.
    public var csrcCount: Int { csrcBytes.readableBytes / 4 }

    /// The CSRC at `index` (0-based), nil when out of range.
    public func csrc(at index: Int) -> UInt32? {
        guard index >= 0, index < csrcCount else { return nil }
        return csrcBytes.getInteger(at: csrcBytes.readerIndex + index * 4, as: UInt32.self)
    }

    /// Parses one RTP packet from a whole datagram (RFC 3550 §5.1, §5.3.1; checks of A.1).
    ///
    /// - Throws: `.truncated`, `.badVersion`, `.badPadding`.
    public init(parsing datagram: ByteBuffer) throws(RTPError) {
        let start = datagram.readerIndex
        let length = datagram.readableBytes
        guard length >= 12, let first = datagram.getInteger(at: start, as: UInt8.self),
              let second = datagram.getInteger(at: start + 1, as: UInt8.self),
              let sequence = datagram.getInteger(at: start + 2, as: UInt16.self),
              let timestamp = datagram.getInteger(at: start + 4, as: UInt32.self),
              let ssrc = datagram.getInteger(at: start + 8, as: UInt32.self) else {
            throw RTPError(.truncated, "\(length) bytes, the fixed header needs 12")
        }
        guard first >> 6 == 2 else { throw RTPError(.badVersion, "version \(first >> 6)") }
        let csrcCount = Int(first & 0x0F)
        var offset = 12 + csrcCount * 4
        guard length >= offset, let csrcs = datagram.getSlice(at: start + 12, length: csrcCount * 4) else {
            throw RTPError(.truncated, "\(csrcCount) CSRCs need \(offset) bytes, have \(length)")
        }
        var headerExtension: RTPHeaderExtension?
        if first & 0x10 != 0 {
            guard length >= offset + 4, let profile = datagram.getInteger(at: start + offset, as: UInt16.self),
                  let words = datagram.getInteger(at: start + offset + 2, as: UInt16.self) else {
                throw RTPError(.truncated, "extension header")
            }
            let dataLength = Int(words) * 4
            guard length >= offset + 4 + dataLength, let data = datagram.getSlice(at: start + offset + 4, length: dataLength) else {
                throw RTPError(.truncated, "extension of \(words) words")
            }
            headerExtension = RTPHeaderExtension(profile: profile, data: data)
            offset += 4 + dataLength
        }
        var paddingLength = 0
        if first & 0x20 != 0 {
            guard length > offset, let count = datagram.getInteger(at: start + length - 1, as: UInt8.self),
                  count > 0, Int(count) <= length - offset else {
                throw RTPError(.badPadding, "padding count exceeds the \(length - offset) bytes after the header")
            }
            paddingLength = Int(count)
        }
        guard let payload = datagram.getSlice(at: start + offset, length: length - offset - paddingLength) else {
            throw RTPError(.truncated, "payload")
        }
        self.header = RTPHeader(marker: second & 0x80 != 0, payloadType: second & 0x7F, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
        self.csrcBytes = csrcs
        self.headerExtension = headerExtension
        self.payload = payload
        self.paddingLength = paddingLength
    }
}

extension ByteBuffer {
    /// Writes an RTP fixed header, CSRC list and header extension (RFC 3550 §5.1, §5.3.1); the
    /// caller writes the payload next. Set `padded` only when `writeRTPPadding` follows the payload.
    /// Allocates nothing beyond growing the buffer when it lacks capacity.
    ///
    /// - Throws: `.valueOutOfRange` for a payload type over 127, more than 15 CSRCs, or an
    ///   extension over 65535 words.
    @discardableResult
    public mutating func writeRTPHeader(_ header: RTPHeader, csrcs: [UInt32] = [], extension headerExtension: RTPHeaderExtension? = nil, padded: Bool = false) throws(RTPError) -> Int {
        guard header.payloadType < 128 else { throw RTPError(.valueOutOfRange, "payload type \(header.payloadType)") }
        guard csrcs.count <= 15 else { throw RTPError(.valueOutOfRange, "\(csrcs.count) CSRCs, at most 15") }
        let extensionWords = headerExtension.map { ($0.data.readableBytes + 3) / 4 } ?? 0
        guard extensionWords <= Int(UInt16.max) else { throw RTPError(.valueOutOfRange, "extension of \(extensionWords) words") }
        var first = UInt8(2 << 6) | UInt8(csrcs.count)
        if padded { first |= 0x20 }
        if headerExtension != nil { first |= 0x10 }
        var written = writeInteger(first)
        written += writeInteger(header.payloadType | (header.marker ? 0x80 : 0))
        written += writeInteger(header.sequenceNumber)
        written += writeInteger(header.timestamp)
        written += writeInteger(header.ssrc)
        for csrc in csrcs { written += writeInteger(csrc) }
        if let headerExtension {
            written += writeInteger(headerExtension.profile)
            written += writeInteger(UInt16(extensionWords))
            written += writeImmutableBuffer(headerExtension.data)
            let pad = extensionWords * 4 - headerExtension.data.readableBytes
            written += writeRepeatingByte(0, count: pad)
        }
        return written
    }

    /// Writes `count` padding octets, the last one holding the count (RFC 3550 §5.1).
    ///
    /// - Throws: `.valueOutOfRange` unless 1…255.
    @discardableResult
    public mutating func writeRTPPadding(count: Int) throws(RTPError) -> Int {
        guard (1...255).contains(count) else { throw RTPError(.valueOutOfRange, "padding \(count)") }
        return writeRepeatingByte(0, count: count - 1) + writeInteger(UInt8(count))
    }

    /// Writes a whole RTP packet: header then payload (RFC 3550 §5.1).
    @discardableResult
    public mutating func writeRTPPacket(_ header: RTPHeader, payload: ByteBuffer) throws(RTPError) -> Int {
        try writeRTPHeader(header) + writeImmutableBuffer(payload)
    }
}
