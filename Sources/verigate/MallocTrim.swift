// Why this file: glibc's malloc gives the top of a thread's heap back to the kernel
// (`madvise(MADV_DONTNEED)`, a TLB shoot-down on every core) as soon as more than
// `M_TRIM_THRESHOLD` (128 KiB by default) is free there. SQLite frees its statement journal at
// each `RELEASE SAVEPOINT` (one per write of a group commit, docs/ARCHITECTURE.md "Storage"), so
// under a check load about 4,000 trims a second went to the kernel: perf put `madvise` and the
// flushes it causes at ≈ 7 % of the server's CPU. No library sets this for us; glibc's own knob
// is `mallopt(3)`, found with dlsym because Swift's Glibc module leaves out <malloc.h>.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The process's malloc trim threshold (mallopt(3) `M_TRIM_THRESHOLD`).
enum MallocTrim {
    /// Free memory a heap keeps before glibc returns it: 64 MiB, the most a thread's heap holds
    /// (glibc's `HEAP_MAX_SIZE` on 64-bit), so a thread's heap is never trimmed; the main heap
    /// gives back what exceeds it. Peak resident memory is what an operator provisions anyway.
    static let threshold: Int32 = 64 << 20

    /// Sets the threshold unless the operator chose one (`GLIBC_TUNABLES` naming
    /// `glibc.malloc.trim_threshold`, which then stands). Returns the threshold set, nil if none.
    @discardableResult
    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32? {
        #if canImport(Glibc)
        if environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.trim_threshold") == true { return nil }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        /// `M_TRIM_THRESHOLD` in <malloc.h>.
        let trimThreshold: Int32 = -1
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
        return unsafeBitCast(symbol, to: Mallopt.self)(trimThreshold, threshold) == 1 ? threshold : nil
        #else
        return nil
        #endif
    }
}
