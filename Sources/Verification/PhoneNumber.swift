import CPhoneNumber

/// A valid phone number in E.164 form, with what libphonenumber knows of it (ITU-T E.164).
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    /// "+886975000888".
    public var e164: String
    /// ISO 3166-1 alpha-2 region of the number, "TW".
    public var region: String
    /// Country calling code, 886.
    public var countryCode: Int
    /// Line type as libphonenumber classifies it.
    public var type: LineType
    /// National format for display, "0975 000 888".
    public var national: String
    /// International format for display, "+886 975 000 888".
    public var international: String

    /// Line types of libphonenumber's `PhoneNumberType`.
    public enum LineType: String, Sendable, Codable, Hashable, CaseIterable {
        case fixedLine = "FIXED_LINE", mobile = "MOBILE", fixedLineOrMobile = "FIXED_LINE_OR_MOBILE"
        case tollFree = "TOLL_FREE", premiumRate = "PREMIUM_RATE", sharedCost = "SHARED_COST"
        case voip = "VOIP", personalNumber = "PERSONAL_NUMBER", pager = "PAGER", uan = "UAN"
        case voicemail = "VOICEMAIL", unknown = "UNKNOWN"
    }

    /// The E.164 form.
    public var description: String { e164 }

    /// SMS reaches mobile lines (and lines the plan cannot tell from mobile); never fixed lines.
    public var canReceiveSMS: Bool {
        switch type {
        case .mobile, .fixedLineOrMobile, .pager, .personalNumber: true
        case .fixedLine, .tollFree, .premiumRate, .sharedCost, .voip, .uan, .voicemail, .unknown: false
        }
    }

    /// Parses what a person typed ("0975000888", "+886 2 2999 6666", "02-2999-6666") with
    /// `defaultRegion` for numbers written without a country code.
    public init(parsing text: String, defaultRegion: String) throws(PhoneNumberError) {
        guard text.utf8.count <= 64 else { throw .tooLong }
        var info = vg_phone_info()
        let status = vg_phone_parse(text, defaultRegion.uppercased(), &info)
        switch status {
        case VG_PHONE_OK: break
        case VG_PHONE_INVALID_COUNTRY_CODE: throw .invalidCountryCode
        case VG_PHONE_NOT_A_NUMBER: throw .notANumber
        case VG_PHONE_TOO_SHORT_AFTER_IDD, VG_PHONE_TOO_SHORT_NSN: throw .tooShort
        case VG_PHONE_TOO_LONG: throw .tooLong
        case VG_PHONE_INVALID_FOR_REGION: throw .invalidForRegion
        default: throw .notANumber
        }
        e164 = Self.string(&info.e164)
        region = Self.string(&info.region)
        national = Self.string(&info.national)
        international = Self.string(&info.international)
        countryCode = Int(info.country_code)
        type = Self.lineType(info.type)
    }

    /// The country calling code of a region ("TW" → 886), nil when unknown.
    public static func countryCode(forRegion region: String) -> Int? {
        let code = vg_phone_country_code_for_region(region.uppercased())
        return code == 0 ? nil : Int(code)
    }

    private static func string<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func lineType(_ t: vg_phone_type) -> LineType {
        switch t {
        case VG_PHONE_FIXED_LINE: .fixedLine
        case VG_PHONE_MOBILE: .mobile
        case VG_PHONE_FIXED_LINE_OR_MOBILE: .fixedLineOrMobile
        case VG_PHONE_TOLL_FREE: .tollFree
        case VG_PHONE_PREMIUM_RATE: .premiumRate
        case VG_PHONE_SHARED_COST: .sharedCost
        case VG_PHONE_VOIP: .voip
        case VG_PHONE_PERSONAL_NUMBER: .personalNumber
        case VG_PHONE_PAGER: .pager
        case VG_PHONE_UAN: .uan
        case VG_PHONE_VOICEMAIL: .voicemail
        default: .unknown
        }
    }
}

/// Why a number was refused; `reason` is shown to the integrator.
public enum PhoneNumberError: Error, Sendable, Equatable {
    case invalidCountryCode, notANumber, tooShort, tooLong, invalidForRegion

    /// A sentence for the problem detail.
    public var reason: String {
        switch self {
        case .invalidCountryCode: "the country calling code is not valid"
        case .notANumber: "this is not a phone number"
        case .tooShort: "the number is too short"
        case .tooLong: "the number is too long"
        case .invalidForRegion: "no number of that country has this form"
        }
    }
}
