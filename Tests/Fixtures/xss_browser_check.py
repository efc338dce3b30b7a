#!/usr/bin/env python3
"""Loads pages in headless Debian chromium and reports whether any script ran an alert.

Run by Tests/RampartTests/XSSCorpusTests.swift: `xss_browser_check.py PAGE...`. Before any script of a
page (and of every frame in it) runs, alert/confirm/prompt/print are replaced by functions that log
`XSS-FIRED` to the console; a real dialog that opens anyway is counted too. After load it waits for
timers, then fires the events a user could trigger (mouse, focus, keys, animation ends) at every
element, waits again, and lists every href/src/action/... whose URL runs script (javascript:,
vbscript:, data: other than images). Prints one JSON line per page:
{"page": ..., "fired": N, "messages": [...], "bad_urls": [...], "divs": N}.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import UnexpectedAlertPresentException, NoAlertPresentException
from selenium.webdriver.chrome.service import Service

HOOK = """
(() => {
  const fire = (kind) => function (m) { console.log('XSS-FIRED ' + kind + ' ' + String(m)); try { (window.top.__fired = (window.top.__fired || 0) + 1); } catch (e) {} return kind === 'confirm' ? false : null; };
  for (const k of ['alert', 'confirm', 'prompt', 'print']) {
    try { Object.defineProperty(window, k, {value: fire(k), writable: false, configurable: false}); } catch (e) { window[k] = fire(k); }
  }
})();
"""

PROVOKE = """
const events = ['mouseover', 'mouseenter', 'mousemove', 'mousedown', 'mouseup', 'mouseout', 'focus', 'focusin', 'blur',
                'keydown', 'keyup', 'keypress', 'input', 'change', 'animationstart', 'animationend', 'transitionend',
                'toggle', 'pointerover', 'pointerdown', 'wheel', 'scroll', 'dblclick', 'contextmenu', 'load', 'error'];
for (const el of document.querySelectorAll('*')) {
  for (const e of events) { try { el.dispatchEvent(new Event(e, {bubbles: true})); } catch (x) {} }
  if (el.tagName !== 'A' && el.tagName !== 'AREA') { try { el.click(); } catch (x) {} }
  try { el.focus(); } catch (x) {}
}
"""

URLS = """
const bad = [];
const urlAttributes = ['href', 'src', 'cite', 'action', 'formaction', 'background', 'poster', 'data', 'xlink:href', 'srcset', 'lowsrc', 'dynsrc', 'codebase', 'longdesc', 'usemap'];
for (const el of document.querySelectorAll('*')) {
  for (const a of el.getAttributeNames()) {
    if (a.startsWith('on')) bad.push(el.tagName + ' ' + a);
    if (!urlAttributes.includes(a)) continue;
    const v = (el.getAttribute(a) || '').replace(/[\\u0000-\\u0020\\u007f]/g, '').toLowerCase();
    const image = el.tagName === 'IMG' && a === 'src' && /^data:image\\/(png|gif|jpeg|webp)[;,]/.test(v);
    if (/^(javascript|vbscript|livescript):/.test(v) || (v.startsWith('data:') && !image)) bad.push(el.tagName + ' ' + a + '=' + v.slice(0, 80));
  }
}
return bad;
"""


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--allow-file-access-from-files"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.set_capability("unhandledPromptBehavior", "ignore")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def dismiss(driver):
    n = 0
    for _ in range(50):
        try:
            driver.switch_to.alert.dismiss()
            n += 1
        except NoAlertPresentException:
            break
    return n


def check(driver, page):
    real = 0
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
    try:
        driver.get("file://" + page)
    except UnexpectedAlertPresentException:
        real += 1 + dismiss(driver)
    time.sleep(1.5)
    for script in [PROVOKE]:
        try:
            driver.execute_script(script)
        except UnexpectedAlertPresentException:
            real += 1 + dismiss(driver)
    time.sleep(1.5)
    real += dismiss(driver)
    logs = [e.get("message", "") for e in driver.get_log("browser")]
    messages = [m for m in logs if "XSS-FIRED" in m]
    url = driver.current_url
    bad, divs = [], 0
    if url.startswith("file://" + page):
        bad = driver.execute_script(URLS)
        divs = driver.execute_script("return document.querySelectorAll('body > div[id^=v]').length")
    else:
        messages.append("the page navigated away to " + url)
    print(json.dumps({"page": page, "fired": len(messages) + real, "messages": messages[:20], "bad_urls": bad[:20], "divs": divs}), flush=True)


def main():
    driver = browser()
    try:
        for page in sys.argv[1:]:
            check(driver, page)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
