//! The tables: one function per route family, each a list of requests
//! that must be refused with a 4xx and change nothing.

use super::raw::{request, Case, Shape};

/// What the tables need from the seeded server.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub key: String,
    /// A valid cursor of another listing (keys of store `t`).
    pub foreign_keys_cursor: String,
    /// A valid page token of another v2 listing.
    pub foreign_v2_token: String,
    /// A well-formed version id that is not `k`'s current one.
    pub stale_version: String,
}

const V1: &str = "/datastores/v1/universes/1/standard-datastores";
const V2: &str = "/cloud/v2/universes/1/data-stores";
const MSG: &str = "/messaging-service/v1/universes/1/topics";
const SAPI: &str = "/session-api/v1/universes/1";

/// Largest body the test server reads (its `max_body_bytes`).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024 + 64 * 1024;

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn nested(n: usize) -> Vec<u8> {
    vec![b'['; n]
}

/// Collects cases of one family.
struct Table<'a> {
    family: &'static str,
    ctx: &'a Ctx,
    cases: Vec<Case>,
}

impl<'a> Table<'a> {
    fn new(family: &'static str, ctx: &'a Ctx) -> Self {
        Table {
            family,
            ctx,
            cases: Vec::new(),
        }
    }

    /// A request with the API key.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        method: &str,
        target: impl AsRef<[u8]>,
        headers: &[(&str, &[u8])],
        body: impl AsRef<[u8]>,
        status: u16,
        shape: Shape,
    ) {
        let raw = request(
            method,
            target.as_ref(),
            Some(&self.ctx.key),
            headers,
            body.as_ref(),
        );
        self.cases.push(Case {
            family: self.family,
            name: name.to_owned(),
            raw,
            status,
            shape,
        });
    }

    fn raw(&mut self, name: &str, raw: Vec<u8>, status: u16, shape: Shape) {
        self.cases.push(Case {
            family: self.family,
            name: name.to_owned(),
            raw,
            status,
            shape,
        });
    }
}

/// Bodies every JSON-reading route must refuse with a 400 (the body limit
/// gives 413).
#[rustfmt::skip]
fn bad_bodies() -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        ("body not JSON", b"{not json".to_vec(), 400),
        ("body NaN", b"NaN".to_vec(), 400),
        ("body Infinity", b"{\"value\":Infinity,\"message\":-Infinity}".to_vec(), 400),
        ("body invalid UTF-8", b"{\"value\":\"\xff\xfe\",\"message\":\"\xc3\x28\"}".to_vec(), 400),
        ("body 100k nested arrays", nested(100_000), 400),
        ("body over the limit", vec![b' '; MAX_BODY + 1], 413),
    ]
}

