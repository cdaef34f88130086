//! Roblox's ordered data store limits, checked before anything is stored
//! or sent.
//!
//! Owns: names, scopes and keys (1 to 50 bytes: 101, 102), values from
//! outside (JSON or text: integers only, 103/104, in the 64-bit range),
//! `GetSortedAsync`'s page size and bounds (106, 107) and batch sizes.
//! Invariants: a check either passes and returns what to use, or fails
//! with Roblox's code and a message saying which part is at fault; nothing
//! here touches storage.

use serde_json::Value;

use super::error::MAX_BATCH_KEYS;
use super::{OrdResult, OrderedError};

/// Longest key, data store name or scope, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 50;
/// Largest `GetSortedAsync` page.
pub const MAX_PAGE_SIZE: usize = 100;

/// Checks a key: 1..=50 bytes of UTF-8 (101, 102).
pub fn key(key: &str) -> OrdResult<()> {
    if key.is_empty() {
        Err(OrderedError::KeyNameEmpty)
    } else if key.len() > MAX_NAME_BYTES {
        Err(OrderedError::KeyNameLimit { bytes: key.len() })
    } else {
        Ok(())
    }
}

fn name_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        Some("it is empty".to_owned())
    } else if text.len() > MAX_NAME_BYTES {
        Some(format!("`{text}` is {} bytes", text.len()))
    } else {
        None
    }
}

/// Checks an ordered data store name: 1..=50 bytes of UTF-8.
pub fn data_store_name(name: &str) -> OrdResult<()> {
    name_problem(name).map_or(Ok(()), |p| Err(OrderedError::InvalidDataStoreName(p)))
}

/// Checks a scope: 1..=50 bytes of UTF-8.
pub fn scope(scope: &str) -> OrdResult<()> {
    name_problem(scope).map_or(Ok(()), |p| Err(OrderedError::InvalidScope(p)))
}

/// Checks a page size: 1..=100 (106).
pub fn page_size(given: i64) -> OrdResult<usize> {
    match usize::try_from(given) {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(OrderedError::PageSizeOutOfRange { given }),
    }
}

/// Checks `GetSortedAsync`'s bounds: min <= max when both are set (107).
pub fn bounds(min: Option<i64>, max: Option<i64>) -> OrdResult<()> {
    match (min, max) {
        (Some(lo), Some(hi)) if lo > hi => Err(OrderedError::MinMaxOrderInvalid),
        _ => Ok(()),
    }
}

/// Checks a batch of keys: 1..=100 keys, each a valid key.
pub fn batch(keys: &[String]) -> OrdResult<()> {
    if keys.is_empty() || keys.len() > MAX_BATCH_KEYS {
        return Err(OrderedError::BatchSize { count: keys.len() });
    }
    keys.iter().try_for_each(|k| key(k))
}

/// A JSON number as an ordered value: an integer (`5` or `5.0`) in the
/// 64-bit range, else 104.
fn number(n: &serde_json::Number) -> OrdResult<i64> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    let shown = n.to_string();
    if n.is_u64() {
        return Err(OrderedError::ValueOutOfRange { value: shown });
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    float(f, shown)
}

/// A float as an ordered value (integral and in range, else 104).
fn float(f: f64, shown: String) -> OrdResult<i64> {
    if !f.is_finite() || f.fract() != 0.0 {
        return Err(OrderedError::NotAnInteger { value: shown });
    }
    // -2^63 is exact as a float; 2^63 is the first float past i64::MAX.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        Ok(f as i64)
    } else {
        Err(OrderedError::ValueOutOfRange { value: shown })
    }
}

/// An ordered value from text (a CLI argument, a string in a JSON body):
/// an integer, possibly written as a float (`5.0`, `1e3`); another number
/// is 104, anything else 103 (`string`).
pub fn value_from_text(text: &str) -> OrdResult<i64> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(i);
    }
    let integral = !t.is_empty()
        && t.trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit());
    if integral {
        return Err(OrderedError::ValueOutOfRange {
            value: t.to_owned(),
        });
    }
    match t.parse::<f64>() {
        Ok(f) if !t.eq_ignore_ascii_case("nan") && !t.to_ascii_lowercase().contains("inf") => {
            float(f, t.to_owned())
        }
        _ => Err(OrderedError::ValueNotAllowed { kind: "string" }),
    }
}

/// An ordered value from JSON: a number, or a string holding one (openblox
/// types values as strings); booleans, null, arrays and objects are 103.
pub fn value_from_json(value: &Value) -> OrdResult<i64> {
    match value {
        Value::Number(n) => number(n),
        Value::String(s) => value_from_text(s),
        Value::Bool(_) => Err(OrderedError::ValueNotAllowed { kind: "boolean" }),
        Value::Null => Err(OrderedError::ValueNotAllowed { kind: "nil" }),
        Value::Array(_) | Value::Object(_) => Err(OrderedError::ValueNotAllowed { kind: "table" }),
    }
}

