//! Every limit at its edge through the public calls: keys, user ids,
//! metadata, value size, and value text checked with its position.

use profilestore::datastore::{
    parse_value_str, parse_value_text, user_ids_from_json, validate, Transform, WriteOptions,
};
use serde_json::json;

use super::{assert_nothing_stored, assert_rejected, ids, meta, setup};

#[tokio::test]
async fn keys_at_their_edges() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    ds.set(&"k".repeat(50), &json!(1), &none)
        .await
        .expect("50 bytes fit");
    for (key, code) in [
        (String::new(), 101),
        ("k".repeat(51), 102),
        ("é".repeat(26), 102),
    ] {
        assert_eq!(
            ds.set(&key, &json!(1), &none).await.unwrap_err().code(),
            Some(code)
        );
        assert_eq!(ds.get(&key).await.unwrap_err().code(), Some(code));
        assert_eq!(ds.remove(&key).await.unwrap_err().code(), Some(code));
    }
    // 25 two-byte characters are 50 bytes: allowed.
    ds.set(&"é".repeat(25), &json!(1), &none)
        .await
        .expect("50 bytes fit");
}

#[tokio::test]
async fn a_long_key_is_measured_in_bytes_and_the_message_says_so() {
    // Roblox counts key length with `string.len` (bytes) and words error
    // 102 as "50 character limit": its code and text come first, the unit
    // follows.
    let (ds, _) = setup();
    let none = WriteOptions::default();
    let key = "é".repeat(30);
    let err = ds.set(&key, &json!(1), &none).await.unwrap_err();
    assert_eq!(err.code(), Some(102));
    assert_eq!(
        err.to_string(),
        "102: Key name exceeds the 50 character limit (a key is at most 50 bytes of UTF-8; \
         this one is 60 bytes in 30 characters)."
    );
    let ascii = ds
        .set(&"k".repeat(51), &json!(1), &none)
        .await
        .unwrap_err()
        .to_string();
    assert!(ascii.starts_with("102: Key name exceeds the 50 character limit"));
    assert!(
        ascii.contains("this one is 51 bytes in 51 characters"),
        "{ascii}"
    );
    // At the boundary: 50 bytes pass whatever the characters (50 ASCII,
    // 25 two-byte, 12 four-byte + 2 ASCII); 51 bytes do not.
    for fits in ["k".repeat(50), "é".repeat(25), "😀".repeat(12) + "kk"] {
        assert_eq!(fits.len(), 50);
        ds.set(&fits, &json!(1), &none).await.expect("50 bytes fit");
        assert_eq!(
            ds.get(&fits).await.expect("get").map(|e| e.value),
            Some(json!(1))
        );
    }
    let over = "😀".repeat(12) + "kkk";
    assert_eq!(
        ds.get(&over).await.unwrap_err().code(),
        Some(102),
        "51 bytes in 15 characters"
    );
}

#[tokio::test]
async fn user_ids_at_their_edge() {
    let (ds, _) = setup();
    let info = ds
        .set("four", &json!(1), &ids(&[1, 2, 3, 4]))
        .await
        .expect("4 ids fit");
    assert_eq!(info.user_ids, vec![1, 2, 3, 4]);
    assert_rejected(&ds, "five", &ids(&[1, 2, 3, 4, 5]), 512).await;
    assert_eq!(
        user_ids_from_json(&json!([1, 2, 3, 4])).expect("ints"),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        user_ids_from_json(&json!([1, "2"])).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!([0.5])).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!({"a": 1})).unwrap_err().code(),
        Some(513)
    );
    assert_eq!(
        user_ids_from_json(&json!([1, 2, 3, 4, 5]))
            .unwrap_err()
            .code(),
        Some(512)
    );
}

