// AnsweredCall: the calls the gateway answers — voice_callin says the code twice; dtmf_callin asks
// for the code shown on the page, collects the keys (RFC 4733, in-band, SIP INFO; `#` or a pause
// ends), has the core check them, says the result and allows another try. Offer/answer per
// RFC 3264: no SDP or no common codec → 488.

import GatewayProtocol
import Logging
import Media
import NIOCore
import NIOPosix
import SDP
import SIPMessage
import Synchronization

/// Set when the caller hangs up, read by the flow after each prompt.
final class HangUpFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// What reaches an answered call's logic, in order.
enum CallInput: Sendable {
    case digit(KeyedDigit)
    case timer(DigitCollector.Timer)
    /// The caller's ACK of our 200 arrived (RFC 3261 §13.3.1.4).
    case confirmed
    case ended(SIPCallEnd)
}

extension VoiceGatewayService {
    /// Answers `call` with audio; nil (after rejecting it) when media cannot be set up.
    func answerWithMedia(_ call: SIPCall, media: GatewayMedia) async -> MediaSession? {
        guard call.offer.readableBytes > 0, let offer = try? SDPParser().parse(bytes: call.offer.readableBytesView) else {
            call.reject(statusCode: 488, reasonPhrase: "Not Acceptable Here - No SDP Offer")
            return nil
        }
        // SRTP (README "Encrypted calls"): SDES keys only over signalling that hides them (RFC 4568 §8.3).
        let security = configuration.mediaSecurity(for: call.remote)
        if let refusal = security.refusal(of: offer, over: call.remote.transport) {
            logger.warning("gateway.srtp.sdes_refused", metadata: ["call-id": "\(call.callID)", "transport": "\(call.remote.transport.rawValue)", "reason": "\(refusal)"])
            call.reject(statusCode: 488, reasonPhrase: "Not Acceptable Here - SDES Needs TLS")
            return nil
        }
        // Bound before the answer names the port: a port another program holds is skipped.
        let sockets: RTPSockets
        do {
            guard let bound = try await media.bindRTP(logger: logger) else {
                call.reject(statusCode: 503, headers: [(.retryAfter, "5")])
                return nil
            }
            sockets = bound
        } catch {
            logger.error("gateway.media.open_failed", metadata: ["call-id": "\(call.callID)", "error": "\(error)"])
            call.reject(statusCode: 500)
            return nil
        }
        var session = SDPSession(configuration: MediaConfiguration(codecs: media.codecs, srtp: security.policy), address: media.announcedHost,
                                 port: UInt16(sockets.port), sessionID: UInt64.random(in: 1...UInt64(UInt32.max)))
        let answer: SDPAnswer
        do {
            answer = try session.answer(offer)
        } catch {
            await sockets.close()
            let reason = switch error.code {
            case .noCommonCodec: "No Common Codec"
            case .noUsableCrypto: "No Usable Crypto"
            default: "No Audio"
            }
            if error.code == .noUsableCrypto {
                logger.warning("gateway.srtp.no_usable_crypto", metadata: ["call-id": "\(call.callID)", "srtp": "\(security.policy.rawValue)", "detail": "\(error.detail)"])
            }
            call.reject(statusCode: 488, reasonPhrase: "Not Acceptable Here - \(reason)")
            return nil
        }
        do {
            // On failure `open` has closed the sockets and returned the port.
            let rtp = try await MediaSession.open(sockets, audio: answer.audio, latching: configuration.mediaLatching(for: call.remote),
                                                  signalling: call.remote.address, statistics: media.statistics, logger: logger)
            call.answer(sdp: ByteBuffer(string: answer.description.text))
            return rtp
        } catch {
            logger.error("gateway.media.open_failed", metadata: ["call-id": "\(call.callID)", "error": "\(error)"])
            call.reject(statusCode: 500)
            return nil
        }
    }

    /// Answers an inbound call and runs its dialogue. With `proof` (the question asked with
    /// `awaits_proof`) nothing is said or collected before the ACK of our 200, and voice_callin asks
    /// the core again, committing, for the code to say.
    func runAnswered(_ call: SIPCall, media: GatewayMedia, decision: CallDecision, proof: InboundCall? = nil) async {
        guard let rtp = await answerWithMedia(call, media: media) else {
            for await _ in call.events {}
            report(call, verificationID: decision.verificationID, reason: .failed, sipStatus: nil)
            return
        }
        let reason = await runDialogue(call, rtp: rtp, media: media, decision: decision, proof: proof)
        report(call, verificationID: decision.verificationID, reason: reason, sipStatus: nil, media: rtp.quality)
    }

