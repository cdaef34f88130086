//! The messaging, session API and gateway families.

use super::{bad_bodies, long, Ctx, Table, MSG, SAPI, V1, V2};
use crate::raw::{request, Case, Shape};

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
    // `GET /` leads to the dashboard (a 303 to /ui/); other methods on the
    // root are no endpoint.
    t.add("root, POST", "POST", "/", &[], "{}", 404, g);
    t.add("root, DELETE", "DELETE", "/", &[], "", 404, g);
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
