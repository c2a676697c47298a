import SDP
import Testing

@Suite struct SDPParserTests {
    static let minimal = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

    @Test func acceptsBareLineFeeds() throws {
        let parsed = try SDPParser().parse(Self.minimal.replacingOccurrences("\r\n", "\n"))
        #expect(parsed.media.count == 1)
        #expect(parsed.text == Self.minimal)
    }

    @Test func parsesEveryLineType() throws {
        let text = """
        v=0\r
        o=alice 2890844526 2890842807 IN IP4 198.51.100.1\r
        s=Call\r
        i=info\r
        u=http://example.com/\r
        e=a@example.com\r
        p=+1 617 555-6011\r
        c=IN IP6 2001:db8::1\r
        b=CT:128\r
        t=2873397496 2873404696\r
        r=7d 1h 0 25h\r
        z=2882844526 -1h\r
        a=recvonly\r
        m=audio 49170/2 RTP/AVP 0 97\r
        i=voice\r
        c=IN IP4 233.252.0.1/127\r
        b=AS:64\r
        a=rtpmap:97 opus/48000/2\r
        a=fmtp:97 maxplaybackrate=16000;useinbandfec=1;ptime=40\r
        a=ptime:20.5\r
        a=maxptime:60\r
        m=video 0 RTP/AVP 31\r
        a=inactive\r

        """
        let sdp = try SDPParser().parse(text)
        #expect(sdp.origin.sessionVersion == 2890842807)
        #expect(sdp.connection == Connection(addressType: .ip6, address: "2001:db8::1"))
        #expect(sdp.timings == [Timing(start: 2873397496, stop: 2873404696, repeats: ["7d 1h 0 25h"])])
        #expect(sdp.direction == .recvonly)
        let audio = sdp.media[0]
        #expect(audio.portCount == 2)
        #expect(audio.connections.first?.multicastSuffix == "127")
        #expect(audio.ptime == 20)
        #expect(audio.maxptime == 60)
        #expect(audio.payloadMaps == [RTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000), RTPMap(payloadType: 97, encodingName: "opus", clockRate: 48000, channels: 2)])
        #expect(sdp.effectiveDirection(of: audio) == .recvonly)
        #expect(sdp.effectiveDirection(of: sdp.media[1]) == .inactive)
        let opus = try OpusParameters(fmtp: try #require(audio.formatParameters(for: 97)))
        #expect(opus == OpusParameters(maxPlaybackRate: 16000, useInbandFEC: true, ptime: 40))
        #expect(sdp.text == text)
    }

    @Test(arguments: [
        ("", SDPError.Code.missingLine),
        ("v=1\r\n", .unsupportedVersion),
        ("v=0\r\ns=-\r\n", .missingLine),
        ("v=0\r\no=- x 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n", .badOrigin),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", .missingLine),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3\r\nt=0 0\r\n", .badConnection),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP6 1.2.3.4\r\nt=0 0\r\n", .badConnection),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0\r\n", .badTiming),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nb=AS\r\nt=0 0\r\n", .badBandwidth),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n", .badMedia),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5 RTP/AVP 200\r\n", .badMedia),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", .badAttribute),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\na=ptime:abc\r\n", .badAttribute),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n", .missingConnection),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\ns=again\r\n", .malformedLine),
        ("v=0\r\nnot a line\r\n", .malformedLine),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nx=unknown\r\n", .malformedLine),
    ])
    func rejectsMalformedInput(text: String, code: SDPError.Code) {
        #expect { try SDPParser().parse(text) } throws: { ($0 as? SDPError)?.code == code }
    }

    @Test func enforcesSizeLimits() {
        let parser = SDPParser(limits: .init(maxBodyBytes: 200, maxLines: 8, maxLineLength: 40, maxMediaDescriptions: 1))
        let big = Self.minimal + "a=" + String(repeating: "x", count: 300) + "\r\n"
        #expect { try parser.parse(big) } throws: { ($0 as? SDPError)?.code == .tooLarge }
        #expect { try parser.parse(Self.minimal + "a=" + String(repeating: "y", count: 50) + "\r\n") } throws: { ($0 as? SDPError)?.code == .tooLarge }
        #expect { try parser.parse(Self.minimal + "m=audio 5 RTP/AVP 0\r\n") } throws: { ($0 as? SDPError)?.code == .tooLarge }
        #expect { try parser.parse(Self.minimal + String(repeating: "a=x\r\n", count: 5)) } throws: { ($0 as? SDPError)?.code == .tooLarge }
        #expect { try SDPParser().parse(bytes: [0x76, 0x3D, 0xFF, 0xFE]) } throws: { ($0 as? SDPError)?.code == .notText }
    }

    @Test func opusParametersRoundTripAndRanges() throws {
        let text = "maxplaybackrate=8000;sprop-maxcapturerate=16000;maxptime=60;ptime=20;maxaveragebitrate=20000;stereo=0;sprop-stereo=0;cbr=1;useinbandfec=1;usedtx=0;x-vendor=7"
        let opus = try OpusParameters(fmtp: text)
        #expect(opus.fmtp == text)
        #expect(opus.other.first?.key == "x-vendor")
        #expect(try OpusParameters(fmtp: " useinbandfec=1; stereo=1 ").stereo == true)
        #expect(throws: SDPError.self) { try OpusParameters(fmtp: "maxplaybackrate=96000") }
        #expect(throws: SDPError.self) { try OpusParameters(fmtp: "useinbandfec=yes") }
        #expect(OpusParameters().fmtp == "")
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
