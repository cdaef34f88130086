//! The group commit's sizes, as the server's metrics read them: every
//! commit is counted in exactly one group, and concurrent commits share
//! groups.

use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, Durability, EntryId, Expect, NewVersion, StoragePlugin, Supersede,
};
use profilestore_sqlite::SqlitePlugin;

fn commit(key: &str) -> Commit {
    Commit {
        entry: EntryId::new(1, "Players", "global", key),
        expect: Expect::Any,
        now_ms: 1_700_000_000_000,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: "1".to_owned(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    }
}

#[test]
fn every_commit_is_counted_in_one_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin =
        Arc::new(SqlitePlugin::open(&dir.path().join("db"), Durability::Full).expect("open"));
    let before = plugin
        .commit_group_sizes()
        .expect("sqlite groups its commits");
    assert_eq!((before.count, before.sum), (0, 0));
    plugin.commit(&commit("alone")).expect("commit");
    let one = plugin.commit_group_sizes().expect("sizes");
    assert_eq!((one.count, one.sum, one.buckets[0]), (1, 1, 1));
    let threads = 8;
    let each = 20;
    std::thread::scope(|s| {
        for t in 0..threads {
            let plugin = Arc::clone(&plugin);
            s.spawn(move || {
                for i in 0..each {
                    plugin
                        .commit(&commit(&format!("k{t}-{i}")))
                        .expect("commit");
                }
            });
        }
    });
    let all = plugin.commit_group_sizes().expect("sizes");
    assert_eq!(all.sum, 1 + threads * each, "{all:?}");
    assert!(all.count >= 1 && all.count <= all.sum, "{all:?}");
    assert!(all.buckets.windows(2).all(|w| w[0] <= w[1]), "{all:?}");
    assert!(all.buckets.iter().all(|b| *b <= all.count), "{all:?}");
}
