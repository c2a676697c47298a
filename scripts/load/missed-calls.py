#!/usr/bin/env python3
"""Missed-call load test: verifications per second end to end (INVITE → core approves → 180 → 603 →
ACK) with SIPp on loopback against a fresh `verigate serve`.

    scripts/load/missed-calls.py [--calls 2000] [--rate 500] [--ring-ms 1500] [--bin .build/release/verigate]

Starts `verigate serve` in a temp dir, starts one missed_call verification per caller through the
API, then SIPp (sipp/callin-missed.xml with one caller per call from a CSV) calls at --rate. Prints
SIPp's successful/failed calls, the approved count read back from the API, and calls/s."""
import argparse, concurrent.futures, json, os, pathlib, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--bin", default=str(ROOT / ".build" / "debug" / "verigate"))
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="verigate-load-")
    http, sip = free_port(), free_port(socket.SOCK_DGRAM)
    env = dict(os.environ, VERIGATE_DATA_DIR=data, VERIGATE_HTTP_ADDRESS=f"127.0.0.1:{http}", VERIGATE_SIP_ADDRESS=f"127.0.0.1:{sip}",
               VERIGATE_IP_RATE="0", VERIGATE_KEY_RATE="0", VERIGATE_LOG_LEVEL="error", VERIGATE_CODE_TTL="3600",
               VERIGATE_PROMPTS=str(ROOT / "prompts"))
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
        callers = [f"0975{i:06d}" for i in range(args.calls)]

        def start(number):
            body = json.dumps({"to": number, "channel": "missed_call"}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/verifications", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            started = list(pool.map(start, callers))
        system = started[0]["system_number"]
        print(f"started {len(started)} missed_call verifications in {time.monotonic() - t0:.1f} s")
        csv = os.path.join(data, "callers.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(f"{c}\n" for c in callers))
        scenario = os.path.join(data, "missed.xml")
        pathlib.Path(scenario).write_text((ROOT / "sipp" / "callin-missed.xml").read_text().replace("[caller]", "[field0]"))
        stats = os.path.join(data, "stats.csv")
        t0 = time.monotonic()
        sipp = subprocess.run(["sipp", "-sf", scenario, f"127.0.0.1:{sip}", "-i", "127.0.0.1", "-p", "0", "-inf", csv, "-key", "called", system,
                               "-m", str(args.calls), "-r", str(args.rate), "-l", "5000", "-nostdin", "-timeout", "300s", "-trace_stat", "-stf", stats,
                               "-max_socket", "5000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
        last = open(stats).read().strip().splitlines()
        header, values = last[0].split(";"), last[-1].split(";")
        row = dict(zip(header, values))
        ok, failed = int(row.get("SuccessfulCall(C)", 0)), int(row.get("FailedCall(C)", 0))
        approved = 0
        for v in started:
            req = urllib.request.Request(f"http://127.0.0.1:{http}/v1/verifications/{v['id']}", headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                approved += json.load(r)["status"] == "approved"
        print(f"sipp exit {sipp.returncode}: {ok} successful, {failed} failed calls in {elapsed:.1f} s (1.5 s ring each)")
        print(f"approved {approved}/{len(started)}; {ok / elapsed:.0f} missed-call verifications/s end to end at offered rate {args.rate}/s")
        return 0 if failed == 0 and approved == len(started) else 1
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
