import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import NIOCore
import Prometheus
import TestSupport
import Testing
import Verification
import VerificationServer
@testable import VoiceGateway

/// Trunk registration (RFC 3261 §10) with Kamailio as the provider (docs/TESTING.md): a registrar
/// with digest auth and `usrloc` in memory; Verigate registers, refreshes, gets a missed_call and a
/// dtmf_callin that SIPp places through Kamailio to the DID (delivered to our registered Contact,
/// the DID only in To), and un-REGISTERs at shutdown. Kamailio logs each REGISTER it accepts
/// (`xlog`); the test waits for those lines.
@Suite("Trunk registration with Kamailio as the provider", .serialized)
struct KamailioRegistrationTests {
    static let kamailio = "/usr/sbin/kamailio"

    /// The modules a stateful proxy script of the tests uses (after `mpath`): transactions,
    /// stateless replies, record-routing, pseudo-variables, Max-Forwards, header edits, To-tag
    /// checks and logging (the TLS edge and the dispatcher).
    static let statefulProxyModules = """
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "maxfwd.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "xlog.so"
        """

    /// Writes `config` to `directory`/kamailio.cfg, starts Kamailio on it in the foreground (its
    /// log to the process's output, 64 MB shared and 8 MB private memory, pid file in `directory`)
    /// and waits until it listens on UDP `udpPort` and `alsoReady()` holds; a Kamailio that does
    /// not is recorded as an issue with its log. The three Kamailio roles of the tests start here.
    static func startKamailio(config: String, directory: URL, udpPort: Int, name: String,
                              alsoReady: @escaping @Sendable () -> Bool = { true }) async throws -> PeerProcess {
        let file = directory.appendingPathComponent("kamailio.cfg")
        try Data(config.utf8).write(to: file)
        let process = try await PeerProcess(kamailio, ["-DD", "-E", "-m", "64", "-M", "8", "-f", file.path, "-w", directory.path,
                                                       "-P", directory.appendingPathComponent("kamailio.pid").path], name: name)
        let bound = try await eventuallyTrue { Peers.udpPortIsBound(udpPort) && alsoReady() }
        if !bound { Issue.record("kamailio did not listen: \(process.tail())") }
        return process
    }

    /// Kamailio as a registration trunk provider on 127.0.0.1:`port`.
    final class Provider: Sendable {
        let process: PeerProcess
        let port: Int
        let directory: URL

        /// `minExpires`/`maxExpires`: the registrar's bounds (`min_expires_mode = 1` answers 423
        /// below the minimum, RFC 3261 §10.2.8).
        init(minExpires: Int = 10, maxExpires: Int = 20) async throws {
            port = try Peers.freePort()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-kamailio-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            process = try await KamailioRegistrationTests.startKamailio(
                config: Self.config(port: port, minExpires: minExpires, maxExpires: maxExpires), directory: directory, udpPort: port, name: "kamailio")
        }

        /// The REGISTERs Kamailio accepted, in order, as (CSeq, Expires, Contact).
        var registrations: [(cseq: Int, expires: Int, contact: String)] {
            let text = (try? String(contentsOf: process.log, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                guard let range = line.range(of: "KAM-REGISTERED ") else { return nil }
                let fields = line[range.upperBound...].split(separator: " ")
                guard fields.count == 3, let cseq = Int(fields[0]), let expires = Int(fields[1]) else { return nil }
                return (cseq, expires, String(fields[2]))
            }
        }

        /// Lines Kamailio logged containing `marker`.
        func lines(_ marker: String) -> [String] { process.lines(marker) }

        /// Stops Kamailio and its forked workers.
        func stop() async {
            await process.stopWithWorkers()
            try? FileManager.default.removeItem(at: directory)
        }

        /// The registrar (digest, realm trunk.test, user verigate / s3cret) and a DID route: any
        /// INVITE goes to the contact registered for `verigate`, To untouched; in-dialog requests
        /// follow Route, or (SIPp sends none) the same lookup.
        static func config(port: Int, minExpires: Int, maxExpires: Int) -> String {
            """
            #!KAMAILIO
            debug=2
            log_stderror=yes
            fork=yes
            children=1
            auto_aliases=no
            listen=udp:127.0.0.1:\(port)
            mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
            loadmodule "tm.so"
            loadmodule "sl.so"
            loadmodule "rr.so"
            loadmodule "pv.so"
            loadmodule "maxfwd.so"
            loadmodule "usrloc.so"
            loadmodule "registrar.so"
            loadmodule "textops.so"
            loadmodule "siputils.so"
            loadmodule "xlog.so"
            loadmodule "auth.so"
            modparam("usrloc", "db_mode", 0)
            modparam("registrar", "min_expires", \(minExpires))
            modparam("registrar", "min_expires_mode", 1)
            modparam("registrar", "max_expires", \(maxExpires))
            modparam("registrar", "default_expires", \(maxExpires))
            request_route {
              if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
              if (is_method("REGISTER")) {
                if (!pv_www_authenticate("trunk.test", "s3cret", "0")) { www_challenge("trunk.test", "0"); exit; }
                if (!save("location")) { xlog("L_NOTICE", "KAM-REFUSED $cs $hdr(Expires)\\n"); exit; }
                xlog("L_NOTICE", "KAM-REGISTERED $cs $hdr(Expires) $ct\\n");
                exit;
              }
              if (has_totag() && loose_route()) { t_relay(); exit; }
              if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
              if (is_method("ACK") && t_check_trans()) { exit; }
              if (!has_totag()) { record_route(); }
              $rU = "verigate";
              if (!lookup("location")) { xlog("L_NOTICE", "KAM-NO-CONTACT $rm\\n"); sl_send_reply("480", "Not registered"); exit; }
              xlog("L_NOTICE", "KAM-RELAY $rm $ru\\n");
              if (is_method("ACK")) { forward(); exit; }
              t_relay();
            }
            """
        }
    }

