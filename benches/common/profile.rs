//! The sample profile the storage benches write (`benches/storage.rs`,
//! `benches/postgres/update.rs`): one ~1 KiB value shaped like a player
//! profile, and the exact record bytes a plugin stores for it (the raw
//! baselines write those).

use profilestore::plugin_api::codec::encode_record;
use profilestore::plugin_api::{VersionInfo, VersionRecord};
use serde_json::{json, Value};

/// About 1 KiB, shaped like a player profile.
pub(crate) fn sample_value(counter: i64) -> Value {
    json!({
        "Data": {"Coins": counter, "Level": 17, "Inventory": (0..40).map(|i| format!("item-{i:04}")).collect::<Vec<_>>()},
        "MetaData": {"ProfileCreateTime": 1_700_000_000, "SessionLoadCount": 3,
                     "ActiveSession": [1, "job-00000000-0000-0000-0000-000000000000", "guid"],
                     "LastUpdate": 1_700_000_300, "MetaTags": []},
        "RobloxMetaData": [], "UserIds": [2_312_310], "GlobalUpdates": [0, []]
    })
}

/// The record the plugins store for `sample_value(counter)` (the shared
/// codec's bytes), for the raw baselines.
pub(crate) fn raw_bytes(counter: i64) -> Vec<u8> {
    let value = serde_json::to_string(&sample_value(counter)).expect("json");
    encode_record(&VersionRecord {
        info: VersionInfo {
            seq: counter as u64,
            key_created_ms: 1_700_000_000_000,
            created_ms: 1_700_000_000_000,
            deleted: false,
            content_length: value.len() as u64,
        },
        value,
        user_ids: vec![2_312_310],
        metadata: "{}".to_owned(),
    })
}
