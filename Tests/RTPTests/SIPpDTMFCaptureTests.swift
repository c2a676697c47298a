import Foundation
import NIOCore
import RTP
import Testing

/// Decodes the RFC 2833/4733 recordings shipped with SIPp (`sip-tester`):
/// `/usr/share/sip-tester/dtmf_2833_{0..9,star,pound}.pcap`, payload type 101.
@Suite struct SIPpDTMFCaptureTests {
    static let directory = "/usr/share/sip-tester"
    static let files: [(String, DTMFDigit)] = (0...9).map { ("dtmf_2833_\($0).pcap", DTMFDigit(event: UInt8($0))!) }
        + [("dtmf_2833_star.pcap", .star), ("dtmf_2833_pound.pcap", .pound)]

    static var available: Bool { FileManager.default.fileExists(atPath: directory + "/dtmf_2833_0.pcap") }
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test(arguments: files)
    func decodesEachRecordedDigit(file: String, digit: DTMFDigit) throws {
        guard Self.available else {
            if Self.required { Issue.record("sip-tester is not installed (apt-get install -y sip-tester)") }
            return
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + file))
        let datagrams = try PcapReader.udpPayloads(Array(data))
        #expect(datagrams.count == 10)
        var receiver = TelephoneEventReceiver(payloadType: 101)
        var reports: [TelephoneEventReceiver.Report] = []
        var ends = 0
        for datagram in datagrams {
            let packet = try RTPPacket(parsing: ByteBuffer(bytes: datagram))
            if try TelephoneEvent(parsing: packet.payload).end { ends += 1 }
            if let report = receiver.packetReceived(packet.header, payload: packet.payload) { reports.append(report) }
        }
        #expect(reports.map(\.digit) == [digit])
        #expect(ends == 3)
        #expect(receiver.suppressedPackets == 9)
    }
}

/// A minimal reader for classic pcap files (Ethernet or Linux cooked link types, IPv4/IPv6, UDP):
/// enough to pull RTP datagrams out of test captures.
enum PcapReader {
    struct Malformed: Error { var detail: String }

    static func udpPayloads(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard bytes.count >= 24 else { throw Malformed(detail: "no global header") }
        let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let little: Bool
        switch magic {
        case 0xA1B2_C3D4, 0xA1B2_3C4D: little = true
        case 0xD4C3_B2A1, 0x4D3C_B2A1: little = false
        default: throw Malformed(detail: "magic \(magic)")
        }
        func u32(_ at: Int) -> UInt32 {
            let b = bytes[at..<at + 4].map(UInt32.init)
            return little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
        }
        let linkType = u32(20)
        var offset = 24
        var out: [[UInt8]] = []
        while offset + 16 <= bytes.count {
            let captured = Int(u32(offset + 8))
            offset += 16
            guard offset + captured <= bytes.count else { throw Malformed(detail: "record past end") }
            let frame = Array(bytes[offset..<offset + captured])
            offset += captured
            let linkHeader: Int
            switch linkType {
            case 1: linkHeader = 14  // Ethernet
            case 113: linkHeader = 16  // Linux cooked
            case 101: linkHeader = 0  // raw IP
            default: throw Malformed(detail: "link type \(linkType)")
            }
            guard frame.count > linkHeader else { continue }
            let ip = Array(frame[linkHeader...])
            var udp: ArraySlice<UInt8>
            switch ip[0] >> 4 {
            case 4:
                let ihl = Int(ip[0] & 0x0F) * 4
                guard ip[9] == 17, ip.count >= ihl + 8 else { continue }
                udp = ip[ihl...]
            case 6:
                guard ip.count >= 48, ip[6] == 17 else { continue }
                udp = ip[40...]
            default:
                continue
            }
            let length = Int(udp[udp.startIndex + 4]) << 8 | Int(udp[udp.startIndex + 5])
            guard length >= 8, udp.count >= length else { throw Malformed(detail: "UDP length") }
            udp = udp[(udp.startIndex + 8)..<(udp.startIndex + length)]
            out.append(Array(udp))
        }
        return out
    }
}
