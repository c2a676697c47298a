import SDP
import Testing

/// SDES `a=crypto` (RFC 4568 §9.1) parsing and serializing, hostile lines, and SRTP offer/answer (RFC 4568 §7).
@Suite struct CryptoAttributeTests {
    /// RFC 4568 §4's example line (AES_CM_128_HMAC_SHA1_80 with a lifetime and an MKI).
    static let rfcExample = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
    /// 30 bytes: 0x00…0x1D, base64.
    static let key30 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
    /// 28 bytes: 0x00…0x1B, base64 with padding.
    static let key28 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="

    func offer(_ proto: String, crypto: [String], formats: String = "0 101") throws -> SessionDescription {
        let lines = crypto.map { "a=crypto:\($0)\r\n" }.joined()
        return try SDPParser().parse(
            "v=0\r\no=peer 10 10 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 7000 \(proto) \(formats)\r\na=rtpmap:101 telephone-event/8000\r\n\(lines)")
    }

    func expectCode(_ code: SDPError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let error = #expect(throws: SDPError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test("RFC 4568's example parses with its lifetime and MKI, and serializes back to the same text")
    func rfcExample() throws {
        let crypto = try CryptoAttribute(attributeValue: Self.rfcExample)
        #expect(crypto.tag == 1)
        #expect(crypto.suite == .aesCM128HMACSHA1_80)
        #expect(crypto.keys.count == 1)
        #expect(crypto.key.bytes.count == 30)
        #expect(crypto.keys[0].lifetime == "2^20")
        #expect(crypto.keys[0].mki?.value == 1 && crypto.keys[0].mki?.length == 4)
        #expect(!crypto.isUsable, "an MKI is not supported")
        #expect(crypto.attributeValue == Self.rfcExample)
    }

    @Test("each suite's key length, with and without base64 padding, and session parameters")
    func suitesAndKeys() throws {
        let cm = try CryptoAttribute(attributeValue: "7 AES_CM_128_HMAC_SHA1_32 inline:\(Self.key30)")
        #expect(cm.key.bytes == Array(0...29))
        #expect(cm.isUsable)
        let gcm = try CryptoAttribute(attributeValue: "2 AEAD_AES_128_GCM inline:\(Self.key28)")
        #expect(gcm.key.bytes == Array(0...27))
        #expect(gcm.attributeValue == "2 AEAD_AES_128_GCM inline:\(Self.key28)")
        let unpadded = try CryptoAttribute(attributeValue: "2 AEAD_AES_128_GCM inline:\(Self.key28.dropLast(2))")
        #expect(unpadded.key == gcm.key)
        let wsh = try CryptoAttribute(attributeValue: "3 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30) WSH=128")
        #expect(wsh.sessionParameters == ["WSH=128"] && wsh.isUsable)
        let kdr = try CryptoAttribute(attributeValue: "3 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30) UNENCRYPTED_SRTP")
        #expect(!kdr.isUsable, "a session parameter we do not implement makes the line unusable")
        #expect(try CryptoAttribute(attributeValue: "999999999 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)|2147483648").tag == 999_999_999)
    }

    @Test("a key never shows in descriptions of the values that hold it")
    func keyRedacted() throws {
        let crypto = try CryptoAttribute(attributeValue: "1 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)")
        let texts = ["\(crypto)", String(reflecting: crypto), "\(crypto.key)", "\(NegotiatedSRTP(suite: .aesCM128HMACSHA1_80, tag: 1, localKey: crypto.key, remoteKey: crypto.key))"]
        var dumped = ""
        dump(crypto, to: &dumped)
        for text in texts + [dumped] {
            #expect(!text.contains("29"), "\(text)")  // the last key byte, 0x1D = 29
            #expect(!text.contains(Self.key30))
        }
    }

    /// Hostile or malformed lines: each gives a specific error, never a crash.
    static let hostile: [(String, SDPError.Code)] = [
        ("", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80", .badCrypto),
        ("x AES_CM_128_HMAC_SHA1_80 inline:\(key30)", .badCrypto),
        ("1234567890 AES_CM_128_HMAC_SHA1_80 inline:\(key30)", .badCrypto),  // tag > 9 digits
        ("99999999999999999999999 AES_CM_128_HMAC_SHA1_80 inline:\(key30)", .badCrypto),
        ("-1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)", .badCrypto),
        ("١ AES_CM_128_HMAC_SHA1_80 inline:\(key30)", .badCrypto),  // Arabic-Indic digit one
        ("1 AES_256_CM_HMAC_SHA1_80 inline:\(key30)", .unknownCryptoSuite),
        ("1 F8_128_HMAC_SHA1_80 inline:\(key30)", .unknownCryptoSuite),
        ("1 aes_cm_128_hmac_sha1_80 inline:\(key30)", .unknownCryptoSuite),
        ("1 \(String(repeating: "A", count: 5000)) inline:\(key30)", .unknownCryptoSuite),
        ("1 AES_CM_128_HMAC_SHA1_80 key:\(key30)", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:!!!!\(key30.dropFirst(4))", .badCrypto),  // not base64
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)=", .badCrypto),  // padding where none fits
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30.dropLast(4))", .badCrypto),  // 27 bytes
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key28)", .badCrypto),  // a GCM-length key
        ("1 AEAD_AES_128_GCM inline:\(key30)", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(String(repeating: "A", count: 100_000))", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|2^99", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|0", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|lots", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|1:0", .badCrypto),  // MKI length 0
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|1:129", .badCrypto),  // MKI length > 128
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|256:1", .badCrypto),  // MKI value does not fit
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|1:4|2:4", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30)|2^20|1:4|x", .badCrypto),
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30);inline:\(key30)", .badCrypto),  // two keys without MKIs
        ("1 AES_CM_128_HMAC_SHA1_80 inline:\(key30) " + Array(repeating: "WSH=64", count: 40).joined(separator: " "), .badCrypto),
    ]

    @Test("hostile a=crypto values give a specific SDPError", arguments: hostile.indices)
    func hostileLine(_ index: Int) {
        let (line, code) = Self.hostile[index]
        expectCode(code) { _ = try CryptoAttribute(attributeValue: line) }
    }

    @Test("as answerer: the first usable offered suite, its tag, our own fresh key, the offer's profile")
    func answerPicksFirstUsable() throws {
        let offer = try offer("RTP/SAVP", crypto: [
            "1 AES_256_CM_HMAC_SHA1_80 inline:\(String(repeating: "A", count: 62))==",  // unknown: skipped
            "2 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)|1:4",  // MKI: skipped
            "3 AES_CM_128_HMAC_SHA1_80 inline:!!",  // malformed: skipped
            "4 AES_CM_128_HMAC_SHA1_32 inline:\(Self.key30)",
            "5 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)",
        ])
        var session = SDPSession(configuration: MediaConfiguration(srtp: .optional), address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try session.answer(offer)
        let media = answer.description.media[0]
        #expect(media.proto == "RTP/SAVP")
        let lines = media.attributeValues("crypto")
        #expect(lines.count == 1)
        let ours = try CryptoAttribute(attributeValue: lines[0])
        #expect(ours.tag == 4 && ours.suite == .aesCM128HMACSHA1_32)
        #expect(ours.key.bytes != Array(0...29), "our key is our own")
        #expect(answer.audio.srtp == NegotiatedSRTP(suite: .aesCM128HMACSHA1_32, tag: 4, localKey: ours.key, remoteKey: SRTPMasterKey(bytes: Array(0...29))))
        var again = SDPSession(configuration: MediaConfiguration(srtp: .optional), address: "198.51.100.2", port: 20000, sessionID: 7)
        #expect(try again.answer(offer).audio.srtp?.localKey != ours.key, "a fresh key per answer")
        // The answer parses back.
        #expect(try SDPParser().parse(answer.description.text).media[0].attributeValues("crypto") == lines)
    }

    @Test("RTP/AVP with crypto lines gets SRTP when it is on, and the answer stays RTP/AVP")
    func avpWithCrypto() throws {
        let offer = try offer("RTP/AVP", crypto: ["1 AEAD_AES_128_GCM inline:\(Self.key28)"])
        var on = SDPSession(configuration: MediaConfiguration(srtp: .required), address: "198.51.100.2", port: 20000, sessionID: 7)
        let answer = try on.answer(offer)
        #expect(answer.description.media[0].proto == "RTP/AVP")
        #expect(answer.audio.srtp?.suite == .aeadAES128GCM)
        var off = SDPSession(configuration: MediaConfiguration(srtp: .off), address: "198.51.100.2", port: 20000, sessionID: 7)
        let plain = try off.answer(offer)
        #expect(plain.audio.srtp == nil)
        #expect(plain.description.media[0].attributeValues("crypto").isEmpty)
    }

    @Test("policy refusals: SAVP with SRTP off, plain RTP when required, SAVP without a usable line")
    func refusals() throws {
        var off = SDPSession(configuration: MediaConfiguration(srtp: .off), address: "198.51.100.2", port: 20000, sessionID: 7)
        expectCode(.noAcceptableMedia) { _ = try off.answer(try offer("RTP/SAVP", crypto: ["1 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)"])) }
        var required = SDPSession(configuration: MediaConfiguration(srtp: .required), address: "198.51.100.2", port: 20000, sessionID: 7)
        expectCode(.noUsableCrypto) { _ = try required.answer(try offer("RTP/AVP", crypto: [])) }
        expectCode(.noUsableCrypto) { _ = try required.answer(try offer("RTP/AVP", crypto: ["1 AES_256_CM_HMAC_SHA1_80 inline:\(Self.key30)"])) }
        var optional = SDPSession(configuration: MediaConfiguration(srtp: .optional), address: "198.51.100.2", port: 20000, sessionID: 7)
        expectCode(.noUsableCrypto) { _ = try optional.answer(try offer("RTP/SAVP", crypto: ["1 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)|1:4"])) }
        #expect(try optional.answer(try offer("RTP/AVP", crypto: [])).audio.srtp == nil, "optional: plain RTP accepted")
        var onlyGCM = SDPSession(configuration: MediaConfiguration(srtp: .required, cryptoSuites: [.aeadAES128GCM]), address: "198.51.100.2", port: 20000, sessionID: 7)
        expectCode(.noUsableCrypto) { _ = try onlyGCM.answer(try offer("RTP/SAVP", crypto: ["1 AES_CM_128_HMAC_SHA1_80 inline:\(Self.key30)"])) }
    }

    @Test("as offerer: every suite with its own fresh key; the answer's tag picks our key and gives theirs")
    func offerAndAnswer() throws {
        var caller = SDPSession(configuration: MediaConfiguration(srtp: .required), address: "198.51.100.2", port: 20000, sessionID: 7)
        let offer = caller.makeOffer()
        let media = offer.media[0]
        #expect(media.proto == "RTP/SAVP")
        let lines = try media.attributeValues("crypto").map(CryptoAttribute.init(attributeValue:))
        #expect(lines.map(\.tag) == [1, 2, 3])
        #expect(lines.map(\.suite) == SRTPCryptoSuite.allCases)
        #expect(Set(lines.map(\.key.bytes)).count == 3)
        var optionalOffer = SDPSession(configuration: MediaConfiguration(srtp: .optional), address: "198.51.100.2", port: 20000, sessionID: 7)
        #expect(optionalOffer.makeOffer().media[0].proto == "RTP/AVP")

        var callee = SDPSession(configuration: MediaConfiguration(srtp: .optional, cryptoSuites: [.aeadAES128GCM]), address: "192.0.2.9", port: 30000, sessionID: 9)
        let answer = try callee.answer(try SDPParser().parse(offer.text))
        let agreed = try caller.negotiate(answer: try SDPParser().parse(answer.description.text), to: offer)
        #expect(agreed.srtp?.suite == .aeadAES128GCM)
        #expect(agreed.srtp?.localKey == lines[2].key)
        #expect(agreed.srtp?.remoteKey == answer.audio.srtp?.localKey)
        #expect(answer.audio.srtp?.remoteKey == lines[2].key)

        // An answer without a line of ours to an RTP/SAVP offer fails.
        var plainAnswer = answer.description
        plainAnswer.media[0].attributes.removeAll { $0.name == "crypto" }
        expectCode(.noUsableCrypto) { _ = try caller.negotiate(answer: plainAnswer, to: offer) }
        // A line with a tag we did not offer does not match.
        var wrongTag = answer.description
        wrongTag.media[0].attributes = wrongTag.media[0].attributes.map { $0.name == "crypto" ? Attribute("crypto", "9 AEAD_AES_128_GCM inline:\(Self.key28)") : $0 }
        expectCode(.noUsableCrypto) { _ = try caller.negotiate(answer: wrongTag, to: offer) }
    }
}
