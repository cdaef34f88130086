// Real-client check: openblox (npm, which no one here wrote; version pinned
// by scripts/test) against `profilestore serve`: ordered data stores v1 and
// v2, memory-store sorted maps and queues, the memory-store flush and its
// operation, and data store management (list, snapshot; openblox 1.0.62 has
// no delete or undelete of a data store).
//
// openblox hard-codes https://apis.roblox.com; its pluggable HTTP adapter
// (setDefaultOpenbloxConfig) sends each request to the local server instead,
// as the spec documents, and answers with the original URL so openblox's
// error parser still sees apis.roblox.com.
// What the client sends and reads, and where that differs from the OpenAPI
// document, is in tests/clients/README.md.
//
// Usage: node openblox_check.mjs path/to/profilestore path/to/npm-prefix
// (the directory `npm install --prefix` installed openblox into).
// Prints one numbered line per check and a closing `N passed, M failed`
// line; exits 1 when a check failed.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";

const [binary, prefix] = process.argv.slice(2);
if (!binary || !prefix) {
  console.error("usage: node openblox_check.mjs path/to/profilestore path/to/npm-prefix");
  process.exit(2);
}
const require = createRequire(join(resolve(prefix), "node_modules", "noop.js"));
const { setDefaultOpenbloxConfig, createOpenbloxConfig } = require("openblox/config");
const { HttpResponse } = require("openblox/http");
const {
  OrderedDataStoresApi_V1: V1,
  OrderedDataStoresApi_V2: V2,
  MemoryStoresApi: Memory,
  StandardDataStoresApi_V2: Standard,
} = require("openblox/cloud");
const VERSION = JSON.parse(
  readFileSync(join(resolve(prefix), "node_modules", "openblox", "package.json"), "utf8"),
).version;

const API_KEY = "client-key";
const ORIGIN = "https://apis.roblox.com";
const U = 1;
const CHECK_TIMEOUT_MS = 20000;

// ---- server and redirect ---------------------------------------------------

function startServer() {
  const child = spawn(
    binary,
    ["serve", "--listen", "127.0.0.1:0", "--storage", "memory", "--api-key", API_KEY],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => ok({ child, url: JSON.parse(line).listening }));
    child.once("exit", (code) => fail(new Error(`profilestore serve exited (${code}) before listening`)));
  });
}

const exchanges = [];

function redirectTo(base) {
  const adapter = async ({ url, method, headers, body, formData }) => {
    const local = url.replace(ORIGIN, base);
    const r = await fetch(local, { method, headers, body: formData || body });
    const type = r.headers.get("content-type");
    const text = await r.text();
    exchanges.push(`${method} ${local.replace(base, "")} body=${JSON.stringify(body ?? null).slice(0, 200)} -> ${r.status} ${JSON.stringify(text.slice(0, 300))}`);
    if (exchanges.length > 3) exchanges.shift();
    const parsed = type?.startsWith("application/json") && text ? JSON.parse(text) : text;
    return new HttpResponse({ url, method, success: r.ok, statusCode: r.status, headers: r.headers, body: parsed, fullResponse: r });
  };
  setDefaultOpenbloxConfig(createOpenbloxConfig({ cloudKey: API_KEY, http: { adapter } }));
  return adapter;
}

// ---- checks ----------------------------------------------------------------

const results = [];

function describe(e) {
  if (e?.response?.statusCode !== undefined) {
    return `HttpError ${e.type} ${e.response.statusCode} ${JSON.stringify(e.response.body).slice(0, 200)}`;
  }
  return e?.stack?.split("\n").slice(0, 2).join(" ") ?? String(e);
}

