import Testing
@testable import Verification

@Suite struct PhoneNumberTests {
    @Test func taiwaneseMobileInNationalFormat() throws {
        let n = try PhoneNumber(parsing: "0975000888", defaultRegion: "TW")
        #expect(n.e164 == "+886975000888")
        #expect(n.type == .mobile)
        #expect(n.region == "TW")
        #expect(n.countryCode == 886)
        #expect(n.canReceiveSMS)
    }

    @Test func taipeiFixedLine() throws {
        let n = try PhoneNumber(parsing: "+886 2 2999 6666", defaultRegion: "US")
        #expect(n.e164 == "+886229996666")
        #expect(n.type == .fixedLine)
        #expect(!n.canReceiveSMS)
        #expect(try PhoneNumber(parsing: "02-2999-6666", defaultRegion: "TW").e164 == "+886229996666")
    }

    @Test(arguments: [
        ("hello", PhoneNumberError.notANumber),
        ("+999 123456", .invalidCountryCode),
        ("09750008", .invalidForRegion),
        ("0975000888999999999999", .tooLong),
    ])
    func refusedWithReason(text: String, error: PhoneNumberError) {
        #expect(throws: error) { try PhoneNumber(parsing: text, defaultRegion: "TW") }
    }

    @Test func countryCodeOfRegion() {
        #expect(PhoneNumber.countryCode(forRegion: "tw") == 886)
        #expect(PhoneNumber.countryCode(forRegion: "ZZ") == nil)
    }
}
