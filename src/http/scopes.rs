//! API keys and their scopes, modelled on Open Cloud's API key permissions.
//!
//! Owns: the scope grammar ([`Scope`]), scoped keys ([`ScopedKey`]),
//! identifying the caller of a request from its `x-api-key` (`identify`)
//! and **the one decision of what a request needs** (`required`: its
//! family, method, path, universe and data store name to a
//! [`Permission`]). Invariants: keys are compared in constant time (as
//! 16-byte digests, every configured key every time); a plain key
//! (`[server] api_keys`) may do everything; a scoped key may do exactly
//! what one of its scopes grants; a key never reaches a log or a message
//! (a scoped key is named by its `name`).
//!
//! The grammar (one string per scope):
//!
//! ```text
//! scope    = "*"                          everything (what a plain key may do)
//!          | "emulator"                   the emulator controls, /emulator/v1
//!          | "universe:" U "/" what       U: a universe id, or "*" for all
//! what     = "*"                          everything in the universe
//!          | "datastore:" NAME ":" rw     standard data stores (NAME or "*")
//!          | "ordered-datastore:" NAME ":" rw
//!          | "memory-store:" rw           sorted maps, queues, hash maps
//!          | "messaging:" ("publish" | "subscribe" | "*")
//!          | "session:write"              the session API (game servers)
//!          | "engine:" rw                 the engine API (game servers)
//! rw       = "read" | "write" | "*"
//! ```
//!
//! `write` does not imply `read` (as in Open Cloud, where reading and
//! writing entries are separate permissions); `*` grants both. Listing the
//! data stores of a universe and snapshotting them concern every store, so
//! they need a `datastore:*:...` scope.

use hyper::{HeaderMap, Method};
use md5::{Digest, Md5};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::error::ApiError;
use crate::opencloud::headers;

/// The API families, as far as permissions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// `/datastores/v1` (the store is the `datastoreName` query parameter).
    DataStoresV1,
    /// `/cloud/v2/universes/{u}/data-stores`.
    DataStoresV2,
    /// Ordered data stores, Open Cloud v1 and v2.
    Ordered,
    /// Memory stores, Open Cloud v2.
    Memory,
    /// MessagingService, v1 and v2.
    Messaging,
    /// The session API.
    Sessions,
    /// The engine API (ordered and memory stores for game servers).
    Engine,
    /// The emulator controls.
    Emulator,
    /// `/cluster/v1` (the nodes of a cluster): an operator's view, granted
    /// with the controls' `emulator` scope.
    Cluster,
}

/// What a request does to what it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads (and lists).
    Read,
    /// Creates, changes or deletes.
    Write,
    /// Publishes a message.
    Publish,
    /// Reads published messages (long-polls and streams).
    Subscribe,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Publish => "publish",
            Access::Subscribe => "subscribe",
        }
    }
}

/// What a request is about, inside one universe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A standard data store; `None` for every store of the universe
    /// (listing them, snapshots).
    DataStore(Option<String>),
    /// An ordered data store (`None`: every one).
    Ordered(Option<String>),
    /// The universe's memory stores.
    Memory,
    /// MessagingService.
    Messaging,
    /// The session API.
    Session,
    /// The engine API.
    Engine,
}

/// What a request needs a key to grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permission {
    /// The emulator controls.
    Emulator,
    /// `access` to `resource` of `universe`.
    In {
        /// The universe of the path.
        universe: u64,
        /// What the request names.
        resource: Resource,
        /// What it does.
        access: Access,
    },
}

impl std::fmt::Display for Permission {
    /// The narrowest scope that grants this permission.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Permission::In {
            universe,
            resource,
            access,
        } = self
        else {
            return f.write_str("emulator");
        };
        let name = |n: &Option<String>| n.clone().unwrap_or_else(|| "*".to_owned());
        let a = access.as_str();
        match resource {
            Resource::DataStore(n) => write!(f, "universe:{universe}/datastore:{}:{a}", name(n)),
            Resource::Ordered(n) => {
                write!(f, "universe:{universe}/ordered-datastore:{}:{a}", name(n))
            }
            Resource::Memory => write!(f, "universe:{universe}/memory-store:{a}"),
            Resource::Messaging => write!(f, "universe:{universe}/messaging:{a}"),
            Resource::Session => write!(f, "universe:{universe}/session:write"),
            Resource::Engine => write!(f, "universe:{universe}/engine:{a}"),
        }
    }
}

/// Custom methods sent with POST that only read.
const READ_VERBS: &[&str] = &["batchGet", "range"];
/// Custom methods sent with GET that change something (a queue read hides
/// the items it returns).
const WRITE_VERBS: &[&str] = &["read"];

