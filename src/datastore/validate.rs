//! Roblox's DataStore limits, checked before anything is stored.
//!
//! Owns: names, keys, scopes, values, metadata and user ids, with the error
//! codes of section 2.1/2.6 of the reference. Invariants: a check either
//! passes and returns the exact text to store, or fails with the code and
//! a message saying which part is at fault; nothing here touches storage.

use serde_json::{Map, Value};

use super::{DataStoreError, DsResult};

/// Longest key, data store name or scope, in bytes of UTF-8. Roblox's docs
/// call the limit "50 characters" but measure it with `string.len`, which
/// counts bytes (so 25 `é` fit and 26 do not).
pub const MAX_NAME_BYTES: usize = 50;
/// Longest serialized value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4_194_304;
/// Most user ids on one version.
pub const MAX_USER_IDS: usize = 4;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 50;
/// Longest serialized metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 250;
/// Largest total of metadata keys and serialized values, in characters.
pub const MAX_METADATA_TOTAL_CHARS: usize = 300;

/// Checks a key: 1..=50 bytes of UTF-8 (101, 102).
pub fn key(key: &str) -> DsResult<()> {
    if key.is_empty() {
        Err(DataStoreError::KeyNameEmpty)
    } else if key.len() > MAX_NAME_BYTES {
        Err(DataStoreError::KeyNameLimit {
            bytes: key.len(),
            chars: key.chars().count(),
        })
    } else {
        Ok(())
    }
}

fn name_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        Some("it is empty".to_owned())
    } else if text.len() > MAX_NAME_BYTES {
        Some(format!(
            "it is {} bytes in {} characters",
            text.len(),
            text.chars().count()
        ))
    } else {
        None
    }
}

/// Checks a data store name: 1..=50 bytes of UTF-8.
pub fn data_store_name(name: &str) -> DsResult<()> {
    match name_problem(name) {
        Some(p) => Err(DataStoreError::InvalidDataStoreName(p)),
        None => Ok(()),
    }
}

/// Checks a scope: 1..=50 bytes of UTF-8.
pub fn scope(scope: &str) -> DsResult<()> {
    match name_problem(scope) {
        Some(p) => Err(DataStoreError::InvalidScope(format!(
            "`{scope}` is not a valid scope: {p}; scopes are 1 to 50 bytes of UTF-8"
        ))),
        None => Ok(()),
    }
}

/// Serializes a value compactly and checks its size (105).
pub fn value(value: &Value) -> DsResult<String> {
    let text = serde_json::to_string(value).map_err(|e| DataStoreError::CantStoreValue {
        path: "root".to_owned(),
        reason: e.to_string(),
    })?;
    if text.len() > MAX_VALUE_BYTES {
        return Err(DataStoreError::ValueTooLarge {
            size: text.len(),
            limit: MAX_VALUE_BYTES,
        });
    }
    Ok(text)
}

/// Checks a float entering a value: NaN and infinities cannot be stored (104).
pub fn check_f64(path: &str, v: f64) -> DsResult<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DataStoreError::CantStoreValue {
            path: path.to_owned(),
            reason: if v.is_nan() { "NaN" } else { "infinity" }.to_owned(),
        })
    }
}

/// Parses value text from outside (HTTP bodies, the CLI): valid UTF-8,
/// valid JSON (no `NaN`/`Infinity`), at most 4 MiB (104, 105).
pub fn parse_value_text(bytes: &[u8]) -> DsResult<Value> {
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(DataStoreError::ValueTooLarge {
            size: bytes.len(),
            limit: MAX_VALUE_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DataStoreError::CantStoreValue {
        path: format!("byte {}", e.valid_up_to()),
        reason: "strings that are invalid UTF-8".to_owned(),
    })?;
    serde_json::from_str(text).map_err(|e| {
        // serde_json's message ends with its position; it is said once,
        // in `at` (as a column only for one-line text, such as an export line).
        let at = if text.contains('\n') {
            format!("line {} column {}", e.line(), e.column())
        } else {
            format!("column {}", e.column())
        };
        let message = e.to_string();
        let message = message
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&message);
        let reason = if contains_token(text, "NaN") {
            "NaN".to_owned()
        } else if contains_token(text, "Infinity") {
            "infinity".to_owned()
        } else {
            format!("text that is not valid JSON ({message})")
        };
        DataStoreError::CantStoreValue { path: at, reason }
    })
}

