import Testing
@testable import Verification

@Test func placeholder() {}
