import SIPMessage
import Testing
@testable import SIPStack

/// A seeded generator so that nonces in tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Digest authentication (RFC 7616, RFC 8760, RFC 2617)")
struct DigestTests {
    // RFC 7616 §3.9.1
    static let rfc7616Challenge = """
        Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, \
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        """
    static let rfc7616ChallengeMD5 = """
        Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, \
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        """
    static let rfc7616CNonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

    @Test("RFC 7616 §3.9.1: the strongest offered (SHA-256) is chosen and its response matches the RFC")
    func rfc7616SHA256() throws {
        let challenges = [try DigestChallenge(parsing: Self.rfc7616ChallengeMD5), try DigestChallenge(parsing: Self.rfc7616Challenge)]
        let chosen = try DigestClient.choose(from: challenges)
        #expect(chosen.algorithm == .sha256)
        #expect(chosen.qopOptions == ["auth", "auth-int"])
        var client = DigestClient(username: "Mufasa", password: "Circle of Life")
        let credentials = try client.credentials(for: chosen, method: "GET", uri: "/dir/index.html", cnonce: Self.rfc7616CNonce)
        #expect(credentials.response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        #expect(credentials.nonceCount == "00000001")
        #expect(credentials.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        #expect(credentials.headerValue.contains("qop=auth, nc=00000001"))
        #expect(credentials.headerValue.contains("algorithm=SHA-256"))
        #expect(try DigestCredentials(parsing: credentials.headerValue) == credentials)
    }

    @Test("RFC 7616 §3.9.1: MD5 response matches the RFC")
    func rfc7616MD5() throws {
        var client = DigestClient(username: "Mufasa", password: "Circle of Life")
        let credentials = try client.credentials(for: try DigestChallenge(parsing: Self.rfc7616ChallengeMD5), method: "GET", uri: "/dir/index.html", cnonce: Self.rfc7616CNonce)
        #expect(credentials.response == "8ca523f5e9506fed4657c9700eebdbec")
    }

