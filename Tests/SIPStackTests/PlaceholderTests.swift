import Testing
@testable import SIPStack

@Test func placeholder() {}
