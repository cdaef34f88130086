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
    for path in ["/datastores/v1/universes/1/standard-datastores", "/cloud/v2/universes/1/data-stores/Missing/entries/x"]:
        server.api("GET", path)


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
