//! Unit tests of the lock history's rules.

use std::time::Duration;

use serde_json::json;

use super::*;

const RULES: Rules = Rules {
    assume_dead: Duration::from_secs(630),
    handoff_window: Duration::from_secs(60),
};
const T: i64 = 1_700_000_000_000;

fn owner(job: &str) -> LockOwner {
    LockOwner {
        place_id: 7,
        job_id: job.into(),
        session_id: Some(format!("S-{job}")),
    }
}

fn held(job: &str, load_count: u64, last_update_ms: i64) -> Lock {
    Lock {
        owner: Some(owner(job)),
        load_count,
        last_update_secs: (last_update_ms / 1000) as f64,
        force_load: None,
    }
}

fn free(load_count: u64) -> Lock {
    Lock {
        load_count,
        ..Lock::default()
    }
}

fn commit(before: Lock, after: Lock, note: Option<CommitNote>) -> Commit {
    Commit {
        before: Before::Known(before),
        after,
        note,
        time_ms: T,
    }
}

fn change(outcome: Outcome) -> Change {
    match outcome {
        Outcome::Change(c) => c,
        other => panic!("expected a change, got {other:?}"),
    }
}

fn event(kind: LockChangeKind, job: &str, time_ms: i64, asked_for: bool) -> LockEvent {
    LockEvent {
        kind,
        universe: 1,
        store: "S".into(),
        scope: "global".into(),
        key: "k".into(),
        owner: owner(job),
        load_count: 1,
        time_ms,
        time: String::new(),
        previous: None,
        asked_for,
    }
}

#[test]
fn reads_the_lock_of_a_profile_and_nothing_else() {
    let doc = json!({"Data": {"Coins": 1}, "MetaData": {"SessionLoadCount": 3,
        "ActiveSession": [7, "job-a", "S-job-a"], "ForceLoadSession": [7, "job-b"],
        "LastUpdate": 1_700_000_000}, "GlobalUpdates": [0, []]});
    let lock = Lock::read(&doc.to_string()).expect("a profile");
    assert_eq!(lock.owner, Some(owner("job-a")));
    assert_eq!(lock.load_count, 3);
    assert_eq!(lock.last_update_secs, 1_700_000_000.0);
    assert_eq!(lock.force_load.map(|f| f.job_id), Some("job-b".to_owned()));
    for other in [
        json!({"MetaData": {}}),
        json!({"Data": {}}),
        json!({"Data": {}, "MetaData": 3}),
        json!("MetaData"),
        json!([1, 2]),
    ] {
        assert_eq!(Lock::read(&other.to_string()), None, "{other}");
    }
}

#[test]
fn a_take_of_a_free_profile_is_a_start() {
    let c = change(classify(
        &commit(free(0), held("a", 1, T), None),
        None,
        &RULES,
    ));
    assert_eq!(c.kind, LockChangeKind::Started);
    assert_eq!((c.owner, c.load_count, c.previous), (owner("a"), 1, None));
}

#[test]
fn a_save_by_the_owner_is_no_event() {
    let outcome = classify(
        &commit(held("a", 1, T), held("a", 1, T), None),
        None,
        &RULES,
    );
    assert_eq!(
        outcome,
        Outcome::Saved {
            owner: owner("a"),
            load_count: 1
        }
    );
    assert_eq!(
        classify(&commit(free(1), free(1), None), None, &RULES),
        Outcome::Nothing
    );
}

#[test]
fn a_release_is_released_or_ended_by_shutdown_by_its_note() {
    let c = change(classify(
        &commit(held("a", 1, T), free(1), None),
        None,
        &RULES,
    ));
    assert_eq!((c.kind, c.asked_for), (LockChangeKind::Released, false));
    assert_eq!(c.owner, owner("a"));
    let note = Some(CommitNote::Shutdown);
    let c = change(classify(
        &commit(held("a", 1, T), free(1), note),
        None,
        &RULES,
    ));
    assert_eq!(c.kind, LockChangeKind::EndedByShutdown);
    let note = Some(CommitNote::HandedOff);
    let c = change(classify(
        &commit(held("a", 1, T), free(1), note),
        None,
        &RULES,
    ));
    assert_eq!((c.kind, c.asked_for), (LockChangeKind::Released, true));
}

