"""The Grafana dashboard (docs/grafana/verigate.json) against a live /metrics (docs/TESTING.md,
"API contract and dashboard"): every metric name any panel's PromQL names must be a series the
server exposes. A live `verigate serve` (SMPP to the test SMSC with delivery receipts, its
in-process gateway answering SIPp) is driven through an SMS verification with a wrong and a right
code and its receipt, a start the send limit refuses, a canceled one, and a voice_callin call,
then scraped; the test names each
series the dashboard uses that the scrape lacks. With CI=true a missing SIPp fails it."""
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/verigate.py
from verigate import ROOT, Server, free_port  # noqa: E402

DASHBOARD = ROOT / "docs" / "grafana" / "verigate.json"
IN_CI = os.environ.get("CI") == "true"

# PromQL words that are not metric names: aggregation operators and their modifiers, set and
# vector-matching keywords, offset/bool, and the special float literals. Functions are recognised
# by the "(" that follows them; `le` and other labels only appear inside by (…) or {…}, dropped first.
KEYWORDS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
            "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "atan2",
            "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects: identifiers used bare or before `{` or `[`,
    not PromQL functions (followed by `(`), keywords, label names or string contents."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)          # string literals
    s = re.sub(r"\{[^{}]*\}", "{}", s)                                          # label matchers
    s = re.sub(r"\[[^\[\]]*\]", "[]", s)                                        # ranges, subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)  # label lists
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*", s):
        token = m.group(0)
        if token.lower() in KEYWORDS or s[m.end():].lstrip().startswith("("):
            continue
        names.add(token)
    return names


def panel_exprs(panels):
    """Every `expr` of every target of every panel, rows' nested panels included."""
    for panel in panels:
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", "?"), target["expr"]
        yield from panel_exprs(panel.get("panels", []))


def dashboard_series(dashboard):
    """{metric name: [panel titles using it]}."""
    used = {}
    for title, expr in panel_exprs(dashboard["panels"]):
        for name in metric_names(expr):
            used.setdefault(name, []).append(title)
    return used


def scraped_series(text):
    """The metric names of the samples in a Prometheus text exposition."""
    return {m.group(1) for m in re.finditer(r"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", text, re.M)}


def missing_series(dashboard, text):
    """'name (panels)' for each series the dashboard uses and the scrape lacks, sorted."""
    scraped = scraped_series(text)
    return sorted(f"{name} (in {', '.join(sorted(set(titles)))})" for name, titles in dashboard_series(dashboard).items() if name not in scraped)


