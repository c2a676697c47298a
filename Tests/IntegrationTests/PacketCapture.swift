import Foundation
import Glibc
import Media
import NIOCore
import RTP
import Testing
import TestSupport

/// tshark (Debian `tshark`) capturing loopback while a test's call runs, and what an eavesdropper on
/// that path could read from the capture (README "Encrypted calls"): SIP in clear, and RTP payloads
/// that are G.711 speech rather than ciphertext.
final class PacketCapture: Sendable {
    static let tshark = "/usr/bin/tshark"
    let process: PeerProcess
    let file: URL

    /// Starts capturing packets matching the BPF `filter` on `lo`; returns once tshark says it is
    /// capturing (its own message, not a delay).
    init(filter: String) async throws {
        file = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-capture-\(UUID().uuidString.prefix(8)).pcapng")
        process = try await PeerProcess(Self.tshark, ["-i", "lo", "-f", filter, "-w", file.path], name: "tshark")
        // "Capture started." comes when dumpcap reports the interface open and filtering; "Capturing
        // on 'lo'" is printed before that, and a packet sent in between is not in the file (a CI run
        // under load missed a TLS ClientHello that way).
        let capturing = try await eventuallyTrue { self.process.tail().contains("Capture started") }
        if !capturing { Issue.record("tshark did not start capturing: \(process.tail())") }
    }

    /// Stops the capture cleanly (SIGINT: tshark finishes the file) and returns its bytes.
    func stop() async -> [UInt8] {
        process.process.signal(SIGINT)
        _ = await process.exitStatus()
        let bytes = (try? [UInt8](Data(contentsOf: file))) ?? []
        await process.stop()
        return bytes
    }

    /// Removes the capture file.
    func remove() { try? FileManager.default.removeItem(at: file) }

    /// Runs tshark over the capture with `arguments` (e.g. `-d`, `-Y` and `-T fields`) and returns its lines.
    func read(_ arguments: [String]) async throws -> [String] {
        let output = try await PeerProcess(Self.tshark, ["-r", file.path] + arguments, name: "tshark-read")
        _ = await output.exitStatus()
        let text = (try? String(contentsOf: output.log, encoding: .utf8)) ?? ""
        await output.stop()
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.contains("Running as user") }
    }

    /// The payloads of the RTP packets (RFC 3550 §5.1) sent from UDP `ports`, parsed by `RTPPacket`
    /// from the raw datagrams. Not tshark's RTP heuristic: tshark gives a UDP conversation to any
    /// dissector registered for either port first, and a softphone's random RTP port that some
    /// protocol had registered left a CI run with "0 RTP packets" (here, one datagram to port 3,567
    /// made a whole stream "DOF"). RTCP on the same ports (RFC 5761 §4: packet types 200–204 read
    /// as marker + payload type 72–76) is left out.
    func rtpPayloads(from ports: ClosedRange<Int>) async throws -> [[UInt8]] {
        let datagrams = try await read(["-Y", "udp", "-T", "fields", "-e", "udp.srcport", "-e", "udp.payload"])
        return datagrams.compactMap { line -> [UInt8]? in
            let fields = line.split(separator: "\t")
            guard fields.count == 2, let port = Int(fields[0]), ports.contains(port),
                  let packet = try? RTPPacket(parsing: ByteBuffer(bytes: Self.bytes(hex: String(fields[1])))),
                  !(72...76).contains(packet.header.payloadType) else { return nil }
            return Array(packet.payload.readableBytesView)
        }
    }

    /// Whether `bytes` contain `text` (ASCII) anywhere: a packet carrying SIP in clear puts its start
    /// line ("SIP/2.0", "INVITE sip:") into the capture file as it was on the wire.
    static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { start in bytes[start] == needle[0] && Array(bytes[start..<(start + needle.count)]) == needle }
    }

    /// Pearson's chi-square statistic of the byte values of `payloads` against the uniform
    /// distribution (255 degrees of freedom: about 255 ± 23 for ciphertext, the 0.1 % critical value
    /// is 330). G.711 speech is far from uniform (silence codes near 0xFF/0x7F dominate), so a
    /// statistic under `Self.cipherLimit` means no payload is speech.
    static func chiSquare(_ payloads: [[UInt8]]) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        var total = 0
        for payload in payloads {
            for byte in payload { counts[Int(byte)] += 1 }
            total += payload.count
        }
        guard total > 0 else { return .infinity }
        let expected = Double(total) / 256
        return counts.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    /// The chi-square bound used above (between ciphertext's ≈ 255 and speech's thousands).
    static let cipherLimit = 400.0

    /// The prompt `digit` of `prompts` encoded as 160-byte G.711 µ-law payloads: what the gateway's
    /// RTP would carry in clear, the check's negative control.
    static func speechPayloads(prompts: URL, digit: Int) throws -> [[UInt8]] {
        let wav = try WAVFile(bytes: [UInt8](Data(contentsOf: prompts.appendingPathComponent("en/\(digit).wav"))))
        let codes = wav.samples.map(G711.muLawEncode)
        return stride(from: 0, to: codes.count, by: 160).map { Array(codes[$0..<min($0 + 160, codes.count)]) }
    }

    /// Hex as tshark prints byte fields (with or without ':' separators) to bytes.
    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: ":") })
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...($0 + 1)], as: UTF8.self), radix: 16) }
    }
}
