//! The dependency-free fuzzing mode: `drive SECONDS TARGET [SEED]` mutates
//! the target's corpus (`fuzz/corpus/TARGET`, `fuzz/regressions/TARGET`)
//! for SECONDS and prints one line: executions and crashes. Crashing
//! inputs are written to `fuzz/artifacts/TARGET/`. No coverage feedback:
//! libFuzzer (`scripts/fuzz`) explores better when it builds.

use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(secs), Some(name)) = (args.first(), args.get(1)) else {
        eprintln!("usage: drive SECONDS TARGET [SEED]; targets: {}", names());
        return std::process::ExitCode::from(2);
    };
    let Ok(secs) = secs.parse::<u64>() else {
        eprintln!("error: SECONDS must be a whole number, not `{secs}`");
        return std::process::ExitCode::from(2);
    };
    let Some((_, target)) = profilestore_fuzz::TARGETS.iter().find(|(n, _)| n == name) else {
        eprintln!("error: no target `{name}`; targets: {}", names());
        return std::process::ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id())
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for dir in ["corpus", "regressions"] {
        seeds.extend(
            profilestore_fuzz::read_dir_inputs(&root.join(dir).join(name))
                .into_iter()
                .map(|(_, b)| b),
        );
    }
    if name == "cursor" {
        seeds.extend(profilestore_fuzz::real_cursors().into_iter().map(String::into_bytes));
    }
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let found = profilestore_fuzz::drive(name, *target, &seeds, seed, |n| {
        n % 64 == 0 && Instant::now() >= end
    });
    let artifacts = root.join("artifacts").join(name);
    for (i, (input, message)) in found.crashes.iter().enumerate() {
        let _ = std::fs::create_dir_all(&artifacts);
        let path = artifacts.join(format!("crash-driver-{seed}-{i}"));
        let _ = std::fs::write(&path, input);
        eprintln!("crash: {} ({message})", path.display());
    }
    println!(
        "{name}: mode=driver seconds={} executions={} crashes={} seed={seed}",
        start.elapsed().as_secs(),
        found.executions,
        found.crashes.len()
    );
    if found.crashes.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn names() -> String {
    profilestore_fuzz::TARGETS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}
