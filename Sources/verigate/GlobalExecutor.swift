import Foundation
import NIOCore
import NIOPosix

/// Which executor runs Swift concurrency's global jobs (tasks not bound to an actor) in this
/// process: `VERIGATE_NIO_EXECUTOR` (experimental, issue 15; README "Configuration"). `on` hands them
/// to NIO's singleton event loops
/// (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`), so a
/// task resumed by a channel handler can run on the loop that resumed it instead of hopping to the
/// cooperative pool; `off` (the default) keeps the runtime's own pool. Decided once, first thing in
/// `Verigate.main`, before any task is enqueued; `core.serving` and `gateway.serving` log it.
enum GlobalExecutor: String, CustomStringConvertible {
    /// The Swift runtime's cooperative pool.
    case cooperative
    /// NIO's singleton `MultiThreadedEventLoopGroup`.
    case nio
    /// `on` was asked for, but the runtime's enqueue hook was not found (a Swift runtime linked
    /// statically without its dynamic symbols): the cooperative pool runs them.
    case unavailable

    var description: String { rawValue }

    /// Installs the executor `VERIGATE_NIO_EXECUTOR` asks for and returns which runs. A value other
    /// than on/off (or 1/0) stops the process with exit status 78, as every refused setting does.
    static func install() -> GlobalExecutor {
        let wanted: Bool
        switch Settings.text("NIO_EXECUTOR") {
        case nil, "off", "0": wanted = false
        case "on", "1": wanted = true
        case let other?:
            FileHandle.standardError.write(Data("verigate: The value '\(other)' is invalid for VERIGATE_NIO_EXECUTOR: must be on or off\n".utf8))
            exit(78)
        }
        guard wanted else { return .cooperative }
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() ? .nio : .unavailable
    }

    /// The executor installed: decided (`install()`) on first use, which `Verigate.main` makes
    /// before anything else.
    static let current = install()
}
