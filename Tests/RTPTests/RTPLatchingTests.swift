import NIOCore
import RTP
import Testing

/// The latching decision of `RTPSourceFilter` (RFC 4961 symmetric RTP; sip.conf `media_latching`):
/// which first packet latches, that it latches once, and where our RTP and RTCP go.
@Suite struct RTPLatchingTests {
    /// What the peer's SDP announced: a private IPv4 address, or another family.
    let announced = try! SocketAddress(ipAddress: "192.0.2.1", port: 7078)
    let announcedV6 = try! SocketAddress(ipAddress: "fd00::2", port: 7078)
    /// Where its INVITE came from, and where its RTP comes from (the NAT's public side).
    let signalling = try! SocketAddress(ipAddress: "203.0.113.7", port: 5060)
    let media = try! SocketAddress(ipAddress: "203.0.113.7", port: 40_002)
    let attacker = try! SocketAddress(ipAddress: "198.51.100.66", port: 40_002)

    @Test("off: media from the signalling peer's IP is a stranger's when the SDP named another; nothing latches")
    func offNeverLatches() {
        var filter = RTPSourceFilter(expected: announced, latching: .off, signalling: signalling)
        #expect(filter.packetReceived(from: media, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.packetReceived(from: media, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.latchedAddress == nil)
        #expect(filter.destination == announced)
        #expect(filter.droppedUnexpectedSource == 2)
    }

    @Test("signalling: a stranger's first packet does not latch; the signalling peer's IP latches, once; our RTP follows it, RTCP to port + 1")
    func signallingLatchesOnlyThePeer() throws {
        var filter = RTPSourceFilter(expected: announcedV6, latching: .signallingSource, signalling: signalling)
        #expect(filter.packetReceived(from: attacker, ssrc: 9) == .dropUnexpectedSource, "not the SDP's IP, not the peer's")
        #expect(filter.latchedAddress == nil)
        #expect(filter.destination == announcedV6)
        #expect(filter.packetReceived(from: media, ssrc: 1) == .latched(media))
        #expect(filter.packetReceived(from: media, ssrc: 1) == .accept)
        #expect(filter.destination == media)
        #expect(filter.rtcpDestination == (try SocketAddress(ipAddress: "203.0.113.7", port: 40_003)))
        // Latched once: the same IP from another port, the SDP's address and the attacker are strangers again.
        let otherPort = try SocketAddress(ipAddress: "203.0.113.7", port: 40_010)
        #expect(filter.packetReceived(from: otherPort, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.packetReceived(from: announcedV6, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.packetReceived(from: attacker, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.destination == media)
        #expect(filter.droppedUnexpectedSource == 4)
    }

    @Test("signalling: media from the SDP's own IP (a trunk with a separate media server) latches too")
    func signallingAcceptsTheAnnouncedIP() throws {
        let mediaServer = try SocketAddress(ipAddress: "192.0.2.1", port: 30_000)
        var filter = RTPSourceFilter(expected: announced, latching: .signallingSource, signalling: signalling)
        #expect(filter.packetReceived(from: mediaServer, ssrc: 5) == .latched(mediaServer))
        #expect(filter.destination == mediaServer)
        #expect(filter.packetReceived(from: media, ssrc: 5) == .dropUnexpectedSource, "the latch is taken")
    }

    @Test("signalling: an IPv4-mapped source (a dual-stack socket) is the peer's IPv4 address")
    func signallingMatchesMappedAddresses() throws {
        let mapped = try SocketAddress(ipAddress: "::ffff:203.0.113.7", port: 40_002)
        var filter = RTPSourceFilter(expected: announcedV6, latching: .signallingSource, signalling: signalling)
        #expect(filter.packetReceived(from: mapped, ssrc: 1) == .latched(mapped))
        #expect(RTPSourceFilter.sameHost(mapped, signalling))
        #expect(!RTPSourceFilter.sameHost(try SocketAddress(ipAddress: "::ffff:203.0.113.8", port: 1), signalling))
        #expect(!RTPSourceFilter.sameHost(announcedV6, signalling))
    }

    @Test("yes: whoever sends first latches — the documented risk — and then only that address is heard")
    func anySourceLatchesTheFirst() {
        var filter = RTPSourceFilter(expected: announced, latching: .anySource, signalling: signalling)
        #expect(filter.packetReceived(from: attacker, ssrc: 9) == .latched(attacker))
        #expect(filter.packetReceived(from: media, ssrc: 1) == .dropUnexpectedSource)
        #expect(filter.destination == attacker)
    }

    @Test("the SSRC is latched with the address: a foreign SSRC from the latched address is dropped until it persists")
    func ssrcLatchedWithTheAddress() {
        var filter = RTPSourceFilter(expected: announced, latching: .signallingSource, signalling: signalling, ssrcSwitchPackets: 2)
        #expect(filter.packetReceived(from: media, ssrc: 1) == .latched(media))
        #expect(filter.packetReceived(from: media, ssrc: 2) == .dropForeignSSRC)
        #expect(filter.packetReceived(from: media, ssrc: 2) == .ssrcChanged(2))
    }

    @Test("sip.conf spells the values no, signalling, yes")
    func rawValues() {
        #expect(RTPLatching.allCases.map(\.rawValue) == ["no", "signalling", "yes"])
    }
}
