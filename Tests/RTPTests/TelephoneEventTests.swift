import TestSupport
import Foundation
import NIOCore
import RTP
import Testing

@Suite struct TelephoneEventTests {
    /// Builds an event packet as a peer would send it.
    static func packet(_ event: UInt8, ts: UInt32, seq: UInt16, duration: UInt16, end: Bool = false, marker: Bool = false, pt: UInt8 = 101, ssrc: UInt32 = 5) -> (RTPHeader, ByteBuffer) {
        var payload = ByteBuffer()
        payload.writeTelephoneEvent(TelephoneEvent(event: event, end: end, volume: 10, duration: duration))
        return (RTPHeader(marker: marker, payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc: ssrc), payload)
    }

    /// The packets of one key press: start with marker, updates, three end packets.
    static func press(_ event: UInt8, ts: UInt32, seq: inout UInt16, updates: Int = 9, pt: UInt8 = 101) -> [(RTPHeader, ByteBuffer)] {
        var out: [(RTPHeader, ByteBuffer)] = []
        for i in 1...updates {
            out.append(packet(event, ts: ts, seq: seq, duration: UInt16(i * 160), marker: i == 1, pt: pt)); seq &+= 1
        }
        for _ in 0..<3 {
            out.append(packet(event, ts: ts, seq: seq, duration: UInt16((updates + 1) * 160), end: true, pt: pt)); seq &+= 1
        }
        return out
    }

    static func digits(_ packets: [(RTPHeader, ByteBuffer)], pt: UInt8 = 101) -> String {
        var receiver = TelephoneEventReceiver(payloadType: pt)
        return String(packets.compactMap { receiver.packetReceived($0.0, payload: $0.1)?.digit?.character })
    }

    @Test func decodesAndEncodesThePayload() throws {
        let event = try TelephoneEvent(parsing: ByteBuffer(bytes: [0x0B, 0x8A, 0x03, 0x20]))
        #expect(event == TelephoneEvent(event: 11, end: true, volume: 10, duration: 800))
        #expect(event.digit == .pound)
        var buffer = ByteBuffer()
        buffer.writeTelephoneEvent(event)
        #expect(buffer.bytes == [0x0B, 0x8A, 0x03, 0x20])
        #expect(try TelephoneEvent(parsing: ByteBuffer(bytes: [0x10, 0x40, 0, 0])).digit == nil)  // flash, R bit ignored
        #expect { try TelephoneEvent(parsing: ByteBuffer(bytes: [1, 2, 3])) } throws: { ($0 as? RTPError)?.code == .badEvent }
        #expect(DTMFDigit.allCases.map(\.description).joined() == "0123456789*#ABCD")
        #expect("0123456789*#abcd".compactMap(DTMFDigit.init).count == 16)
        #expect(DTMFDigit("x") == nil)
    }

    @Test func oneDigitPerEventWhateverThePacketCount() {
        var seq: UInt16 = 65530
        var packets: [(RTPHeader, ByteBuffer)] = []
        for (i, key) in [2, 4, 0, 7, 2, 2].enumerated() {
            packets += Self.press(UInt8(key), ts: 4_294_960_000 &+ UInt32(i) * 3200, seq: &seq, updates: 1 + i * 3)
        }
        #expect(Self.digits(packets) == "240722")
    }

    @Test func duplicatesAndEndRepeatsSuppressed() {
        var seq: UInt16 = 1
        let press = Self.press(5, ts: 1000, seq: &seq)
        var receiver = TelephoneEventReceiver(payloadType: 101)
        var reports = 0
        for p in press + press + press.reversed() {
            if receiver.packetReceived(p.0, payload: p.1) != nil { reports += 1 }
        }
        #expect(reports == 1)
        #expect(receiver.suppressedPackets == press.count * 3 - 1)
    }

    @Test func digitReportedWhenFirstPacketsLost() {
        var seq: UInt16 = 1
        let one = Self.press(1, ts: 1000, seq: &seq)
        let two = Self.press(2, ts: 5000, seq: &seq)
        let three = Self.press(3, ts: 9000, seq: &seq)
        // First five packets of "2" lost; only the end packets of "3" arrive.
        #expect(Self.digits(one + Array(two.dropFirst(5)) + Array(three.suffix(3))) == "123")
    }

