#!/usr/bin/env python3
"""Fill a SIPp injection file by starting verifications through Verigate's API.

    scripts/sipp/inject.py --channel dtmf_callin --count 100 --out calls.csv \
        [--api http://127.0.0.1:8080] [--key KEY | env VERIGATE_API_KEY] [--first 0975000000] [--ids ids.txt]

Starts one verification per number (--first, --first+1, …) on --channel and writes SIPp's
injection file (-inf), one line per call: field0 the caller (E.164, as a trunk sends it), field1
the system number the verification hands out, field2 the code shown on the page (dtmf_callin and
dtmf_callout; empty otherwise). The sipp/callin-*.xml scenarios read those three fields. With
--ids, the verification ids go to that file, one per line, in the same order.

Standard library only, so it runs anywhere SIPp does. Exit status 1 with the API's problem text
when a start is refused."""
import argparse, concurrent.futures, json, os, sys, time, urllib.error, urllib.request


def start(api, key, channel, number, wait_for_gateway=15.0):
    """POST /v1/verifications; the created verification as a dict (every start is a new one). While no voice
    gateway is attached yet (503 no_gateway, e.g. just after `verigate serve` started) it retries
    for up to `wait_for_gateway` seconds."""
    body = json.dumps({"to": number, "channel": channel}).encode()
    deadline = time.monotonic() + wait_for_gateway
    while True:
        request = urllib.request.Request(f"{api}/v1/verifications", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            if error.code == 503 and "no_gateway" in text and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise SystemExit(f"start {channel} for {number}: HTTP {error.code}: {text}")


def numbers(first, count):
    """`count` national numbers from `first` up, keeping its leading zeros."""
    width = len(first)
    return [str(int(first) + i).zfill(width) for i in range(count)]


def inject(api, key, channel, count, first="0975000000", workers=16):
    """Starts the verifications; their resources in number order."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda n: start(api, key, channel, n), numbers(first, count)))


def write_injection(path, verifications):
    """SIPp's injection file: SEQUENTIAL, then caller;system number;code per call."""
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for v in verifications:
            f.write(f"{v['to']};{v.get('system_number') or ''};{v.get('code') or ''}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--channel", required=True, choices=["missed_call", "voice_callin", "dtmf_callin", "sms", "voice_call", "dtmf_callout"])
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--out", required=True, help="the injection file to write")
    p.add_argument("--api", default=os.environ.get("VERIGATE_API", "http://127.0.0.1:8080"))
    p.add_argument("--key", default=os.environ.get("VERIGATE_API_KEY"))
    p.add_argument("--first", default="0975000000", help="first national number; the others count up from it")
    p.add_argument("--ids", help="also write the verification ids here, one per line")
    p.add_argument("--workers", type=int, default=16)
    args = p.parse_args()
    if not args.key:
        p.error("--key or VERIGATE_API_KEY is required")
    if args.count < 1:
        p.error("--count must be 1 or more")
    verifications = inject(args.api.rstrip("/"), args.key, args.channel, args.count, args.first, args.workers)
    write_injection(args.out, verifications)
    if args.ids:
        with open(args.ids, "w") as f:
            f.write("".join(v["id"] + "\n" for v in verifications))
    print(f"{len(verifications)} {args.channel} verifications started; injection file {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
