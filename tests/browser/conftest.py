"""Fixtures of the browser tests: a `verigate serve` on a free loopback port with a temp data dir,
and headless Debian chromium through Selenium (see docs/TESTING.md).

With CI=true a missing tool fails the tests; locally it skips them."""
import base64
import json
import os
import pathlib
import re
import subprocess
import time
import urllib.request

import sys

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import verigate  # noqa: E402  (tests/verigate.py: the verigate serve both Python suites start)
# Screenshots of every state go to a temp folder (CI keeps them as artifacts there); set
# VERIGATE_SCREENSHOTS=docs/screenshots to refresh the ones the README shows.
SHOTS = pathlib.Path(os.environ.get("VERIGATE_SCREENSHOTS", pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "verigate-screenshots"))
IN_CI = os.environ.get("CI") == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def check_binary():
    """The verigate binary the tests run (tests/verigate.py) exists, or the tests fail (CI) or skip."""
    path = os.environ.get("VERIGATE_BIN") or str(ROOT / ".build" / "debug" / "verigate")
    if not os.access(path, os.X_OK):
        missing(f"the verigate binary ({path}; build it with `swift build --product verigate`)")


def missing(what):
    if IN_CI:
        pytest.fail(f"{what} is missing; with CI=true the browser tests must run", pytrace=False)
    pytest.skip(f"{what} is missing")


class Server(verigate.Server):
    """A running `verigate serve` (demo and dev mode) with the page helpers the browser tests use."""

    def __init__(self, extra_env=None, prefix="verigate-browser-"):
        # The gateway rings a missed call for 5 s before its 603: a page that shows "verified" while
        # the phone still rings was updated live, by the approval itself. (It was 1 s, which a CI
        # run on a loaded machine missed: how fast the page follows is a measurement, not a test.)
        super().__init__(env={**(extra_env or {}), "VERIGATE_DEMO_STARTS": "100", "VERIGATE_IP_RATE": "0"}, prefix=prefix,
                         sip_conf="[general]\nmissed_call_ring_time = 5000ms\n\n[loopback]\ntype = peer\nhost = 127.0.0.0/8\ntrusted = yes\n")

    def outbox(self, to):
        with urllib.request.urlopen(self.url + "/dev/outbox", timeout=5) as r:
            return [m for m in json.load(r) if m["to"] == to]

    def sms_code(self, to):
        """The code of the newest SMS to `to` (E.164), read from the dev outbox."""
        messages = self.outbox(to)
        assert messages, f"no SMS to {to} in the outbox"
        return re.search(r"\d{4,10}", messages[-1]["text"]).group(0)

    def api(self, method, path, body=None):
        """The JSON body of an API call with the server's key; an error status fails the test."""
        status, answer = super().api(method, path, body)
        assert status < 400, f"{method} {path}: HTTP {status}: {answer}"
        return answer

    def webhook_key(self):
        out = subprocess.run([self.binary, "webhook-secret", "--data-dir", self.data_dir], check=True, capture_output=True, text=True)
        return bytes.fromhex(out.stdout.strip())


@pytest.fixture(scope="session")
def server():
    check_binary()
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def kannel_server():
    """A `verigate serve` whose SMS driver is Kannel (the bearerbox, smsbox and fakesmsc that
    scripts/with-kannel.sh starts); `sms_code` reads what fakesmsc received."""
    url, out = os.environ.get("VERIGATE_TEST_KANNEL_URL"), os.environ.get("VERIGATE_TEST_FAKESMSC_OUT")
    if not url or not out:
        missing("Kannel (run under scripts/with-kannel.sh; apt-get install kannel kannel-extras)")
    check_binary()
    s = Server(prefix="verigate-browser-kannel-", extra_env={
        "VERIGATE_SMS_DRIVER": "kannel", "VERIGATE_KANNEL_URL": url,
        "VERIGATE_KANNEL_USERNAME": os.environ.get("VERIGATE_TEST_KANNEL_USER", "tester"),
        "VERIGATE_KANNEL_PASSWORD": os.environ.get("VERIGATE_TEST_KANNEL_PASSWORD", "foobar")})
    s.fakesmsc_out = out
    yield s
    s.stop()


def fakesmsc_text(path, to, timeout=30):
    """The text of the first message fakesmsc printed for `to` (`Got message N: <from to type data>`,
    data URL-encoded; `ucs-2` data is UTF-16BE)."""
    import urllib.parse
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            content = open(path, encoding="utf-8", errors="replace").read()
        except OSError:
            content = ""
        for match in re.finditer(r"Got message \d+: <(\S*) (\S+) (\S+) (.*?)>\n", content, re.S):
            if match.group(2) == to:
                kind, data = match.group(3), match.group(4)
                raw = urllib.parse.unquote_to_bytes(data.replace("+", " "))
                return raw.decode("utf-16-be") if kind == "ucs-2" else raw.decode("utf-8", "replace")
        time.sleep(0.1)
    raise AssertionError(f"fakesmsc received nothing for {to} in {timeout} s")


@pytest.fixture
def browser():
    """A factory of headless chromium drivers at phone width, with a given Accept-Language."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium (run scripts/python-venv.sh)")
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            missing(f"{tool} (apt-get install chromium chromium-driver)")
    drivers = []

    def make(language="en"):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=412,915", f"--lang={language}"):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        drivers.append(driver)
        return driver

    yield make
    for d in drivers:
        d.quit()


@pytest.fixture
def shot():
    """Saves a screenshot of the current state under SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(driver, name):
        driver.save_screenshot(str(SHOTS / f"{name}.png"))

    return save


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def while_loading(read):
    """`read()`, or None while a click's new page replaces the old one. Chromium reports that
    moment in three ways: a stale element, a missing one, or "Node with given id does not belong
    to the document" (a plain WebDriverException); any other error is raised."""
    try:
        return read()
    except (StaleElementReferenceException, NoSuchElementException):
        return None
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return None
        raise


def page_state(driver):
    """The page's `data-state`; None while a new page loads."""
    return while_loading(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-state"))


def wait_state(driver, state, timeout=10):
    WebDriverWait(driver, timeout).until(lambda d: page_state(d) == state)


def wait_text(driver, element_id, expected, timeout=10):
    """Waits until the element `element_id` contains `expected`, across page loads."""
    WebDriverWait(driver, timeout).until(
        lambda d: expected in (while_loading(lambda: d.find_element(By.ID, element_id).text) or ""))


def wait_lang(driver, lang, timeout=10):
    """Waits until the page's <html lang> is `lang`, across page loads."""
    WebDriverWait(driver, timeout).until(
        lambda d: while_loading(lambda: d.find_element(By.TAG_NAME, "html").get_attribute("lang")) == lang)
