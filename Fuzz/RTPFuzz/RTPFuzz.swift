// libFuzzer entry for RTP and RTCP packet parsing and RFC 4733 telephone-event decoding
// (Sources/RTP), what arrives on every media port. Each input is parsed as an RTP datagram, as an
// RTCP compound datagram and as a telephone-event payload. Invariants: only RTPError comes out
// (typed throws); whatever parses writes back with the module's writers and parses to an equal
// value; fed to the DTMF receiver and the RFC 3550 A.1 statistics as a stream of packets, every
// packet is counted exactly once. Each input is also unprotected as SRTP and SRTCP in every suite
// (Sources/RTP/SRTPContext.swift reads header lengths and trailers from it): never accepted without
// the key, only RTPError out, the buffer never longer than it came.

import FuzzDriver
import NIOCore
import RTP

@_cdecl("RTPFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    let datagram = ByteBuffer(bytes: bytes)
    if let packet = try? RTPPacket(parsing: datagram) {
        rtpRoundTrip(packet)
        _ = try? TelephoneEvent(parsing: packet.payload)
    }
    if let packets = try? RTCPCompoundPacket.parse(datagram) {
        invariant(packets.count <= RTCPCompoundPacket.maxPackets, "\(packets.count) RTCP packets")
        var written = ByteBuffer()
        do {
            try RTCPCompoundPacket.write(packets, into: &written)
        } catch {
            invariant(false, "parsed RTCP does not write back: \(error)")
        }
        let again = try? RTCPCompoundPacket.parse(written)
        invariant(again == packets, "RTCP round trip: \(packets) became \(String(describing: again))")
    }
    if let event = try? TelephoneEvent(parsing: datagram) {
        var written = ByteBuffer()
        written.writeTelephoneEvent(event)
        invariant((try? TelephoneEvent(parsing: written)) == event, "telephone-event round trip")
    }
    stream(bytes)
    srtp(datagram)
}

/// Inbound SRTP contexts of every suite under a fixed key, against what an attacker without the key
/// sends (libFuzzer runs inputs on one thread, so unguarded sharing is safe).
nonisolated(unsafe) let srtpInbound = SRTPContext.Suite.allCases.compactMap { suite in
    try? SRTPContext(suite: suite, direction: .inbound, masterKey: (0..<suite.keyLength).map { UInt8(truncatingIfNeeded: $0 &* 29) })
}

func srtp(_ datagram: ByteBuffer) {
    for context in srtpInbound {
        for rtcp in [false, true] {
            var packet = datagram
            do {
                if rtcp { try context.unprotectRTCP(&packet) } else { try context.unprotectRTP(&packet) }
                invariant(false, "\(context.suite.rawValue): forged \(rtcp ? "SRTCP" : "SRTP") accepted without the key")
            } catch {
                invariant(packet.readableBytes <= datagram.readableBytes, "unprotect grew the packet")
            }
        }
    }
}

func rtpRoundTrip(_ packet: RTPPacket) {
    var written = ByteBuffer()
    do {
        let csrcs = (0..<packet.csrcCount).compactMap(packet.csrc(at:))
        try written.writeRTPHeader(packet.header, csrcs: csrcs, extension: packet.headerExtension, padded: packet.paddingLength > 0)
        written.writeImmutableBuffer(packet.payload)
        if packet.paddingLength > 0 { try written.writeRTPPadding(count: packet.paddingLength) }
    } catch {
        invariant(false, "parsed RTP does not write back: \(error)")
    }
    let again = try? RTPPacket(parsing: written)
    invariant(again == packet, "RTP round trip")
}

/// The input as 16-byte datagrams (a 12-byte header and one event): what a DTMF sender streams.
func stream(_ bytes: UnsafeRawBufferPointer) {
    var receiver: TelephoneEventReceiver?
    var statistics: RTPReceiverStatistics?
    var fed = 0
    var start = 0
    while start < bytes.count {
        let end = min(start + 16, bytes.count)
        defer { start = end }
        guard let packet = try? RTPPacket(parsing: ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))) else { continue }
        if receiver == nil { receiver = TelephoneEventReceiver(payloadType: packet.header.payloadType) }
        if let report = receiver?.packetReceived(packet.header, payload: packet.payload) {
            invariant(report.digit == DTMFDigit(event: report.event), "digit of event \(report.event)")
        }
        fed += 1
        if statistics == nil {
            statistics = RTPReceiverStatistics(firstSequenceNumber: packet.header.sequenceNumber)
        } else {
            _ = statistics?.packetReceived(sequenceNumber: packet.header.sequenceNumber, timestamp: packet.header.timestamp, arrival: UInt32(fed) &* 160)
        }
        _ = statistics?.makeReportBlock(ssrc: 1)
    }
    if let receiver {
        let counted = receiver.otherPayloadPackets + receiver.malformedPackets + receiver.suppressedPackets + receiver.reportedEvents
        invariant(counted == fed, "DTMF receiver counted \(counted) of \(fed) packets")
    }
}
