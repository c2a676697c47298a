import Foundation
import SIPMessage
import Testing

/// Parses a SIP message written with `\n` line ends into a request or response.
enum Fixture {
    static func message(_ text: String) throws -> SIPMessage {
        let wire = text.replacingOccurrences(of: "\n", with: "\r\n")
        return try SIPMessageParser().parseDatagram(Array(wire.utf8))
    }

    static func request(_ text: String) throws -> SIPRequest {
        guard case .request(let request) = try message(text) else { throw FixtureError.notARequest }
        return request
    }

    static func response(_ text: String) throws -> SIPResponse {
        guard case .response(let response) = try message(text) else { throw FixtureError.notAResponse }
        return response
    }

    enum FixtureError: Error { case notARequest, notAResponse }

    static let invite = """
        INVITE sip:bob@biloxi.example.com SIP/2.0
        Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds
        Max-Forwards: 70
        To: Bob <sip:bob@biloxi.example.com>
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com
        CSeq: 314159 INVITE
        Contact: <sip:alice@pc33.atlanta.example.com>
        Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
        Content-Length: 0


        """

    static let ringing = """
        SIP/2.0 180 Ringing
        Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds
        Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
        To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com
        CSeq: 314159 INVITE
        Contact: <sip:bob@192.0.2.4>
        Content-Length: 0


        """

    static func ok(contact: String = "<sip:bob@192.0.2.4>", cseq: String = "314159 INVITE", recordRoute: String? = "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>") -> String {
        """
        SIP/2.0 200 OK
        Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds
        \(recordRoute.map { "Record-Route: \($0)\n" } ?? "")To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com
        CSeq: \(cseq)
        Contact: \(contact)
        Content-Length: 0


        """
    }

    /// A request from Bob to Alice inside the dialog (as Alice receives it).
    static func inDialogFromBob(method: String, cseq: UInt32, contact: String? = nil) -> String {
        """
        \(method) sip:alice@pc33.atlanta.example.com SIP/2.0
        Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds\(cseq)
        Max-Forwards: 70
        From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
        To: Alice <sip:alice@atlanta.example.com>;tag=1928301774
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com
        CSeq: \(cseq) \(method)
        \(contact.map { "Contact: \($0)\n" } ?? "")Content-Length: 0


        """
    }
}
