//! The Open Cloud wire format, shared by the HTTP server and the remote
//! client so the two cannot drift.
//!
//! Owns: the opaque listing cursors (`cursor`), the time formats (`time`), Roblox's version id format
//! (`version_id`), header names (`headers`), the error-code table
//! (`codes`), the error bodies of each API family (`errors`) and the
//! request and response bodies of DataStore v1 (`v1`), v2 (`v2`) and
//! messaging (`messaging`), the session lock history (`history`). Invariants: nothing here does I/O or knows
//! about storage, HTTP, sessions or the engine (it depends on serde, `time`
//! and the plugin contract's version info only); every body type
//! serializes its fields in the order Open Cloud writes them; the server
//! and the client import the same items.

pub mod cluster;
pub mod codes;
pub mod cursor;
pub mod emulator;
pub mod errors;
pub mod headers;
pub mod history;
pub mod memory;
pub mod messaging;
pub mod ordered;
pub mod time;
pub mod v1;
pub mod v2;
pub mod version_id;
