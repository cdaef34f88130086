//! What the HTTP benches report of a timed run (included with `#[path]` by
//! `http.rs` and `memory_http.rs`): the rate and two percentiles.

use std::time::Duration;

/// Each client task's latencies gathered: requests per second over
/// `elapsed`, then the p50 and p99 latency.
pub(crate) async fn summarize(
    tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
    elapsed: impl FnOnce() -> Duration,
) -> (f64, Duration, Duration) {
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client"));
    }
    let rate = all.len() as f64 / elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
    (rate, pct(0.5), pct(0.99))
}
