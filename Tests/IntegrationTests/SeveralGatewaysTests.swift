import Foundation
import Logging
import NIOCore
import SIPMessage
import Testing
import Verification
import VerificationServer
import VoiceGateway

/// Several gateways on one core: each brings its system numbers (sip.conf, in its hello), the core
/// hands out both, and outgoing calls are spread round robin over the gateways that serve them.
@Suite("Several gateways attached to one core", .serialized)
struct SeveralGatewaysTests {
    @Test("two gateways: both system numbers handed out; two dtmf_callout calls leave one from each gateway")
    func twoGateways() async throws {
        var policy = VerificationPolicy(defaultRegion: "TW", systemNumbers: [])  // only the gateways' numbers
        policy.limits.maxCalls = 1
        let test = try await TestCore.start("two", policy: policy)
        defer { test.removeDirectory() }
        let (core, store, socket, logger) = (test.core, test.store, test.socket, test.logger)
        let server = Task { try? await core.gatewaySocketServer(path: socket).run() }

        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        var gateways: [(service: VoiceGatewayService, endpoint: SIPEndpoint, task: Task<Void, Never>)] = []
        for (index, (name, number)) in [("gw-a", "+886229990011"), ("gw-b", "+886229990022")].enumerated() {
            let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]), logger: logger)
            let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: (64_000 + index * 100)...(64_050 + index * 100)))
            let service = VoiceGatewayService(
                endpoint: endpoint, coreSocket: socket,
                configuration: .test(name: name, outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)", systemNumbers: [number]),
                media: media, logger: logger)
            gateways.append((service, endpoint, Task { await service.run() }))
            await service.link.waitUntilConnected()
        }
        #expect(core.gateways.count == 2)
        #expect(await core.service.systemNumbers() == ["+886229990011", "+886229990022"])

        // The least-loaded number goes to each new call-in verification: both appear.
        let first = try await core.service.start(StartRequest(to: "0975000111", channel: .missedCall))
        let second = try await core.service.start(StartRequest(to: "0975000222", channel: .missedCall))
        #expect(Set([first.verification.systemNumber, second.verification.systemNumber]) == ["+886229990011", "+886229990022"])

        // Two outgoing calls: the phone refuses both; they came from both gateways' SIP ports.
        let ringing = Task { () -> Set<Int> in
            var ports = Set<Int>()
            var iterator = phone.endpoint.incomingCalls.makeAsyncIterator()
            for _ in 0..<2 {
                guard let call = await iterator.next() else { break }
                if let port = try? call.request.headers.topVia().port { ports.insert(port) }
                call.reject(statusCode: 603)
            }
            return ports
        }
        _ = try await core.service.start(StartRequest(to: "0975000333", channel: .dtmfCallOut))
        _ = try await core.service.start(StartRequest(to: "0975000444", channel: .dtmfCallOut))
        let fromPorts = await ringing.value
        var gatewayPorts = Set<Int>()
        for gateway in gateways { gatewayPorts.insert(await gateway.endpoint.udpAddresses[0].port!) }
        #expect(fromPorts == gatewayPorts, "one call from each gateway")

        for gateway in gateways {
            await gateway.endpoint.shutdown()
            gateway.task.cancel()
            await gateway.task.value
        }
        await phone.stop()
        server.cancel()
        await server.value
        try await store.shutdown()
    }
}
