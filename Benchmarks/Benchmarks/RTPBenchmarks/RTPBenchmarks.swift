import Benchmark
import NIOCore
import RTP

/// The per-packet RTP path: packetize a 20 ms G.711 frame, parse it back, and decode RFC 4733
/// events. The aim is zero allocations per packet (docs/ARCHITECTURE.md habit 12): buffers are reused, parsed
/// payloads are slices of the datagram.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.throughput, .wallClock, .mallocCountTotal, .instructions]
    let config = Benchmark.Configuration(metrics: metrics, scalingFactor: .kilo)

    Benchmark("RTP packetize (12-byte header + 160-byte PCMU payload into a reused buffer)", configuration: config) { benchmark in
        var generator = SystemRandomNumberGenerator()
        var sender = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &generator)
        var payload = ByteBufferAllocator().buffer(capacity: 160)
        payload.writeRepeatingByte(0xFF, count: 160)
        var datagram = ByteBufferAllocator().buffer(capacity: 1500)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            datagram.clear()
            let header = sender.nextAudioHeader(payloadBytes: 160)
            _ = try? datagram.writeRTPPacket(header, payload: payload)
            blackHole(datagram.readableBytes)
        }
    }

    Benchmark("RTP parse (172-byte PCMU datagram)", configuration: config) { benchmark in
        var datagram = ByteBufferAllocator().buffer(capacity: 1500)
        _ = try? datagram.writeRTPHeader(RTPHeader(marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0xABCD))
        datagram.writeRepeatingByte(0xFF, count: 160)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let packet = try? RTPPacket(parsing: datagram)
            blackHole(packet?.payload.readableBytes)
        }
    }

    // SRTP (RFC 3711, SRTPContext over libcrypto): protect and unprotect a 172-byte PCMU packet
    // in place, per suite. The aim is under 1 µs each. Unprotect reads packets protected before
    // the measurement, with fresh contexts each run (the replay window refuses a packet twice).
    for suite in SRTPContext.Suite.allCases {
        let key = (0..<suite.keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        @Sendable func packet(_ seq: Int) -> ByteBuffer {
            var buffer = ByteBufferAllocator().buffer(capacity: 172 + SRTPContext.maxTrailer)
            _ = try? buffer.writeRTPHeader(RTPHeader(marker: false, payloadType: 0, sequenceNumber: UInt16(truncatingIfNeeded: seq), timestamp: UInt32(truncatingIfNeeded: seq &* 160), ssrc: 0xABCD))
            buffer.writeRepeatingByte(0xFF, count: 160)
            return buffer
        }
        Benchmark("SRTP protect (\(suite.rawValue), 160-byte payload)", configuration: config) { benchmark in
            guard let outbound = try? SRTPContext(suite: suite, direction: .outbound, masterKey: key) else { return }
            var datagram = packet(0)
            let header = datagram.readerIndex
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                // Rewrite the sequence number and payload in place: a new packet each time, no allocation.
                datagram.moveWriterIndex(to: header + 172)
                datagram.setInteger(UInt16(truncatingIfNeeded: i), at: header + 2)
                _ = try? outbound.protectRTP(&datagram)
                blackHole(datagram.readableBytes)
            }
        }
        Benchmark("SRTP unprotect (\(suite.rawValue), 160-byte payload)", configuration: config) { benchmark in
            guard let outbound = try? SRTPContext(suite: suite, direction: .outbound, masterKey: key),
                  let inbound = try? SRTPContext(suite: suite, direction: .inbound, masterKey: key) else { return }
            var protected: [ByteBuffer] = []
            for i in benchmark.scaledIterations {
                var datagram = packet(i)
                _ = try? outbound.protectRTP(&datagram)
                protected.append(datagram)
            }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                _ = try? inbound.unprotectRTP(&protected[i])
                blackHole(protected[i].readableBytes)
            }
        }
    }

    Benchmark("RFC 4733 decode (parse + TelephoneEventReceiver, 12-packet key press)", configuration: config) { benchmark in
        var datagrams: [ByteBuffer] = []
        var sender = TelephoneEventSender(digit: .seven, timestamp: 1000, duration: 1600)
        var seq: UInt16 = 1
        while let p = sender.nextPacket() {
            var buffer = ByteBufferAllocator().buffer(capacity: 16)
            _ = try? buffer.writeRTPHeader(RTPHeader(marker: p.marker, payloadType: 101, sequenceNumber: seq, timestamp: p.timestamp, ssrc: 9))
            buffer.writeTelephoneEvent(p.event)
            datagrams.append(buffer)
            seq &+= 1
        }
        var receiver = TelephoneEventReceiver(payloadType: 101)
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            guard let packet = try? RTPPacket(parsing: datagrams[i % datagrams.count]) else { continue }
            blackHole(receiver.packetReceived(packet.header, payload: packet.payload))
        }
    }
}
