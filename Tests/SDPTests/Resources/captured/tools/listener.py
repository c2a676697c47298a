"""Tiny loopback SIP listener: records the SDP body of the first INVITE, answers 486, exits."""
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
fam = socket.AF_INET6 if len(sys.argv) > 3 and sys.argv[3] == "v6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind(("::1" if fam == socket.AF_INET6 else "127.0.0.1", port))
s.settimeout(30)
while True:
    data, addr = s.recvfrom(65535)
    text = data.decode(errors="replace")
    if not text.startswith("INVITE"):
        if text.startswith("ACK"): break
        continue
    head, _, body = text.partition("\r\n\r\n")
    open(out, "w", newline="").write(body)
    open(out + ".invite", "w", newline="").write(text)
    lines = head.split("\r\n")
    keep = [l for l in lines[1:] if l.split(":")[0].strip().lower() in ("via", "from", "to", "call-id", "cseq", "v", "f", "t", "i")]
    resp = "SIP/2.0 486 Busy Here\r\n" + "\r\n".join(k if not k.lower().startswith(("to:", "t:")) else k + ";tag=cap1" for k in keep) + "\r\nContent-Length: 0\r\n\r\n"
    s.sendto(resp.encode(), addr)
