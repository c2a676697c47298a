import Foundation
import Glibc
import SIPStack
import Testing
import TestSupport
import Verification
import VerificationServer
import VoiceGateway

/// Missed calls at load over TLS (README "Encrypted calls", docs/TESTING.md): Debian's SIPp has no
/// TLS, so SIPp calls over UDP at Kamailio with its `tls` module, the edge proxy of a TLS trunk,
/// which asserts the caller (RFC 3325 P-Asserted-Identity from the From user) and relays to the
/// gateway over TLS (RFC 3261 §26, RFC 5630) with its client certificate. The gateway believes the
/// assertion only because that certificate names its peer `edge.test` (RFC 5922 §7.3 mutual TLS);
/// loopback itself vouches for nothing.
@Suite("Missed calls at load over TLS through a Kamailio edge", .serialized)
struct KamailioTLSEdgeTests {
    static let tlsModule = "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"

    /// Kamailio, the TLS edge: UDP on `udpPort` towards the callers, TLS on `tlsPort` (tm forwards
    /// over TLS only from a TLS listen socket), every new call relayed to the gateway's TLS port.
    final class Edge: Sendable {
        let process: PeerProcess
        let udpPort: Int
        let directory: URL

        /// `certificate`: the client (and server) certificate the edge shows; the gateway's must
        /// name `gw.test` and be signed by the PKI's CA.
        init(pki: TestPKI, certificate: (certificate: String, key: String), gatewayTLSPort: Int) async throws {
            udpPort = try Peers.freePort()
            let tlsPort = try Peers.freePort()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-kamailio-tls-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let tlsConfig = directory.appendingPathComponent("tls.cfg")
            try Data(Self.tlsConfig(pki: pki, certificate: certificate).utf8).write(to: tlsConfig)
            process = try await KamailioRegistrationTests.startKamailio(
                config: Self.config(udpPort: udpPort, tlsPort: tlsPort, tlsConfig: tlsConfig.path, gatewayTLSPort: gatewayTLSPort),
                directory: directory, udpPort: udpPort, name: "kamailio-tls", alsoReady: { Self.tcpPortIsListening(tlsPort) })
        }

        /// Lines Kamailio logged containing `marker`.
        func lines(_ marker: String) -> [String] { process.lines(marker) }

        /// Stops Kamailio and its forked workers.
        func stop() async {
            await process.stopWithWorkers()
            try? FileManager.default.removeItem(at: directory)
        }