def load_dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def test_dashboard_is_importable_grafana_json():
    d = load_dashboard()
    assert d["schemaVersion"] >= 36
    assert [i["name"] for i in d["__inputs"]] == ["DS_PROMETHEUS"]
    targets = list(panel_exprs(d["panels"]))
    assert len(targets) >= 20
    for panel in d["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def test_metric_names_are_parsed_from_promql():
    assert metric_names('histogram_quantile(0.95, sum by (le, route) (rate(verigate_http_request_duration_seconds_bucket{route!~"/v.*"}[$__rate_interval])))') \
        == {"verigate_http_request_duration_seconds_bucket"}
    assert metric_names('sum(rate(a_total[5m])) / (sum(rate(b_total[1h] offset 1d)) + sum(c)) > bool 1e3') == {"a_total", "b_total", "c"}
    assert metric_names('sum without (instance) (increase(x:y:rate5m{job="by"}[1h:5m])) or on (channel) vector(0)') == {"x:y:rate5m"}
    assert metric_names('count_values("le", up) unless absent(nan_total)') == {"up", "nan_total"}


@pytest.fixture(scope="module")
def smsc():
    """tests/smsc/smsc.py with delivery receipts; yields (port, queue of its JSON events)."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail("no .venv: run scripts/python-venv.sh", pytrace=False)
    process = subprocess.Popen([str(python), str(ROOT / "tests" / "smsc" / "smsc.py"), "--receipts"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    events = queue.Queue()
    threading.Thread(target=lambda: [events.put(json.loads(line)) for line in process.stdout if line.startswith("{")], daemon=True).start()
    listening = events.get(timeout=30)
    assert listening["event"] == "listening", listening
    yield listening["port"], events
    process.stdin.close()  # the SMSC exits when its stdin closes
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(smsc):
    port, _ = smsc
    s = Server(env={"VERIGATE_SMS_DRIVER": "smpp", "VERIGATE_SMPP_ADDRESS": f"127.0.0.1:{port}", "VERIGATE_SMPP_SYSTEM_ID": "verigate",
                    "VERIGATE_SMPP_PASSWORD": "secret", "VERIGATE_KEY_RATE": "0", "VERIGATE_IP_RATE": "0",
                    "VERIGATE_MAX_SENDS": "1"})  # one send per number per window: the second start is a send-guard refusal
    yield s
    s.stop()


def wait_for(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return value


def sms_code(events, dest, timeout=30):
    """The code in the SMS the SMSC received for `dest` (data_coding 0, unpacked GSM: digits as ASCII)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if event["event"] == "submit" and event["dest"].lstrip("+") == dest.lstrip("+"):
            return re.search(r"\d{4,10}", bytes.fromhex(event["short_message"]).decode("latin-1")).group(0)
    raise AssertionError(f"no SMS to {dest}")


def drive(server, smsc):
    """Traffic for every panel: an SMS verification (receipt, a wrong code, the right one), a
    second start to its number refused by the send limit, a canceled one, and a voice_callin call from SIPp that the gateway answers, says the code on
    and hangs up (the code is then typed into the API, which this test need not do)."""
    _, events = smsc
    status, v = server.api("POST", "/v1/verifications", {"to": "+886912345670", "channel": "sms"})
    assert status == 201, v
    code = sms_code(events, "+886912345670")
    wrong = "000000" if code != "000000" else "111111"
    assert server.api("POST", f"/v1/verifications/{v['id']}/checks", {"code": wrong})[1]["valid"] is False
    assert server.api("POST", f"/v1/verifications/{v['id']}/checks", {"code": code})[1]["status"] == "approved"
    wait_for(lambda: "verigate_sms_delivery_reports_total{" in server.metrics(), "the SMS delivery receipt")
    status, refused = server.api("POST", "/v1/verifications", {"to": "+886912345670", "channel": "sms"})
    assert (status, refused.get("limit")) == (429, "sends_per_number"), refused
    status, other = server.api("POST", "/v1/verifications", {"to": "+886912345671", "channel": "sms"})
    assert status == 201, other
    assert server.api("POST", f"/v1/verifications/{other['id']}/cancel")[1]["status"] == "canceled"

    sipp = shutil.which("sipp")
    if sipp is None:
        if IN_CI:
            pytest.fail("sipp is missing (apt-get install sip-tester); with CI=true the dashboard test must run", pytrace=False)
        pytest.skip("sipp is missing (apt-get install sip-tester)")
    status, call = server.api("POST", "/v1/verifications", {"to": "+886912345672", "channel": "voice_callin"})
    assert status == 201, call
    work = tempfile.mkdtemp(prefix="verigate-dashboard-sipp-")
    try:
        calls = os.path.join(work, "calls.csv")
        with open(calls, "w") as f:
            f.write(f"SEQUENTIAL\n{call['to']};{call['system_number']};\n")
        result = subprocess.run([sipp, "-sf", str(ROOT / "sipp" / "callin-voice.xml"), f"127.0.0.1:{server.sip_port}", "-i", "127.0.0.1",
                                 "-p", str(free_port(socket.SOCK_DGRAM)), "-mp", str(free_port(socket.SOCK_DGRAM)), "-inf", calls, "-m", "1",
                                 "-nostdin", "-timeout", "90s", "-timeout_error"], cwd=work, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"SIPp's voice_callin call failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wait_for(lambda: "verigate_gateway_calls_ended_total{" in server.metrics(), "the call's end on /metrics")


@pytest.fixture(scope="module")
def scrape(server, smsc):
    drive(server, smsc)
    return server.metrics()


def test_every_dashboard_series_is_on_the_live_metrics(scrape):
    missing = missing_series(load_dashboard(), scrape)
    assert not missing, "the dashboard queries series /metrics does not have:\n  " + "\n  ".join(missing)


def test_a_misspelt_series_is_named(scrape):
    """The check can fail: the dashboard with one metric name misspelt is reported, by name and panel."""
    d = json.loads(DASHBOARD.read_text().replace("verigate_checks_total", "verigate_check_total"))
    assert missing_series(d, scrape) == ["verigate_check_total (in Code checks by result)"]
