//! Group commit in `full` durability: concurrent durable commits share
//! flushes (counted by `SledPlugin::group_stats`), and every commit
//! acknowledged before the process is SIGKILLed is there after a reopen.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use profilestore_plugin_api::{
    Commit, CommitOutcome, Durability, EntryId, Expect, NewVersion, StoragePlugin, Supersede,
};
use profilestore_sled::{SledPlugin, GROUP_BUCKETS};

fn commit(key: &str, value: u64) -> Commit {
    Commit {
        entry: EntryId::new(1, "Players", "global", key),
        expect: Expect::Any,
        now_ms: 1_700_000_000_000,
        supersede: Supersede::Keep,
        version: NewVersion {
            deleted: false,
            value: value.to_string(),
            user_ids: Vec::new(),
            metadata: "{}".to_owned(),
        },
    }
}

fn write(plugin: &SledPlugin, key: &str, value: u64) {
    match plugin.commit(&commit(key, value)).expect("commit") {
        CommitOutcome::Committed(_) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn concurrent_durable_commits_share_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin =
        Arc::new(SledPlugin::open(&dir.path().join("sled"), Durability::Full).expect("open"));
    let (threads, each) = (32u64, 20u64);
    let start = Arc::new(std::sync::Barrier::new(threads as usize));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (plugin, start) = (Arc::clone(&plugin), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for n in 0..each {
                    write(&plugin, &format!("k{t}"), n);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    let stats = plugin.group_stats();
    assert_eq!(
        stats.writes,
        threads * each,
        "every commit counted: {stats:?}"
    );
    assert!(
        stats.groups < stats.writes,
        "commits arriving together share a flush: {stats:?}"
    );
    assert_eq!(stats.sizes.iter().sum::<u64>(), stats.groups, "{stats:?}");
    assert_eq!(GROUP_BUCKETS.len(), stats.sizes.len());
    // The same groups, as the server's metrics read them.
    let api = plugin
        .commit_group_sizes()
        .expect("full durability has groups");
    assert_eq!(
        (api.count, api.sum),
        (stats.groups, stats.writes),
        "{api:?}"
    );
    for t in 0..threads {
        let got = plugin
            .read_latest(&EntryId::new(1, "Players", "global", format!("k{t}")))
            .expect("read")
            .expect("present");
        assert_eq!(got.value, (each - 1).to_string());
    }
}

#[test]
fn other_durability_modes_count_no_groups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = SledPlugin::open(&dir.path().join("sled"), Durability::Off).expect("open");
    write(&plugin, "a", 1);
    assert_eq!(plugin.group_stats().groups, 0);
    assert_eq!(plugin.commit_group_sizes(), None);
}

/// The child's role: commit from 8 threads forever, printing each
/// acknowledged `key value` line, until the parent kills it.
const CHILD_DIR: &str = "PROFILESTORE_SLED_GROUP_CHILD_DIR";

#[test]
fn acknowledged_commits_survive_a_sigkill() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        return child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "acknowledged_commits_survive_a_sigkill",
            "--nocapture",
        ])
        .env(CHILD_DIR, &path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut acked = std::collections::HashMap::new();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    while acked.len() < 400 {
        let line = lines.next().expect("child alive").expect("line");
        if let Some((key, value)) = line.split_once(' ') {
            if let Ok(value) = value.parse::<u64>() {
                acked.insert(key.to_owned(), value);
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let plugin = SledPlugin::open(&path, Durability::Full).expect("reopen");
    for (key, value) in acked {
        let got = plugin
            .read_latest(&EntryId::new(1, "Players", "global", key.as_str()))
            .expect("read")
            .unwrap_or_else(|| panic!("acknowledged {key} lost"));
        let got: u64 = got.value.parse().expect("number");
        assert!(got >= value, "{key}: acknowledged {value}, found {got}");
    }
}

fn child(path: &Path) {
    let plugin = Arc::new(SledPlugin::open(path, Durability::Full).expect("open"));
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (plugin, out) = (Arc::clone(&plugin), Arc::clone(&out));
            std::thread::spawn(move || {
                for n in 0.. {
                    // Each thread's own keys, so every value only grows.
                    let key = format!("t{t}k{}", n % 64);
                    write(&plugin, &key, n);
                    let mut out = out.lock().expect("stdout lock");
                    writeln!(out, "{key} {n}").expect("print");
                    out.flush().expect("flush stdout");
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}
