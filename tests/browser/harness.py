"""Shared harness for the dashboard's browser checks and screenshots.

Starts `profilestore serve` on a free loopback port with a temporary data
folder and a config with a plain key and scoped keys; drives Debian's
Chromium through Debian's chromedriver (Selenium never downloads a
browser or a driver: both paths are given); writes data through Open Cloud
v1 with the standard library; counts numbered checks like
tests/clients/harness.py. Waits are on page elements (WebDriverWait),
never sleeps.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

ADMIN_KEY = "admin-key-for-the-browser-checks"
READER_KEY = "reader-key-for-the-browser-checks"
UNIVERSE = 1
WAIT = 20  # seconds: generous, for a loaded CI machine
CHROMIUM = os.environ.get("PROFILESTORE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PROFILESTORE_CHROMEDRIVER", "/usr/bin/chromedriver")

CONFIG = f"""
[server]
api_keys = ["{ADMIN_KEY}"]

[[server.keys]]
name = "reader"
key = "{READER_KEY}"
scopes = ["universe:*/datastore:*:read"]
"""


class Server:
    """A `profilestore serve` child process on SQLite in a temporary folder."""

    def __init__(self, binary: str):
        self.folder = tempfile.mkdtemp(prefix="profilestore-ui-")
        config = os.path.join(self.folder, "config.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        self.process = subprocess.Popen(
            [binary, "serve", "--config", config, "--listen", "127.0.0.1:0",
             "--data-dir", os.path.join(self.folder, "data"), "--durability", "off"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"profilestore serve exited ({self.process.returncode}) before listening")
        self.url = json.loads(line)["listening"]

    def api(self, method, path, body=None, key=ADMIN_KEY, headers=None):
        """One HTTP request with the admin key; returns (status, headers, text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("x-api-key", key)
        req.add_header("content-type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def set_entry(self, store, key, value, scope="global", user_ids=None, attributes=None):
        """Writes an entry through Open Cloud v1; returns its new version."""
        q = urllib.parse.urlencode({"datastoreName": store, "entryKey": key, "scope": scope})
        headers = {}
        if user_ids:
            headers["roblox-entry-userids"] = json.dumps(user_ids)
        if attributes:
            headers["roblox-entry-attributes"] = json.dumps(attributes)
        status, _, text = self.api(
            "POST", f"/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?{q}",
            value, headers=headers)
        if status != 200:
            raise RuntimeError(f"writing {store}/{key}: {status} {text}")
        return json.loads(text)["version"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def browser(width=1280, height=900):
    """Headless Chromium with a fresh profile, no network of its own."""
    profile = tempfile.mkdtemp(prefix="profilestore-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.profile_dir = profile
    return driver


def close(driver):
    driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait_for(driver, css, text=None):
    """The element `css` once present (and containing `text`, if given);
    an element replaced meanwhile (a page loading) is looked up again."""
    wait = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])

    def found(d):
        for element in d.find_elements(By.CSS_SELECTOR, css):
            if text is None or text in element.text:
                return element
        return False

    return wait.until(found, f"no {css}" + (f" containing {text!r}" if text else ""))


def wait_until(driver, condition, what):
    """Waits until `condition(driver)` is true."""
    wait = WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])
    return wait.until(condition, what)


def sign_in(driver, server, key, path="/ui/"):
    """Opens `path`, is sent to the sign-in form, signs in, lands on `path`."""
    driver.get(server.url + path)
    field = wait_for(driver, "input#key")
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-in'] button").click()
    wait_until(driver, lambda d: "/ui/sign-in" not in d.current_url, "left the sign-in form")


class Checks:
    """Numbered checks: `ok   N name` or `FAIL N name: error`, then
    `label: N passed, M failed`. A failed check can leave the page in any
    state, so the following ones may fail too; all run."""

    def __init__(self, label: str):
        self.label = label
        self.results = []

    def run(self, name, fn):
        number = len(self.results) + 1
        try:
            note = fn()
            self.results.append(True)
            print(f"ok   {number:2} {name}" + (f" ({note})" if note else ""))
        except Exception as e:  # report and go on
            self.results.append(False)
            ours = [f for f in traceback.extract_tb(e.__traceback__) if "tests/browser" in f.filename]
            where = (ours or traceback.extract_tb(e.__traceback__))[-1]
            print(f"FAIL {number:2} {name}: {e!r} (at {where.filename}:{where.lineno})")
        sys.stdout.flush()

    def finish(self) -> int:
        passed = sum(self.results)
        failed = len(self.results) - passed
        print(f"{self.label}: {passed} passed, {failed} failed")
        return 1 if failed else 0
