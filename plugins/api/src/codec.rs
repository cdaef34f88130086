//! The compact on-disk encoding of a [`VersionRecord`], shared by the
//! persistent plugins.
//!
//! Layout: one format byte ([`FORMAT_VERSION`]), then a `postcard` header
//! (info, user ids, metadata), then the value's JSON text as raw bytes. The
//! value is not re-encoded, so a 4 MB value costs one copy. A record whose
//! format byte is not [`FORMAT_VERSION`] is refused with
//! [`StorageError::UnsupportedFormat`], never guessed at.

use serde::{Deserialize, Serialize};

use crate::{StorageError, StorageResult, VersionInfo, VersionRecord};

/// The record format this build reads and writes. Plugins store it in their
/// own metadata too, so an unknown database is refused at open.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    info: VersionInfo,
    user_ids: Vec<i64>,
    #[serde(borrow)]
    metadata: &'a str,
}

#[derive(Serialize)]
struct HeaderRef<'a> {
    info: &'a VersionInfo,
    user_ids: &'a [i64],
    metadata: &'a str,
}

/// Encodes a record: format byte, header, value bytes.
pub fn encode_record(record: &VersionRecord) -> Vec<u8> {
    let header = HeaderRef {
        info: &record.info,
        user_ids: &record.user_ids,
        metadata: &record.metadata,
    };
    let mut out = Vec::with_capacity(record.value.len() + record.metadata.len() + 48);
    out.push(FORMAT_VERSION as u8);
    // postcard only fails on writer errors; a Vec never fails.
    out = postcard::to_extend(&header, out).expect("encoding into a Vec cannot fail");
    out.extend_from_slice(record.value.as_bytes());
    out
}

/// Checks the format byte and returns what follows it.
fn body<'a>(bytes: &'a [u8], what: &str) -> StorageResult<&'a [u8]> {
    let (&format, rest) = bytes.split_first().ok_or_else(|| StorageError::Corrupt {
        what: what.to_owned(),
        detail: "empty record".to_owned(),
    })?;
    if u32::from(format) != FORMAT_VERSION {
        return Err(StorageError::UnsupportedFormat {
            found: u32::from(format),
            supported: FORMAT_VERSION,
        });
    }
    Ok(rest)
}

fn bad_header(what: &str, e: &postcard::Error) -> StorageError {
    StorageError::Corrupt {
        what: what.to_owned(),
        detail: format!("bad header: {e}"),
    }
}

/// Decodes a record written by [`encode_record`]. `what` names the record in
/// error messages.
pub fn decode_record(bytes: &[u8], what: &str) -> StorageResult<VersionRecord> {
    let (header, value) = postcard::take_from_bytes::<Header<'_>>(body(bytes, what)?)
        .map_err(|e| bad_header(what, &e))?;
    let value = std::str::from_utf8(value)
        .map_err(|e| StorageError::Corrupt {
            what: what.to_owned(),
            detail: format!("value is not UTF-8: {e}"),
        })?
        .to_owned();
    Ok(VersionRecord {
        info: header.info,
        value,
        user_ids: header.user_ids,
        metadata: header.metadata.to_owned(),
    })
}

/// Decodes only the [`VersionInfo`] at the front of a record, without
/// copying the value (for listings).
pub fn decode_info(bytes: &[u8], what: &str) -> StorageResult<VersionInfo> {
    // The header's first field is the info, so it decodes on its own.
    postcard::take_from_bytes::<VersionInfo>(body(bytes, what)?)
        .map(|(info, _)| info)
        .map_err(|e| bad_header(what, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VersionRecord {
        VersionRecord {
            info: VersionInfo {
                seq: 7,
                key_created_ms: 1_700_000_000_000,
                created_ms: 1_700_000_100_000,
                deleted: false,
                content_length: 13,
            },
            value: r#"{"Coins":100}"#.to_owned(),
            user_ids: vec![1, 2312310],
            metadata: r#"{"a":"b"}"#.to_owned(),
        }
    }

    #[test]
    fn round_trips() {
        let r = sample();
        assert_eq!(decode_record(&encode_record(&r), "t").unwrap(), r);
    }

    #[test]
    fn decodes_the_info_alone() {
        let r = sample();
        assert_eq!(decode_info(&encode_record(&r), "t").unwrap(), r.info);
    }

    #[test]
    fn refuses_unknown_format() {
        let mut bytes = encode_record(&sample());
        bytes[0] = 9;
        match decode_record(&bytes, "t") {
            Err(StorageError::UnsupportedFormat {
                found: 9,
                supported,
            }) => {
                assert_eq!(supported, FORMAT_VERSION);
            }
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }

    #[test]
    fn refuses_truncated_and_empty() {
        assert!(matches!(
            decode_record(&[], "t"),
            Err(StorageError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_record(&[FORMAT_VERSION as u8, 0xff], "t"),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn is_compact() {
        let r = sample();
        // Header overhead stays small next to the value.
        assert!(encode_record(&r).len() < r.value.len() + r.metadata.len() + 32);
    }
}
