import Foundation
import Synchronization
import SystemPackage
import Testing

/// The test SMSC exited while a test waited for one of its events.
public struct SMSCExited: Error {}

/// Runs tests/smsc/smsc.py (the smpp34-based test SMSC) from the repository's .venv and reads its
/// JSON-lines events (docs/TESTING.md). Missing venv: the test fails when CI=true, is skipped locally.
/// Used by SMPPTests (the ESME) and VerificationServerTests (the SMPP driver).
public final class TestSMSC: Sendable {
    /// The repository's root folder.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The venv's Python, which has smpp34.
    public static let python = repository.appendingPathComponent(".venv/bin/python").path
    /// True when the venv's Python exists.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: python) }
    /// Tests run when the venv exists, and always under CI (where a missing venv then fails them).
    public static var shouldRun: Bool { isAvailable || ProcessInfo.processInfo.environment["CI"] == "true" }

    private let process: ChildProcess
    /// The SMSC's stdin: closing it stops the SMSC; lines on it are commands (`release`).
    private let input: FileHandle
    private final class Log: Sendable {
        let state: Mutex<(lines: [[String: any Sendable]], waiters: [(Int, CheckedContinuation<Void, Never>)])> = Mutex(([], []))
        func withLock<R>(_ body: (inout (lines: [[String: any Sendable]], waiters: [(Int, CheckedContinuation<Void, Never>)])) -> R) -> R {
            state.withLock { body(&$0) }
        }
    }
    private let events = Log()
    /// The SMSC's port (from its "listening" event).
    public var port: Int { events("listening").first?["port"] as? Int ?? 0 }

    /// Starts the SMSC with smsc.py's `arguments` (`--receipts`, `--refuse-bind`, …) and waits
    /// until it listens.
    public init(_ arguments: [String]) async throws {
        try #require(Self.isAvailable, "no .venv: run scripts/python-venv.sh (smpp34)")
        // The SMSC exits when its stdin closes: at stop(), or when the test process ends however it ends.
        let stdin = try FileDescriptor.pipe()
        let stdout = try FileDescriptor.pipe()
        input = FileHandle(fileDescriptor: stdin.writeEnd.rawValue, closeOnDealloc: true)
        let buffer = LineBuffer()
        let handle = FileHandle(fileDescriptor: stdout.readEnd.rawValue, closeOnDealloc: true)
        // A plain thread with blocking reads until end of file: FileHandle.readabilityHandler's
        // dispatch source crashed libdispatch (null dereference in _dispatch_event_loop_drain) about
        // once in twenty runs when the pipe went away with the handler still installed.
        let onChunk: @Sendable (Data) -> Void = { [events] chunk in
            let lines: [Data] = buffer.data.withLock { data in
                data.append(chunk)
                var complete: [Data] = []
                while let newline = data.firstIndex(of: 0x0A) {
                    complete.append(data[data.startIndex..<newline])
                    data.removeSubrange(data.startIndex...newline)
                }
                return complete
            }
            for line in lines {
                guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else { continue }
                var sendable: [String: any Sendable] = [:]
                for (key, value) in object {
                    if let s = value as? String { sendable[key] = s } else if let n = value as? Int { sendable[key] = n }
                }
                let ready = events.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.lines.append(sendable)
                    let count = state.lines.count
                    let ready = state.waiters.filter { $0.0 <= count }.map(\.1)
                    state.waiters.removeAll { $0.0 <= count }
                    return ready
                }
                for continuation in ready { continuation.resume() }
            }
        }
        let reader = Thread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                onChunk(chunk)
            }
        }
        process = try await ChildProcess(Self.python, [Self.repository.appendingPathComponent("tests/smsc/smsc.py").path] + arguments,
                                         input: stdin.readEnd, output: stdout.writeEnd, error: FileDescriptor(rawValue: dup(STDERR_FILENO)))
        reader.start()
        Task { [events, process] in
            _ = await process.exitStatus()
            // Wake every waiter: it sees the SMSC gone and throws SMSCExited.
            let waiters = events.withLock { state in
                defer { state.waiters.removeAll() }
                return state.waiters.map(\.1)
            }
            for continuation in waiters { continuation.resume() }
        }
        try await wait(for: "listening", count: 1)
    }

    /// All events so far.
    public var all: [[String: any Sendable]] { events.withLock { $0.lines } }

    /// Events named `name` so far.
    public func events(_ name: String) -> [[String: any Sendable]] { all.filter { $0["event"] as? String == name } }

    /// Waits until `condition` holds over all events so far (re-checked on every new line).
    public func waitUntil(_ condition: @escaping @Sendable ([[String: any Sendable]]) -> Bool) async throws {
        while true {
            let lines = all
            if condition(lines) { return }
            guard process.isRunning else { throw SMSCExited() }
            try Task.checkCancellation()  // the suite's time limit ends a wait that would never end
            let seen = lines.count
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = events.withLock { state -> Bool in
                        if state.lines.count > seen || Task.isCancelled || !process.isRunning { return true }
                        state.waiters.append((seen + 1, continuation))
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiters = events.withLock { state in
                    defer { state.waiters.removeAll() }
                    return state.waiters.map(\.1)
                }
                for continuation in waiters { continuation.resume() }
            }
        }
    }

    /// Waits for the first event that matches and returns it.
    public func next(where match: @escaping @Sendable ([String: any Sendable]) -> Bool) async throws -> [String: any Sendable] {
        try await waitUntil { $0.contains(where: match) }
        return all.first(where: match) ?? [:]
    }

    /// Waits until `count` events named `name` were seen.
    public func wait(for name: String, count: Int) async throws {
        try await waitUntil { lines in lines.filter { $0["event"] as? String == name }.count >= count }
    }

    /// Hands over the receipts `--receipts-with-text` holds (the test's event stream is open).
    public func release() {
        try? input.write(contentsOf: Data("release\n".utf8))
    }

    /// Kills the SMSC (SIGKILL: the smpp34 runtime keeps running on SIGTERM); it is reaped in the
    /// background.
    public func stop() {
        process.signal(SIGKILL)
    }
}

private final class LineBuffer: Sendable {
    let data = Mutex(Data())
}