/// [`parse_value_text`] for text that is already a Rust string (so valid
/// UTF-8): JSON without `NaN`/`Infinity`, at most 4 MiB (104, 105).
pub fn parse_value_str(text: &str) -> DsResult<Value> {
    parse_value_text(text.as_bytes())
}

/// Whether `token` appears outside a JSON string (a rough scan, used only to
/// word an error message).
fn contains_token(text: &str, token: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if text[i..].starts_with(token) {
            return true;
        }
    }
    false
}

/// Checks metadata (511) and returns its JSON text.
pub fn metadata(metadata: &Map<String, Value>) -> DsResult<String> {
    let mut total = 0;
    for (k, v) in metadata {
        let key_chars = k.chars().count();
        if key_chars > MAX_METADATA_KEY_CHARS {
            return Err(DataStoreError::AttributeSizeTooLarge {
                limit: MAX_METADATA_KEY_CHARS,
                detail: format!("key `{k}` is {key_chars} characters"),
            });
        }
        let value_chars = serde_json::to_string(v).map_or(0, |t| t.chars().count());
        if value_chars > MAX_METADATA_VALUE_CHARS {
            return Err(DataStoreError::AttributeSizeTooLarge {
                limit: MAX_METADATA_VALUE_CHARS,
                detail: format!("value of `{k}` is {value_chars} characters"),
            });
        }
        total += key_chars + value_chars;
    }
    if total > MAX_METADATA_TOTAL_CHARS {
        return Err(DataStoreError::AttributeSizeTooLarge {
            limit: MAX_METADATA_TOTAL_CHARS,
            detail: format!("keys and values total {total} characters"),
        });
    }
    Ok(serde_json::to_string(metadata).unwrap_or_else(|_| "{}".to_owned()))
}

/// Metadata from JSON input: must be an object (513), then as [`metadata`].
pub fn metadata_from_json(value: &Value) -> DsResult<Map<String, Value>> {
    match value {
        Value::Object(map) => {
            metadata(map)?;
            Ok(map.clone())
        }
        Value::Null => Ok(Map::new()),
        _ => Err(DataStoreError::AttributeFormatError("metadata")),
    }
}

/// Checks user ids: at most 4 (512).
pub fn user_ids(ids: &[i64]) -> DsResult<()> {
    if ids.len() > MAX_USER_IDS {
        Err(DataStoreError::UserIdLimitExceeded { count: ids.len() })
    } else {
        Ok(())
    }
}

/// The stored texts of a write that passed every check.
#[derive(Debug)]
pub(crate) struct CheckedWrite {
    /// The value as compact JSON.
    pub(crate) value: String,
    /// The metadata as JSON (empty when there is none).
    pub(crate) metadata: String,
}

/// Checks a whole write (user ids, then metadata, then the value), in the
/// same order for every backend, so a bad call fails the same way locally
/// and remotely.
pub(crate) fn write(value_in: &Value, options: &super::WriteOptions) -> DsResult<CheckedWrite> {
    user_ids(&options.user_ids)?;
    let metadata = metadata(&options.metadata)?;
    Ok(CheckedWrite {
        value: value(value_in)?,
        metadata,
    })
}

