import ABNF
import Crypto
import Foundation

/// Signs and verifies webhook bodies. Header `Verigate-Signature: t=<unix seconds>,v1=<hex>` where
/// v1 = HMAC-SHA256(key, "<t>." ‖ body) (RFC 2104). Receivers recompute it, compare in constant
/// time, and refuse timestamps outside a tolerance (replay protection); `Verigate-Webhook-Id`
/// lets them drop duplicates of a retried delivery.
public struct WebhookSigner: Sendable {
    /// Header carrying the signature.
    public static let signatureHeader = "Verigate-Signature"
    /// Header carrying the delivery id (stable across retries).
    public static let idHeader = "Verigate-Webhook-Id"

    private let key: SymmetricKey

    /// A signer keyed with `secret`.
    public init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    /// The header value for `body` signed at `timestamp` (unix seconds).
    public func signature(body: [UInt8], timestamp: Int) -> String {
        "t=\(timestamp),v1=" + HMAC<SHA256>.authenticationCode(for: Self.message(body, timestamp), using: key).hexEncoded
    }

    /// Why a signature was refused.
    public enum VerificationFailure: Error, Equatable, Sendable {
        case malformedHeader, timestampOutsideTolerance, signatureMismatch
    }

    /// Checks `header` against `body`: well-formed, within `tolerance` seconds of `now`, and a
    /// matching MAC (constant-time comparison).
    public static func verify(header: String, body: [UInt8], secret: [UInt8], tolerance: Double = 300, now: Date = Date()) throws(VerificationFailure) {
        var timestamp: Int?
        var macs: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw .malformedHeader }
            switch kv[0] {
            case "t": timestamp = Int(kv[1])
            case "v1": if kv[1].utf8.count <= 128, let mac = kv[1].hexDecoded { macs.append(mac) }
            default: continue
            }
        }
        guard let timestamp, !macs.isEmpty else { throw .malformedHeader }
        guard abs(now.timeIntervalSince1970 - Double(timestamp)) <= tolerance else { throw .timestampOutsideTolerance }
        let key = SymmetricKey(data: secret)
        for mac in macs where HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message(body, timestamp), using: key) {
            return
        }
        throw .signatureMismatch
    }

    private static func message(_ body: [UInt8], _ timestamp: Int) -> [UInt8] { Array("\(timestamp).".utf8) + body }


}
