"""Loopback SIP UAS: answers INVITEs with 200 OK + PCMU SDP, saves every INVITE body as PREFIX-N.sdp."""
import socket, sys
port, prefix, dur = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port)); s.settimeout(dur)
n = 0
sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
try:
    while True:
        data, addr = s.recvfrom(65535); text = data.decode(errors="replace")
        method = text.split(" ", 1)[0]
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        keep = [l for l in lines[1:] if l.split(":")[0].strip().lower() in ("via", "from", "to", "call-id", "cseq", "v", "f", "t", "i")]
        keep = [k + (";tag=cap1" if k.lower().startswith(("to:", "t:")) and "tag=" not in k else "") for k in keep]
        if method == "INVITE":
            n += 1; open(f"{prefix}-{n}.sdp", "w", newline="").write(body)
            resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContact: <sip:100@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (port, len(sdp), sdp)
        elif method in ("BYE", "OPTIONS", "INFO", "UPDATE"):
            resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
        else:
            continue
        s.sendto(resp.encode(), addr)
except socket.timeout:
    pass
