//! The real ProfileStore module under Lune (skipped without Lune, see
//! `tests/interop_lune.rs`): it sends no commit notes, so its session's
//! start and end are recorded from its documents alone.

use profilestore::history::LockChangeKind as K;
use profilestore::testing::spawn_test_server;

use super::harness::{lune_setup, run_script};
use super::{kinds, server_of, settled_events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_modules_session_is_started_then_released() {
    let Some(setup) = lune_setup("lock history of the real module") else {
        return;
    };
    let server = spawn_test_server().await;
    let mut script = run_script(&setup, "ps_history", &server.url, &server.api_key, &[]);
    let luau = script.result().await;
    script.finish().await;
    let events = settled_events(&server.history, "HistoryPlayers", "h1").await;
    assert_eq!(kinds(&events), [K::Started, K::Released], "{events:?}");
    for e in &events {
        assert_eq!(server_of(&e.owner), (21, "luau-history"));
        assert_eq!(e.owner.session_id.as_deref(), luau["Session"].as_str());
        assert!(!e.asked_for);
    }
    assert_eq!(
        events[0].load_count,
        luau["LoadCount"].as_u64().expect("a count")
    );
    server.shutdown().await;
}
