// ChildProcess: a program a test runs (SIPp, dnsmasq, Kamailio, espeak-ng, verigate itself), on
// swift-subprocess rather than Foundation's Process. Foundation's Process on Linux reaps every child
// from one thread, which blocks in waitpid as soon as a child closes the descriptors it inherited
// (dnsmasq does at start): while such a peer ran, no other child was reaped, every waitUntilExit
// spun on a run loop with no sources, and a peer whose test had been cancelled kept the whole run
// hanging. It also chose which descriptors to close before spawning, so a pipe another test opened
// meanwhile could leak into the child. swift-subprocess closes every inherited descriptor in the
// child (posix_spawn's closefrom) and waits for each child on its own pidfd.
import Foundation
import Subprocess
import Synchronization
import SystemPackage

/// A child process started by a test, with its exit status once it has been reaped.
public final class ChildProcess: Sendable {
    /// The process id (valid until `isRunning` turns false).
    public let processIdentifier: pid_t
    private let status: Task<Int32, Never>
    private let exited: ExitCode

    /// Starts `path` with `arguments`; `environment` entries are added to the test's own. Standard
    /// input reads `input` (nil: /dev/null); standard output and error both go to `output` (nil:
    /// discarded), or error to `error` when given. The descriptors are the child's: they are closed
    /// here once it has started. It runs in `workingDirectory` (nil: the test's own).
    public init(_ path: String, _ arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil,
                input: FileDescriptor? = nil, output: FileDescriptor? = nil, error: FileDescriptor? = nil) async throws {
        let stdin = try input ?? FileDescriptor.open("/dev/null", .readOnly)
        let stdout = try output ?? FileDescriptor.open("/dev/null", .writeOnly)
        let stderr = try error ?? stdout.duplicate()
        let added = Dictionary(uniqueKeysWithValues: environment.compactMap { key, value in Environment.Key(rawValue: key).map { ($0, Optional(value)) } })
        let env: Environment = added.isEmpty ? .inherit : .inherit.updating(added)
        let exited = ExitCode()
        let (started, starting) = AsyncThrowingStream<pid_t, any Error>.makeStream()
        status = Task {
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: Arguments(arguments), environment: env, workingDirectory: workingDirectory.map { FilePath($0) },
                    input: .fileDescriptor(stdin, closeAfterSpawningProcess: true),
                    output: .fileDescriptor(stdout, closeAfterSpawningProcess: true),
                    error: .fileDescriptor(stderr, closeAfterSpawningProcess: true)
                ) { execution in
                    starting.yield(execution.processIdentifier.value)
                    starting.finish()
                }
                let code: Int32 = switch result.terminationStatus {
                case .exited(let code): code
                case .signaled(let signal): signal
                }
                exited.code.withLock { $0 = code }
                return code
            } catch {
                starting.finish(throwing: error)
                exited.code.withLock { $0 = -1 }
                return -1
            }
        }
        self.exited = exited
        var pid: pid_t?
        for try await started in started { pid = started }
        guard let pid else { throw ChildProcessError.notStarted(path) }
        processIdentifier = pid
    }

    /// Starts `path` with its standard output and error written to the file at `log` (created or
    /// emptied) and standard input from /dev/null, in `workingDirectory` (nil: the test's own).
    public convenience init(_ path: String, _ arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil, log: URL) async throws {
        let output = try FileDescriptor.open(FilePath(log.path), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        try await self.init(path, arguments, environment: environment, workingDirectory: workingDirectory, output: output)
    }

    /// Whether it has not been reaped yet.
    public var isRunning: Bool { exited.code.withLock { $0 == nil } }

    /// Sends `signal` while it runs.
    public func signal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Waits for it to exit and returns its exit code (the signal number when a signal ended it). A
    /// cancelled wait (a test's time limit) kills it, so a peer that ignores its own timeout cannot
    /// hold the test for ever.
    public func exitStatus() async -> Int32 {
        await withTaskCancellationHandler {
            await status.value
        } onCancel: {
            signal(SIGKILL)
        }
    }
}

/// The exit code once the child has been reaped.
private final class ExitCode: Sendable {
    let code = Mutex<Int32?>(nil)
}

/// Why a child did not start.
public enum ChildProcessError: Error {
    /// The program could not be started.
    case notStarted(String)
}
