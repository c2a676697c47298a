import Testing
@testable import Media

@Suite struct SIPInfoDTMFTests {
    @Test func dtmfRelay() throws {
        let v = try SIPInfoDTMF(contentType: "application/dtmf-relay", body: Array("Signal=5\r\nDuration=160\r\n".utf8))
        #expect(v == SIPInfoDTMF(digit: .five, durationMs: 160))
        let star = try SIPInfoDTMF(contentType: "Application/DTMF-Relay; charset=x", body: Array("signal= *\nduration=250".utf8))
        #expect(star == SIPInfoDTMF(digit: .star, durationMs: 250))
        let pound = try SIPInfoDTMF(contentType: "application/dtmf-relay", body: Array("Signal=11\r\n".utf8))
        #expect(pound.digit == .pound && pound.durationMs == nil)
        #expect(try SIPInfoDTMF(contentType: "application/dtmf-relay", body: Array(v.dtmfRelayBody.utf8)) == v)
    }

    @Test func dtmf() throws {
        #expect(try SIPInfoDTMF(contentType: "application/dtmf", body: Array("5".utf8)).digit == .five)
        #expect(try SIPInfoDTMF(contentType: "application/dtmf", body: Array(" #\r\n".utf8)).digit == .pound)
        #expect(try SIPInfoDTMF(contentType: "application/dtmf", body: Array("10".utf8)).digit == .star)
    }

    @Test func errors() {
        func code(_ type: String, _ body: String) -> MediaError.Code? {
            do { _ = try SIPInfoDTMF(contentType: type, body: Array(body.utf8)); return nil } catch { return error.code }
        }
        #expect(code("application/dtmf-relay", "Duration=100") == .sipInfoMalformed)
        #expect(code("application/dtmf-relay", "Signal=X") == .sipInfoMalformed)
        #expect(code("application/dtmf-relay", "Signal=1\nDuration=-5") == .sipInfoMalformed)
        #expect(code("application/dtmf", "55") == .sipInfoMalformed)
        #expect(code("application/dtmf", "") == .sipInfoMalformed)
        #expect(code("text/plain", "5") == .sipInfoUnsupportedType)
        #expect(code("application/dtmf", String(repeating: "5", count: 2000)) == .sipInfoMalformed)
    }
}

@Suite struct DigitCollectorTests {
    typealias C = DigitCollector

    private func ms(_ v: Int) -> Duration { .milliseconds(v) }

    @Test func poundEndsEarly() {
        var c = C()
        #expect(c.start(at: .zero) == .startTimer(.firstDigit, after: .seconds(10)))
        #expect(c.digitReceived(.two, from: .rfc4733, at: ms(1000)) == .digitAccepted(.two, startTimer: .interDigit, after: .seconds(5)))
        _ = c.digitReceived(.four, from: .rfc4733, at: ms(1500))
        #expect(c.digitReceived(.pound, from: .rfc4733, at: ms(2000)) == .completed(digits: "24", reason: .terminator))
        #expect(c.digitReceived(.seven, from: .rfc4733, at: ms(2500)) == .none)
    }

    @Test func maxDigitsEnds() {
        var config = C.Configuration()
        config.maxDigits = 4
        var c = C(configuration: config)
        _ = c.start(at: .zero)
        var last = C.Action.none
        for (i, d) in [DTMFDigit.two, .four, .zero, .seven].enumerated() {
            last = c.digitReceived(d, from: .inBand, at: ms(300 * (i + 1)))
        }
        #expect(last == .completed(digits: "2407", reason: .maxDigits))
    }

    @Test func interDigitTimeoutEnds() {
        var c = C()
        _ = c.start(at: .zero)
        _ = c.digitReceived(.one, from: .sipInfo, at: ms(1000))
        _ = c.digitReceived(.two, from: .sipInfo, at: ms(3000))
        // The timer started at 1000 ms fires at 6000 ms: stale, a key came at 3000 ms.
        #expect(c.timerFired(.interDigit, at: ms(6000)) == .none)
        #expect(c.timerFired(.interDigit, at: ms(8000)) == .completed(digits: "12", reason: .interDigitTimeout))
    }

    @Test func firstDigitTimeout() {
        var c = C()
        _ = c.start(at: .zero)
        #expect(c.timerFired(.firstDigit, at: .seconds(10)) == .completed(digits: "", reason: .firstDigitTimeout))
    }