        /// Whether a socket listens on TCP `port` (state 0A in /proc/net/tcp), read without connecting.
        static func tcpPortIsListening(_ port: Int) -> Bool {
            let local = String(format: ":%04X", port)
            return ((try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().contains { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count > 3 && fields[1].hasSuffix(local) && fields[3] == "0A"
            }
        }

        /// The tls module's profiles: as a server (unused here) and as a client towards the gateway,
        /// TLS 1.2+, verifying the gateway's certificate against the CA with SNI `gw.test`, showing
        /// `certificate` for mutual TLS.
        static func tlsConfig(pki: TestPKI, certificate: (certificate: String, key: String)) -> String {
            """
            [server:default]
            method = TLSv1.2+
            certificate = \(certificate.certificate)
            private_key = \(certificate.key)

            [client:default]
            method = TLSv1.2+
            verify_certificate = yes
            require_certificate = yes
            certificate = \(certificate.certificate)
            private_key = \(certificate.key)
            ca_list = \(pki.caFile)
            server_name = gw.test

            """
        }

        /// A stateful edge: record-routes (double: UDP and TLS sides), replaces any
        /// P-Asserted-Identity with one made from the From user, as a carrier edge asserts the
        /// caller it authenticated, and relays the call to the gateway over TLS. ACKs of our
        /// 603s are absorbed (tm ACKs the gateway hop by hop).
        static func config(udpPort: Int, tlsPort: Int, tlsConfig: String, gatewayTLSPort: Int) -> String {
            """
            #!KAMAILIO
            debug=2
            log_stderror=yes
            fork=yes
            children=2
            tcp_children=2
            auto_aliases=no
            enable_tls=yes
            listen=udp:127.0.0.1:\(udpPort)
            listen=tls:127.0.0.1:\(tlsPort)
            mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
            loadmodule "tls.so"
            \(KamailioRegistrationTests.statefulProxyModules)
            modparam("tls", "config", "\(tlsConfig)")
            request_route {
              if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
              if (is_method("ACK") && t_check_trans()) { exit; }
              if (has_totag() && loose_route()) { t_relay(); exit; }
              if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
              if (!has_totag()) { record_route(); }
              remove_hf("P-Asserted-Identity");
              append_hf("P-Asserted-Identity: <sip:$fU@127.0.0.1>\\r\\n");
              $du = "sip:127.0.0.1:\(gatewayTLSPort);transport=tls";
              xlog("L_NOTICE", "EDGE-RELAY $rm $ci\\n");
              if (!t_relay()) { xlog("L_ERR", "EDGE-RELAY-FAILED $rm $ci\\n"); sl_reply_error(); }
            }
            """
        }
    }

    /// Runs `body` with an edge and stops it afterwards, also when `body` throws.
    static func withEdge(pki: TestPKI, certificate: (certificate: String, key: String), gatewayTLSPort: Int, _ body: (Edge) async throws -> Void) async throws {
        let edge = try await Edge(pki: pki, certificate: certificate, gatewayTLSPort: gatewayTLSPort)
        do { try await body(edge) } catch {
            await edge.stop()
            throw error
        }
        await edge.stop()
    }

    /// Whether Kamailio and its tls module are installed; else records an issue in CI.
    static func available() -> Bool {
        guard Peers.available(KamailioRegistrationTests.kamailio, package: "kamailio"), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return false }
        if FileManager.default.fileExists(atPath: tlsModule) { return true }
        if Peers.missingIsFailure { Issue.record("\(tlsModule) is missing: apt-get install -y kamailio-tls-modules") }
        return false
    }

    /// The gateway with a TLS listener (certificate for `gw.test`), whose only trusted peer is the
    /// edge, known by its client certificate `edge.test`; loopback is neither trusted nor vouches.
    static func stack(_ pki: TestPKI, configurePolicy: (inout VerificationPolicy) -> Void = { _ in }) async throws -> MissedCallTests.Stack {
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.test,IP:127.0.0.1")
        let tls = SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile)
        return try await MissedCallTests.Stack(ringTime: .milliseconds(300), trustFrom: false, tls: tls, configure: { configuration in
            var edge = GatewayPeer(name: "edge", networks: [], trusted: true)
            edge.tlsClientIdentity = "edge.test"
            configuration.peers = [edge]
            configuration.trustedPeers = []
        }, configurePolicy: configurePolicy)
    }

