#!/usr/bin/env python3
"""The API contract under fuzzing (docs/TESTING.md, "API contract and dashboard"): starts
`verigate serve` on free loopback ports with a throwaway data dir (tests/verigate.py),
starts one hosted verification for the page routes' ticket, and runs schemathesis against the
served openapi.yaml with `--checks all` (tests/contract/schemathesis.toml says which checks are
narrowed where, and why). Exits with schemathesis' status: 0 only when no response was a server error, undocumented,
or off its schema. Extra arguments go to `schemathesis run` (e.g. --max-examples 100, --seed N)."""
import os
import pathlib
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/verigate.py
from verigate import ROOT, Server  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def main():
    schemathesis = ROOT / ".venv" / "bin" / "schemathesis"
    if not schemathesis.exists():
        raise SystemExit(f"no {schemathesis}: run scripts/python-venv.sh")
    # The API key limit (600/min) and the per-IP start limit would answer most of the run with 429:
    # lifted here; their own tests are in APIKeyTests and the browser tests.
    server = Server(env={"VERIGATE_KEY_RATE": "0", "VERIGATE_IP_RATE": "0", "VERIGATE_DEMO_STARTS": "100000"})
    try:
        status, body = server.api("POST", "/v1/verifications", {"to": "0975000888", "channel": "sms", "hosted": True})
        if status != 201 or "url" not in body:
            raise SystemExit(f"could not start the hosted verification for the page ticket: {status} {body}")
        env = dict(os.environ, VERIGATE_API_KEY=server.api_key, VERIGATE_PAGE_TOKEN=body["url"].rsplit("/", 1)[1])
        # The document as the server serves it, read from a file: given its URL, schemathesis leaves
        # out the operation that serves it (GET /openapi.yaml) and the examples phase.
        document = os.path.join(server.data_dir, "openapi.yaml")
        with urllib.request.urlopen(server.url + "/openapi.yaml", timeout=10) as r, open(document, "wb") as f:
            f.write(r.read())
        command = [str(schemathesis), "--config-file", str(HERE / "schemathesis.toml"), "--no-color", "run", document, "--url", server.url,
                   "--checks", "all", "--report-dir", os.path.join(os.environ.get("TMPDIR", "/tmp"), "verigate-schemathesis")] + sys.argv[1:]
        print("$", " ".join(command), flush=True)
        started = time.monotonic()
        result = subprocess.run(command, env=env, cwd=ROOT)
        print(f"schemathesis: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if server.process.poll() is not None:
            print("verigate serve exited during the run:\n" + server.output()[-4000:], flush=True)
            return 1
        return result.returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
