import Foundation

/// Sample messages, shared with the fuzz seed corpus and the benchmarks (one copy, in Fuzz/corpus).
func seedMessage(_ name: String) -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus/sipmessage/\(name).sip").standardized
    return try! String(contentsOf: url, encoding: .utf8)
}

/// A typical INVITE from a softphone with SDP (RFC 3665 §3.1 style).
let typicalInvite = seedMessage("typicalInvite")
/// A 200 OK with a digest challenge, received and rport.
let typicalOK = seedMessage("typicalOK")
/// An OPTIONS with compact forms over TCP on IPv6.
let shortOptions = seedMessage("shortOptions")
