import NIOCore
import RTP
import Testing

@Suite struct RTCPTests {
    static let block = RTCPReportBlock(ssrc: 0x1111_2222, fractionLost: 64, cumulativeLost: -3, extendedHighestSequence: 0x0001_0005, jitter: 42, lastSR: 0xAABB_CCDD, delaySinceLastSR: 65536)

    @Test func senderReportWithSDESRoundTrips() throws {
        let sr = RTCPSenderReport(ssrc: 0xDEAD_BEEF, ntpTimestamp: 0xE8F0_1234_8000_0000, rtpTimestamp: 160_000, packetCount: 1000, octetCount: 160_000, reports: [Self.block])
        let packets: [RTCPPacket] = [.senderReport(sr), .sourceDescription([RTCPSourceDescription(ssrc: 0xDEAD_BEEF, cname: "verigate@127.0.0.1")])]
        var buffer = ByteBuffer()
        try RTCPCompoundPacket.write(packets, into: &buffer)
        #expect(buffer.readableBytes == (28 + 24) + (4 + 4 + 2 + 18 + 4))
        #expect(buffer.getBytes(at: 0, length: 4) == [0x81, 200, 0x00, 12])  // V=2 RC=1, PT=200, 13 words
        #expect(try RTCPCompoundPacket.parse(buffer) == packets)
        #expect(sr.middleNTP == 0x1234_8000)
    }

