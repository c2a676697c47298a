// Typed options (issue 13): every option of `verigate` is parsed into a type, the same way from its
// flag and from its `VERIGATE_*` variable, and a value that type cannot hold stops the command with
// exit status 78 (EX_CONFIG) and a message naming the flag or variable and what it accepts.
// Precedence: the flag, else the variable, else the default.
//
// Why not swift-configuration (apple/swift-configuration 1.4.0, what Hummingbird's
// `Application+ConfigReader` reads)? Its build cost is not the reason: Hummingbird's default
// `ConfigurationSupport` trait compiles it into every build already. But:
// - its getters with a default (`config.string(forKey:as:default:)`, `int(forKey:default:)`) return
//   the default when a value is present but does not convert: the failure goes to an access
//   reporter only. That is the silent `--log-level bogus` → `info` this file exists to end; every
//   read would need a `required…` variant plus a presence check around it;
// - its conversion errors say "failed to convert to type …", never which values are accepted;
// - the flags stay with ArgumentParser (help, subcommands, shell completion), so it would replace
//   only the few lines below that read `VERIGATE_*`; its `CommandLineArgumentsProvider` would be a
//   second parser of the same command line;
// - what it adds on top, an optional file (`--config /etc/verigate/verigate.conf`), the variables
//   already give with the service manager's own file: systemd's `EnvironmentFile=`, Docker's
//   `--env-file`, Kubernetes' `envFrom` read `VERIGATE_*` lines, one name per setting, the names the
//   README's Configuration table lists. A second file format would be a second place for a value.
// So: ArgumentParser parses each flag with its type's `init(option:)` (a `transform`), the same
// initializer reads the variable (`Settings`), and `Verigate.main` turns every parse failure into 78.

import ArgumentParser
import Foundation
import Logging
import SMPP
import Verification
import VerificationServer

/// Why an option's text is not a value of its type, said as what the option accepts
/// ("must be one of trace, debug, …"). ArgumentParser prints it after the flag's name.
struct OptionValueError: Error, CustomStringConvertible {
    /// What the option accepts, or what is wrong with the value.
    let description: String
    /// An error saying `description`.
    init(_ description: String) { self.description = description }
}

/// A type an option's text is parsed into: the flag's `transform` and its `VERIGATE_*` variable use
/// the same `init(option:)`, so both accept and refuse the same values.
protocol OptionValue: Sendable {
    /// Parses an option's text; a value of another type throws what the option accepts.
    init(option text: String) throws(OptionValueError)
}

/// Where option values come from besides their flags: the `VERIGATE_*` environment variables.
enum Settings {
    /// `VERIGATE_<name>` as it is, nil when unset; empty counts as unset unless `keepingEmpty`.
    static func text(_ name: String, keepingEmpty: Bool = false) -> String? {
        guard let value = ProcessInfo.processInfo.environment["VERIGATE_" + name] else { return nil }
        return value.isEmpty && !keepingEmpty ? nil : value
    }

    /// `VERIGATE_<name>` parsed as `Value`, nil when unset or empty; a value `Value` cannot hold
    /// throws a message naming the variable and what it accepts.
    static func value<Value: OptionValue>(_ name: String, as type: Value.Type = Value.self) throws(ConfigurationError) -> Value? {
        guard let text = text(name) else { return nil }
        do { return try Value(option: text) } catch {
            throw ConfigurationError("The value '\(text)' is invalid for VERIGATE_\(name): \(error.description)")
        }
    }

    /// An option's value: its flag when given, else `VERIGATE_<name>`, else `fallback`.
    static func resolve<Value: OptionValue>(_ flag: Value?, _ name: String, default fallback: Value) throws(ConfigurationError) -> Value {
        try resolve(flag, name) ?? fallback
    }

    /// An option without a default: its flag when given, else `VERIGATE_<name>`, else nil. An
    /// empty text flag (`--secret-file ""`) counts as not given, as an empty variable does.
    static func resolve<Value: OptionValue>(_ flag: Value?, _ name: String) throws(ConfigurationError) -> Value? {
        if let flag, (flag as? String)?.isEmpty != true { return flag }
        return try value(name)
    }
}

/// Options whose value is one word of a fixed list (the cases' raw values).
protocol OptionChoice: OptionValue, CaseIterable, RawRepresentable<String> {}

extension OptionChoice {
    /// The case whose raw value is `text`; any other word throws the list of cases.
    init(option text: String) throws(OptionValueError) {
        guard let value = Self(rawValue: text) else {
            throw OptionValueError("must be \(listing(Self.allCases.map(\.rawValue)))")
        }
        self = value
    }
}

