//! Whole-store images: everything a plugin holds, as plain values, for the
//! emulator's snapshots
//! ([`export_image`](crate::StoragePlugin::export_image) and
//! [`import_image`](crate::StoragePlugin::import_image)) and the wipe of
//! one universe ([`purge_universe`](crate::StoragePlugin::purge_universe)).
//!
//! Owns: [`StoreImage`] and its parts, and the rule deciding which
//! metadata records belong to a universe ([`meta_universe`]). Invariants a
//! plugin guarantees (each checked by the conformance suite):
//! - an export holds every standard entry with every stored version (its
//!   value, user ids, metadata, sequence and times), the entry's highest
//!   sequence ever assigned (so sequence numbers never repeat after a
//!   restore) and whether its latest version was removed, every data
//!   store's times, every ordered entry and every metadata record;
//! - an import replaces *everything* the plugin holds with the image, in
//!   one transaction of the backing store: a failed import changes nothing,
//!   and exporting right after an import returns the image imported;
//! - `purge_universe` removes, in one transaction, the universe's standard
//!   entries and data store rows, its ordered entries and the metadata
//!   records [`meta_universe`] gives to it, and nothing else;
//! - every list of an image is in its key's order (entries and ordered
//!   entries by [`EntryId`], stores by [`StoreId`], metadata by name).
//!
//! Images are plugin-neutral: one exported from the memory plugin imports
//! into SQLite. A data store's `updated_ms` is carried by its entries
//! ([`EntryImage::updated_ms`]) in the durable plugins and by the store
//! itself in memory, so an image crossing plugins may see a store's
//! updated time move to its latest entry's.
//!
//! Exports are taken without blocking writers on every plugin except
//! SQLite (one read transaction); an export made while another caller
//! commits is consistent per entry, not across entries, on memory and
//! sled. The emulator takes snapshots between tests, when nothing writes.

use crate::{EntryId, MetaRecord, Seq, StoreId, VersionRecord};

/// Everything a plugin holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreImage {
    /// Every standard data store's times, by store.
    pub stores: Vec<StoreTimes>,
    /// Every standard entry, by entry id (also those whose versions were
    /// all removed: their sequence counter still counts).
    pub entries: Vec<EntryImage>,
    /// Every ordered entry, by entry id.
    pub ordered: Vec<OrderedEntry>,
    /// Every metadata record, by name.
    pub meta: Vec<MetaRecord>,
}

/// The times of one standard data store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreTimes {
    /// The store.
    pub store: StoreId,
    /// First write into it, epoch ms.
    pub created_ms: i64,
    /// Latest write into it, epoch ms.
    pub updated_ms: i64,
}

/// One standard entry with all of its stored versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryImage {
    /// The entry.
    pub entry: EntryId,
    /// Highest sequence ever assigned.
    pub max_seq: Seq,
    /// The current latest version (`None` after it was removed).
    pub latest: Option<Seq>,
    /// Time of the entry's last commit, epoch ms.
    pub updated_ms: i64,
    /// Every stored version, by ascending sequence.
    pub versions: Vec<VersionRecord>,
}

/// One ordered entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedEntry {
    /// The entry (universe, ordered data store, scope, key).
    pub entry: EntryId,
    /// Its value.
    pub value: i64,
}

impl StoreImage {
    /// Puts every list in its key's order (plugins call it at the end of
    /// an export; cheap on lists already in order).
    pub fn sort(&mut self) {
        self.stores.sort_by(|a, b| a.store.cmp(&b.store));
        self.entries.sort_by(|a, b| a.entry.cmp(&b.entry));
        for e in &mut self.entries {
            e.versions.sort_by_key(|v| v.info.seq);
        }
        self.ordered.sort_by(|a, b| a.entry.cmp(&b.entry));
        self.meta.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Stored versions, tombstones included.
    pub fn version_count(&self) -> u64 {
        self.entries.iter().map(|e| e.versions.len() as u64).sum()
    }

    /// Bytes of values, user metadata and metadata records held (the size
    /// of what the image keeps in memory, roughly).
    pub fn bytes(&self) -> u64 {
        let versions: usize = self
            .entries
            .iter()
            .flat_map(|e| &e.versions)
            .map(|v| v.value.len() + v.metadata.len() + 8 * v.user_ids.len() + 48)
            .sum();
        let keys: usize = self
            .entries
            .iter()
            .map(|e| &e.entry)
            .chain(self.ordered.iter().map(|o| &o.entry))
            .map(|e| e.store.name.len() + e.scope.len() + e.key.len() + 32)
            .sum();
        let meta: usize = self.meta.iter().map(|m| m.name.len() + m.value.len()).sum();
        (versions + keys + meta) as u64
    }
}

/// The universe a metadata record belongs to, if any: its name's second
/// `/`-separated segment when that is a universe id in decimal
/// (`datastore-state/{universe}/{name}`, `snapshot/{universe}`). Layers
/// above the plugins name per-universe records this way so that
/// [`StoragePlugin::purge_universe`](crate::StoragePlugin::purge_universe)
/// removes them; any other name belongs to no universe.
pub fn meta_universe(name: &str) -> Option<u64> {
    let (_, rest) = name.split_once('/')?;
    let segment = rest.split('/').next()?;
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // No leading zeros: `snapshot/01` is not universe 1's.
    if segment.len() > 1 && segment.starts_with('0') {
        return None;
    }
    segment.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::meta_universe;

    #[test]
    fn meta_names_carry_their_universe_in_the_second_segment() {
        assert_eq!(meta_universe("datastore-state/7/Players"), Some(7));
        assert_eq!(meta_universe("datastore-state/7/a/b"), Some(7));
        assert_eq!(meta_universe("snapshot/12"), Some(12));
        assert_eq!(meta_universe("snapshot/0"), Some(0));
        assert_eq!(meta_universe("snapshot/07"), None);
        assert_eq!(meta_universe("snapshot/"), None);
        assert_eq!(meta_universe("snapshot/x1"), None);
        assert_eq!(meta_universe("snapshot"), None);
        assert_eq!(meta_universe("format/+1"), None);
    }
}