    @Test func reorderedPacketsOfAnOldEventDoNotRepeatIt() {
        var seq: UInt16 = 1
        let one = Self.press(1, ts: 1000, seq: &seq)
        let two = Self.press(9, ts: 5000, seq: &seq)
        // Two late packets of "1" arrive after "9" started, and "9" itself is shuffled.
        var shuffled = Array(two)
        shuffled.swapAt(0, 4)
        shuffled.swapAt(2, 7)
        #expect(Self.digits(Array(one.prefix(6)) + Array(shuffled.prefix(3)) + [one[7], one[9]] + Array(shuffled.dropFirst(3))) == "19")
    }

    @Test func sameKeyTwiceIsTwoDigits() {
        var seq: UInt16 = 1
        #expect(Self.digits(Self.press(7, ts: 160, seq: &seq) + Self.press(7, ts: 3360, seq: &seq)) == "77")
    }

    @Test func otherPayloadTypesAndMalformedIgnored() {
        var receiver = TelephoneEventReceiver(payloadType: 96)
        var seq: UInt16 = 1
        for p in Self.press(4, ts: 100, seq: &seq) { #expect(receiver.packetReceived(p.0, payload: p.1) == nil) }  // PT 101
        #expect(receiver.otherPayloadPackets == 12)
        let short = RTPHeader(payloadType: 96, sequenceNumber: 50, timestamp: 9, ssrc: 5)
        #expect(receiver.packetReceived(short, payload: ByteBuffer(bytes: [4, 0])) == nil)
        #expect(receiver.malformedPackets == 1)
        seq = 60
        #expect(Self.digits(Self.press(4, ts: 400, seq: &seq, pt: 96), pt: 96) == "4")
    }

    @Test func longEventSegmentsReportOnce() {
        // RFC 4733 §2.5.1.5: an event longer than 65535 units continues in a new segment.
        let a = Self.packet(3, ts: 0, seq: 1, duration: 65535, marker: true)
        let b = Self.packet(3, ts: 65535, seq: 2, duration: 1000)
        let c = Self.packet(3, ts: 65535, seq: 3, duration: 1160, end: true)
        #expect(Self.digits([a, b, c]) == "3")
    }

    @Test func newSSRCResetsTimestampHistory() {
        let a = Self.packet(1, ts: 100_000, seq: 1, duration: 160, marker: true, ssrc: 1)
        let b = Self.packet(2, ts: 50, seq: 9, duration: 160, marker: true, ssrc: 2)  // older timestamp, new source
        #expect(Self.digits([a, b]) == "12")
    }

    @Test func senderProducesStartUpdatesAndThreeEnds() {
        var sender = TelephoneEventSender(digit: .pound, timestamp: 77_000, duration: 1600, samplesPerPacket: 160)
        var packets: [TelephoneEventSender.Packet] = []
        while let p = sender.nextPacket() { packets.append(p) }
        #expect(sender.isFinished)
        #expect(packets.count == 9 + 3)
        #expect(packets.map(\.marker) == [true] + Array(repeating: false, count: 11))
        #expect(Set(packets.map(\.timestamp)) == [77_000])
        #expect(packets.map(\.event.duration) == [160, 320, 480, 640, 800, 960, 1120, 1280, 1440, 1600, 1600, 1600])
        #expect(packets.map(\.event.end) == Array(repeating: false, count: 9) + [true, true, true])
        #expect(packets.allSatisfy { $0.event.event == 11 && $0.event.volume == 10 })
        // A very short tone: the first packet is already an end packet, with the marker.
        var short = TelephoneEventSender(digit: .one, timestamp: 0, duration: 100, samplesPerPacket: 160)
        let first = short.nextPacket()
        #expect(first?.marker == true && first?.event.end == true && first?.event.duration == 160)
    }

    @Test func senderToReceiverThroughTheWire() throws {
        var rng = SplitMix64(state: 9)
        var rtp = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &rng)
        var receiver = TelephoneEventReceiver(payloadType: 101)
        var heard = ""
        for digit in "2407#".compactMap(DTMFDigit.init) {
            _ = rtp.nextAudioHeader(payloadBytes: 160)
            var events = TelephoneEventSender(digit: digit, timestamp: rtp.timestamp, duration: 800)
            while let p = events.nextPacket() {
                var wire = ByteBuffer()
                try wire.writeRTPHeader(rtp.eventHeader(payloadType: 101, timestamp: p.timestamp, marker: p.marker))
                wire.writeTelephoneEvent(p.event)
                let parsed = try RTPPacket(parsing: wire)
                if let report = receiver.packetReceived(parsed.header, payload: parsed.payload), let d = report.digit { heard.append(d.character) }
            }
            rtp.silence(frames: 5)
        }
        #expect(heard == "2407#")
    }
}
