import Foundation
import SDP
import Testing

/// SDP offers captured from real peers on loopback (see Resources/captured/README.md).
enum Captured {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/captured")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    /// What our default session answers to each capture.
    struct Expectation: Sendable, CustomStringConvertible {
        var file: String
        var codecs: [AudioCodec] = [.pcmu, .pcma, .opus]
        var codec: AudioCodec
        var payloadType: UInt8
        var telephoneEvent: UInt8?
        var remote: String
        var port: UInt16
        var rtcpPort: UInt16
        var direction: Direction = .sendrecv
        var hold = false
        var description: String { "\(file) \(codecs.map(\.rawValue))" }
    }

    static let expectations: [Expectation] = [
        Expectation(file: "sipp.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: nil, remote: "127.0.0.1", port: 6000, rtcpPort: 6001),
        Expectation(file: "sipp-dtmf.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 96, remote: "127.0.0.1", port: 6000, rtcpPort: 6001),
        Expectation(file: "sipp-dtmf.sdp", codecs: [.pcma, .pcmu], codec: .pcma, payloadType: 8, telephoneEvent: 96, remote: "127.0.0.1", port: 6000, rtcpPort: 6001),
        Expectation(file: "sipp-ipv6.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 96, remote: "::1", port: 6000, rtcpPort: 6001),
        Expectation(file: "baresip.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 101, remote: "127.0.0.1", port: 24562, rtcpPort: 24563),
        Expectation(file: "baresip-opus.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 101, remote: "127.0.0.1", port: 7132, rtcpPort: 7133),
        Expectation(file: "baresip-opus.sdp", codecs: [.opus, .pcma], codec: .opus, payloadType: 96, telephoneEvent: nil, remote: "127.0.0.1", port: 7132, rtcpPort: 7133),
        Expectation(file: "linphone.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 101, remote: "fd00::2", port: 7078, rtcpPort: 7079),
        Expectation(file: "linphone.sdp", codecs: [.opus], codec: .opus, payloadType: 96, telephoneEvent: 99, remote: "fd00::2", port: 7078, rtcpPort: 7079),
        Expectation(file: "linphone.sdp", codecs: [.pcma, .opus], codec: .pcma, payloadType: 8, telephoneEvent: 101, remote: "fd00::2", port: 7078, rtcpPort: 7079),
        Expectation(file: "pjsua2.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 121, remote: "127.0.0.1", port: 4000, rtcpPort: 4001),
        Expectation(file: "pjsua2-hold-1.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 120, remote: "127.0.0.1", port: 4000, rtcpPort: 4001),
        Expectation(file: "pjsua2-hold-2.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 120, remote: "127.0.0.1", port: 4000, rtcpPort: 4001, direction: .recvonly, hold: true),
        Expectation(file: "pjsua2-hold-3.sdp", codec: .pcmu, payloadType: 0, telephoneEvent: 120, remote: "127.0.0.1", port: 4000, rtcpPort: 4001),
    ]
}

@Suite struct CapturedSDPTests {
    static let files = ["sipp.sdp", "sipp-dtmf.sdp", "sipp-ipv6.sdp", "baresip.sdp", "baresip-opus.sdp", "linphone.sdp",
                        "pjsua2.sdp", "pjsua2-hold-1.sdp", "pjsua2-hold-2.sdp", "pjsua2-hold-3.sdp"]

    @Test func everyCaptureIsListed() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Captured.directory.path).filter { $0.hasSuffix(".sdp") }
        #expect(Set(onDisk) == Set(Self.files))
        #expect(Set(Captured.expectations.map(\.file)) == Set(Self.files))
    }

    @Test(arguments: files)
    func parsesAndRoundTripsByteForByte(file: String) throws {
        let original = try Captured.text(file)
        let parsed = try SDPParser().parse(bytes: Array(original.utf8))
        #expect(parsed.text == original)
        #expect(try SDPParser().parse(parsed.text) == parsed)
        #expect(!parsed.media.isEmpty)
    }

    @Test(arguments: Captured.expectations)
    func answersAsExpected(_ expected: Captured.Expectation) throws {
        let offer = try SDPParser().parse(Captured.text(expected.file))
        var session = SDPSession(configuration: MediaConfiguration(codecs: expected.codecs), address: "127.0.0.1", port: 30000, sessionID: 42)
        let answer = try session.answer(offer)
        let audio = answer.audio
        #expect(audio.codec == expected.codec)
        #expect(audio.payloadType == expected.payloadType)
        #expect(audio.telephoneEventPayloadType == expected.telephoneEvent)
        #expect(audio.remoteAddress == expected.remote)
        #expect(audio.remotePort == expected.port)
        #expect(audio.remoteRTCPPort == expected.rtcpPort)
        #expect(audio.direction == expected.direction)
        #expect(audio.remoteHold == expected.hold)
        #expect(audio.ptime == 20)

        // The answer on the wire: parses back, same m-line count, offerer's payload type numbers.
        let reparsed = try SDPParser().parse(answer.description.text)
        #expect(reparsed.media.count == offer.media.count)
        let media = try #require(reparsed.media.first)
        var formats = [String(expected.payloadType)]
        if let te = expected.telephoneEvent { formats.append(String(te)) }
        #expect(media.formats == formats)
        #expect(media.port == 30000)
        #expect(media.direction == expected.direction)
        #expect(reparsed.connection == Connection(address: "127.0.0.1"))
        #expect(media.payloadMaps.first.map(expected.codec.matches) == true)
        if expected.codec == .opus {
            let fmtp = try #require(media.formatParameters(for: expected.payloadType))
            #expect(try OpusParameters(fmtp: fmtp).useInbandFEC == true)
            #expect(audio.remoteOpus?.useInbandFEC == true)
        }
    }

    @Test func opusParametersOfCapturedOffers() throws {
        let baresip = try SDPParser().parse(Captured.text("baresip-opus.sdp"))
        let fmtp = try #require(baresip.media[0].formatParameters(for: 96))
        let opus = try OpusParameters(fmtp: fmtp)
        #expect(opus.stereo == false)
        #expect(opus.spropStereo == false)
        #expect(opus.useInbandFEC == true)
        #expect(opus.fmtp == "stereo=0;sprop-stereo=0;useinbandfec=1")
    }

    @Test func pjsuaMediaLevelDetails() throws {
        let pjsua = try SDPParser().parse(Captured.text("pjsua2.sdp"))
        #expect(pjsua.connection == nil)
        #expect(pjsua.bandwidths == [Bandwidth(type: "AS", value: 84)])
        #expect(pjsua.media[0].connections == [Connection(address: "127.0.0.1")])
        #expect(pjsua.media[0].bandwidths == [Bandwidth(type: "TIAS", value: 64000)])
        #expect(pjsua.media[0].formats.count == 11)
        #expect(pjsua.media[0].formatParameters(for: 99) == "mode=30")
        let hold = try SDPParser().parse(Captured.text("pjsua2-hold-2.sdp"))
        let first = try SDPParser().parse(Captured.text("pjsua2-hold-1.sdp"))
        #expect(hold.origin.sessionVersion == first.origin.sessionVersion + 1)
        #expect(hold.media[0].direction == .sendonly)
    }
}
