import Foundation
import Testing

/// The integration tests give each gateway its own RTP port range (`RTPPortAllocator(range:)`,
/// written as literal ranges of port numbers) and run suites in parallel: two ranges that share a port, or a
/// range whose top RTCP port (RTP + 1, RFC 3550 §11) is the next one's first, make calls fail only
/// when the two tests happen to run together (docs/TESTING.md: ports that cannot collide).
@Suite("Test port ranges")
struct TestPortRangeTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// Every literal `NN_NNN...NN_NNN` range in the test sources, with where it is.
    static func ranges() throws -> [(range: ClosedRange<Int>, place: String)] {
        let pattern = try NSRegularExpression(pattern: #"\b(\d{2}_\d{3})\.\.\.(\d{2}_\d{3})\b"#)
        var found: [(ClosedRange<Int>, String)] = []
        let files = FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(line)
                for match in pattern.matches(in: line, range: NSRange(line.startIndex..., in: line)) {
                    guard let low = Range(match.range(at: 1), in: line).flatMap({ Int(line[$0].replacingOccurrences(of: "_", with: "")) }),
                          let high = Range(match.range(at: 2), in: line).flatMap({ Int(line[$0].replacingOccurrences(of: "_", with: "")) }), low <= high else { continue }
                    found.append((low...high, "\(file.lastPathComponent):\(index + 1)"))
                }
            }
        }
        return found
    }

    @Test("no two literal port ranges in the tests share a port, counting each range's RTCP port above its top")
    func disjoint() throws {
        let ranges = try Self.ranges().sorted { $0.range.lowerBound < $1.range.lowerBound }
        #expect(ranges.count > 20, "the scan found the ranges: \(ranges.count)")
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            #expect(a.range.upperBound + 1 < b.range.lowerBound, "\(a.place) \(a.range) and \(b.place) \(b.range) overlap")
        }
    }
}
