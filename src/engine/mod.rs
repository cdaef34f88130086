//! The ProfileStore engine (in progress): session-locked, auto-saved
//! profiles on the DataStore layer.
//!
//! Owns: everything of `shared/spec/profilestore.md`. So far: the stored
//! document ([`document`]) and the session algorithms as pure transforms
//! ([`session`]); the async store/profile API, timers, bus handoffs and
//! events build on them. Invariants: every write of a profile goes through
//! one DataStore `update` running one of the [`session`] transforms; the
//! engine reads time only from the injected clock.

pub mod document;
pub mod session;
