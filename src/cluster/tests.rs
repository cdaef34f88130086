//! Membership, homes and the shared clock on simulated time (paused
//! tokio clock, one memory plugin shared by every node).

use std::sync::Arc;
use std::time::Duration;

use super::*;

const LEASE: Duration = Duration::from_secs(9);

fn plugin() -> Storage {
    Storage::new(Arc::new(profilestore_memory::MemoryPlugin::new()))
}

fn node(storage: &Storage, id: &str) -> Cluster {
    let config = ClusterConfig {
        node_id: id.to_owned(),
        advertise_url: format!("http://{id}.invalid"),
        lease: LEASE,
    };
    let time = Clock::tokio(1_000_000);
    Cluster::new(
        storage.clone(),
        config,
        time.clone(),
        Clock::adjustable_on(time),
    )
}

fn ids(nodes: &[NodeInfo]) -> Vec<&str> {
    nodes.iter().map(|n| n.id.as_str()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_keeps_a_node_live_for_one_lease() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    a.heartbeat().await.expect("beat");
    b.heartbeat().await.expect("beat");
    assert_eq!(ids(&a.nodes().await.expect("nodes")), ["a", "b"]);
    tokio::time::advance(LEASE - Duration::from_millis(1)).await;
    b.heartbeat().await.expect("beat");
    tokio::time::advance(Duration::from_millis(2)).await;
    assert_eq!(ids(&b.nodes().await.expect("nodes")), ["b"]);
    assert!(b.node("a").await.expect("read").is_none());
    assert_eq!(
        b.node("b").await.expect("read").expect("live").url,
        "http://b.invalid"
    );
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_task_renews_until_halted() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    a.spawn().await.expect("join");
    for _ in 0..5 {
        tokio::time::sleep(LEASE).await;
        assert!(b.node("a").await.expect("read").is_some(), "renewed");
    }
    a.halt();
    tokio::time::sleep(LEASE + Duration::from_millis(1)).await;
    assert!(b.node("a").await.expect("read").is_none(), "expired");
}

#[tokio::test(start_paused = true)]
async fn homes_are_claimed_once_and_adopted_from_dead_nodes_only() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    a.heartbeat().await.expect("beat");
    b.heartbeat().await.expect("beat");
    let here = Home::Here { adopted_from: None };
    assert_eq!(a.home(1, "job").await.expect("home"), here);
    assert_eq!(a.home(1, "job").await.expect("home"), here);
    match b.home(1, "job").await.expect("home") {
        Home::Elsewhere(n) => assert_eq!(n.id, "a"),
        other => panic!("expected a's home, got {other:?}"),
    }
    // Another universe's game server of the same job is another home.
    assert_eq!(b.home(2, "job").await.expect("home"), here);
    // a stops beating: after its lease b adopts its game server.
    tokio::time::advance(LEASE).await;
    b.heartbeat().await.expect("beat");
    assert_eq!(
        b.home(1, "job").await.expect("home"),
        Home::Here {
            adopted_from: Some("a".into())
        }
    );
    // a comes back: the game server stays with b.
    a.heartbeat().await.expect("beat");
    assert!(matches!(a.home(1, "job").await.expect("home"), Home::Elsewhere(n) if n.id == "b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claims_have_one_winner() {
    // Real threads and the system clock: the claims really interleave.
    let storage = plugin();
    let nodes: Vec<Cluster> = (0..4)
        .map(|i| {
            let config = ClusterConfig {
                node_id: format!("n{i}"),
                advertise_url: format!("http://n{i}.invalid"),
                lease: Duration::from_secs(600),
            };
            Cluster::new(
                storage.clone(),
                config,
                Clock::system(),
                Clock::adjustable(),
            )
        })
        .collect();
    for n in &nodes {
        n.heartbeat().await.expect("beat");
    }
    let tasks: Vec<_> = nodes
        .iter()
        .map(|n| {
            let n = n.clone();
            tokio::spawn(async move {
                let mut won = Vec::new();
                for job in 0..200 {
                    if let Home::Here { .. } = n.home(7, &job.to_string()).await.expect("home") {
                        won.push(job);
                    }
                }
                won
            })
        })
        .collect();
    let mut winners = vec![0; 200];
    for t in tasks {
        for job in t.await.expect("task") {
            winners[job] += 1;
        }
    }
    assert!(winners.iter().all(|w| *w == 1), "{winners:?}");
}

#[tokio::test(start_paused = true)]
async fn release_and_shutdown_remove_only_this_nodes_records() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    a.spawn().await.expect("join");
    b.heartbeat().await.expect("beat");
    a.home(1, "x").await.expect("home");
    a.home(1, "y").await.expect("home");
    b.home(1, "z").await.expect("home");
    assert!(!b.release(1, "x").await.expect("release"), "not b's");
    assert!(a.release(1, "x").await.expect("release"));
    assert_eq!(
        b.home(1, "x").await.expect("home"),
        Home::Here { adopted_from: None }
    );
    a.shutdown().await;
    assert_eq!(ids(&b.nodes().await.expect("nodes")), ["b"]);
    // a's homes went with it: b claims y as a fresh game server.
    assert_eq!(
        b.home(1, "y").await.expect("home"),
        Home::Here { adopted_from: None }
    );
    assert_eq!(b.list(records::HOME_PREFIX).await.expect("list").len(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_advance_reaches_every_node_and_none_is_lost() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    let offset = a
        .advance_clock(Duration::from_secs(60))
        .await
        .expect("advance");
    assert_eq!(offset, Duration::from_secs(60));
    assert_eq!(
        b.inner.emulated.offset(),
        Duration::ZERO,
        "not before a sync"
    );
    assert_eq!(b.sync_clock().await.expect("sync"), Duration::from_secs(60));
    // Both advance from the same shared offset: both moves count.
    let (x, y) = tokio::join!(
        a.advance_clock(Duration::from_secs(5)),
        b.advance_clock(Duration::from_secs(7))
    );
    x.expect("a");
    y.expect("b");
    a.heartbeat().await.expect("beat");
    b.heartbeat().await.expect("beat");
    assert_eq!(a.inner.emulated.offset(), Duration::from_secs(72));
    assert_eq!(b.inner.emulated.offset(), Duration::from_secs(72));
    // A node ahead of the record (it moved its own clock) is never moved back.
    a.inner
        .emulated
        .advance(Duration::from_secs(100))
        .expect("local");
    assert_eq!(
        a.sync_clock().await.expect("sync"),
        Duration::from_secs(172)
    );
    assert!(matches!(
        a.advance_clock(Duration::ZERO).await,
        Err(ClusterError::Clock(ClockError::NotForward))
    ));
    assert!(matches!(
        a.advance_clock(crate::clock::MAX_OFFSET).await,
        Err(ClusterError::Clock(ClockError::TooFar { .. }))
    ));
}

#[tokio::test(start_paused = true)]
async fn the_advance_does_not_touch_node_leases() {
    let storage = plugin();
    let (a, b) = (node(&storage, "a"), node(&storage, "b"));
    a.heartbeat().await.expect("beat");
    b.heartbeat().await.expect("beat");
    a.advance_clock(Duration::from_secs(86_400))
        .await
        .expect("advance");
    assert_eq!(ids(&a.nodes().await.expect("nodes")), ["a", "b"]);
}
