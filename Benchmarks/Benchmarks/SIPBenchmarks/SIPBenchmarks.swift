import Benchmark
import NIOCore
import SIPMessage

/// A typical INVITE with SDP (~700 octets), as a softphone or trunk sends it.
let typicalInvite = """
INVITE sip:bob@biloxi.example.com SIP/2.0\r
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r
Max-Forwards: 70\r
To: Bob <sip:bob@biloxi.example.com>\r
From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
CSeq: 314159 INVITE\r
Contact: <sip:alice@pc33.atlanta.example.com>\r
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r
Supported: replaces, timer\r
P-Asserted-Identity: "Alice" <sip:+15551234567@atlanta.example.com;user=phone>, <tel:+15551234567>\r
Content-Type: application/sdp\r
Content-Length: 149\r
\r
v=0\r
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r
s=-\r
c=IN IP4 192.0.2.101\r
t=0 0\r
m=audio 49172 RTP/AVP 0\r
a=rtpmap:0 PCMU/8000\r

"""

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
