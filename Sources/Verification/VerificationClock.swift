import Foundation

/// Time as an input: the service never reads the wall clock itself (docs/ARCHITECTURE.md, habit 2).
public protocol VerificationClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The system wall clock.
public struct SystemClock: VerificationClock {
    /// The wall clock.
    public init() {}
    /// `Date()`.
    public func now() -> Date { Date() }
}