#[test]
fn a_release_with_another_server_waiting_was_asked_for() {
    let mut after = free(1);
    after.force_load = Some(LockOwner {
        session_id: None,
        ..owner("b")
    });
    let c = change(classify(
        &commit(held("a", 1, T), after, None),
        None,
        &RULES,
    ));
    assert_eq!((c.kind, c.asked_for), (LockChangeKind::Released, true));
}

#[test]
fn a_take_by_the_server_that_asked_is_a_handoff() {
    let mut before = free(1);
    before.force_load = Some(LockOwner {
        session_id: None,
        ..owner("b")
    });
    let last = event(LockChangeKind::Released, "a", T - 5_000, true);
    let c = change(classify(
        &commit(before.clone(), held("b", 2, T), None),
        Some(&last),
        &RULES,
    ));
    assert_eq!(c.kind, LockChangeKind::HandedOff);
    assert_eq!(c.previous, Some(owner("a")));
    // Without a recorded release: still a handoff, previous unknown.
    let c = change(classify(
        &commit(before, held("b", 2, T), None),
        None,
        &RULES,
    ));
    assert_eq!((c.kind, c.previous), (LockChangeKind::HandedOff, None));
}

#[test]
fn a_take_soon_after_an_asked_for_release_is_a_handoff_within_the_window() {
    let take = commit(free(1), held("b", 2, T), None);
    let recent = event(LockChangeKind::Released, "a", T - 60_000, true);
    let c = change(classify(&take, Some(&recent), &RULES));
    assert_eq!(
        (c.kind, c.previous),
        (LockChangeKind::HandedOff, Some(owner("a")))
    );
    let old = event(LockChangeKind::Released, "a", T - 60_001, true);
    assert_eq!(
        change(classify(&take, Some(&old), &RULES)).kind,
        LockChangeKind::Started
    );
    let unasked = event(LockChangeKind::Released, "a", T - 1_000, false);
    assert_eq!(
        change(classify(&take, Some(&unasked), &RULES)).kind,
        LockChangeKind::Started
    );
}

#[test]
fn a_direct_take_is_stolen_or_assumed_dead_by_the_owners_last_update() {
    let recent = held("a", 1, T - 630_000);
    let c = change(classify(
        &commit(recent, held("b", 2, T), None),
        None,
        &RULES,
    ));
    assert_eq!(
        (c.kind, c.previous),
        (LockChangeKind::Stolen, Some(owner("a")))
    );
    let dead = held("a", 1, T - 631_000);
    let c = change(classify(&commit(dead, held("b", 2, T), None), None, &RULES));
    assert_eq!(
        (c.kind, c.previous),
        (LockChangeKind::AssumedDead, Some(owner("a")))
    );
}

#[test]
fn the_same_owner_with_a_new_load_count_is_a_new_session() {
    let c = change(classify(
        &commit(held("a", 1, T), held("a", 2, T), None),
        None,
        &RULES,
    ));
    assert_eq!(c.kind, LockChangeKind::Stolen);
    assert_eq!(c.load_count, 2);
}

#[test]
fn an_unknown_before_is_the_last_recorded_owner() {
    let taken = event(LockChangeKind::Started, "a", T - 1_000, false);
    let blind = Commit {
        before: Before::Unknown,
        after: free(1),
        note: None,
        time_ms: T,
    };
    let c = change(classify(&blind, Some(&taken), &RULES));
    assert_eq!((c.kind, c.owner), (LockChangeKind::Released, owner("a")));
    let released = event(LockChangeKind::Released, "a", T - 1_000, false);
    assert_eq!(classify(&blind, Some(&released), &RULES), Outcome::Nothing);
    let over = Commit {
        after: held("b", 2, T),
        ..blind
    };
    let c = change(classify(&over, Some(&taken), &RULES));
    assert_eq!(
        (c.kind, c.previous),
        (LockChangeKind::Stolen, Some(owner("a")))
    );
}