    @Test func receiverReportAndByeRoundTrip() throws {
        let packets: [RTCPPacket] = [
            .receiverReport(ssrc: 7, reports: [Self.block, RTCPReportBlock(ssrc: 9, fractionLost: 0, cumulativeLost: 0x7F_FFFF, extendedHighestSequence: 1, jitter: 0)]),
            .sourceDescription([RTCPSourceDescription(ssrc: 7, items: [.init(type: 1, text: "a"), .init(type: 6, text: "verigate")])]),
            .bye(ssrcs: [7], reason: "call ended"),
        ]
        var buffer = ByteBuffer()
        try RTCPCompoundPacket.write(packets, into: &buffer)
        #expect(buffer.readableBytes % 4 == 0)
        let parsed = try RTCPCompoundPacket.parse(buffer)
        #expect(parsed == packets)
        if case .sourceDescription(let chunks) = parsed[1] { #expect(chunks[0].cname == "a") } else { Issue.record("no SDES") }
    }

    @Test func cumulativeLostIsSigned24Bit() throws {
        var buffer = ByteBuffer()
        try RTCPCompoundPacket.write([.receiverReport(ssrc: 1, reports: [RTCPReportBlock(ssrc: 2, fractionLost: 1, cumulativeLost: -100_000_000, extendedHighestSequence: 0, jitter: 0)])], into: &buffer)
        #expect(buffer.getBytes(at: 12, length: 4) == [0x01, 0x80, 0x00, 0x00])
        guard case .receiverReport(_, let reports) = try RTCPCompoundPacket.parse(buffer).first else { Issue.record("no RR"); return }
        #expect(reports[0].cumulativeLost == -0x80_0000)
    }

    @Test func keepsUnknownPacketTypes() throws {
        let packets: [RTCPPacket] = [.receiverReport(ssrc: 1, reports: []), .other(payloadType: 207, count: 0, body: [1, 2, 3, 4])]
        var buffer = ByteBuffer()
        try RTCPCompoundPacket.write(packets, into: &buffer)
        #expect(try RTCPCompoundPacket.parse(buffer) == packets)
    }

    /// Found by RTPFuzz: a padded APP packet (RFC 3550 §6.7) last in the compound parsed to a
    /// 7-byte body, which the writer filled with a zero octet, so it came back as 8 bytes.
    @Test func paddedUnknownPacketRoundTrips() throws {
        let bytes: [UInt8] = [
            0x80, 0xC9, 0x00, 0x01, 0x00, 0x18, 0x00, 0x07,  // RR, no blocks
            0xA3, 0xCC, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x6E, 0x61, 0x6D, 0x65, 0x31, 0x32, 0x33, 0x05,  // APP, P=1, 5 octets of padding
        ]
        let packets = try RTCPCompoundPacket.parse(ByteBuffer(bytes: bytes))
        #expect(packets.last == .other(payloadType: 204, count: 3, body: [0, 0, 0, 7, 0x6E, 0x61, 0x6D]))
        var buffer = ByteBuffer()
        try RTCPCompoundPacket.write(packets, into: &buffer)
        #expect(try RTCPCompoundPacket.parse(buffer) == packets)
        #expect(buffer.getInteger(at: 8, as: UInt8.self) == 0xA3)  // written with P=1, padding 1 octet
        #expect(buffer.readableBytes == 20 && buffer.getInteger(at: 19, as: UInt8.self) == 1)
        // Not whole words and not last: no padding allowed there (§6.4.1), so it is refused.
        var refused = ByteBuffer()
        #expect { try RTCPCompoundPacket.write([packets[1], packets[0]], into: &refused) } throws: { ($0 as? RTPError)?.code == .valueOutOfRange }
    }

    /// SDES and BYE text is UTF-8 (RFC 3550 §6.5, §6.6). Bytes that are not were replaced by
    /// U+FFFD, 3 bytes each, so 86 of them wrote back as 258 bytes, over the 255 a length holds.
    @Test func refusesTextThatIsNotUTF8() throws {
        let rr: [UInt8] = [0x80, 0xC9, 0x00, 0x01, 0, 0, 0, 1]
        let sdes: [UInt8] = [0x81, 0xCA, 0x00, 0x18, 0, 0, 0, 1, 1, 86] + Array(repeating: 0xFF, count: 86) + [0, 0, 0, 0]  // 24 words
        #expect { try RTCPCompoundPacket.parse(ByteBuffer(bytes: rr + sdes)) } throws: { ($0 as? RTPError)?.code == .badText }
        let bye: [UInt8] = [0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 1, 3, 0xC3, 0x28, 0]
        #expect { try RTCPCompoundPacket.parse(ByteBuffer(bytes: rr + bye)) } throws: { ($0 as? RTPError)?.code == .badText }
        let good: [UInt8] = [0x81, 0xCB, 0x00, 0x02, 0, 0, 0, 1, 2, 0xC3, 0xA9, 0]
        #expect(try RTCPCompoundPacket.parse(ByteBuffer(bytes: rr + good)).last == .bye(ssrcs: [1], reason: "é"))
    }

    @Test(arguments: [
        ([UInt8](), RTPError.Code.truncated),
        ([0x80, 201, 0x00], .truncated),
        ([0x40, 201, 0x00, 0x01, 0, 0, 0, 1], .badVersion),
        ([0x80, 202, 0x00, 0x01, 0, 0, 0, 1], .notCompound),  // SDES first
        ([0x80, 201, 0x00, 0x05, 0, 0, 0, 1], .badLength),  // length past the end
        ([0xA0, 201, 0x00, 0x01, 0, 0, 0, 1], .badPadding),  // padding on the first packet
        ([0x81, 201, 0x00, 0x01, 0, 0, 0, 1], .truncated),  // RC=1 without a block
        ([0x80, 201, 0x00, 0x01, 0, 0, 0, 1, 0x81, 203, 0x00, 0x00], .truncated),  // BYE SC=1 without SSRC
    ])
    func rejectsInvalidCompounds(bytes: [UInt8], code: RTPError.Code) {
        #expect { try RTCPCompoundPacket.parse(ByteBuffer(bytes: bytes)) } throws: { ($0 as? RTPError)?.code == code }
    }
}

@Suite struct RTPReceiverStatisticsTests {
    @Test func lossAndExtendedSequenceAcrossWrap() {
        var stats = RTPReceiverStatistics(firstSequenceNumber: 65530)
        var accepted: [Bool] = []
        // 65530 … 65535, 0 … 9 with 3 and 5 lost, 7 duplicated.
        var seqs: [UInt16] = Array(65530...65535) + [0, 1, 2, 4, 6, 7, 7, 8, 9]
        seqs.insert(65533, at: 4)  // a reordered duplicate
        for (i, seq) in seqs.enumerated() {
            accepted.append(stats.packetReceived(sequenceNumber: seq, timestamp: UInt32(i) * 160, arrival: UInt32(i) * 160))
        }
        #expect(accepted.prefix(2) == [false, true])  // probation: two sequential packets
        #expect(stats.isValid)
        #expect(stats.extendedHighestSequence == 65536 + 9)
        // Counting starts at 65531 (A.1 init_seq after probation): expected 65531…65545 = 15.
        #expect(stats.expected == 15)
        #expect(stats.received == 15)  // 13 distinct + 2 duplicates
        #expect(stats.cumulativeLost == 0)  // duplicates hide the two losses, as RFC 3550 A.3 says
        let block = stats.makeReportBlock(ssrc: 5)
        #expect(block.fractionLost == 0)
        #expect(block.extendedHighestSequence == 65545)

        // Next interval: 10…19 with 4 lost.
        for seq in [10, 11, 13, 15, 16, 18] as [UInt16] {
            stats.packetReceived(sequenceNumber: seq, timestamp: 0, arrival: 0)
        }
        let second = stats.makeReportBlock(ssrc: 5)
        #expect(second.cumulativeLost == 3)
        #expect(second.fractionLost == UInt8((3 << 8) / 9))  // 3 of 9 expected (10…18)
    }

