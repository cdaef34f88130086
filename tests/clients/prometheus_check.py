"""`GET /metrics` read by Prometheus's reference text parser
(prometheus-client, PyPI): starts `profilestore serve`, makes known
requests with urllib, parses the scrape with
`prometheus_client.parser.text_string_to_metric_families` and checks the
counters against the requests made.

Usage: prometheus_check.py PATH/TO/profilestore
"""

import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from harness import API_KEY, Checks, Server

V1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry"


def request(url, method="GET", body=None, key=API_KEY, headers=None):
    """Status and body text of one request (an HTTP error is an answer too)."""
    all_headers = {"x-api-key": key} if key else {}
    all_headers.update(headers or {})
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()}


def scrape(url):
    status, text, headers = request(url + "/metrics")
    assert status == 200, (status, text)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return families, headers


def sample(families, family_name, name, /, **labels):
    """The value of sample `name` with exactly `labels` (0 when absent)."""
    f = families.get(family_name)
    if f is None:
        return 0.0
    for s in f.samples:
        if s.name == name and s.labels == labels:
            return s.value
    return 0.0


def main():
    server = Server(sys.argv[1])
    url = server.url
    checks = Checks("prometheus-client")
    try:
        json_header = {"content-type": "application/json"}
        for i in range(3):
            status, body, _ = request(
                f"{url}{V1}?datastoreName=Inv&entryKey=k{i}", "POST", json.dumps({"gold": i}), headers=json_header
            )
            assert status == 200, (status, body)
        for _ in range(2):
            status, _, _ = request(f"{url}{V1}?datastoreName=Inv&entryKey=missing")
            assert status == 404, status
        assert request(f"{url}{V1}?datastoreName=Inv&entryKey=k0", key="wrong")[0] == 401
        assert request(f"{url}/nowhere")[0] == 404
        assert request(f"{url}/healthz", key=None)[0] == 200
        topic = f"{url}/messaging-service/v1/universes/1/topics/news"
        assert request(topic, "POST", json.dumps({"message": "hi"}), headers=json_header)[0] == 200

        families, headers = scrape(url)

        def parses_as_the_text_format():
            content_type = headers.get("content-type", "")
            assert content_type.startswith("text/plain; version=0.0.4"), content_type
            names = sorted(families)
            assert names and all(n.startswith("profilestore_") for n in names), names
            return f"{len(names)} families"

        def request_counters_equal_the_requests_made():
            f = families["profilestore_http_requests"]
            assert f.type == "counter", f.type
            got = {(s.labels["family"], s.labels["status"]): s.value for s in f.samples if s.name.endswith("_total")}
            want = {
                ("datastores_v1", "200"): 3,
                ("datastores_v1", "404"): 2,
                ("datastores_v1", "401"): 1,
                ("other", "404"): 1,
                ("health", "200"): 1,
                ("messaging", "200"): 1,
            }
            assert got == want, got

        def the_latency_histogram_counts_each_request_once():
            f = families["profilestore_http_request_duration_seconds"]
            assert f.type == "histogram", f.type
            name = "profilestore_http_request_duration_seconds"
            count = sample(families, name, name + "_count", family="datastores_v1")
            assert count == 6, count
            buckets = [
                (float(s.labels["le"]), s.value)
                for s in f.samples
                if s.name == name + "_bucket" and s.labels["family"] == "datastores_v1"
            ]
            values = [v for _, v in sorted(buckets)]
            assert values == sorted(values) and values[-1] == count, buckets

        def storage_commits_are_timed():
            name = "profilestore_storage_commit_duration_seconds"
            count = sample(families, name, name + "_count", plugin="memory")
            assert count >= 3, count

        def the_publish_moved_the_bus_counter():
            publishes = sample(families, "profilestore_bus_publishes", "profilestore_bus_publishes_total")
            assert publishes == 1, publishes

        def session_families_are_there_at_zero():
            assert families["profilestore_sessions_live"].type == "gauge"
            assert sample(families, "profilestore_sessions_live", "profilestore_sessions_live") == 0
            reasons = {s.labels["reason"] for s in families["profilestore_session_ends"].samples}
            assert reasons == {"released", "handed_off", "shutdown", "lost", "crashed"}, reasons

        def build_info_names_the_version():
            f = families["profilestore_build_info"]
            (s,) = f.samples
            assert s.value == 1 and s.labels["version"], s

        def the_scrape_itself_is_counted_once_answered():
            again, _ = scrape(url)
            n = sample(
                again, "profilestore_http_requests", "profilestore_http_requests_total", family="metrics", status="200"
            )
            assert n == 1, n

        def a_scrape_without_a_key_is_refused():
            status, _, _ = request(url + "/metrics", key=None)
            assert status == 401, status

        checks.run("/metrics parses as the text format", parses_as_the_text_format)
        checks.run("requests_total equals the requests made, by family and status", request_counters_equal_the_requests_made)
        checks.run("the latency histogram counts each request once", the_latency_histogram_counts_each_request_once)
        checks.run("storage commits are timed", storage_commits_are_timed)
        checks.run("the publish moved bus_publishes_total", the_publish_moved_the_bus_counter)
        checks.run("session families are exported at zero", session_families_are_there_at_zero)
        checks.run("build_info names the version", build_info_names_the_version)
        checks.run("the scrape itself is counted once answered", the_scrape_itself_is_counted_once_answered)
        checks.run("a scrape without a key is a 401", a_scrape_without_a_key_is_refused)
    finally:
        server.stop()
    sys.exit(checks.finish())


if __name__ == "__main__":
    main()
