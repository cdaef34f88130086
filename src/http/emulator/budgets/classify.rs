//! Which budget a data request uses: its Roblox request type, the
//! game-server API it stands for, its key, and who sends it.
//!
//! Owns: the table from (method, path) of every data family (Open Cloud
//! v1/v2 standard and ordered, memory stores, the engine API, the session
//! API) to a [`Need`]. Invariants: a path of no data family (messaging,
//! the control plane) needs nothing; reads count one kilobyte per key
//! (their size is not known before the read), writes the request body's
//! length; the session API charges the DataStore calls its request makes
//! (`UpdateAsync` for starting, saving and ending a session), not its
//! heartbeats and in-memory reads.

use hyper::{HeaderMap, Method};

use super::super::super::request::Query;
use super::super::super::router::decode;
use crate::budgets::{Api, Caller, Charge, RequestType as T};
use crate::opencloud::emulator::{JOB_ID_HEADER, PLAYERS_HEADER};

/// What a request needs from its universe's budgets.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// A data store request.
    Data(Charge),
    /// Memory-store request units.
    Memory(u64),
}

const UPDATE: &[T] = &[T::StandardRead, T::StandardWrite];

/// The caller: the game server of the job header (or of a session API
/// path), else Open Cloud.
pub(super) fn caller(headers: &HeaderMap, path: &str) -> Caller {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let players = text(PLAYERS_HEADER)
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let from_path = || {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        (segs.starts_with(&["session-api", "v1", "universes"]) && segs.get(4) == Some(&"servers"))
            .then(|| segs.get(5).map(|j| decode(j)))
            .flatten()
    };
    match text(JOB_ID_HEADER).map(str::to_owned).or_else(from_path) {
        Some(job) if !job.is_empty() => Caller::GameServer { job, players },
        _ => Caller::OpenCloud,
    }
}

/// `segment` split at its `:verb`.
fn verb(segment: &str) -> (&str, &str) {
    segment.rsplit_once(':').unwrap_or((segment, ""))
}

/// What `method` on `path` (canonical, with its family prefix) needs.
pub(super) fn need(
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
) -> Option<Need> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let bytes = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let data = |c: Charge| Some(Need::Data(c));
    match segs.as_slice() {
        ["datastores", "v1", "universes", _, "standard-datastores", rest @ ..] => {
            v1(method, rest, query, bytes).and_then(data)
        }
        ["cloud", "v2", "universes", _, "data-stores", rest @ ..] => {
            v2(method, rest, query, bytes).and_then(data)
        }
        ["cloud", "v2", "universes", _, "ordered-data-stores", s, "scopes", sc, "entries", rest @ ..]
        | ["ordered-data-stores", "v1", "universes", _, "orderedDataStores", s, "scopes", sc, "entries", rest @ ..] => {
            ordered(
                method,
                &format!("{}/{}", decode(s), decode(sc)),
                rest,
                query,
                bytes,
            )
            .and_then(data)
        }
        ["engine-api", "v1", "universes", _, "ordered-data-stores", s, "scopes", sc, rest @ ..] => {
            engine_ordered(
                method,
                &format!("{}/{}", decode(s), decode(sc)),
                rest,
                bytes,
            )
            .and_then(data)
        }
        ["engine-api", "v1", "universes", _, "memory-store", ..] => Some(Need::Memory(1)),
        ["cloud", "v2", "universes", _, m, ..] if m.starts_with("memory-store") => {
            Some(Need::Memory(1))
        }
        ["session-api", "v1", "universes", _, rest @ ..] => {
            session(method, rest, bytes).and_then(data)
        }
        _ => None,
    }
}

