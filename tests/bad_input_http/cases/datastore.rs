//! The Open Cloud v1 and v2 DataStore families.

use super::{bad_bodies, long, nested, Ctx, Table, V1, V2};
use crate::raw::{Case, Shape};

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