/// `a`, `a or b`, `a, b or c`: the accepted values, for messages.
func listing(_ words: [String]) -> String {
    guard words.count > 1 else { return words.first ?? "" }
    return words.dropLast().joined(separator: ", ") + " or " + words.last!
}

// MARK: Words

/// Paths, names, secrets: any text.
extension String: OptionValue {
    /// `text` as it is.
    init(option text: String) { self = text }
}

/// Counts and limits (their ranges are checked where they are used, naming the flag).
extension Int: OptionValue {
    /// A whole number, spaces around it ignored.
    init(option text: String) throws(OptionValueError) {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw OptionValueError("must be a whole number") }
        self = value
    }
}

/// Rates (`--smpp-rate`).
extension Double: OptionValue {
    /// A finite number, spaces around it ignored.
    init(option text: String) throws(OptionValueError) {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { throw OptionValueError("must be a number") }
        self = value
    }
}

/// Switches read from a variable (`VERIGATE_ALLOW_PRIVATE_WEBHOOKS` of the flag `--allow-private-webhooks`).
extension Bool: OptionValue {
    /// 1, true, yes or on; 0, false, no or off (any case).
    init(option text: String) throws(OptionValueError) {
        switch text.lowercased() {
        case "1", "true", "yes", "on": self = true
        case "0", "false", "no", "off": self = false
        default: throw OptionValueError("must be 1 or 0 (true/false, yes/no, on/off)")
        }
    }
}

/// `--log-level`: swift-log's levels, trace to critical.
extension Logger.Level: OptionChoice {}

/// `--mode`: `dev` (SMS outbox, demo page, codes in API answers; loopback only) or `production`.
enum RunMode: String, OptionChoice {
    case dev, production
}

/// `--demo`, `--voice-call-keypress`: a switch.
enum OnOff: String, OptionChoice {
    case on, off

    /// True for `on`.
    var isOn: Bool { self == .on }
}

/// `--sms-driver`: where SMS go.
enum SMSDriverKind: String, OptionChoice {
    case console, kannel, smpp
}

/// `--smpp-packing`: GSM 03.38 septets as they are (`unpacked`), or packed 8 in 7 octets (`packed`).
extension SMSEncoder.GSMPacking: OptionChoice {}

// MARK: Durations and addresses

/// A duration option (`--code-ttl`, `--call-retry-delay`, …): seconds (`30`, `1.5`), or a number
/// with a unit, `ms`, `s`, `m` or `h` (`250ms`, `10m`, `1h`); never negative.
struct Seconds: OptionValue, Equatable, CustomStringConvertible {
    /// The duration in seconds.
    let value: TimeInterval

    /// `value` seconds.
    init(_ value: TimeInterval) { self.value = value }

    /// `30`, `1.5`, `250ms`, `30s`, `10m`, `1h`; a negative, unknown unit or other text throws.
    init(option text: String) throws(OptionValueError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600)]
        let unit = units.first { trimmed.hasSuffix($0.suffix) && Double(trimmed.dropLast($0.suffix.count)) != nil }
        let number = unit.map { String(trimmed.dropLast($0.suffix.count)) } ?? trimmed
        guard let count = Double(number), count.isFinite, count >= 0 else {
            throw OptionValueError("must be a duration of 0 or more: seconds, or a number with ms, s, m or h (30, 1.5, 250ms, 10m, 1h)")
        }
        value = count * (unit?.seconds ?? 1)
    }

    /// `600.0 s`.
    var description: String { "\(value) s" }
}

/// `host:port` (an IPv6 host in brackets, `[::1]:8080`), port 0 to 65535: `--http-address`,
/// `--smpp-address`, `--sip-address`, `--metrics-address`.
struct HostPort: OptionValue, Equatable, CustomStringConvertible {
    /// The host, without brackets.
    let host: String
    /// The port, 0 (any free port) to 65535.
    let port: Int

    /// `host` (without brackets) and `port`.
    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(option text: String) throws(OptionValueError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard parts.count >= 2, !host.isEmpty else { throw OptionValueError("must be host:port (an IPv6 host in brackets, [::1]:8080)") }
        guard let port = Int(parts.last!), (0...65_535).contains(port) else {
            throw OptionValueError("port \(parts.last!) is not a port number, 0 to 65535")
        }
        self.init(host: host, port: port)
    }

