import Benchmark
import Foundation
import GatewayProtocol
import NIOCore

/// One gateway ↔ core message over each transport (issue 15): on the socket, JSON encoding, the
/// line framing (`GatewayLineDecoder`) and JSON decoding; in process, the value handed over.
let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(3))
    let question = GatewayEnvelope(
        .inboundCall(InboundCall(callID: "a84b4c76e66710@pc33.example.com", caller: "0975000888", region: "TW", called: "+886229996666", trust: .asserted,
                                 timeoutMilliseconds: 15_000, awaitsProof: true)),
        id: 42)

    Benchmark("gateway message over the socket framing (encode, frame, decode inbound_call)", configuration: config) { benchmark in
        let encoder = GatewayEncoder()
        var decoder = GatewayLineDecoder()
        var buffer = ByteBuffer()
        for _ in benchmark.scaledIterations {
            buffer.writeBytes(encoder.encode(question))
            let line = try! decoder.decode(buffer: &buffer)!
            blackHole(try! GatewayDecoder.decode(line: line))
        }
    }

    Benchmark("gateway message in process (InProcessGatewayLink send of inbound_call)", configuration: config) { benchmark in
        let link = InProcessGatewayLink()
        link.listen { _ in GatewayInbound(received: { blackHole($0) }, closed: {}) }
        let toCore = try! link.connect(GatewayInbound(received: { _ in }, closed: {}))
        for _ in benchmark.scaledIterations {
            try! toCore.send(question)
        }
    }
}
