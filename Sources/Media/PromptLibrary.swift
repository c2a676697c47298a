import Foundation

/// The name of one voice prompt file (`<name>.wav` in a locale folder of `prompts/`).
public struct PromptName: Sendable, Hashable, CustomStringConvertible {
    /// The file name without `.wav`.
    public let rawValue: String

    /// A prompt name.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The spoken digit 0–9.
    public static func digit(_ d: Int) -> PromptName { PromptName(String(d)) }
    /// "Your verification code is".
    public static let codeIs = PromptName("code-is")
    /// "Again".
    public static let again = PromptName("again")
    /// "Please enter the code shown on the web page".
    public static let enterCode = PromptName("enter-code")
    /// "Thank you, your number is verified".
    public static let verified = PromptName("verified")
    /// "That code is not right".
    public static let wrongCode = PromptName("wrong-code")
    /// "No verification is waiting for this number".
    public static let noVerification = PromptName("no-verification")
    /// "Goodbye".
    public static let goodbye = PromptName("goodbye")
    /// "Press any key to hear your code" (voice_call, before the code).
    public static let pressAnyKey = PromptName("press-key")

    /// Every prompt a locale must have.
    public static let required: [PromptName] = (0...9).map(digit) + [codeIs, again, enterCode, verified, wrongCode, noVerification, goodbye, pressAnyKey]

    /// The file name without `.wav`.
    public var description: String { rawValue }
}

/// The prompts of one locale as 8 kHz PCM, loaded from `prompts/<locale>/`.
public struct PromptLibrary: Sendable {
    /// The locale tag of the folder (`en`, `zh-TW`).
    public let locale: String
    /// PCM of each prompt, 8 kHz mono.
    public let prompts: [PromptName: [Int16]]

    /// Creates a library from PCM (tests, generated prompts).
    public init(locale: String, prompts: [PromptName: [Int16]]) {
        self.locale = locale
        self.prompts = prompts
    }

    /// Loads every ``PromptName/required`` prompt from `directory` (8 kHz mono 16-bit WAV files).
    public static func load(directory: URL, locale: String) throws(MediaError) -> PromptLibrary {
        var prompts: [PromptName: [Int16]] = [:]
        for name in PromptName.required {
            let url = directory.appendingPathComponent("\(name.rawValue).wav")
            guard let data = try? Data(contentsOf: url) else {
                throw MediaError(.promptMissing, "prompt \(url.path) is missing or unreadable")
            }
            do {
                prompts[name] = try WAVFile(bytes: [UInt8](data), requiredSampleRate: 8000).samples
            } catch {
                throw MediaError(error.code, "\(url.path): \(error.message)")
            }
        }
        return PromptLibrary(locale: locale, prompts: prompts)
    }

    /// PCM of a prompt (empty if absent).
    public subscript(name: PromptName) -> [Int16] { prompts[name] ?? [] }
}

/// All locales' prompt libraries, with the caller's locale resolved to the nearest one we have.
public struct PromptCatalog: Sendable {
    /// Libraries by locale tag.
    public let libraries: [String: PromptLibrary]
    /// The locale used when nothing matches.
    public let defaultLocale: String

    /// Creates a catalog; `defaultLocale` must be one of `libraries`.
    public init(libraries: [PromptLibrary], defaultLocale: String = "en") {
        self.libraries = Dictionary(libraries.map { ($0.locale, $0) }, uniquingKeysWith: { a, _ in a })
        self.defaultLocale = defaultLocale
    }

    /// Loads each sub-folder of `directory` (e.g. `prompts/`) that holds prompts as a locale.
    public static func load(directory: URL, defaultLocale: String = "en") throws(MediaError) -> PromptCatalog {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var libs: [PromptLibrary] = []
        for folder in folders.sorted() {
            var isDir: ObjCBool = false
            let url = directory.appendingPathComponent(folder)
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else { continue }
            libs.append(try PromptLibrary.load(directory: url, locale: folder))
        }
        guard libs.contains(where: { $0.locale == defaultLocale }) else {
            throw MediaError(.promptMissing, "no prompts for the default locale '\(defaultLocale)' in \(directory.path)")
        }
        return PromptCatalog(libraries: libs, defaultLocale: defaultLocale)
    }

    /// The locale tag we have that best fits `requested` (BCP 47, e.g. `zh-Hant-TW`, `en_US`):
    /// an exact match, then language and region, then language alone, then the default.
    public func resolve(_ requested: String?) -> String {
        guard let requested, !requested.isEmpty else { return defaultLocale }
        let want = requested.replacingOccurrences(of: "_", with: "-").lowercased()
        if let hit = libraries.keys.first(where: { $0.lowercased() == want }) { return hit }
        let parts = want.split(separator: "-").map(String.init)
        guard let language = parts.first else { return defaultLocale }
        let region = parts.dropFirst().first { $0.count == 2 }
        let sameLanguage = libraries.keys.sorted().filter { $0.lowercased().split(separator: "-").first.map(String.init) == language }
        if let region, let hit = sameLanguage.first(where: { $0.lowercased().hasSuffix("-" + region) }) { return hit }
        return sameLanguage.first ?? defaultLocale
    }

    /// The library for `requested` (see ``resolve(_:)``).
    public func library(for requested: String?) -> PromptLibrary {
        libraries[resolve(requested)] ?? libraries[defaultLocale] ?? PromptLibrary(locale: defaultLocale, prompts: [:])
    }
}
