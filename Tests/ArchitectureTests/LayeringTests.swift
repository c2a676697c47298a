// The layering of docs/ARCHITECTURE.md ("Targets and what each may import"), checked on the
// sources: a target that imports what the architecture forbids fails this test, naming the file.
// Package.swift's dependencies already stop most of it; this also catches what a dependency
// added for one file would let every other file of the target import.
import Foundation
import Testing

@Suite("Layering: each target imports only what docs/ARCHITECTURE.md allows")
struct LayeringTests {
    /// The repository's `Sources` folder.
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Modules of the toolchain any target may use.
    static let toolchain: Set<String> = ["Swift", "Foundation", "Dispatch", "Synchronization", "Glibc", "Darwin", "_Concurrency"]

    /// Pure targets: exactly these imports (beyond the toolchain's). No networking, no server framework.
    static let pure: [String: Set<String>] = [
        "ABNF": [],
        "SIPMessage": ["ABNF", "NIOCore"],
        "SIPStack": ["ABNF", "SIPMessage", "Crypto"],
        "SDP": ["ABNF"],
        "RTP": ["NIOCore", "COpenSSL"],
        "Media": ["ABNF", "SDP", "COpus"],
        "GatewayProtocol": ["NIOCore"],
        "Verification": ["ABNF", "CPhoneNumber", "Crypto"],
    ]

    /// Shells: anything but these.
    static let forbidden: [String: Set<String>] = [
        // The core never imports the gateway or the SIP and media stack.
        "VerificationServer": ["VoiceGateway", "SIPMessage", "SIPStack", "SDP", "RTP", "Media", "COpus", "CAres"],
        // The gateway never imports the core, the domain, HTTP or SQL.
        "VoiceGateway": ["VerificationServer", "Verification", "Hummingbird", "SQLKit", "SQLiteKit", "PostgresKit", "SMPP"],
        "SMPP": ["Verification", "VerificationServer", "VoiceGateway", "Hummingbird"],
    ]

    /// Pure targets never reach the network through Foundation either.
    static let neverInPure: Set<String> = ["FoundationNetworking", "NIOPosix", "Hummingbird"]

    @Test("pure targets import only their listed modules", arguments: pure.keys.sorted())
    func pureTarget(_ target: String) throws {
        let allowed = Self.pure[target, default: []].union(Self.toolchain).subtracting(Self.neverInPure)
        let imports = try Self.imports(of: target)
        #expect(!imports.isEmpty || target == "ABNF", "no sources read for \(target)")
        for (file, module) in imports where !allowed.contains(module) {
            Issue.record("\(target)/\(file) imports \(module); docs/ARCHITECTURE.md allows \(allowed.sorted())")
        }
    }

    @Test("shell targets never import across the core/gateway line", arguments: forbidden.keys.sorted())
    func shellTarget(_ target: String) throws {
        let imports = try Self.imports(of: target)
        #expect(!imports.isEmpty, "no sources read for \(target)")
        for (file, module) in imports where Self.forbidden[target, default: []].contains(module) {
            Issue.record("\(target)/\(file) imports \(module), which docs/ARCHITECTURE.md forbids")
        }
    }

    @Test("the checker sees an import that breaks the rule")
    func checkerFindsViolation() {
        let found = Self.importedModules(in: "import Foundation\n@preconcurrency import NIOPosix\nimport struct Hummingbird.Router\n// import VoiceGateway\n")
        #expect(found == ["Foundation", "NIOPosix", "Hummingbird"])
    }

    /// (file, module) for every import of every Swift file of `target`.
    static func imports(of target: String) throws -> [(String, String)] {
        let folder = sources.appendingPathComponent(target)
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        var result: [(String, String)] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            let name = url.path.replacingOccurrences(of: folder.path + "/", with: "")
            result += importedModules(in: text).map { (name, $0) }
        }
        return result
    }

    /// The top-level module of every `import` line (attributes, access levels and kinds allowed).
    static func importedModules(in text: String) -> [String] {
        let prefixes: Set<String> = ["@preconcurrency", "@_exported", "@testable", "@_implementationOnly", "public", "internal", "package", "private", "fileprivate"]
        let kinds: Set<String> = ["struct", "class", "enum", "protocol", "func", "typealias", "var", "let"]
        return text.split(separator: "\n").compactMap { line -> String? in
            var words = line.split(separator: " ", omittingEmptySubsequences: true)[...]
            while let first = words.first, prefixes.contains(String(first)) { words = words.dropFirst() }
            guard words.first == "import" else { return nil }
            words = words.dropFirst()
            if let kind = words.first, kinds.contains(String(kind)) { words = words.dropFirst() }
            return words.first.map { String($0.split(separator: ".").first ?? $0) }
        }
    }
}
