//! Roblox's version id format.
//!
//! Owns: formatting and parsing `{key created}.{seq}.{version created}.01`,
//! where the times are .NET `DateTime` ticks (100 ns since 0001-01-01 UTC)
//! in 16 uppercase hex digits and the sequence is 10 uppercase hex digits.
//! Invariants: `parse(format(x)) == x` for every time in the representable
//! range; ids are compared by their parts, so case does not matter when
//! parsing.

use profilestore_plugin_api::{Seq, VersionInfo};

/// Ticks between 0001-01-01 and 1970-01-01.
const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;
const TICKS_PER_MS: i64 = 10_000;

/// The parts of a version id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionId {
    /// When the key was created, epoch ms.
    pub key_created_ms: i64,
    /// The write sequence number.
    pub seq: Seq,
    /// When the version was created, epoch ms.
    pub created_ms: i64,
}

impl VersionId {
    /// The id of a stored version.
    pub fn of(info: &VersionInfo) -> Self {
        VersionId {
            key_created_ms: info.key_created_ms,
            seq: info.seq,
            created_ms: info.created_ms,
        }
    }

    /// Whether this id names exactly that stored version.
    pub fn names(&self, info: &VersionInfo) -> bool {
        *self == VersionId::of(info)
    }

    /// Parses an id; `None` when it is not in Roblox's format.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (a, b, c, d) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || a.len() != 16 || b.len() != 10 || c.len() != 16 || d != "01" {
            return None;
        }
        let hex = |s: &str| -> Option<u64> {
            s.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u64::from_str_radix(s, 16).ok())
                .flatten()
        };
        let key_created = i64::try_from(hex(a)?).ok()?;
        let created = i64::try_from(hex(c)?).ok()?;
        Some(VersionId {
            key_created_ms: ticks_to_ms(key_created),
            seq: hex(b)?,
            created_ms: ticks_to_ms(created),
        })
    }
}

impl std::fmt::Display for VersionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:016X}.{:010X}.{:016X}.01",
            ms_to_ticks(self.key_created_ms),
            self.seq,
            ms_to_ticks(self.created_ms)
        )
    }
}

/// Epoch ms to .NET ticks (saturating).
pub fn ms_to_ticks(ms: i64) -> i64 {
    ms.saturating_mul(TICKS_PER_MS)
        .saturating_add(TICKS_AT_UNIX_EPOCH)
}

/// .NET ticks to epoch ms (rounding down).
pub fn ticks_to_ms(ticks: i64) -> i64 {
    (ticks - TICKS_AT_UNIX_EPOCH).div_euclid(TICKS_PER_MS)
}

/// The version id string of a stored version.
pub fn format_version(info: &VersionInfo) -> String {
    // Written digit by digit (the `Display` form, without `format!`'s
    // machinery): every read and write answers with one.
    let mut out = String::with_capacity(46);
    push_hex(&mut out, ms_to_ticks(info.key_created_ms) as u64, 16);
    out.push('.');
    push_hex(&mut out, info.seq, 10);
    out.push('.');
    push_hex(&mut out, ms_to_ticks(info.created_ms) as u64, 16);
    out.push_str(".01");
    out
}

/// Appends `v` in uppercase hex, zero-padded to at least `width` digits.
fn push_hex(out: &mut String, v: u64, width: u32) {
    let digits = (64 - v.leading_zeros()).div_ceil(4).max(width);
    for i in (0..digits).rev() {
        let d = ((v >> (4 * i)) & 0xF) as u8;
        out.push(char::from(if d < 10 { b'0' + d } else { b'A' + d - 10 }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_the_documented_example() {
        // 08D9E6A3F2188CFF is 2022-02-02T23:30:06.5388799Z (the spec's sample).
        let id =
            VersionId::parse("08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01").expect("parses");
        assert_eq!(id.key_created_ms, 1_643_844_606_538);
        assert_eq!(id.seq, 1);
        assert_eq!(id.created_ms, id.key_created_ms);
    }

    #[test]
    fn formats_like_roblox() {
        let id = VersionId {
            key_created_ms: 1_643_844_606_538,
            seq: 0x16,
            created_ms: 1_643_844_606_538,
        };
        assert_eq!(
            id.to_string(),
            "08D9E6A3F2186AA0.0000000016.08D9E6A3F2186AA0.01"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "1",
            "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF",
            "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.02",
            "08D9E6A3F2188CFG.0000000001.08D9E6A3F2188CFF.01",
            "08D9E6A3F2188CFF.000000001.08D9E6A3F2188CFF.01",
            "+8D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01",
            "08D9E6A3F2188CFF.0000000001.08D9E6A3F2188CFF.01.01",
        ] {
            assert_eq!(VersionId::parse(bad), None, "{bad}");
        }
    }

    proptest! {
        /// The digit-by-digit form is the `Display` form, for any parts
        /// (negative and saturated ticks, sequences past 10 digits).
        #[test]
        fn format_version_matches_display(key_created in any::<i64>(), seq in any::<u64>(), created in any::<i64>()) {
            let info = VersionInfo { key_created_ms: key_created, seq, created_ms: created, deleted: false, content_length: 0 };
            prop_assert_eq!(format_version(&info), VersionId::of(&info).to_string());
        }
    }

    proptest! {
        #[test]
        fn round_trips(key_created in 0i64..253_402_300_799_000, seq in 0u64..0xFF_FFFF_FFFF, created in 0i64..253_402_300_799_000) {
            let id = VersionId { key_created_ms: key_created, seq, created_ms: created };
            prop_assert_eq!(VersionId::parse(&id.to_string()), Some(id));
            prop_assert_eq!(VersionId::parse(&id.to_string().to_lowercase()), Some(id));
        }
    }
}
