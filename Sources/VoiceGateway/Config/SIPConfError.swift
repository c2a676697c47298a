// SIPConfError: why a sip.conf was refused, as `file:line: what is wrong`.

/// A sip.conf problem with its place in the file. `code` is stable (scripts may match it);
/// `description` is the message an operator sees: `sip.conf:12: unknown key 'bindaddr' in [general]`.
public struct SIPConfError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem.
    public enum Code: String, Sendable, Equatable {
        /// The file could not be read (missing, not a file, not UTF-8).
        case unreadable = "sipconf.unreadable"
        /// Over the size or line-count limit (`SIPConf.maxFileSize`, `SIPConf.maxLines`) or a line too long.
        case tooLarge = "sipconf.too_large"
        /// A line that is neither a section header, `key = value`, nor a comment.
        case syntax = "sipconf.syntax"
        /// A section that is not `[general]` and not a peer (`type = peer`).
        case unknownSection = "sipconf.unknown_section"
        /// A key this section does not know.
        case unknownKey = "sipconf.unknown_key"
        /// A single-valued key set twice, a list item repeated, or a section opened twice.
        case duplicate = "sipconf.duplicate"
        /// A value that does not fit the key.
        case badValue = "sipconf.bad_value"
        /// A key the section needs is absent.
        case missingKey = "sipconf.missing_key"
        /// Asterisk features we do not implement (`#include`, templates, peer types other than `peer`).
        case unsupported = "sipconf.unsupported"
    }

    /// The kind of problem.
    public var code: Code
    /// The file name as given.
    public var file: String
    /// The 1-based line, or 0 for the file as a whole.
    public var line: Int
    /// What is wrong, for people.
    public var message: String

    /// Makes an error.
    public init(_ code: Code, file: String, line: Int, _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message` (or `file: message` for the whole file).
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
