import Benchmark

// Filled by the issue that owns this hot path.
let benchmarks: @Sendable () -> Void = {
}