    /// `host:port`, an IPv6 host in brackets.
    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `--sip-address`: a listen address, or `off` for no voice gateway.
enum SIPListen: OptionValue, Equatable {
    /// No voice gateway in this process.
    case off
    /// UDP and TCP on this address, replacing sip.conf's `bind`.
    case address(HostPort)

    /// `off`, else `host:port`.
    init(option text: String) throws(OptionValueError) {
        if text == "off" { self = .off; return }
        guard text.contains(":") else { throw OptionValueError("must be off or host:port (an IPv6 host in brackets, [::1]:5060)") }
        self = .address(try HostPort(option: text))
    }
}

// MARK: Regions, channels and policies

/// A region libphonenumber knows, ISO 3166 alpha-2 (`TW`, `US`), in upper case.
struct Region: OptionValue, Equatable, CustomStringConvertible {
    /// The alpha-2 code, upper case.
    let code: String

    /// A known region's code, any case; anything else throws.
    init(option text: String) throws(OptionValueError) {
        let code = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard code.count == 2, PhoneNumber.countryCode(forRegion: code) != nil else {
            throw OptionValueError("\(text) is not a region libphonenumber knows (ISO 3166 alpha-2, such as TW or US)")
        }
        self.code = code
    }

    /// The code.
    var description: String { code }
}

/// `--allowed-regions`: regions separated by commas; empty for none besides the default region.
struct RegionList: OptionValue, Equatable {
    /// The regions' codes, upper case.
    let regions: Set<String>

    /// `US,JP`; every entry must be a known region.
    init(option text: String) throws(OptionValueError) {
        var regions = Set<String>()
        for name in text.split(separator: ",") where !name.trimmingCharacters(in: .whitespaces).isEmpty {
            regions.insert(try Region(option: String(name)).code)
        }
        self.regions = regions
    }
}

/// `--channels`: channels separated by commas.
struct ChannelList: OptionValue, Equatable {
    /// The channels named.
    let channels: Set<VerificationMethod>

    /// Every channel.
    static let all = ChannelList(channels: Set(VerificationMethod.allCases))

    /// These channels.
    init(channels: Set<VerificationMethod>) { self.channels = channels }

    /// `sms,voice_call`; an unknown name throws the list of channels.
    init(option text: String) throws(OptionValueError) {
        var channels = Set<VerificationMethod>()
        for name in text.split(separator: ",") {
            guard let channel = VerificationMethod(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw OptionValueError("\(name) is not a channel: \(listing(VerificationMethod.allCases.map(\.rawValue)))")
            }
            channels.insert(channel)
        }
        self.channels = channels
    }
}

/// `--line-types`: the line types each channel may reach (`VerificationPolicy.parseLineTypes`).
struct LineTypeRules: OptionValue {
    /// The allowed line types of each channel named.
    let rules: [VerificationMethod: Set<PhoneNumber.LineType>]

    /// `sms=mobile;voice_call=any`.
    init(option text: String) throws(OptionValueError) {
        do { rules = try VerificationPolicy.parseLineTypes(text) } catch { throw OptionValueError(error.description) }
    }
}

/// `--caller-id-trust`: the caller-ID trust each call-in method accepts
/// (`VerificationPolicy.parseCallerIDTrust`).
struct CallerIDTrustRules: OptionValue {
    /// The accepted trust levels of each call-in method named.
    let rules: [VerificationMethod: Set<CallerIDTrust>]

    /// `missed_call=asserted;dtmf_callin=asserted,unverified`.
    init(option text: String) throws(OptionValueError) {
        do { rules = try VerificationPolicy.parseCallerIDTrust(text) } catch { throw OptionValueError(error.description) }
    }
}

/// `--channel-sends-per-hour`: one count for every sending channel, or `sms=1000;voice_call=500`
/// (`VerificationPolicy.parseChannelBudgets`; channels not named keep their default).
struct ChannelBudgets: OptionValue {
    /// Sends per hour of each sending channel, 0 for no budget.
    let budgets: [VerificationMethod: Int]

    /// The defaults, `VerificationLimits.defaultChannelBudgets`.
    static let defaults = ChannelBudgets(budgets: VerificationLimits.defaultChannelBudgets)

    /// These budgets.
    init(budgets: [VerificationMethod: Int]) { self.budgets = budgets }

    /// `1000`, or `sms=1000;voice_call=500`.
    init(option text: String) throws(OptionValueError) {
        do { budgets = try VerificationPolicy.parseChannelBudgets(text, defaults: VerificationLimits.defaultChannelBudgets) } catch {
            throw OptionValueError(error.description)
        }
    }
}
