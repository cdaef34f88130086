//! The fenced save, on its own and through the real DataStore layer.

use profilestore::clock::Clock;
use profilestore::datastore::{Transform, WriteOptions};
use profilestore::engine::document::{classify, SessionOwner, Stored};
use profilestore::engine::session::{self, SaveOutcome, SaveRequest};
use serde_json::{json, Map, Number, Value};

use super::{fixture, me, profile};
use crate::support::world::World;

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
