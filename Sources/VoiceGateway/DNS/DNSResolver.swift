// DNSResolver: DNS queries through c-ares (the CAres target; why c-ares: its header), asking one
// configured server (`dns_server`; tests always set one), else the machine's resolvers.
//
// Threading: Debian 12's c-ares 1.18 has no event thread (ARES_OPT_EVENT_THREAD came in 1.26) and
// its channel is not thread-safe, so the channel belongs to one thread of its own, which polls the
// channel's sockets and a wake pipe (`cares_wait_and_process`) and runs c-ares' callbacks. Callers
// hand queries over through a mutex and the pipe and await a continuation the callback resumes.
// Nothing here runs on a NIO event loop or blocks Swift's cooperative pool; c-ares' timeout and
// tries bound every query, so each continuation is resumed exactly once: by its callback, or by
// `ares_destroy` (ARES_EDESTRUCTION) when the resolver shuts down.

import CAres
import Foundation
import Synchronization

/// A stub resolver (RFC 1034 §5.3.1) over c-ares, asking `Configuration.server` only (or, without
/// one, the system's servers).
public final class DNSResolver: DNSLookup {
    /// Where and how to ask.
    public struct Configuration: Sendable, Equatable {
        /// The server, `IPv4:port` or `[IPv6]:port` (`dns_server = 127.0.0.1:5353`); nil: the
        /// system's servers (/etc/resolv.conf, as c-ares reads it).
        public var server: String?
        /// Time per try (c-ares `ARES_OPT_TIMEOUTMS`).
        public var timeout: Duration
        /// Tries per query (c-ares `ARES_OPT_TRIES`).
        public var tries: Int

        /// Creates a configuration: 2 s per try, 2 tries.
        public init(server: String?, timeout: Duration = .seconds(2), tries: Int = 2) {
            self.server = server
            self.timeout = timeout
            self.tries = tries
        }
    }

    /// The configuration the resolver runs with.
    public let configuration: Configuration
    private let shared: Shared

    /// Starts the resolver's thread. Throws `.invalidServer` when c-ares refuses the server.
    public init(_ configuration: Configuration) throws(DNSError) {
        self.configuration = configuration
        let milliseconds = configuration.timeout.components.seconds * 1_000 + configuration.timeout.components.attoseconds / 1_000_000_000_000_000
        var channel: OpaquePointer?
        let status = cares_channel_create(&channel, configuration.server, Int32(clamping: max(1, milliseconds)), Int32(clamping: max(1, configuration.tries)))
        guard status == ARES_SUCCESS, let channel else { throw .invalidServer(configuration.server ?? "system resolvers") }
        var pipeFDs: [Int32] = [0, 0]
        guard cares_wake_pipe(&pipeFDs) == 0 else {
            ares_destroy(channel)
            throw .other(name: configuration.server ?? "resolver", code: errno, reason: "pipe2 failed")
        }
        shared = Shared(wakeRead: pipeFDs[0], wakeWrite: pipeFDs[1])
        let handle = ChannelHandle(channel: channel)
        let shared = self.shared
        let thread = Thread { Self.run(handle, shared) }
        thread.name = "verigate-dns"
        thread.start()
    }

    deinit { shutdown() }

    /// Stops the thread; queries still waiting fail with `.shutDown`. Idempotent.
    public func shutdown() {
        let first = shared.state.withLock { state -> Bool in
            defer { state.shutDown = true }
            return !state.shutDown
        }
        if first { shared.wake() }
    }

