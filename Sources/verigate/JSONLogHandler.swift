// `--log-format json` (README "Install and run as a service"): every log event as one JSON object
// on one line of standard error, for log shippers that read JSON lines (journald keeps each line,
// Vector, Fluent Bit, Loki's promtail parse them).

import Foundation
import Logging
import Synchronization

/// `--log-format`: swift-log's text lines, or one JSON object a line.
enum LogFormat: String, OptionChoice {
    case text, json
}

/// Writes each event as `{"time":…,"level":…,"event":…,"source":…,"label":…,"metadata":{…}}` and a
/// newline to standard error: `event` is the message (a dotted event name such as `core.serving`),
/// `metadata` the handler's, the provider's and the call's metadata, the call's winning.
struct JSONLogHandler: LogHandler {
    /// The logger's label (`verigate`).
    let label: String
    /// Events below this level are not written.
    var logLevel: Logger.Level = .info
    /// Metadata added to every event of this logger.
    var metadata: Logger.Metadata = [:]
    /// Metadata read at each event (task-local values).
    var metadataProvider: Logger.MetadataProvider?

    /// One line at a time, whichever thread logs.
    private static let writing = Mutex(())

    /// A handler for `label` (the factory `LoggingSystem.bootstrap` takes).
    init(label: String) { self.label = label }

    /// One metadata value of this logger.
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes `event` as one line.
    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        let line = Self.line(time: Date(), level: event.level, event: event.message.description, source: event.source, label: label, metadata: merged)
        Self.writing.withLock { _ in FileHandle.standardError.write(line) }
    }

    /// The JSON line (keys sorted, ending in a newline).
    static func line(time: Date, level: Logger.Level, event: String, source: String, label: String, metadata: Logger.Metadata) -> Data {
        let object: [String: Any] = [
            "time": time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": level.rawValue, "event": event, "source": source, "label": label,
            "metadata": metadata.mapValues(json),
        ]
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(#"{"event":"log.unencodable"}"#.utf8)
        data.append(0x0A)
        return data
    }

    /// A metadata value as JSON: strings, arrays and objects as they are, the rest as its description.
    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}
