import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import Logging
import Testing
import TestSupport
import Verification
import VerificationServer

/// The scale-out picture of the README ("Scale out") on one machine: Kamailio's `dispatcher`
/// module in front of two `verigate gateway` processes (round robin, OPTIONS probing every second,
/// failover in a `failure_route` with `ds_next_dst`), each gateway attached to its own `verigate
/// core`, both cores on one PostgreSQL (run under scripts/with-postgres.sh, which sets
/// DATABASE_URL) with one secret file. SIPp calls Kamailio for verifications started through
/// both cores' APIs; one gateway is SIGKILLed while SIPp is placing missed calls, and started
/// again at the end.
@Suite("Kamailio dispatcher in front of two gateways, two cores on one PostgreSQL", .serialized)
struct DispatcherScaleOutTests {
    static let dispatcherModule = "/usr/lib/x86_64-linux-gnu/kamailio/modules/dispatcher.so"
    static let kamcmd = "/usr/sbin/kamcmd"
    /// The one system number both gateways serve (their sip.conf `system_number`, sent in their hello).
    static let systemNumber = "+886229990077"

    /// Kamailio with the dispatcher: destination set 1 is both gateways (a `list_file` the test
    /// writes), round robin (algorithm 4). It record-routes, relays statefully (`t_relay`) and
    /// sends a new call whose destination times out (no answer within `fr_timer`) or answers
    /// 408/503 to the next destination, marking the first inactive. Failover needs the
    /// dispatcher's `flags` bit 2 (the other destinations kept for `ds_next_dst`); without it
    /// `ds_next_dst` finds nothing and the caller gets tm's 408. Log lines the test reads:
    /// `DS-ROUTE <method> <from user> <destination>` for each new call, `DS-FAILOVER …` for each
    /// retry on another destination, `DS-REPLY <status> <from user> <source>` for each final reply
    /// and `DS-DOWN`/`DS-UP <destination>` when probing changes a destination's state.
    /// SIPp's scenarios send the ACK of a 200 (and nothing else in the dialog) without the Route
    /// set, to Kamailio's address: the answering gateway is remembered per Call-ID (`htable`) for it.
    final class Dispatcher: Sendable {
        let process: PeerProcess
        let udpPort: Int
        let directory: URL
        var control: String { "unix:" + directory.appendingPathComponent("ctl.sock").path }

        init(gatewayPorts: [Int], directory: URL) async throws {
            udpPort = try Peers.freePort()
            self.directory = directory
            let list = directory.appendingPathComponent("dispatcher.list")
            try Data(gatewayPorts.map { "1 sip:127.0.0.1:\($0) 0 0\n" }.joined().utf8).write(to: list)
            process = try await KamailioRegistrationTests.startKamailio(
                config: Self.config(udpPort: udpPort, list: list.path, control: directory.appendingPathComponent("ctl.sock").path),
                directory: directory, udpPort: udpPort, name: "kamailio-dispatcher")
        }

        /// Lines Kamailio logged containing `marker`.
        func lines(_ marker: String) -> [String] { process.lines(marker) }

        /// Each destination's flags from `kamcmd dispatcher.list` (`AP`: active and probed; `IP`,
        /// `IX`: inactive), keyed by port.
        func flags() async throws -> [Int: String] {
            let rpc = try await PeerProcess(DispatcherScaleOutTests.kamcmd, ["-s", control, "dispatcher.list"], name: "kamcmd")
            _ = await rpc.exitStatus()
            let text = (try? String(contentsOf: rpc.log, encoding: .utf8)) ?? ""
            await rpc.stop()
            var flags: [Int: String] = [:]
            var port: Int?
            for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if line.hasPrefix("URI: sip:127.0.0.1:") { port = Int(line.dropFirst("URI: sip:127.0.0.1:".count)) }
                if line.hasPrefix("FLAGS: "), let current = port { flags[current] = String(line.dropFirst("FLAGS: ".count)) }
            }
            return flags
        }

        /// Stops Kamailio and its forked workers.
        func stop() async { await process.stopWithWorkers() }

