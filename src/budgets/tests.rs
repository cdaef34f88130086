//! The limits themselves, on a manual clock.

use super::*;
use crate::clock::ManualClock;

const U: u64 = 7;

fn on(users: u64) -> (Budgets, ManualClock) {
    let (clock, hand) = Clock::manual(1_000_000);
    let b = Budgets::new(clock, Settings::default());
    b.set(
        U,
        Settings {
            enabled: true,
            concurrent_users: users,
        },
    );
    (b, hand)
}

fn write() -> Charge {
    Charge::new(Api::SetAsync, &[RequestType::StandardWrite])
}

fn read() -> Charge {
    Charge::new(Api::GetAsync, &[RequestType::StandardRead])
}

fn server(players: u64) -> Caller {
    Caller::GameServer {
        job: "job-1".into(),
        players,
    }
}

/// How many of `n` Open Cloud requests of `charge` are admitted at once.
async fn admitted(b: &Budgets, charge: &Charge, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        if b.acquire(U, &Caller::OpenCloud, charge).await.is_ok() {
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn open_cloud_experience_write_limit_is_300_a_minute_and_refills() {
    let (b, hand) = on(0);
    assert_eq!(admitted(&b, &write(), 301).await, 300);
    let e = b
        .acquire(U, &Caller::OpenCloud, &write())
        .await
        .unwrap_err();
    assert_eq!(e, Throttled::OpenCloud(RequestType::StandardWrite));
    assert!(e
        .to_string()
        .starts_with("StandardWriteExperienceThrottled: The standard write"));
    hand.advance_ms(1_000); // 300 a minute: 5 a second
    assert_eq!(admitted(&b, &write(), 10).await, 5);
    hand.advance_ms(600_000); // refills to the cap only
    assert_eq!(admitted(&b, &write(), 400).await, 300);
}

#[tokio::test]
async fn experience_limits_scale_with_concurrent_users_per_type() {
    let (b, _hand) = on(10);
    assert_eq!(admitted(&b, &write(), 1000).await, 300 + 10 * 20);
    assert_eq!(admitted(&b, &read(), 1000).await, 300 + 10 * 40);
    let list = Charge::new(Api::ListKeysAsync, &[RequestType::StandardList]);
    assert_eq!(admitted(&b, &list, 1000).await, 300 + 10 * 2);
    let ordered = Charge::new(Api::SetAsync, &[RequestType::OrderedWrite]);
    assert_eq!(
        admitted(&b, &ordered, 1000).await,
        300 + 10 * 20,
        "ordered has its own"
    );
}

#[tokio::test]
async fn off_budgets_admit_everything_and_universes_are_separate() {
    let (b, _hand) = on(0);
    assert_eq!(admitted(&b, &write(), 300).await, 300);
    for _ in 0..1000 {
        b.acquire(U + 1, &Caller::OpenCloud, &write())
            .await
            .unwrap();
    }
    b.set(U, Settings::default());
    assert_eq!(admitted(&b, &write(), 1000).await, 1000);
    b.set(
        U,
        Settings {
            enabled: true,
            concurrent_users: 0,
        },
    );
    assert_eq!(
        admitted(&b, &write(), 301).await,
        300,
        "afresh when turned on"
    );
}

#[tokio::test]
async fn update_async_takes_from_read_and_write() {
    let (b, _hand) = on(0);
    let update = Charge::new(
        Api::UpdateAsync,
        &[RequestType::StandardRead, RequestType::StandardWrite],
    );
    assert_eq!(admitted(&b, &update, 100).await, 100);
    let r = b.report(U, None);
    let left = |t| r.experience.iter().find(|(k, _)| *k == t).unwrap().1;
    assert_eq!(left(RequestType::StandardRead), 200);
    assert_eq!(left(RequestType::StandardWrite), 200);
}

#[tokio::test(start_paused = true)]
async fn a_game_server_gets_60_plus_40_per_player_then_queues_30_then_drops() {
    let (b, hand) = on(100);
    let caller = server(2);
    // The startup burst: one minute of 60 + 40 × 2.
    for _ in 0..140 {
        b.acquire(U, &caller, &read()).await.unwrap();
    }
    let mut waiting = Vec::new();
    for _ in 0..30 {
        let (b, caller) = (b.clone(), caller.clone());
        waiting.push(tokio::spawn(
            async move { b.acquire(U, &caller, &read()).await },
        ));
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(b.queued(U, "job-1", Queue::Get), 30);
    let e = b.acquire(U, &caller, &read()).await.unwrap_err();
    assert_eq!(e.to_string(), "301: GetAsync request dropped. Request was throttled but queue was full. (StandardReadGameServerThrottled: `StandardRead` request was throttled by game server limits or the request queue was full.)");
    // Other queues are not full: a write still goes through.
    b.acquire(U, &caller, &write()).await.unwrap();
    // 140 a minute: one every ~0.43 s; 3 s lets 7 out, in order.
    hand.advance_ms(3_000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done: Vec<bool> = waiting.iter().map(|h| h.is_finished()).collect();
    assert_eq!(done.iter().filter(|d| **d).count(), 7);
    assert!(
        done[..7].iter().all(|d| *d),
        "first in, first out: {done:?}"
    );
    hand.advance_ms(60_000);
    for h in waiting {
        h.await.unwrap().unwrap();
    }
    assert_eq!(b.queued(U, "job-1", Queue::Get), 0);
}

#[tokio::test(start_paused = true)]
async fn list_and_ordered_write_server_limits_follow_the_doc() {
    let (b, _hand) = on(100);
    let caller = server(1);
    let try_now = |charge: Charge| {
        let (b, caller) = (b.clone(), caller.clone());
        async move {
            let mut n = 0;
            while b.report(U, Some(("job-1", 1))).remaining[charge.kind().index()].1 > 0 {
                b.acquire(U, &caller, &charge).await.unwrap();
                n += 1;
            }
            n
        }
    };
    let list = Charge::new(Api::ListKeysAsync, &[RequestType::StandardList]);
    assert_eq!(try_now(list).await, 5 + 2);
    let ordered = Charge::new(Api::SetAsync, &[RequestType::OrderedWrite]);
    assert_eq!(try_now(ordered).await, 30 + 5);
    let version = Charge::new(Api::RemoveVersionAsync, &[RequestType::RemoveVersion]);
    assert_eq!(try_now(version).await, 5 + 2);
}

#[tokio::test(start_paused = true)]
async fn a_game_server_is_also_held_to_the_shared_experience_limit() {
    let (b, _hand) = on(0);
    assert_eq!(admitted(&b, &write(), 250).await, 250);
    let caller = server(10); // 460 a minute of its own
    for _ in 0..50 {
        b.acquire(U, &caller, &write()).await.unwrap();
    }
    let e = b.acquire(U, &caller, &write()).await.unwrap_err();
    assert_eq!(e, Throttled::Experience(RequestType::StandardWrite));
    assert_eq!(e.to_string(), "StandardWriteExperienceThrottled: `StandardWrite` request was throttled by experience limits.");
    assert_eq!(admitted(&b, &write(), 1).await, 0, "Open Cloud shares it");
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_stops_waiting_leaves_its_queue() {
    let (b, _hand) = on(0);
    let caller = server(0);
    for _ in 0..60 {
        b.acquire(U, &caller, &write()).await.unwrap();
    }
    let (b2, c2) = (b.clone(), caller.clone());
    let h = tokio::spawn(async move { b2.acquire(U, &c2, &write()).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(b.queued(U, "job-1", Queue::Set), 1);
    h.abort();
    let _ = h.await;
    assert_eq!(b.queued(U, "job-1", Queue::Set), 0);
}

#[tokio::test(start_paused = true)]
async fn turning_budgets_off_releases_waiting_requests() {
    let (b, _hand) = on(0);
    let caller = server(0);
    for _ in 0..60 {
        b.acquire(U, &caller, &write()).await.unwrap();
    }
    let (b2, c2) = (b.clone(), caller.clone());
    let h = tokio::spawn(async move { b2.acquire(U, &c2, &write()).await });
    tokio::time::sleep(Duration::from_millis(1)).await;
    b.set(U, Settings::default());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.is_finished());
    h.await.unwrap().unwrap();
}

#[tokio::test]
async fn per_key_write_throughput_is_4_mb_a_minute_rounded_up_to_kb() {
    let (b, hand) = on(1000);
    let mb = |key: &str| write().on_key("store/global", key, 1024 * 1024, 1024 * 1024);
    for _ in 0..4 {
        b.acquire(U, &Caller::OpenCloud, &mb("k")).await.unwrap();
    }
    let e = b
        .acquire(U, &Caller::OpenCloud, &mb("k"))
        .await
        .unwrap_err();
    assert_eq!(e, Throttled::Key);
    assert_eq!(
        e.to_string(),
        "KeyThrottled: The request rate exceeds the allowed maximum for the key."
    );
    b.acquire(U, &Caller::OpenCloud, &mb("other"))
        .await
        .unwrap();
    // 1 byte counts as a whole kilobyte: the window is full to the byte.
    let tiny = write().on_key("store/global", "k", 0, 1);
    assert_eq!(
        b.acquire(U, &Caller::OpenCloud, &tiny).await,
        Err(Throttled::Key)
    );
    hand.advance_ms(60_000);
    b.acquire(U, &Caller::OpenCloud, &mb("k")).await.unwrap();
}

#[tokio::test]
async fn per_key_read_throughput_is_25_mb_a_minute() {
    let (b, _hand) = on(1000);
    let mb = read().on_key("s", "k", 1024 * 1024, 0);
    for _ in 0..25 {
        b.acquire(U, &Caller::OpenCloud, &mb).await.unwrap();
    }
    assert_eq!(
        b.acquire(U, &Caller::OpenCloud, &mb).await,
        Err(Throttled::Key)
    );
}

#[test]
fn memory_store_request_units_are_1000_plus_120_per_user_a_minute() {
    let (b, hand) = on(0);
    for _ in 0..1000 {
        b.memory_units(U, 1).unwrap();
    }
    let e = b.memory_units(U, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TotalRequestsOverLimit: Exceeds universe-level request unit limit."
    );
    hand.advance_ms(6_000); // 100 units
    b.memory_units(U, 100).unwrap();
    assert!(b.memory_units(U, 1).is_err());
    b.set(
        U,
        Settings {
            enabled: true,
            concurrent_users: 5,
        },
    );
    hand.advance_ms(60_000);
    assert_eq!(b.report(U, None).memory_units, 1000 + 5 * 120);
    assert!(b.memory_units(U + 1, 1_000_000).is_ok(), "off elsewhere");
}

#[test]
fn a_refused_request_uses_nothing() {
    let (b, _hand) = on(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let update = Charge::new(
        Api::UpdateAsync,
        &[RequestType::StandardRead, RequestType::StandardWrite],
    );
    rt.block_on(async {
        assert_eq!(admitted(&b, &write(), 300).await, 300);
        assert!(b.acquire(U, &Caller::OpenCloud, &update).await.is_err());
    });
    let r = b.report(U, None);
    assert_eq!(r.experience[RequestType::StandardRead.index()].1, 300);
}

#[test]
fn drop_messages_carry_roblox_codes() {
    let cases = [
        (Api::SetAsync, "302: SetAsync"),
        (Api::IncrementAsync, "303: IncrementAsync"),
        (Api::UpdateAsync, "304: UpdateAsync"),
        (Api::GetSortedAsync, "305: GetSorted"),
        (Api::RemoveAsync, "306: RemoveAsync"),
        (
            Api::ListKeysAsync,
            "ListKeysAsyncThrottle: ListKeysAsync request dropped. Request was throttled.",
        ),
    ];
    for (api, start) in cases {
        assert!(api.dropped_message().starts_with(start), "{api:?}");
    }
}
