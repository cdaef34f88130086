//! The dependency-free mutation driver: a seeded generator, mutations
//! (bit flips, dictionary tokens, deletions, duplicated runs, splices,
//! huge repetitions, interesting numbers) and the loop that runs a target
//! on seeds and mutations, catching and collecting panics.

use std::sync::Arc;

use super::dictionary;

/// A small xorshift generator (the driver needs no dependency).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `input`: flips, inserted dictionary tokens or bytes,
/// deletions, duplicated runs, splices with `other`, or a huge repetition.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], dict: &[&str]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if !dict.is_empty() => {
                let token = dict[rng.below(dict.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + 1 + rng.below(32)).min(out.len());
                let run = out[start..end].to_vec();
                out.splice(at..at, run);
            }
            5 if !other.is_empty() => {
                let cut = rng.below(other.len());
                out.truncate(at);
                out.extend_from_slice(&other[cut..]);
            }
            6 => {
                let b = [b'[', b'{', b'9', b'%', b'\xff', b'a', b'"'][rng.below(7)];
                let n = [10, 200, 5000][rng.below(3)];
                out.splice(at..at, std::iter::repeat_n(b, n));
            }
            7 => {
                let interesting = ["0", "-1", "NaN", "inf", "1e99", "99999999999999999999", ""];
                let token = interesting[rng.below(interesting.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            _ if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            _ => out.push(rng.next() as u8),
        }
    }
    out.truncate(1 << 20);
    out
}

/// What a driver run found.
#[derive(Debug, Default)]
pub struct Found {
    /// Inputs run.
    pub executions: u64,
    /// Inputs that panicked, with the panic message.
    pub crashes: Vec<(Vec<u8>, String)>,
}

/// The mutation driver: runs `target` on every seed, then on mutations of
/// seeds and of earlier inputs, until `stop(executions)` is true. Panics
/// are caught and collected (at most 20 kept), so one run reports them all.
pub fn drive(
    name: &str,
    target: fn(&[u8]),
    seeds: &[Vec<u8>],
    rng_seed: u64,
    mut stop: impl FnMut(u64) -> bool,
) -> Found {
    let dict = dictionary(name);
    let mut rng = Rng::new(rng_seed);
    let mut pool: Vec<Vec<u8>> = if seeds.is_empty() {
        vec![Vec::new()]
    } else {
        seeds.to_vec()
    };
    let mut found = Found::default();
    let last_panic = Arc::new(std::sync::Mutex::new(String::new()));
    let hook = std::panic::take_hook();
    {
        let last_panic = Arc::clone(&last_panic);
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            *last_panic.lock().unwrap_or_else(|p| p.into_inner()) = format!("{info}{at}");
        }));
    }
    let mut queue: Vec<Vec<u8>> = pool.clone();
    while !stop(found.executions) {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                let a = &pool[rng.below(pool.len())];
                let b = &pool[rng.below(pool.len())];
                mutate(&mut rng, a, b, dict)
            }
        };
        found.executions += 1;
        let ok = std::panic::catch_unwind(|| target(&input)).is_ok();
        if !ok {
            let message = last_panic.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if found.crashes.len() < 20 {
                found.crashes.push((input, message));
            }
        } else if rng.below(16) == 0 && pool.len() < 4096 {
            // Keep some inputs to mutate further (no coverage feedback).
            pool.push(input);
        }
    }
    std::panic::set_hook(hook);
    found
}

/// The files of `dir` (sorted), or nothing when it is missing.
pub fn read_dir_inputs(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), bytes))
        })
        .collect();
    files.sort();
    files
}