async function check(name, fn) {
  const number = String(results.length + 1).padStart(2);
  exchanges.length = 0;
  let timer;
  try {
    const timeout = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    const note = await Promise.race([fn(), timeout]);
    results.push(true);
    console.log(`ok   ${number} ${name}${note ? ` (${note})` : ""}`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${number} ${name}: ${describe(e)}`);
    for (const x of exchanges) console.log(`       ${x}`);
  } finally {
    clearTimeout(timer);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function same(actual, expected, what) {
  const [a, b] = [JSON.stringify(actual), JSON.stringify(expected)];
  assert(a === b, `${what}: got ${a}, expected ${b}`);
}

async function status(promise) {
  try {
    await promise;
  } catch (e) {
    if (e?.response?.statusCode !== undefined) return e.response.statusCode;
    throw e;
  }
  return 200;
}

async function failsWith(promise, statuses, what) {
  const got = await status(promise);
  assert(statuses.includes(got), `${what}: status ${got}, expected ${statuses.join(" or ")}`);
  return got;
}

async function allPages(first) {
  const items = [];
  let pages = 0;
  for await (const page of await first) {
    pages += 1;
    items.push(...page.data);
  }
  return { items, pages };
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const ids = (entries) => entries.map((e) => e.id);

// ---- ordered data stores v1 -----------------------------------------------

async function orderedV1() {
  const at = { universeId: U, orderedDataStore: "BoardV1", scope: "global" };
  const list = async (args) => (await V1.listOrderedDatastoreEntries({ ...at, maxPageSize: 100, ...args })).data;

  await check("v1 create (POST ?id=) + get; a value sent as a string", async () => {
    for (const [id, value] of [["alice", 50], ["bob", 20], ["carol", 80], ["dave", 5], ["erin", "65"]]) {
      const { data } = await V1.createOrderedDatastoreEntry({ ...at, id, value });
      same(Number(data.value), Number(value), `created ${id}`);
      same(data.id, id, "id");
    }
    const { data } = await V1.orderedDatastoreEntry({ ...at, id: "carol" });
    same(Number(data.value), 80, "get carol");
    same(data.path, `universes/${U}/orderedDataStores/BoardV1/scopes/global/entries/carol`, "path");
  });

  await check("v1 create of an existing id -> 400", async () => {
    await failsWith(V1.createOrderedDatastoreEntry({ ...at, id: "alice", value: 1 }), [400], "second create");
    same(Number((await V1.orderedDatastoreEntry({ ...at, id: "alice" })).data.value), 50, "alice unchanged");
  });

  await check("v1 update (PATCH allow_missing=false); missing -> 404; createIfNoEntryExists creates", async () => {
    same(Number((await V1.updateOrderedDatastoreEntry({ ...at, id: "bob", newValue: 25 })).data.value), 25, "bob");
    await failsWith(V1.updateOrderedDatastoreEntry({ ...at, id: "ghost", newValue: 3 }), [404], "update of a missing entry");
    const { data } = await V1.updateOrderedDatastoreEntry({ ...at, id: "ghost", newValue: 3, createIfNoEntryExists: true });
    same(Number(data.value), 3, "ghost created");
  });

  await check("v1 increment (:increment {amount}, with allow_missing=false in the query)", async () => {
    same(Number((await V1.incrementOrderedDatastoreEntry({ ...at, id: "bob", incrementBy: 5 })).data.value), 30, "bob + 5");
    same(Number((await V1.incrementOrderedDatastoreEntry({ ...at, id: "bob", incrementBy: -10 })).data.value), 20, "bob - 10");
  });

  await check("v1 list ascending: no order_by, and order_by=asc", async () => {
    const order = ["ghost", "dave", "bob", "alice", "erin", "carol"];
    same(ids(await list({})), order, "no order_by");
    same(ids(await list({ orderBy: "asc" })), order, "order_by=asc");
    same((await list({})).map((e) => Number(e.value)), [3, 5, 20, 50, 65, 80], "values");
  });

  await check("v1 list order_by=desc with filter `entry >= 20 && entry <= 65`", async () => {
    same(ids(await list({ orderBy: "desc", filter: "entry >= 20 && entry <= 65" })), ["erin", "alice", "bob"], "desc, 20..65");
    same(ids(await list({ filter: "entry <= 5" })), ["ghost", "dave"], "entry <= 5");
  });

  await check("v1 list pages: max_page_size 2, page_token from nextPageToken", async () => {
    const { items, pages } = await allPages(V1.listOrderedDatastoreEntries({ ...at, maxPageSize: 2, orderBy: "desc" }));
    same(ids(items), ["carol", "erin", "alice", "bob", "dave", "ghost"], "all pages");
    assert(pages === 3, `${pages} pages, not 3`);
  });

  await check("v1 delete -> {} (data true); get -> 404; unlisted", async () => {
    const { data } = await V1.deleteOrderedDatastoreEntry({ ...at, id: "dave" });
    assert(data === true, `openblox reads success only from a {} body; data = ${JSON.stringify(data)}`);
    await failsWith(V1.orderedDatastoreEntry({ ...at, id: "dave" }), [404], "get after delete");
    assert(!ids(await list({})).includes("dave"), "dave still listed");
  });
}

// ---- ordered data stores v2 -----------------------------------------------

async function orderedV2() {
  const at = { universeId: U, dataStoreId: "BoardV2", scope: "global" };
  const list = async (args) => (await V2.listOrderedDatastoreEntries({ ...at, limit: 100, ...args })).data;

  await check("v2 create (POST ?id=) + get", async () => {
    for (const [entryId, entryValue] of [["alice", 50], ["bob", 20], ["carol", 80], ["dave", 5], ["erin", 65]]) {
      const { data } = await V2.createOrderedDataStoreEntry({ ...at, entryId, entryValue });
      same(Number(data.value), entryValue, `created ${entryId}`);
    }
    const { data } = await V2.orderedDataStoreEntry({ ...at, entryId: "carol" });
    same([data.id, Number(data.value)], ["carol", 80], "get carol");
    same(data.path, `universes/${U}/ordered-data-stores/BoardV2/scopes/global/entries/carol`, "path");
  });

  await check("v2 create of an existing id -> 400", async () => {
    await failsWith(V2.createOrderedDataStoreEntry({ ...at, entryId: "alice", entryValue: 1 }), [400], "second create");
  });

  await check("v2 update: existing; missing -> 404; allowIfMissing=true creates", async () => {
    same(Number((await V2.updateOrderedDataStoreEntry({ ...at, entryId: "bob", newEntryValue: 25 })).data.value), 25, "bob");
    await failsWith(V2.updateOrderedDataStoreEntry({ ...at, entryId: "ghost", newEntryValue: 7 }), [404], "update of a missing entry");
    const { data } = await V2.updateOrderedDataStoreEntry({ ...at, entryId: "ghost", newEntryValue: 7, allowIfMissing: true });
    same(Number(data.value), 7, "openblox's allowIfMissing (not allowMissing) creates");
  });

  await check("v2 increment: existing, and missing (creates)", async () => {
    same(Number((await V2.incrementOrderedDataStoreEntry({ ...at, entryId: "bob", incrementBy: 5 })).data.value), 30, "bob + 5");
    same(Number((await V2.incrementOrderedDataStoreEntry({ ...at, entryId: "newbie", incrementBy: 4 })).data.value), 4, "newbie");
  });

  await check("v2 list: orderBy '' and filter '' (Asc), orderBy 'value desc' (Desc)", async () => {
    same(ids(await list({ sortOrder: "Asc" })), ["newbie", "dave", "ghost", "bob", "alice", "erin", "carol"], "ascending");
    same(ids(await list({ sortOrder: "Desc" })), ["carol", "erin", "alice", "bob", "ghost", "dave", "newbie"], "descending");
  });

  await check("v2 list filter `entry <= 65 && entry >= 7` (openblox's order)", async () => {
    same(ids(await list({ sortOrder: "Desc", lessThanOrEq: 65, moreThanOrEq: 7 })), ["erin", "alice", "bob", "ghost"], "7..65");
    same(ids(await list({ moreThanOrEq: 50 })), ["alice", "erin", "carol"], "entry >= 50");
  });

  await check("v2 list pages: maxPageSize 3, pageToken from nextPageToken", async () => {
    const { items, pages } = await allPages(V2.listOrderedDatastoreEntries({ ...at, limit: 3, sortOrder: "Desc" }));
    same(ids(items), ["carol", "erin", "alice", "bob", "ghost", "dave", "newbie"], "all pages");
    assert(pages === 3, `${pages} pages, not 3`);
  });

  await check("v2 delete -> {} (data true); get -> 404; delete again -> 404", async () => {
    const { data } = await V2.deleteOrderedDataStoreEntry({ ...at, entryId: "dave" });
    assert(data === true, `openblox reads success only from a {} body; data = ${JSON.stringify(data)}`);
    await failsWith(V2.orderedDataStoreEntry({ ...at, entryId: "dave" }), [404], "get after delete");
    await failsWith(V2.deleteOrderedDataStoreEntry({ ...at, entryId: "dave" }), [404], "second delete (documented 404)");
  });
}

// ---- memory stores ---------------------------------------------------------

async function memoryStores() {
  const map = { universeId: U, sortedMap: "Auction" };
  const state = {};
  const listIds = async (args) => ids((await Memory.listSortedMapItems({ ...map, maxPageSize: 100, ...args })).data);

  await check("sorted map create: POST {Id, Value, Ttl, NumericSortKey}, no ?id=", async () => {
    const { data } = await Memory.createSortedMapItem({ ...map, item: { id: "p1", value: { bid: 1 }, ttl: "300s", numericSortKey: 5 } });
    same([data.id, data.value, data.numericSortKey], ["p1", { bid: 1 }, 5], "created item");
    assert(data.etag, "an etag");
    const left = (data.expireTime.getTime() - Date.now()) / 1000;
    assert(left > 250 && left <= 301, `expires in ${left} s, not about 300`);
    state.p1 = data;
  });

  await check("sorted map create with StringSortKey; creating it again fails", async () => {
    const { data } = await Memory.createSortedMapItem({ ...map, item: { id: "p2", value: "two", ttl: "300s", stringSortKey: "b" } });
    same([data.id, data.stringSortKey], ["p2", "b"], "created item");
    const got = await failsWith(
      Memory.createSortedMapItem({ ...map, item: { id: "p2", value: "again", ttl: "300s" } }),
      [400, 409],
      "second create",
    );
    same((await Memory.sortedMapItem({ ...map, itemId: "p2" })).data.value, "two", "p2 unchanged");
    return `second create -> ${got}`;
  });

  await check("sorted map get (value, sort key, etag, expireTime)", async () => {
    const { data } = await Memory.sortedMapItem({ ...map, itemId: "p1" });
    same([data.id, data.value, data.numericSortKey, data.etag], ["p1", { bid: 1 }, 5, state.p1.etag], "item");
    assert(!isNaN(data.expireTime.getTime()), "expireTime parses");
  });

  await check("sorted map update: PATCH {Value, Ttl, NumericSortKey}; new etag; missing -> 404; allowMissing creates", async () => {
    const { data } = await Memory.updateSortedMapItem({ ...map, itemId: "p1", updatedItemData: { value: { bid: 2 }, ttl: "300s", numericSortKey: 1 } });
    same([data.value, data.numericSortKey], [{ bid: 2 }, 1], "updated");
    assert(data.etag && data.etag !== state.p1.etag, `etag ${data.etag} after ${state.p1.etag}`);
    state.p1new = data;
    await failsWith(
      Memory.updateSortedMapItem({ ...map, itemId: "p3", updatedItemData: { value: 3, ttl: "300s", numericSortKey: 3 } }),
      [404],
      "update of a missing item",
    );
    const created = await Memory.updateSortedMapItem({ ...map, itemId: "p3", allowMissing: true, updatedItemData: { value: 3, ttl: "300s", numericSortKey: 3 } });
    same(created.data.value, 3, "created with allowMissing");
  });

  await check("sorted map list: ascending, orderBy 'id desc', sortKey filter", async () => {
    same(await listIds({}), ["p1", "p3", "p2"], "numbers by sort key, then strings");
    same(await listIds({ orderBy: "id desc" }), ["p2", "p3", "p1"], "id desc");
    same(await listIds({ filter: "sortKey > 0 && sortKey < 2" }), ["p1"], "0 < sortKey < 2");
  });

  await check("sorted map list: id filter; pages of maxPageSize 2 via pageToken", async () => {
    const plain = { universeId: U, sortedMap: "Plain" };
    for (const id of ["a", "b", "c", "d", "e"]) {
      await Memory.createSortedMapItem({ ...plain, item: { id, value: id, ttl: "300s" } });
    }
    same(ids((await Memory.listSortedMapItems({ ...plain, maxPageSize: 100, filter: 'id > "a" && id < "d"' })).data), ["b", "c"], "a < id < d");
    const { items, pages } = await allPages(Memory.listSortedMapItems({ ...plain, maxPageSize: 2 }));
    same(ids(items), ["a", "b", "c", "d", "e"], "all pages");
    assert(pages === 3, `${pages} pages, not 3`);
  });

  await check("sorted map delete (?etag=): stale etag refused, current etag deletes; plain delete", async () => {
    const refused = await status(Memory.deleteSortedMapItem({ ...map, itemId: "p1", etag: state.p1.etag }));
    same((await Memory.sortedMapItem({ ...map, itemId: "p1" })).data.value, { bid: 2 }, "p1 after a stale-etag delete");
    await Memory.deleteSortedMapItem({ ...map, itemId: "p1", etag: state.p1new.etag });
    await failsWith(Memory.sortedMapItem({ ...map, itemId: "p1" }), [404], "get after delete");
    await Memory.deleteSortedMapItem({ ...map, itemId: "p2" });
    same(await listIds({}), ["p3"], "left");
    return `stale etag -> ${refused}`;
  });

  const queue = { universeId: U, queue: "Matchmaking" };
  const read = async (args) => (await Memory.readQueueItems({ ...queue, ...args })).data;

  await check("queue enqueue: POST items {data, ttl, priority}", async () => {
    for (const [name, priority] of [["a", 0], ["b", 5], ["c", 0]]) {
      const { data } = await Memory.enqueueItem({ ...queue, item: { name, value: name.toUpperCase(), ttl: "300s", priority } });
      same(data.data, { name, value: name.toUpperCase() }, "enqueued data");
      same(data.priority, priority, "priority");
      assert(!isNaN(data.expireTime.getTime()), `expireTime ${data.expireTime}`);
    }
  });

  await check("queue read (count 2): {data, id} -> items + readId, priority first", async () => {
    const data = await read({ limit: 2 });
    same(data.items.map((i) => i.name), ["b", "a"], "read order");
    assert(data.readId, "a read id");
    state.readId = data.readId;
  });

  await check("queue read skips invisible items; discard (POST items:discard ?readId=)", async () => {
    const data = await read({ limit: 5, invisibilityTimeoutSeconds: 1 });
    same(data.items.map((i) => i.name), ["c"], "only the unread item");
    await Memory.dequeueItems({ ...queue, readId: state.readId });
  });

  await check("queue read allOrNothing with too few items", async () => {
    const visible = await read({ limit: 5 });
    same(visible.items ?? [], [], "everything invisible or discarded");
    try {
      const data = await read({ limit: 5, allOrNothing: true });
      same(data.items ?? [], [], "items");
      return "server answers 2xx: openblox gets no items";
    } catch (e) {
      if (e?.response?.statusCode === 404) return "server answers 404 (the docs): openblox throws";
      throw e;
    }
  });

  await check("queue items come back after the invisibility window; empty read", async () => {
    await sleep(2200);
    const data = await read({ limit: 5 });
    same(data.items.map((i) => i.name), ["c"], "c is back, a and b were discarded");
    await Memory.dequeueItems({ ...queue, readId: data.readId });
    same((await read({ limit: 5 })).items ?? [], [], "empty queue");
  });

  await check("flush (POST memory-store:flush): done, sorted maps and queues empty", async () => {
    await Memory.enqueueItem({ ...queue, item: { name: "x", value: 1, ttl: "300s" } });
    const { data } = await Memory.flushAllQueues({ universeId: U });
    state.flush = data;
    assert(data.path, "an operation path");
    await failsWith(Memory.sortedMapItem({ ...map, itemId: "p3" }), [404], "get after flush");
    same((await read({ limit: 5 })).items ?? [], [], "queue after flush");
    return `path ${data.path}, done ${data.done}`;
  });

  await check("flush operation poll at the path openblox builds (path.split('/')[5])", async () => {
    // openblox polls only while `done === false`, through the configured
    // adapter, at its pathToPoll (`/universes/{u}/memory-store/operations/`
    // + the sixth segment of the answered path); this asks the same.
    const id = state.flush.path.split("/")[5];
    const r = await adapterInUse({
      method: "GET",
      url: `${ORIGIN}/cloud/v2/universes/${U}/memory-store/operations/${id}`,
      headers: { "x-api-key": API_KEY, "Content-Type": "application/json" },
    });
    assert(r.statusCode === 200, `status ${r.statusCode}`);
    assert(r.body.done === true, `done = ${JSON.stringify(r.body.done)}`);
    assert(r.body.path?.split("/").pop() === id, `path ${r.body.path}`);
  });
}

// ---- data store management ------------------------------------------------

async function management() {
  await check("list data stores (filter id.startsWith, maxPageSize)", async () => {
    for (const dataStore of ["Players", "Inventory"]) {
      await Standard.createStandardDataStoreEntry({ universeId: U, dataStore, scope: "global", entryId: "Player_1", value: { n: 1 } });
    }
    const names = (await Standard.listStandardDataStores({ universeId: U, limit: 100 })).data.map((d) => d.id);
    assert(names.includes("Players") && names.includes("Inventory"), `listed ${names}`);
    same((await Standard.listStandardDataStores({ universeId: U, prefix: "Inv" })).data.map((d) => d.id), ["Inventory"], "prefix Inv");
    same((await Standard.listStandardDataStores({ universeId: U, limit: 1 })).data.length, 1, "limit 1");
    const one = (await Standard.listStandardDataStores({ universeId: U, prefix: "Players" })).data[0];
    same(one.path, `universes/${U}/data-stores/Players`, "path");
  });

  await check("snapshot twice in a day: newSnapshotTaken true, then false", async () => {
    const first = (await Standard.createStandardDataStoreSnapshot({ universeId: U })).data;
    assert(first.newSnapshotTaken === true, `first: ${JSON.stringify(first)}`);
    assert(first.latestSnapshotTime instanceof Date && !isNaN(first.latestSnapshotTime.getTime()), "latestSnapshotTime");
    const second = (await Standard.createStandardDataStoreSnapshot({ universeId: U })).data;
    assert(second.newSnapshotTaken === false, `second: ${JSON.stringify(second)}`);
    if (second.latestSnapshotTime) {
      same(second.latestSnapshotTime.getTime(), first.latestSnapshotTime.getTime(), "latestSnapshotTime");
    }
  });
}

// ---- main ------------------------------------------------------------------

let adapterInUse;
const { child, url } = await startServer();
let code = 1;
try {
  adapterInUse = redirectTo(url);
  await orderedV1();
  await orderedV2();
  await memoryStores();
  await management();
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`openblox ${VERSION}: ${passed} passed, ${failed} failed`);
  code = failed ? 1 : 0;
} finally {
  child.kill("SIGTERM");
}
process.exit(code);