#[rustfmt::skip]
pub(crate) fn v1(ctx: &Ctx) -> Vec<Case> {
    let mut t = Table::new("Open Cloud v1 DataStore", ctx);
    let entry = format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=k");
    let keys = format!("{V1}/datastore/entries?datastoreName=s");
    let versions = format!("{V1}/datastore/entries/entry/versions?datastoreName=s&entryKey=k");
    let version =
        format!("{V1}/datastore/entries/entry/versions/version?datastoreName=s&entryKey=k");
    let increment = format!("{V1}/datastore/entries/entry/increment?datastoreName=s");
    let s = Shape::V1;
    for (what, q) in [
        ("limit=-1", "limit=-1"),
        ("limit=1e99", "limit=1e99"),
        ("limit=NaN", "limit=NaN"),
        ("limit overflowing u64", "limit=99999999999999999999"),
        ("bad cursor", "cursor=not-a-cursor"),
    ] {
        t.add(&format!("list stores {what}"), "GET", format!("{V1}?{q}"), &[], "", 400, s);
    }
    t.add("list keys without datastoreName", "GET", format!("{V1}/datastore/entries"), &[], "", 400, s);
    for (what, q) in [
        ("store name 51 bytes", format!("{V1}/datastore/entries?datastoreName={}", long(51))),
        ("scope 51 bytes", format!("{keys}&scope={}", long(51))),
        ("allScopes=maybe", format!("{keys}&allScopes=maybe")),
        ("allScopes with a scope", format!("{keys}&allScopes=true&scope=x")),
        ("limit=-1", format!("{keys}&limit=-1")),
        ("limit=u64::MAX", format!("{keys}&limit=18446744073709551615")),
        ("limit=1e99", format!("{keys}&limit=1e99")),
        ("bad cursor", format!("{keys}&cursor=%21%21%21")),
        ("foreign cursor", format!("{keys}&cursor={}", ctx.foreign_keys_cursor)),
        ("name invalid UTF-8 (%FF)", format!("{V1}/datastore/entries?datastoreName=%FF")),
        ("name invalid UTF-8 (%C3%28)", format!("{V1}/datastore/entries?datastoreName=%C3%28")),
    ] {
        t.add(&format!("list keys {what}"), "GET", q, &[], "", 400, s);
    }
    for (what, q) in [
        ("key 51 bytes", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey={}", long(51))),
        ("no entryKey", format!("{V1}/datastore/entries/entry?datastoreName=s")),
        ("empty entryKey", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=")),
        ("empty datastoreName", format!("{V1}/datastore/entries/entry?datastoreName=&entryKey=k")),
        ("key invalid UTF-8", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=k%FF")),
        ("scope 51 bytes", format!("{entry}&scope={}", long(51))),
    ] {
        t.add(&format!("get {what}"), "GET", q, &[], "", 400, s);
    }
    for (what, body, status) in bad_bodies() {
        t.add(&format!("set {what}"), "POST", &entry, &[], body, status, s);
    }
    t.add("set value over 4 MiB", "POST", &entry, &[], format!("\"{}\"", long(4 * 1024 * 1024)), 400, s);
    let h = |name: &'static str, value: &'static [u8]| -> Vec<(&'static str, &'static [u8])> {
        vec![(name, value)]
    };
    for (what, headers) in [
        ("wrong content-md5", h("content-md5", b"1B2M2Y8AsgTpgAmY7PhCfg==")),
        ("content-md5 not base64", h("content-md5", b"not base64 at all")),
        ("content-md5 invalid UTF-8", h("content-md5", b"\xff\xfe\xfd")),
        ("user ids not JSON", h("roblox-entry-userids", b"[1,")),
        ("five user ids", h("roblox-entry-userids", b"[1,2,3,4,5]")),
        ("user ids strings", h("roblox-entry-userids", b"[\"a\"]")),
        ("user ids fractional", h("roblox-entry-userids", b"[1.5]")),
        ("user ids overflowing", h("roblox-entry-userids", b"[99999999999999999999]")),
        ("user ids not numbers", h("roblox-entry-userids", b"1,two")),
        ("user ids invalid UTF-8", h("roblox-entry-userids", b"[1,\xff]")),
        ("attributes not an object", h("roblox-entry-attributes", b"[1]")),
        ("attributes too large", h("roblox-entry-attributes", Box::leak(format!("{{\"a\":\"{}\"}}", long(400)).into_bytes().into_boxed_slice()))),
        ("attributes nested 100k", h("roblox-entry-attributes", Box::leak(nested(100_000).into_boxed_slice()))),
        ("attributes NaN", h("roblox-entry-attributes", b"{\"a\":NaN}")),
        ("attributes invalid UTF-8", h("roblox-entry-attributes", b"{\"a\":\"\xff\"}")),
    ] {
        t.add(&format!("set {what}"), "POST", &entry, &headers, "{\"a\":1}", 400, s);
    }
    for (what, q, status) in [
        ("matchVersion garbage", "matchVersion=garbage", 400),
        ("matchVersion nearly an id", "matchVersion=08DA7B3C1F2E4A00.0000000001.08DA7B3C1F2E4A00.02", 400),
        ("matchVersion stale", &*format!("matchVersion={}", ctx.stale_version), 412),
        ("exclusiveCreate and matchVersion", &*format!("exclusiveCreate=true&matchVersion={}", ctx.stale_version), 400),
        ("exclusiveCreate on an existing key", "exclusiveCreate=true", 412),
        ("exclusiveCreate=yes", "exclusiveCreate=yes", 400),
    ] {
        t.add(&format!("set {what}"), "POST", format!("{entry}&{q}"), &[], "1", status, s);
    }
    for (what, q) in [
        ("incrementBy=NaN", "&entryKey=c&incrementBy=NaN"),
        ("incrementBy=1e99", "&entryKey=c&incrementBy=1e99"),
        ("incrementBy=1.5", "&entryKey=c&incrementBy=1.5"),
        ("incrementBy=inf", "&entryKey=c&incrementBy=inf"),
        ("overflowing i64", "&entryKey=c&incrementBy=1"),
        ("a non-number", "&entryKey=k&incrementBy=1"),
        ("key 51 bytes", &*format!("&entryKey={}", long(51))),
    ] {
        t.add(&format!("increment {what}"), "POST", format!("{increment}{q}"), &[], "", 400, s);
    }
    t.add("delete a missing key", "DELETE", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=missing"), &[], "", 404, s);
    for (what, q) in [
        ("sortOrder=Sideways", "sortOrder=Sideways"),
        ("startTime=yesterday", "startTime=yesterday"),
        ("endTime past year 9999 in UTC", "endTime=9999-12-31T23:59:59-23:59"),
        ("limit=-5", "limit=-5"),
        ("limit=NaN", "limit=NaN"),
        ("bad cursor", "cursor=zzz"),
        ("foreign cursor", &*format!("cursor={}", ctx.foreign_keys_cursor)),
    ] {
        t.add(&format!("versions {what}"), "GET", format!("{versions}&{q}"), &[], "", 400, s);
    }
    t.add("version without versionId", "GET", &version, &[], "", 400, s);
    t.add("version garbage versionId", "GET", format!("{version}&versionId=zz"), &[], "", 400, s);
    t.add("version id hex overflow", "GET", format!("{version}&versionId=FFFFFFFFFFFFFFFF.0000000001.FFFFFFFFFFFFFFFF.01"), &[], "", 400, s);
    for (what, u) in [("abc", "abc"), ("-1", "-1"), ("overflowing", "99999999999999999999999"), ("empty", "")] {
        t.add(&format!("universe {what}"), "GET", format!("/datastores/v1/universes/{u}/standard-datastores"), &[], "", 400, s);
    }
    t.add("path invalid UTF-8 (%FF)", "GET", format!("{V1}/datastore/entries%FF?datastoreName=s"), &[], "", 400, s);
    for (method, target) in [
        ("PUT", entry.clone()),
        ("PATCH", V1.to_owned()),
        ("DELETE", keys.clone()),
        ("GET", format!("{increment}&entryKey=c")),
        ("POST", versions.clone()),
        ("DELETE", format!("{version}&versionId=x")),
    ] {
        t.add(&format!("{method} not allowed"), method, target, &[], "", 405, s);
    }
    t.add("unknown v1 route", "GET", format!("{V1}/nope"), &[], "", 404, s);
    t.add("unknown v1 prefix", "GET", "/datastores/v1/universes/1/ordered-datastores", &[], "", 404, s);
    t.cases
}

#[rustfmt::skip]
pub(crate) fn v2(ctx: &Ctx) -> Vec<Case> {
    let mut t = Table::new("Open Cloud v2 DataStore", ctx);
    let s = Shape::V2;
    let entries = format!("{V2}/s/entries");
    for (what, q) in [
        ("maxPageSize=-1", "maxPageSize=-1"),
        ("maxPageSize=NaN", "maxPageSize=NaN"),
        ("maxPageSize=1e99", "maxPageSize=1e99"),
        ("unsupported filter", "filter=name%3D%3D1"),
        ("bad pageToken", "pageToken=%24%24"),
        ("filter invalid UTF-8", "filter=id.startsWith(%22%FF%22)"),
    ] {
        t.add(&format!("list stores {what}"), "GET", format!("{V2}?{q}"), &[], "", 400, s);
    }
    for (what, q) in [
        ("unsupported filter", format!("{entries}?filter=x")),
        ("showDeleted=maybe", format!("{entries}?showDeleted=maybe")),
        ("bad pageToken", format!("{entries}?pageToken=abc")),
        ("foreign pageToken", format!("{entries}?pageToken={}", ctx.foreign_v2_token)),
        ("maxPageSize=1e99", format!("{entries}?maxPageSize=1e99")),
        ("store 51 bytes", format!("{V2}/{}/entries", long(51))),
        ("scope 51 bytes", format!("{V2}/s/scopes/{}/entries", long(51))),
    ] {
        t.add(&format!("list entries {what}"), "GET", q, &[], "", 400, s);
    }
    let create = format!("{entries}?id=new");
    t.add("create without id", "POST", &entries, &[], "{\"value\":1}", 400, s);
    t.add("create id 51 bytes", "POST", format!("{entries}?id={}", long(51)), &[], "{\"value\":1}", 400, s);
    t.add("create an existing id", "POST", format!("{entries}?id=k"), &[], "{\"value\":1}", 400, s);
    for (what, body, status) in bad_bodies() {
        t.add(&format!("create {what}"), "POST", &create, &[], body, status, s);
    }
    for (what, body) in [
        ("no value", "{}".to_owned()),
        ("value over 4 MiB", format!("{{\"value\":\"{}\"}}", long(4 * 1024 * 1024))),
        ("users not a list", "{\"value\":1,\"users\":\"users/1\"}".to_owned()),
        ("users not users/", "{\"value\":1,\"users\":[\"1\"]}".to_owned()),
        ("users/x", "{\"value\":1,\"users\":[\"users/x\"]}".to_owned()),
        ("users/-overflow", "{\"value\":1,\"users\":[\"users/99999999999999999999\"]}".to_owned()),
        ("five users", "{\"value\":1,\"users\":[\"users/1\",\"users/2\",\"users/3\",\"users/4\",\"users/5\"]}".to_owned()),
        ("attributes a list", "{\"value\":1,\"attributes\":[1]}".to_owned()),
        ("attributes too large", format!("{{\"value\":1,\"attributes\":{{\"a\":\"{}\"}}}}", long(400))),
    ] {
        t.add(&format!("create {what}"), "POST", &create, &[], body, 400, s);
    }
    for (what, seg) in [("garbage revision", "k@garbage"), ("bad time after @latest:", "k@latest:yesterday"), ("key 51 bytes", &*long(51)), ("key invalid UTF-8", "k%FF")] {
        t.add(&format!("get {what}"), "GET", format!("{entries}/{seg}"), &[], "", 400, s);
    }
    t.add("patch a missing entry", "PATCH", format!("{entries}/missing"), &[], "{\"value\":1}", 404, s);
    t.add("patch a stale etag", "PATCH", format!("{entries}/k"), &[], format!("{{\"value\":1,\"etag\":\"{}\"}}", ctx.stale_version), 409, s);
    t.add("patch allowMissing=maybe", "PATCH", format!("{entries}/k?allowMissing=maybe"), &[], "{\"value\":1}", 400, s);
    t.add("patch no value", "PATCH", format!("{entries}/k"), &[], "{\"users\":[]}", 400, s);
    for (what, body, status) in bad_bodies() {
        t.add(&format!("patch {what}"), "PATCH", format!("{entries}/k"), &[], body, status, s);
    }
    t.add("delete a missing entry", "DELETE", format!("{entries}/missing"), &[], "", 404, s);
    t.add("delete a stale etag", "DELETE", format!("{entries}/k?etag={}", ctx.stale_version), &[], "", 409, s);
    for (what, body) in [
        ("amount a string", "{\"amount\":\"x\"}"),
        ("amount 1.5", "{\"amount\":1.5}"),
        ("amount 1e99", "{\"amount\":1e99}"),
        ("amount overflowing", "{\"amount\":99999999999999999999}"),
        ("not JSON", "{"),
    ] {
        t.add(&format!("increment {what}"), "POST", format!("{entries}/c:increment"), &[], body, 400, s);
    }
    t.add("increment a non-number", "POST", format!("{entries}/k:increment"), &[], "{\"amount\":1}", 400, s);
    t.add("increment overflowing i64", "POST", format!("{entries}/c:increment"), &[], "{\"amount\":1}", 400, s);
    for (what, q) in [
        ("unsupported filter", "filter=state%3D1"),
        ("bad time in filter", "filter=revision_create_time%20%3E%3D%20yesterday"),
        ("maxPageSize=-1", "maxPageSize=-1"),
        ("bad pageToken", "pageToken=x"),
    ] {
        t.add(&format!("list revisions {what}"), "GET", format!("{entries}/k:listRevisions?{q}"), &[], "", 400, s);
    }
    for (what, u) in [("abc", "abc"), ("overflowing", "99999999999999999999999")] {
        t.add(&format!("universe {what}"), "GET", format!("/cloud/v2/universes/{u}/data-stores"), &[], "", 400, s);
    }
    t.add("path invalid UTF-8 (%FF)", "GET", format!("{V2}/%FF/entries/k"), &[], "", 400, s);
    for (method, target) in [("PUT", V2.to_owned()), ("DELETE", entries.clone()), ("POST", format!("{entries}/k")), ("PUT", format!("{entries}/k"))] {
        t.add(&format!("{method} not allowed"), method, target, &[], "", 405, s);
    }
    t.add("unknown v2 route", "GET", "/cloud/v2/universes/1/places", &[], "", 404, Shape::Gateway);
    t.cases
}

#[rustfmt::skip]
pub(crate) fn messaging(ctx: &Ctx) -> Vec<Case> {
    let mut t = Table::new("messaging publish and subscribe", ctx);
    let (s1, s2) = (Shape::V1, Shape::V2);
    let publish = format!("{MSG}/t");
    for (what, body, status) in bad_bodies() {
        t.add(&format!("publish v1 {what}"), "POST", &publish, &[], body, status, s1);
    }
    for (what, target, body) in [
        ("no message", publish.clone(), "{\"data\":1}".to_owned()),
        ("message over 1 KiB", publish.clone(), format!("{{\"message\":\"{}\"}}", long(1100))),
        ("topic 81 characters", format!("{MSG}/{}", long(81)), "{\"message\":1}".to_owned()),
        ("topic invalid UTF-8", format!("{MSG}/t%FF"), "{\"message\":1}".to_owned()),
        ("universe abc", "/messaging-service/v1/universes/abc/topics/t".to_owned(), "{\"message\":1}".to_owned()),
    ] {
        t.add(&format!("publish v1 {what}"), "POST", target, &[], body, 400, s1);
    }
    let v2 = "/cloud/v2/universes/1:publishMessage";
    for (what, body, status) in bad_bodies() {
        t.add(&format!("publish v2 {what}"), "POST", v2, &[], body, status, s2);
    }
    for (what, body) in [
        ("no topic", "{\"message\":\"m\"}".to_owned()),
        ("topic a number", "{\"topic\":1,\"message\":\"m\"}".to_owned()),
        ("no message", "{\"topic\":\"t\"}".to_owned()),
        ("topic 81 characters", format!("{{\"topic\":\"{}\",\"message\":1}}", long(81))),
        ("message over 1 KiB", format!("{{\"topic\":\"t\",\"message\":\"{}\"}}", long(1100))),
    ] {
        t.add(&format!("publish v2 {what}"), "POST", v2, &[], body, 400, s2);
    }
    t.add("publish v2 universe abc", "POST", "/cloud/v2/universes/abc:publishMessage", &[], "{\"topic\":\"t\",\"message\":1}", 400, s2);
    t.add("publish v2 GET", "GET", v2, &[], "", 405, s2);
    let poll = format!("{MSG}/t/messages");
    for (what, q) in [
        ("timeout=NaN", "cursor=0&timeout=NaN"),
        ("timeout=-1", "cursor=0&timeout=-1"),
        ("timeout=1e99", "cursor=0&timeout=1e99"),
        ("timeout=61", "cursor=0&timeout=61"),
        ("timeout=inf", "cursor=0&timeout=inf"),
        ("timeout=soon", "cursor=0&timeout=soon"),
        ("cursor garbage", "cursor=garbage&timeout=0"),
        ("cursor bad epoch", "cursor=zz-1&timeout=0"),
        ("cursor negative", "cursor=-1&timeout=0"),
        ("since=yesterday", "since=yesterday&timeout=0"),
        ("limit=-1", "cursor=0&timeout=0&limit=-1"),
        ("limit=1e99", "cursor=0&timeout=0&limit=1e99"),
        ("cursor invalid UTF-8", "cursor=%FF&timeout=0"),
    ] {
        t.add(&format!("long-poll {what}"), "GET", format!("{poll}?{q}"), &[], "", 400, s1);
    }
    t.add("long-poll topic 81 characters", "GET", format!("{MSG}/{}/messages?timeout=0", long(81)), &[], "", 400, s1);
    t.add("long-poll Last-Event-ID garbage", "GET", format!("{poll}?timeout=0"), &[("last-event-id", b"nope")], "", 400, s1);
    t.add("long-poll Last-Event-ID invalid UTF-8", "GET", format!("{poll}?timeout=0"), &[("last-event-id", b"\xff1")], "", 400, s1);
    let sse: &[(&str, &[u8])] = &[("accept", b"text/event-stream")];
    t.add("SSE cursor garbage", "GET", format!("{poll}?stream=sse&cursor=garbage"), &[], "", 400, s1);
    t.add("SSE since=NaN", "GET", format!("{poll}?stream=sse&since=NaN"), &[], "", 400, s1);
    t.add("SSE topic 81 characters", "GET", format!("{MSG}/{}/messages", long(81)), sse, "", 400, s1);
    t.add("SSE Last-Event-ID garbage", "GET", &poll, &[("accept", b"text/event-stream"), ("last-event-id", b"x-y")], "", 400, s1);
    t.add("SSE Last-Event-ID invalid UTF-8", "GET", &poll, &[("accept", b"text/event-stream"), ("last-event-id", b"\xc3\x28")], "", 400, s1);
    t.add("GET a topic", "GET", &publish, &[], "", 405, s1);
    t.add("POST messages", "POST", &poll, &[], "{}", 405, s1);
    t.add("DELETE a topic", "DELETE", &publish, &[], "", 405, s1);
    t.add("unknown messaging route", "GET", MSG, &[], "", 404, s1);
    t.cases
}

#[rustfmt::skip]
pub(crate) fn session_api(ctx: &Ctx) -> Vec<Case> {
    let mut t = Table::new("session API", ctx);
    let s = Shape::V2;
    let start = format!("{SAPI}/servers/j/sessions");
    for (what, body, status) in bad_bodies() {
        t.add(&format!("start {what}"), "POST", &start, &[], body, status, s);
    }
    for (what, body) in [
        ("body an array", "[1]".to_owned()),
        ("no store", "{\"key\":\"k\"}".to_owned()),
        ("store a number", "{\"store\":1,\"key\":\"k\"}".to_owned()),
        ("store 51 bytes", format!("{{\"store\":\"{}\",\"key\":\"k\"}}", long(51))),
        ("key 51 bytes", format!("{{\"store\":\"p\",\"key\":\"{}\"}}", long(51))),
        ("placeId a string", "{\"store\":\"p\",\"key\":\"n\",\"placeId\":\"x\"}".to_owned()),
        ("placeId negative", "{\"store\":\"p\",\"key\":\"n\",\"placeId\":-1}".to_owned()),
        ("timeoutSeconds negative", "{\"store\":\"p\",\"key\":\"n\",\"timeoutSeconds\":-1}".to_owned()),
        ("timeoutSeconds a string", "{\"store\":\"p\",\"key\":\"n\",\"timeoutSeconds\":\"NaN\"}".to_owned()),
    ] {
        t.add(&format!("start {what}"), "POST", &start, &[], body, 400, s);
    }
    t.add("renew placeId a string", "POST", format!("{SAPI}/servers/j"), &[], "{\"placeId\":\"x\"}", 400, s);
    t.add("renew placeId=NaN", "POST", format!("{SAPI}/servers/j?placeId=NaN"), &[], "", 400, s);
    let events = format!("{SAPI}/servers/j/events");
    for (what, q) in [
        ("timeout=NaN", "timeout=NaN"),
        ("timeout=-1", "timeout=-1"),
        ("timeout=1e99", "timeout=1e99"),
        ("timeout=61", "timeout=61"),
        ("cursor garbage", "cursor=abc&timeout=0"),
        ("cursor negative", "cursor=-1&timeout=0"),
        ("placeId=-1", "placeId=-1&timeout=0"),
        ("SSE cursor garbage", "stream=sse&cursor=x"),
    ] {
        t.add(&format!("events {what}"), "GET", format!("{events}?{q}"), &[], "", 400, s);
    }
    t.add("events Last-Event-ID invalid UTF-8", "GET", format!("{events}?timeout=0"), &[("last-event-id", b"\xff")], "", 400, s);
    let session = format!("{SAPI}/servers/j/sessions/p/k");
    t.add("patch without loadCount", "PATCH", &session, &[], "{\"data\":{}}", 400, s);
    t.add("patch loadCount=x", "PATCH", format!("{session}?loadCount=x"), &[], "{\"data\":{}}", 400, s);
    t.add("patch an unknown game server", "PATCH", format!("{SAPI}/servers/nobody/sessions/p/k?loadCount=1"), &[], "{\"data\":{}}", 400, s);
    for (what, body, status) in bad_bodies() {
        t.add(&format!("patch {what}"), "PATCH", format!("{session}?loadCount=1"), &[], body, status, s);
    }
    t.add("save loadCount=-1", "POST", format!("{session}:save?loadCount=-1"), &[], "", 400, s);
    t.add("end without loadCount", "POST", format!("{session}:end"), &[], "", 400, s);
    t.add("unknown verb", "POST", format!("{session}:frobnicate?loadCount=1"), &[], "", 404, s);
    t.add("message index not a number", "POST", format!("{session}/messages/x:processed?loadCount=1"), &[], "", 400, s);
    let store = format!("{SAPI}/stores/p/k");
    for (what, body, status) in bad_bodies() {
        t.add(&format!("message {what}"), "POST", format!("{store}:message"), &[], body, status, s);
    }
    t.add("message without message", "POST", format!("{store}:message"), &[], "{}", 400, s);
    t.add("message store 51 bytes", "POST", format!("{SAPI}/stores/{}/k:message", long(51)), &[], "{\"message\":1}", 400, s);
    t.add("read a garbage version", "GET", format!("{store}?version=garbage"), &[], "", 400, s);
    t.add("read a missing profile", "GET", format!("{SAPI}/stores/p/missing"), &[], "", 404, s);
    t.add("put data not an object", "PUT", &store, &[], "{\"data\":[1]}", 400, s);
    t.add("put metadata not an object", "PUT", &store, &[], "{\"metadata\":1}", 400, s);
    t.add("put a missing profile", "PUT", format!("{SAPI}/stores/p/missing"), &[], "{\"data\":{}}", 404, s);
    for (what, body, status) in bad_bodies() {
        t.add(&format!("put {what}"), "PUT", &store, &[], body, status, s);
    }
    for (what, q) in [("order=sideways", "order=sideways"), ("minTime=yesterday", "minTime=yesterday"), ("maxTime=1e99", "maxTime=1e99"), ("limit=-1", "limit=-1")] {
        t.add(&format!("versions {what}"), "GET", format!("{store}/versions?{q}"), &[], "", 400, s);
    }
    t.add("universe abc", "GET", "/session-api/v1/universes/abc/stores/p/k", &[], "", 400, s);
    t.add("path invalid UTF-8", "GET", format!("{SAPI}/stores/p/k%FF"), &[], "", 400, s);
    for (method, target) in [
        ("GET", format!("{SAPI}/servers/j")),
        ("PUT", start.clone()),
        ("DELETE", store.clone()),
        ("POST", format!("{store}/versions")),
        ("DELETE", events.clone()),
    ] {
        t.add(&format!("{method} not allowed"), method, target, &[], "", 405, s);
    }
    t.add("unknown session API route", "GET", format!("{SAPI}/nope"), &[], "", 404, s);
    t.cases
}

#[rustfmt::skip]
pub(crate) fn gateway(ctx: &Ctx) -> Vec<Case> {
    let mut t = Table::new("gateway: keys, unknown routes, malformed HTTP", ctx);
    let g = Shape::Gateway;
    let routes = [
        ("GET", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=k")),
        ("POST", format!("{V1}/datastore/entries/entry?datastoreName=s&entryKey=k")),
        ("GET", format!("{V2}/s/entries/k")),
        ("DELETE", format!("{V2}/s/entries/k")),
        ("POST", format!("{MSG}/t")),
        ("GET", format!("{MSG}/t/messages?timeout=0")),
        ("POST", "/cloud/v2/universes/1:publishMessage".to_owned()),
        ("POST", format!("{SAPI}/servers/j/sessions")),
        ("PUT", format!("{SAPI}/stores/p/k")),
        ("GET", "/nope".to_owned()),
    ];
    for (method, target) in &routes {
        for (what, key) in [("no API key", None), ("wrong API key", Some("wrong")), ("API key with a suffix", Some(&*format!("{}x", ctx.key)))] {
            let raw = request(method, target.as_bytes(), key, &[], b"{\"value\":1,\"message\":1}");
            t.raw(&format!("{what}: {method} {target}"), raw, 401, g);
        }
        let raw = request(method, target.as_bytes(), None, &[("x-api-key", b"\xff\xfe")], b"1");
        t.raw(&format!("API key invalid UTF-8: {method} {target}"), raw, 401, g);
    }
    t.add("unknown route", "GET", "/nope", &[], "", 404, g);
    t.add("root", "GET", "/", &[], "", 404, g);
    t.add("unknown route with a body", "POST", "/v1/whatever", &[], "{}", 404, g);
    t.add("path invalid UTF-8 (%FF)", "GET", "/%FF", &[], "", 400, g);
    let h = Shape::Hyper;
    t.add("raw non-ASCII bytes in the path", "GET", b"/datastores/\xff\xfe".as_slice(), &[], "", 400, h);
    t.add("control character in the path", "GET", b"/data\x01stores".as_slice(), &[], "", 400, h);
    t.add("header value with a control character", "GET", "/nope", &[("x-thing", b"a\x01b")], "", 400, h);
    t.add("header name invalid", "GET", "/nope", &[("bad header", b"1")], "", 400, h);
    t.add("content-length not a number", "POST", "/nope", &[("content-length", b"abc")], "", 400, h);
    let mut many = Vec::new();
    for i in 0..120 {
        many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    let mut raw = b"GET /nope HTTP/1.1\r\nhost: t\r\n".to_vec();
    raw.extend_from_slice(&many);
    raw.extend_from_slice(b"\r\n");
    t.raw("120 headers", raw, 431, h);
    t.raw("not HTTP at all", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(), 400, h);
    // hyper closes an HTTP/2 connection without an answer (an HTTP/1.1
    // 400 would be garbage to an HTTP/2 client): status 0 is "closed".
    t.raw("HTTP/2 preface on HTTP/1.1", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 0, h);
    t.cases
}
