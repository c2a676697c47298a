import Testing
@testable import VerificationServer

@Test func placeholder() {}