    /// Runs the dialogue of a call that is up (either direction): merges keys, SIP events and
    /// timers into one stream for the flow, and frees the media when the call ends (a hang-up
    /// mid-prompt stops the prompt at once). Returns the outcome to report.
    func runDialogue(_ call: SIPCall, rtp: MediaSession, media: GatewayMedia, decision: CallDecision, proof: InboundCall? = nil,
                     keypress: Bool = false) async -> CallEnded.Reason {
        let (inputs, input) = AsyncStream.makeStream(of: CallInput.self)
        let hungUp = HangUpFlag()
        let reason = await withTaskGroup(of: Void.self) { group -> CallEnded.Reason in
            group.addTask {
                for await digit in rtp.digits { input.yield(.digit(digit)) }
            }
            group.addTask {
                for await event in call.events {
                    switch event {
                    case .info(let contentType, let body):
                        if let contentType, let info = try? SIPInfoDTMF(contentType: contentType, body: Array(body.readableBytesView)) {
                            input.yield(.digit(KeyedDigit(digit: info.digit, source: .sipInfo)))
                        }
                    case .ended(let end):
                        hungUp.set()
                        rtp.stopPlayback()
                        input.yield(.ended(end))
                    case .confirmed:
                        input.yield(.confirmed)
                    case .progress, .answered, .reinvited:
                        break
                    }
                }
            }
            var flow = AnsweredCallFlow(service: self, call: call, rtp: rtp, media: media, decision: decision, inputs: inputs.makeAsyncIterator(), input: input,
                                        hungUp: hungUp, proof: proof, keypress: keypress)
            let reason = await flow.run()
            if !flow.ended { call.hangUp() }
            await rtp.close()
            input.finish()
            await group.waitForAll()
            return reason
        }
        return reason
    }
}

/// The prompts-and-keys dialogue of one answered call.
struct AnsweredCallFlow {
    let service: VoiceGatewayService
    let call: SIPCall
    let rtp: MediaSession
    let media: GatewayMedia
    var decision: CallDecision
    /// The `awaits_proof` question of an inbound call: wait for the ACK of our 200 first.
    let proof: InboundCall?
    /// voice_call: say the code only after a key press.
    let keypress: Bool
    var inputs: AsyncStream<CallInput>.Iterator
    /// Inputs read early and kept to be read again (keys that came before the ACK).
    private var replay: [CallInput] = []
    let input: AsyncStream<CallInput>.Continuation
    let hungUp: HangUpFlag
    /// The caller hung up.
    private(set) var ended = false
    private let composer = PromptComposer()

    init(service: VoiceGatewayService, call: SIPCall, rtp: MediaSession, media: GatewayMedia, decision: CallDecision,
         inputs: AsyncStream<CallInput>.Iterator, input: AsyncStream<CallInput>.Continuation, hungUp: HangUpFlag, proof: InboundCall? = nil, keypress: Bool = false) {
        self.hungUp = hungUp
        self.proof = proof
        self.keypress = keypress
        self.service = service
        self.call = call
        self.rtp = rtp
        self.media = media
        self.decision = decision
        self.inputs = inputs
        self.input = input
    }

    mutating func run() async -> CallEnded.Reason {
        if let proof {
            // Nothing is said or collected before the caller's address is proven (RFC 3261 §13.3.1.4).
            guard await waitForConfirmation() else { return .hungUp }
            if decision.action == .playCode {
                // Now the core may issue the code (it re-checks the verification).
                var committing = proof
                committing.awaitsProof = nil
                guard case .callDecision(let fresh)? = try? await service.link.ask(.inboundCall(committing), timeout: service.configuration.coreTimeout),
                      fresh.action == .playCode, fresh.code != nil
                else { return .failed }
                decision = fresh
            }
        }
        guard let prompts = try? media.prompts.encoded(locale: decision.locale, codec: rtp.audio.codec, opus: rtp.audio.remoteOpus, ptime: rtp.audio.ptime) else { return .failed }
        switch decision.action {
        case .playCode:
            guard let code = decision.code, let script = try? composer.codeReadout(code) else { return .failed }
            if keypress {
                switch await waitForKey(prompts) {
                case .key: break
                case .noKey: return .noKey
                case .hungUp: return .hungUp
                }
            }
            if await say(script, prompts) == false { return .hungUp }
            if await say(composer.message(.goodbye), prompts) == false { return .hungUp }
            return .completed
        case .collectCode:
            return await collect(prompts)
        case .reject, .ringThenReject:
            return .failed
        }
    }

    /// Waits for the ACK of our 200; false when the call ended first (e.g. no ACK, §13.3.1.4).
    /// Keys that arrive first are kept for after it: the ACK and the caller's first RTP packets are
    /// handled on different event loops, so a key sent after the ACK may be seen before it. Nothing
    /// reads them unless the ACK comes, so a caller who never got our 200 keys nothing.
    private mutating func waitForConfirmation() async -> Bool {
        var early: [CallInput] = []
        defer { replay = early + replay }
        while let next = await nextInput() {
            switch next {
            case .confirmed: return true
            case .ended:
                ended = true
                return false
            case .digit: early.append(next)
            case .timer: continue
            }
        }
        return false
    }

