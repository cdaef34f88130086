//! The operations a fault can match, by name.
//!
//! Owns: [`Operation`] and its wire names. Invariants: every name is
//! unique and stable (tests and scripts spell them); each operation
//! belongs to one [`Family`] and says whether it writes (what `ambiguous`
//! needs).
//!
//! Names: standard data stores `get`, `set`, `update`, `increment`,
//! `remove`, `list` (keys), `listVersions`, `getVersion` (also by time);
//! ordered data stores `orderedGet` (also batch reads and the read of an
//! `UpdateAsync`), `orderedSet` (every write of a value: `SetAsync`, the
//! write of `UpdateAsync`, conditional writes), `orderedIncrement`,
//! `orderedRemove` (also an `UpdateAsync` returning nil), `orderedList`; memory stores `sortedMapGet`,
//! `sortedMapSet`, `sortedMapRemove`, `sortedMapList`, `queueAdd`,
//! `queueRead`, `queueRemove`, `hashMapGet`, `hashMapSet`,
//! `hashMapRemove`, `hashMapList` (an `UpdateAsync` is a get then a set); MessagingService
//! `publish`.

/// Which service an operation belongs to (it decides the error's text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Standard data stores.
    Standard,
    /// Ordered data stores.
    Ordered,
    /// Memory stores.
    Memory,
    /// MessagingService.
    Messaging,
}

macro_rules! operations {
    ($($variant:ident = $name:literal, $family:ident, $write:literal, $kind:literal;)*) => {
        /// A call a fault can match.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Operation {
            /// Every operation.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            /// Its wire name.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$variant => $name),* }
            }

            /// Its service.
            pub fn family(self) -> Family {
                match self { $(Operation::$variant => Family::$family),* }
            }

            /// True when it changes stored data.
            pub fn writes(self) -> bool {
                match self { $(Operation::$variant => $write),* }
            }

            /// Roblox's request type word (`Read`, `Write`, `List`, `Remove`).
            pub fn kind(self) -> &'static str {
                match self { $(Operation::$variant => $kind),* }
            }
        }
    };
}

operations! {
    Get = "get", Standard, false, "Read";
    Set = "set", Standard, true, "Write";
    Update = "update", Standard, true, "Write";
    Increment = "increment", Standard, true, "Write";
    Remove = "remove", Standard, true, "Remove";
    List = "list", Standard, false, "List";
    ListVersions = "listVersions", Standard, false, "List";
    GetVersion = "getVersion", Standard, false, "Read";
    OrderedGet = "orderedGet", Ordered, false, "Read";
    OrderedSet = "orderedSet", Ordered, true, "Write";
    OrderedIncrement = "orderedIncrement", Ordered, true, "Write";
    OrderedRemove = "orderedRemove", Ordered, true, "Remove";
    OrderedList = "orderedList", Ordered, false, "List";
    SortedMapGet = "sortedMapGet", Memory, false, "Read";
    SortedMapSet = "sortedMapSet", Memory, true, "Write";
    SortedMapRemove = "sortedMapRemove", Memory, true, "Remove";
    SortedMapList = "sortedMapList", Memory, false, "List";
    QueueAdd = "queueAdd", Memory, true, "Write";
    QueueRead = "queueRead", Memory, true, "Read";
    QueueRemove = "queueRemove", Memory, true, "Remove";
    HashMapGet = "hashMapGet", Memory, false, "Read";
    HashMapSet = "hashMapSet", Memory, true, "Write";
    HashMapRemove = "hashMapRemove", Memory, true, "Remove";
    HashMapList = "hashMapList", Memory, false, "List";
    Publish = "publish", Messaging, true, "Write";
}

impl Operation {
    /// The ordered data store write of `value` (`None` removes).
    pub fn ordered_write(value: Option<i64>) -> Operation {
        if value.is_some() {
            Operation::OrderedSet
        } else {
            Operation::OrderedRemove
        }
    }

    /// The operation named `name`.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL.iter().copied().find(|o| o.name() == name)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.name()), Some(*op));
        }
        let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
        assert_eq!(Operation::parse("nope"), None);
    }
}