    /// Runs `body` with a Kamailio provider and stops it afterwards, also when `body` throws (a
    /// Kamailio left running keeps its workers and port).
    static func withProvider(minExpires: Int = 10, maxExpires: Int = 20, _ body: (Provider) async throws -> Void) async throws {
        let provider = try await Provider(minExpires: minExpires, maxExpires: maxExpires)
        do { try await body(provider) } catch {
            await provider.stop()
            throw error
        }
        await provider.stop()
    }

    /// The gateway's sip.conf: the registration trunk, and before it an IP-auth trunk on the same
    /// address that reads the Request-URI — a call that reached `carrier` by address alone would be
    /// read as that one's and fail. The contact user tells them apart.
    static func conf(port: Int) -> String {
        """
        [other]
        type = trunk
        host = 127.0.0.1:5999
        inbound_region = TW

        [carrier]
        type = trunk
        host = 127.0.0.1:\(port)
        username = verigate
        password = s3cret
        register = yes
        register_expiry = 60s
        called_number = to
        trusted = yes
        inbound_region = TW

        """
    }

    @Test("registers with digest, refreshes before expiry, takes a missed_call and a dtmf_callin through Kamailio, un-REGISTERs at shutdown",
          .timeLimit(.minutes(2)))
    func registerCallsUnregister() async throws {
        guard Peers.available(Self.kamailio, package: "kamailio"), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        try await Self.withProvider { provider in
            let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 61_790...61_850), firstDigitTimeout: .seconds(8))
            let stack = try await MissedCallTests.Stack(media: media, configure: try TrunkIntegrationTests.apply(Self.conf(port: provider.port)))
            let sipPort = await stack.sipPort
            let registration = try #require(stack.gateway.registrations.first)
            #expect(stack.gateway.registrations.count == 1 && registration.trunk.name == "carrier")

            // Registered: Kamailio accepted the answer to its challenge and granted its max_expires (20 s).
            #expect(try await eventuallyTrue { registration.isRegistered }, "\(provider.process.tail())")
            let first = try #require(provider.registrations.first)
            #expect(first.contact.contains("sip:carrier@127.0.0.1:\(sipPort)"), "our Contact: \(first.contact)")
            // Refreshed at about half of the 20 s granted: the same Call-ID, a higher CSeq.
            #expect(try await eventuallyTrue(within: .seconds(20)) { provider.registrations.count >= 2 }, "\(provider.process.tail())")
            let registrations = provider.registrations
            #expect(registrations[1].cseq > registrations[0].cseq)
            #expect(registration.isRegistered)
            let registry = PrometheusCollectorRegistry()
            let metrics = GatewayMetrics(registry: registry, calls: stack.gateway.calls, media: nil, registrations: stack.gateway.registrations)
            metrics.collect()
            #expect(metricValue(registry.emitToString(), #"verigate_trunk_registered{trunk="carrier"}"#) == 1, "\(registry.emitToString())")

