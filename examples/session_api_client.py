#!/usr/bin/env python3
"""A game server in Python that keeps player profiles through profilestore's
session API, using only the standard library (see docs/session-api.md).

    python3 examples/session_api_client.py demo --url http://127.0.0.1:8787 --key KEY
    python3 examples/session_api_client.py hold --url URL --key KEY --job JOB --profile KEY

`demo` walks through every call once and prints what it sees. `hold` is a
long-running game server: it starts a session on one profile, adds 1 to its
`Coins`, saves, then prints one JSON line per event (message, session
ending/ended) and exits when the session ends, as a Roblox server would
kick the player. The multi-process tests drive it.
"""

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    """An error answer: `status` and the server's message."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class GameServer:
    """One game server (universe, job id) of the session API."""

    def __init__(self, url, api_key, job_id, place_id=1, universe=1):
        self.base = f"{url.rstrip('/')}/session-api/v1/universes/{universe}"
        self.api_key = api_key
        self.job = urllib.parse.quote(job_id, safe="")
        self.place_id = place_id

    def call(self, method, path, body=None, timeout=70):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if self.api_key:
            req.add_header("x-api-key", self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                text = res.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, error_message(e.read())) from None

    def start_session(self, store, key, template, steal=False, timeout_seconds=None):
        """StartSessionAsync: a Session, or None if another server keeps it."""
        body = {"store": store, "key": key, "template": template,
                "steal": steal, "placeId": self.place_id}
        if timeout_seconds is not None:
            body["timeoutSeconds"] = timeout_seconds
        profile = self.call("POST", f"/servers/{self.job}/sessions", body)["profile"]
        return None if profile is None else Session(self, profile)

    def events(self, cursor="", timeout=20):
        """Long-polls this server's events; returns (events, next cursor)."""
        q = urllib.parse.urlencode({"cursor": cursor, "timeout": timeout})
        answer = self.call("GET", f"/servers/{self.job}/events?{q}", timeout=timeout + 30)
        return answer["events"], answer["cursor"]

    def message(self, store, key, message):
        """MessageAsync: delivered to the profile's owner, wherever it runs."""
        path = f"/stores/{quote(store)}/{quote(key)}:message"
        self.call("POST", path, {"message": message})

    def get(self, store, key):
        """GetAsync: the profile without a session, or None."""
        try:
            return self.call("GET", f"/stores/{quote(store)}/{quote(key)}")
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def shutdown(self):
        """BindToClose: ends every session of this server with a final save."""
        self.call("DELETE", f"/servers/{self.job}")


def error_message(body):
    """The message of an error answer: the session API's own errors are
    `{"code", "message"}`; a refused API key is the gateway's
    `{"errors": [{"message": ...}]}`, as on Roblox."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        if doc.get("message"):
            return str(doc["message"])
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))
    return body.decode(errors="replace")


def quote(part):
    return urllib.parse.quote(part, safe="")


class Session:
    """An active session; every call is fenced by its load count."""

    def __init__(self, server, profile):
        self.server = server
        self.store = profile["store"]
        self.key = profile["key"]
        self.load_count = profile["loadCount"]
        self.data = profile["data"]

    def _path(self, suffix=""):
        return (f"/servers/{self.server.job}/sessions/{quote(self.store)}/"
                f"{quote(self.key)}{suffix}")

    def update(self, data=None, metadata=None, user_ids=None):
        body = {}
        if data is not None:
            body["data"] = data
        if metadata is not None:
            body["metadata"] = metadata
        if user_ids is not None:
            body["userIds"] = user_ids
        profile = self.server.call("PATCH", self._path(f"?loadCount={self.load_count}"), body)
        self.data = profile["data"]

    def save(self):
        self.server.call("POST", self._path(f":save?loadCount={self.load_count}"))

    def end(self):
        self.server.call("POST", self._path(f":end?loadCount={self.load_count}"))

    def processed(self, index):
        self.server.call(
            "POST", self._path(f"/messages/{index}:processed?loadCount={self.load_count}"))


def emit(**fields):
    print(json.dumps(fields), flush=True)


def hold(args):
    server = GameServer(args.url, args.key, args.job)
    session = server.start_session("PlayerData", args.profile, {"Coins": 0},
                                   timeout_seconds=args.timeout)
    if session is None:
        emit(event="notStarted")
        return 1
    session.update(data={**session.data, "Coins": session.data.get("Coins", 0) + 1})
    session.save()
    emit(event="started", data=session.data, loadCount=session.load_count)
    cursor = ""
    while True:
        try:
            events, cursor = server.events(cursor, timeout=10)
        except (ApiError, OSError) as e:
            emit(event="pollError", error=str(e))
            time.sleep(0.2)
            continue
        for e in events:
            if e.get("key") != args.profile:
                continue
            if e["type"] == "message":
                emit(event="message", message=e["message"])
                session.processed(e["index"])
            elif e["type"] == "sessionEnded":
                emit(event="ended")
                return 0


def demo(args):
    server = GameServer(args.url, args.key, "python-demo")
    session = server.start_session("PlayerData", "Player_1", {"Coins": 0, "Items": []},
                                   timeout_seconds=30)
    assert session is not None, "another server keeps Player_1"
    print("started, load count", session.load_count, "data", session.data)
    session.update(data={**session.data, "Coins": session.data["Coins"] + 10},
                   user_ids=[1])
    session.save()
    print("saved", session.data)

    _, cursor = server.events("", timeout=0)
    got = threading.Event()

    def listen():
        nonlocal cursor
        while not got.is_set():
            events, cursor = server.events(cursor, timeout=5)
            for e in events:
                if e["type"] == "message":
                    print("message", e["message"])
                    session.processed(e["index"])
                    got.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    server.message("PlayerData", "Player_1", {"Gift": "Hat"})
    if not got.wait(30):
        raise SystemExit("the message did not arrive")

    try:
        Session(server, {"store": "PlayerData", "key": "Player_1",
                         "loadCount": session.load_count + 1, "data": {}}).save()
        raise SystemExit("a stale session was allowed to save")
    except ApiError as e:
        print("stale session refused:", e.status)

    session.end()
    print("ended; stored:", server.get("PlayerData", "Player_1")["data"])
    server.shutdown()
    print("demo ok")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["demo", "hold"])
    parser.add_argument("--url", default="http://127.0.0.1:8787")
    parser.add_argument("--key", default=None)
    parser.add_argument("--job", default="python-game-server")
    parser.add_argument("--profile", default="Player_1")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    try:
        return demo(args) if args.mode == "demo" else hold(args)
    except ApiError as e:
        hint = (" (pass --key with a key the server was started with: "
                "serve --api-key / PROFILESTORE_API_KEYS)") if e.status == 401 else ""
        print(f"session_api_client: {e}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
