//! CPU time of processes, from Linux `/proc/<pid>/stat`, for the node
//! table of the PostgreSQL bench: the PostgreSQL server (the postmaster and
//! every backend it forked, live or already reaped), each `serve` node, and
//! the bench process itself (its client tasks).
//!
//! Invariant: a reading is in seconds of CPU (user + system, all threads);
//! a server's reading includes its reaped children (`cutime`/`cstime`), so
//! a backend that exits between two readings moves from the live sum to
//! the postmaster's and is neither lost nor counted twice. Off Linux every
//! reading is `None`.

use std::process::Command;

/// The clock ticks per second `/proc` counts in (`getconf CLK_TCK`, 100
/// when that cannot be asked).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `(ppid, utime + stime, cutime + cstime)` in ticks of process `pid`.
fn stat(pid: &str) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start
    // after the last ')'. Then: state ppid ... utime(14) stime cutime cstime.
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ppid = u32::try_from(num(1)?).ok()?;
    Some((ppid, num(11)? + num(12)?, num(13)? + num(14)?))
}

/// What the CPU readings are taken of.
#[derive(Debug)]
pub(crate) struct Meter {
    tick: f64,
    postmaster: Option<u32>,
}

impl Meter {
    /// A meter for the server whose postmaster is `postmaster` (the parent
    /// of any backend: `pg_backend_pid()`'s parent).
    pub(crate) fn new(postmaster: Option<u32>) -> Self {
        Meter {
            tick: ticks_per_second(),
            postmaster,
        }
    }

    /// The parent of process `pid`.
    pub(crate) fn parent_of(pid: u32) -> Option<u32> {
        stat(&pid.to_string()).map(|(ppid, _, _)| ppid)
    }

    /// CPU seconds of process `pid` (its own threads).
    pub(crate) fn process(&self, pid: u32) -> Option<f64> {
        stat(&pid.to_string()).map(|(_, own, _)| own as f64 / self.tick)
    }

    /// CPU seconds of this process.
    pub(crate) fn this_process(&self) -> Option<f64> {
        stat("self").map(|(_, own, _)| own as f64 / self.tick)
    }

    /// CPU seconds of the PostgreSQL server: the postmaster with its reaped
    /// children, plus every live child.
    pub(crate) fn server(&self) -> Option<f64> {
        let pm = self.postmaster?;
        let (_, own, reaped) = stat(&pm.to_string())?;
        let mut ticks = own + reaped;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((ppid, own, reaped)) = stat(pid) {
                if ppid == pm {
                    ticks += own + reaped;
                }
            }
        }
        Some(ticks as f64 / self.tick)
    }
}