#[tokio::test]
async fn metadata_key_length_at_its_edge() {
    let (ds, _) = setup();
    let key50 = "m".repeat(50);
    ds.set("at", &json!(1), &meta(&[(&key50, json!(1))]))
        .await
        .expect("a 50-character key fits");
    assert_rejected(&ds, "over", &meta(&[(&"m".repeat(51), json!(1))]), 511).await;
}

#[tokio::test]
async fn metadata_value_length_at_its_edge() {
    let (ds, _) = setup();
    // A string of 248 characters serializes to 250 with its quotes.
    let at = meta(&[("a", json!("v".repeat(248)))]);
    let info = ds.set("at", &json!(1), &at).await.expect("250 fits");
    assert_eq!(info.metadata["a"], json!("v".repeat(248)));
    assert_rejected(&ds, "over", &meta(&[("a", json!("v".repeat(249)))]), 511).await;
}

#[tokio::test]
async fn metadata_total_at_its_edge() {
    let (ds, _) = setup();
    // Keys "a" and "b" (2) + values of 200 and 98 serialized characters = 300.
    let at = meta(&[("a", json!("v".repeat(198))), ("b", json!("v".repeat(96)))]);
    ds.set("at", &json!(1), &at).await.expect("300 fits");
    let over = meta(&[("a", json!("v".repeat(198))), ("b", json!("v".repeat(97)))]);
    assert_rejected(&ds, "over", &over, 511).await;
    assert_eq!(
        validate::metadata_from_json(&json!("text"))
            .unwrap_err()
            .code(),
        Some(513)
    );
    let err = validate::metadata_from_json(&json!([])).unwrap_err();
    assert!(err.to_string().contains("metadata"), "{err}");
}

#[tokio::test]
async fn value_size_is_the_compact_json_length() {
    let (ds, _) = setup();
    let none = WriteOptions::default();
    // ["x...x"] is the string's length + 4 bytes, compact.
    let at = json!(["x".repeat(4_194_304 - 4)]);
    ds.set("at", &at, &none).await.expect("exactly 4 MiB fits");
    let over = json!(["x".repeat(4_194_304 - 3)]);
    let err = ds.set("over", &over, &none).await.unwrap_err();
    assert_eq!(err.code(), Some(105));
    assert!(
        err.to_string().contains("4194305"),
        "the size is given: {err}"
    );
    assert_nothing_stored(&ds, "over").await;
    let err = ds
        .update("over", |_, _| Transform::Write {
            value: over.clone(),
            options: WriteOptions::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(105));
    assert_nothing_stored(&ds, "over").await;
}

#[test]
fn value_text_is_checked_with_its_position() {
    let err = parse_value_text(b"{\"a\": [1, NaN]}").unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(
        err.to_string().contains("NaN") && err.to_string().contains("column"),
        "{err}"
    );
    let err = parse_value_str("{\"a\": Infinity}").unwrap_err();
    assert!(err.to_string().contains("infinity"), "{err}");
    let err = parse_value_text(b"[\"ok\", \"\xc3\x28\"]").unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(
        err.to_string().contains("UTF-8") && err.to_string().contains("byte 8"),
        "{err}"
    );
    // One-line text: the position is its column, said once.
    let err = parse_value_str("{\"a\": 1,}").unwrap_err();
    assert!(err.to_string().contains("(at column 9)"), "{err}");
    assert_eq!(err.to_string().matches("column").count(), 1, "{err}");
    let err = parse_value_str("{\"a\":\n 1,}").unwrap_err();
    assert!(err.to_string().contains("(at line 2 column"), "{err}");
    assert_eq!(
        parse_value_str(" {\"a\": [1, 2.5]} ").expect("json"),
        json!({"a": [1, 2.5]})
    );
    let err = validate::check_f64("root.Coins", f64::NEG_INFINITY).unwrap_err();
    assert_eq!(err.code(), Some(104));
    assert!(err.to_string().contains("root.Coins"), "{err}");
    assert!(validate::check_f64("root.Coins", f64::MAX).is_ok());
}