/// **The** permission a request needs: `family` and `universe` from the
/// path's prefix, `rest` the path after the universe, `store` the data
/// store the request names (the route's `{store}`, or v1's `datastoreName`
/// query parameter).
pub(super) fn required(
    family: Family,
    method: &Method,
    rest: &str,
    universe: u64,
    store: Option<&str>,
) -> Permission {
    let verb = rest
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once(':'))
        .map(|(_, verb)| verb);
    let read = match verb {
        Some(v) if READ_VERBS.contains(&v) => true,
        Some(v) if WRITE_VERBS.contains(&v) => false,
        _ => matches!(*method, Method::GET | Method::HEAD),
    };
    let rw = if read { Access::Read } else { Access::Write };
    let store = store.map(str::to_owned);
    let (resource, access) = match family {
        Family::Emulator | Family::Cluster => return Permission::Emulator,
        // The list of stores is the prefix itself.
        Family::DataStoresV1 if rest == "/standard-datastores" => (Resource::DataStore(None), rw),
        Family::DataStoresV1 | Family::DataStoresV2 => (Resource::DataStore(store), rw),
        Family::Ordered => (Resource::Ordered(store), rw),
        Family::Memory => (Resource::Memory, rw),
        Family::Messaging if read => (Resource::Messaging, Access::Subscribe),
        Family::Messaging => (Resource::Messaging, Access::Publish),
        Family::Sessions => (Resource::Session, Access::Write),
        // A profile's lock history reads its data store.
        Family::Engine if rest.starts_with("/profiles/") => (Resource::DataStore(store), rw),
        Family::Engine => (Resource::Engine, rw),
    };
    Permission::In {
        universe,
        resource,
        access,
    }
}

/// A scope that is not in the grammar.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid scope `{scope}`: {reason}; scopes are `*`, `emulator`, or `universe:ID/WHAT` (ID a \
     universe id or `*`) with WHAT one of `*`, `datastore:NAME:read|write|*`, \
     `ordered-datastore:NAME:read|write|*`, `memory-store:read|write|*`, \
     `messaging:publish|subscribe|*`, `session:write`, `engine:read|write|*` (NAME a data store \
     name or `*`)"
)]
pub struct ScopeError {
    /// The scope as written.
    pub scope: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Which accesses a scope grants (`None`: every one).
type Grants = Option<Access>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum What {
    All,
    DataStore(Option<String>, Grants),
    Ordered(Option<String>, Grants),
    Memory(Grants),
    Messaging(Grants),
    Session,
    Engine(Grants),
}

/// One parsed scope (see the grammar above).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(Rule);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    Everything,
    Emulator,
    /// `universe:U/...` (`None`: every universe).
    In(Option<u64>, What),
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, ScopeError> {
        let fail = |reason: &str| ScopeError {
            scope: text.to_owned(),
            reason: reason.to_owned(),
        };
        match text {
            "*" => return Ok(Scope(Rule::Everything)),
            "emulator" => return Ok(Scope(Rule::Emulator)),
            _ => {}
        }
        let rest = text
            .strip_prefix("universe:")
            .ok_or_else(|| fail("it must start with `universe:`"))?;
        let (id, what) = rest
            .split_once('/')
            .ok_or_else(|| fail("`universe:ID` must be followed by `/` and what it grants"))?;
        let universe = match id {
            "*" => None,
            id => Some(
                id.parse()
                    .map_err(|_| fail("the universe id is not a number"))?,
            ),
        };
        let what = parse_what(what).map_err(fail)?;
        Ok(Scope(Rule::In(universe, what)))
    }
}

fn parse_rw(text: &str) -> Result<Grants, &'static str> {
    match text {
        "read" => Ok(Some(Access::Read)),
        "write" => Ok(Some(Access::Write)),
        "*" => Ok(None),
        _ => Err("the access must be `read`, `write` or `*`"),
    }
}

fn parse_what(text: &str) -> Result<What, &'static str> {
    if text == "*" {
        return Ok(What::All);
    }
    let (kind, tail) = text
        .split_once(':')
        .ok_or("what it grants must be `KIND:...` or `*`")?;
    let store = |tail: &str| -> Result<(Option<String>, Grants), &'static str> {
        let (name, rw) = tail
            .rsplit_once(':')
            .ok_or("a data store scope is `datastore:NAME:read|write|*`")?;
        if name.is_empty() {
            return Err("the data store name is empty (use `*` for every store)");
        }
        let name = (name != "*").then(|| name.to_owned());
        Ok((name, parse_rw(rw)?))
    };
    match kind {
        "datastore" => store(tail).map(|(n, g)| What::DataStore(n, g)),
        "ordered-datastore" => store(tail).map(|(n, g)| What::Ordered(n, g)),
        "memory-store" => parse_rw(tail).map(What::Memory),
        "engine" => parse_rw(tail).map(What::Engine),
        "messaging" => match tail {
            "publish" => Ok(What::Messaging(Some(Access::Publish))),
            "subscribe" => Ok(What::Messaging(Some(Access::Subscribe))),
            "*" => Ok(What::Messaging(None)),
            _ => Err("messaging takes `publish`, `subscribe` or `*`"),
        },
        "session" if tail == "write" || tail == "*" => Ok(What::Session),
        "session" => Err("the session API takes `session:write`"),
        _ => Err("unknown kind"),
    }
}

