import Testing
@testable import SIPMessage

@Test func placeholder() {}
