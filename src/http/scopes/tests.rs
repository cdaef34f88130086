//! The scope grammar and the permission decision.

use super::*;

fn scope(text: &str) -> Scope {
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn need(family: Family, method: &Method, rest: &str, store: Option<&str>) -> Permission {
    required(family, method, rest, 123, store)
}

#[test]
fn the_permission_of_a_request_follows_its_family_method_and_store() {
    let p = need(
        Family::DataStoresV1,
        &Method::GET,
        "/standard-datastores/datastore/entries/entry",
        Some("Leaderboard"),
    );
    assert_eq!(p.to_string(), "universe:123/datastore:Leaderboard:read");
    let p = need(
        Family::DataStoresV1,
        &Method::GET,
        "/standard-datastores",
        None,
    );
    assert_eq!(p.to_string(), "universe:123/datastore:*:read");
    let p = need(
        Family::DataStoresV2,
        &Method::POST,
        "/data-stores/S/entries/k:increment",
        Some("S"),
    );
    assert_eq!(p.to_string(), "universe:123/datastore:S:write");
    let p = need(
        Family::Engine,
        &Method::POST,
        "/ordered-data-stores/S/scopes/g/entries:batchGet",
        Some("S"),
    );
    assert_eq!(p.to_string(), "universe:123/engine:read");
    let p = need(
        Family::Engine,
        &Method::GET,
        "/profiles/Players/u1/lock-history",
        Some("Players"),
    );
    assert_eq!(p.to_string(), "universe:123/datastore:Players:read");
    let p = need(
        Family::Memory,
        &Method::GET,
        "/memory-store/queues/q/items:read",
        None,
    );
    assert_eq!(
        p.to_string(),
        "universe:123/memory-store:write",
        "a queue read hides items"
    );
    let p = need(Family::Messaging, &Method::POST, "/topics/t", None);
    assert_eq!(p.to_string(), "universe:123/messaging:publish");
    let p = need(Family::Messaging, &Method::GET, "/topics/t/messages", None);
    assert_eq!(p.to_string(), "universe:123/messaging:subscribe");
    let p = need(Family::Sessions, &Method::GET, "/events", None);
    assert_eq!(p.to_string(), "universe:123/session:write");
    assert_eq!(
        need(Family::Emulator, &Method::GET, "/clock", None),
        Permission::Emulator
    );
}

#[test]
fn scopes_grant_exactly_what_they_name() {
    let read_lb = scope("universe:123/datastore:Leaderboard:read");
    let lb = |access| Permission::In {
        universe: 123,
        resource: Resource::DataStore(Some("Leaderboard".into())),
        access,
    };
    assert!(read_lb.grants(&lb(Access::Read)));
    assert!(!read_lb.grants(&lb(Access::Write)));
    let other_store = Permission::In {
        universe: 123,
        resource: Resource::DataStore(Some("Other".into())),
        access: Access::Read,
    };
    assert!(!read_lb.grants(&other_store));
    let all_stores = Permission::In {
        universe: 123,
        resource: Resource::DataStore(None),
        access: Access::Read,
    };
    assert!(
        !read_lb.grants(&all_stores),
        "listing stores needs datastore:*"
    );
    assert!(scope("universe:123/datastore:*:read").grants(&all_stores));
    assert!(!read_lb.grants(&Permission::Emulator));
    let elsewhere = Permission::In {
        universe: 9,
        resource: Resource::DataStore(Some("Leaderboard".into())),
        access: Access::Read,
    };
    assert!(!read_lb.grants(&elsewhere));
    assert!(scope("universe:*/datastore:Leaderboard:*").grants(&elsewhere));
    assert!(scope("universe:9/*").grants(&elsewhere));
    assert!(scope("*").grants(&elsewhere) && scope("*").grants(&Permission::Emulator));
    assert!(scope("emulator").grants(&Permission::Emulator));
    assert!(!scope("emulator").grants(&elsewhere));
    let ordered = Permission::In {
        universe: 123,
        resource: Resource::Ordered(Some("Leaderboard".into())),
        access: Access::Read,
    };
    assert!(
        !read_lb.grants(&ordered),
        "ordered stores are their own kind"
    );
    assert!(scope("universe:123/ordered-datastore:Leaderboard:read").grants(&ordered));
}

#[test]
fn scopes_outside_the_grammar_are_refused_with_the_reason() {
    for (text, reason) in [
        ("universe:abc/*", "not a number"),
        ("universe:1", "followed by `/`"),
        ("universe:1/datastore:S:delete", "`read`, `write` or `*`"),
        ("universe:1/datastore::read", "empty"),
        ("universe:1/messaging:read", "publish"),
        ("universe:1/session:read", "session:write"),
        ("universe:1/bogus:read", "unknown kind"),
        ("datastore:S:read", "universe:"),
    ] {
        let e = text.parse::<Scope>().expect_err(text);
        let message = e.to_string();
        assert!(
            message.contains(text) && message.contains(reason),
            "{message}"
        );
    }
}

#[test]
fn identify_finds_the_key_or_refuses() {
    let scoped = vec![
        ScopedKey::new("a", "key-a", &["emulator"]).expect("scopes"),
        ScopedKey::new("b", "key-b", &["universe:1/*"]).expect("scopes"),
    ];
    let plain = vec!["root".to_owned()];
    let with = |key: &str| {
        let mut h = HeaderMap::new();
        h.insert(headers::API_KEY, key.parse().expect("header"));
        h
    };
    assert!(matches!(
        identify(&with("root"), &plain, &scoped),
        Some(Caller::Full)
    ));
    match identify(&with("key-b"), &plain, &scoped) {
        Some(Caller::Scoped(k)) => assert_eq!(k.name, "b"),
        other => panic!("{other:?}"),
    }
    assert!(identify(&with("nope"), &plain, &scoped).is_none());
    assert!(identify(&HeaderMap::new(), &plain, &scoped).is_none());
    assert!(matches!(
        identify(&HeaderMap::new(), &[], &[]),
        Some(Caller::Open)
    ));
    assert!(
        !format!("{:?}", scoped[0]).contains("key-a"),
        "the key is a secret"
    );
}
