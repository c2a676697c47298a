import Foundation
import NIOCore
import TestSupport

#if canImport(Glibc)
import Glibc

/// A UDP socket bound to 127.0.0.1 on an ephemeral port; reads wait with a timeout on a thread of
/// their own (`onOwnThread`), never on the cooperative pool.
final class LoopbackUDP: @unchecked Sendable {
    // @unchecked: the descriptor never changes and one test uses the socket at a time.
    struct Failure: Error, CustomStringConvertible { var description: String }
    struct Peer: @unchecked Sendable {
        var address: sockaddr_in
        var socketAddress: SocketAddress { SocketAddress(address, host: "127.0.0.1") }
    }

    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else {
            close(fd)
            throw Failure(description: "bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    /// The next datagram and its source, waiting at most `timeoutSeconds`.
    func receive(timeoutSeconds: Int) async throws -> ([UInt8], Peer) {
        try await onOwnThread { try self.receiveBlocking(timeoutSeconds: timeoutSeconds) }
    }

    private func receiveBlocking(timeoutSeconds: Int) throws -> ([UInt8], Peer) {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65_535)
        var peer = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { throw Failure(description: "nothing received within \(timeoutSeconds) s") }
        return (Array(buffer[0..<count]), Peer(address: peer))
    }

    func send(_ bytes: [UInt8], to peer: Peer) throws {
        var address = peer.address
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw Failure(description: "sendto") }
    }
}

/// Just enough SIP for the live peer tests.
enum LoopbackSIP {
    /// The body after the blank line.
    static func body(of message: [UInt8]) -> [UInt8] {
        guard let split = message.firstRange(of: Array("\r\n\r\n".utf8)) else { return [] }
        return Array(message[split.upperBound...])
    }

    /// A response to a SIP request with its Via, From, To (tag added), Call-ID and CSeq copied
    /// (RFC 3261 §8.2.6.2) and a Contact; enough to drive a peer on loopback.
    static func response(to request: [UInt8], status: String, body: String?, contactPort: UInt16) -> [UInt8] {
        let text = String(decoding: request, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
        let keep = head.components(separatedBy: "\r\n").dropFirst().filter { line in
            let name = line.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            return ["via", "from", "to", "call-id", "cseq"].contains(name)
        }.map { $0.lowercased().hasPrefix("to:") && !$0.contains("tag=") ? $0 + ";tag=verigate" : $0 }
        var out = "SIP/2.0 \(status)\r\n" + keep.joined(separator: "\r\n") + "\r\nContact: <sip:test@127.0.0.1:\(contactPort)>\r\n"
        if let body {
            out += "Content-Type: application/sdp\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            out += "Content-Length: 0\r\n\r\n"
        }
        return Array(out.utf8)
    }

}
#endif
