// OutcomeJournal: the gateway's outcomes until the core acknowledges them (docs/ARCHITECTURE.md "Gateway ↔
// core link") — the one queue CoreLink resends from. In memory only, or also in a file so a
// gateway restart loses none.
//
// The file is append-only of lines, each written with one write(2) before the outcome goes to the core:
//   O <TAB> <the outcome's gateway-socket JSON line>   an outcome (call_progress, call_proven, call_ended)
//   A <TAB> <outcome id>                               the core acknowledged it
//   B <TAB> <call id> <TAB> <verification id>          a call serving a verification began
// A call_ended outcome ends its call. On open the file is replayed: outcomes not acknowledged are
// sent again, and a call that began but never ended (the gateway died mid-call) gets a call_ended
// `failed` outcome with detail "gateway restarted", so the core learns of it. The file is then
// rewritten with only what is still open, and again whenever it grows past `compactAfterBytes` and
// twice what was open at the last rewrite (so a backlog the core has not acknowledged yet, however
// large, is rewritten a logarithmic number of times, not at every line).
//
// Written by hand: it is a few dozen lines over POSIX files; no Swift server library offers a
// small durable queue. Lines go to the page cache (a process crash or restart keeps them); an
// operating-system crash may lose the last ones, as there is no fsync per outcome.

