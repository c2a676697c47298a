"""Call methods on the hosted page with the voice gateway of `verigate serve` (issue 7, case 9):
SIPp places the user's call from the page's number to the system number the page shows."""
import os
import subprocess

from conftest import ROOT, missing, page_state, wait_state
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SIPP = "/usr/bin/sipp"


def injection(directory, caller, called, code=""):
    """A SIPp injection file for sipp/callin-*.xml: caller;called;code (as scripts/sipp/inject.py writes)."""
    path = directory / "calls.csv"
    path.write_text(f"SEQUENTIAL\n{caller};{called};{code}\n")
    return str(path)


def test_missed_call_verifies_live_while_the_phone_rings(server, browser, shot, tmp_path):
    if not os.access(SIPP, os.X_OK):
        missing(f"{SIPP} (apt-get install sip-tester)")
    d = browser("en")
    d.get(server.url + "/?lang=en")
    WebDriverWait(d, 10).until(lambda d: d.find_elements(By.ID, "m-missed_call"))
    d.find_element(By.ID, "to").send_keys("0912 300 400")
    d.find_element(By.ID, "m-missed_call").click()
    d.find_element(By.ID, "start").click()
    wait_state(d, "pending")
    link = d.find_element(By.ID, "call-link")
    system_number = link.get_attribute("href").removeprefix("tel:")
    assert system_number.startswith("+886"), system_number
    d.execute_script("window.__sameDocument = 'yes'")
    shot(d, "09-missed-call")

    # The user's phone calls the number on the page; the gateway rings 5 s (conftest's sip.conf), then rejects (603).
    sipp = subprocess.Popen(
        [SIPP, "-sf", str(ROOT / "sipp" / "callin-missed.xml"), f"127.0.0.1:{server.sip_port}", "-i", "127.0.0.1", "-p", "0",
         "-m", "1", "-nostdin", "-timeout", "20s", "-inf", injection(tmp_path, "0912300400", system_number)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The page must turn "verified" while the call still rings: pushed by the approval, not by the call's end.
        WebDriverWait(d, 15, poll_frequency=0.05).until(lambda d: page_state(d) == "approved" or sipp.poll() is not None)
        ringing = sipp.poll() is None
        assert page_state(d) == "approved", server.output()[-2000:]
        assert ringing, "the page showed the result only after the call ended"
        assert d.execute_script("return window.__sameDocument") == "yes", "the page updated without a reload"
        shot(d, "10-missed-call-verified")
        assert sipp.wait(timeout=20) == 0, "SIPp saw the call rejected with 603, unanswered"
    finally:
        if sipp.poll() is None:
            sipp.kill()


def test_sms_code_via_kannel_fakesmsc_verifies(kannel_server, browser):
    """Case 8: the SMS goes out through a real Kannel (smsbox → bearerbox → fakesmsc); the code is
    read from what fakesmsc received and typed on the page."""
    import re

    from conftest import fakesmsc_text
    from selenium.webdriver.common.keys import Keys

    d = browser("en")
    d.get(kannel_server.url + "/?lang=en")
    d.find_element(By.ID, "to").send_keys("0912 300 500")
    d.find_element(By.ID, "m-sms").click()
    d.find_element(By.ID, "start").click()
    wait_state(d, "pending")
    text = fakesmsc_text(kannel_server.fakesmsc_out, "+886912300500")
    code = re.search(r"\b\d{4,10}\b", text).group(0)
    assert not d.find_elements(By.ID, "outbox") or code not in d.find_element(By.ID, "outbox").text, "the code came through Kannel, not the outbox"
    field = d.find_element(By.ID, "code")
    field.send_keys(code)
    field.send_keys(Keys.ENTER)
    wait_state(d, "approved")


def test_keyed_call_in_code_verifies(server, browser, shot, tmp_path):
    """Case 10: the page shows a system number and a code; SIPp calls from the user's number and keys
    the code (RFC 4733); the page turns "verified" without reload."""
    if not os.access(SIPP, os.X_OK):
        missing(f"{SIPP} (apt-get install sip-tester)")
    d = browser("en")
    d.get(server.url + "/?lang=en")
    WebDriverWait(d, 10).until(lambda d: d.find_elements(By.ID, "m-dtmf_callin"))
    d.find_element(By.ID, "to").send_keys("0912 300 600")
    d.find_element(By.ID, "m-dtmf_callin").click()
    d.find_element(By.ID, "start").click()
    wait_state(d, "pending")
    system_number = d.find_element(By.ID, "call-link").get_attribute("href").removeprefix("tel:")
    code = "".join(ch for ch in d.find_element(By.ID, "key-code").text if ch.isdigit())
    assert len(code) == 6, code
    d.execute_script("window.__sameDocument = 'yes'")
    shot(d, "11-keyed-call-in")
    sipp = subprocess.run(
        [SIPP, "-sf", str(ROOT / "sipp" / "callin-dtmf.xml"), f"127.0.0.1:{server.sip_port}", "-i", "127.0.0.1", "-p", "0", "-mp", "0",
         "-m", "1", "-nostdin", "-timeout", "40s", "-inf", injection(tmp_path, "0912300600", system_number, code)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert sipp.returncode == 0, "SIPp keyed the code and the gateway hung up: " + server.output()[-2000:]
    wait_state(d, "approved")
    assert d.execute_script("return window.__sameDocument") == "yes", "the page updated without a reload"
    shot(d, "12-keyed-call-in-verified")
