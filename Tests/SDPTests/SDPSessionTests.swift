import SDP
import Testing

@Suite struct SDPSessionTests {
    func offer(_ body: String, connection: String = "c=IN IP4 192.0.2.7") throws -> SessionDescription {
        try SDPParser().parse("v=0\r\no=peer 10 10 IN IP4 192.0.2.7\r\ns=-\r\n\(connection)\r\nt=0 0\r\n" + body)
    }

    @Test func rejectsOtherStreamsWithPortZeroKeepingOrder() throws {
        let offer = try offer("""
        m=video 5000 RTP/AVP 31\r
        a=rtpmap:31 H261/90000\r
        m=audio 6000 RTP/SAVP 0\r
        m=audio 7000 RTP/AVP 18 8 101\r
        a=rtpmap:101 telephone-event/8000\r
        m=audio 8000 RTP/AVP 0\r

        """)
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer)
        let media = answer.description.media
        #expect(media.map(\.port) == [0, 0, 20000, 0])
        #expect(media.map(\.media) == ["video", "audio", "audio", "audio"])
        #expect(media[0].formats == ["31"])
        #expect(media[1].proto == "RTP/SAVP")
        #expect(media[2].formats == ["8", "101"])
        #expect(answer.audio.mediaIndex == 2)
        #expect(answer.audio.codec == .pcma)
        #expect(answer.audio.remotePort == 7000)
        #expect(answer.description.origin.sessionVersion == 7)
        // The answer text parses and keeps four m-lines.
        #expect(try SDPParser().parse(answer.description.text).media.count == 4)
    }

    @Test func noCommonCodecIsDistinctFromNoAudio() throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let g729 = try offer("m=audio 7000 RTP/AVP 18\r\n")
        #expect { try session.answer(g729) } throws: { ($0 as? SDPError)?.code == .noCommonCodec }
        let video = try offer("m=video 7000 RTP/AVP 31\r\n")
        #expect { try session.answer(video) } throws: { ($0 as? SDPError)?.code == .noAcceptableMedia }
        let opusOnly = try offer("m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n")
        var g711 = SDPSession(configuration: MediaConfiguration(codecs: [.pcmu, .pcma]), address: "198.51.100.2", port: 20000, sessionID: 7)
        #expect { try g711.answer(opusOnly) } throws: { ($0 as? SDPError)?.code == .noCommonCodec }
    }

    @Test(arguments: [
        (Direction.sendrecv, Direction.sendrecv, false),
        (.sendonly, .recvonly, true),
        (.recvonly, .sendonly, false),
        (.inactive, .inactive, true),
    ])
    func mirrorsDirection(offered: Direction, answered: Direction, hold: Bool) throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer("m=audio 7000 RTP/AVP 0\r\na=\(offered.rawValue)\r\n"))
        #expect(answer.audio.direction == answered)
        #expect(answer.audio.remoteHold == hold)
        #expect(answer.description.media[0].direction == answered)
    }

    @Test func sessionLevelDirectionApplies() throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer("a=sendonly\r\nm=audio 7000 RTP/AVP 0\r\n"))
        #expect(answer.audio.direction == .recvonly)
    }

    @Test func holdByZeroAddress() throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer("m=audio 7000 RTP/AVP 0\r\n", connection: "c=IN IP4 0.0.0.0"))
        #expect(answer.audio.remoteHold)
        #expect(answer.audio.direction == .recvonly)
        #expect(answer.audio.direction.sends == false)
    }

    @Test func ptimeFromOfferWhenUsable() throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        #expect(try session.answer(offer("m=audio 7000 RTP/AVP 0\r\na=ptime:30\r\n")).audio.ptime == 30)
        #expect(try session.answer(offer("m=audio 7000 RTP/AVP 0\r\na=ptime:25\r\n")).audio.ptime == 20)
        #expect(try session.answer(offer("m=audio 7000 RTP/AVP 0\r\na=ptime:40\r\na=maxptime:30\r\n")).audio.ptime == 20)
        #expect(try session.answer(offer("m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 ptime=40\r\n")).audio.ptime == 40)
    }

    /// Opus packets of one frame last 10, 20, 40 or 60 ms (RFC 6716 §2.1.4): a wanted 30 or 50 is
    /// rounded down (never past the peer's maxptime, RFC 7587 §6.1); G.711 keeps any multiple of 10.
    @Test(arguments: [(10, 10), (20, 20), (30, 20), (40, 40), (50, 40), (60, 60)])
    func opusPtimeIsAnOpusFrameDuration(wanted: Int, agreed: Int) throws {
        var session = SDPSession(address: "198.51.100.2", port: 20000, sessionID: 7)
        let viaPtime = try session.answer(offer("m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=ptime:\(wanted)\r\n")).audio
        #expect(viaPtime.codec == .opus)
        #expect(viaPtime.ptime == agreed)
        let viaFmtp = try session.answer(offer("m=audio 7000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 ptime=\(wanted)\r\n")).audio
        #expect(viaFmtp.ptime == agreed)
        #expect(try session.answer(offer("m=audio 7000 RTP/AVP 0\r\na=ptime:\(wanted)\r\n")).audio.ptime == wanted)
    }

    @Test func staticPayloadTypeWithoutRtpmapAndCaseInsensitiveNames() throws {
        var session = SDPSession(configuration: MediaConfiguration(codecs: [.opus, .pcma]), address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer("m=audio 7000 RTP/AVP 8 109 110\r\na=rtpmap:109 OPUS/48000/2\r\na=rtpmap:110 Telephone-Event/48000\r\n"))
        #expect(answer.audio.codec == .opus)
        #expect(answer.audio.payloadType == 109)
        #expect(answer.audio.telephoneEventPayloadType == 110)
    }

    @Test func offersAndReOffersIncrementVersion() throws {
        var session = SDPSession(address: "2001:db8::5", port: 30000, sessionID: 1000)
        let first = session.makeOffer()
        let parsed = try SDPParser().parse(first.text)
        #expect(parsed == first)
        #expect(first.origin.sessionVersion == 1000)
        #expect(first.origin.addressType == "IP6")
        #expect(first.connection == Connection(addressType: .ip6, address: "2001:db8::5"))
        let media = first.media[0]
        #expect(media.formats == ["0", "8", "111", "101", "110"])
        #expect(media.payloadMaps.map(\.attributeValue) == ["0 PCMU/8000", "8 PCMA/8000", "111 opus/48000/2", "101 telephone-event/8000", "110 telephone-event/48000"])
        #expect(media.formatParameters(for: 111) == "maxplaybackrate=16000;useinbandfec=1")
        #expect(media.formatParameters(for: 101) == "0-15")
        #expect(media.ptime == 20)
        #expect(media.direction == .sendrecv)
        let hold = session.makeOffer(direction: .sendonly)
        #expect(hold.origin.sessionVersion == 1001)
        #expect(hold.origin.sessionID == first.origin.sessionID)
        #expect(hold.media[0].direction == .sendonly)
        #expect(session.makeOffer().origin.sessionVersion == 1002)
    }

    @Test func negotiatesTheAnswerToOurOffer() throws {
        var us = SDPSession(address: "127.0.0.1", port: 30000, sessionID: 1)
        var peer = SDPSession(configuration: MediaConfiguration(codecs: [.pcma]), address: "127.0.0.2", port: 40000, sessionID: 9)
        let offer = us.makeOffer()
        let answer = try peer.answer(try SDPParser().parse(offer.text))
        #expect(answer.audio.codec == .pcma)
        #expect(answer.audio.telephoneEventPayloadType == 101)
        let audio = try us.negotiate(answer: try SDPParser().parse(answer.description.text), to: offer)
        #expect(audio.codec == .pcma)
        #expect(audio.payloadType == 8)
        #expect(audio.telephoneEventPayloadType == 101)
        #expect(audio.remoteAddress == "127.0.0.2")
        #expect(audio.remotePort == 40000)
        #expect(audio.direction == .sendrecv)

        var rejected = answer.description
        rejected.media[0].port = 0
        #expect { try us.negotiate(answer: rejected, to: offer) } throws: { ($0 as? SDPError)?.code == .noCommonCodec }
        var extra = answer.description
        extra.media.append(extra.media[0])
        #expect { try us.negotiate(answer: extra, to: offer) } throws: { ($0 as? SDPError)?.code == .answerMismatch }
    }
}
