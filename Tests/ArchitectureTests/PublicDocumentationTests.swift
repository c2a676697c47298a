// Habit 7 of docs/ARCHITECTURE.md, checked on the sources: every public declaration carries a
// `///` comment (on the line above it, past its attributes). `public extension` and imports are
// containers, not declarations, and need none.
import Foundation
import Testing

@Suite("Documentation: every public declaration has a /// comment")
struct PublicDocumentationTests {
    /// Every library target (the executable `verigate` declares nothing public).
    static let targets = ["ABNF", "SIPMessage", "SIPStack", "SDP", "RTP", "Media", "GatewayProtocol", "SMPP",
                          "Verification", "VerificationServer", "VoiceGateway"]

    @Test("public declarations are documented", arguments: targets)
    func documented(_ target: String) throws {
        let folder = LayeringTests.sources.appendingPathComponent(target)
        let files = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
        var read = 0
        for case let url as URL in files where url.pathExtension == "swift" {
            let name = target + "/" + url.path.replacingOccurrences(of: folder.path + "/", with: "")
            read += 1
            for (line, text) in Self.undocumented(in: try String(contentsOf: url, encoding: .utf8)) {
                Issue.record("\(name):\(line) has no /// comment: \(text)")
            }
        }
        #expect(read > 0, "no sources read for \(target)")
    }

    @Test("the checker sees an undocumented declaration and accepts a documented one")
    func checkerFindsViolation() {
        let source = """
            /// Documented.
            public struct A {
                /// Documented, past an attribute.
                @inlinable
                public var b: Int { 1 }
                public init() {}
                static public func c() {}
                // A plain comment is not documentation.
                public let d = 1
            }
            public extension A {}
            @preconcurrency public import Foundation
            """
        #expect(Self.undocumented(in: source).map(\.0) == [6, 7, 9])
    }

    /// Line numbers (1-based) and text of public declarations without a `///` comment.
    static func undocumented(in text: String) -> [(Int, String)] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let modifiers: Set<String> = ["static", "final", "nonisolated", "override", "required", "convenience", "mutating", "class", "indirect"]
        var result: [(Int, String)] = []
        for (index, line) in lines.enumerated() {
            var words = line.split(separator: " ")[...]
            while let first = words.first, first.hasPrefix("@") || modifiers.contains(String(first)) { words = words.dropFirst() }
            guard let access = words.first, access == "public" || access == "open" || access.hasPrefix("public(") else { continue }
            if let kind = words.dropFirst().first, kind == "extension" || kind == "import" { continue }
            var above = index - 1
            while above >= 0, lines[above].hasPrefix("@") { above -= 1 }
            if above >= 0, lines[above].hasPrefix("///") || lines[above].hasSuffix("*/") { continue }
            result.append((index + 1, line))
        }
        return result
    }
}
