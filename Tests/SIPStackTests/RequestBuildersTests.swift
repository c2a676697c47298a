import Foundation
import SIPMessage
import Testing
@testable import SIPStack

@Suite("Derived requests and transaction keys (RFC 3261 §9.1, §17.1.1.3, §17.1.3, §17.2.3)")
struct RequestBuildersTests {
    let busy = Fixture.ringing.replacingOccurrences(of: "180 Ringing", with: "486 Busy Here")

    @Test("ACK for a non-2xx: INVITE's Request-URI, top Via, From, Call-ID, CSeq number; response's To")
    func ackForNonSuccess() throws {
        let invite = try Fixture.request(Fixture.invite.replacingOccurrences(of: "Max-Forwards: 70\n", with: "Max-Forwards: 70\nRoute: <sip:p1.example.com;lr>\n"))
        let ack = RequestBuilders.ackForNonSuccess(invite: invite, response: try Fixture.response(busy))
        #expect(ack.method == .ack)
        #expect(ack.uriText == invite.uriText)
        #expect(try ack.headers.topVia() == invite.headers.topVia())
        #expect(try ack.headers.via().count == 1)
        #expect(try ack.headers.to().tag == "a6c85cf")
        #expect(try ack.headers.from() == invite.headers.from())
        #expect(try ack.headers.cseq() == SIPCSeq(314159, .ack))
        #expect(try ack.headers.route().map(\.uri.description) == ["sip:p1.example.com;lr"])
        // The ACK matches the INVITE's server transaction (§17.2.3).
        #expect(try TransactionKey(serverRequest: ack) == TransactionKey(serverRequest: invite))
    }

    @Test("CANCEL: same Request-URI, Call-ID, To, From, CSeq number, top Via branch; its own transaction")
    func cancel() throws {
        let invite = try Fixture.request(Fixture.invite)
        let cancel = RequestBuilders.cancel(for: invite)
        #expect(cancel.method == .cancel)
        #expect(cancel.uriText == invite.uriText)
        #expect(try cancel.headers.topVia().branch == "z9hG4bK776asdhds")
        #expect(try cancel.headers.cseq() == SIPCSeq(314159, .cancel))
        #expect(try cancel.headers.to() == invite.headers.to())
        #expect(try TransactionKey(clientRequest: cancel) != TransactionKey(clientRequest: invite))
        #expect(try TransactionKey(serverRequest: cancel).invitePeerOfCancel() == TransactionKey(serverRequest: invite))
        // What we build parses back unchanged.
        #expect(try SIPMessageParser().parseDatagram(SIPMessage.request(cancel).serialized) == .request(cancel))
    }

    @Test("Client key: a response matches the request by branch and CSeq method")
    func clientKey() throws {
        let invite = try Fixture.request(Fixture.invite)
        #expect(try TransactionKey(clientResponse: try Fixture.response(Fixture.ringing)) == TransactionKey(clientRequest: invite))
        let byeResponse = try Fixture.response(Fixture.ok(cseq: "314159 BYE"))
        #expect(try TransactionKey(clientResponse: byeResponse) != TransactionKey(clientRequest: invite))
    }

    @Test("Server key: sent-by and method distinguish; host case is ignored")
    func serverKey() throws {
        let invite = try Fixture.request(Fixture.invite)
        let upper = try Fixture.request(Fixture.invite.replacingOccurrences(of: "UDP pc33.atlanta", with: "UDP PC33.ATLANTA"))
        #expect(try TransactionKey(serverRequest: invite) == TransactionKey(serverRequest: upper))
        let otherPort = try Fixture.request(Fixture.invite.replacingOccurrences(of: "example.com:5060;branch", with: "example.com:5070;branch"))
        #expect(try TransactionKey(serverRequest: invite) != TransactionKey(serverRequest: otherPort))
    }

    @Test("RFC 2543 fallback: without the magic cookie, the ACK still matches its INVITE; a new CSeq does not")
    func rfc2543() throws {
        let old = Fixture.invite.replacingOccurrences(of: "branch=z9hG4bK776asdhds", with: "branch=old2543")
        let invite = try Fixture.request(old)
        let key = try TransactionKey(serverRequest: invite)
        guard case .rfc2543 = key else { Issue.record("expected an RFC 2543 key"); return }
        let ack = RequestBuilders.ackForNonSuccess(invite: invite, response: try Fixture.response(busy))
        #expect(try TransactionKey(serverRequest: ack) == key)
        let retransmission = try Fixture.request(old)
        #expect(try TransactionKey(serverRequest: retransmission) == key)
        let next = try Fixture.request(old.replacingOccurrences(of: "CSeq: 314159", with: "CSeq: 314160"))
        #expect(try TransactionKey(serverRequest: next) != key)
        let noBranch = try Fixture.request(Fixture.invite.replacingOccurrences(of: ";branch=z9hG4bK776asdhds", with: ""))
        guard case .rfc2543 = try TransactionKey(serverRequest: noBranch) else { Issue.record("expected an RFC 2543 key"); return }
    }
}

@Suite("TransactionTable")
struct TransactionTableTests {
    @Test("Per-source cap: one peer cannot exhaust the table; others still get in; removal frees the slot")
    func perSourceCap() throws {
        var table = TransactionTable<String, Int>(maxPerSource: 3, maxTotal: 5)
        for index in 0..<3 {
            try table.insert(index, for: .client(branch: "z9hG4bK\(index)", cseqMethod: "INVITE"), from: "10.0.0.1")
        }
        #expect(throws: SIPStackError(.sourceTransactionLimit, "source holds 3 transactions")) {
            try table.insert(9, for: .client(branch: "z9hG4bKx", cseqMethod: "INVITE"), from: "10.0.0.1")
        }
        #expect(throws: SIPStackError.self) { try table.insert(9, for: .client(branch: "z9hG4bK0", cseqMethod: "INVITE"), from: "10.0.0.2") }
        try table.insert(10, for: .client(branch: "z9hG4bKb", cseqMethod: "INVITE"), from: "10.0.0.2")
        try table.insert(11, for: .client(branch: "z9hG4bKc", cseqMethod: "INVITE"), from: "10.0.0.3")
        #expect(throws: SIPStackError(.transactionTableFull, "table holds 5 transactions")) {
            try table.insert(12, for: .client(branch: "z9hG4bKd", cseqMethod: "INVITE"), from: "10.0.0.4")
        }
        #expect(table.remove(.client(branch: "z9hG4bK1", cseqMethod: "INVITE")) == 1)
        #expect(table.count(from: "10.0.0.1") == 2)
        try table.insert(13, for: .client(branch: "z9hG4bKe", cseqMethod: "INVITE"), from: "10.0.0.1")
        table[.client(branch: "z9hG4bKe", cseqMethod: "INVITE")] = 14
        #expect(table[.client(branch: "z9hG4bKe", cseqMethod: "INVITE")] == 14)
        #expect(table.count == 5)
    }
}