/// Open Cloud v1, after `standard-datastores`.
fn v1(method: &Method, rest: &[&str], q: &Query, bytes: u64) -> Option<Charge> {
    let store = format!(
        "{}/{}",
        q.get("datastoreName").unwrap_or(""),
        q.get("scope").unwrap_or("global")
    );
    let key = q.get("entryKey").unwrap_or("");
    let on =
        |api, types: &[T], read, write| Charge::new(api, types).on_key(&store, key, read, write);
    Some(match (method, rest) {
        (&Method::GET, []) => Charge::new(Api::ListDataStoresAsync, &[T::StandardList]),
        (&Method::GET, ["datastore", "entries"]) => {
            Charge::new(Api::ListKeysAsync, &[T::StandardList])
        }
        (m, ["datastore", "entries", "entry", tail @ ..]) => match (m, tail) {
            (&Method::GET, []) => on(Api::GetAsync, &[T::StandardRead], 0, 0),
            (&Method::POST, []) => on(Api::SetAsync, &[T::StandardWrite], 0, bytes),
            (&Method::DELETE, []) => on(Api::RemoveAsync, &[T::StandardRemove], 0, 0),
            (&Method::POST, ["increment"]) => on(Api::IncrementAsync, &[T::StandardWrite], 0, 0),
            (&Method::GET, ["versions"]) => on(Api::ListVersionsAsync, &[T::StandardList], 0, 0),
            (&Method::GET, ["versions", "version"]) => {
                on(Api::GetVersionAsync, &[T::StandardRead], 0, 0)
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// Open Cloud v2, after `data-stores`.
fn v2(method: &Method, rest: &[&str], q: &Query, bytes: u64) -> Option<Charge> {
    let (store, scope, entries) = match rest {
        [] if method == Method::GET => {
            return Some(Charge::new(Api::ListDataStoresAsync, &[T::StandardList]))
        }
        [s] => {
            return matches!(*method, Method::DELETE | Method::POST)
                .then(|| Charge::new(Api::RemoveAsync, &[T::StandardRemove]))
                .filter(|_| !s.ends_with(":snapshot"));
        }
        [s, "entries", e @ ..] => (*s, "global", e),
        [s, "scopes", sc, "entries", e @ ..] => (*s, *sc, e),
        _ => return None,
    };
    let store = format!("{}/{}", decode(store), decode(scope));
    Some(match (method, entries) {
        (&Method::GET, []) => Charge::new(Api::ListKeysAsync, &[T::StandardList]),
        (&Method::POST, []) => {
            let key = q.get("id").unwrap_or("");
            Charge::new(Api::SetAsync, &[T::StandardWrite]).on_key(&store, key, 0, bytes)
        }
        (m, [e]) => {
            let (entry, v) = verb(e);
            let (key, revision) = entry.split_once('@').unwrap_or((entry, ""));
            let key = decode(key);
            let on =
                |api, types: &[T], write| Charge::new(api, types).on_key(&store, &key, 0, write);
            match (m, v) {
                (&Method::GET, "") if revision.is_empty() => {
                    on(Api::GetAsync, &[T::StandardRead], 0)
                }
                (&Method::GET, "") => on(Api::GetVersionAsync, &[T::StandardRead], 0),
                (&Method::GET, "listRevisions") => {
                    on(Api::ListVersionsAsync, &[T::StandardList], 0)
                }
                (&Method::PATCH, "") => on(Api::SetAsync, &[T::StandardWrite], bytes),
                (&Method::DELETE, "") => on(Api::RemoveAsync, &[T::StandardRemove], 0),
                (&Method::POST, "increment") => on(Api::IncrementAsync, &[T::StandardWrite], bytes),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Open Cloud's ordered entries (v1 and v2), after `entries`.
fn ordered(method: &Method, store: &str, rest: &[&str], q: &Query, bytes: u64) -> Option<Charge> {
    Some(match (method, rest) {
        (&Method::GET, []) => Charge::new(Api::GetSortedAsync, &[T::OrderedList]),
        (&Method::POST, []) => Charge::new(Api::SetAsync, &[T::OrderedWrite]).on_key(
            store,
            q.get("id").unwrap_or(""),
            0,
            bytes,
        ),
        (m, [e]) => {
            let (entry, v) = verb(e);
            let on =
                |api, types: &[T]| Charge::new(api, types).on_key(store, &decode(entry), 0, bytes);
            match (m, v) {
                (&Method::GET, "") => on(Api::GetAsync, &[T::OrderedRead]),
                (&Method::PATCH, "") => on(Api::SetAsync, &[T::OrderedWrite]),
                (&Method::DELETE, "") => on(Api::RemoveAsync, &[T::OrderedRemove]),
                (&Method::POST, "increment") => on(Api::IncrementAsync, &[T::OrderedWrite]),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The engine API's ordered data stores, after `scopes/{scope}`.
fn engine_ordered(method: &Method, store: &str, rest: &[&str], bytes: u64) -> Option<Charge> {
    Some(match (method, rest) {
        (&Method::GET, ["entries"]) => Charge::new(Api::GetSortedAsync, &[T::OrderedList]),
        (&Method::POST, ["entries:batchGet"]) => Charge::new(Api::BatchGetAsync, &[T::OrderedRead]),
        (m, ["entries", e]) => {
            let (entry, v) = verb(e);
            let on =
                |api, types: &[T]| Charge::new(api, types).on_key(store, &decode(entry), 0, bytes);
            match (m, v) {
                (&Method::GET, "") => on(Api::GetAsync, &[T::OrderedRead]),
                (&Method::PUT, "") => on(Api::SetAsync, &[T::OrderedWrite]),
                (&Method::DELETE, "") => on(Api::RemoveAsync, &[T::OrderedRemove]),
                (&Method::POST, "increment") => on(Api::IncrementAsync, &[T::OrderedWrite]),
                (&Method::POST, "update") => {
                    on(Api::UpdateAsync, &[T::OrderedRead, T::OrderedWrite])
                }
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The session API, after `universes/{u}`.
fn session(method: &Method, rest: &[&str], bytes: u64) -> Option<Charge> {
    let keyed = |api, types: &[T], store: &str, key: &str| {
        Charge::new(api, types).on_key(&decode(store), &decode(verb(key).0), 0, bytes)
    };
    Some(match (method, rest) {
        (&Method::POST, ["servers", _, "sessions"]) => Charge::new(Api::UpdateAsync, UPDATE),
        (&Method::POST, ["servers", _, "sessions", s, k])
            if matches!(verb(k).1, "save" | "end") =>
        {
            keyed(Api::UpdateAsync, UPDATE, s, k)
        }
        (&Method::GET, ["stores", s, k]) => keyed(Api::GetAsync, &[T::StandardRead], s, k),
        (&Method::PUT, ["stores", s, k]) => keyed(Api::UpdateAsync, UPDATE, s, k),
        (&Method::POST, ["stores", s, k]) if verb(k).1 == "message" => {
            keyed(Api::UpdateAsync, UPDATE, s, k)
        }
        (&Method::GET, ["stores", s, k, "versions"]) => {
            keyed(Api::ListVersionsAsync, &[T::StandardList], s, k)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need_of(method: &Method, path_and_query: &str) -> Option<Need> {
        let (path, q) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        need(method, path, &Query::parse(q).unwrap(), &HeaderMap::new())
    }

    fn kinds(n: Option<Need>) -> (Api, Vec<T>) {
        match n {
            Some(Need::Data(c)) => (c.api, c.types),
            other => panic!("not a data request: {other:?}"),
        }
    }

    #[test]
    fn every_data_family_maps_to_its_request_type() {
        let v1 = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=s&entryKey=k";
        assert_eq!(
            kinds(need_of(&Method::GET, v1)),
            (Api::GetAsync, vec![T::StandardRead])
        );
        assert_eq!(
            kinds(need_of(&Method::POST, v1)),
            (Api::SetAsync, vec![T::StandardWrite])
        );
        let v2 = "/cloud/v2/universes/1/data-stores/s/entries/k:increment";
        assert_eq!(
            kinds(need_of(&Method::POST, v2)),
            (Api::IncrementAsync, vec![T::StandardWrite])
        );
        let v2 = "/cloud/v2/universes/1/data-stores/s/scopes/g/entries/k";
        assert_eq!(
            kinds(need_of(&Method::DELETE, v2)),
            (Api::RemoveAsync, vec![T::StandardRemove])
        );
        let o = "/cloud/v2/universes/1/ordered-data-stores/s/scopes/g/entries";
        assert_eq!(
            kinds(need_of(&Method::GET, o)),
            (Api::GetSortedAsync, vec![T::OrderedList])
        );
        let e = "/engine-api/v1/universes/1/ordered-data-stores/s/scopes/g/entries/k:update";
        assert_eq!(
            kinds(need_of(&Method::POST, e)).1,
            vec![T::OrderedRead, T::OrderedWrite]
        );
        let s = "/session-api/v1/universes/1/servers/j/sessions/Store/Player_1:save";
        assert_eq!(
            kinds(need_of(&Method::POST, s)),
            (Api::UpdateAsync, UPDATE.to_vec())
        );
        let m = "/engine-api/v1/universes/1/memory-store/queues/q/items:add";
        assert_eq!(need_of(&Method::POST, m), Some(Need::Memory(1)));
        let m = "/cloud/v2/universes/1/memory-store/sorted-maps/m/items";
        assert_eq!(need_of(&Method::GET, m), Some(Need::Memory(1)));
        assert_eq!(
            need_of(&Method::POST, "/messaging-service/v1/universes/1/topics/t"),
            None
        );
        assert_eq!(
            need_of(&Method::POST, "/session-api/v1/universes/1/servers/j"),
            None
        );
        assert_eq!(
            need_of(&Method::POST, "/cloud/v2/universes/1/data-stores:snapshot"),
            None
        );
    }

    #[test]
    fn a_job_header_or_a_session_path_names_a_game_server() {
        let mut h = HeaderMap::new();
        assert_eq!(caller(&h, "/datastores/v1/universes/1"), Caller::OpenCloud);
        let path = "/session-api/v1/universes/1/servers/abc/sessions";
        assert_eq!(
            caller(&h, path),
            Caller::GameServer {
                job: "abc".into(),
                players: 0
            }
        );
        h.insert(JOB_ID_HEADER, "j1".parse().unwrap());
        h.insert(PLAYERS_HEADER, "3".parse().unwrap());
        assert_eq!(
            caller(&h, "/x"),
            Caller::GameServer {
                job: "j1".into(),
                players: 3
            }
        );
    }
}
