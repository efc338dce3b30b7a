#!/usr/bin/env python3
"""Drives the admin dashboard (GET /admin/) in headless Debian chromium, as an operator would.

Run by Tests/IntegrationTests/DashboardTests.swift against a live Rampart and demo app. It signs in
(a wrong token first: refused, forgotten, asked again), waits for the breakers, journal, routes, top callers, upstream servers and usage to render from live
data, checks the console for CSP violations and script errors, forces the `app` breaker open and
closed, deletes one journaled save (accepting the confirm), replays another while the app still
fails (an error shows, the row stays), clears the app's fault and replays it again (success, row
gone, the app has the content). With RAMPART_DASHBOARD_SCREENSHOT=<path> it also sends traffic
while it works and saves a full-page screenshot at the end.

Exits 0 when everything held; otherwise prints what failed and exits 1.
"""
import argparse
import json
import os
import sys
import threading
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20  # seconds for anything the page should show


DRIVER = None  # set once the browser runs, so a failure can show what the page and console had


def fail(message):
    print("FAIL: " + message, flush=True)
    if DRIVER is not None:
        try:
            for entry in DRIVER.get_log("browser"):
                print("console: " + entry.get("level", "") + " " + entry.get("message", ""), flush=True)
            print("page text:\n" + DRIVER.find_element(By.TAG_NAME, "body").text, flush=True)
            shot = os.environ.get("RAMPART_DASHBOARD_SCREENSHOT")
            if shot:
                DRIVER.save_screenshot(shot.removesuffix(".png") + "-failure.png")
        except Exception as e:  # the browser may be gone; the message above is what matters
            print(f"(could not read the page: {e})", flush=True)
    sys.exit(1)


def step(message):
    print("ok: " + message, flush=True)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800",
                 "--disable-gpu", "--disable-extensions", "--no-first-run", "--lang=en-US"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Page:
    def __init__(self, driver):
        self.driver = driver
        self.console = []

    def wait(self, what, condition, timeout=WAIT):
        """Waits until condition(driver) is truthy; stale elements (a section redrawn) just retry."""
        def guarded(d):
            try:
                return condition(d)
            except StaleElementReferenceException:
                return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(guarded)
        except TimeoutException:
            notice = self.text_of("#notice")
            banner = self.text_of("#banner")
            fail(f"timed out after {timeout}s waiting for {what} (notice: {notice!r}, banner: {banner!r})")

    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def text_of(self, css):
        try:
            e = self.find(css)
            return e.text if e else None
        except StaleElementReferenceException:
            return None

    def click(self, css, what):
        """Clicks the element once it exists and is enabled (re-finding it if a redraw replaced it)."""
        def clicked(d):
            e = self.find(css)
            if e is None or not e.is_enabled():
                return False
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", e)
            try:
                e.click()
            except ElementClickInterceptedException:
                return False
            return True
        self.wait(what, clicked)

    def state_of(self, breaker):
        return self.driver.execute_script(
            "const b = document.querySelector('tr[data-breaker=\"' + arguments[0] + '\"] .state');"
            "return b ? b.dataset.state : null;", breaker)

    def breaker_forced(self, breaker):
        return self.driver.execute_script(
            "return !!document.querySelector('tr[data-breaker=\"' + arguments[0] + '\"] .tag');", breaker)

    def notice(self):
        return self.driver.execute_script(
            "const n = document.getElementById('notice');"
            "return n.hidden ? null : {kind: n.dataset.kind, text: n.textContent};")

    def collect_console(self):
        self.console += self.driver.get_log("browser")

    def check_console(self):
        self.collect_console()
        bad = [e for e in self.console
               if "Content Security Policy" in e.get("message", "") or "Content-Security-Policy" in e.get("message", "")
               or "Uncaught" in e.get("message", "")]
        if bad:
            fail("browser console reports CSP violations or script errors:\n" + "\n".join(e["message"] for e in bad))


