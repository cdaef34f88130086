"""Real-client check: rblx-open-cloud 2.3.0 (PyPI, which no one here wrote)
against `profilestore serve` for the services of issue 12: ordered data
stores (the client uses the v1 ordered API), memory-store sorted maps and
queues, the memory-store flush and its operation, and data store management
(list with `state`, delete, undelete, snapshot).

What the client sends and reads, and where that differs from the OpenAPI
document, is in tests/clients/README.md.
Usage: python rblx_open_cloud_services.py path/to/profilestore
Prints one numbered line per check and a closing `N passed, M failed` line;
exits 1 when a check failed.
"""

import datetime
import sys
import time

from requests.exceptions import ConnectionError as ConnectionReset

import rblxopencloud
from rblxopencloud import HttpException, NotFound, PreconditionFailed
from rblxopencloud.datastore import DataStoreState

from harness import API_KEY, Checks, Server, raises, redirect


def main() -> int:
    server = Server(sys.argv[1])
    try:
        redirect(server.url)
        checks = Checks("rblx-open-cloud (ordered, memory stores, management)")
        experience = rblxopencloud.Experience(1, api_key=API_KEY)
        ordered_checks(checks, experience)
        sorted_map_checks(checks, experience)
        queue_checks(checks, experience)
        management_checks(checks, experience)
        return checks.finish()
    finally:
        server.stop()


def keys(entries):
    return [e.key for e in entries]


def ordered_checks(checks, experience):
    board = experience.get_ordered_datastore("Leaderboard", scope="global")
    scores = {"alice": 50, "bob": 20, "carol": 80, "dave": 5, "erin": 65}

    def set_and_get():
        for key, value in scores.items():
            got = board.set_entry(key, value)
            assert got == value, (key, got)
        assert board.get_entry("carol") == 80

    def increment():
        assert board.increment_entry("bob", 15) == 35
        assert board.increment_entry("bob", -5) == 30
        assert board.get_entry("bob") == 30

    def top_three():
        top = list(board.sort_keys(limit=3))
        assert keys(top) == ["carol", "erin", "alice"], top
        assert [e.value for e in top] == [80, 65, 50], top

    def ascending():
        assert keys(board.sort_keys(descending=False)) == ["dave", "bob", "alice", "erin", "carol"]

    def min_and_max():
        got = keys(board.sort_keys(descending=False, min=30, max=65))
        assert got == ["bob", "alice", "erin"], f"entry >= 30 && entry <= 65 (inclusive): {got}"

    def one_bound():
        got = keys(board.sort_keys(min=50))
        assert got == ["carol", "erin", "alice"], f"entry >= 50, descending: {got}"
        got = keys(board.sort_keys(descending=False, max=30))
        assert got == ["dave", "bob"], f"entry <= 30, ascending: {got}"

    def pages():
        big = experience.get_ordered_datastore("Big", scope="global")
        for i in range(150):
            big.set_entry(f"k{i:03}", i * 2)
        listed = list(big.sort_keys())
        assert len(listed) == 150, f"{len(listed)} entries over page_token pages, not 150"
        assert [e.value for e in listed] == [i * 2 for i in reversed(range(150))], "descending order across pages"
        assert len(list(big.sort_keys(limit=120))) == 120

    def exclusive_create():
        assert board.set_entry("frank", 7, exclusive_create=True) == 7
        raises(PreconditionFailed, board.set_entry, "frank", 8, exclusive_create=True)
        assert board.get_entry("frank") == 7

    def exclusive_update():
        raises((NotFound, PreconditionFailed), board.set_entry, "ghost", 1, exclusive_update=True)
        raises(NotFound, board.get_entry, "ghost")
        assert board.set_entry("frank", 9, exclusive_update=True) == 9

    def remove():
        board.remove_entry("dave")
        raises(NotFound, board.get_entry, "dave")
        assert "dave" not in keys(board.sort_keys())
        board.remove_entry("dave")  # "deleted or didn't exist" is a success

    def scopes():
        unscoped = experience.get_ordered_datastore("Leaderboard", scope=None)
        assert unscoped.get_entry("global/carol") == 80
        other = experience.get_ordered_datastore("Leaderboard", scope="other")
        raises(NotFound, other.get_entry, "carol")
        assert list(other.sort_keys()) == []

    checks.run("ordered set_entry (PATCH allow_missing=True) + get_entry", set_and_get)
    checks.run("ordered increment_entry (+15, -5)", increment)
    checks.run("ordered sort_keys: descending by default, limit 3", top_three)
    checks.run("ordered sort_keys: ascending (no order_by)", ascending)
    checks.run("ordered sort_keys: min and max, inclusive", min_and_max)
    checks.run("ordered sort_keys: only min / only max", one_bound)
    checks.run("ordered sort_keys: 150 entries over page_token pages", pages)
    checks.run("ordered exclusive_create: POST ?id= creates, again -> PreconditionFailed", exclusive_create)
    checks.run("ordered exclusive_update (allow_missing=False) on a missing key fails", exclusive_update)
    checks.run("ordered remove_entry -> NotFound, unlisted; removing again succeeds", remove)
    checks.run("ordered scope/key syntax and scope isolation", scopes)


