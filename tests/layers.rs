//! The layering rules of ARCHITECTURE.md, checked on the source: every
//! `crate::` path in a top-level module of `src/` names a module of a lower
//! layer, and no module graph (of `src/` or of a plugin, read from
//! `crate::` and `super::` paths two levels deep) has a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `src/`, lowest first. A module may use the modules of the
/// layers below its own, never its own layer's or a higher one's.
const LAYERS: &[&[&str]] = &[
    &["clock", "backoff", "opencloud", "plugin_api", "metrics"],
    &["storage", "faults", "remote", "budgets"],
    &["datastore", "bus", "ordered", "memorystore", "cluster"],
    &["engine", "snapshots"],
    &["sessions", "history"],
    &["http"],
    &["config", "transfer"],
    &["serve"],
    &["cli", "testing"],
    &["fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without comments and string literals (they may name paths).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The module path of a file under `src` (`engine/profile/task.rs` ->
/// `["engine", "profile", "task"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every path a file names from the crate root: `crate::a::b` (and each
/// name of `crate::{a, b::c}`) and `super::x` resolved against `module`.
fn paths_named(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let words = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|w| {
                w.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|w| !w.is_empty())
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(inner.split(',').map(|p| words(p.trim())));
        } else {
            found.push(words(rest));
        }
    }
    for (i, _) in code.match_indices("super::") {
        if i > 0 && code[..i].ends_with("::") {
            continue; // `super::super::` is read from its first `super`.
        }
        // `super` is the parent of this file's module, whatever the file's
        // name (`module_of` already dropped `mod`).
        let mut base: Vec<String> = module.to_vec();
        let mut rest = &code[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        base.extend(words(rest));
        found.push(base);
    }
    found.retain(|p| !p.is_empty());
    found
}

/// Every edge `from -> to` between modules cut at `depth` components.
fn module_graph(src: &Path, depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    for file in &files {
        let module = module_of(src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let from = module
            .iter()
            .take(depth)
            .cloned()
            .collect::<Vec<_>>()
            .join("::");
        for path in paths_named(&code, &module) {
            // The longest prefix of the path that is a module of this tree.
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            let to = target
                .iter()
                .take(depth)
                .cloned()
                .collect::<Vec<_>>()
                .join("::");
            if to != from && !to.is_empty() && !from.is_empty() {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = graph.keys().chain(graph.values().flatten()).collect();
    let reach = |start: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(n) = todo.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        let component: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reachable[*n].contains(**m) && reachable[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        if component.len() > 1 && !found.contains(&component) {
            found.push(component);
        }
    }
    found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_top_level_module_uses_only_lower_layers() {
    let src = root().join("src");
    let graph = module_graph(&src, 1);
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        let Some(own) = layer_of(from) else {
            wrong.push(format!("`{from}` is in no layer of tests/layers.rs"));
            continue;
        };
        for to in targets {
            match layer_of(to) {
                Some(l) if l < own => {}
                _ => wrong.push(format!("`{from}` uses `{to}`")),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_cycle_in_the_crate_or_a_plugin() {
    let mut trees = vec![root().join("src")];
    for plugin in std::fs::read_dir(root().join("plugins")).expect("plugins") {
        trees.push(plugin.expect("plugin").path().join("src"));
    }
    for tree in trees {
        for depth in [1, 2, 3] {
            let found = cycles(&module_graph(&tree, depth));
            assert!(
                found.is_empty(),
                "module cycles in {} at depth {depth}: {found:?}",
                tree.display()
            );
        }
    }
}

#[test]
fn the_checker_sees_a_cycle_and_a_wrong_layer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a; mod b;").expect("write");
    std::fs::write(src.join("a.rs"), "use crate::b::X; // crate::c\n").expect("write");
    std::fs::write(
        src.join("b.rs"),
        "use crate::{a::Y, b};\nfn f() { \"crate::c\"; }",
    )
    .expect("write");
    let graph = module_graph(src, 1);
    assert_eq!(graph.get("a").map(|s| s.len()), Some(1), "{graph:?}");
    assert_eq!(cycles(&graph).len(), 1, "a <-> b is a cycle: {graph:?}");
    let nested = dir.path().join("n");
    std::fs::create_dir(&nested).expect("mkdir");
    std::fs::write(src.join("c.rs"), "mod n;").expect("write");
    std::fs::write(nested.join("x.rs"), "use super::super::a::Z;").expect("write");
    std::fs::write(nested.join("mod.rs"), "").expect("write");
    let graph = module_graph(src, 1);
    assert!(
        graph.get("n").is_some_and(|s| s.contains("a")),
        "super::super from n/x.rs: {graph:?}"
    );
}
