// RTPSockets: one call's RTP socket and its RTCP neighbour (RFC 3550 §11), bound before an SDP
// offer or answer names the port. The port in our SDP is where we receive (RFC 3264 §5), so it must
// be ours before we say it: a port of the range that another program on the host holds is skipped
// (logged `rtp.port_taken`) instead of failing the call once it is answered.

import Foundation
import Logging
import NIOCore
import NIOPosix

/// The bound, not yet started, sockets of one call's media; `MediaSession.open(_:audio:…)` starts
/// them, `close()` gives them back when the call ends before its media starts.
public struct RTPSockets: Sendable {
    /// The RTP port, even (RFC 3550 §11); RTCP is on the next one when `rtcp` is bound.
    public let port: Int
    let channel: Channel
    let rtcp: Channel?
    /// Where the session's event-loop state goes once started; the sockets' handlers read it.
    let box: NIOLoopBoundBox<MediaRunner?>
    let allocator: RTPPortAllocator

    /// The most ports of the range one call tries before it is refused (503): a range taken by
    /// another program entirely costs each call this many failed binds, not the range's size.
    static let maxAttempts = 64

    /// Binds the next port of `allocator` on `host` that no other program holds, and RTCP on the
    /// port after it (the call goes on without RTCP if that one is held). Nil when the allocator has
    /// no free port, or the `maxAttempts` ports tried were all held by others.
    ///
    /// - Throws: the bind's error for anything but a port in use (an address the host does not
    ///   have, a privileged port): retrying another port would fail the same way.
    public static func bind(host: String, allocator: RTPPortAllocator, eventLoop: EventLoop, logger: Logger) async throws -> RTPSockets? {
        var taken: [Int] = []
        defer {
            // One line per call however many ports it skipped.
            if !taken.isEmpty { logger.warning("rtp.port_taken", metadata: ["ports": "\(taken.map(String.init).joined(separator: ","))"]) }
        }
        for _ in 0..<min(allocator.capacity, maxAttempts) {
            guard let port = allocator.allocate() else { return nil }
            let box = NIOLoopBoundBox<MediaRunner?>.makeEmptyBox(eventLoop: eventLoop)
            let channel: Channel
            do {
                channel = try await datagramChannel(host: host, port: port, box: box, isRTCP: false, eventLoop: eventLoop)
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                // Released: the allocator's round robin comes back to it only after the rest of the range.
                allocator.release(port)
                taken.append(port)
                continue
            } catch {
                allocator.release(port)
                throw error
            }
            // The allocator hands out even ports only, so port + 1 is ours unless another program
            // holds it: then the call goes on without RTCP.
            let rtcp: Channel?
            do {
                rtcp = try await datagramChannel(host: host, port: port + 1, box: box, isRTCP: true, eventLoop: eventLoop)
            } catch {
                logger.warning("rtcp.bind_failed", metadata: ["port": "\(port + 1)", "error": "\(error)"])
                rtcp = nil
            }
            return RTPSockets(port: port, channel: channel, rtcp: rtcp, box: box, allocator: allocator)
        }
        return nil
    }

    /// Closes both sockets and returns the port to the allocator. Once, and only for sockets no
    /// `MediaSession` was opened on (the session's `close()` does it then).
    public func close() async {
        try? await channel.close()
        try? await rtcp?.close()
        allocator.release(port)
    }

    private static func datagramChannel(host: String, port: Int, box: NIOLoopBoundBox<MediaRunner?>, isRTCP: Bool, eventLoop: EventLoop) async throws -> Channel {
        try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(MediaInboundHandler(box: box, isRTCP: isRTCP)) }
            }
            .bind(host: host, port: port).get()
    }
}
