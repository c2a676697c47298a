import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport

/// Real programs the integration tests drive (docs/TESTING.md). A missing one fails the test
/// when `CI=true` and skips it otherwise.
enum Peers {
    static var missingIsFailure: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// True when `path` is executable; else records an issue in CI (so the test fails there).
    static func available(_ path: String, package: String) -> Bool {
        if FileManager.default.isExecutableFile(atPath: path) { return true }
        if missingIsFailure { Issue.record("\(path) is missing: apt-get install -y \(package)") }
        return false
    }

    /// The repository root (for `sipp/` scenarios).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Waits (at most `limit`) until `GET <base>/healthz` answers 200, as a verigate just started
    /// does once it serves; false when it never did. A loaded CI machine (every suite starting at
    /// once, each store test opening its own pool) has taken over 30 s to bring a debug core up.
    static func servesHealthz(_ base: String, within limit: Duration = .seconds(120)) async throws -> Bool {
        try await eventuallyTrue(within: limit) {
            guard let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/healthz")!) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
    }

    /// A port whose UDP and TCP are both free on loopback right now, for a server a test starts. It
    /// comes from 28,000–30,990: below Linux's ephemeral range (32,768–60,999), where every port-0
    /// bind of another test running meanwhile lands (a port taken by binding port 0 and released was
    /// such a bind's to take: CI saw a `serve` stop on "Address already in use"), above baresip's
    /// band (`freeBaresipPort`) and the gateway's default RTP ports, and below the tests' own RTP
    /// ranges (31,000–31,680, and 61,000 on, above the ephemeral range too). Never handed out twice
    /// in one test process.
    static func freePort() throws -> Int {
        try take(from: nextPort, band: 28_000...30_990, step: 1, tries: 400) { canBind($0, udp: true) && canBind($0, udp: false) }
    }

    private static let nextPort = Mutex(28_000 + Int.random(in: 0..<2_991))

    /// A SIP port for baresip to listen on: P with UDP P, TCP P and TCP P + 1 free on loopback right
    /// now. baresip 1.0.0 listens for SIP over UDP and TCP on `sip_listen`'s port and for SIP over
    /// TLS on the next one, and has no setting to leave TLS out, so a port from `freePort` may
    /// have its successor taken ("ua: SIP/TLS transport failed: Address already in use"). P comes
    /// from 20,000–27,999, below Linux's ephemeral range (32,768 on), where no port-0 bind of
    /// another test lands, and is never handed out twice in one test process.
    static func freeBaresipPort() throws -> Int {
        try take(from: nextBaresipPort, band: 20_000...27_990, step: 2, tries: 200) {
            canBind($0, udp: true) && canBind($0, udp: false) && canBind($0 + 1, udp: false)
        }
    }

    private static let nextBaresipPort = Mutex(20_000 + 2 * Int.random(in: 0..<3_995))

    /// The next port of `band` (round robin from `next`, `step` apart) that is `free`, so that no
    /// port is handed out twice in one process while others are left; at most `tries` are looked at.
    private static func take(from next: borrowing Mutex<Int>, band: ClosedRange<Int>, step: Int, tries: Int, free: (Int) -> Bool) throws -> Int {
        for _ in 0..<tries {
            let port = next.withLock { next -> Int in
                defer { next = next + step > band.upperBound ? band.lowerBound : next + step }
                return next
            }
            if free(port) { return port }
        }
        throw PortError.noneFree
    }

    private static func canBind(_ port: Int, udp: Bool) -> Bool {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel: (any Channel)? = udp
            ? try? DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).wait()
            : try? ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).wait()
        guard let channel else { return false }
        try? channel.close().wait()
        return true
    }

    enum PortError: Error { case noneFree }
}

extension Peers {
    /// Whether some program receives on UDP `port` of 127.0.0.1: a connected socket sends it a
    /// CRLFCRLF keep-alive (RFC 5626 §4.4.1, which SIPp, Kamailio and Verigate ignore) and the
    /// port counts as free only if the kernel answers with ICMP port unreachable (ECONNREFUSED) within
    /// 100 ms. It never binds the port itself, so it cannot take it from the program about to bind
    /// it. Reading /proc/net/udp instead is not reliable here: under gVisor (runsc) it leaves out
    /// sockets while other sockets open and close (89 of 2,568 reads missed a socket that stayed
    /// bound, with another thread churning sockets), and CI saw SIPp "never" bind for 30 s twice.
    static func udpPortIsBound(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let ping: [UInt8] = Array("\r\n\r\n".utf8)
        guard connected == 0, send(descriptor, ping, ping.count, 0) == ping.count else { return false }
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&waiting, 1, 100) > 0 else { return true }  // no refusal came back: someone has the port
        var byte: UInt8 = 0
        return !(recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) < 0 && errno == ECONNREFUSED)
    }

    /// SIPp's socket buffers (`-buff_size`): its default of 64 KiB can overflow at 100 calls/s on a
    /// loaded machine, and a lost ACK or BYE then fails a call that did nothing wrong (the failure
    /// message counts the kernel's drops). 4 MiB is Debian's `net.core.rmem_max`.
    static let sippBuffers = ["-buff_size", "4194304"]

    /// Datagrams the kernel dropped because a UDP receive buffer was full (`RcvbufErrors` in
    /// /proc/net/snmp, all sockets): read before and after a load test to explain a failure.
    static func udpReceiveBufferDrops() -> Int {
        let lines = ((try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard lines.count == 2, let column = lines[0].split(separator: " ").firstIndex(of: "RcvbufErrors") else { return 0 }
        let values = lines[1].split(separator: " ")
        return column < values.count ? Int(values[column]) ?? 0 : 0
    }

    /// A SIPp injection file (`-inf`), one line per call: for the sipp/callin-*.xml scenarios the
    /// caller, the system number dialled and the code to key (field0;field1;field2) — the format
    /// scripts/sipp/inject.py writes from the API. In the temporary directory.
    static func injectionFile(_ calls: [[String]]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-inject-\(UUID().uuidString.prefix(8)).csv")
        let lines = calls.map { fields in fields.joined(separator: ";") + (fields.count < 3 ? ";" : "") }
        try Data(("SEQUENTIAL\n" + lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        return file.path
    }
}

/// A peer process with its output kept in a temporary file for failure messages.
final class PeerProcess: Sendable {
    let process: ChildProcess
    let log: URL

    /// Starts `executable` with `arguments` in `workingDirectory` (nil: the test's own);
    /// `environment` entries are added to the test's own.
    init(_ executable: String, _ arguments: [String], name: String, environment: [String: String] = [:], workingDirectory: String? = nil) async throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        process = try await ChildProcess(executable, arguments, environment: environment, workingDirectory: workingDirectory, log: log)
    }

    /// Waits for the process to exit and returns its status; a cancelled wait (a test's time
    /// limit) kills it.
    func exitStatus() async -> Int32 { await process.exitStatus() }

    /// The last lines of its output.
    func tail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Stops it (SIGKILL: processes started by the test runner may inherit a blocked SIGTERM) and
    /// removes the log.
    func stop() async {
        process.signal(SIGKILL)
        _ = await exitStatus()
        try? FileManager.default.removeItem(at: log)
    }

    /// Stops a server that forks workers (Kamailio): the workers first, found by their parent in
    /// /proc (killing the main process alone leaves them running, holding its ports), then it.
    func stopWithWorkers() async {
        let main = process.processIdentifier
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) } == main
        }
        for child in children { kill(child, SIGKILL) }
        await stop()
    }

    /// The lines of its output that contain `marker`.
    func lines(_ marker: String) -> [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(marker) }.map(String.init)
    }
}
