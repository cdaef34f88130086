//! Header names of Open Cloud and of profilestore's extensions, lower
//! case as HTTP/1.1 writes them.
//!
//! Owns: the names only. Invariant: every header the server or the remote
//! client reads or writes by name is spelled here once.

/// The API key of a request.
pub const API_KEY: &str = "x-api-key";
/// The id the server gives every answer (also in its logs).
pub const REQUEST_ID: &str = "x-request-id";
/// Base64 MD5 of a v1 entry body (request and answer).
pub const CONTENT_MD5: &str = "content-md5";
/// v1: the entry's version id.
pub const ENTRY_VERSION: &str = "roblox-entry-version";
/// v1: when the key was created.
pub const ENTRY_CREATED_TIME: &str = "roblox-entry-created-time";
/// v1: when this version was written.
pub const ENTRY_VERSION_CREATED_TIME: &str = "roblox-entry-version-created-time";
/// v1: the entry's user ids (a JSON array, or comma-separated on writes).
pub const ENTRY_USERIDS: &str = "roblox-entry-userids";
/// v1: the entry's attributes (a JSON object).
pub const ENTRY_ATTRIBUTES: &str = "roblox-entry-attributes";
/// Server-sent events: where a stream resumes.
pub const LAST_EVENT_ID: &str = "last-event-id";
/// A cluster node: the id of the node that served the answer.
pub const NODE: &str = "x-profilestore-node";
/// A cluster node: set on a call forwarded to a game server's home node
/// (the forwarding node's id); such a call is handled where it arrives.
pub const FORWARDED: &str = "x-profilestore-forwarded";
/// A write's commit note (`shutdown` or `handed-off`): why a session's
/// final save was written, sent by a Rust engine on a remote DataStore so
/// the server's lock history records it (`datastore::observe`).
pub const COMMIT_NOTE: &str = "x-profilestore-commit-note";
