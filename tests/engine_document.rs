//! The stored document and the session transforms against the fixtures in
//! `fixtures/profiles/`: documents written by the Luau module and by
//! ProfileService load with every field, round-trip, and a save changes
//! only what the spec says it changes.

mod support;

use std::path::PathBuf;

use profilestore::clock::Clock;
use profilestore::datastore::{Transform, WriteOptions};
use profilestore::engine::document::{classify, ProfileDocument, SessionOwner, Stored};
use profilestore::engine::session::{self, SaveOutcome, SaveRequest, StartAttempt, StartOutcome};
use serde_json::{json, Map, Number, Value};
use support::world::World;

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

fn attempt<'a>(me: &'a SessionOwner, template: &'a Value, now_secs: i64) -> StartAttempt<'a> {
    StartAttempt {
        me,
        template,
        now_secs,
        steal: false,
        first_attempt: true,
        steal_ready: false,
        assume_dead_secs: 630.0,
        hold_back: false,
    }
}

#[test]
fn start_creates_a_missing_profile_from_the_template() {
    let me = me("job-a", "g1");
    let template = json!({"Coins": 0, "Inventory": []});
    let (doc, outcome) = session::start(Stored::Missing, &attempt(&me, &template, 1000));
    assert_eq!(
        outcome,
        StartOutcome::Active {
            load_count: 1,
            overwritten: false
        }
    );
    assert_eq!(doc.data, template);
    assert_eq!(doc.meta.profile_create_time, Number::from(1000));
    assert_eq!(doc.meta.active_session.as_ref(), Some(&me));
}

#[test]
fn start_keeps_waiting_messages_and_reports_overwrites() {
    let me = me("job-a", "g1");
    let template = json!({});
    let Stored::MessagesOnly(m) = classify(Some(&fixture("messages_only.json"))) else {
        panic!()
    };
    let (doc, _) = session::start(Stored::MessagesOnly(m), &attempt(&me, &template, 1));
    assert_eq!(
        doc.messages.entries.len(),
        2,
        "messages sent before the profile existed are kept"
    );
    let (doc, outcome) =
        session::start(Stored::Foreign(json!("junk")), &attempt(&me, &template, 1));
    assert_eq!(
        outcome,
        StartOutcome::Active {
            load_count: 1,
            overwritten: true
        }
    );
    assert_eq!(doc.was_overwritten, Some(true));
}

#[test]
fn start_on_a_profile_owned_elsewhere_asks_then_steals() {
    let me = me("job-waiting", "g-new");
    let template = json!({});
    let base = profile("luau_basic.json"); // owned by another job, LastUpdate 1_700_003_600
    let now = 1_700_003_610;
    let (asked, outcome) = session::start(
        Stored::Profile(Box::new(base.clone())),
        &attempt(&me, &template, now),
    );
    match outcome {
        StartOutcome::Waiting { owner, load_count } => {
            assert_eq!(
                owner.session_id.as_deref(),
                Some("A1B2C3D4-E5F6-47A8-99B0-C1D2E3F4A5B6")
            );
            assert_eq!(load_count, 12);
        }
        other => panic!("expected Waiting, got {other:?}"),
    }
    assert_eq!(
        asked
            .meta
            .force_load_session
            .as_ref()
            .map(|f| f.job_id.as_str()),
        Some("job-waiting")
    );
    assert_eq!(asked.meta.session_load_count, 12, "nothing else changes");

    // Later attempts do not write the request again, and steal once ready.
    let later = StartAttempt {
        first_attempt: false,
        ..attempt(&me, &template, now + 10)
    };
    let (_, outcome) = session::start(Stored::Profile(Box::new(asked.clone())), &later);
    assert!(matches!(outcome, StartOutcome::Waiting { .. }));
    let ready = StartAttempt {
        first_attempt: false,
        steal_ready: true,
        ..attempt(&me, &template, now + 45)
    };
    let (stolen, outcome) = session::start(Stored::Profile(Box::new(asked.clone())), &ready);
    assert_eq!(
        outcome,
        StartOutcome::Active {
            load_count: 13,
            overwritten: false
        }
    );
    assert!(stolen.meta.force_load_session.is_none());

    // A third server replaced the request: give up.
    let mut replaced = asked;
    replaced.meta.force_load_session = Some(SessionOwner {
        job_id: "job-third".into(),
        ..me.clone()
    });
    let (_, outcome) = session::start(Stored::Profile(Box::new(replaced)), &ready);
    assert_eq!(outcome, StartOutcome::GiveUp);
}

