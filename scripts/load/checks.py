#!/usr/bin/env python3
"""Checks per second against the same server's /healthz, measured with wrk in one run (issue 15).

    scripts/load/checks.py [--rounds 2] [--duration 10] [--connections 32] [--count 40000] [--bin .build/release/verigate]
                           [--profile perf.data] [--shuffle] [--rate 8000]

Starts a fresh `verigate serve --sip-address off` (dev mode, SQLite in a temp dir, limits off),
starts --count sms verifications through the API and reads each one's code from the dev outbox.
Then, --rounds times and interleaved (this machine's noise exceeds 10 %):
  - `GET /healthz` with wrk (--connections, --duration): the reference, the HTTP stack and one
    store read (the API key count);
  - `POST /v1/verifications/{id}/checks` with each verification's right code once (wrk's Lua walks
    a list per thread; a round uses verifications no round used before).
Prints each round's requests/s and latency percentiles, and the ratio checks/healthz, then the share
of each route's answers within 2.5, 5 and 10 ms inside the server (its own `/metrics` histogram,
`LatencyMiddleware`: from the request's head parsed to the response handed back for writing; what
wrk sees beyond that is the socket queues, the event loop's reads and writes, wrk itself and the
scheduling of all of them on the same cores); exits 1 when a
check is not answered 200 approved (wrk counts non-2xx) or the list ran out before the round ended
(raise --count). Needs wrk (`apt-get install wrk`). --profile FILE records the server with
`perf record -g` during each round's checks (not the healthz or the set-up): round 1 into FILE,
round n into FILE.n (`perf report -i` them). --shuffle checks the verifications in a random order
instead of the order they were started: every check then lands on pages of its own in the B-trees
(the worst case; in the field a check comes shortly after its start, as in the default order).
--rate R paces both wrk runs at R requests/s in all (each wrk thread sends on a schedule of R/2 a
second; a request whose slot has passed goes at once, so a stall's backlog is sent as fast as the
connections allow) instead of as fast as the answers come: the latency at a given load rather than
at saturation, where 32 connections in a closed loop make the latency follow the throughput
(Little's law). wrk measures each request from its send, not from its slot (no correction for
coordinated omission, as wrk2 would); the in-server shares count every request."""
import argparse, http.client, json, os, pathlib, random, re, shutil, signal, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "load"))
from callin import cpu_seconds, free_port, written_bytes  # noqa: E402

LUA = r"""
-- One list of "id code" lines per wrk thread (checks-<n>.txt); each line is used once.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("n", counter)
end
function init(args)
  items = {}
  for line in io.lines(args[1] .. "/checks-" .. n .. ".txt") do
    local id, code = line:match("(%S+) (%S+)")
    items[#items + 1] = {id, code}
  end
  i = 0
  ran_out = 0
end
function request()
  i = i + 1
  if i > #items then
    ran_out = ran_out + 1
    return wrk.format("GET", "/healthz")
  end
  local item = items[i]
  return wrk.format("POST", "/v1/verifications/" .. item[1] .. "/checks",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, '{"code":"' .. item[2] .. '"}')
end
"""

PACING_LUA = r"""
-- --rate: each thread's sends follow a schedule, one every `interval` ms.
local ffi = require("ffi")
ffi.cdef[[ struct vg_timespec { long tv_sec; long tv_nsec; }; int clock_gettime(int, struct vg_timespec *); ]]
local ts = ffi.new("struct vg_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local next_slot = nil
function delay()
  local t = now_ms()
  next_slot = (next_slot or t) + interval
  local wait = next_slot - t
  if wait <= 0 then return 0 end
  -- wrk's timers count whole milliseconds: round at random so the mean wait is right
  local whole = math.floor(wait)
  if math.random() < wait - whole then whole = whole + 1 end
  return whole
end
"""

HEALTH_LUA = r"""
function request()
  return wrk.format("GET", "/healthz")
end
"""


