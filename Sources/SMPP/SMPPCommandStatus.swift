/// SMPP 3.4 §5.1.3 command_status: an open set of 32-bit error codes with their spec names.
public struct SMPPCommandStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The numeric value on the wire.
    public var rawValue: UInt32
    /// Wraps a wire value.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// No error.
    public static let ESME_ROK = Self(rawValue: 0x00)
    /// Message length is invalid.
    public static let ESME_RINVMSGLEN = Self(rawValue: 0x01)
    /// Command length is invalid.
    public static let ESME_RINVCMDLEN = Self(rawValue: 0x02)
    /// Invalid command ID.
    public static let ESME_RINVCMDID = Self(rawValue: 0x03)
    /// Incorrect bind status for the given command.
    public static let ESME_RINVBNDSTS = Self(rawValue: 0x04)
    /// ESME already in bound state.
    public static let ESME_RALYBND = Self(rawValue: 0x05)
    /// System error.
    public static let ESME_RSYSERR = Self(rawValue: 0x08)
    /// Invalid source address.
    public static let ESME_RINVSRCADR = Self(rawValue: 0x0A)
    /// Invalid destination address.
    public static let ESME_RINVDSTADR = Self(rawValue: 0x0B)
    /// Message ID is invalid.
    public static let ESME_RINVMSGID = Self(rawValue: 0x0C)
    /// Bind failed.
    public static let ESME_RBINDFAIL = Self(rawValue: 0x0D)
    /// Invalid password.
    public static let ESME_RINVPASWD = Self(rawValue: 0x0E)
    /// Invalid system ID.
    public static let ESME_RINVSYSID = Self(rawValue: 0x0F)
    /// Message queue full.
    public static let ESME_RMSGQFUL = Self(rawValue: 0x14)
    /// Invalid service type.
    public static let ESME_RINVSERTYP = Self(rawValue: 0x15)
    /// submit_sm failed.
    public static let ESME_RSUBMITFAIL = Self(rawValue: 0x45)
    /// Invalid source address TON.
    public static let ESME_RINVSRCTON = Self(rawValue: 0x48)
    /// Invalid destination address TON.
    public static let ESME_RINVDSTTON = Self(rawValue: 0x50)
    /// Throttling error (ESME has exceeded allowed message limits).
    public static let ESME_RTHROTTLED = Self(rawValue: 0x58)
    /// Invalid scheduled delivery time.
    public static let ESME_RINVSCHED = Self(rawValue: 0x61)
    /// Invalid message validity period.
    public static let ESME_RINVEXPIRY = Self(rawValue: 0x62)
    /// Unknown error.
    public static let ESME_RUNKNOWNERR = Self(rawValue: 0xFF)

    private static let names: [UInt32: String] = [
        0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID",
        0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND", 0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG",
        0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
        0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x11: "ESME_RCANCELFAIL",
        0x13: "ESME_RREPLACEFAIL", 0x14: "ESME_RMSGQFUL", 0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS",
        0x34: "ESME_RINVDLNAME", 0x40: "ESME_RINVDESTFLAG", 0x42: "ESME_RINVSUBREP", 0x43: "ESME_RINVESMCLASS",
        0x44: "ESME_RCNTSUBDL", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI",
        0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI", 0x53: "ESME_RINVSYSTYP", 0x54: "ESME_RINVREPFLAG",
        0x55: "ESME_RINVNUMMSGS", 0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
        0x63: "ESME_RINVDFTMSGID", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN", 0x66: "ESME_RX_R_APPN",
        0x67: "ESME_RQUERYFAIL", 0xC0: "ESME_RINVOPTPARSTREAM", 0xC1: "ESME_ROPTPARNOTALLWD",
        0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM", 0xC4: "ESME_RINVOPTPARAMVAL",
        0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
    ]

    /// The spec name (`ESME_RTHROTTLED`), or `0x…` for vendor-specific values.
    public var name: String {
        Self.names[rawValue] ?? "0x" + String(rawValue, radix: 16, uppercase: true)
    }

    /// Same as `name`.
    public var description: String { name }

    /// The SMSC asks us to slow down: the submit is retried later (§5.1.3 ESME_RTHROTTLED, ESME_RMSGQFUL).
    public var isTransient: Bool { self == .ESME_RTHROTTLED || self == .ESME_RMSGQFUL }
}
