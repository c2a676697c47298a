// TrunkNumbers: how numbers look on a trunk. Providers send and expect E.164 with or without '+'
// (ITU-T E.164), national numbers with the trunk prefix, or a tech prefix before the number
// (Flowroute's `12345678*`). Pure functions: E.164 out to a trunk's format, anything in to E.164.

/// How the numbers we send to a trunk are written (sip.conf `number_format`).
public enum TrunkNumberFormat: Sendable, Equatable {
    /// E.164 with `+`: `+886229996666` (`e164`, the default).
    case e164
    /// E.164 digits without `+`: `886229996666` (`e164_no_plus`).
    case e164NoPlus
    /// The national number with the trunk prefix: `0229996666` in TW (`national`); numbers of other
    /// countries go as E.164 with `+`.
    case national
    /// The tech prefix, then E.164 digits without `+`: `12345678*886229996666` (`tech_prefix` with
    /// `tech_prefix = 12345678*`).
    case techPrefix(String)
}

/// A region's country code and national (trunk) prefix (ITU-T E.164 and national numbering plans).
public struct NumberingPlan: Sendable, Equatable {
    /// The country calling code, digits only (`886`).
    public var countryCode: String
    /// The prefix dialled before a national number (`0`; `1` in the NANP).
    public var nationalPrefix: String

    /// The regions whose national numbers the gateway can convert (`national` format, national
    /// inbound numbers). Others pass numbers to the core as received.
    public static let known: [String: NumberingPlan] = [
        "TW": .init(countryCode: "886", nationalPrefix: "0"), "CN": .init(countryCode: "86", nationalPrefix: "0"),
        "JP": .init(countryCode: "81", nationalPrefix: "0"), "KR": .init(countryCode: "82", nationalPrefix: "0"),
        "US": .init(countryCode: "1", nationalPrefix: "1"), "CA": .init(countryCode: "1", nationalPrefix: "1"),
        "GB": .init(countryCode: "44", nationalPrefix: "0"), "DE": .init(countryCode: "49", nationalPrefix: "0"),
        "FR": .init(countryCode: "33", nationalPrefix: "0"), "NL": .init(countryCode: "31", nationalPrefix: "0"),
        "AU": .init(countryCode: "61", nationalPrefix: "0"), "NZ": .init(countryCode: "64", nationalPrefix: "0"),
        "IN": .init(countryCode: "91", nationalPrefix: "0"), "BR": .init(countryCode: "55", nationalPrefix: "0"),
    ]
}

/// Number conversions for trunks.
public enum TrunkNumbers {
    /// `number` (E.164 with `+`) written in `format` for a trunk in `region`.
    public static func outbound(_ number: String, format: TrunkNumberFormat, region: String) -> String {
        let digits = number.hasPrefix("+") ? String(number.dropFirst()) : number
        switch format {
        case .e164: return "+" + digits
        case .e164NoPlus: return digits
        case .techPrefix(let prefix): return prefix + digits
        case .national:
            guard let plan = NumberingPlan.known[region], digits.hasPrefix(plan.countryCode) else { return "+" + digits }
            return plan.nationalPrefix + digits.dropFirst(plan.countryCode.count)
        }
    }

    /// A number from a trunk (called or caller) as E.164 with `+` where it can tell:
    /// - `+886229996666` stays;
    /// - a leading `techPrefix` is removed first (`12345678*886229996666`);
    /// - digits starting with the national prefix of `region` are national (`0229996666` in TW);
    /// - in the NANP (US, CA), 10 digits are a national number without the 1;
    /// - other digits are E.164 without `+` (`886229996666`; Vonage's caller IDs).
    /// Digits in a region the gateway has no plan for are returned unchanged for the core to read
    /// with the region; anything that is not digits is returned unchanged.
    public static func inbound(_ number: String, techPrefix: String?, region: String) -> String {
        var rest = Substring(number)
        if let techPrefix, !techPrefix.isEmpty, rest.hasPrefix(techPrefix) { rest = rest.dropFirst(techPrefix.count) }
        if rest.hasPrefix("+") { return String(rest) }
        guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return String(rest) }
        guard let plan = NumberingPlan.known[region] else { return String(rest) }
        // NANP numbers are often sent as the 10-digit national number without the 1.
        if plan.countryCode == "1", rest.count == 10, !rest.hasPrefix("1") { return "+1" + rest }
        if rest.hasPrefix(plan.nationalPrefix) {
            let national = rest.dropFirst(plan.nationalPrefix.count)
            // In the NANP the trunk prefix is the country code: 1 212… is +1 212… either way.
            return "+" + plan.countryCode + national
        }
        return "+" + rest
    }
}
