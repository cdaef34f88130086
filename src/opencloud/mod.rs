//! The Open Cloud wire format, shared by the HTTP server and the remote
//! client so the two cannot drift.
//!
//! Owns: the time formats (`time`). Invariants: nothing here does I/O or
//! knows about storage; the server and the client import the same items.

pub mod time;