impl Scope {
    /// Whether this scope grants `p`.
    pub fn grants(&self, p: &Permission) -> bool {
        let (what, resource, access) = match (&self.0, p) {
            (Rule::Everything, _) | (Rule::Emulator, Permission::Emulator) => return true,
            (Rule::Emulator, _) | (Rule::In(..), Permission::Emulator) => return false,
            (
                Rule::In(universe, what),
                Permission::In {
                    universe: u,
                    resource,
                    access,
                },
            ) => {
                if universe.is_some_and(|s| s != *u) {
                    return false;
                }
                (what, resource, *access)
            }
        };
        let access_ok = |g: &Grants| g.is_none_or(|g| g == access);
        let name_ok = |scope: &Option<String>, asked: &Option<String>| match (scope, asked) {
            (None, _) => true,
            (Some(s), Some(a)) => s == a,
            (Some(_), None) => false,
        };
        match (what, resource) {
            (What::All, _) | (What::Session, Resource::Session) => true,
            (What::DataStore(n, g), Resource::DataStore(a))
            | (What::Ordered(n, g), Resource::Ordered(a)) => name_ok(n, a) && access_ok(g),
            (What::Memory(g), Resource::Memory)
            | (What::Messaging(g), Resource::Messaging)
            | (What::Engine(g), Resource::Engine) => access_ok(g),
            _ => false,
        }
    }
}

/// A key with scopes (`[[server.keys]]` in `config.toml`).
#[derive(Clone)]
pub struct ScopedKey {
    /// What logs and refusals call the key.
    pub name: String,
    key: String,
    scopes: Vec<Scope>,
}

impl std::fmt::Debug for ScopedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret.
        f.debug_struct("ScopedKey")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ScopedKey {
    /// The key `key`, called `name`, granting `scopes` (each parsed).
    pub fn new<S: AsRef<str>>(
        name: impl Into<String>,
        key: impl Into<String>,
        scopes: &[S],
    ) -> Result<Self, ScopeError> {
        let scopes = scopes
            .iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<Scope>, _>>()?;
        Ok(ScopedKey {
            name: name.into(),
            key: key.into(),
            scopes,
        })
    }

    /// Whether one of the key's scopes grants `p`.
    pub fn grants(&self, p: &Permission) -> bool {
        self.scopes.iter().any(|s| s.grants(p))
    }
}

/// Who sent a request, as far as its key tells.
#[derive(Clone, Copy, Debug)]
pub(super) enum Caller<'k> {
    /// The server takes no key: anyone may do anything (loopback only).
    Open,
    /// A plain key: everything.
    Full,
    /// A scoped key.
    Scoped(&'k ScopedKey),
}

impl Caller<'_> {
    /// `Ok` when this caller may do what `p` names, else the 403.
    pub(super) fn check(&self, p: &Permission) -> Result<(), ApiError> {
        match self {
            Caller::Open | Caller::Full => Ok(()),
            Caller::Scoped(k) if k.grants(p) => Ok(()),
            Caller::Scoped(k) => Err(ApiError::insufficient_scope(format!(
                "the API key `{}` does not have the scope this request needs: `{p}`",
                k.name
            ))),
        }
    }

    /// The scoped key's name, for the log.
    pub(super) fn name(&self) -> Option<&str> {
        match self {
            Caller::Scoped(k) => Some(&k.name),
            _ => None,
        }
    }
}

/// The caller of a request with `headers`, or `None` (a 401) when keys
/// are configured and the request has none of them. Every configured key
/// is compared, each as a 16-byte digest in constant time: `ct_eq` on raw
/// bytes returns at once when the lengths differ, which would time out a
/// key's length (a digest match without a key match would need an MD5
/// second preimage of an unknown key).
pub(super) fn identify<'k>(
    headers: &HeaderMap,
    plain: &[String],
    scoped: &'k [ScopedKey],
) -> Option<Caller<'k>> {
    if plain.is_empty() && scoped.is_empty() {
        return Some(Caller::Open);
    }
    let given = Md5::digest(headers.get(headers::API_KEY)?.as_bytes());
    let matches = |key: &str| {
        Md5::digest(key.as_bytes())
            .as_slice()
            .ct_eq(given.as_slice())
    };
    let full = plain
        .iter()
        .fold(subtle::Choice::from(0), |ok, key| ok | matches(key));
    // The index of the matching scoped key, chosen without a branch.
    let (found, index) = scoped.iter().enumerate().fold(
        (subtle::Choice::from(0), 0u64),
        |(found, index), (i, key)| {
            let eq = matches(&key.key);
            (found | eq, u64::conditional_select(&index, &(i as u64), eq))
        },
    );
    if bool::from(full) {
        Some(Caller::Full)
    } else if bool::from(found) {
        scoped.get(index as usize).map(Caller::Scoped)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