            // missed_call: SIPp calls the DID at Kamailio, which delivers to our Contact.
            let missed = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .missedCall))
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-kam-missed-\(UUID().uuidString.prefix(8)).log")
            defer { try? FileManager.default.removeItem(at: trace) }
            let caller = try await PeerProcess(
                "/usr/bin/sipp",
                ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(provider.port)", "-i", "127.0.0.1", "-p", "0",
                 "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([["0975000888", MissedCallTests.systemNumber]]),
                 "-trace_msg", "-message_file", trace.path],
                name: "sipp-kam-missed"
            )
            let missedStatus = await caller.exitStatus()
            let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
            #expect(missedStatus == 0, "\(caller.tail())")
            #expect(messages.contains("SIP/2.0 603 "), "\(messages.suffix(2_000))")
            await caller.stop()
            #expect(provider.lines("KAM-RELAY INVITE sip:carrier@127.0.0.1:\(sipPort)").count == 1, "delivered to our registered Contact")
            #expect(try await eventuallyTrue { try await stack.core.service.verification(id: missed.verification.id).status == .approved })

            // dtmf_callin through Kamailio: answered, the code keyed (RFC 4733), approved.
            let keyed = try await stack.core.service.start(StartRequest(to: "0975000999", channel: .dtmfCallIn))
            let code = try #require(keyed.code)
            let phone = try await PeerProcess(
                "/usr/bin/sipp",
                ["-sf", Peers.repository.appendingPathComponent("sipp/callin-dtmf.xml").path, "127.0.0.1:\(provider.port)", "-i", "127.0.0.1", "-p", "0",
                 "-mp", "0", "-m", "1", "-nostdin", "-timeout", "40s", "-inf", try Peers.injectionFile([["0975000999", MissedCallTests.systemNumber, code]])],
                name: "sipp-kam-dtmf"
            )
            let dtmfStatus = await phone.exitStatus()
            #expect(dtmfStatus == 0, "\(phone.tail())")
            await phone.stop()
            #expect(try await eventuallyTrue { try await stack.core.service.verification(id: keyed.verification.id).status == .approved })

            // Graceful shutdown: the un-REGISTER (Expires 0) reaches Kamailio before the endpoint closes.
            let before = provider.registrations.count
            stack.tasks.cancel()
            await stack.tasks.value
            // Kamailio logs the REGISTER it answered on its own time: wait for the line, not for a read.
            #expect(try await eventuallyTrue { provider.registrations.count == before + 1 && provider.registrations.last?.expires == 0 }, "\(provider.process.tail())")
            #expect(!registration.isRegistered)
            metrics.collect()
            #expect(metricValue(registry.emitToString(), #"verigate_trunk_registered{trunk="carrier"}"#) == 0, "\(registry.emitToString())")
            await stack.stop()
        }
    }

    @Test("423 Interval Too Brief: Kamailio's min_expires 120 is above our 60 s; we register again with 120 (RFC 3261 §10.2.8)",
          .timeLimit(.minutes(1)))
    func intervalTooBrief() async throws {
        guard Peers.available(Self.kamailio, package: "kamailio") else { return }
        try await Self.withProvider(minExpires: 120, maxExpires: 3_600) { provider in
            let stack = try await MissedCallTests.Stack(configure: try TrunkIntegrationTests.apply(Self.conf(port: provider.port)))
            let registration = try #require(stack.gateway.registrations.first)
            #expect(try await eventuallyTrue { registration.isRegistered }, "\(provider.process.tail())")
            #expect(provider.registrations.first?.expires == 120, "\(provider.registrations)")
            stack.tasks.cancel()
            await stack.tasks.value
            await stack.stop()
        }
    }

    @Test("a wrong password: Kamailio keeps refusing, the trunk is not registered and retries with backoff", .timeLimit(.minutes(1)))
    func wrongPassword() async throws {
        guard Peers.available(Self.kamailio, package: "kamailio") else { return }
        try await Self.withProvider { provider in
            let conf = Self.conf(port: provider.port).replacingOccurrences(of: "password = s3cret", with: "password = wrong")
            let stack = try await MissedCallTests.Stack(configure: try TrunkIntegrationTests.apply(conf))
            let registration = try #require(stack.gateway.registrations.first)
            #expect(try await eventuallyTrue { registration.failure == .authentication(401) }, "\(provider.process.tail())")
            #expect(!registration.isRegistered && provider.registrations.isEmpty)
            #expect(provider.lines("KAM-REGISTERED").isEmpty)
            stack.tasks.cancel()
            await stack.tasks.value
            await stack.stop()
        }
    }

    @Test("verigate gateway's GET /healthz: 503 naming the trunk while Kamailio refuses its password or no core is joined; 200 once joined and registered",
          .timeLimit(.minutes(2)))
    func readiness() async throws {
        guard Peers.available(Self.kamailio, package: "kamailio"), let verigate = CoreGatewayApartTests.binary() else { return }
        try await Self.withProvider { provider in
            let carrier = Self.conf(port: provider.port).components(separatedBy: "[carrier]")[1]
            func health(_ setup: CoreGatewayApartTests.Setup, metricsPort: Int, token: String) async throws -> (Int, [String: Any]) {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(metricsPort)/healthz")!)
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                let (data, response) = try await URLSession.shared.data(for: request)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
            }
            func trunk(_ body: [String: Any]) -> [String: Any] { ((body["trunks"] as? [String: Any])?["carrier"] as? [String: Any]) ?? [:] }
            let token = "gateway-readiness-token-0123"

            // A wrong password and no core: not ready, and the body says why.
            let wrong = try CoreGatewayApartTests.Setup(name: "gw-unready", general: ["[carrier]" + carrier.replacingOccurrences(of: "password = s3cret", with: "password = wrong")])
            defer { wrong.remove() }
            let wrongMetrics = try Peers.freePort()
            let unready = try await PeerProcess(verigate, wrong.gatewayArguments(["--metrics-address", "127.0.0.1:\(wrongMetrics)", "--metrics-token", token]), name: "gateway-unready")
            var seen: (Int, [String: Any]) = (0, [:])
            #expect(try await eventuallyTrue {
                seen = (try? await health(wrong, metricsPort: wrongMetrics, token: token)) ?? (0, [:])
                return seen.0 == 503 && trunk(seen.1)["failure"] as? String == "authentication refused (401)"
            }, "\(seen) \(unready.tail())")
            #expect(seen.1["ready"] as? Bool == false && seen.1["core"] as? Bool == false && trunk(seen.1)["registered"] as? Bool == false)
            var unauthorized = URLRequest(url: URL(string: "http://127.0.0.1:\(wrongMetrics)/healthz")!)
            unauthorized.setValue("Bearer not-the-token", forHTTPHeaderField: "Authorization")
            #expect((try await URLSession.shared.data(for: unauthorized).1 as? HTTPURLResponse)?.statusCode == 401)
            await unready.stop()

            // The right password and a core: ready.
            let right = try CoreGatewayApartTests.Setup(name: "gw-ready", general: ["[carrier]" + carrier])
            defer { right.remove() }
            let core = try await right.core(verigate, systemNumbers: "+886229996666", name: "core-ready")
            let metricsPort = try Peers.freePort()
            let gateway = try await PeerProcess(verigate, right.gatewayArguments(["--metrics-address", "127.0.0.1:\(metricsPort)", "--metrics-token", token]), name: "gateway-ready")
            #expect(try await eventuallyTrue {
                seen = (try? await health(right, metricsPort: metricsPort, token: token)) ?? (0, [:])
                return seen.0 == 200
            }, "\(seen) \(gateway.tail()) \(core.tail())")
            #expect(seen.1["ready"] as? Bool == true && seen.1["core"] as? Bool == true && trunk(seen.1)["registered"] as? Bool == true)
            await gateway.stop()
            await core.stop()
        }
    }

    @Test("a registrar given as a host name: found through DNS (SRV at dnsmasq, RFC 3263), registered, un-registered",
          .timeLimit(.minutes(1)))
    func registrarByName() async throws {
        guard Peers.available(Self.kamailio, package: "kamailio") else { return }
        try await Self.withProvider { provider in
            guard let dns = try await TrunkDNSIntegrationTests.dnsmasq([
                "--srv-host=_sip._udp.registrar.test,kam.registrar.test,\(provider.port),10,0",
                "--host-record=kam.registrar.test,127.0.0.1",
            ]) else { return }
            let conf = "[general]\ndns_server = 127.0.0.1:\(dns.port)\n\n[carrier]\n" + Self.conf(port: provider.port).components(separatedBy: "[carrier]")[1]
                .replacingOccurrences(of: "host = 127.0.0.1:\(provider.port)", with: "host = registrar.test")
            let stack = try await MissedCallTests.Stack(configure: try TrunkIntegrationTests.apply(conf))
            let registration = try #require(stack.gateway.registrations.first)
            #expect(registration.trunk.host == "registrar.test")
            #expect(try await eventuallyTrue { registration.isRegistered }, "\(provider.process.tail())\ndnsmasq: \(dns.process.tail())")
            #expect(dns.process.tail().contains("_sip._udp.registrar.test"), "the registrar was looked up by SRV")
            stack.tasks.cancel()
            await stack.tasks.value
            #expect(try await eventuallyTrue { provider.registrations.last?.expires == 0 }, "un-REGISTER reached the registrar found by name")
            await stack.stop()
            await dns.process.stop()
        }
    }
}