def sorted_map_checks(checks, experience):
    auction = experience.get_sorted_map("Auction")
    state = {}

    def numeric_sort_keys():
        entry = auction.set_key("p1", {"bid": 1}, 300, sort_key=-1)
        assert entry.key == "p1" and entry.value == {"bid": 1}, entry
        assert entry.sort_key == -1, entry.sort_key
        assert entry.etag, "an etag"
        left = (entry.expires_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert 250 < left <= 301, f"expires in {left} s, not about 300"
        state["p1"] = entry
        for key, sort_key in [("p3", 3.14), ("p4", 1), ("p5", 1)]:
            assert auction.set_key(key, key, 300, sort_key=sort_key).sort_key == sort_key

    def string_and_no_sort_keys():
        assert auction.set_key("p6", "six", 300, sort_key="someString").sort_key == "someString"
        assert auction.set_key("p7", "seven", 300, sort_key="another").sort_key == "another"
        entry = auction.set_key("p0", "zero", 300)  # sends "numericSortKey": null
        assert entry.sort_key is None, entry.sort_key

    def get():
        entry = auction.get_key("p1")
        assert entry.value == {"bid": 1} and entry.sort_key == -1, entry
        assert entry.etag == state["p1"].etag, (entry.etag, state["p1"].etag)
        assert auction.get_key("p6").sort_key == "someString"

    order = ["p1", "p4", "p5", "p3", "p7", "p6", "p0"]

    def ascending():
        got = keys(auction.list_keys())
        assert got == order, f"numbers by sort key then key, then strings, then no sort key: {got}"

    def descending():
        got = keys(auction.list_keys(descending=True))
        assert got == order[::-1], f"orderBy=desc: {got}"

    def limit():
        assert keys(auction.list_keys(limit=2)) == ["p1", "p4"]

    def sort_key_bounds():
        got = keys(auction.list_keys(lower_bound_sort_key=1, upper_bound_sort_key=4))
        assert got == ["p3"], f"sortKey > 1 && sortKey < 4 (exclusive): {got}"

    def id_bounds_and_pages():
        plain = experience.get_sorted_map("Plain")
        for i in range(120):
            plain.set_key(f"k{i:03}", i, 300)
        listed = keys(plain.list_keys())
        assert listed == [f"k{i:03}" for i in range(120)], f"{len(listed)} items over pageToken pages"
        got = keys(plain.list_keys(lower_bound_key="k010", upper_bound_key="k014"))
        assert got == ["k011", "k012", "k013"], f'id > "k010" && id < "k014": {got}'

    def update():
        before = auction.get_key("p1")
        after = auction.set_key("p1", {"bid": 2}, 300, sort_key=-1, exclusive_update=True)
        assert after.value == {"bid": 2}, after
        assert after.etag != before.etag, "the etag changes on update"
        state["p1-new"] = after
        raises(PreconditionFailed, auction.set_key, "missing", 1, 60, exclusive_update=True)
        raises(NotFound, auction.get_key, "missing")

    def exclusive_create():
        entry = auction.set_key("new", 5, 300, sort_key=2, exclusive_create=True)
        assert entry.key == "new" and entry.value == 5, entry
        assert auction.get_key("new").sort_key == 2
        raises(PreconditionFailed, auction.set_key, "new", 6, 300, exclusive_create=True)
        assert auction.get_key("new").value == 5

    def remove_with_etag():
        auction.remove_key("p1", etag=state["p1"].etag)  # stale: must not remove
        assert auction.get_key("p1").value == {"bid": 2}, "a stale etag removed the item"
        auction.remove_key("p1", etag=state["p1-new"].etag)
        raises(NotFound, auction.get_key, "p1")

    def remove():
        auction.remove_key("p0")
        raises(NotFound, auction.get_key, "p0")
        assert "p0" not in keys(auction.list_keys())

    def expiry():
        auction.set_key("short", 1, 1)
        assert auction.get_key("short").value == 1
        time.sleep(2.2)
        raises(NotFound, auction.get_key, "short")

    checks.run("sorted map set_key with numeric sort keys (PATCH allowMissing=true)", numeric_sort_keys)
    checks.run("sorted map set_key with string sort keys and without one", string_and_no_sort_keys)
    checks.run("sorted map get_key (value, sort key, etag)", get)
    checks.run("sorted map list_keys ascending: the documented order", ascending)
    checks.run("sorted map list_keys descending", descending)
    checks.run("sorted map list_keys limit 2", limit)
    checks.run("sorted map list_keys sort key bounds", sort_key_bounds)
    checks.run("sorted map list_keys id bounds; 120 items over pageToken pages", id_bounds_and_pages)
    checks.run("sorted map exclusive_update: new etag; on a missing key -> PreconditionFailed", update)
    checks.run("sorted map exclusive_create: POST {Id} creates, again -> PreconditionFailed", exclusive_create)
    checks.run("sorted map remove_key with a stale etag keeps it, current etag removes it", remove_with_etag)
    checks.run("sorted map remove_key -> NotFound, unlisted", remove)
    checks.run("sorted map entry expires after its ttl (1 s)", expiry)


def queue_checks(checks, experience):
    queue = experience.get_memory_store_queue("Matchmaking")
    auction = experience.get_sorted_map("Auction")
    state = {}

    def add():
        queue.add_item({"player": 1}, 300, priority=0)
        queue.add_item({"player": 2}, 300, priority=5)
        queue.add_item({"player": 3}, 300, priority=0)

    def read():
        values, read_id = queue.read_items(count=2)
        assert values == [{"player": 2}, {"player": 1}], f"priority first, then insertion order: {values}"
        assert read_id, "a read id"
        state["read"] = read_id

    def invisible_and_discard():
        values, read_id = queue.read_items(count=5, invisibility_seconds=1)
        assert values == [{"player": 3}], f"read items are invisible: {values}"
        queue.remove_items(state["read"])

    def all_or_nothing():
        values, _ = queue.read_items(count=5)
        assert values == [], f"every item is invisible or discarded: {values}"
        try:
            values, read_id = queue.read_items(count=5, all_or_nothing=True)
        except NotFound:
            return "server answers 404 (the docs); the client raises NotFound"
        assert values == [], values
        return "server answers 200/204 (the client); the client returns []"

    def comes_back():
        time.sleep(2.2)
        values, read_id = queue.read_items(count=5)
        assert values == [{"player": 3}], f"after its 1 s window, only the undiscarded item is back: {values}"
        queue.remove_items(read_id)
        values, _ = queue.read_items(count=5)
        assert values == [], values

    def many_reads():
        # rblx sends a JSON body (`{}`) with every items:read GET. A server
        # that answers without reading it closes the keep-alive connection
        # afterwards (without `Connection: close`), and the client's next
        # request on it now and then meets a reset: about 1 in 100.
        resets = 0
        for _ in range(400):
            try:
                queue.read_items(count=1)
            except ConnectionReset:
                resets += 1
        assert resets == 0, f"{resets} of 400 requests met a closed keep-alive connection"

    def flush():
        queue.add_item("x", 300)
        assert auction.get_key("new").value == 5
        operation = experience.flush_memory_store()
        assert operation.wait(timeout_seconds=10, interval_seconds=0.1) is True
        raises(NotFound, auction.get_key, "new")
        assert list(auction.list_keys()) == []
        values, _ = queue.read_items(count=5)
        assert values == [], values

    checks.run("queue add_item x3 (POST items:add {Data, Ttl, Priority})", add)
    checks.run("queue read_items count 2: {data, id}", read)
    checks.run("queue read items are invisible; remove_items (items:discard ?readId=)", invisible_and_discard)
    checks.run("queue read_items all_or_nothing with too few items", all_or_nothing)
    checks.run("queue items come back after the invisibility window; empty read", comes_back)
    checks.run("queue: 400 read_items in a row, none meets a closed keep-alive connection", many_reads)
    checks.run("flush_memory_store: operation done, sorted maps and queues empty", flush)


def management_checks(checks, experience):
    players = experience.get_datastore("Players")
    inventory = experience.get_datastore("Inventory")
    state = {}

    def listed(**kw):
        return {d.name: d for d in experience.list_datastores(**kw)}

    def list_all():
        players.set_entry("Player_1", {"Coins": 1})
        inventory.set_entry("Player_1", {"Sword": True})
        stores = listed()
        assert {"Players", "Inventory"} <= set(stores), sorted(stores)
        for name in ("Players", "Inventory"):
            assert stores[name].state == DataStoreState.Active, (name, stores[name].state)

    def prefix_and_limit():
        assert list(listed(prefix="Inv")) == ["Inventory"]
        assert len(list(experience.list_datastores(limit=1))) == 1

    def delete():
        experience.get_datastore("Inventory").delete()
        assert "Inventory" not in listed(), "a deleted store is hidden by default"
        shown = listed(show_deleted=True)
        assert "Inventory" in shown, sorted(shown)
        deleted = shown["Inventory"]
        assert deleted.state == DataStoreState.Deleted, deleted.state
        assert deleted.expires_at is not None, "expireTime of a deleted store"
        days = (deleted.expires_at - datetime.datetime.now(datetime.timezone.utc)).days
        assert 29 <= days <= 30, f"expires in {days} days, not 30"
        raises(HttpException, inventory.get_entry, "Player_1")

    def undelete():
        experience.get_datastore("Inventory").undelete()
        stores = listed()
        assert stores["Inventory"].state == DataStoreState.Active
        value, _ = inventory.get_entry("Player_1")
        assert value == {"Sword": True}, value

    def snapshot():
        taken, at = experience.snapshot_datastores()
        assert taken is True, "the first snapshot of the day is taken"
        state["at"] = at
        again, at2 = experience.snapshot_datastores()
        assert again is False, "a second snapshot the same UTC day is not taken"
        assert at2 == at, (at, at2)

    checks.run("list_datastores: every store, state ACTIVE", list_all)
    checks.run("list_datastores with a prefix filter and a limit", prefix_and_limit)
    checks.run("DataStore.delete: hidden, DELETED with show_deleted, 30-day expiry, unreadable", delete)
    checks.run("DataStore.undelete: ACTIVE again, entries kept", undelete)
    checks.run("snapshot_datastores twice in a day: taken, then not (same time)", snapshot)


if __name__ == "__main__":
    sys.exit(main())