    @Test func largeJumpNeedsConfirmation() {
        var stats = RTPReceiverStatistics(firstSequenceNumber: 100)
        for seq in 100...110 as ClosedRange<UInt16> { stats.packetReceived(sequenceNumber: seq, timestamp: 0, arrival: 0) }
        let jump = stats.packetReceived(sequenceNumber: 20_000, timestamp: 0, arrival: 0)
        #expect(!jump)
        #expect(stats.extendedHighestSequence == 110)
        let confirmed = stats.packetReceived(sequenceNumber: 20_001, timestamp: 0, arrival: 0)  // restarted
        #expect(confirmed)
        #expect(stats.extendedHighestSequence == 20_001)
        #expect(stats.expected == 1)
    }

    @Test func jitterIsZeroForConstantTransitAndTracksVariation() {
        var steady = RTPReceiverStatistics(firstSequenceNumber: 0)
        var alternating = RTPReceiverStatistics(firstSequenceNumber: 0)
        for i in 0..<500 as Range<UInt32> {
            steady.packetReceived(sequenceNumber: UInt16(i), timestamp: i * 160, arrival: 4_000_000_000 &+ i * 160)
            // Arrivals alternate 40 units early/late: |D| = 80 every packet, so J converges to 80 (A.8).
            let wobble: UInt32 = i % 2 == 0 ? 0 : 80
            alternating.packetReceived(sequenceNumber: UInt16(i), timestamp: i * 160, arrival: i * 160 + wobble)
        }
        #expect(steady.jitter == 0)
        #expect((78...80).contains(alternating.jitter))
    }
}

@Suite struct RTPSourceFilterTests {
    let peer = try! SocketAddress(ipAddress: "127.0.0.1", port: 40000)
    let natted = try! SocketAddress(ipAddress: "127.0.0.1", port: 51234)
    let stranger = try! SocketAddress(ipAddress: "127.0.0.9", port: 40000)

    @Test func withoutLatchingAcceptsOnlyTheAnnouncedAddress() {
        var filter = RTPSourceFilter(expected: peer, latching: .off)
        #expect(filter.packetReceived(from: natted, ssrc: 1) == .accept)  // same IP, other port
        #expect(filter.packetReceived(from: stranger, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.droppedUnexpectedSource == 1)
        #expect(filter.latchedAddress == nil)
        #expect(filter.destination == peer)
    }

    @Test func foreignSSRCDroppedInterleavedButPersistentChangeAccepted() {
        var filter = RTPSourceFilter(expected: peer, ssrcSwitchPackets: 3)
        #expect(filter.packetReceived(from: peer, ssrc: 10) == .accept)
        // An injected stream interleaved with ours never takes over.
        for _ in 0..<5 {
            #expect(filter.packetReceived(from: peer, ssrc: 66) == .dropForeignSSRC)
            #expect(filter.packetReceived(from: peer, ssrc: 10) == .accept)
        }
        // A real SSRC change (SIPp play_dtmf switches SSRC): 2 dropped, then switch.
        #expect(filter.packetReceived(from: peer, ssrc: 77) == .dropForeignSSRC)
        #expect(filter.packetReceived(from: peer, ssrc: 77) == .dropForeignSSRC)
        #expect(filter.packetReceived(from: peer, ssrc: 77) == .ssrcChanged(77))
        #expect(filter.packetReceived(from: peer, ssrc: 10) == .dropForeignSSRC)
        #expect(filter.ssrc == 77)
        #expect(filter.droppedForeignSSRC == 8)
    }
}