import Foundation
import GatewayProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Outcomes not yet acknowledged by the core, and calls still running; kept in a file when it has a path.
public final class OutcomeJournal: Sendable {
    /// Why the journal cannot be used.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong, with the path.
        public let description: String
    }

    /// The file; nil: in memory only.
    public let path: String?
    /// Rewrite the file when it is larger than this.
    public let compactAfterBytes: Int

    private struct State {
        /// The open file; nil in memory.
        var fd: Int32?
        var bytes = 0
        /// The size of the file when it was last rewritten (what was open then).
        var liveBytes = 0
        /// Unacknowledged outcomes.
        var outcomes = PendingOutcomes()
        /// Calls that began and have not ended: call id → verification id.
        var calls: [String: String] = [:]
        var writeFailed = false
        /// Rewrites since the journal was opened.
        var compactions = 0
    }
    private let state: Mutex<State>

    /// What a previous run left: outcomes to send again (in order), including one `failed`
    /// call_ended per call that was running when that run stopped.
    public let recovered: [(id: String, message: GatewayMessage)]

    /// A journal in memory only: a gateway restart loses what it holds.
    public init() {
        path = nil
        compactAfterBytes = .max
        recovered = []
        state = Mutex(State(fd: nil))
    }

    /// Opens (creating) the journal at `path` and recovers what an earlier run left.
    public init(path: String, compactAfterBytes: Int = 1 << 20, recoveredOutcomeIDPrefix: String = "recovered") throws(Failure) {
        self.path = path
        self.compactAfterBytes = compactAfterBytes
        var outcomes = PendingOutcomes()
        var calls: [String: String] = [:]
        var order: [String] = []
        if let data = FileManager.default.contents(atPath: path) {
            for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
                Self.replay(Array(line), outcomes: &outcomes, calls: &calls, callOrder: &order)
            }
        }
        // Calls the earlier run never finished: the core is told they failed.
        for callID in order where calls[callID] != nil {
            let id = "\(recoveredOutcomeIDPrefix)-\(callID)"
            let ended = GatewayMessage.callEnded(CallEnded(outcomeID: id, callID: callID, verificationID: calls[callID], reason: .failed,
                                                           detail: "gateway restarted"))
            outcomes.append(id: id, message: ended, line: GatewayEncoder().encode(GatewayEnvelope(ended)))
        }
        recovered = outcomes.inOrder.map { ($0.id, $0.message) }
        let fd = try Self.rewrite(path: path, outcomes: outcomes, calls: [:])
        state = Mutex(State(fd: fd.fd, bytes: fd.bytes, liveBytes: fd.bytes, outcomes: outcomes, calls: [:]))
    }

    deinit {
        state.withLock { state in if let fd = state.fd { _ = close(fd) } }
    }

    /// Outcomes written and not yet acknowledged.
    public var pendingOutcomes: Int { state.withLock { $0.outcomes.count } }
    /// Those outcomes, oldest first (what a new connection to the core resends).
    public var unacknowledged: [GatewayMessage] { state.withLock { $0.outcomes.inOrder.map(\.message) } }
    /// How many times the file was rewritten since it was opened.
    public var compactions: Int { state.withLock { $0.compactions } }
    /// Calls begun and not ended.
    public var openCalls: Int { state.withLock { $0.calls.count } }

    /// Records that a call serving `verificationID` began.
    public func callBegan(callID: String, verificationID: String) {
        guard Self.isField(callID), Self.isField(verificationID) else { return }
        append(Array("B\t\(callID)\t\(verificationID)\n".utf8)) { $0.calls[callID] = verificationID }
    }

    /// Records an outcome before it is sent; a call_ended ends its call. Returns the outcome's
    /// gateway-socket line, the bytes to send (encoded once for the file and the socket).
    @discardableResult
    public func outcome(_ message: GatewayMessage, id: String) -> [UInt8] {
        let encoded = GatewayEncoder().encode(GatewayEnvelope(message))
        append(path == nil ? [] : [UInt8(ascii: "O"), 0x09] + encoded) { state in
            state.outcomes.append(id: id, message: message, line: path == nil ? [] : encoded)
            if case .callEnded(let ended) = message { state.calls[ended.callID] = nil }
        }
        return encoded
    }

    /// Records the core's acknowledgement of outcomes.
    public func acknowledged(_ ids: [String]) {
        let known = state.withLock { state in ids.filter { state.outcomes.contains($0) } }
        guard !known.isEmpty else { return }
        let line = path == nil ? [] : Array(known.filter(Self.isField).map { "A\t\($0)\n" }.joined().utf8)
        append(line) { state in for id in known { state.outcomes.remove(id) } }
    }

    // MARK: File

    private func append(_ line: [UInt8], update: (inout State) -> Void) {
        state.withLock { state in
            update(&state)
            guard let fd = state.fd, let path else { return }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written != line.count { state.writeFailed = true }
            state.bytes += line.count
            if state.bytes > max(compactAfterBytes, 2 * state.liveBytes) || state.writeFailed {
                // Keep only what is open; on failure the old file stays as it was.
                if let fresh = try? Self.rewrite(path: path, outcomes: state.outcomes, calls: state.calls) {
                    close(fd)
                    state.fd = fresh.fd
                    state.bytes = fresh.bytes
                    state.liveBytes = fresh.bytes
                    state.writeFailed = false
                    state.compactions += 1
                }
            }
        }
    }

    /// Writes `outcomes` and `calls` to a new file, renames it over `path` and opens it for appending.
    private static func rewrite(path: String, outcomes: PendingOutcomes, calls: [String: String]) throws(Failure) -> (fd: Int32, bytes: Int) {
        var content: [UInt8] = []
        for (callID, verificationID) in calls.sorted(by: { $0.key < $1.key }) { content += Array("B\t\(callID)\t\(verificationID)\n".utf8) }
        for outcome in outcomes.inOrder { content += [UInt8(ascii: "O"), 0x09] + outcome.line }
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "\(temporary): \(String(cString: strerror(errno)))") }
        let written = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == content.count, fsync(fd) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "\(path): \(reason)")
        }
        return (fd, content.count)
    }

    private static func replay(_ line: [UInt8], outcomes: inout PendingOutcomes, calls: inout [String: String], callOrder: inout [String]) {
        guard line.count > 2, line[1] == 0x09 else { return }
        let body = line[2...]
        switch line[0] {
        case UInt8(ascii: "O"):
            guard let envelope = try? GatewayDecoder.decode(line: Data(body)) else { return }
            // The line as read, newline-terminated as the encoder writes it.
            let encoded = Array(body) + [0x0A]
            switch envelope.message {
            case .callProgress(let progress):
                outcomes.append(id: progress.outcomeID, message: envelope.message, line: encoded)
            case .callEnded(let ended):
                outcomes.append(id: ended.outcomeID, message: envelope.message, line: encoded)
                calls[ended.callID] = nil
            case .callProven(let proven):
                outcomes.append(id: proven.outcomeID, message: envelope.message, line: encoded)
            default:
                return
            }
        case UInt8(ascii: "A"):
            outcomes.remove(String(decoding: body, as: UTF8.self))
        case UInt8(ascii: "B"):
            let fields = body.split(separator: 0x09).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count == 2 else { return }
            if calls[fields[0]] == nil { callOrder.append(fields[0]) }
            calls[fields[0]] = fields[1]
        default:
            return
        }
    }

    private static func isField(_ value: String) -> Bool {
        !value.isEmpty && !value.utf8.contains { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }
}

/// Unacknowledged outcomes by id, in the order they were made: appending and acknowledging cost
/// O(1) however large the backlog (a core slower than the calls builds one), the order is
/// restored only for the rare whole-list reads (a reconnect's resend, a rewrite).
struct PendingOutcomes {
    struct Outcome {
        let id: String
        let message: GatewayMessage
        /// The outcome's gateway-socket line (empty for a journal in memory).
        let line: [UInt8]
    }
    private var byID: [String: (order: Int, outcome: Outcome)] = [:]
    private var next = 0

    var count: Int { byID.count }

    func contains(_ id: String) -> Bool { byID[id] != nil }

    /// Adds an outcome; one with an id already pending keeps its place and takes the new content.
    mutating func append(id: String, message: GatewayMessage, line: [UInt8]) {
        let order = byID[id]?.order ?? next
        next += 1
        byID[id] = (order, Outcome(id: id, message: message, line: line))
    }

    mutating func remove(_ id: String) {
        byID[id] = nil
    }

    /// The outcomes, oldest first.
    var inOrder: [Outcome] { byID.values.sorted { $0.order < $1.order }.map(\.outcome) }
}
