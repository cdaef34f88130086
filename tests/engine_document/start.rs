//! The session start decision table.

use profilestore::engine::document::{classify, SessionOwner, Stored};
use profilestore::engine::session::{self, StartAttempt, StartOutcome};
use serde_json::{json, Number, Value};

use super::{fixture, me, profile};

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
