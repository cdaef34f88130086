"""The dashboard's live pages in a real headless browser (Chromium via Selenium).

Usage: python tests/browser/live_check.py target/debug/profilestore

Watches a live session appear and end on /ui/sessions (started and ended
through the session API meanwhile), publishes a message from one tab and
sees it arrive in another tab's live tail, opens a profile by name and
sends it a message (the game server holding it gets it), watches a steal
appear in the profile's lock history, reads an ordered data store's top N
with a value set meanwhile, opens a memory store queue, and checks that a
read-only key sees no send or publish box. Same harness as
dashboard_check.py (tests/browser/harness.py); waits on elements, never
sleeps.
"""

import json
import sys
import uuid

from selenium.webdriver.common.by import By

import harness
from harness import ADMIN_KEY, READER_KEY, UNIVERSE, wait_for, wait_until

SESSIONS = f"/session-api/v1/universes/{UNIVERSE}/servers"


def main(binary):
    server = harness.Server(binary)
    driver = harness.browser()
    checks = harness.Checks("live browser checks")

    def api_ok(method, path, body=None):
        status, _, text = server.api(method, path, body)
        assert status == 200, (method, path, status, text)
        return json.loads(text) if text else None

    def start(job, store, key, steal=False):
        body = {"store": store, "key": key, "placeId": 77, "steal": steal}
        return api_ok("POST", f"{SESSIONS}/{job}/sessions", body)["profile"]

    def row_of(tbody, text):
        for r in driver.find_elements(By.CSS_SELECTOR, f"{tbody} tr"):
            if text in r.text:
                return r
        return None

    def signs_in():
        harness.sign_in(driver, server, ADMIN_KEY, "/ui/sessions")
        wait_for(driver, "#live-state", "live")

    def a_live_session_appears_and_ends():
        key = f"Live_{uuid.uuid4().hex[:6]}"
        profile = start("job-live", "PlayerData", key)
        row = wait_until(driver, lambda d: (r := row_of("#session-rows", key)) and "held" in r.text and r,
                         "the session's row")
        assert "job-live" in row.text and profile["sessionId"] in row.text, row.text
        wait_for(driver, "#change-rows tr[data-kind=started]", key)
        api_ok("POST", f"{SESSIONS}/job-live/sessions/PlayerData/{key}:end?loadCount={profile['loadCount']}")
        wait_until(driver, lambda d: (r := row_of("#session-rows", key)) and "ended" in (r.get_attribute("class") or ""),
                   "the row ended in place")
        assert "released" in row_of("#session-rows", key).text
        wait_for(driver, "#change-rows tr[data-kind=released]", key)
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#session-rows tr") if key in r.text]
        assert len(rows) == 1, [r.text for r in rows]
        return "held, then released in the same row"

    def a_published_message_arrives_in_the_tail():
        topic = f"News{uuid.uuid4().hex[:6]}"
        driver.get(server.url + f"/ui/u/{UNIVERSE}/messaging/topics/{topic}")
        wait_for(driver, "#live-state", "live")
        tail = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.get(server.url + f"/ui/u/{UNIVERSE}/messaging")
        wait_for(driver, "#publish-topic").send_keys(topic)
        text = f"hello <b>{uuid.uuid4().hex[:6]}</b>"
        driver.find_element(By.CSS_SELECTOR, "#publish-message").send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#publish-button").click()
        wait_for(driver, ".flash.ok", "Published")
        driver.close()
        driver.switch_to.window(tail)
        cell = wait_for(driver, "#tail-rows code.message", text)
        assert cell.text == text, cell.text  # shown as text, not markup
        assert not driver.find_elements(By.CSS_SELECTOR, "#tail-rows code.message b")
        # One published through Open Cloud meanwhile arrives too.
        status, _, body = server.api("POST", f"/messaging-service/v1/universes/{UNIVERSE}/topics/{topic}",
                                     {"message": "from open cloud"})
        assert status == 200, (status, body)
        wait_for(driver, "#tail-rows code.message", "from open cloud")
        return "published in one tab, live in the other"

    def opens_a_profile_and_sends_a_message():
        key = f"Player_{uuid.uuid4().hex[:6]}"
        profile = start("job-msg", "PlayerData", key)
        driver.get(server.url + f"/ui/u/{UNIVERSE}/profiles")
        form = wait_for(driver, "#open-profile")
        form.find_element(By.NAME, "store").send_keys("PlayerData")
        form.find_element(By.NAME, "key").send_keys(key)
        form.find_element(By.CSS_SELECTOR, "button").click()
        wait_for(driver, "#active-session .guid", profile["sessionId"])
        assert "job-msg" in driver.find_element(By.CSS_SELECTOR, "#active-session").text
        assert driver.find_element(By.CSS_SELECTOR, "#load-count").text == str(profile["loadCount"])
        wait_for(driver, "#history-rows tr[data-kind=started]")
        wait_for(driver, "textarea#message").send_keys('{"gift": 25}')
        driver.find_element(By.CSS_SELECTOR, "#send").click()
        wait_for(driver, ".flash.ok", "Message sent")
        wait_for(driver, "#messages tbody", '"gift":25')
        got = api_ok("GET", f"{SESSIONS}/job-msg/events?cursor=0&timeout=10")
        assert any(e["type"] == "message" and e["message"] == {"gift": 25} and e["key"] == key
                   for e in got["events"]), got
        # The entry page and the profile page link to each other.
        driver.find_element(By.CSS_SELECTOR, "#entry-link").click()
        wait_for(driver, "#entry-value", '"Data"')
        driver.find_element(By.CSS_SELECTOR, "#profile-link").click()
        wait_for(driver, "#active-session .guid", profile["sessionId"])
        # A steal while the page is open shows up in its lock history.
        wait_for(driver, "#history-state", "live")
        start("job-thief", "PlayerData", key, steal=True)
        row = wait_for(driver, "#history-rows tr[data-kind=stolen]")
        assert "job-thief" in row.text and "job-msg" in row.text, row.text
        return "the game server got it; the steal appeared live"

    def ordered_top_n_shows_a_value_set_meanwhile():
        store = f"Board{uuid.uuid4().hex[:6]}"
        base = f"/ordered-data-stores/v1/universes/{UNIVERSE}/orderedDataStores/{store}/scopes/global/entries"
        for k, v in [("ann", 10), ("bob", 30)]:
            api_ok("POST", f"{base}?id={k}", {"value": v})
        driver.get(server.url + f"/ui/u/{UNIVERSE}/ordered")
        form = wait_for(driver, "#open-ordered")
        form.find_element(By.NAME, "store").send_keys(store)
        form.find_element(By.CSS_SELECTOR, "button").click()
        first = wait_for(driver, "#top tbody tr")
        assert "bob" in first.text and "30" in first.text, first.text
        api_ok("POST", f"{base}?id=cat", {"value": 99})
        driver.find_element(By.CSS_SELECTOR, "#top-button").click()
        wait_until(driver, lambda d: "cat" in d.find_element(By.CSS_SELECTOR, "#top tbody tr").text,
                   "cat on top")
        ranks = [r.text.split()[:3] for r in driver.find_elements(By.CSS_SELECTOR, "#top tbody tr")]
        assert ranks == [["1", "cat", "99"], ["2", "bob", "30"], ["3", "ann", "10"]], ranks
        return "cat 99 ranks first after Show"

    def a_memory_queue_is_peeked():
        name = f"Jobs{uuid.uuid4().hex[:6]}"
        api_ok("POST", f"/cloud/v2/universes/{UNIVERSE}/memory-store/queues/{name}/items",
               {"data": {"job": 1}, "ttl": "300s"})
        driver.get(server.url + f"/ui/u/{UNIVERSE}/memory")
        wait_for(driver, "#structures a", name).click()
        wait_for(driver, "#queue-size", "1")
        assert '"job":1' in driver.find_element(By.CSS_SELECTOR, "#queue-items").text

    def a_read_only_key_sees_no_send_or_publish():
        driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-out'] button").click()
        wait_for(driver, "input#key")  # signed out before the next page is asked for
        harness.sign_in(driver, server, READER_KEY, f"/ui/u/{UNIVERSE}/profiles/PlayerData/nobody")
        wait_for(driver, "#profile-state")
        assert not driver.find_elements(By.CSS_SELECTOR, "#send-message"), "a send form"
        driver.get(server.url + f"/ui/u/{UNIVERSE}/messaging")
        wait_for(driver, "h1", "403")
        return "no form; messaging 403"

    try:
        checks.run("signs in, live sessions page is live", signs_in)
        checks.run("a live session appears and ends", a_live_session_appears_and_ends)
        checks.run("a message published in one tab arrives in the tail", a_published_message_arrives_in_the_tail)
        checks.run("opens a profile, sends a message, sees a steal in its history", opens_a_profile_and_sends_a_message)
        checks.run("the ordered top N shows a value set meanwhile", ordered_top_n_shows_a_value_set_meanwhile)
        checks.run("a memory store queue is peeked", a_memory_queue_is_peeked)
        checks.run("a read-only key sees no send or publish", a_read_only_key_sees_no_send_or_publish)
    finally:
        harness.close(driver)
        server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
