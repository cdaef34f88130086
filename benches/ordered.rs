//! Ordered data store benchmark: the latency of reading the top 100 of one
//! scope (descending `ordered_range`, limit 100) on each plugin, beside a
//! full scan of the same scope in the same run (every entry read in pages
//! of 1000, the top 100 picked by the caller: what a store without a value
//! index must do). Scopes of 10^5 and 10^6 entries, filled with plugin
//! calls (`ordered_write`, durability `off`). Prints a Markdown table.
//!
//! Run: `cargo bench --bench ordered` (add `-- --quick` for 10^4 and 10^5).
//! The ratio full scan / top 100 is the figure to compare across machines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profilestore::plugin_api::{
    Durability, EntryId, OrderedExpect, OrderedQuery, OrderedRecord, OrderedWrite, SortOrder,
    StoragePlugin, StoreId,
};
use profilestore::storage::{open, StorageConfig, StorageKind};

const TOP: usize = 100;
const SCAN_PAGE: usize = 1000;

/// A value spread over `0..10^9` (splitmix64 of the index), with ties.
fn value_of(i: u64) -> i64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % 1_000_000_000) as i64
}

fn query(order: SortOrder, limit: usize, after: Option<OrderedRecord>) -> OrderedQuery {
    OrderedQuery {
        store: StoreId {
            universe: 1,
            name: "Leaderboard".to_owned(),
        },
        scope: "global".to_owned(),
        order,
        min: None,
        max: None,
        after,
        limit,
    }
}

fn fill(p: &dyn StoragePlugin, n: u64) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        let w = OrderedWrite {
            entry: EntryId::new(1, "Leaderboard", "global", format!("Player_{i}")),
            expect: OrderedExpect::Any,
            value: Some(value_of(i)),
        };
        p.ordered_write(&w).expect("ordered_write");
    }
    start.elapsed()
}

fn top_indexed(p: &dyn StoragePlugin) -> Vec<OrderedRecord> {
    let page = p
        .ordered_range(&query(SortOrder::Descending, TOP, None))
        .expect("ordered_range");
    page.items
}

/// Reads the whole scope in pages and keeps the top 100 in a heap.
fn top_by_scan(p: &dyn StoragePlugin) -> Vec<OrderedRecord> {
    let mut heap: BinaryHeap<Reverse<OrderedRecord>> = BinaryHeap::with_capacity(TOP + 1);
    let mut after = None;
    loop {
        let page = p
            .ordered_range(&query(SortOrder::Ascending, SCAN_PAGE, after))
            .expect("ordered_range");
        after = page.items.last().cloned();
        for r in page.items {
            heap.push(Reverse(r));
            if heap.len() > TOP {
                heap.pop();
            }
        }
        if !page.more {
            break;
        }
    }
    let mut top: Vec<OrderedRecord> = heap.into_iter().map(|Reverse(r)| r).collect();
    top.sort_by(|a, b| b.cmp(a));
    top
}

/// Runs `f` `reps` times; returns (p50, p99) and the last result.
fn latencies<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    (at(0.50), at(0.99), last.expect("at least one run"))
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[100_000, 1_000_000]
    };
    println!(
        "| plugin | entries | fill writes/s | top 100 p50 | top 100 p99 | full scan p50 | full scan p99 | scan / top 100 (p50) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for kind in [StorageKind::Memory, StorageKind::Sled, StorageKind::Sqlite] {
        for &n in sizes {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = StorageConfig {
                kind,
                data_dir: dir.path().to_owned(),
                durability: Durability::Off,
                postgres_url: None,
            };
            let plugin: Arc<dyn StoragePlugin> = open(&config).expect("open");
            let filled = fill(&*plugin, n);
            let (top_reps, scan_reps) = if n >= 1_000_000 { (200, 5) } else { (200, 20) };
            let (t50, t99, top) = latencies(top_reps, || top_indexed(&*plugin));
            let (s50, s99, scanned) = latencies(scan_reps, || top_by_scan(&*plugin));
            assert_eq!(top, scanned, "the index and the scan agree on the top 100");
            println!(
                "| {} | {n} | {:.0} | {} | {} | {} | {} | {:.0}× |",
                kind.as_str(),
                n as f64 / filled.as_secs_f64(),
                fmt(t50),
                fmt(t99),
                fmt(s50),
                fmt(s99),
                s50.as_secs_f64() / t50.as_secs_f64(),
            );
        }
    }
}