def start_server(binary, data):
    http = free_port()
    env = dict(os.environ, VERIGATE_DATA_DIR=data, VERIGATE_HTTP_ADDRESS=f"127.0.0.1:{http}", VERIGATE_IP_RATE="0",
               VERIGATE_KEY_RATE="0", VERIGATE_LOG_LEVEL="notice", VERIGATE_CODE_TTL="3600", VERIGATE_MAX_SENDS="100",
               VERIGATE_PREFIX_SENDS_PER_HOUR="0", VERIGATE_CHANNEL_SENDS_PER_HOUR="0", VERIGATE_DEMO="off")
    log = open(os.path.join(data, "serve.log"), "w+")
    server = subprocess.Popen([binary, "serve", "--sip-address", "off"], env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        log.flush(); log.seek(0)
        m = re.search(r"keep it\): (\S+)", log.read())
        if m:
            try:
                c = http_connection(http)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return server, http, m.group(1)
            except OSError:
                pass
        time.sleep(0.1)
    server.kill()
    sys.exit("verigate serve did not start: " + open(os.path.join(data, "serve.log")).read()[-2000:])


def http_connection(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def prepare(port, key, count):
    """Starts `count` sms verifications; [(id, code)], codes read from the dev outbox (it keeps 200)."""
    c = http_connection(port)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    items, batch = [], []
    for i in range(count):
        c.request("POST", "/v1/verifications", json.dumps({"to": f"+88697{i:07d}", "channel": "sms"}), headers)
        r = c.getresponse()
        body = r.read()
        if r.status != 201:
            sys.exit(f"start {i}: HTTP {r.status}: {body[:300]!r}")
        batch.append(json.loads(body)["id"])
        if len(batch) == 150 or i == count - 1:
            c.request("GET", "/dev/outbox", headers=headers)
            r = c.getresponse()
            texts = {m["verification_id"]: m["text"] for m in json.loads(r.read())}
            for vid in batch:
                code = re.search(r"\b(\d{6})\b", texts[vid]).group(1)
                items.append((vid, code))
            batch = []
    return items


def wrk(port, path_or_script, duration, connections, data=None):
    """Runs wrk; (requests/s, {percentile: ms}, non-2xx count, requests). `path_or_script` is a
    path, or a Lua script run with `data` as its argument."""
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency", "--timeout", "10s"]
    if data:
        args += ["-s", path_or_script, f"http://127.0.0.1:{port}", "--", data]
    else:
        args += [f"http://127.0.0.1:{port}{path_or_script}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    pct = {}
    for p, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        pct[p] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return rps, pct, non2xx, requests


def server_latency(port):
    """The server's own request-latency buckets (`/metrics`, from the request's head parsed to the
    response handed back for writing: no socket queue, no wrk): {route: {le seconds: cumulative
    count}} for 2xx answers."""
    c = http_connection(port)
    c.request("GET", "/metrics")
    buckets = {}
    for route, le, count in re.findall(
            r'^verigate_http_request_duration_seconds_bucket\{route="([^"]+)",method="[A-Z]+",status="2xx",le="([^"]+)"\} (\d+)$',
            c.getresponse().read().decode(), re.M):
        buckets.setdefault(route, {})[float(le)] = int(count)
    return buckets


def within(before, after, route):
    """Share of the route's answers between two `server_latency` readings at each bucket bound."""
    a, b = after.get(route, {}), before.get(route, {})
    total = a.get(float("inf"), 0) - b.get(float("inf"), 0)
    return {le: (a[le] - b.get(le, 0)) / total for le in sorted(a)} if total else {}


def shares(share, bounds=(0.0025, 0.005, 0.01)):
    return ", ".join(f"{100 * share.get(le, 0):.1f} % within {le * 1000:g} ms" for le in bounds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--count", type=int, default=40000, help="verifications prepared per round")
    p.add_argument("--bin", default=str(ROOT / ".build" / "release" / "verigate"))
    p.add_argument("--profile", help="perf record -g the server during the checks into this file")
    p.add_argument("--shuffle", action="store_true",
                   help="check the verifications in a random order, not in the order they were started")
    p.add_argument("--rate", type=float, default=0,
                   help="pace /healthz and the checks at this many requests/s (0: as fast as answers come)")
    args = p.parse_args()
    if args.rate < 0:
        sys.exit("--rate must be 0 (no pacing) or more")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} is not an executable: build it with `swift build -c release --product verigate` or pass --bin")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    data = tempfile.mkdtemp(prefix="verigate-checks-")
    server, port, key = start_server(args.bin, data)
    good = True
    try:
        t0 = time.monotonic()
        rounds = [prepare(port, key, args.count) for _ in range(args.rounds)]
        if args.shuffle:
            for items in rounds:
                random.shuffle(items)
        print(f"started {args.rounds} x {args.count} verifications in {time.monotonic() - t0:.1f} s")
        script = os.path.join(data, "checks.lua")
        # Unpaced, no delay() at all: wrk would set a timer per request even for a delay of 0.
        pacing = f"interval = {2 * 1000 / args.rate}\n" + PACING_LUA if args.rate else ""  # ms between a thread's sends
        pathlib.Path(script).write_text(f'key = "{key}"\n' + pacing + LUA)
        health_script = os.path.join(data, "healthz.lua")
        pathlib.Path(health_script).write_text(pacing + HEALTH_LUA)
        ratios = []
        for n, items in enumerate(rounds, 1):
            hcpu0, latency0 = cpu_seconds(server.pid), server_latency(port)
            health = wrk(port, health_script, args.duration, args.connections, data=data) if args.rate else \
                wrk(port, "/healthz", args.duration, args.connections)
            hcpu, latency1 = cpu_seconds(server.pid) - hcpu0, server_latency(port)
            for t in (1, 2):
                pathlib.Path(data, f"checks-{t}.txt").write_text("".join(f"{i} {c}\n" for i, c in items[t - 1::2]))
            cpu0, written0 = cpu_seconds(server.pid), written_bytes(server.pid)
            profile = args.profile if n == 1 else f"{args.profile}.{n}"
            perf = subprocess.Popen(["perf", "record", "-g", "-q", "-o", profile, "-p", str(server.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
            checks = wrk(port, script, args.duration, args.connections, data=data)
            cpu, written = cpu_seconds(server.pid) - cpu0, written_bytes(server.pid) - written0
            latency2 = server_latency(port)
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            ratio = checks[0] / health[0]
            ratios.append(ratio)
            ran_out = checks[3] > len(items)
            good &= checks[2] == 0 and not ran_out
            print(f"round {n}: healthz {health[0]:.0f}/s (p50 {health[1].get('50', 0):.2f} ms, p99 {health[1].get('99', 0):.2f} ms, "
                  f"{1000 * hcpu / max(health[3], 1):.3f} ms CPU per request); "
                  f"checks {checks[0]:.0f}/s (p50 {checks[1].get('50', 0):.2f} ms, p99 {checks[1].get('99', 0):.2f} ms, "
                  f"{checks[2]} non-2xx{', LIST RAN OUT' if ran_out else ''}); {1000 * cpu / max(checks[3], 1):.3f} ms CPU and {written / 1024 / max(checks[3], 1):.1f} KiB written per check; "
                  f"ratio {ratio:.2f}")
            print(f"  in the server (head parsed to response handed back): healthz {shares(within(latency0, latency1, '/healthz'))}; "
                  f"checks {shares(within(latency1, latency2, '/v1/verifications/{id}/checks'))}")
        if args.rate:
            print(f"paced at {args.rate:.0f}/s: the ratio is of the rates reached, not of capacities")
        print(f"checks/healthz ratio: {' '.join(f'{r:.2f}' for r in ratios)} (aim >= 0.6)")
        # The checks were right: the verifications they used are approved. (wrk builds one request
        # per thread before it starts, so each thread's first item is never sent: skip them.)
        c = http_connection(port)
        for vid, _ in rounds[0][2:52]:
            c.request("GET", f"/v1/verifications/{vid}", headers={"Authorization": f"Bearer {key}"})
            status = json.loads(c.getresponse().read())["status"]
            if status != "approved":
                print(f"{vid} is {status}, not approved")
                good = False
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        if os.environ.get("KEEP"):
            print("kept", data)
        else:
            shutil.rmtree(data, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
