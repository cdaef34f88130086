use super::*;
use crate::clock::Clock;
use crate::datastore::observe::{Committed, Previous};

fn profile(job: &str, load: u64) -> String {
    serde_json::json!({"Data": {}, "MetaData": {"SessionLoadCount": load,
        "ActiveSession": [1, job], "LastUpdate": 1_700_000_000}})
    .to_string()
}

fn commit(history: &LockHistory, key: &str, value: &str, seq: u64) {
    history.committed(&Committed {
        universe: 1,
        store: "S",
        scope: "global",
        key,
        previous: Previous::Absent,
        value: Some(value),
        version: "v",
        seq,
        time_ms: 1_000,
        note: None,
    });
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_and_shutdown_drains_the_rest() {
    let storage = Storage::new(Arc::new(profilestore_memory::MemoryPlugin::new()));
    let history = LockHistory::new(
        Some(storage),
        Clock::manual(1_000).0,
        HistoryConfig::default(),
    );
    let value = profile("job-a", 1);
    // No recorder yet: the queue fills up, then commits are dropped.
    for i in 0..QUEUE + 3 {
        commit(&history, &format!("k{i}"), &value, 1);
    }
    assert_eq!(history.dropped(), 3);
    let receiver = history.inner.receiver.lock().take().expect("not started");
    let me = history.clone();
    history.inner.tracker.spawn(recorder::run(me, receiver));
    history.shutdown().await;
    // Everything queued before the shutdown was recorded, the dropped not.
    let kept = history.events(1, "S", "global", "k0").await.expect("read");
    assert_eq!(kinds(&kept), [LockChangeKind::Started]);
    let last = format!("k{}", QUEUE - 1);
    let kept = history.events(1, "S", "global", &last).await.expect("read");
    assert_eq!(kinds(&kept), [LockChangeKind::Started]);
    let dropped = format!("k{}", QUEUE);
    assert!(history
        .events(1, "S", "global", &dropped)
        .await
        .expect("read")
        .is_empty());
    assert_eq!(
        history.counts().iter().map(|(_, n)| n).sum::<u64>(),
        QUEUE as u64
    );
    // A commit after the shutdown is neither queued nor waited for.
    commit(&history, "late", &value, 1);
    history.settled().await;
    assert_eq!(history.dropped(), 3);
}

fn kinds(events: &[LockEvent]) -> Vec<LockChangeKind> {
    events.iter().map(|e| e.kind).collect()
}
