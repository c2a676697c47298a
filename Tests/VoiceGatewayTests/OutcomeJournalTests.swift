import Foundation
import GatewayProtocol
import Testing
@testable import VoiceGateway

/// The outcome journal as a gateway restart sees it: what was not acknowledged comes back in
/// order, calls that never ended come back as failed, compaction and damage lose nothing else.
@Suite("Outcome journal")
struct OutcomeJournalTests {
    private func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("verigate-journal-\(UUID().uuidString.prefix(8))").path
    }

    private func ended(_ id: String, call: String, _ reason: CallEnded.Reason = .completed) -> GatewayMessage {
        .callEnded(CallEnded(outcomeID: id, callID: call, verificationID: "v-\(call)", reason: reason, sipStatus: 603))
    }

    private func ringing(_ id: String, call: String) -> GatewayMessage {
        .callProgress(CallProgress(outcomeID: id, callID: call, verificationID: "v-\(call)", state: .ringing))
    }

    @Test("unacknowledged outcomes come back in order; acknowledged ones do not")
    func unacknowledgedOutcomesAreRecovered() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let journal = try OutcomeJournal(path: file)
            #expect(journal.recovered.isEmpty)
            journal.callBegan(callID: "c1", verificationID: "v-c1")
            journal.outcome(ringing("o1", call: "c1"), id: "o1")
            journal.outcome(ended("o2", call: "c1"), id: "o2")
            journal.callBegan(callID: "c2", verificationID: "v-c2")
            journal.outcome(ended("o3", call: "c2", .busy), id: "o3")
            journal.acknowledged(["o1", "o3"])
            #expect(journal.pendingOutcomes == 1)
            #expect(journal.openCalls == 0)
        }
        let reopened = try OutcomeJournal(path: file)
        #expect(reopened.recovered.map(\.id) == ["o2"])
        #expect(reopened.recovered.first?.message == ended("o2", call: "c1"))
    }

    @Test("a call_proven not yet acknowledged comes back after a restart, before the call's end")
    func callProvenIsRecovered() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let proven = GatewayMessage.callProven(CallProven(outcomeID: "p1", callID: "c1", verificationID: "v-c1", caller: "0975000888", region: "TW",
                                                          called: "+886229996666", trust: .asserted))
        do {
            let journal = try OutcomeJournal(path: file)
            journal.callBegan(callID: "c1", verificationID: "v-c1")
            journal.outcome(proven, id: "p1")
            journal.outcome(ended("o2", call: "c1"), id: "o2")
        }
        let reopened = try OutcomeJournal(path: file)
        #expect(reopened.recovered.map(\.id) == ["p1", "o2"])
        #expect(reopened.recovered.first?.message == proven)
    }

    @Test("a call that began and never ended comes back as failed: gateway restarted; a second restart does not repeat it")
    func openCallsBecomeFailedOutcomes() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let journal = try OutcomeJournal(path: file)
            journal.callBegan(callID: "c1", verificationID: "v-c1")
            journal.outcome(ringing("o1", call: "c1"), id: "o1")
            journal.acknowledged(["o1"])
        }
        let first = try OutcomeJournal(path: file, recoveredOutcomeIDPrefix: "r1")
        #expect(first.recovered.count == 1)
        guard case .callEnded(let ended)? = first.recovered.first?.message else {
            Issue.record("expected call_ended, got \(first.recovered)")
            return
        }
        #expect(ended == CallEnded(outcomeID: "r1-c1", callID: "c1", verificationID: "v-c1", reason: .failed, detail: "gateway restarted"))
        #expect(first.openCalls == 0)
        // Restarted again before the core acknowledged it: the same outcome, not a second one.
        let second = try OutcomeJournal(path: file, recoveredOutcomeIDPrefix: "r2")
        #expect(second.recovered.map(\.id) == ["r1-c1"])
        second.acknowledged(["r1-c1"])
        #expect(try OutcomeJournal(path: file).recovered.isEmpty)
    }

    @Test("compaction keeps exactly what is open, however many outcomes passed through")
    func compactionKeepsWhatIsOpen() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let journal = try OutcomeJournal(path: file, compactAfterBytes: 4_096)
            for n in 0..<2_000 {
                journal.callBegan(callID: "c\(n)", verificationID: "v-c\(n)")
                journal.outcome(ended("o\(n)", call: "c\(n)"), id: "o\(n)")
                if n % 500 != 7 { journal.acknowledged(["o\(n)"]) }
            }
            journal.callBegan(callID: "open", verificationID: "v-open")
            let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            #expect(size < 8_192, "compacted: \(size) bytes")
        }
        let reopened = try OutcomeJournal(path: file, recoveredOutcomeIDPrefix: "r")
        #expect(reopened.recovered.map(\.id) == ["o7", "o507", "o1007", "o1507", "r-open"])
    }

    @Test("a backlog the core has not acknowledged (10,000 outcomes) is rewritten a few times, not at every line, and all of it recovered in order")
    func backlogIsNotRewrittenAtEveryLine() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let journal = try OutcomeJournal(path: file, compactAfterBytes: 4_096)
            for n in 0..<10_000 { journal.outcome(ended("o\(n)", call: "c\(n)"), id: "o\(n)") }
            // 10,000 lines of about 100 bytes: each rewrite at least doubles the threshold.
            #expect(journal.compactions <= 10, "\(journal.compactions) rewrites")
            journal.acknowledged((0..<10_000).filter { $0 % 1_000 != 0 }.map { "o\($0)" })
            #expect(journal.pendingOutcomes == 10)
            #expect(journal.unacknowledged == (0..<10).map { ended("o\($0 * 1_000)", call: "c\($0 * 1_000)") })
        }
        #expect(try OutcomeJournal(path: file).recovered.map(\.id) == (0..<10).map { "o\($0 * 1_000)" })
    }

    @Test("damaged lines (a torn last write, garbage) are skipped; the rest is recovered")
    func damagedLinesAreSkipped() throws {
        let file = path()
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            let journal = try OutcomeJournal(path: file)
            journal.outcome(ended("o1", call: "c1"), id: "o1")
        }
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("X\tnonsense\nO\t{\"type\":\"call_ended\",\"call_i".utf8))
        handle.closeFile()
        #expect(try OutcomeJournal(path: file).recovered.map(\.id) == ["o1"])
    }

    @Test("a journal that cannot be created is a clear error naming the path")
    func unwritablePathFails() {
        #expect {
            _ = try OutcomeJournal(path: "/nonexistent-dir/verigate.journal")
        } throws: { error in
            "\(error)".contains("/nonexistent-dir/verigate.journal")
        }
    }
}