    /// SIPp over UDP placing one missed call per line of `calls` at `port`, `rate` calls a second.
    static func sipp(port: Int, calls: [[String]], rate: Int, name: String) async throws -> (status: Int32, output: String, messages: String) {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-msgs-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0",
             "-m", "\(calls.count)", "-r", "\(rate)", "-nostdin", "-timeout", "60s", "-timeout_error", "-inf", try Peers.injectionFile(calls),
             "-trace_msg", "-message_file", trace.path] + Peers.sippBuffers,
            name: name
        )
        let status = await sipp.exitStatus()
        let output = sipp.tail()
        await sipp.stop()
        return (status, output, (try? String(contentsOf: trace, encoding: .utf8)) ?? "")
    }

    static let calls = 200
    static let rate = 50

    @Test("200 missed calls at 50/s: SIPp (UDP) → Kamailio tls → gateway over one mutual-TLS connection; all approved, each exactly once",
          .timeLimit(.minutes(3)))
    func missedCallsAtLoad() async throws {
        guard Self.available() else { return }
        let pki = try await TestPKI.make()
        let stack = try await Self.stack(pki) { policy in policy.limits.maxSendsPerPrefix = 0 }
        let numbers = (0..<Self.calls).map { String(format: "09751%05d", $0) }
        var ids: [String] = []
        for number in numbers {
            ids.append(try await stack.core.service.start(StartRequest(to: number, channel: .missedCall)).verification.id)
        }
        let gatewayTLSPort = await stack.sipTLSPort
        try await Self.withEdge(pki: pki, certificate: try await pki.leaf("edge", sans: "DNS:edge.test"), gatewayTLSPort: gatewayTLSPort) { edge in
            let drops = Peers.udpReceiveBufferDrops()
            let clock = ContinuousClock()
            let start = clock.now
            let run = try await Self.sipp(port: edge.udpPort, calls: numbers.map { [$0, MissedCallTests.systemNumber] }, rate: Self.rate, name: "sipp-tls-edge")
            let elapsed = clock.now - start
            // Every call completed: SIPp's status 0, and each got our 603 (approved, then declined).
            #expect(run.status == 0, "sipp exited \(run.status) after \(elapsed), \(Peers.udpReceiveBufferDrops() - drops) UDP datagrams dropped:\n\(run.output)\n\(edge.lines("EDGE-RELAY-FAILED").prefix(5))")
            #expect(run.messages.components(separatedBy: "SIP/2.0 603 ").count - 1 == Self.calls, "\(run.messages.suffix(2_000))")
            #expect(!run.messages.contains("SIP/2.0 404 "), "a caller was not believed:\n\(run.messages.suffix(2_000))")
            #expect(edge.lines("EDGE-RELAY INVITE").count == Self.calls)

            // Every verification approved, exactly once: one `approved` event each.
            #expect(try await eventuallyTrue {
                for id in ids where try await stack.core.service.verification(id: id).status != .approved { return false }
                return true
            }, "\(edge.process.tail())")
            var approvals = 0
            for id in ids {
                let events = try await stack.core.service.events(id: id)
                let approved = events.filter { $0.kind == .approved }.count
                #expect(approved == 1, "\(id): \(events)")
                approvals += approved
            }
            #expect(approvals == Self.calls)

            // Kamailio's tm reused one connection for all the calls (its tcp_main shares connections
            // between workers by destination).
            let statistics = try await stack.endpoint.statistics()
            #expect(statistics.tcpConnections == 1, "\(statistics)")
            print("KamailioTLSEdgeTests: \(Self.calls) missed calls at \(Self.rate)/s through the TLS edge in \(elapsed), \(statistics.tcpConnections) TLS connection(s)")
        }
        await stack.stop()
        try? FileManager.default.removeItem(atPath: pki.directory)
    }

    @Test("ATTACK: the same Kamailio with a certificate for rogue.test (same CA) asserts a pending number: nothing is approved",
          .timeLimit(.minutes(2)))
    func rogueEdgeNotBelieved() async throws {
        guard Self.available() else { return }
        let pki = try await TestPKI.make()
        let stack = try await Self.stack(pki)
        let victim = "0975000888"
        let pending = try await stack.core.service.start(StartRequest(to: victim, channel: .missedCall))
        let gatewayTLSPort = await stack.sipTLSPort
        try await Self.withEdge(pki: pki, certificate: try await pki.leaf("rogue", sans: "DNS:rogue.test"), gatewayTLSPort: gatewayTLSPort) { edge in
            // The rogue edge asserts the victim (its From user, as the edge copies it into P-Asserted-Identity).
            let run = try await Self.sipp(port: edge.udpPort, calls: [[victim, MissedCallTests.systemNumber]], rate: 1, name: "sipp-tls-rogue")
            #expect(run.status == 0, "\(run.output)\n\(edge.process.tail())")
            // It reached the gateway over TLS (verified, a valid certificate of the CA) and was
            // decided: the caller unverified, so nothing pending for it: 404, not the 603 of an approval.
            #expect(edge.lines("EDGE-RELAY INVITE").count == 1)
            #expect(run.messages.contains("SIP/2.0 404 "), "\(run.messages.suffix(2_000))")
            #expect(!run.messages.contains("SIP/2.0 603 "))
            #expect(try await stack.core.service.verification(id: pending.verification.id).status == .pending)
            #expect(try await stack.core.service.events(id: pending.verification.id).allSatisfy { $0.kind != .approved && $0.kind != .callerIDMatched })
        }
        await stack.stop()
        try? FileManager.default.removeItem(atPath: pki.directory)
    }
}
