// Why this file: glibc's malloc gives the top of a thread's heap back to the kernel
// (`madvise(MADV_DONTNEED)`, a TLB shoot-down on every core) as soon as more than
// `M_TRIM_THRESHOLD` (128 KiB by default) is free there. SQLite frees its statement journal at
// each `RELEASE SAVEPOINT` (group commits had one per write; now only a batch run again after a
// failed write has them, docs/ARCHITECTURE.md "Storage"), so under a check load about 4,000 trims
// a second went to the kernel: perf put `madvise` and the flushes it causes at ≈ 7 % of the
// server's CPU. No library sets this for us; glibc's own knob
// is `mallopt(3)`, found with dlsym because Swift's Glibc module leaves out <malloc.h>.
import Foundation

/// The process's malloc trim threshold (mallopt(3) `M_TRIM_THRESHOLD`): what `verigate` set, decided
/// once at start (`current`); `core.serving` and `gateway.serving` log it as `malloc_trim`.
enum MallocTrim: CustomStringConvertible {
    /// `threshold` bytes, set with mallopt.
    case set(Int32)
    /// The operator chose one (`GLIBC_TUNABLES` naming `glibc.malloc.trim_threshold`): it stands.
    case glibcTunables
    /// No glibc `mallopt` here: the C library's default.
    case unavailable

    /// Free memory a heap keeps before glibc returns it: 64 MiB, the most a thread's heap holds
    /// (glibc's `HEAP_MAX_SIZE` on 64-bit), so a thread's heap is never trimmed; the main heap
    /// gives back what exceeds it. Peak resident memory is what an operator provisions anyway.
    static let threshold: Int32 = 64 << 20

    /// The threshold of this process: set on first use, which `Verigate.main` makes at start.
    static let current = apply(environment: ProcessInfo.processInfo.environment)

    var description: String {
        switch self {
        case .set(let bytes): "\(bytes)"
        case .glibcTunables: "glibc_tunables"
        case .unavailable: "unavailable"
        }
    }

    /// Sets `threshold` unless `environment`'s `GLIBC_TUNABLES` chose one.
    private static func apply(environment: [String: String]) -> MallocTrim {
        if environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.trim_threshold") == true { return .glibcTunables }
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        /// `M_TRIM_THRESHOLD` in <malloc.h>.
        let trimThreshold: Int32 = -1
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt"),
              unsafeBitCast(symbol, to: Mallopt.self)(trimThreshold, threshold) == 1
        else { return .unavailable }
        return .set(threshold)
        #else
        return .unavailable
        #endif
    }
}
