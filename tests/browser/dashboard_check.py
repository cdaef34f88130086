"""The dashboard at /ui/ in a real headless browser (Chromium via Selenium).

Usage: python tests/browser/dashboard_check.py target/debug/profilestore

Signs in with a key, opens an entry, diffs two versions, reverts one and
sees the new version, edits against a stale version and sees the conflict
(with the typed text kept), checks that a read-only scoped key cannot
revert, and watches the live request monitor show a request made meanwhile.
"""

import json
import sys
import urllib.parse
import uuid

from selenium.webdriver.common.by import By

import harness
from harness import ADMIN_KEY, READER_KEY, UNIVERSE, wait_for, wait_until

STORE, KEY = "Players", "user_1"


def main(binary):
    server = harness.Server(binary)
    driver = harness.browser()
    checks = harness.Checks("browser checks")
    versions = [server.set_entry(STORE, KEY, {"coins": n, "name": "Ann"}, user_ids=[1]) for n in (1, 2, 3)]
    entry_path = f"/ui/u/{UNIVERSE}/data-stores/{STORE}/entries/{KEY}"

    def signs_in():
        harness.sign_in(driver, server, ADMIN_KEY, f"/ui/u/{UNIVERSE}/data-stores")
        wait_for(driver, "#stores a", STORE)
        cookie = driver.get_cookie("ps_session")
        assert cookie is not None, driver.get_cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        assert "expiry" not in cookie, f"a session cookie has no expiry: {cookie}"
        assert cookie["path"] == "/ui", cookie
        return "httpOnly, SameSite=Strict, browser session only"

    def opens_an_entry():
        driver.find_element(By.LINK_TEXT, STORE).click()
        wait_for(driver, "#keys a", KEY).click()
        value = wait_for(driver, "#entry-value", '"coins": 3')
        assert '"name": "Ann"' in value.text, value.text
        info = driver.find_element(By.CSS_SELECTOR, "#key-info").text
        assert versions[-1] in info and "1" in info, info
        rows = driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
        assert len(rows) == 3, [r.text for r in rows]

    def diffs_two_versions():
        driver.find_element(By.CSS_SELECTOR, f"input[name=a][value='{versions[0]}']").click()
        driver.find_element(By.CSS_SELECTOR, f"input[name=b][value='{versions[2]}']").click()
        driver.find_element(By.CSS_SELECTOR, "#compare-button").click()
        wait_for(driver, "#diff-summary", "differ")
        old = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#diff td.del")]
        new = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#diff td.ins")]
        assert any('"coins": 1' in t for t in old), old
        assert any('"coins": 3' in t for t in new), new
        assert f"a={urllib.parse.quote(versions[0])}" in driver.current_url, driver.current_url
        return "the URL carries both versions"

    def reverts_to_an_old_version():
        row = driver.find_element(By.CSS_SELECTOR, f"#versions tr[data-version='{versions[0]}']")
        row.find_element(By.XPATH, ".//button[normalize-space()='Revert']").click()
        flash = wait_for(driver, ".flash.ok", "Reverted")
        wait_for(driver, "#entry-value", '"coins": 1')
        rows = driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
        assert len(rows) == 4, [r.text for r in rows]
        latest = driver.find_element(By.CSS_SELECTOR, "#entry-version").text
        assert latest not in versions and latest in flash.text, (latest, flash.text)
        status, _, text = server.api("GET", f"/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?datastoreName={STORE}&entryKey={KEY}")
        assert status == 200 and json.loads(text)["coins"] == 1, (status, text)
        return f"new version {latest}"

    def edit_with_a_stale_version_shows_the_conflict():
        driver.find_element(By.CSS_SELECTOR, "#edit-link").click()
        box = wait_for(driver, "textarea#value")
        typed = '{"coins": 999, "name": "typed in the browser"}'
        box.clear()
        box.send_keys(typed)
        # Someone else saves meanwhile.
        server.set_entry(STORE, KEY, {"coins": 50, "name": "elsewhere"}, user_ids=[1])
        driver.find_element(By.CSS_SELECTOR, "#save").click()
        problem = wait_for(driver, "#edit-problem", "changed since").text
        kept = driver.find_element(By.CSS_SELECTOR, "textarea#value").get_attribute("value")
        assert json.loads(kept) == json.loads(typed), kept
        current = driver.find_element(By.CSS_SELECTOR, "#current").text
        assert "elsewhere" in current, current
        # Saving again now (the form expects the current version) lands.
        driver.find_element(By.CSS_SELECTOR, "#save").click()
        wait_for(driver, ".flash.ok", "Saved")
        wait_for(driver, "#entry-value", "typed in the browser")
        return problem[:60] + "..."

    def a_read_only_key_cannot_revert():
        driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-out'] button").click()
        wait_for(driver, "input#key")
        harness.sign_in(driver, server, READER_KEY, entry_path)
        wait_for(driver, "#entry-value", "typed in the browser")
        assert not driver.find_elements(By.XPATH, "//button[normalize-space()='Revert']"), "a revert button"
        assert not driver.find_elements(By.CSS_SELECTOR, "#edit-link"), "an edit link"
        # The POST itself is refused too (with a valid session and form token).
        csrf = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        status = driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
               fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf: arguments[1], version: arguments[2]})})
                 .then(r => done(r.status), e => done(String(e)));""",
            entry_path + "/revert", csrf, versions[1])
        assert status == 403, status
        driver.get(server.url + entry_path + "/edit")
        wait_for(driver, "h1", "403")
        _, _, text = server.api("GET", f"/datastores/v1/universes/{UNIVERSE}/standard-datastores/datastore/entries/entry?datastoreName={STORE}&entryKey={KEY}")
        assert "typed in the browser" in text, text
        return "no button, POST 403, edit form 403"

    def the_monitor_shows_a_request_made_meanwhile():
        driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-out'] button").click()
        wait_for(driver, "input#key")
        harness.sign_in(driver, server, ADMIN_KEY, "/ui/requests")
        wait_for(driver, "#live-state", "live")
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        status, _, _ = server.api("GET", f"/cloud/v2/universes/{UNIVERSE}/data-stores/{probe}/entries/none")
        assert status == 404, status
        row = wait_for(driver, "#request-rows", probe)
        line = next(r.text for r in driver.find_elements(By.CSS_SELECTOR, "#request-rows tr") if probe in r.text)
        assert "GET" in line and "404" in line and "key" in line, line
        return line

    try:
        checks.run("signs in with a key (session cookie)", signs_in)
        checks.run("opens an entry", opens_an_entry)
        checks.run("diffs two versions side by side", diffs_two_versions)
        checks.run("reverts to an old version (a new version)", reverts_to_an_old_version)
        checks.run("edit with a stale version shows the conflict, keeps the text", edit_with_a_stale_version_shows_the_conflict)
        checks.run("a read-only scoped key cannot revert or edit", a_read_only_key_cannot_revert)
        checks.run("the request monitor shows a request made meanwhile", the_monitor_shows_a_request_made_meanwhile)
    finally:
        harness.close(driver)
        server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
