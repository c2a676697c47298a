// FuzzDriver: the libFuzzer entry point shared by the fuzz targets (Fuzz/README.md). Each target's
// `<Target>_main` calls `runFuzzer` with its per-input body; a failed `invariant` traps, which
// libFuzzer reports as a crash and saves the input as a reproducer.

/// libFuzzer's driver (compiler-rt FuzzerInterface.h): runs the fuzzing loop with our callback.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The body of the running target; set once by `runFuzzer` before the loop starts.
nonisolated(unsafe) private var body: (UnsafeRawBufferPointer) -> Void = { _ in }

/// Runs libFuzzer's loop (its command line in `argc`/`argv`) with `input` called on each input.
///
/// SwiftPM links an executable's `main` as `<Module>_main`; with `-parse-as-library` each target
/// defines that with `@_cdecl` and calls this, so libFuzzer's own `main` is not linked.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ input: @escaping (UnsafeRawBufferPointer) -> Void
) -> CInt {
    body = input
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput)
}

/// libFuzzer's per-input callback. The driver above is handed it directly; it must also exist under
/// this name because `-sanitize=fuzzer` links libFuzzer's whole archive, whose `main` refers to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    body(UnsafeRawBufferPointer(start: count > 0 ? start : nil, count: count))
    return 0
}

/// Traps with `message` unless `condition` holds: an invariant of the parser under test failed.
public func invariant(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant failed: \(message())") }
}

/// The input as the two reads a stream receives (split in the middle), so a stream decoder also
/// meets a frame cut in two.
public func halves(of bytes: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
    let middle = bytes.count / 2
    return [UnsafeRawBufferPointer(rebasing: bytes[..<middle]), UnsafeRawBufferPointer(rebasing: bytes[middle...])]
}