    /// The next input: kept ones first, then the stream's.
    private mutating func nextInput() async -> CallInput? {
        if !replay.isEmpty { return replay.removeFirst() }
        return await inputs.next()
    }

    private enum KeyWait { case key, noKey, hungUp }

    /// voice_call: "press any key to hear your code", repeated until a key (RFC 4733 event, in-band
    /// tone or SIP INFO) or until `media.keypressPrompts` plays ran out with `media.keypressWait` of
    /// silence after each.
    private mutating func waitForKey(_ prompts: EncodedPrompts) async -> KeyWait {
        for _ in 0..<max(1, media.keypressPrompts) {
            if await say(composer.message(.pressAnyKey), prompts) == false { return .hungUp }
            let input = self.input
            let timer = service.endpoint.eventLoop.scheduleTask(in: .nanoseconds(media.keypressWait.nanoseconds)) { input.yield(.timer(.firstDigit)) }
            defer { timer.cancel() }
            while let next = await nextInput() {
                switch next {
                case .digit: return .key
                case .timer: break
                case .confirmed: continue
                case .ended:
                    ended = true
                    return .hungUp
                }
                break
            }
        }
        return .noKey
    }

    /// Plays a script; false when the caller hung up during it.
    private mutating func say(_ script: PromptScript, _ prompts: EncodedPrompts) async -> Bool {
        await rtp.play(prompts.player(for: script, ptime: rtp.audio.ptime))
        return !(await checkEnded())
    }

    /// Notes a hang-up that arrived while playing (without waiting for other input).
    private mutating func checkEnded() async -> Bool {
        ended = ended || hungUp.isSet
        return ended
    }

    /// dtmf_callin: ask, collect, check, answer; another try while the core and the per-call limit allow.
    private mutating func collect(_ prompts: EncodedPrompts) async -> CallEnded.Reason {
        guard let verificationID = decision.verificationID else { return .failed }
        var wrong = 0
        while true {
            if await say(composer.message(.enterCode), prompts) == false { return .hungUp }
            guard let digits = await readDigits(count: decision.codeLength ?? 6) else { return .hungUp }
            if digits.isEmpty {
                _ = await say(composer.message(.goodbye), prompts)
                return .failed
            }
            let result: DigitsResult
            do {
                guard case .digitsResult(let answer) = try await service.link.ask(
                    .digits(Digits(callID: call.callID, verificationID: verificationID, digits: digits)), timeout: service.configuration.coreTimeout
                ) else { return .failed }
                result = answer
            } catch {
                _ = await say(composer.message(.goodbye), prompts)
                return .failed
            }
            switch result.outcome {
            case .approved:
                if await say(composer.message(.verified), prompts) == false { return .hungUp }
                _ = await say(composer.message(.goodbye), prompts)
                return .completed
            case .wrong, .closed:
                wrong += 1
                if await say(composer.message(.wrongCode), prompts) == false { return .hungUp }
                if result.outcome == .closed || wrong >= media.maxWrongCodesPerCall || (result.attemptsLeft ?? 1) <= 0 {
                    _ = await say(composer.message(.goodbye), prompts)
                    return .completed
                }
            }
        }
    }

    /// Collects one code with `DigitCollector`; "" when nothing came in time, nil when the caller hung up.
    private mutating func readDigits(count: Int) async -> String? {
        var configuration = DigitCollector.Configuration()
        configuration.maxDigits = count
        configuration.firstDigitTimeout = media.firstDigitTimeout
        configuration.interDigitTimeout = media.interDigitTimeout
        var collector = DigitCollector(configuration: configuration)
        let clock = ContinuousClock()
        let origin = clock.now
        var timer: Scheduled<Void>?
        defer { timer?.cancel() }
        var action = collector.start(at: clock.now - origin)
        while true {
            switch action {
            case .none:
                break
            case .startTimer(let which, let after), .digitAccepted(_, let which, let after):
                timer?.cancel()
                let input = self.input
                timer = service.endpoint.eventLoop.scheduleTask(in: .nanoseconds(after.nanoseconds)) { input.yield(.timer(which)) }
            case .completed(let digits, _):
                return digits
            }
            guard let next = await nextInput() else { return nil }
            switch next {
            case .digit(let keyed):
                action = collector.digitReceived(keyed.digit, from: keyed.source, at: clock.now - origin)
            case .timer(let which):
                action = collector.timerFired(which, at: clock.now - origin)
            case .confirmed:
                continue
            case .ended:
                ended = true
                return nil
            }
        }
    }
}
