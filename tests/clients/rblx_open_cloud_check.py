"""Real-client check: Roblox's Open Cloud Python client (`rblx-open-cloud`
on PyPI, which no one here wrote) against `profilestore serve`.

The client hard-codes https://apis.roblox.com; a requests adapter mounted on
its session rewrites the URL to the local server, as the spec documents.
Usage: python rblx_open_cloud_check.py path/to/profilestore
Prints one line per check and a closing `N passed, N failed` line.
"""

import json
import subprocess
import sys
import urllib.request

import rblxopencloud
from requests.adapters import HTTPAdapter

API_KEY = "client-key"


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


def run_checks(url: str) -> int:
    experience = rblxopencloud.Experience(1, api_key=API_KEY)
    ds = experience.get_datastore("Players", scope="global")
    results = []

    def check(name, fn):
        try:
            fn()
            results.append(True)
            print(f"ok   {name}")
        except Exception as e:  # report and go on
            results.append(False)
            print(f"FAIL {name}: {e!r}")

    state = {}

    def set_and_get():
        version = ds.set_entry("Player_1", {"Coins": 5}, users=[2312310], metadata={"source": "py"})
        state["v1"] = version.version
        value, info = ds.get_entry("Player_1")
        assert value == {"Coins": 5}, value
        assert info.users == [2312310], info.users
        assert info.metadata == {"source": "py"}, info.metadata
        assert info.version == version.version

    def increment():
        value, _ = ds.increment_entry("Counter", 5)
        assert value == 5, value
        value, _ = ds.increment_entry("Counter", 2)
        assert value == 7, value

    def list_keys():
        keys = sorted(k.key for k in ds.list_keys())
        assert keys == ["Counter", "Player_1"], keys

    def versions():
        ds.set_entry("Player_1", {"Coins": 6})
        listed = list(ds.list_versions("Player_1"))
        assert len(listed) == 2, listed
        assert listed[0].version != listed[1].version
        value, _ = ds.get_version("Player_1", state["v1"])
        assert value == {"Coins": 5}, value

    def precondition():
        try:
            ds.set_entry("Player_1", {"Coins": 0}, previous_version=state["v1"])
        except rblxopencloud.PreconditionFailed:
            return
        raise AssertionError("a stale previous_version was accepted")

    def remove():
        ds.remove_entry("Player_1")
        try:
            ds.get_entry("Player_1")
        except rblxopencloud.NotFound:
            return
        raise AssertionError("a removed entry was still found")

    def publish():
        experience.publish_message("news", "hello from python")
        req = urllib.request.Request(
            f"{url}/messaging-service/v1/universes/1/topics/news/messages?cursor=0&timeout=0",
            headers={"x-api-key": API_KEY},
        )
        body = json.loads(urllib.request.urlopen(req, timeout=10).read())
        assert [m["data"] for m in body["messages"]] == ["hello from python"], body

    check("set_entry + get_entry (users, metadata, version)", set_and_get)
    check("increment_entry", increment)
    check("list_keys", list_keys)
    check("list_versions + get_version", versions)
    check("set_entry with a stale previous_version -> PreconditionFailed", precondition)
    check("remove_entry then get_entry -> NotFound", remove)
    check("publish_message reaches the bus", publish)
    passed = sum(results)
    failed = len(results) - passed
    print(f"rblx-open-cloud: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