#[test]
fn start_takes_a_dead_owners_profile_and_honours_steal() {
    let me = me("job-b", "g2");
    let template = json!({});
    let base = profile("luau_basic.json");
    let dead = attempt(&me, &template, 1_700_003_600 + 631);
    assert!(matches!(
        session::start(Stored::Profile(Box::new(base.clone())), &dead).1,
        StartOutcome::Active { .. }
    ));
    let alive = attempt(&me, &template, 1_700_003_600 + 630);
    assert!(matches!(
        session::start(Stored::Profile(Box::new(base.clone())), &alive).1,
        StartOutcome::Waiting { .. }
    ));
    let steal = StartAttempt {
        steal: true,
        ..alive
    };
    assert!(matches!(
        session::start(Stored::Profile(Box::new(base)), &steal).1,
        StartOutcome::Active { .. }
    ));
}

#[test]
fn start_held_back_never_takes() {
    let me = me("job-a", "g1");
    let template = json!({"Coins": 0});
    let held = StartAttempt {
        hold_back: true,
        ..attempt(&me, &template, 5)
    };
    let (doc, outcome) = session::start(Stored::Missing, &held);
    assert_eq!(outcome, StartOutcome::NotTaken);
    assert!(doc.meta.active_session.is_none());
    let (doc, outcome) = session::start(
        Stored::Profile(Box::new(profile("luau_no_session.json"))),
        &held,
    );
    assert_eq!(outcome, StartOutcome::NotTaken);
    assert!(doc.meta.active_session.is_none());
}

#[test]
fn start_by_the_same_server_clears_a_request_and_takes_over() {
    let owner = profile("luau_force_load.json");
    let me = SessionOwner {
        place_id: Number::from(8_123_456_789u64),
        job_id: "job-owner".into(),
        session_id: Some("GUID-NEW".into()),
    };
    let template = json!({});
    let (doc, outcome) = session::start(
        Stored::Profile(Box::new(owner)),
        &attempt(&me, &template, 1_700_000_600),
    );
    assert_eq!(
        outcome,
        StartOutcome::Active {
            load_count: 4,
            overwritten: false
        }
    );
    assert!(doc.meta.force_load_session.is_none());
}

fn save_of<'a>(
    me: &'a SessionOwner,
    fence: u64,
    data: &'a Value,
    meta: &'a Map<String, Value>,
) -> SaveRequest<'a> {
    SaveRequest {
        me,
        fence,
        data,
        roblox_metadata: meta,
        user_ids: &[2_312_310, 7],
        processed: &[6],
        release: false,
        now_secs: 1_700_004_000,
    }
}

#[test]
fn save_is_fenced_by_owner_and_load_count() {
    let owner = SessionOwner {
        place_id: Number::from(8_123_456_789u64),
        job_id: "3f1b9a6e-1111-4a2b-9c3d-5e6f7a8b9c0d".into(),
        session_id: Some("A1B2C3D4-E5F6-47A8-99B0-C1D2E3F4A5B6".into()),
    };
    let data = json!({"Coins": 1});
    let meta = Map::new();
    let doc = profile("luau_basic.json");
    let (written, outcome) = session::save(
        Stored::Profile(Box::new(doc.clone())),
        &save_of(&owner, 12, &data, &meta),
    );
    assert_eq!(outcome, SaveOutcome::Saved { asked_for: false });
    assert!(written.is_some());
    let (none, outcome) = session::save(
        Stored::Profile(Box::new(doc.clone())),
        &save_of(&owner, 11, &data, &meta),
    );
    assert_eq!(
        (none, outcome),
        (None, SaveOutcome::Lost),
        "a moved fence writes nothing"
    );
    let thief = me("3f1b9a6e-1111-4a2b-9c3d-5e6f7a8b9c0d", "OTHER-GUID");
    let (none, outcome) = session::save(
        Stored::Profile(Box::new(doc)),
        &save_of(&thief, 12, &data, &meta),
    );
    assert_eq!(
        (none, outcome),
        (None, SaveOutcome::Lost),
        "another session of the same server"
    );
    let (none, outcome) = session::save(Stored::Missing, &save_of(&owner, 12, &data, &meta));
    assert_eq!((none, outcome), (None, SaveOutcome::Lost));
}

