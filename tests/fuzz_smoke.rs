//! The short fuzzing run of CI: every fuzz target (`fuzz/src/targets.rs`)
//! on its seed corpus (`fuzz/corpus/`), on every regression input
//! (`fuzz/regressions/`: inputs that once crashed), then on a fixed number
//! of mutated inputs from the dependency-free driver. The long run is
//! `scripts/fuzz SECONDS` (libFuzzer, or the same driver without it).
//! `PROFILESTORE_FUZZ_SMOKE=N` changes the number of mutated inputs per
//! target (default 3000; `http_request` runs a tenth of it).

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]
mod targets;

use std::path::Path;

fn iterations() -> u64 {
    std::env::var("PROFILESTORE_FUZZ_SMOKE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn run(name: &str) {
    let (_, target) = targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a target of that name");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut seeds = Vec::new();
    for dir in ["corpus", "regressions"] {
        for (file, bytes) in targets::read_dir_inputs(&root.join(dir).join(name)) {
            // Seeds and regressions run unguarded: a failure names the file.
            eprintln!("{name}: {dir}/{file}");
            target(&bytes);
            seeds.push(bytes);
        }
    }
    if name == "cursor" {
        for c in targets::real_cursors() {
            target(c.as_bytes());
            seeds.push(c.into_bytes());
        }
    }
    assert!(!seeds.is_empty(), "fuzz/corpus/{name} has no seeds");
    let limit = if name == "http_request" {
        (iterations() / 10).max(1)
    } else {
        iterations()
    } + seeds.len() as u64;
    let found = targets::drive(name, *target, &seeds, 0x5EED, |n| n >= limit);
    println!(
        "{name}: {} executions, {} crashes",
        found.executions,
        found.crashes.len()
    );
    for (input, message) in &found.crashes {
        eprintln!(
            "crash in {name}: {message}\ninput: {:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert!(found.crashes.is_empty(), "{name} crashed; see above");
}

#[test]
fn http_request() {
    run("http_request");
}

#[test]
fn request_parts() {
    run("request_parts");
}

#[test]
fn value() {
    run("value");
}

#[test]
fn document() {
    run("document");
}

#[test]
fn message() {
    run("message");
}

#[test]
fn cursor() {
    run("cursor");
}

#[test]
fn config() {
    run("config");
}
