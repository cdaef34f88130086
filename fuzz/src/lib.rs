//! Fuzz targets for profilestore (see `targets.rs`), run by libFuzzer
//! (`fuzz_targets/`, feature `libfuzzer`) or by the dependency-free
//! mutation driver (`src/bin/drive.rs`). `scripts/fuzz` runs either.

#[path = "targets.rs"]
mod targets;

pub use targets::*;
