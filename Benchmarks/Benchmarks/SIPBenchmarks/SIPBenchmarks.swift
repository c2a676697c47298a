import Benchmark
import Foundation
import NIOCore
import SIPMessage

/// A typical INVITE with SDP (~700 octets), the seed shared with the tests and the fuzzer.
let typicalInvite: String = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Fuzz/corpus/sipmessage/typicalInvite.sip").standardized
    return try! String(contentsOf: url, encoding: .utf8)
}()

/// SIP message parse and serialize (issue 3: aim 1,000,000 INVITE parses/s on one core).
let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(3))
    let wire = ByteBuffer(string: typicalInvite)
    let parser = SIPMessageParser()
    let parsed = try! parser.parseDatagram(wire)

    Benchmark("SIP parse INVITE (datagram)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! parser.parseDatagram(wire))
        }
    }

    Benchmark("SIP parse INVITE (stream, Content-Length framing)", configuration: config) { benchmark in
        var stream = SIPMessageParser()
        for _ in benchmark.scaledIterations {
            var buffer = wire
            blackHole(try! stream.parse(&buffer))
        }
    }

    Benchmark("SIP parse INVITE + transaction keys (top Via, CSeq, Call-ID, From tag)", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            let message = try! parser.parseDatagram(wire)
            let h = message.headers
            blackHole(try! h.topVia().branch)
            blackHole(try! h.cseq())
            blackHole(try! h.callID())
            blackHole(try! h.from().tag)
        }
    }

    Benchmark("SIP serialize INVITE", configuration: config) { benchmark in
        var out = ByteBuffer()
        out.reserveCapacity(2048)
        for _ in benchmark.scaledIterations {
            out.clear()
            parsed.write(to: &out)
            blackHole(out.readableBytes)
        }
    }
}
