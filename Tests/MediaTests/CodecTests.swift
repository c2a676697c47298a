import Foundation
import Testing
@testable import Media
import SDP

/// Power of `x` at `frequency` relative to its total power (1 = all energy in that tone).
func toneShare(_ x: [Int16], frequency: Double, sampleRate: Double) -> Double {
    var re = 0.0, im = 0.0, total = 0.0
    for (n, s) in x.enumerated() {
        let v = Double(s)
        let w = 2 * Double.pi * frequency * Double(n) / sampleRate
        re += v * cos(w)
        im -= v * sin(w)
        total += v * v
    }
    guard total > 0 else { return 0 }
    // A sine of peak A over N samples: |X|² = (A·N/2)², total = N·A²/2.
    return (re * re + im * im) * 2 / (Double(x.count) * total)
}

func errorPower(_ a: ArraySlice<Int16>, _ b: ArraySlice<Int16>) -> Double {
    zip(a, b).reduce(0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(a.count)
}

@Suite struct G711CodecTests {
    @Test func encodesAndDecodesFrames() throws {
        for law in [G711.Law.muLaw, .aLaw] {
            var codec = G711Codec(law: law)
            let pcm = Signal.pcm(Signal.dual(1000, -10, 1500, -10, samples: 160))
            let payload = try codec.encode(pcm)
            #expect(payload.count == 160)
            let back = codec.decode(payload)
            #expect(back.count == 160)
            #expect(toneShare(back, frequency: 1000, sampleRate: 8000) > 0.45)
            #expect(codec.encodingName == (law == .muLaw ? "PCMU" : "PCMA"))
        }
    }

    @Test func wrongFrameSizeIsAnError() {
        var codec = G711Codec(law: .muLaw)
        #expect(throws: MediaError.self) { try codec.encode([Int16](repeating: 0, count: 100)) }
    }

    @Test func concealmentRepeatsWithFadeThenSilence() throws {
        var codec = G711Codec(law: .aLaw)
        let pcm = Signal.pcm(Signal.dual(400, -6, 400, -100, samples: 160))
        let decoded = codec.decode(try codec.encode(pcm))
        var previous = Signal.meanPower(decoded.map(Double.init))
        for k in 1...G711Codec.silentAfterFrames {
            let c = codec.conceal()
            let p = Signal.meanPower(c.map(Double.init))
            #expect(p < previous, "frame \(k) is quieter")
            // Same waveform, only scaled: correlates with the last good frame.
            let dot = zip(c, decoded).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            if k < G711Codec.silentAfterFrames { #expect(dot > 0) }
            previous = p
        }
        #expect(codec.conceal().allSatisfy { $0 == 0 })
        // A good frame ends concealment.
        #expect(codec.decode(try codec.encode(pcm)) == decoded)
    }

    @Test func shortPayloadIsCounted() {
        var codec = G711Codec(law: .muLaw)
        _ = codec.decode([UInt8](repeating: 0xFF, count: 80))
        #expect(codec.decodeErrors == 1)
    }
}

@Suite struct OpusCodecTests {
    @Test(arguments: [8000, 16000, 48000])
    func toneSurvivesEncodeDecode(_ rate: Int) throws {
        var codec = try OpusCodec(pcmSampleRate: rate)
        let frame = rate / 50
        let signal = (0..<(frame * 25)).map { n in Int16(Signal.peak(-10) * sin(2 * .pi * 1000 * Double(n) / Double(rate))) }
        var decoded: [Int16] = []
        for f in 0..<25 {
            let payload = try codec.encode(Array(signal[(f * frame)..<((f + 1) * frame)]))
            #expect(payload.count > 0 && payload.count < 400)
            decoded += codec.decode(payload)
        }
        #expect(decoded.count == signal.count)
        let tail = Array(decoded[(frame * 5)...])
        #expect(toneShare(tail, frequency: 1000, sampleRate: Double(rate)) > 0.9)
        let level = AudioLevel.dBm0(of: tail)
        #expect(abs(level - (-10)) < 2, "level \(level)")
        #expect(codec.decodeErrors == 0)
    }

    @Test func invalidPayloadIsCountedAndConcealed() throws {
        var codec = try OpusCodec(pcmSampleRate: 8000)
        let out = codec.decode([0xFF])  // TOC code 3 without its frame-count byte (RFC 6716 §3.2.5)
        #expect(out.count == 160)
        #expect(codec.decodeErrors == 1)
    }

    @Test func unsupportedRateIsAnError() {
        #expect(throws: MediaError.self) { _ = try OpusCodec(pcmSampleRate: 44100) }
    }

    /// A lost frame rebuilt from the next packet's FEC data is closer to what the lossless
    /// decoder produced than libopus's plain concealment is.
    @Test func fecRecoversLostFrameBetterThanPLC() throws {
        let rate = 8000, frame = 160, frames = 40, lost = 20
        // Speech-like: a pitch that changes every 40 ms, with a formant-ish second partial.
        var signal: [Int16] = []
        var phase = 0.0
        for n in 0..<(frame * frames) {
            let f0 = [180.0, 260, 220, 310, 150, 240][(n / 320) % 6]
            phase += 2 * .pi * f0 / Double(rate)
            signal.append(Int16(Signal.peak(-14) * (sin(phase) + 0.6 * sin(3 * phase) + 0.3 * sin(7 * phase))))
        }
        var encoder = try OpusCodec(pcmSampleRate: rate)
        let payloads = try (0..<frames).map { try encoder.encode(Array(signal[($0 * frame)..<(($0 + 1) * frame)])) }

        var reference = try OpusCodec(pcmSampleRate: rate)
        var withFEC = try OpusCodec(pcmSampleRate: rate)
        var withPLC = try OpusCodec(pcmSampleRate: rate)
        var ref: [Int16] = [], fec: [Int16] = [], plc: [Int16] = []
        for k in 0..<frames {
            ref += reference.decode(payloads[k])
            if k == lost {
                fec += withFEC.recoverLost(usingNext: payloads[k + 1])
                plc += withPLC.conceal()
            } else {
                fec += withFEC.decode(payloads[k])
                plc += withPLC.decode(payloads[k])
            }
        }
        let range = (lost * frame)..<((lost + 1) * frame)
        let fecError = errorPower(fec[range], ref[range])
        let plcError = errorPower(plc[range], ref[range])
        #expect(fecError < plcError / 2, "FEC \(fecError) vs PLC \(plcError)")
    }

    /// RFC 7587 §7.1: the encoder honours the receiver's `a=fmtp` as the SDP target parses it.
    @Test func rfc7587Parameters() throws {
        let p = try OpusParameters(fmtp: "maxplaybackrate=16000; sprop-maxcapturerate=16000;useinbandfec=1; stereo=0;maxaveragebitrate=20000;bogus=3;usedtx=1")
        let s = p.encoderControls
        #expect(s.maxBandwidth == .wideband)
        #expect(s.bitrate == 20000)
        #expect(s.inbandFEC && s.dtx && !s.constantBitrate)
        // A cap above our bitrate leaves it; cbr=1 asks for constant bitrate.
        let loose = try OpusParameters(fmtp: "maxaveragebitrate=64000;cbr=1").encoderControls
        #expect(loose.bitrate == OpusCodec.defaultBitrate)
        #expect(loose.constantBitrate)
        // Absent parameters take the RFC 7587 §6.1 defaults: full band, no FEC, no DTX.
        let defaults = OpusParameters().encoderControls
        #expect(defaults.maxBandwidth == .fullband)
        #expect(!defaults.inbandFEC && !defaults.dtx)
        #expect(try OpusParameters(fmtp: "useinbandfec=0").encoderControls.inbandFEC == false)
    }

    /// One type end to end: the parameters an encoder is made with are `OpusParameters`, and those
    /// that encode alike have one canonical form (so prompts are encoded once per distinct form).
    @Test func canonicalEncoderParameters() throws {
        let a = try OpusParameters(fmtp: "maxplaybackrate=8000;useinbandfec=0;maxaveragebitrate=20500;stereo=1;bogus=1").forEncoder
        let b = try OpusParameters(fmtp: "maxplaybackrate=11025;maxaveragebitrate=20900;sprop-stereo=1").forEncoder
        #expect(a == b && a.fmtp == "maxplaybackrate=8000;maxaveragebitrate=20000;cbr=0;useinbandfec=0;usedtx=0")
        #expect(try OpusParameters(fmtp: "maxplaybackrate=8000;useinbandfec=1").forEncoder != a)
        #expect(a.forEncoder == a, "canonical twice is canonical once")
        let codec = try OpusCodec(pcmSampleRate: 8000, parameters: a)
        #expect(codec.parameters.encoderControls == OpusEncoderControls(maxBandwidth: .narrowband, bitrate: 20000, inbandFEC: false, dtx: false, constantBitrate: false))
    }
}