    /// The raw response to a query of `type` for `name` (RFC 1035 §4.1), or why there is none.
    public func query(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> [UInt8] {
        guard Self.isValidName(name) else { throw .invalidName(name) }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<[UInt8], DNSError>, Never>) in
            let pending = PendingQuery(name: name, type: type, continuation: continuation)
            let accepted = shared.state.withLock { state -> Bool in
                guard !state.shutDown else { return false }
                state.submissions.append(pending)
                return true
            }
            if accepted { shared.wake() } else { continuation.resume(returning: .failure(.shutDown)) }
        }
        return try result.get()
    }

    /// RFC 1035 §2.3.4 limits (a trailing dot allowed), and no NUL, which a C string would cut.
    static func isValidName(_ name: String) -> Bool {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253, !trimmed.utf8.contains(0) else { return false }
        return trimmed.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0.utf8.count <= 63 }
    }

    // MARK: The resolver's thread

    /// The resolver thread's loop: submit, wait, process; on shutdown destroy the channel (which
    /// fails every outstanding query with ARES_EDESTRUCTION) and close the pipe.
    private static func run(_ handle: ChannelHandle, _ shared: Shared) {
        while true {
            let (submissions, shutDown) = shared.state.withLock { state in
                defer { state.submissions.removeAll() }
                return (state.submissions, state.shutDown)
            }
            if shutDown {
                ares_destroy(handle.channel)
                for pending in submissions { pending.continuation.resume(returning: .failure(.shutDown)) }
                close(shared.wakeRead)
                close(shared.wakeWrite)
                return
            }
            for pending in submissions {
                cares_query(handle.channel, pending.name, pending.type.rawValue, queryAnswered, Unmanaged.passRetained(pending).toOpaque())
            }
            _ = cares_wait_and_process(handle.channel, shared.wakeRead, 1_000)
        }
    }

    /// What the loop and the callers share.
    private final class Shared: Sendable {
        struct State {
            var submissions: [PendingQuery] = []
            var shutDown = false
        }

        let state = Mutex(State())
        let wakeRead: Int32
        let wakeWrite: Int32

        init(wakeRead: Int32, wakeWrite: Int32) {
            self.wakeRead = wakeRead
            self.wakeWrite = wakeWrite
        }

        /// Makes the loop's poll return (the pipe is non-blocking; a full pipe is awake already).
        func wake() {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    /// The c-ares channel. `@unchecked Sendable`: it is created in `init` before the thread starts
    /// and from then on used only by the resolver's thread (`run`), as c-ares 1.18 requires.
    private struct ChannelHandle: @unchecked Sendable {
        let channel: OpaquePointer
    }
}

/// A query handed to the resolver's thread; its continuation is resumed once, by `queryAnswered`.
final class PendingQuery: Sendable {
    let name: String
    let type: DNSRecordType
    let continuation: CheckedContinuation<Result<[UInt8], DNSError>, Never>

    init(name: String, type: DNSRecordType, continuation: CheckedContinuation<Result<[UInt8], DNSError>, Never>) {
        self.name = name
        self.type = type
        self.continuation = continuation
    }
}

/// c-ares' callback (on the resolver's thread): resumes the query's continuation.
private let queryAnswered: ares_callback = { argument, status, _, answer, length in
    guard let argument else { return }
    let pending = Unmanaged<PendingQuery>.fromOpaque(argument).takeRetainedValue()
    if status == ARES_SUCCESS, let answer, length > 0 {
        pending.continuation.resume(returning: .success(Array(UnsafeBufferPointer(start: answer, count: Int(length)))))
    } else {
        pending.continuation.resume(returning: .failure(DNSError(aresStatus: status, name: pending.name, type: pending.type)))
    }
}

extension DNSError {
    /// The error for a c-ares status of a query of `type` for `name`.
    init(aresStatus status: Int32, name: String, type: DNSRecordType) {
        switch status {
        case ARES_ENOTFOUND: self = .nonexistentDomain(name)
        case ARES_ENODATA: self = .noRecords(name, type)
        case ARES_ETIMEOUT: self = .timeout(name)
        case ARES_EREFUSED: self = .refused(name)
        case ARES_ESERVFAIL, ARES_ENOTIMP: self = .serverFailure(name)
        case ARES_ECONNREFUSED: self = .connectionRefused(name)
        case ARES_EBADRESP, ARES_EFORMERR: self = .malformedResponse(name)
        case ARES_EBADNAME: self = .invalidName(name)
        case ARES_EDESTRUCTION, ARES_ECANCELLED: self = .shutDown
        default: self = .other(name: name, code: status, reason: String(cString: ares_strerror(status)))
        }
    }
}
