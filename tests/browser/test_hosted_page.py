"""The hosted verification page in a real headless chromium (issue 7). See README.md here for the
test plan, including the call cases that wait for the voice gateway."""
import hashlib
import hmac
import json
import time

from conftest import b64url_decode, wait_lang, wait_state, wait_text
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def text(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def start_sms(driver, server, number, lang="en"):
    driver.get(f"{server.url}/?lang={lang}")
    field = driver.find_element(By.ID, "to")
    field.clear()
    field.send_keys(number)
    driver.find_element(By.ID, "m-sms").click()
    driver.find_element(By.ID, "start").click()
    wait_state(driver, "pending")


def assert_labelled(driver):
    """Every visible control has a label (screen readers), and the status is a live region."""
    unlabelled = driver.execute_script(
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, button'))"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map(e => e.id)")
    assert unlabelled == []


def test_sms_code_from_the_outbox_typed_on_the_page_verifies(server, browser, shot):
    d = browser("en")
    d.get(server.url + "/")
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert_labelled(d)
    shot(d, "01-start")
    start_sms(d, server, "0912 345 678")
    assert "We sent a code by SMS to 0912 345 678" in text(d, "#instruction")
    assert d.find_element(By.ID, "status").get_attribute("aria-live") == "polite"
    assert_labelled(d)
    code = server.sms_code("+886912345678")
    assert code in text(d, "#outbox"), "demo mode shows the SMS outbox on the page"
    assert text(d, "#countdown").count(":") == 1
    shot(d, "02-sms-code")
    field = d.find_element(By.ID, "code")
    field.send_keys(code)
    field.send_keys(Keys.ENTER)  # by keyboard
    wait_state(d, "approved")
    assert "Verified. 0912 345 678 is your number." in text(d, "#status")
    shot(d, "03-verified")


def test_result_arrives_live_over_sse_without_reload(server, browser):
    # The integrator's start (its API key owns the verification), the user on its hosted page.
    started = server.api("POST", "/v1/verifications", {"to": "0912345679", "channel": "sms", "hosted": True})
    d = browser("en")
    d.get(started["url"])
    wait_state(d, "pending")
    d.execute_script("window.__sameDocument = 'yes'")
    # Approved from outside the page (as a call would be), by the key that started it: the page
    # learns it over SSE.
    server.api("POST", f"/v1/verifications/{started['id']}/checks", {"code": server.sms_code("+886912345679")})
    wait_state(d, "approved")
    assert "Verified" in text(d, "#status")
    assert d.execute_script("return window.__sameDocument") == "yes", "the page updated without a reload"
    assert not d.find_elements(By.ID, "code")


def test_five_wrong_codes_say_so_and_offer_a_restart(server, browser, shot):
    d = browser("en")
    start_sms(d, server, "0912345670")
    code = server.sms_code("+886912345670")
    wrong = "111111" if code == "000000" else "000000"
    for left in (4, 3, 2, 1):
        d.find_element(By.ID, "code").send_keys(wrong)
        d.find_element(By.ID, "check").click()
        wait_text(d, "error", f"Tries left: {left}.")
        assert d.find_element(By.ID, "error").get_attribute("role") == "alert"
        if left == 4:
            shot(d, "04-wrong-code")
    d.find_element(By.ID, "code").send_keys(wrong)
    d.find_element(By.ID, "check").click()
    wait_state(d, "max_attempts_reached")
    assert "Too many wrong codes. Please start again." in text(d, "#status")
    assert not d.find_elements(By.ID, "code")
    restart = d.find_element(By.ID, "restart")
    assert restart.is_displayed()
    shot(d, "05-too-many-tries")
    restart.click()
    wait_state(d, "pending")
    assert d.find_element(By.ID, "code").is_displayed()
    assert len(server.outbox("+886912345670")) == 2, "a new code was sent"


def test_zh_tw_from_accept_language_and_switchable(server, browser, shot):
    d = browser("zh-TW")
    d.get(server.url + "/")
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-TW"
    assert text(d, "h1") == "驗證您的手機號碼"
    assert "傳簡訊驗證碼給我" in d.page_source
    shot(d, "06-zh-TW-start")
    start_sms(d, server, "0912345671", lang="zh-TW")
    assert "驗證碼已以簡訊傳送至 0912 345 671" in text(d, "#instruction")
    assert text(d, "label[for=code]") == "驗證碼"
    shot(d, "07-zh-TW-code")
    d.find_element(By.LINK_TEXT, "English").click()
    wait_lang(d, "en")
    assert "We sent a code by SMS" in text(d, "#instruction")


def test_inline_errors_for_invalid_number_and_disallowed_country(server, browser, shot):
    d = browser("en")
    for number, message in (("12", "That is not a valid phone number."),
                            ("+1 650 253 0000", "Numbers of this country cannot be verified here.")):
        d.get(server.url + "/")
        d.find_element(By.ID, "to").send_keys(number)
        d.find_element(By.ID, "start").click()
        wait_text(d, "form-error", message)
        assert d.find_element(By.ID, "form-error").get_attribute("role") == "alert"
        assert d.find_element(By.ID, "to").get_attribute("aria-invalid") == "true"
        assert d.find_element(By.ID, "to").get_attribute("value") == number, "the number typed is kept"
        if number == "12":
            shot(d, "08-invalid-number")


def test_resend_too_soon_shows_the_wait(server, browser):
    d = browser("en")
    start_sms(d, server, "0912345672")
    d.find_element(By.ID, "resend").click()
    wait_text(d, "error", "Please wait")
    assert "seconds before trying again" in text(d, "#error")


def test_hosted_page_redirects_with_a_result_the_integrator_verifies_offline(server, browser):
    started = server.api("POST", "/v1/verifications", {
        "to": "0912345673", "channel": "sms", "hosted": True, "redirect_url": server.url + "/healthz?shop=1"})
    assert started["url"].startswith(server.url + "/v/")
    d = browser("en")
    d.get(started["url"])
    wait_state(d, "pending")
    d.find_element(By.ID, "code").send_keys(server.sms_code("+886912345673"))
    d.find_element(By.ID, "check").click()
    WebDriverWait(d, 10).until(lambda x: "verigate_result=" in x.current_url)
    assert d.current_url.startswith(server.url + "/healthz?shop=1&verigate_result=")
    token = d.current_url.split("verigate_result=", 1)[1]
    # The README's recipe: HMAC-SHA256 with the webhook key over "vgr1." + payload part.
    payload, mac = token.split(".")
    expected = hmac.new(server.webhook_key(), b"vgr1." + payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(b64url_decode(mac), expected)
    result = json.loads(b64url_decode(payload))
    assert result["id"] == started["id"] and result["ref"] == started["id"]
    assert result["to"] == "+886912345673" and result["status"] == "approved"
    assert result["exp"] > time.time()
