//! The stored document and the session transforms against the fixtures in
//! `fixtures/profiles/`: documents written by the Luau module and by
//! ProfileService load with every field, round-trip, and a save changes
//! only what the spec says it changes. `layouts` holds the documents,
//! `start` and `save` the session transforms; the fixture helpers are here.

#[path = "../support/mod.rs"]
mod support;

mod layouts;
mod save;
mod start;

use std::path::PathBuf;

use profilestore::engine::document::{classify, ProfileDocument, SessionOwner, Stored};
use serde_json::{json, Number, Value};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/profiles")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn profile(name: &str) -> ProfileDocument {
    match classify(Some(&fixture(name))) {
        Stored::Profile(doc) => *doc,
        other => panic!("{name} should be a profile, got {other:?}"),
    }
}

/// Roblox writes every empty table as `[]`.
fn empties_as_lists(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.is_empty() => json!([]),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), empties_as_lists(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(empties_as_lists).collect()),
        other => other.clone(),
    }
}

fn me(job: &str, guid: &str) -> SessionOwner {
    SessionOwner {
        place_id: Number::from(8_123_456_789u64),
        job_id: job.to_owned(),
        session_id: Some(guid.to_owned()),
    }
}
