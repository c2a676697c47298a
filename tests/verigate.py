"""A `verigate serve` for the Python test suites (tests/browser, tests/contract): free loopback
ports, a throwaway data dir, dev mode (demo page, SMS outbox), the API key it prints on its first
start (docs/TESTING.md)."""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    """The verigate binary: $VERIGATE_BIN, else the debug build."""
    path = os.environ.get("VERIGATE_BIN") or str(ROOT / ".build" / "debug" / "verigate")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"no verigate binary at {path}: build it with `swift build --product verigate`")
    return path


class Server:
    """A running `verigate serve`; `env` adds or overrides VERIGATE_* settings."""

    def __init__(self, env=None, sip_conf=None, prefix="verigate-test-"):
        self.binary = binary()
        self.data_dir = tempfile.mkdtemp(prefix=prefix)
        port = free_port()
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(self.data_dir, "serve.log"), "w+")
        conf = os.path.join(self.data_dir, "sip.conf")
        with open(conf, "w") as f:
            f.write(sip_conf or "[loopback]\ntype = peer\nhost = 127.0.0.0/8\ntrusted = yes\n")
        settings = dict(os.environ, VERIGATE_SIP_CONFIG=conf, VERIGATE_HTTP_ADDRESS=f"127.0.0.1:{port}", VERIGATE_DATA_DIR=self.data_dir,
                        VERIGATE_SIP_ADDRESS=f"127.0.0.1:{self.sip_port}", VERIGATE_PROMPTS=str(ROOT / "prompts"),
                        VERIGATE_LOG_LEVEL="warning")
        settings.update(env or {})
        self.process = subprocess.Popen([self.binary, "serve"], env=settings, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("verigate serve exited: " + self.output())
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("verigate serve did not answer /healthz: " + self.output())
            time.sleep(0.1)
        match = re.search(r"Created API key \(shown once, keep it\): (\S+)", self.output())
        if not match:
            raise RuntimeError("verigate serve printed no API key: " + self.output())
        self.api_key = match.group(1)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def api(self, method, path, body=None):
        """(status, JSON body) of an API call with the server's key; 4xx answers are returned, not raised."""
        request = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def metrics(self):
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:
            return r.read().decode()
