import Foundation

/// An absolute `http` or `https` URL with a host (RFC 9110 §4.2.1, §4.2.2; the scheme compared
/// case-insensitively, RFC 3986 §3.1), at most `maxLength` characters. The one check of every URL
/// the server is given or posts to: `callback_url` and `redirect_url` of a start, the webhooks it
/// sends, `--public-url` and `--kannel-url`.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// The longest URL accepted (what browsers and servers commonly handle).
    public static let maxLength = 2048

    /// The URL as given.
    public let string: String
    /// The parsed URL.
    public let url: URL
    /// Its host, never empty (an IPv6 literal as Foundation gives it, in brackets).
    public let host: String

    /// Nil unless `string` is an absolute http(s) URL with a host, at most `maxLength` characters.
    public init?(_ string: String) {
        guard string.count <= Self.maxLength, let url = URL(string: string),
              let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else { return nil }
        self.string = string
        self.url = url
        self.host = host
    }

    /// The URL as given.
    public var description: String { string }
}
