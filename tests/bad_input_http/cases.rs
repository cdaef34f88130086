//! The tables: one function per route family, each a list of requests
//! that must be refused with a 4xx and change nothing. The DataStore
//! families are in `cases/datastore.rs`, messaging, the session API and the
//! gateway in `cases/services.rs`; the table builder is here.

mod datastore;
mod services;

pub(crate) use datastore::{v1, v2};
pub(crate) use services::{gateway, messaging, session_api};

use super::raw::{request, Case, Shape};

/// What the tables need from the seeded server.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub key: String,
    /// A valid cursor of another listing (keys of store `t`).
    pub foreign_keys_cursor: String,
    /// A valid page token of another v2 listing.
    pub foreign_v2_token: String,
    /// A well-formed version id that is not `k`'s current one.
    pub stale_version: String,
}

const V1: &str = "/datastores/v1/universes/1/standard-datastores";
const V2: &str = "/cloud/v2/universes/1/data-stores";
const MSG: &str = "/messaging-service/v1/universes/1/topics";
const SAPI: &str = "/session-api/v1/universes/1";

/// Largest body the test server reads (its `max_body_bytes`).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024 + 64 * 1024;

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn nested(n: usize) -> Vec<u8> {
    vec![b'['; n]
}

/// Collects cases of one family.
struct Table<'a> {
    family: &'static str,
    ctx: &'a Ctx,
    cases: Vec<Case>,
}

impl<'a> Table<'a> {
    fn new(family: &'static str, ctx: &'a Ctx) -> Self {
        Table {
            family,
            ctx,
            cases: Vec::new(),
        }
    }

    /// A request with the API key.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        method: &str,
        target: impl AsRef<[u8]>,
        headers: &[(&str, &[u8])],
        body: impl AsRef<[u8]>,
        status: u16,
        shape: Shape,
    ) {
        let raw = request(
            method,
            target.as_ref(),
            Some(&self.ctx.key),
            headers,
            body.as_ref(),
        );
        self.cases.push(Case {
            family: self.family,
            name: name.to_owned(),
            raw,
            status,
            shape,
        });
    }

    fn raw(&mut self, name: &str, raw: Vec<u8>, status: u16, shape: Shape) {
        self.cases.push(Case {
            family: self.family,
            name: name.to_owned(),
            raw,
            status,
            shape,
        });
    }
}

/// Bodies every JSON-reading route must refuse with a 400 (the body limit
/// gives 413).
#[rustfmt::skip]
fn bad_bodies() -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        ("body not JSON", b"{not json".to_vec(), 400),
        ("body NaN", b"NaN".to_vec(), 400),
        ("body Infinity", b"{\"value\":Infinity,\"message\":-Infinity}".to_vec(), 400),
        ("body invalid UTF-8", b"{\"value\":\"\xff\xfe\",\"message\":\"\xc3\x28\"}".to_vec(), 400),
        ("body 100k nested arrays", nested(100_000), 400),
        ("body over the limit", vec![b' '; MAX_BODY + 1], 413),
    ]
}