/// Which bound of `GetSortedAsync` a text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// `minValue`.
    Min,
    /// `maxValue`.
    Max,
}

/// A bound from text: empty is none; an integer (or an integral float) is
/// the bound; anything else is 106 (`MinValue`/`MaxValue` must be an integer).
pub fn bound_from_text(text: &str, which: Bound) -> OrdResult<Option<i64>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    value_from_text(text).map(Some).map_err(|_| match which {
        Bound::Min => OrderedError::MinValueInvalid,
        Bound::Max => OrderedError::MaxValueInvalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_1_to_50_bytes() {
        assert!(matches!(key(""), Err(OrderedError::KeyNameEmpty)));
        assert!(key(&"k".repeat(50)).is_ok());
        assert!(matches!(
            key(&"k".repeat(51)),
            Err(OrderedError::KeyNameLimit { bytes: 51 })
        ));
        // 25 two-byte characters fit, 26 do not (bytes, as string.len counts).
        assert!(key(&"é".repeat(25)).is_ok());
        assert!(key(&"é".repeat(26)).is_err());
        assert!(data_store_name("").is_err() && scope(&"s".repeat(51)).is_err());
        assert!(data_store_name("Leaderboard").is_ok() && scope("global").is_ok());
    }

    #[test]
    fn values_are_integers_in_the_64_bit_range() {
        assert_eq!(value_from_json(&json!(5)).unwrap(), 5);
        assert_eq!(value_from_json(&json!(-5.0)).unwrap(), -5);
        assert_eq!(value_from_json(&json!("42")).unwrap(), 42);
        assert_eq!(value_from_json(&json!(i64::MIN)).unwrap(), i64::MIN);
        assert_eq!(value_from_text(" 1e3 ").unwrap(), 1000);
        let e = value_from_json(&json!(1.5)).unwrap_err();
        assert_eq!(e.code(), Some(104));
        assert!(
            e.to_string()
                .starts_with("104: Can't store 1.5 in DataStore."),
            "{e}"
        );
        assert!(matches!(
            value_from_json(&json!(u64::MAX)),
            Err(OrderedError::ValueOutOfRange { .. })
        ));
        assert!(matches!(
            value_from_json(&json!(1e300)),
            Err(OrderedError::ValueOutOfRange { .. })
        ));
        assert!(matches!(
            value_from_text("9223372036854775808"),
            Err(OrderedError::ValueOutOfRange { .. })
        ));
        for (v, kind) in [
            (json!("abc"), "string"),
            (json!(true), "boolean"),
            (json!(null), "nil"),
            (json!([1]), "table"),
            (json!({"a": 1}), "table"),
            (json!("NaN"), "string"),
            (json!("inf"), "string"),
        ] {
            let e = value_from_json(&v).unwrap_err();
            assert_eq!(e.code(), Some(103), "{v}");
            assert!(
                e.to_string().contains(&format!("Can't allow {kind} in")),
                "{e}"
            );
        }
    }

    #[test]
    fn page_sizes_and_bounds() {
        assert_eq!(page_size(1).unwrap(), 1);
        assert_eq!(page_size(100).unwrap(), 100);
        for bad in [0, -1, 101] {
            let e = page_size(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                "106: PageSize must be within a predefined range."
            );
        }
        assert!(bounds(Some(1), Some(1)).is_ok() && bounds(None, Some(-1)).is_ok());
        let e = bounds(Some(2), Some(1)).unwrap_err();
        assert_eq!(e.code(), Some(107));
        assert_eq!(bound_from_text("", Bound::Min).unwrap(), None);
        assert_eq!(bound_from_text("-3", Bound::Max).unwrap(), Some(-3));
        let e = bound_from_text("1.5", Bound::Min).unwrap_err();
        assert_eq!(e.to_string(), "106: MinValue must be an integer.");
        let e = bound_from_text("x", Bound::Max).unwrap_err();
        assert_eq!(e.to_string(), "106: MaxValue must be an integer.");
    }

    #[test]
    fn batches_hold_1_to_100_valid_keys() {
        let keys = |n: usize| (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>();
        assert!(batch(&keys(1)).is_ok() && batch(&keys(100)).is_ok());
        assert!(matches!(
            batch(&keys(0)),
            Err(OrderedError::BatchSize { count: 0 })
        ));
        assert!(matches!(
            batch(&keys(101)),
            Err(OrderedError::BatchSize { count: 101 })
        ));
        assert!(matches!(
            batch(&["a".to_owned(), String::new()]),
            Err(OrderedError::KeyNameEmpty)
        ));
    }
}
