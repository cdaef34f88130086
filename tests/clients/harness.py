"""Shared harness for the Python real-client checks: starts `profilestore
serve` on a free loopback port, redirects rblx-open-cloud's requests there
(the client hard-codes https://apis.roblox.com; a requests adapter mounted
on its module-level session rewrites the URL, as the spec documents), keeps
the last few HTTP exchanges so a failing check can show what the server
answered, and counts numbered checks.
"""

import collections
import json
import subprocess
import sys

import rblxopencloud
from requests.adapters import HTTPAdapter

API_KEY = "client-key"
ORIGIN = "https://apis.roblox.com"


class Server:
    """A `profilestore serve` child process on memory storage."""

    def __init__(self, binary: str):
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--storage", "memory", "--api-key", API_KEY],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"profilestore serve exited ({self.process.returncode}) before listening")
        self.url = json.loads(line)["listening"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


EXCHANGES = collections.deque(maxlen=3)


def redirect(url: str):
    """Sends every rblx-open-cloud request to `url` and records it."""

    class Redirect(HTTPAdapter):
        def send(self, request, **kw):
            request.url = request.url.replace(ORIGIN, url, 1)
            body = request.body
            if isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            try:
                response = super().send(request, **kw)
            except Exception as e:
                EXCHANGES.append(f"{request.method} {request.url.replace(url, '')} body={body!r:.200} -> {e!r}")
                raise
            EXCHANGES.append(
                f"{request.method} {request.url.replace(url, '')} body={body!r:.200}"
                f" -> {response.status_code} {response.text[:300]!r}"
            )
            return response

    rblxopencloud.http_session.mount(ORIGIN, Redirect())


class Checks:
    """Numbered checks: `ok   N name` or `FAIL N name: error` (with the last
    exchanges), then `label: N passed, M failed`."""

    def __init__(self, label: str):
        self.label = label
        self.results = []

    def run(self, name, fn):
        number = len(self.results) + 1
        EXCHANGES.clear()
        try:
            note = fn()
            self.results.append(True)
            print(f"ok   {number:2} {name}" + (f" ({note})" if note else ""))
        except Exception as e:  # report and go on
            self.results.append(False)
            print(f"FAIL {number:2} {name}: {e!r}")
            for exchange in EXCHANGES:
                print(f"       {exchange}")
        sys.stdout.flush()

    def finish(self) -> int:
        passed = sum(self.results)
        failed = len(self.results) - passed
        print(f"{self.label}: {passed} passed, {failed} failed")
        return 1 if failed else 0


def raises(exc, fn, *args, **kw):
    """Calls fn and returns the exception of type `exc` it raised; any other
    outcome is an AssertionError."""
    try:
        result = fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError(f"expected {exc.__name__}, got {result!r}")
