//! The registry of one engine's active sessions: by key, and in
//! activation order for auto-save.
//!
//! Owns: [`Registry`] and [`Activated`]. Invariants: both maps hold the
//! same sessions (`by_key` maps a queue key to the session's activation
//! number, the key of `by_seq`); a key holds at most one session (a new
//! registration replaces the old one in both maps); every operation is a
//! map lookup or update, so its cost grows with the log of the number of
//! sessions, never linearly (the auto-save loop asks for one session per
//! save).

use std::collections::{BTreeMap, HashMap};

/// A profile handle's place in the activation order (the auto-save order).
pub(crate) trait Activated {
    /// Its activation number: unique within the engine, in activation order.
    fn activation_seq(&self) -> u64;
}

/// The active sessions, by key and in activation order.
pub(super) struct Registry<P> {
    by_key: HashMap<String, u64>,
    by_seq: BTreeMap<u64, P>,
}

impl<P> Default for Registry<P> {
    fn default() -> Self {
        Registry {
            by_key: HashMap::new(),
            by_seq: BTreeMap::new(),
        }
    }
}

impl<P> Registry<P> {
    /// The session of `qkey`.
    pub(super) fn get(&self, qkey: &str) -> Option<&P> {
        self.by_key.get(qkey).and_then(|seq| self.by_seq.get(seq))
    }

    pub(super) fn contains(&self, qkey: &str) -> bool {
        self.by_key.contains_key(qkey)
    }

    pub(super) fn len(&self) -> usize {
        self.by_seq.len()
    }

    /// Registers `profile` under `qkey`, replacing a session it had.
    pub(super) fn insert(&mut self, qkey: String, profile: P)
    where
        P: Activated,
    {
        let seq = profile.activation_seq();
        if let Some(old) = self.by_key.insert(qkey, seq) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(seq, profile);
    }

    /// Unregisters the session of `qkey`, if any.
    pub(super) fn remove(&mut self, qkey: &str) {
        if let Some(seq) = self.by_key.remove(qkey) {
            self.by_seq.remove(&seq);
        }
    }

    /// Every session, in activation order; the registry is left empty.
    pub(super) fn drain(&mut self) -> Vec<P> {
        self.by_key.clear();
        std::mem::take(&mut self.by_seq).into_values().collect()
    }

    /// The first session activated at or after activation number `from`,
    /// else (wrapping round) the first of all, if `ready` accepts it.
    /// Sessions activated later were loaded later, so when the one at
    /// `from` is not ready (too young to save), none after it is.
    pub(super) fn next_from(&self, from: u64, ready: impl Fn(&P) -> bool) -> Option<(u64, &P)> {
        let at = self.by_seq.range(from..).next();
        at.filter(|(_, p)| ready(p))
            .or_else(|| self.by_seq.iter().next().filter(|(_, p)| ready(p)))
            .map(|(seq, p)| (*seq, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Held(u64);

    impl Activated for Held {
        fn activation_seq(&self) -> u64 {
            self.0
        }
    }

    fn registry(sessions: &[(&str, u64)]) -> Registry<Held> {
        let mut r = Registry::default();
        for (key, seq) in sessions {
            r.insert((*key).to_owned(), Held(*seq));
        }
        r
    }

    fn next(r: &Registry<Held>, from: u64, ready: impl Fn(&Held) -> bool) -> Option<u64> {
        r.next_from(from, ready).map(|(seq, _)| seq)
    }

    #[test]
    fn the_next_session_goes_round_in_activation_order() {
        let mut r = registry(&[("c", 7), ("a", 2), ("b", 5)]);
        let all = |_: &Held| true;
        assert_eq!(next(&r, 0, all), Some(2));
        assert_eq!(next(&r, 3, all), Some(5));
        assert_eq!(next(&r, 6, all), Some(7));
        assert_eq!(next(&r, 8, all), Some(2), "wraps round to the oldest");
        r.remove("b");
        assert_eq!(next(&r, 3, all), Some(7), "an ended session is skipped");
        assert_eq!((r.len(), r.get("a"), r.get("b")), (2, Some(&Held(2)), None));
    }

    #[test]
    fn sessions_too_young_to_save_are_passed_over_for_the_oldest() {
        let r = registry(&[("a", 1), ("b", 2), ("c", 3)]);
        let old = |p: &Held| p.0 < 3;
        assert_eq!(next(&r, 3, old), Some(1), "the young tail wraps round");
        assert_eq!(next(&r, 2, old), Some(2));
        assert_eq!(next(&r, 0, |_: &Held| false), None, "none is ready");
        assert_eq!(next(&Registry::<Held>::default(), 0, |_| true), None);
    }

    #[test]
    fn a_new_session_of_a_key_replaces_the_old_one_in_both_orders() {
        let mut r = registry(&[("a", 1), ("b", 2)]);
        r.insert("a".to_owned(), Held(3));
        assert_eq!(r.len(), 2);
        assert_eq!(next(&r, 0, |_| true), Some(2), "activation 1 is gone");
        assert!(r.contains("a") && r.get("a") == Some(&Held(3)));
        assert_eq!(r.drain(), vec![Held(2), Held(3)]);
        assert_eq!((r.len(), r.contains("a")), (0, false));
    }
}
