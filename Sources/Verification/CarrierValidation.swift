// CarrierValidation: what the caller's carrier says about the calling number — 3GPP TS 24.229
// §7.2A.20 `verstat` (the carrier's STIR/SHAKEN verification, RFC 8224), as a trusted peer of the
// gateway reports it (README "Caller ID from carriers (verstat)").

/// The carrier's verification of a caller's number (3GPP TS 24.229 §7.2A.20 `verstat`).
public enum CarrierValidation: String, Sendable, Hashable, Codable, CaseIterable {
    /// `TN-Validation-Passed`: the carrier validated the number.
    case passed = "TN-Validation-Passed"
    /// `TN-Validation-Failed`: the carrier's validation failed; such a call never approves anything.
    case failed = "TN-Validation-Failed"
    /// `No-TN-Validation`: the carrier did not validate the number.
    case notValidated = "No-TN-Validation"
}

extension CallerIDTrust {
    /// The level of a caller ID learned as `self` that the carrier validated as `validation`: an
    /// asserted number the carrier validated (`TN-Validation-Passed`) is `verified`; anything else
    /// keeps its level. A failed validation is no level: it refuses the call whatever the policy
    /// (`VerificationService.inboundCall`, `callProven`).
    public func confirmed(by validation: CarrierValidation?) -> CallerIDTrust {
        self == .asserted && validation == .passed ? .verified : self
    }

    /// The words for the audit trail: `asserted`, or `verified, verstat TN-Validation-Passed`.
    func auditText(_ validation: CarrierValidation?) -> String {
        rawValue + (validation.map { ", verstat \($0.rawValue)" } ?? "")
    }
}
