import Verification

/// The domain's `Channel`, named apart from NIO's `Channel` for files that import both.
public typealias VerificationChannel = Channel
