//! What the fuzz targets (`fuzz/`) and their CI smoke run
//! (`tests/fuzz_smoke.rs`) drive: the request parsers, the value checks
//! and the server itself over an in-memory pipe. Not a stable API.
//!
//! Owns: nothing new; it gathers, in one deliberate place, functions that
//! are otherwise private to their modules. Invariant: every function here
//! is the one production code calls, never a copy.

pub use crate::config::Config;
pub use crate::datastore::validate;
pub use crate::datastore::{parse_value_str, parse_value_text, user_ids_from_json, VersionId};
pub use crate::engine::document::{classify, Stored};
pub use crate::http::request::{header_text, path_segments, Query};
pub use crate::http::{serve_io, AppState, Limits};
pub use crate::opencloud::time::{body_time, header_time, parse_time};
pub use crate::testing::memory_state;
