//! Whole-store images of the memory plugin: export, import and the purge
//! of one universe.
//!
//! Owns: converting [`State`] to and from a [`StoreImage`]. Invariants:
//! each runs under the plugin's one lock, so an import or a purge is seen
//! whole or not at all; an import builds the new state before taking the
//! lock and swaps it in.

use std::collections::BTreeMap;

use profilestore_plugin_api::image::meta_universe;
use profilestore_plugin_api::{
    EntryId, EntryImage, OrderedEntry, OrderedRecord, StoreImage, StoreTimes as TimesImage,
};

use crate::{EntryState, OrderedScope, State, StoreTimes};

/// The image of `state`.
pub(crate) fn export(state: &State) -> StoreImage {
    let stores = state
        .stores
        .iter()
        .map(|(store, t)| TimesImage {
            store: store.clone(),
            created_ms: t.created_ms,
            updated_ms: t.updated_ms,
        })
        .collect();
    let entries = state
        .entries
        .iter()
        .map(|((store, scope, key), e)| EntryImage {
            entry: EntryId {
                store: store.clone(),
                scope: scope.clone(),
                key: key.clone(),
            },
            max_seq: e.max_seq,
            latest: e.latest,
            updated_ms: e
                .versions
                .values()
                .map(|v| v.info.created_ms)
                .max()
                .unwrap_or(0),
            versions: e.versions.values().cloned().collect(),
        })
        .collect();
    let ordered = state
        .ordered
        .iter()
        .flat_map(|((store, scope), s)| {
            s.values.iter().map(move |(key, value)| OrderedEntry {
                entry: EntryId {
                    store: store.clone(),
                    scope: scope.clone(),
                    key: key.clone(),
                },
                value: *value,
            })
        })
        .collect();
    let meta = state
        .meta
        .iter()
        .map(|(name, value)| profilestore_plugin_api::MetaRecord {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    let mut image = StoreImage {
        stores,
        entries,
        ordered,
        meta,
    };
    image.sort();
    image
}

/// The state `image` describes.
pub(crate) fn import(image: &StoreImage) -> State {
    let mut state = State::default();
    for t in &image.stores {
        state.stores.insert(
            t.store.clone(),
            StoreTimes {
                created_ms: t.created_ms,
                updated_ms: t.updated_ms,
            },
        );
    }
    for e in &image.entries {
        let id = &e.entry;
        let versions: BTreeMap<_, _> = e.versions.iter().map(|v| (v.info.seq, v.clone())).collect();
        state.entries.insert(
            (id.store.clone(), id.scope.clone(), id.key.clone()),
            EntryState {
                max_seq: e.max_seq,
                latest: e.latest,
                versions,
            },
        );
    }
    for o in &image.ordered {
        let id = &o.entry;
        let scope: &mut OrderedScope = state
            .ordered
            .entry((id.store.clone(), id.scope.clone()))
            .or_default();
        scope.values.insert(id.key.clone(), o.value);
        scope.index.insert(OrderedRecord {
            value: o.value,
            key: id.key.clone(),
        });
    }
    for m in &image.meta {
        state.meta.insert(m.name.clone(), m.value.clone());
    }
    state
}

/// Removes everything of `universe`; returns the entries removed.
pub(crate) fn purge_universe(state: &mut State, universe: u64) -> u64 {
    let before = state.entries.len() + ordered_count(state);
    state.entries.retain(|(s, _, _), _| s.universe != universe);
    state.stores.retain(|s, _| s.universe != universe);
    state.ordered.retain(|(s, _), _| s.universe != universe);
    state
        .meta
        .retain(|name, _| meta_universe(name) != Some(universe));
    (before - state.entries.len() - ordered_count(state)) as u64
}

fn ordered_count(state: &State) -> usize {
    state.ordered.values().map(|s| s.values.len()).sum()
}
