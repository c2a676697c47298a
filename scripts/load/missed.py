#!/usr/bin/env python3
"""Missed calls per second against Kamailio's stateless reply, measured with SIPp in one run (issue 15).

    scripts/load/missed.py [--rounds 2] [--calls 10000] [--rate 3000] [--bin .build/release/verigate]

The reference is Kamailio (Debian's `kamailio`) answering every INVITE with a stateless 603 (`sl`
module, no transaction, no store): the same SIPp scenario (sipp/callin-missed.xml), the same
number of calls at the same offered rate, on the same loopback. Verigate is `verigate serve` with
missed_call_ring_time = 0ms (scripts/load/callin.py --ring-time 0ms), so every call is the whole
decision: find the pending verification of the caller, approve it, answer 603. --rounds times,
interleaved (this machine's noise exceeds 10 %). Prints each side's served calls/s (SIPp's
successful calls over its run time) and failed calls, and the ratio Verigate/Kamailio (aim
>= 0.5). Exits 1 when Verigate failed a call or left a verification unapproved."""
import argparse, os, pathlib, re, shutil, socket, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "load"))
from callin import free_port  # noqa: E402

KAMAILIO_CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=2
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
loadmodule "sl.so"
loadmodule "maxfwd.so"
request_route {{
    if (method == "ACK") {{ exit; }}
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    sl_send_reply("603", "Decline");
}}
"""


def kamailio_round(data, calls, rate, limit):
    port = free_port(socket.SOCK_DGRAM)
    cfg = os.path.join(data, "kamailio.cfg")
    pathlib.Path(cfg).write_text(KAMAILIO_CFG.format(port=port))
    inf = os.path.join(data, "kamailio-calls.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(calls):
            f.write(f"+88697{i:07d};+886229996666;\n")
    kamailio = subprocess.Popen(["kamailio", "-f", cfg, "-DD", "-E", "-n", "2", "-m", "256", "-M", "16"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # bound when it answers an OPTIONS-less probe: its port refuses no more
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", port))
            s.send(b"\r\n\r\n")
            s.settimeout(0.1)
            try:
                s.recv(10)
            except socket.timeout:
                break  # no ICMP port-unreachable: something listens
            except ConnectionRefusedError:
                time.sleep(0.1)
            finally:
                s.close()
        stats = os.path.join(data, "kamailio-stats.csv")
        t0 = time.monotonic()
        subprocess.run(["sipp", "-sf", str(ROOT / "sipp" / "callin-missed.xml"), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", "0",
                        "-inf", inf, "-m", str(calls), "-r", str(rate), "-l", str(limit), "-nostdin", "-timeout", "600s",
                        "-trace_stat", "-stf", stats, "-fd", "1", "-buff_size", "4194304"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
        rows = [line.split(";") for line in open(stats).read().strip().splitlines()]
        last = dict(zip(rows[0], rows[-1]))
        return int(last.get("SuccessfulCall(C)", 0)), int(last.get("FailedCall(C)", 0)), elapsed
    finally:
        kamailio.terminate()
        kamailio.wait(timeout=30)


def verigate_round(binary, calls, rate, limit):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "load" / "callin.py"), "--method", "missed_call", "--ring-time", "0ms",
                          "--calls", str(calls), "--rate", str(rate), "--limit", str(limit), "--bin", binary],
                         capture_output=True, text=True)
    m = re.search(r"(\d+) successful, (\d+) failed calls in ([\d.]+) s", out.stdout)
    if not m:
        sys.exit("callin.py: " + out.stdout + out.stderr)
    approved = re.search(r"approved (\d+)/(\d+)", out.stdout)
    cpu = re.search(r"([\d.]+) ms per served call", out.stdout)
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), approved.groups() if approved else None, cpu.group(1) if cpu else "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--calls", type=int, default=10000)
    p.add_argument("--rate", type=int, default=6000)
    p.add_argument("--limit", type=int, default=5000)
    p.add_argument("--bin", default=str(ROOT / ".build" / "release" / "verigate"))
    args = p.parse_args()
    for tool in ("kamailio", "sipp"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install {'kamailio' if tool == 'kamailio' else 'sip-tester'})")
    data = tempfile.mkdtemp(prefix="verigate-missed-")
    good = True
    ratios = []
    try:
        for n in range(1, args.rounds + 1):
            k_ok, k_failed, k_elapsed = kamailio_round(data, args.calls, args.rate, args.limit)
            v_ok, v_failed, v_elapsed, approved, cpu = verigate_round(args.bin, args.calls, args.rate, args.limit)
            k_rate, v_rate = k_ok / k_elapsed, v_ok / v_elapsed
            ratios.append(v_rate / k_rate)
            good &= v_failed == 0 and approved is not None and approved[0] == approved[1]
            print(f"round {n}: kamailio {k_rate:.0f} calls/s ({k_ok} ok, {k_failed} failed); verigate {v_rate:.0f} calls/s "
                  f"({v_ok} ok, {v_failed} failed, approved {'/'.join(approved or ('?', '?'))}, {cpu} ms CPU per call); "
                  f"ratio {v_rate / k_rate:.2f}")
        print(f"missed calls verigate/kamailio ratio: {' '.join(f'{r:.2f}' for r in ratios)} (aim >= 0.5), offered {args.rate}/s")
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
