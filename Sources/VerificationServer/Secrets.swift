import Crypto
import Foundation
import Verification

/// The server secret (key of the code MACs and of the webhook signatures) and the API keys.
public enum Secrets {
    /// Reads the secret from `path`, or creates 32 random bytes there with mode 0600 when absent.
    /// Refuses a file that others may read.
    public static func loadOrCreateSecret(at path: String) throws -> [UInt8] {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            let attributes = try fm.attributesOfItem(atPath: path)
            if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                throw ConfigurationError("secret file \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count >= 16 else { throw ConfigurationError("secret file \(path) holds fewer than 16 bytes") }
            return Array(data)
        }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let secret = SystemRandomSource().bytes(32)
        guard fm.createFile(atPath: path, contents: Data(secret), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot write secret file \(path)")
        }
        return secret
    }

    /// A key derived from the server secret for one purpose (HKDF-SHA256, RFC 5869), so the code
    /// MACs and the webhook signatures never share a key.
    public static func derive(_ secret: [UInt8], purpose: String) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), info: Array(purpose.utf8), outputByteCount: 32)
        return key.withUnsafeBytes { Array($0) }
    }

    /// A new API key: "vg_" + 40 base-32 characters (200 bits).
    public static func makeAPIKey() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        let random = SystemRandomSource()
        return "vg_" + String((0..<40).map { _ in alphabet[Int(random.uniform(below: 32))] })
    }

    /// SHA-256 of an API key: what the store keeps.
    public static func sha256(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }

    /// Whether a presented token equals the configured one: their SHA-256 digests compared in
    /// constant time, so neither the length nor a matching prefix shows in the response time.
    public static func tokenMatches(_ presented: String, _ expected: String) -> Bool {
        zip(sha256(presented), sha256(expected)).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A configuration mistake, said in one sentence at start.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// The mistake, in one sentence naming the setting.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