    @Test func sameKeyFromRFC4733AndInBandCountsOnce() {
        var c = C()
        _ = c.start(at: .zero)
        // "2 2 4": RFC 4733 reports each key at its first packet; the in-band detector 30–250 ms later.
        let events: [(DTMFDigit, C.Source, Int)] = [
            (.two, .rfc4733, 1000), (.two, .inBand, 1030),
            (.two, .rfc4733, 1200), (.two, .inBand, 1230),
            (.four, .inBand, 1400), (.four, .rfc4733, 1650),
        ]
        for (d, s, t) in events { _ = c.digitReceived(d, from: s, at: ms(t)) }
        #expect(c.digits == "224")
        #expect(c.duplicatesDropped == 3)
    }

    @Test func repeatedKeyFromOneSourceCountsTwice() {
        var c = C()
        _ = c.start(at: .zero)
        _ = c.digitReceived(.five, from: .inBand, at: ms(1000))
        _ = c.digitReceived(.five, from: .inBand, at: ms(1100))
        _ = c.digitReceived(.five, from: .rfc4733, at: ms(3000))
        #expect(c.digits == "555")
    }

    @Test func laggingSourceMatchesInOrder() {
        var c = C()
        _ = c.start(at: .zero)
        _ = c.digitReceived(.two, from: .rfc4733, at: ms(0))
        _ = c.digitReceived(.two, from: .rfc4733, at: ms(200))
        _ = c.digitReceived(.two, from: .inBand, at: ms(260))
        _ = c.digitReceived(.two, from: .inBand, at: ms(460))
        _ = c.digitReceived(.two, from: .sipInfo, at: ms(480))
        #expect(c.digits == "22")
    }
}

@Suite struct WAVFileTests {
    @Test func roundTrip() throws {
        let wav = WAVFile(sampleRate: 8000, samples: [0, 1, -1, 32767, -32768, 1234])
        let bytes = wav.bytes()
        #expect(bytes.count == 44 + 12)
        #expect(Array(bytes[0..<4]) == Array("RIFF".utf8))
        #expect(try WAVFile(bytes: bytes, requiredSampleRate: 8000) == wav)
    }

    private func header(tag: UInt16 = 1, channels: UInt16 = 1, rate: UInt32 = 8000, bits: UInt16 = 16, extra: [UInt8] = [], data: [UInt8] = [0, 0]) -> [UInt8] {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var fmt = le16(tag) + le16(channels) + le32(rate) + le32(rate * UInt32(channels) * UInt32(bits) / 8)
        fmt += le16(channels * bits / 8) + le16(bits)
        let body = Array("WAVE".utf8) + Array("fmt ".utf8) + le32(16) + fmt + extra + Array("data".utf8) + le32(UInt32(data.count)) + data
        return Array("RIFF".utf8) + le32(UInt32(body.count)) + body
    }

    @Test func skipsUnknownChunks() throws {
        let list = Array("LIST".utf8) + [3, 0, 0, 0, 1, 2, 3, 0]  // odd size, padded
        let w = try WAVFile(bytes: header(extra: list, data: [0x34, 0x12]))
        #expect(w.samples == [0x1234])
    }

    @Test func clearErrors() {
        func code(_ b: [UInt8], rate: Int? = nil) -> MediaError.Code? {
            do { _ = try WAVFile(bytes: b, requiredSampleRate: rate); return nil } catch { return error.code }
        }
        #expect(code([]) == .wavMalformed)
        #expect(code(Array("RIFF0000WAVX".utf8)) == .wavMalformed)
        #expect(code(header(channels: 2)) == .wavUnsupportedFormat)
        #expect(code(header(bits: 8)) == .wavUnsupportedFormat)
        #expect(code(header(tag: 3, bits: 32)) == .wavUnsupportedFormat)
        #expect(code(header(tag: 7, bits: 8)) == .wavUnsupportedFormat)  // µ-law WAV
        #expect(code(header(rate: 16000), rate: 8000) == .wavUnsupportedFormat)
        #expect(code(Array(header().prefix(30))) == .wavMalformed)
        #expect(code(header(), rate: 8000) == nil)
    }
}

@Suite struct DTMFDigitTests {
    @Test func charactersAndEvents() {
        #expect(DTMFDigit.allCases.map(\.description).joined() == "0123456789*#ABCD")
        for d in DTMFDigit.allCases {
            #expect(DTMFDigit(character: d.character) == d)
            #expect(DTMFDigit(rfc4733Event: d.rawValue) == d)
            #expect(DTMFDigit.at(row: d.row, column: d.column) == d)
        }
        #expect(DTMFDigit(character: "0\u{303}") == nil)  // a combining mark makes it no digit
        #expect(DTMFDigit(character: "x") == nil)
        #expect(DTMFDigit(rfc4733Event: 16) == nil)
        #expect(DTMFDigit.five.lowFrequency == 770 && DTMFDigit.five.highFrequency == 1336)
    }
}
