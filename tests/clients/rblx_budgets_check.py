"""Real-client check of Roblox's request budgets: Roblox's Open Cloud Python
client (`rblx-open-cloud` on PyPI) against `profilestore serve` with budgets
turned on for one universe through the emulator's HTTP control.

It hammers `set_entry` until the client raises its rate-limit exception
(`rblxopencloud.RateLimited`, raised on HTTP 429), and reports how many
writes went through and what the client saw. Started like
`rblx_open_cloud_check.py` (the client's https://apis.roblox.com is
redirected to the local server by a requests adapter).
Usage: python rblx_budgets_check.py path/to/profilestore
Prints one line per check and a closing `N passed, M failed` line.
"""

import json
import subprocess
import sys
import time
import urllib.request

import rblxopencloud
from requests.adapters import HTTPAdapter

API_KEY = "client-key"
# The experience-level write limit at 0 concurrent users
# (error-codes-and-limits.md: 300 + concurrentUsers x 20 a minute).
WRITE_LIMIT = 300


def main() -> int:
    server = subprocess.Popen(
        [sys.argv[1], "serve", "--listen", "127.0.0.1:0", "--storage", "memory", "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = json.loads(server.stdout.readline())["listening"]

        class Redirect(HTTPAdapter):
            def send(self, request, **kw):
                request.url = request.url.replace("https://apis.roblox.com", url, 1)
                return super().send(request, **kw)

        rblxopencloud.http_session.mount("https://apis.roblox.com", Redirect())
        return run_checks(url)
    finally:
        server.terminate()
        server.wait(timeout=10)


def budgets(url: str, universe: int, body: dict) -> dict:
    req = urllib.request.Request(
        f"{url}/emulator/v1/universes/{universe}/budgets",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"x-api-key": API_KEY, "content-type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def run_checks(url: str) -> int:
    ds = rblxopencloud.Experience(1, api_key=API_KEY).get_datastore("Players", scope="global")
    other = rblxopencloud.Experience(2, api_key=API_KEY).get_datastore("Players", scope="global")
    results = []
    seen = {}

    def check(name, fn):
        try:
            fn()
            results.append(True)
            print(f"ok   {name}")
        except Exception as e:  # report and go on
            results.append(False)
            print(f"FAIL {name}: {e!r}")

    def off_by_default():
        for i in range(WRITE_LIMIT + 50):
            ds.set_entry(f"warm_{i}", {"i": i})

    def turn_on():
        view = budgets(url, 1, {"enabled": True})
        assert view["enabled"] is True, view
        assert view["experience"]["StandardWrite"] == WRITE_LIMIT, view

    def hammer():
        started = time.monotonic()
        through = 0
        while through < 5 * WRITE_LIMIT:
            try:
                ds.set_entry(f"Player_{through}", {"Coins": through})
            except rblxopencloud.RateLimited as e:
                seen.update(
                    status=e.status_code,
                    code=e.error_code,
                    message=e.message,
                    through=through,
                    secs=time.monotonic() - started,
                )
                break
            through += 1
        print(
            f"     {seen.get('through', through)} writes went through in "
            f"{seen.get('secs', 0):.2f} s, then RateLimited: HTTP {seen.get('status')} "
            f"{seen.get('code')}: {seen.get('message')}"
        )
        assert seen, f"{through} writes and no RateLimited"
        assert WRITE_LIMIT <= seen["through"] < WRITE_LIMIT + 50, seen
        assert seen["status"] == 429 and seen["code"] == "RESOURCE_EXHAUSTED", seen
        assert seen["message"].startswith("StandardWriteExperienceThrottled"), seen

    def reads_have_their_own_budget():
        value, _ = ds.get_entry("Player_0")
        assert value == {"Coins": 0}, value

    def other_universe_unaffected():
        for i in range(20):
            other.set_entry(f"k{i}", i)

    def refills():
        time.sleep(1.5)  # 300 a minute: 5 a second
        ds.set_entry("after_refill", 1)

    def off_again():
        assert budgets(url, 1, {"enabled": False})["enabled"] is False
        for i in range(100):
            ds.set_entry(f"after_off_{i}", i)

    check(f"budgets off by default: {WRITE_LIMIT + 50} writes go through", off_by_default)
    check("PUT /emulator/v1/universes/1/budgets turns them on", turn_on)
    check("set_entry until rblxopencloud.RateLimited (HTTP 429)", hammer)
    check("get_entry still served (the read budget is separate)", reads_have_their_own_budget)
    check("universe 2 is not budgeted", other_universe_unaffected)
    check("the write budget refills over time", refills)
    check("budgets off again: writes go through", off_again)
    passed = sum(results)
    failed = len(results) - passed
    print(f"rblx-open-cloud budgets: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
