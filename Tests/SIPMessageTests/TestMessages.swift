import NIOCore
import SIPMessage

/// A typical INVITE from a softphone (RFC 3665 §3.1 style).
let typicalInvite = """
INVITE sip:bob@biloxi.example.com SIP/2.0\r
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r
Max-Forwards: 70\r
To: Bob <sip:bob@biloxi.example.com>\r
From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
CSeq: 314159 INVITE\r
Contact: <sip:alice@pc33.atlanta.example.com>\r
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r
Supported: replaces, timer\r
P-Asserted-Identity: "Alice" <sip:+15551234567@atlanta.example.com;user=phone>, <tel:+15551234567>\r
Content-Type: application/sdp\r
Content-Length: 149\r
\r
v=0\r
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r
s=-\r
c=IN IP4 192.0.2.101\r
t=0 0\r
m=audio 49172 RTP/AVP 0\r
a=rtpmap:0 PCMU/8000\r

"""

let typicalOK = """
SIP/2.0 200 OK\r
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101;rport=5060\r
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r
From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
CSeq: 314159 INVITE\r
Contact: <sip:bob@192.0.2.4>\r
WWW-Authenticate: Digest realm="biloxi.example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", qop="auth", algorithm=SHA-256, opaque=""\r
Content-Length: 0\r
\r

"""

let shortOptions = """
OPTIONS sip:gw.example.com SIP/2.0\r
v: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKopt1\r
f: <sip:probe@example.com>;tag=p1\r
t: <sip:gw.example.com>\r
i: opt-1@2001:db8::1\r
CSeq: 1 OPTIONS\r
l: 0\r
\r

"""
