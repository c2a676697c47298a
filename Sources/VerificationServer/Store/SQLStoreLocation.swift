/// Where the store lives, parsed from `--database-url` / `VERIGATE_DATABASE_URL`.
///
/// - `sqlite:///var/lib/verigate/verigate.db` (absolute), `sqlite://data/v.db` or `sqlite:data/v.db`
///   (relative to the working directory), or a plain path → SQLite.
/// - `postgres://user:password@host:port/db` or `postgresql://…` (query `?tlsmode=disable|prefer|require`)
///   → PostgreSQL, parsed by PostgresKit's `SQLPostgresConfiguration(url:)`.
public enum SQLStoreLocation: Sendable, Equatable {
    /// An SQLite database file.
    case sqlite(path: String)
    /// A PostgreSQL server URL.
    case postgres(url: String)

    /// Parses a database URL or path.
    public init(_ url: String) throws(SQLStoreError) {
        let lower = url.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
            || lower.hasPrefix("postgres+tcp://") || lower.hasPrefix("postgres+uds://") || lower.hasPrefix("postgresql+uds://") {
            self = .postgres(url: url)
            return
        }
        var path = Substring(url)
        if lower.hasPrefix("sqlite://") {
            path = path.dropFirst("sqlite://".count)
        } else if lower.hasPrefix("sqlite:") {
            path = path.dropFirst("sqlite:".count)
        } else if let colon = url.firstIndex(of: ":"), url[..<colon].allSatisfy({ $0.isLetter || $0 == "+" }),
                  url[colon...].hasPrefix("://") {
            throw .unsupportedURL(url)
        }
        guard !path.isEmpty else { throw .unsupportedURL(url) }
        self = .sqlite(path: String(path))
    }

    /// The backend this location needs.
    public var backend: SQLStoreBackend {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }
}

/// The SQL dialects one `SQLVerificationStore` runs on.
public enum SQLStoreBackend: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// Opens a write transaction: SQLite takes the write lock at once (`BEGIN IMMEDIATE`) so that
    /// two writers never deadlock upgrading a read lock.
    var beginWrite: String {
        switch self {
        case .sqlite: "BEGIN IMMEDIATE"
        case .postgres: "BEGIN"
        }
    }

    /// The function of the larger of two values (SQLite's scalar `max`, PostgreSQL's `GREATEST`).
    var greatest: String {
        switch self {
        case .sqlite: "MAX"
        case .postgres: "GREATEST"
        }
    }

    /// Column type of byte strings.
    var blobType: String {
        switch self {
        case .sqlite: "BLOB"
        case .postgres: "BYTEA"
        }
    }

    /// Column definition of an auto-incremented surrogate key.
    var serialPrimaryKey: String {
        switch self {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        }
    }
}