/// User ids from JSON input: an array of integers (513, 512).
pub fn user_ids_from_json(value: &Value) -> DsResult<Vec<i64>> {
    let items = match value {
        Value::Array(items) => items,
        Value::Null => return Ok(Vec::new()),
        _ => return Err(DataStoreError::AttributeFormatError("userId")),
    };
    let ids = items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>()
        .ok_or(DataStoreError::AttributeFormatError("userId"))?;
    user_ids(&ids)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_at_the_edges() {
        assert!(matches!(key(""), Err(DataStoreError::KeyNameEmpty)));
        assert!(key(&"k".repeat(50)).is_ok());
        assert!(matches!(
            key(&"k".repeat(51)),
            Err(DataStoreError::KeyNameLimit {
                bytes: 51,
                chars: 51
            })
        ));
        // Bytes, not characters: 17 three-byte characters are 51 bytes.
        assert!(matches!(
            key(&"€".repeat(17)),
            Err(DataStoreError::KeyNameLimit {
                bytes: 51,
                chars: 17
            })
        ));
        assert!(key(&"€".repeat(16)).is_ok(), "48 bytes fit");
        assert_eq!(key("").unwrap_err().code(), Some(101));
        assert_eq!(key(&"k".repeat(51)).unwrap_err().code(), Some(102));
    }

    #[test]
    fn names_and_scopes_at_the_edges() {
        assert!(data_store_name(&"n".repeat(50)).is_ok());
        assert!(data_store_name(&"n".repeat(51)).is_err());
        assert!(data_store_name("").is_err());
        assert!(scope(&"s".repeat(50)).is_ok());
        assert!(scope(&"s".repeat(51)).is_err());
        assert!(scope("").is_err());
        // Bytes here too, and the message says so.
        assert!(data_store_name(&"é".repeat(25)).is_ok());
        let name = data_store_name(&"é".repeat(26)).unwrap_err().to_string();
        assert!(name.contains("52 bytes in 26 characters"), "{name}");
        assert!(name.contains("1 to 50 bytes of UTF-8"), "{name}");
        let sc = scope(&"é".repeat(26)).unwrap_err().to_string();
        assert!(sc.contains("52 bytes in 26 characters"), "{sc}");
        assert!(sc.contains("1 to 50 bytes of UTF-8"), "{sc}");
    }

    #[test]
    fn value_size_at_the_edge() {
        // A JSON string of n characters serializes to n + 2 bytes.
        let at = Value::String("x".repeat(MAX_VALUE_BYTES - 2));
        assert_eq!(value(&at).expect("fits").len(), MAX_VALUE_BYTES);
        let over = Value::String("x".repeat(MAX_VALUE_BYTES - 1));
        match value(&over) {
            Err(e @ DataStoreError::ValueTooLarge { .. }) => assert_eq!(e.code(), Some(105)),
            other => panic!("expected 105, got {other:?}"),
        }
    }

    #[test]
    fn value_text_rejects_nan_infinity_and_bad_utf8() {
        for (text, want) in [
            (&b"{\"a\": NaN}"[..], "NaN"),
            (b"[Infinity]", "infinity"),
            (b"[-Infinity]", "infinity"),
            (b"\"\xff\"", "UTF-8"),
            (b"{not json", "not valid JSON"),
        ] {
            let err = parse_value_text(text).unwrap_err();
            assert_eq!(err.code(), Some(104), "{err}");
            assert!(err.to_string().contains(want), "{err}");
        }
        assert_eq!(
            parse_value_text(b"{\"s\":\"NaN\"}").expect("a string may say NaN"),
            json!({"s": "NaN"})
        );
        assert!(check_f64("root.x", f64::NAN).is_err());
        assert!(check_f64("root.x", f64::INFINITY).is_err());
        assert!(check_f64("root.x", 1.5).is_ok());
    }

    #[test]
    fn deep_nesting_is_rejected_not_crashing() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(
            parse_value_text(deep.as_bytes()).unwrap_err().code(),
            Some(104)
        );
    }

    #[test]
    fn metadata_at_the_edges() {
        let mut m = Map::new();
        m.insert("k".repeat(50), json!(1));
        assert!(metadata(&m).is_ok());
        let mut m = Map::new();
        m.insert("k".repeat(51), json!(1));
        assert_eq!(metadata(&m).unwrap_err().code(), Some(511));

        // A string value of 248 characters serializes to 250.
        let mut m = Map::new();
        m.insert("a".into(), json!("v".repeat(248)));
        assert!(metadata(&m).is_ok());
        m.insert("a".into(), json!("v".repeat(249)));
        assert_eq!(metadata(&m).unwrap_err().code(), Some(511));

        // Total: 2 keys of 1 char + values of 200 and 98 chars (serialized) = 300.
        let mut m = Map::new();
        m.insert("a".into(), json!("v".repeat(198)));
        m.insert("b".into(), json!("v".repeat(96)));
        assert!(metadata(&m).is_ok());
        m.insert("b".into(), json!("v".repeat(97)));
        assert_eq!(metadata(&m).unwrap_err().code(), Some(511));

        assert_eq!(
            metadata_from_json(&json!([1])).unwrap_err().code(),
            Some(513)
        );
    }

    #[test]
    fn user_ids_at_the_edges() {
        assert!(user_ids(&[1, 2, 3, 4]).is_ok());
        assert_eq!(user_ids(&[1, 2, 3, 4, 5]).unwrap_err().code(), Some(512));
        assert_eq!(
            user_ids_from_json(&json!([1, 2.0])).expect("ints"),
            vec![1, 2]
        );
        assert_eq!(
            user_ids_from_json(&json!([1.5])).unwrap_err().code(),
            Some(513)
        );
        assert_eq!(
            user_ids_from_json(&json!(["1"])).unwrap_err().code(),
            Some(513)
        );
        assert_eq!(
            user_ids_from_json(&json!([1, 2, 3, 4, 5]))
                .unwrap_err()
                .code(),
            Some(512)
        );
    }
}