def traffic(main_url, stop):
    """Steady requests from a few users (for the screenshot's rate, top callers and usage)."""
    users = ["alice", "alice", "alice", "bob", "bob", "carol"]
    pace = [0.09, 0.07, 0.05, 0.06, 0.08, 0.11]
    i = 0
    while not stop.is_set():
        user = users[i % len(users)]
        headers = {"Content-Type": "application/json", "X-User-Id": user}
        if i % 11 == 0:
            body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 200,
                               "messages": [{"role": "user", "content": f"Outline chapter {i}"}]}).encode()
            http("POST", main_url + "/v1/messages", body, headers)
        elif i % 13 == 0:
            body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Summarise {i}"}]}).encode()
            http("POST", main_url + "/v1/chat/completions", body, headers)
        elif i % 7 == 0:
            body = json.dumps({"messages": [{"role": "user", "content": f"Question {i}"}]}).encode()
            http("POST", main_url + "/api/ai/chat", body, headers)
        elif i % 40 == 0:
            http("GET", main_url + "/boom", None, headers)
        else:
            http("GET", main_url + f"/echo?page={i}", None, headers)
        i += 1
        stop.wait(pace[(i // 40) % len(pace)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--main-url", required=True)
    ap.add_argument("--app-url", required=True, help="the demo app, to clear its fault and read the replayed save")
    ap.add_argument("--token", required=True)
    ap.add_argument("--replay-id", required=True)
    ap.add_argument("--replay-chapter", required=True)
    ap.add_argument("--delete-id", required=True)
    ap.add_argument("--expect-caller", required=True)
    ap.add_argument("--expect-model", required=True)
    args = ap.parse_args()
    screenshot = os.environ.get("RAMPART_DASHBOARD_SCREENSHOT")

    stop = threading.Event()
    if screenshot:
        threading.Thread(target=traffic, args=(args.main_url, stop), daemon=True).start()

    global DRIVER
    driver = DRIVER = start_browser()
    try:
        page = Page(driver)
        driver.get(args.admin_url + "/admin/")
        page.wait("the token prompt", lambda d: page.find("#login") and page.find("#login").is_displayed())
        driver.find_element(By.ID, "token").send_keys("not-the-token")
        driver.find_element(By.ID, "connect").click()
        page.wait("a wrong token to be refused and asked again",
                  lambda d: page.find("#login").is_displayed() and "refused" in (page.text_of("#login-error") or ""))
        if driver.execute_script("return sessionStorage.getItem('rampart.adminToken');") is not None:
            fail("a refused token stayed in sessionStorage")
        step("a wrong token is refused, forgotten and asked for again")
        driver.find_element(By.ID, "token").send_keys(args.token)
        driver.find_element(By.ID, "connect").click()
        stored = driver.execute_script("return sessionStorage.getItem('rampart.adminToken');")
        if stored != args.token:
            fail(f"the token is not kept in sessionStorage (found {stored!r})")
        step("signed in; the token is in sessionStorage")

        page.wait("the dashboard", lambda d: page.find("#dashboard").is_displayed())
        page.wait("the app breaker row", lambda d: page.state_of("app") == "closed")
        page.wait("the journaled save to replay", lambda d: page.find(f'tr[data-save-id="{args.replay_id}"]'))
        page.wait("the journaled save to delete", lambda d: page.find(f'tr[data-save-id="{args.delete_id}"]'))
        step("breakers and the save journal render from live data")
        page.wait("the routes with their quotas",
                  lambda d: "per user" in (page.text_of('tr[data-route="generate-chapter"]') or ""))
        page.wait("the top caller", lambda d: page.find(f'tr[data-caller="{args.expect_caller}"]'))
        page.wait("usage by model", lambda d: page.find(f'tr[data-model="{args.expect_model}"]'))
        page.wait("the request counter", lambda d: (page.text_of("#rate-total") or "–").replace(",", "").isdigit())
        page.wait("the live rate", lambda d: (page.text_of("#rate-now") or "–") != "–")
        page.wait("the status tiles", lambda d: (page.text_of("#st-store") or "").startswith("memory"))
        page.wait("the app's server", lambda d: "up" in (page.text_of('tr[data-server="app/0"]') or ""))
        step("routes, top callers, usage, upstream servers, status and the live rate render")
        page.check_console()
        step("no CSP violations or script errors in the console")

        page.click('tr[data-breaker="app"] button[data-op="open"]', "the Open button")
        page.wait("the breaker to open", lambda d: page.state_of("app") == "open")
        page.click('tr[data-breaker="app"] button[data-op="close"]', "the Close button")
        page.wait("the breaker to close (forced)", lambda d: page.state_of("app") == "closed" and page.breaker_forced("app"))
        page.click('tr[data-breaker="app"] button[data-op="reset"]', "the Reset button")
        page.wait("the breaker to be reset", lambda d: page.state_of("app") == "closed" and not page.breaker_forced("app"))
        step("the breaker opens, closes and resets from its buttons")

        page.click(f'tr[data-save-id="{args.replay_id}"] button[data-action="view"]', "the View button")
        page.wait("the save's content to show", lambda d: page.find(f'tr[data-save-id="{args.replay_id}"] + tr.save-content pre'))
        if not page.find(f'tr[data-save-id="{args.replay_id}"] + tr.save-content pre').text.strip():
            fail("View showed no content")
        page.click(f'tr[data-save-id="{args.replay_id}"] button[data-action="view"]', "the View button again")
        page.wait("the content to fold away", lambda d: page.find(f'tr[data-save-id="{args.replay_id}"] + tr.save-content') is None)
        step("View shows a journaled save's content, as text, and folds it away")

        page.click(f'tr[data-save-id="{args.delete_id}"] button[data-action="delete"]', "the Delete button")
        page.wait("the confirm dialog", expected_conditions.alert_is_present())
        driver.switch_to.alert.accept()
        page.wait("the deleted row to go", lambda d: page.find(f'tr[data-save-id="{args.delete_id}"]') is None)
        n = page.notice()
        if not n or n["kind"] != "ok" or "Deleted" not in n["text"]:
            fail(f"no success message after Delete: {n}")
        step("Delete asks first, then removes the save")

        page.click(f'tr[data-save-id="{args.replay_id}"] button[data-action="replay"]', "the Replay button (app failing)")
        page.wait("the failed replay message",
                  lambda d: (page.notice() or {}).get("kind") == "error" and args.replay_id in page.notice()["text"])
        if page.find(f'tr[data-save-id="{args.replay_id}"]') is None:
            fail("a failed replay removed the save from the journal")
        step("a replay while the app still fails says so and keeps the save")

        status, _ = http("DELETE", args.app_url + "/_demo/faults")
        if status != 200:
            fail(f"could not clear the demo app's fault: {status}")
        page.click(f'tr[data-save-id="{args.replay_id}"] button[data-action="replay"]', "the Replay button")
        page.wait("the replay success message",
                  lambda d: (page.notice() or {}).get("kind") == "ok" and "Replayed save " + args.replay_id in page.notice()["text"])
        page.wait("the replayed row to go", lambda d: page.find(f'tr[data-save-id="{args.replay_id}"]') is None)
        status, body = http("GET", args.app_url + f"/api/chapters/{args.replay_chapter}/content")
        content = json.loads(body or b"{}").get("content") if status == 200 else None
        if not content:
            fail(f"the demo app did not receive the replayed content (status {status})")
        step(f"Replay succeeds: message shown, row gone, the app has {len(content)} characters")

        page.check_console()
        if screenshot:
            page.wait("a minute of rate samples",
                      lambda d: d.execute_script("return document.querySelector('#spark-line').points.numberOfItems") >= 45,
                      timeout=120)
            stop.set()
            height = driver.execute_script("return Math.ceil(document.querySelector('main').getBoundingClientRect().bottom + window.scrollY)")
            chrome = driver.get_window_size()["height"] - driver.execute_script("return window.innerHeight")
            driver.set_window_size(1400, min(max(height, 900), 4000) + chrome)
            page.wait("the page to settle", lambda d: d.execute_script("return document.readyState") == "complete")
            driver.save_screenshot(screenshot)
            step("screenshot saved to " + screenshot)
        page.check_console()
        step("console still clean")
    finally:
        stop.set()
        driver.quit()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