        static func config(udpPort: Int, list: String, control: String) -> String {
            #"""
            #!KAMAILIO
            debug=2
            log_stderror=yes
            fork=yes
            children=2
            auto_aliases=no
            listen=udp:127.0.0.1:\#(udpPort)
            mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
            loadmodule "ctl.so"
            \#(KamailioRegistrationTests.statefulProxyModules)
            loadmodule "htable.so"
            loadmodule "dispatcher.so"
            modparam("ctl", "binrpc", "unix:\#(control)")
            modparam("tm", "fr_timer", 2000)
            modparam("tm", "fr_inv_timer", 5000)
            modparam("htable", "htable", "dialogs=>size=8;autoexpire=120")
            modparam("dispatcher", "list_file", "\#(list)")
            modparam("dispatcher", "flags", 2)
            modparam("dispatcher", "ds_ping_interval", 1)
            modparam("dispatcher", "ds_probing_mode", 1)
            modparam("dispatcher", "ds_probing_threshold", 1)
            modparam("dispatcher", "ds_inactive_threshold", 1)
            modparam("dispatcher", "ds_ping_from", "sip:dispatcher@127.0.0.1")
            request_route {
              if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
              if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if ($sht(dialogs=>$ci) != $null) {
                  $du = $sht(dialogs=>$ci);
                  if (is_method("ACK")) { forward(); } else { t_relay(); }
                  exit;
                }
                if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
                sl_send_reply("481", "Call/Transaction Does Not Exist");
                exit;
              }
              if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
              if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
              if (t_check_trans()) { exit; }
              record_route();
              if (!ds_select_dst("1", "4")) { xlog("L_NOTICE", "DS-NONE $rm $fU\n"); sl_send_reply("503", "No Gateway"); exit; }
              xlog("L_NOTICE", "DS-ROUTE $rm $fU $du\n");
              t_on_failure("FAILOVER");
              t_on_reply("REPLY");
              if (!t_relay()) { sl_reply_error(); }
            }
            onreply_route[REPLY] {
              if ($rs =~ "^[2-6]") { xlog("L_NOTICE", "DS-REPLY $rs $fU sip:$si:$sp\n"); }
              if ($rs =~ "^2" && is_method("INVITE")) { $sht(dialogs=>$ci) = "sip:" + $si + ":" + $sp; }
            }
            failure_route[FAILOVER] {
              if (t_is_canceled()) { exit; }
              if (t_branch_timeout() || t_check_status("408|503")) {
                ds_mark_dst("ip");
                if (ds_next_dst()) {
                  xlog("L_NOTICE", "DS-FAILOVER $rm $fU $du\n");
                  t_on_failure("FAILOVER");
                  t_on_reply("REPLY");
                  t_relay();
                  exit;
                }
                xlog("L_NOTICE", "DS-EXHAUSTED $rm $fU\n");
              }
            }
            event_route[dispatcher:dst-down] { xlog("L_NOTICE", "DS-DOWN $ru\n"); }
            event_route[dispatcher:dst-up] { xlog("L_NOTICE", "DS-UP $ru\n"); }
            """#
        }
    }

    /// A `verigate core` on the shared database and the `verigate gateway` attached to it.
    struct Node {
        let name: String
        let core: PeerProcess
        let base: String
        var gateway: PeerProcess?
        let sipPort: Int
        /// How the gateway was started, to start it again.
        let gatewayArguments: [String]

        /// Starts the core and waits for its /healthz, then the gateway (RTP on `rtp`, a literal range
        /// so TestPortRangeTests sees it) and waits for its SIP port.
        static func start(_ name: String, verigate: String, database: String, directory: URL, secret: String, rtp: ClosedRange<Int>) async throws -> Node {
            let httpPort = try Peers.freePort()
            let socket = directory.appendingPathComponent("\(name).sock").path
            let core = try await PeerProcess(verigate, [
                "core", "--data-dir", directory.appendingPathComponent(name).path, "--database-url", database, "--secret-file", secret,
                "--http-address", "127.0.0.1:\(httpPort)", "--gateway-socket", socket, "--system-numbers", "",
                "--demo", "off", "--ip-rate", "0", "--key-rate", "0", "--log-level", "info",
            ], name: "core-\(name)")
            let base = "http://127.0.0.1:\(httpPort)"
            let up = try await Peers.servesHealthz(base)
            #expect(up, "core \(name): \(core.tail())")
            let sipPort = try Peers.freePort()
            let conf = directory.appendingPathComponent("\(name).sip.conf")
            let lines = ["[general]", "name = gw-\(name)", "bind = 127.0.0.1:\(sipPort)", "transport = udp", "missed_call_ring_time = 300ms",
                         "system_number = \(DispatcherScaleOutTests.systemNumber)", "rtp_start = \(rtp.lowerBound)", "rtp_end = \(rtp.upperBound)",
                         "[loopback]", "type = peer", "host = 127.0.0.0/8", "trusted = yes"]
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: conf)
            let arguments = ["gateway", "--core-socket", socket, "--sip-config", conf.path, "--prompts", Peers.repository.appendingPathComponent("prompts").path,
                             "--journal", directory.appendingPathComponent("\(name).journal").path, "--log-level", "info"]
            let gateway = try await PeerProcess(verigate, arguments, name: "gateway-\(name)")
            let bound = try await eventuallyTrue(within: .seconds(60)) { Peers.udpPortIsBound(sipPort) }
            #expect(bound, "gateway \(name): \(gateway.tail())")
            return Node(name: name, core: core, base: base, gateway: gateway, sipPort: sipPort, gatewayArguments: arguments)
        }

        var processes: [PeerProcess] { [core] + (gateway.map { [$0] } ?? []) }

        func tails() -> String { "core \(name): \(core.tail(15))\ngateway \(name): \(gateway?.tail(15) ?? "killed")" }
    }

    /// One verification the test started and how it is to be proven.
    struct Started {
        let id: String
        let to: String
        let channel: String
        let code: String
        let node: String
    }

    /// Starts a verification on `node`, retrying while its gateway is not attached yet (503 no_gateway).
    static func start(_ number: String, channel: String, on node: Node, key: String) async throws -> Started {
        var created: [String: Any]?
        var last: Any?
        _ = try await eventuallyTrue(within: .seconds(60)) {
            let (status, body) = try await MultiNodeTests.request("POST", node.base + "/v1/verifications", key: key, body: #"{"to":"\#(number)","channel":"\#(channel)"}"#)
            last = body
            guard status == 201 else { return false }
            created = body as? [String: Any]
            return true
        }
        let object = try #require(created, "start \(channel) \(number) on \(node.name): \(last ?? "")\n\(node.tails())")
        #expect(object["system_number"] as? String == Self.systemNumber, "\(object)")
        return Started(id: try #require(object["id"] as? String), to: try #require(object["to"] as? String), channel: channel,
                       code: object["code"] as? String ?? "", node: node.name)
    }

    /// SIPp placing one call per verification of `calls` at Kamailio, `rate` a second.
    static func sipp(_ scenario: String, port: Int, calls: [Started], rate: Int, directory: URL, name: String) async throws -> PeerProcess {
        let injection = try Peers.injectionFile(calls.map { [$0.to, Self.systemNumber, $0.code] })
        return try await PeerProcess("/usr/bin/sipp", [
            "-sf", Peers.repository.appendingPathComponent("sipp/\(scenario)").path, "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0", "-mp", "0",
            "-m", "\(calls.count)", "-r", "\(rate)", "-nostdin", "-timeout", "90s", "-timeout_error", "-inf", injection,
            "-trace_msg", "-message_file", directory.appendingPathComponent("\(name)-msgs.log").path,
        ] + Peers.sippBuffers, name: name)
    }

    /// Whether everything the test drives is installed; else records an issue in CI.
    static func available() -> (verigate: String, database: String)? {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available(KamailioRegistrationTests.kamailio, package: "kamailio"),
              Peers.available(Self.kamcmd, package: "kamailio"), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return nil }
        guard FileManager.default.fileExists(atPath: Self.dispatcherModule) else {
            if Peers.missingIsFailure { Issue.record("\(Self.dispatcherModule) is missing: apt-get install -y kamailio") }
            return nil
        }
        guard let database = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            if Peers.missingIsFailure { Issue.record("DATABASE_URL is not set: run under scripts/with-postgres.sh") }
            return nil
        }
        return (verigate, database)
    }

    static let missedCalls = 20
    static let keyedCalls = 4

    @Test("SIPp → Kamailio dispatcher → two gateways → two cores on one PostgreSQL; a gateway SIGKILLed mid-run: its calls fail over, every approval once, seen by both cores",
          .timeLimit(.minutes(5)))
    func scaleOut() async throws {
        guard let (verigate, database) = Self.available() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-dispatch-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let secret = directory.appendingPathComponent("secret").path
        let keyMaker = try await PeerProcess(verigate, ["api-key", "--database-url", database, "--name", "dispatcher test"], name: "api-key")
        #expect(await keyMaker.exitStatus() == 0, "\(keyMaker.tail())")
        let key = try #require(keyMaker.tail().split(separator: "\n").last { $0.hasPrefix("vg_") }.map(String.init), "\(keyMaker.tail())")
        await keyMaker.stop()

        var nodes: [Node] = []
        var dispatcher: Dispatcher?
        var others: [PeerProcess] = []  // SIPp runs, the restarted gateway
        func end() async {
            for process in nodes.flatMap(\.processes) + others where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
            for process in nodes.flatMap(\.processes) + others { await process.stop() }
            await dispatcher?.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        do {
            // One after the other: the first core creates the secret file the second reads.
            nodes.append(try await Node.start("a", verigate: verigate, database: database, directory: directory, secret: secret, rtp: 62_270...62_368))
            nodes.append(try await Node.start("b", verigate: verigate, database: database, directory: directory, secret: secret, rtp: 62_378...62_476))
            let (a, b) = (nodes[0], nodes[1])
            let edge = try await Dispatcher(gatewayPorts: [a.sipPort, b.sipPort], directory: directory)
            dispatcher = edge
            // Both destinations answer the probes: active and probed.
            var flags: [Int: String] = [:]
            #expect(try await eventuallyTrue {
                flags = try await edge.flags()
                return flags[a.sipPort] == "AP" && flags[b.sipPort] == "AP"
            }, "\(flags)\n\(edge.process.tail())")

            // Verifications for distinct numbers, started alternately on both cores (each core's
            // attached gateway brings the system number; the first start waits for it).
            let prefix = "0976" + String(format: "%03d", Int.random(in: 0..<1_000))
            var started: [Started] = []
            for index in 0..<(Self.missedCalls + 2 * Self.keyedCalls) {
                let channel = index < Self.missedCalls ? "missed_call" : "dtmf_callin"
                started.append(try await Self.start(prefix + String(format: "%03d", index), channel: channel, on: nodes[index % 2], key: key))
            }
            let missed = Array(started.prefix(Self.missedCalls))
            let keyedBefore = Array(started[Self.missedCalls..<(Self.missedCalls + Self.keyedCalls)])
            let keyedAfter = Array(started.suffix(Self.keyedCalls))
            #expect(keyedBefore.allSatisfy { $0.code.count == 6 }, "dtmf_callin shows its code: \(keyedBefore)")
            let gatewayA = "sip:127.0.0.1:\(a.sipPort)", gatewayB = "sip:127.0.0.1:\(b.sipPort)"

            // Both gateways alive: keyed call-ins alternate between them.
            let first = try await Self.sipp("callin-dtmf.xml", port: edge.udpPort, calls: keyedBefore, rate: 2, directory: directory, name: "sipp-keyed-before")
            others.append(first)
            let firstStatus = await first.exitStatus()
            #expect(firstStatus == 0, "\(first.tail())\n\(a.tails())\n\(b.tails())")
            let routedBefore = edge.lines("DS-ROUTE INVITE")
            #expect(routedBefore.filter { $0.hasSuffix(gatewayA) }.count == Self.keyedCalls / 2
                    && routedBefore.filter { $0.hasSuffix(gatewayB) }.count == Self.keyedCalls / 2, "round robin: \(routedBefore)")

            // Missed calls at 4/s; gateway A is SIGKILLed right after Kamailio sent a call to B,
            // so the next call goes to A (round robin) before probing can have noticed.
            let missedRun = try await Self.sipp("callin-missed.xml", port: edge.udpPort, calls: missed, rate: 4, directory: directory, name: "sipp-missed")
            others.append(missedRun)
            let routed = routedBefore.count
            #expect(try await eventuallyTrue {
                let lines = edge.lines("DS-ROUTE INVITE")
                return lines.count >= routed + 6 && lines.last?.hasSuffix(gatewayB) == true
            }, "\(edge.process.tail())")
            let killedPid = try #require(a.gateway).process.processIdentifier
            kill(killedPid, SIGKILL)
            _ = await a.gateway?.exitStatus()
            let routedAtKill = edge.lines("DS-ROUTE INVITE").count
            let missedStatus = await missedRun.exitStatus()
            #expect(missedStatus == 0, "every missed call got its 603: \(missedRun.tail())\n\(edge.lines("DS-").suffix(30))\n\(b.tails())")

            // A is out of rotation (marked inactive by the failure route or by probing, which
            // logs DS-DOWN only for what it changed itself); B stays in.
            #expect(try await eventuallyTrue {
                flags = try await edge.flags()
                return flags[a.sipPort]?.hasPrefix("I") == true && flags[b.sipPort] == "AP"
            }, "\(flags)")
            #expect(edge.lines("DS-DOWN \(gatewayB)").isEmpty)
            // The calls sent to A after the kill went to B after fr_timer: at least the first one.
            let failovers = edge.lines("DS-FAILOVER INVITE")
            #expect(failovers.count >= 1 && failovers.allSatisfy { $0.hasSuffix(gatewayB) }, "\(edge.lines("DS-").suffix(40))")
            #expect(edge.lines("DS-EXHAUSTED").isEmpty && edge.lines("DS-NONE").isEmpty)

            // A out of rotation: the next keyed call-ins all go to B, none through a failover.
            let failoversBefore = failovers.count
            let routedBeforeLast = edge.lines("DS-ROUTE INVITE").count
            let last = try await Self.sipp("callin-dtmf.xml", port: edge.udpPort, calls: keyedAfter, rate: 2, directory: directory, name: "sipp-keyed-after")
            others.append(last)
            let lastStatus = await last.exitStatus()
            #expect(lastStatus == 0, "\(last.tail())\n\(b.tails())")
            let routedLast = edge.lines("DS-ROUTE INVITE").dropFirst(routedBeforeLast)
            #expect(routedLast.count == Self.keyedCalls && routedLast.allSatisfy { $0.hasSuffix(gatewayB) }, "\(routedLast)")
            #expect(edge.lines("DS-FAILOVER INVITE").count == failoversBefore)

            // Gateway A started again answers the probes and is back in rotation.
            let restarted = try await PeerProcess(verigate, a.gatewayArguments, name: "gateway-a-again")
            others.append(restarted)
            #expect(try await eventuallyTrue {
                flags = try await edge.flags()
                return flags[a.sipPort] == "AP" && flags[b.sipPort] == "AP" && !edge.lines("DS-UP \(gatewayA)").isEmpty
            }, "\(flags)\n\(edge.lines("DS-").suffix(10))\n\(restarted.tail())")

            // Every call was served: its verification approved, seen by both cores. The one
            // exception allowed: a missed call whose 603 gateway A sent just before the kill, the
            // ACK that proves the caller (and so approves) arriving at a dead gateway.
            let replies = edge.lines("DS-REPLY ")
            let lostProof = Set(missed.filter { call in
                replies.contains { $0.contains(" 603 \(call.to) \(gatewayA)") }
            }.map(\.id))
            var pending: [String] = []
            for node in [a, b] {
                var statuses: [String: String] = [:]
                _ = try await eventuallyTrue {
                    for call in started where statuses[call.id] != "approved" {
                        let (_, body) = try await MultiNodeTests.request("GET", node.base + "/v1/verifications/\(call.id)", key: key)
                        statuses[call.id] = (body as? [String: Any])?["status"] as? String
                    }
                    return statuses.values.filter { $0 == "approved" }.count == started.count
                }
                pending = started.filter { statuses[$0.id] != "approved" }.map(\.id)
                #expect(pending.count <= 1 && Set(pending).isSubset(of: lostProof),
                        "not approved on core \(node.name): \(started.filter { pending.contains($0.id) })\n\(edge.lines("DS-").suffix(40))\n\(a.tails())\n\(b.tails())")
            }
            let approvedIDs = started.map(\.id).filter { !pending.contains($0) }

            // Nothing counted twice: one approval event each in the shared audit trail, and the
            // cores' approval counters (each counts the approvals its gateway brought) sum to them.
            var logger = Logger(label: "dispatcher-test")
            logger.logLevel = .error
            let store = try await SQLVerificationStore.open(url: database, logger: logger)
            for id in approvedIDs {
                let events = try await store.events(verificationID: id)
                #expect(events.filter { $0.kind == .approved }.count == 1, "\(id): \(events.map { "\($0.kind) \($0.detail ?? "")" })")
            }
            try await store.shutdown()
            var counted: [String: Double] = [:]
            for node in [a, b] {
                let text = String(decoding: try await URLSession.shared.data(from: URL(string: node.base + "/metrics")!).0, as: UTF8.self)
                for channel in ["missed_call", "dtmf_callin"] {
                    let value = metricValue(text, #"verigate_verifications_approved_total{channel="\#(channel)"}"#) ?? 0
                    counted[channel, default: 0] += value
                    counted[node.name, default: 0] += value
                }
            }
            let approvedMissed = missed.filter { approvedIDs.contains($0.id) }.count
            #expect(counted["missed_call"] == Double(approvedMissed) && counted["dtmf_callin"] == Double(2 * Self.keyedCalls), "\(counted)")
            #expect((counted["a"] ?? 0) > 0 && (counted["b"] ?? 0) > 0, "both nodes served calls: \(counted)")
            print("DispatcherScaleOutTests: gateway A killed after \(routedAtKill) calls routed; \(failovers.count) failover(s); approvals per core \(counted)")
        } catch {
            await end()
            throw error
        }
        await end()
    }
}
