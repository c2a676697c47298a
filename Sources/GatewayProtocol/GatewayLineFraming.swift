// GatewayLineFraming: the socket transport of the gateway ↔ core link (docs/ARCHITECTURE.md "Gateway ↔
// core link"). Lines in: a ByteToMessageDecoder with a maximum line length, in the channel's
// pipeline. Lines out: messages sent together leave in one write and one flush.

import Foundation
import NIOCore
import Synchronization

/// Splits the socket's bytes at `\n` into lines (without the newline), at most `maxLineLength`
/// bytes each; a longer line throws `GatewayProtocolError.lineTooLong`, which closes the connection.
public struct GatewayLineDecoder: NIOSingleStepByteToMessageDecoder {
    /// A line: the bytes before its `\n`.
    public typealias InboundOut = ByteBuffer

    /// The longest line accepted, in bytes.
    public let maxLineLength: Int
    /// Bytes already searched for a newline (so drip-fed bytes are not searched again).
    private var scanned = 0

    /// Makes a decoder with a line limit (64 KiB by default).
    public init(maxLineLength: Int = 65_536) {
        self.maxLineLength = maxLineLength
    }

    /// The next whole line, nil when none is buffered yet.
    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(scanned).firstIndex(of: 0x0A) else {
            scanned = view.count
            if view.count > maxLineLength {
                throw GatewayProtocolError(.lineTooLong, "line over \(maxLineLength) bytes without a newline")
            }
            return nil
        }
        scanned = 0
        let length = newline - view.startIndex
        guard length <= maxLineLength else { throw GatewayProtocolError(.lineTooLong, "line of \(length) bytes, limit \(maxLineLength)") }
        let line = buffer.readSlice(length: length)
        buffer.moveReaderIndex(forwardBy: 1)
        return line
    }

    /// At the end of the stream: the whole lines left; an unfinished last line is dropped.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

extension GatewayDecoder {
    /// One framed line (`GatewayLineDecoder`'s) as a message; nil for a blank line. Throws for a
    /// line that is not a message: `unknownType` (a newer peer's; skip it), else the connection
    /// should close.
    public static func decode(line: ByteBuffer) throws(GatewayProtocolError) -> GatewayEnvelope? {
        let bytes = line.readableBytesView
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return nil }
        return try decode(line: Data(bytes))
    }

    /// Hands each message of a connection's framed `lines` to `received`, in order, until they end.
    /// A blank line is skipped, and so is a message of a type this build does not know (a newer
    /// peer's) once `skipped` is told; any other bad line (too long, not a message) throws
    /// `GatewayProtocolError`, and the caller closes the connection.
    public static func messages<Lines: AsyncSequence>(
        in lines: Lines, skipped: (GatewayProtocolError) -> Void, _ received: (GatewayEnvelope) -> Void
    ) async throws where Lines.Element == ByteBuffer {
        for try await line in lines {
            let envelope: GatewayEnvelope?
            do {
                envelope = try decode(line: line)
            } catch {
                guard error.code == .unknownType else { throw error }
                skipped(error)
                continue
            }
            if let envelope { received(envelope) }
        }
    }
}

/// A socket connection's outbound: each message becomes a JSON line (`GatewayEncoder`); the lines
/// sent while a write is pending gather in one buffer and leave in one write and one flush on the
/// channel's event loop.
public final class GatewayLineWriter: GatewayOutbound {
    private struct Pending {
        var bytes = ByteBuffer()
        var scheduled = false
        var closed = false
    }
    private let channel: any Channel
    private let pending = Mutex(Pending())

    /// Writes to `channel`; once it closes, `send` throws.
    public init(channel: any Channel) {
        self.channel = channel
        channel.closeFuture.whenComplete { _ in self.pending.withLock { $0.closed = true } }
    }

    /// Queues the line and, unless a write is already scheduled, schedules one.
    public func send(_ envelope: GatewayEnvelope, line: [UInt8]?) throws(GatewayLinkClosed) {
        let line = line ?? GatewayEncoder().encode(envelope)
        let schedule = try pending.withLock { pending throws(GatewayLinkClosed) -> Bool in
            guard !pending.closed else { throw GatewayLinkClosed() }
            pending.bytes.writeBytes(line)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule { channel.eventLoop.execute { self.flush() } }
    }

    /// Writes what gathered; a failed write closes the connection.
    private func flush() {
        let bytes = pending.withLock { pending in
            pending.scheduled = false
            defer { pending.bytes = ByteBuffer() }
            return pending.bytes
        }
        guard bytes.readableBytes > 0 else { return }
        let channel = channel
        channel.writeAndFlush(bytes).whenFailure { _ in channel.close(promise: nil) }
    }

    /// Closes the connection.
    public func close() {
        pending.withLock { $0.closed = true }
        channel.close(promise: nil)
    }
}
