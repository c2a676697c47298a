import Testing
@testable import Media

@Test func placeholder() {}