    @Test("RFC 2617 §3.5: MD5 with qop=auth and no algorithm parameter")
    func rfc2617() throws {
        let challenge = try DigestChallenge(parsing: """
            Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
            opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """)
        #expect(challenge.algorithmToken == nil)
        #expect(challenge.algorithm == .md5)
        var client = DigestClient(username: "Mufasa", password: "Circle Of Life")
        let credentials = try client.credentials(for: challenge, method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b")
        #expect(credentials.response == "6629fae49393a05397450978507c4ef1")
        #expect(credentials.algorithmToken == nil)
        // The RFC's own Authorization header parses to the same values.
        let parsed = try DigestCredentials(parsing: """
            Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
            uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", \
            response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """)
        #expect(parsed == credentials)
    }

    @Test("The nonce count increases when a nonce is reused")
    func nonceCountIncrements() throws {
        var client = DigestClient(username: "u", password: "p")
        let challenge = DigestChallenge(realm: "r", nonce: "n", algorithm: .sha256)
        let first = try client.credentials(for: challenge, method: "REGISTER", uri: "sip:r", cnonce: "a")
        let second = try client.credentials(for: challenge, method: "REGISTER", uri: "sip:r", cnonce: "b")
        #expect(first.nonceCount == "00000001")
        #expect(second.nonceCount == "00000002")
        #expect(first.response != second.response)
    }

    @Test("Challenges with unknown algorithms or only auth-int are refused with typed errors")
    func unsupported() throws {
        let unknown = try DigestChallenge(parsing: #"Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth""#)
        #expect(throws: SIPStackError(.unsupportedDigestAlgorithm, "no offered algorithm is supported")) { try DigestClient.choose(from: [unknown]) }
        let authInt = try DigestChallenge(parsing: #"Digest realm="r", nonce="n", qop="auth-int""#)
        #expect(throws: SIPStackError(.unsupportedDigestQOP, "no challenge offers qop=auth")) { try DigestClient.choose(from: [authInt, unknown]) }
        #expect(try DigestClient.choose(from: [unknown, try DigestChallenge(parsing: #"Digest realm="r", nonce="m""#)]).nonce == "m")
    }

    @Test("Malformed headers give malformedDigestHeader, never a crash", arguments: [
        "", "Basic realm=\"x\"", "Digest", "Digest realm", "Digest realm=\"x", "Digest realm=\"x\" nonce=\"y\"",
        "Digest realm=\"x\", realm=\"y\", nonce=\"z\"", "Digest nonce=\"y\"", "Digest realm=\"x\",,", "Digest =x",
        "Digest realm=\"\\", String(repeating: "a", count: 5000),
    ])
    func malformed(header: String) {
        #expect {
            _ = try DigestChallenge(parsing: header)
        } throws: { error in
            (error as? SIPStackError)?.code == .malformedDigestHeader
        }
    }

    @Test("Quoted values with escapes round-trip")
    func escapes() throws {
        let challenge = DigestChallenge(realm: #"a "quoted" \realm"#, nonce: "n", algorithm: .md5)
        #expect(try DigestChallenge(parsing: challenge.headerValue) == challenge)
    }

    // MARK: Server

    func makeServer() -> DigestServer {
        DigestServer(realm: "verigate.test", secret: Array(repeating: 7, count: 32), nonceLifetime: .seconds(300))
    }

    @Test("Round trip: server challenges (SHA-256 and MD5), client answers, server accepts; replay refused")
    func roundTrip() throws {
        var server = makeServer()
        var generator = SeededGenerator(state: 1)
        let challenges = server.challenges(now: .seconds(1000), using: &generator)
        #expect(challenges.map(\.algorithm) == [.sha256, .md5])
        // What goes on the wire parses back.
        let received = try challenges.map { try DigestChallenge(parsing: $0.headerValue) }
        var client = DigestClient(username: "alice", password: "secret")
        let chosen = try DigestClient.choose(from: received)
        #expect(chosen.algorithm == .sha256)
        let credentials = try client.credentials(for: chosen, method: "INVITE", uri: "sip:bob@verigate.test", cnonce: "c1")
        let onWire = try DigestCredentials(parsing: credentials.headerValue)
        #expect(server.verify(onWire, method: "INVITE", requestURI: "sip:bob@verigate.test", password: "secret", now: .seconds(1010)) == .accepted(username: "alice"))
        // The same credentials again: nc did not increase.
        #expect(server.verify(onWire, method: "INVITE", requestURI: "sip:bob@verigate.test", password: "secret", now: .seconds(1011)) == .rejected(.replayedNonceCount))
        // The next request with the same nonce and nc=2 is fine.
        let next = try client.credentials(for: chosen, method: "BYE", uri: "sip:bob@verigate.test", cnonce: "c2")
        #expect(server.verify(next, method: "BYE", requestURI: "sip:bob@verigate.test", password: "secret", now: .seconds(1012)) == .accepted(username: "alice"))
        // The challenges share one nonce: nc=1 on it under MD5 is a replay too.
        var md5Client = DigestClient(username: "alice", password: "secret")
        let md5Replay = try md5Client.credentials(for: received[1], method: "INVITE", uri: "sip:bob@verigate.test", cnonce: "c3")
        #expect(server.verify(md5Replay, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(1013)) == .rejected(.replayedNonceCount))
        // A fresh MD5 challenge works.
        let fresh = server.challenges(now: .seconds(1014), using: &generator)[1]
        let md5 = try md5Client.credentials(for: fresh, method: "INVITE", uri: "sip:bob@verigate.test", cnonce: "c4")
        #expect(md5.algorithm == .md5)
        #expect(server.verify(md5, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(1015)) == .accepted(username: "alice"))
    }

    @Test("Expired nonce with a right response gives stale; a new challenge carries stale=TRUE")
    func staleNonce() throws {
        var server = makeServer()
        var generator = SeededGenerator(state: 2)
        let challenge = server.challenges(now: .seconds(0), using: &generator)[0]
        var client = DigestClient(username: "alice", password: "secret")
        let credentials = try client.credentials(for: challenge, method: "REGISTER", uri: "sip:verigate.test", cnonce: "x")
        #expect(server.verify(credentials, method: "REGISTER", requestURI: nil, password: "secret", now: .seconds(301)) == .stale)
        let again = server.challenges(now: .seconds(301), stale: true, using: &generator)[0]
        #expect(again.headerValue.contains("stale=TRUE"))
        #expect(try DigestChallenge(parsing: again.headerValue).stale)
        // Expired nonce with a wrong password is plainly rejected, not stale.
        var wrong = DigestClient(username: "alice", password: "guess")
        let bad = try wrong.credentials(for: challenge, method: "REGISTER", uri: "sip:verigate.test", cnonce: "y")
        #expect(server.verify(bad, method: "REGISTER", requestURI: nil, password: "secret", now: .seconds(301)) == .rejected(.wrongResponse))
    }

    @Test("Forged nonces, wrong realm, wrong password, missing qop, URI mismatch and unknown users are rejected")
    func rejections() throws {
        var server = makeServer()
        var generator = SeededGenerator(state: 3)
        let challenge = server.challenges(now: .seconds(5), using: &generator)[0]
        var client = DigestClient(username: "alice", password: "secret")
        let good = try client.credentials(for: challenge, method: "INVITE", uri: "sip:a@b", cnonce: "z")

        var forged = good
        forged.nonce = String(good.nonce.dropLast()) + (good.nonce.hasSuffix("0") ? "1" : "0")
        #expect(server.verify(forged, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.unknownNonce))
        var notHex = good
        notHex.nonce = "not-a-nonce"
        #expect(server.verify(notHex, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.unknownNonce))
        var otherRealm = good
        otherRealm.realm = "evil"
        #expect(server.verify(otherRealm, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.wrongRealm))
        var noQOP = good
        noQOP.qop = nil
        #expect(server.verify(noQOP, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.missingQOP))
        #expect(server.verify(good, method: "INVITE", requestURI: "sip:other@b", password: "secret", now: .seconds(6)) == .rejected(.uriMismatch))
        #expect(server.verify(good, method: "INVITE", requestURI: nil, password: nil, now: .seconds(6)) == .rejected(.unknownUser))
        #expect(server.verify(good, method: "INVITE", requestURI: nil, password: "wrong", now: .seconds(6)) == .rejected(.wrongResponse))
        #expect(server.verify(good, method: "BYE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.wrongResponse))
        #expect(server.verify(good, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .accepted(username: "alice"))
        // A server with another secret does not know the nonce.
        var otherServer = DigestServer(realm: "verigate.test", secret: Array(repeating: 8, count: 32))
        #expect(otherServer.verify(good, method: "INVITE", requestURI: nil, password: "secret", now: .seconds(6)) == .rejected(.unknownNonce))
    }

    @Test("The nc table is bounded; a retired nonce is answered stale, not replayable")
    func boundedTracking() throws {
        var server = DigestServer(realm: "r", secret: Array(repeating: 1, count: 32), nonceLifetime: .seconds(1000), maxTrackedNonces: 4)
        var generator = SeededGenerator(state: 4)
        var client = DigestClient(username: "u", password: "p")
        var used: [DigestCredentials] = []
        for second in 0..<8 {
            let challenge = server.challenges(now: .seconds(second), using: &generator)[0]
            let credentials = try client.credentials(for: challenge, method: "OPTIONS", uri: "sip:r", cnonce: "c\(second)")
            #expect(server.verify(credentials, method: "OPTIONS", requestURI: nil, password: "p", now: .seconds(second)) == .accepted(username: "u"))
            used.append(credentials)
        }
        #expect(server.trackedNonceCount <= 4)
        // The first nonce was retired: replaying it is not accepted.
        #expect(server.verify(used[0], method: "OPTIONS", requestURI: nil, password: "p", now: .seconds(9)) == .stale)
        #expect(server.verify(used[7], method: "OPTIONS", requestURI: nil, password: "p", now: .seconds(9)) == .rejected(.replayedNonceCount))
    }
}

@Suite("Digest over SIP messages (RFC 3261 §22)")
struct DigestMessageTests {
    @Test("401 from the server, retry with Authorization, server verifies; 407 uses the proxy headers")
    func challengeRetryVerify() throws {
        let invite = try Fixture.request(Fixture.invite)
        var server = DigestServer(realm: "biloxi.example.com", secret: Array(repeating: 3, count: 32))
        var generator = SeededGenerator(state: 9)
        for (status, challengeHeader, credentialsHeader) in [(401, SIPHeaderName.wwwAuthenticate, SIPHeaderName.authorization), (407, .proxyAuthenticate, .proxyAuthorization)] {
            var challenge = SIPResponse(replyingTo: invite, statusCode: status, toTag: "srv")
            for offer in server.challenges(now: .seconds(50), using: &generator) { challenge.headers.add(challengeHeader, offer.headerValue) }
            // Over the wire and back.
            guard case .response(let received) = try SIPMessageParser().parseDatagram(SIPMessage.response(challenge).serialized) else {
                Issue.record("not a response"); return
            }
            var client = DigestClient(username: "alice", password: "wonderland")
            let retry = try client.retry(invite, answering: received, branch: "z9hG4bKretry\(status)", cnonce: "cn\(status)")
            #expect(try retry.headers.cseq() == SIPCSeq(314160, .invite))
            #expect(try retry.headers.topVia().branch == "z9hG4bKretry\(status)")
            #expect(try retry.headers.callID() == invite.headers.callID())
            let credentials = try DigestCredentials(try #require(try retry.headers.auth(credentialsHeader).first))
            #expect(credentials.algorithm == .sha256)
            #expect(credentials.uri == "sip:bob@biloxi.example.com")
            #expect(server.verify(credentials, method: "INVITE", requestURI: retry.uriText, password: "wonderland", now: .seconds(51)) == .accepted(username: "alice"))
        }
    }

    @Test("DigestServer over requests: 401 with two challenges, retry verified, no credentials rejected, stale after expiry")
    func serverOverRequests() throws {
        let invite = try Fixture.request(Fixture.invite)
        var server = DigestServer(realm: "biloxi.example.com", secret: Array(repeating: 5, count: 32), nonceLifetime: .seconds(60))
        var generator = SeededGenerator(state: 11)
        let challenge = server.challengeResponse(to: invite, toTag: "s1", now: .seconds(10), using: &generator)
        #expect(challenge.statusCode == 401)
        #expect(try challenge.headers.wwwAuthenticate().count == 2)
        #expect(server.verify(invite, now: .seconds(10)) { _ in "pw" } == .rejected(.unknownNonce))
        var client = DigestClient(username: "alice", password: "pw")
        let retry = try client.retry(invite, answering: challenge, branch: "z9hG4bKr1", cnonce: "cc")
        #expect(server.verify(retry, now: .seconds(11)) { $0 == "alice" ? "pw" : nil } == .accepted(username: "alice"))
        #expect(server.verify(retry, now: .seconds(12)) { _ in "pw" } == .rejected(.replayedNonceCount))
        let late = try client.retry(invite, answering: challenge, branch: "z9hG4bKr2", cnonce: "cd")
        #expect(server.verify(late, now: .seconds(100)) { _ in "pw" } == .stale)
        let proxyChallenge = server.challengeResponse(to: invite, proxy: true, toTag: "s1", now: .seconds(100), stale: true, using: &generator)
        #expect(proxyChallenge.statusCode == 407)
        #expect(try proxyChallenge.headers.proxyAuthenticate().allSatisfy { $0["stale"] == "TRUE" })
    }

    @Test("A 401 with no usable challenge is a typed error")
    func noChallenge() throws {
        let invite = try Fixture.request(Fixture.invite)
        var response = SIPResponse(replyingTo: invite, statusCode: 401, toTag: "x")
        response.headers.add(.wwwAuthenticate, #"Basic realm="x""#)
        var client = DigestClient(username: "a", password: "b")
        #expect(throws: SIPStackError(.unsupportedDigestAlgorithm, "no offered algorithm is supported")) {
            try client.retry(invite, answering: response, branch: "z9hG4bK1", cnonce: "c")
        }
    }
}

extension SIPHeaders {
    func auth(_ name: SIPHeaderName) throws -> [SIPAuthValue] {
        name == .authorization ? try authorization() : try proxyAuthorization()
    }
}
