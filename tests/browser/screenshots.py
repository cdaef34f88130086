"""Saves a PNG of each dashboard page under docs/screenshots/ (for the
README), from a server with sample data.

Usage: python tests/browser/screenshots.py target/debug/profilestore docs/screenshots
"""

import os
import sys

import harness
from harness import ADMIN_KEY, UNIVERSE, wait_for


def seed(server):
    for n, coins in enumerate([120, 80, 300], start=1):
        server.set_entry("Players", f"user_{n}", {"coins": coins, "level": n, "inventory": ["sword"]}, user_ids=[n])
    server.set_entry("Players", "user_1", {"coins": 150, "level": 2, "inventory": ["sword", "shield"]}, user_ids=[1],
                     attributes={"source": "shop"})
    server.set_entry("Players", "user_1", {"coins": 95, "level": 3, "inventory": ["sword", "shield", "potion"]},
                     user_ids=[1])
    server.set_entry("Settings", "motd", {"text": "Welcome!"}, scope="live")
    server.set_entry("Guilds", "guild_7", {"name": "Builders", "members": [1, 2]})
    seed_live(server)
    for path in ["/datastores/v1/universes/1/standard-datastores", "/cloud/v2/universes/1/data-stores/Missing/entries/x"]:
        server.api("GET", path)


def seed_live(server):
    """Sessions, a message, ordered and memory store entries (UI2's pages)."""
    sessions = "/session-api/v1/universes/1/servers"
    for job, key in [("job-east-1", "Player_1"), ("job-east-1", "Player_2"), ("job-west-4", "Player_3")]:
        server.api("POST", f"{sessions}/{job}/sessions", {"store": "PlayerData", "key": key, "placeId": 1818})
    server.api("PATCH", f"{sessions}/job-east-1/sessions/PlayerData/Player_1?loadCount=1",
               {"data": {"coins": 250, "level": 7, "pets": ["cat"]}, "userIds": [1]})
    server.api("POST", f"{sessions}/job-east-1/sessions/PlayerData/Player_1:save?loadCount=1")
    server.api("POST", "/session-api/v1/universes/1/stores/PlayerData/Player_1:message", {"message": {"gift": 50}})
    server.api("POST", f"{sessions}/job-west-4/sessions/PlayerData/Player_3:end?loadCount=1")
    server.api("POST", f"{sessions}/job-west-4/sessions", {"store": "PlayerData", "key": "Player_2", "placeId": 1818,
                                                         "steal": True})
    for text in ["server restart in 5 minutes", "double coins weekend!"]:
        server.api("POST", "/messaging-service/v1/universes/1/topics/Announcements", {"message": text})
    board = "/ordered-data-stores/v1/universes/1/orderedDataStores/Wins/scopes/global/entries"
    for name, wins in [("ann", 42), ("bob", 17), ("cat", 88), ("dan", 5)]:
        server.api("POST", f"{board}?id={name}", {"value": wins})
    memory = "/cloud/v2/universes/1/memory-store"
    server.api("POST", f"{memory}/queues/Matchmaking/items", {"data": {"player": 3, "mode": "duel"}, "ttl": "600s"})
    server.api("POST", f"{memory}/sorted-maps/Lobby/items?id=lobby-1", {"value": {"players": 4}, "numericSortKey": 4,
                                                                       "ttl": "600s"})


def shoot(driver, out, name, path, ready, height=None):
    driver.get(driver.base + path)
    wait_for(driver, ready)
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height or max(700, min(full, 1800)))
    driver.save_screenshot(os.path.join(out, f"{name}.png"))
    print(f"saved {name}.png")


def main(binary, out):
    os.makedirs(out, exist_ok=True)
    server = harness.Server(binary)
    driver = harness.browser()
    driver.base = server.url
    try:
        seed(server)
        harness.sign_in(driver, server, ADMIN_KEY, "/ui/")
        entry = f"/ui/u/{UNIVERSE}/data-stores/Players/entries/user_1"
        driver.get(server.url + entry)
        rows = driver.find_elements("css selector", "#versions tbody tr")
        versions = [r.get_attribute("data-version") for r in rows]
        pages = [
            ("overview", "/ui/", ".grid"),
            ("data-stores", f"/ui/u/{UNIVERSE}/data-stores", "#stores"),
            ("keys", f"/ui/u/{UNIVERSE}/data-stores/Players", "#keys"),
            ("entry", entry, "#versions"),
            ("diff", f"{entry}?a={versions[-1]}&b={versions[0]}", "#diff"),
            ("edit", f"{entry}/edit", "textarea#value"),
            ("controls", "/ui/controls", "#snapshots"),
            ("requests", "/ui/requests", "#request-rows tr"),
            ("profile", f"/ui/u/{UNIVERSE}/profiles/PlayerData/Player_1", "#lock-history"),
            ("sessions", "/ui/sessions", "#session-rows tr"),
            ("messaging", f"/ui/u/{UNIVERSE}/messaging/topics/Announcements", "#tail-rows tr"),
            ("ordered", f"/ui/u/{UNIVERSE}/ordered/Wins", "#top"),
            ("memory", f"/ui/u/{UNIVERSE}/memory", "#structures"),
            ("sign-in", "/ui/sign-in", "input#key"),
        ]
        for name, path, ready in pages:
            if name == "sign-in":
                driver.delete_all_cookies()
            shoot(driver, out, name, path, ready)
    finally:
        harness.close(driver)
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
