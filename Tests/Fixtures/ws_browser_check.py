#!/usr/bin/env python3
"""A browser's WebSocket through Rampart, in headless Debian chromium: the demo page, served by
Rampart under a CSP, opens a socket to the demo app's /ws/echo through Rampart and gets its text
and binary messages back; then a page of another origin (the demo app itself, on its own port)
tries the same socket and is refused. Prints RESULT <json>; exits 0 when it ran."""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

OPEN_AND_ECHO = """
const [url, done] = [arguments[0], arguments[arguments.length - 1]];
const out = {events: []};
let ws;
try { ws = new WebSocket(url); } catch (e) { done({error: String(e)}); return; }
ws.binaryType = "arraybuffer";
ws.onopen = () => { out.events.push("open"); ws.send("hello from chromium"); ws.send(new Uint8Array([1, 2, 3, 250])); };
ws.onmessage = (m) => {
  if (typeof m.data === "string") { out.text = m.data; }
  else { out.binary = Array.from(new Uint8Array(m.data)); ws.close(1000, "done"); }
};
ws.onerror = () => out.events.push("error");
ws.onclose = (e) => { out.close = {code: e.code, clean: e.wasClean}; done(out); };
setTimeout(() => done(Object.assign(out, {timeout: true})), 15000);
"""


def main():
    page, socket, other_page = sys.argv[1:4]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(30)
    try:
        driver.get(page)
        same = driver.execute_async_script(OPEN_AND_ECHO, socket)
        driver.get(other_page)
        cross = driver.execute_async_script(OPEN_AND_ECHO, socket)
        console = [e.get("message", "") for e in driver.get_log("browser")]
        print("RESULT " + json.dumps({"same_origin": same, "cross_origin": cross, "console": console}), flush=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
