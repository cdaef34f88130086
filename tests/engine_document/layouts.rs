//! Documents in the Luau module's and ProfileService's layouts: loading
//! every field, empty tables, round trips and classification.

use std::path::PathBuf;

use profilestore::engine::document::{classify, Stored};
use serde_json::{json, Number, Value};

use super::{empties_as_lists, fixture, profile};

#[test]
fn luau_document_loads_every_field() {
    let doc = profile("luau_basic.json");
    assert_eq!(doc.data["Coins"], 1250);
    assert_eq!(doc.data["Settings"]["Volume"], 0.75);
    assert_eq!(doc.meta.profile_create_time, Number::from(1_700_000_000));
    assert_eq!(doc.meta.session_load_count, 12);
    assert_eq!(doc.meta.last_update, Number::from(1_700_003_600));
    let owner = doc.meta.active_session.as_ref().expect("owner");
    assert_eq!(owner.place_id, Number::from(8_123_456_789u64));
    assert_eq!(owner.job_id, "3f1b9a6e-1111-4a2b-9c3d-5e6f7a8b9c0d");
    assert_eq!(
        owner.session_id.as_deref(),
        Some("A1B2C3D4-E5F6-47A8-99B0-C1D2E3F4A5B6")
    );
    assert!(doc.meta.force_load_session.is_none());
    assert_eq!(doc.roblox_metadata["Region"], "EU");
    assert_eq!(doc.user_ids, vec![2_312_310]);
    assert_eq!(doc.messages.last_index, 7);
    let indices: Vec<u64> = doc.messages.entries.iter().map(|e| e.index()).collect();
    assert_eq!(indices, vec![6, 7]);
    assert_eq!(
        doc.messages.entries[0].payload(),
        &json!({"Type": "Gift", "Item": "Hat"})
    );
    assert_eq!(
        doc.messages.entries[1].payload(),
        &json!("plain text message")
    );
    assert_eq!(doc.was_overwritten, Some(false));
}

#[test]
fn force_load_request_loads() {
    let doc = profile("luau_force_load.json");
    let asker = doc.meta.force_load_session.as_ref().expect("asker");
    assert_eq!(asker.job_id, "job-waiting");
    assert_eq!(asker.session_id, None);
}

#[test]
fn profileservice_document_loads_unchanged() {
    let raw = fixture("profileservice_legacy.json");
    let doc = profile("profileservice_legacy.json");
    let owner = doc.meta.active_session.as_ref().expect("owner");
    assert_eq!(
        (owner.job_id.as_str(), owner.session_id.as_deref()),
        ("legacy-job-id", None)
    );
    assert_eq!(
        doc.meta.meta_tags,
        json!({"ProfileCreated": true, "Version": 3})
    );
    assert_eq!(doc.messages.entries.len(), 2);
    assert_eq!(doc.messages.entries[0].index(), 2);
    assert_eq!(
        doc.messages.entries[0].payload(),
        &json!({"Type": "AdminGift", "Cash": 50})
    );
    assert_eq!(
        doc.messages.entries[1].payload(),
        &json!("locked legacy update")
    );
    assert_eq!(
        doc.was_overwritten, None,
        "ProfileService wrote no WasOverwritten"
    );
    assert_eq!(
        doc.to_value(),
        empties_as_lists(&raw),
        "written back in its own shape"
    );
}

#[test]
fn luau_empty_tables_are_read_both_ways_and_written_as_lists() {
    let raw = fixture("luau_empty_tables.json");
    let doc = profile("luau_empty_tables.json");
    assert_eq!(doc.data, json!({}));
    assert!(doc.user_ids.is_empty());
    assert!(doc.messages.entries.is_empty());
    assert!(doc.roblox_metadata.is_empty());
    let written = doc.to_value();
    assert_eq!(written, empties_as_lists(&raw));
    assert_eq!(written["UserIds"], json!([]));
    assert_eq!(written["GlobalUpdates"], json!([0, []]));
}

#[test]
fn luau_documents_round_trip() {
    for name in [
        "luau_basic.json",
        "luau_force_load.json",
        "luau_no_session.json",
    ] {
        let raw = fixture(name);
        assert_eq!(profile(name).to_value(), empties_as_lists(&raw), "{name}");
    }
}

#[test]
fn messages_only_and_malformed_documents_are_classified() {
    match classify(Some(&fixture("messages_only.json"))) {
        Stored::MessagesOnly(m) => {
            assert_eq!(m.last_index, 2);
            assert_eq!(m.entries[1].payload()["Gems"], 10);
        }
        other => panic!("expected messages only, got {other:?}"),
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/profiles/malformed");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("malformed dir") {
        let path = entry.expect("entry").path();
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert!(
            matches!(classify(Some(&value)), Stored::Foreign(_)),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 6);
}
