/// Errors of the SQL store with stable codes (docs/ARCHITECTURE.md habit 5). Database driver errors
/// (GRDB on SQLite, PostgresNIO) propagate unchanged.
public enum SQLStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database URL is neither `sqlite://…`, a plain path, nor `postgres://…`/`postgresql://…`.
    case unsupportedURL(String)
    /// A configuration value is out of range (pool size, schema name).
    case invalidConfiguration(String)
    /// A stored value does not map back to the domain (unknown channel or status, bad MAC length).
    case invalidStoredValue(column: String, value: String)
    /// The store was used after `shutdown()`.
    case shutDown
    /// The connection listening for audit events ended (the server closed it); listen again.
    case listenerClosed

    /// The stable machine-readable code.
    public var code: String {
        switch self {
        case .unsupportedURL: "store_unsupported_url"
        case .invalidConfiguration: "store_invalid_configuration"
        case .invalidStoredValue: "store_invalid_stored_value"
        case .shutDown: "store_shut_down"
        case .listenerClosed: "store_listener_closed"
        }
    }

    /// A sentence for operators (never contains a code or secret).
    public var description: String {
        switch self {
        case .unsupportedURL(let url): "Unsupported database URL scheme in \(SQLStoreError.redacted(url)); use sqlite:///path, a file path, or postgres://…"
        case .invalidConfiguration(let why): "Invalid store configuration: \(why)."
        case .invalidStoredValue(let column, let value): "Stored value \(value) in column \(column) is not valid."
        case .shutDown: "The store has been shut down."
        case .listenerClosed: "The connection listening for audit events was closed."
        }
    }

    /// The URL without a password (`postgres://user:secret@host` → `postgres://user:***@host`).
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@") else { return url }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
