/// Builds what a call says from prompts and pauses: the code readout ("your verification code
/// is 2 4 0 7 … again 2 4 0 7") and the fixed messages, independent of codec and locale.
///
/// The output is a ``PromptScript``; ``PromptScript/render(with:)`` gives PCM and
/// ``EncodedPrompts/player(for:ptime:)`` gives the cached, already encoded frames, ptime long.
public struct PromptComposer: Sendable {
    /// Pause lengths, ms (rounded to 20 ms frames when played).
    public struct Timing: Sendable, Equatable {
        /// After "your verification code is" and after "again".
        public var afterIntro: Int = 400
        /// Between two digits.
        public var betweenDigits: Int = 300
        /// Between digit groups (codes longer than 4 digits are read in groups of 3, or 4 for 8).
        public var betweenGroups: Int = 600
        /// Between the first readout and "again".
        public var beforeRepeat: Int = 900
        /// Silence before the first prompt (lets the media path settle).
        public var leadIn: Int = 200
        /// Creates the defaults.
        public init() {}
    }

    /// The pauses.
    public var timing: Timing

    /// Creates a composer.
    public init(timing: Timing = Timing()) { self.timing = timing }

    /// "Your verification code is <code>, again, <code>": the code is read twice.
    public func codeReadout(_ code: String) throws(MediaError) -> PromptScript {
        let digits = try Self.digits(of: code)
        var s = PromptScript()
        s.append(.silence(ms: timing.leadIn))
        s.append(.prompt(.codeIs))
        s.append(.silence(ms: timing.afterIntro))
        appendDigits(digits, to: &s)
        s.append(.silence(ms: timing.beforeRepeat))
        s.append(.prompt(.again))
        s.append(.silence(ms: timing.afterIntro))
        appendDigits(digits, to: &s)
        s.append(.silence(ms: timing.afterIntro))
        return s
    }

    /// One fixed message (e.g. ``PromptName/enterCode``) with the lead-in.
    public func message(_ name: PromptName) -> PromptScript {
        PromptScript(segments: [.silence(ms: timing.leadIn), .prompt(name), .silence(ms: timing.afterIntro)])
    }

    private func appendDigits(_ digits: [Int], to s: inout PromptScript) {
        let group = digits.count <= 4 ? digits.count : (digits.count % 4 == 0 && digits.count > 6 ? 4 : 3)
        for (i, d) in digits.enumerated() {
            if i > 0 { s.append(.silence(ms: i % group == 0 ? timing.betweenGroups : timing.betweenDigits)) }
            s.append(.prompt(.digit(d)))
        }
    }

    static func digits(of code: String) throws(MediaError) -> [Int] {
        guard !code.isEmpty, code.count <= 32 else { throw MediaError(.invalidCode, "a code to read has 1–32 digits") }
        var out: [Int] = []
        for u in code.utf8 {
            guard (48...57).contains(u) else { throw MediaError(.invalidCode, "a code to read has only the digits 0–9") }
            out.append(Int(u) - 48)
        }
        return out
    }
}

/// A sequence of prompts and pauses.
public struct PromptScript: Sendable, Equatable {
    /// One part.
    public enum Segment: Sendable, Equatable {
        /// A prompt file.
        case prompt(PromptName)
        /// Silence of about this many ms (whole 20 ms frames when encoded).
        case silence(ms: Int)
    }

    /// The parts in order.
    public var segments: [Segment]

    /// Creates a script.
    public init(segments: [Segment] = []) { self.segments = segments }

    /// Appends a part.
    public mutating func append(_ segment: Segment) { segments.append(segment) }

    /// The prompts in order (without pauses).
    public var prompts: [PromptName] {
        segments.compactMap { if case .prompt(let p) = $0 { p } else { nil } }
    }

    /// 8 kHz PCM of the script with `library`'s prompts, each prompt padded to whole 20 ms frames
    /// exactly as ``EncodedPrompts`` plays it.
    public func render(with library: PromptLibrary) -> [Int16] {
        var out: [Int16] = []
        for segment in segments {
            switch segment {
            case .prompt(let name):
                let pcm = library[name]
                out += pcm
                out += [Int16](repeating: 0, count: EncodedPrompts.padding(pcm.count))
            case .silence(let ms):
                out += [Int16](repeating: 0, count: EncodedPrompts.silenceFrames(ms: ms) * 160)
            }
        }
        return out
    }
}