#[test]
fn a_save_sees_a_pending_request_and_a_final_save_releases() {
    let doc = profile("luau_force_load.json");
    let owner = SessionOwner {
        place_id: Number::from(8_123_456_789u64),
        job_id: "job-owner".into(),
        session_id: Some("GUID-OWNER".into()),
    };
    let data = json!({"Coins": 9});
    let meta = Map::new();
    let request = SaveRequest {
        release: true,
        ..save_of(&owner, 3, &data, &meta)
    };
    let (written, outcome) = session::save(Stored::Profile(Box::new(doc)), &request);
    assert_eq!(outcome, SaveOutcome::Saved { asked_for: true });
    let written = written.expect("written");
    assert!(
        written.meta.active_session.is_none(),
        "a final save releases the session"
    );
    assert_eq!(
        written
            .meta
            .force_load_session
            .as_ref()
            .map(|f| f.job_id.as_str()),
        Some("job-waiting")
    );
}

/// A save through the real DataStore layer changes exactly `Data`,
/// `RobloxMetaData`, `UserIds`, `LastUpdate` and the processed message, and
/// passes user ids and metadata to the key.
#[tokio::test]
async fn a_save_writes_the_layout_back_changing_only_what_it_must() {
    let ds = World::new(Clock::system()).data_store("PlayerData", "global");
    let original = fixture("luau_basic.json");
    ds.set("Player_1", &original, &WriteOptions::default())
        .await
        .expect("seed");
    let owner = SessionOwner {
        place_id: Number::from(8_123_456_789u64),
        job_id: "3f1b9a6e-1111-4a2b-9c3d-5e6f7a8b9c0d".into(),
        session_id: Some("A1B2C3D4-E5F6-47A8-99B0-C1D2E3F4A5B6".into()),
    };
    let new_data = json!({"Coins": 1300, "Level": 17});
    let mut meta = Map::new();
    meta.insert("Region".into(), json!("EU"));
    meta.insert("Tier".into(), json!(2));
    let mut outcome = None;
    let entry = ds
        .update("Player_1", |current, _| {
            let (doc, o) = session::save(classify(current), &save_of(&owner, 12, &new_data, &meta));
            outcome = Some(o);
            match doc {
                Some(doc) => Transform::Write {
                    value: doc.to_value(),
                    options: WriteOptions {
                        user_ids: doc.user_ids.clone(),
                        metadata: doc.roblox_metadata.clone(),
                    },
                },
                None => Transform::Cancel,
            }
        })
        .await
        .expect("update")
        .expect("written");
    assert_eq!(outcome, Some(SaveOutcome::Saved { asked_for: false }));
    assert_eq!(entry.info.user_ids, vec![2_312_310, 7]);
    assert_eq!(entry.info.metadata["Tier"], 2);

    let mut expected = original;
    expected["Data"] = new_data;
    expected["RobloxMetaData"] = Value::Object(meta);
    expected["UserIds"] = json!([2_312_310, 7]);
    expected["MetaData"]["LastUpdate"] = json!(1_700_004_000);
    expected["GlobalUpdates"] = json!([7, [[7, "plain text message"]]]);
    let stored = ds
        .get("Player_1")
        .await
        .expect("get")
        .expect("present")
        .value;
    assert_eq!(stored, expected);
}
