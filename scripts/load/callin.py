#!/usr/bin/env python3
"""Call-in load test with SIPp on loopback against a fresh `verigate serve`.

    scripts/load/callin.py --method missed_call --calls 2000 --rate 500 [--limit 5000] [--bin .build/release/verigate]
    scripts/load/callin.py --method voice_callin --calls 1000 --rate 200 --limit 1000
    scripts/load/callin.py --method voice_callin --srtp --calls 1000 --rate 100 --limit 1000

Starts `verigate serve` in a temp dir (a sip.conf with a wide RTP range), fills a SIPp injection
file through the API with scripts/sipp/inject.py (one verification per caller), then runs the
method's scenario (sipp/callin-missed.xml, callin-voice.xml or callin-dtmf.xml) at --rate calls/s
with at most --limit calls at once. Prints SIPp's successful and failed calls, the peak of
concurrent calls, calls/s, how many verifications were approved (missed_call, dtmf_callin), and
for answered methods the gateway's RTP punctuality over the run (packets sent, late by more than
one packet time, skipped, worst lateness), read from its `gateway.media.totals` log line.

--srtp (voice_callin): SIPp offers RTP/SAVP with a fixed SDES key (sipp/callin-voice-srtp.xml) and
the gateway requires SRTP, so every prompt packet is protected (RFC 3711, SRTPContext). SIPp's
signalling is UDP, so the loopback peer allows keys over it (sdes_over_insecure_transport); SIPp
does not decrypt, it only receives: the figure is the gateway's sending cost and punctuality."""
import argparse, os, pathlib, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request, json

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "sipp"))
import inject  # noqa: E402  (scripts/sipp/inject.py)

SCENARIOS = {"missed_call": "callin-missed.xml", "voice_callin": "callin-voice.xml", "dtmf_callin": "callin-dtmf.xml"}


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds the process has used (/proc/<pid>/stat fields 14 and 15)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def written_bytes(pid):
    """Bytes the process has sent to the storage layer (/proc/<pid>/io write_bytes): the WAL, its
    checkpoints, the logs; network sends are not counted."""
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--method", choices=sorted(SCENARIOS), default="missed_call")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--limit", type=int, default=5000, help="most calls at once (SIPp -l)")
    p.add_argument("--srtp", action="store_true", help="voice_callin with SRTP required (SDES keys offered by SIPp)")
    p.add_argument("--ring-time", default="1500ms", help="missed_call_ring_time of the gateway's sip.conf (0ms: reject at once)")
    # A release build: a debug binary costs several times the CPU per call and measures nothing useful.
    p.add_argument("--bin", default=str(ROOT / ".build" / "release" / "verigate"))
    args = p.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} is not an executable: build it with `swift build -c release --product verigate` or pass --bin")
    data = tempfile.mkdtemp(prefix="verigate-load-")
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    conf = os.path.join(data, "sip.conf")
    pathlib.Path(conf).write_text(f"""[general]
bind = 127.0.0.1:{sip}
transport = udp
max_calls = {max(args.limit, 1000) + 100}
max_transactions_per_source = 65536
missed_call_ring_time = {args.ring_time}
rtp_start = 20000
rtp_end = 29999
[loopback]
type = peer
host = 127.0.0.0/8
trusted = yes
""" + ("media_encryption = sdes\nsrtp = required\nsdes_over_insecure_transport = yes\n" if args.srtp else ""))
    env = dict(os.environ, VERIGATE_DATA_DIR=data, VERIGATE_HTTP_ADDRESS=f"127.0.0.1:{http}", VERIGATE_SIP_CONFIG=conf,
               VERIGATE_IP_RATE="0", VERIGATE_KEY_RATE="0", VERIGATE_LOG_LEVEL="notice", VERIGATE_CODE_TTL="3600",
               VERIGATE_MAX_SENDS="100", VERIGATE_PROMPTS=str(ROOT / "prompts"), VERIGATE_DEMO="off")
    log = open(os.path.join(data, "serve.log"), "w+")
    server = subprocess.Popen([args.bin, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        key = None
        for _ in range(600):
            log.flush(); log.seek(0)
            m = re.search(r"keep it\): (\S+)", log.read())
            if m:
                key = m.group(1)
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=1)
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        assert key, "server did not start"
        api = f"http://127.0.0.1:{http}"
        t0 = time.monotonic()
        started = inject.inject(api, key, args.method, args.calls)
        print(f"started {len(started)} {args.method} verifications in {time.monotonic() - t0:.1f} s")
        calls = os.path.join(data, "calls.csv")
        inject.write_injection(calls, started)
        stats = os.path.join(data, "stats.csv")
        media = ["-mp", "0"] if args.method != "missed_call" else []
        t0 = time.monotonic()
        cpu0 = cpu_seconds(server.pid)
        scenario = "callin-voice-srtp.xml" if args.srtp else SCENARIOS[args.method]
        sipp = subprocess.run(["sipp", "-sf", str(ROOT / "sipp" / scenario), f"127.0.0.1:{sip}", "-i", "127.0.0.1", "-p", "0",
                               *media, "-inf", calls, "-m", str(args.calls), "-r", str(args.rate), "-l", str(args.limit), "-nostdin",
                               "-timeout", "600s", "-trace_stat", "-stf", stats, "-fd", "1", "-max_socket", "10000", "-buff_size", "4194304", "-trace_err", "-error_file", os.path.join(data, "errors.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(server.pid) - cpu0
        rows = [line.split(";") for line in open(stats).read().strip().splitlines()]
        header, last = rows[0], dict(zip(rows[0], rows[-1]))
        current = header.index("CurrentCall") if "CurrentCall" in header else None
        peak = max(int(r[current]) for r in rows[1:] if len(r) > current and r[current].isdigit()) if current is not None else 0
        ok, failed = int(last.get("SuccessfulCall(C)", 0)), int(last.get("FailedCall(C)", 0))
        approved = 0
        if args.method != "voice_callin":
            for v in started:
                req = urllib.request.Request(f"{api}/v1/verifications/{v['id']}", headers={"Authorization": f"Bearer {key}"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    approved += json.load(r)["status"] == "approved"
        print(f"sipp exit {sipp.returncode}: {ok} successful, {failed} failed calls in {elapsed:.1f} s; peak {peak} calls at once (1 s samples)")
        print(f"{ok / elapsed:.0f} {args.method} calls/s end to end at offered rate {args.rate}/s")
        print(f"verigate used {cpu:.1f} CPU s: {1000 * cpu / max(ok, 1):.2f} ms per served call")
        if args.method != "voice_callin":
            print(f"approved {approved}/{len(started)}")
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.flush(); log.seek(0)
        totals = re.search(r"gateway\.media\.totals (.*)", log.read())
        if totals:
            print("gateway RTP:", totals.group(1))
        good = failed == 0 and ok == args.calls and (args.method == "voice_callin" or approved == len(started))
        return 0 if good else 1
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if os.environ.get("KEEP"):
            print("kept", data)
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
