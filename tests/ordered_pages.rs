//! Ordered data stores' sorted reads and batch reads through the Rust
//! API (`GetSortedAsync` pages, cursors, `BatchGetAsync`), and a scripted
//! session giving the same answers on the local and remote backends.

mod support;

use std::collections::BTreeMap;

use profilestore::ordered::{
    OrderedDataStore, OrderedEntry, OrderedError, OrderedTransform, SortedQuery,
};
use support::ordered::{backends, board};

/// 25 entries: values 0..=12 twice (keys `a..` and `b..`) minus one.
async fn seed(ds: &OrderedDataStore) -> Vec<OrderedEntry> {
    let mut all = Vec::new();
    for i in 0..25i64 {
        let key = format!("{}{:02}", if i % 2 == 0 { "a" } else { "b" }, i / 2);
        ds.set(&key, i / 2).await.unwrap();
        all.push(OrderedEntry { key, value: i / 2 });
    }
    all.sort_by(|x, y| (x.value, &x.key).cmp(&(y.value, &y.key)));
    all
}

async fn read_all(
    ds: &OrderedDataStore,
    ascending: bool,
    size: usize,
    min: Option<i64>,
    max: Option<i64>,
) -> (Vec<OrderedEntry>, Vec<usize>) {
    let mut pages = ds.get_sorted(ascending, size, min, max).await.unwrap();
    let mut all = pages.current_page().to_vec();
    let mut sizes = vec![pages.current_page().len()];
    while !pages.is_finished() {
        pages.advance().await.unwrap();
        all.extend(pages.current_page().iter().cloned());
        sizes.push(pages.current_page().len());
    }
    let e = pages.advance().await.unwrap_err();
    assert!(matches!(e, OrderedError::NoMorePages), "{e:?}");
    assert_eq!(e.to_string(), "No pages to advance to.");
    (all, sizes)
}

#[tokio::test]
async fn sorted_pages_follow_value_then_key_with_bounds() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let sorted = seed(&ds).await;
        let (asc, sizes) = read_all(&ds, true, 10, None, None).await;
        assert_eq!(asc, sorted, "{name}: ascending by value, then key");
        assert_eq!(sizes, vec![10, 10, 5], "{name}");
        let (desc, _) = read_all(&ds, false, 7, None, None).await;
        let mut reversed = sorted.clone();
        reversed.reverse();
        assert_eq!(desc, reversed, "{name}: descending reverses both");
        let (bounded, _) = read_all(&ds, true, 3, Some(4), Some(6)).await;
        let expected: Vec<_> = sorted
            .iter()
            .filter(|e| (4..=6).contains(&e.value))
            .cloned()
            .collect();
        assert_eq!(bounded, expected, "{name}: bounds are inclusive");
        let (one, sizes) = read_all(&ds, false, 100, Some(12), Some(12)).await;
        assert_eq!((one.len(), sizes), (1, vec![1]), "{name}: min == max");
        let (none, sizes) = read_all(&ds, true, 5, Some(50), None).await;
        assert!(
            none.is_empty() && sizes == vec![0],
            "{name}: empty range, one empty page"
        );
        // Exactly a page's worth: the page is the last one.
        let (exact, sizes) = read_all(&ds, true, 25, None, None).await;
        assert_eq!((exact.len(), sizes), (25, vec![25]), "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_cursor_resumes_its_own_listing_only() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let sorted = seed(&ds).await;
        let query = SortedQuery {
            ascending: true,
            page_size: 4,
            min: None,
            max: None,
        };
        let first = ds.list(&query, None).await.unwrap();
        let cursor = first.cursor.clone().expect("more pages");
        let second = ds.list(&query, Some(&cursor)).await.unwrap();
        assert_eq!(second.entries, sorted[4..8], "{name}");
        // A write between pages does not repeat or skip the others.
        ds.remove(&sorted[9].key).await.unwrap();
        let third = ds.list(&query, second.cursor.as_deref()).await.unwrap();
        assert_eq!(third.entries[..1], sorted[8..9], "{name}");
        assert_eq!(third.entries[1..], sorted[10..13], "{name}");
        for other in [
            SortedQuery {
                ascending: false,
                ..query.clone()
            },
            SortedQuery {
                min: Some(1),
                ..query.clone()
            },
        ] {
            let e = ds.list(&other, Some(&cursor)).await.unwrap_err();
            assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        }
        let elsewhere = service.data_store(7, "Board", "weekly").unwrap();
        let e = elsewhere.list(&query, Some(&cursor)).await.unwrap_err();
        assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        let e = ds.list(&query, Some("garbage!")).await.unwrap_err();
        assert!(matches!(e, OrderedError::InvalidCursor), "{name}: {e:?}");
        // A different page size may resume (Roblox pages keep their size).
        let wider = SortedQuery {
            page_size: 100,
            ..query.clone()
        };
        let rest = ds.list(&wider, Some(&cursor)).await.unwrap();
        assert_eq!(rest.entries.len(), 20, "{name}");
        assert_eq!(rest.cursor, None, "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn batch_get_leaves_out_absent_keys() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        ds.set("coins", 100).await.unwrap();
        ds.set("gems", 50).await.unwrap();
        let keys: Vec<String> = ["coins", "gems", "nothing"].map(String::from).to_vec();
        let got = ds.batch_get(&keys).await.unwrap();
        let expected = BTreeMap::from([("coins".to_owned(), 100), ("gems".to_owned(), 50)]);
        assert_eq!(got, expected, "{name}");
        let hundred: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        assert!(ds.batch_get(&hundred).await.unwrap().is_empty(), "{name}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn fifty_byte_keys_and_odd_characters_work_on_both_backends() {
    let (server, all) = backends().await;
    for (name, service, _) in &all {
        let ds = board(service);
        let keys = [
            "k".repeat(50),
            "é".repeat(25),
            "a/b".to_owned(),
            "x:increment".to_owned(),
            "100%".to_owned(),
            "..".to_owned(),
            "sp ace+plus?q=1#h".to_owned(),
        ];
        for (i, key) in keys.iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            ds.set(key, i).await.unwrap();
            assert_eq!(
                ds.increment(key, 10).await.unwrap(),
                i + 10,
                "{name}: {key}"
            );
            assert_eq!(ds.get(key).await.unwrap(), Some(i + 10), "{name}: {key}");
        }
        let got = ds.batch_get(&keys).await.unwrap();
        assert_eq!(got.len(), keys.len(), "{name}");
        let pages = ds.get_sorted(true, 100, None, None).await.unwrap();
        let listed: Vec<&str> = pages
            .current_page()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(
            listed,
            keys.iter().map(String::as_str).collect::<Vec<_>>(),
            "{name}"
        );
        for key in &keys {
            assert!(ds.remove(key).await.unwrap().is_some(), "{name}: {key}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_scripted_session_gives_the_same_answers_locally_and_remotely() {
    let (server, all) = backends().await;
    let mut transcripts = Vec::new();
    for (_, service, _) in &all {
        let ds = service.data_store(3, "Wins", "season-1").unwrap();
        let mut t: Vec<String> = Vec::new();
        for (i, player) in ["p1", "p2", "p3", "p4", "p5"].iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            t.push(format!("{:?}", ds.increment(player, i * 3 - 4).await));
        }
        t.push(format!("{:?}", ds.set("p3", 42).await));
        t.push(format!(
            "{:?}",
            ds.update("p2", |c| OrderedTransform::Write(c.unwrap_or(0) * 2))
                .await
        ));
        t.push(format!("{:?}", ds.remove("p5").await));
        t.push(format!("{:?}", ds.get("p5").await));
        let keys: Vec<String> = ["p1", "p5", "p9", "p3"].map(String::from).to_vec();
        t.push(format!("{:?}", ds.batch_get(&keys).await));
        let mut pages = ds.get_sorted(false, 2, Some(-10), Some(100)).await.unwrap();
        loop {
            t.push(format!(
                "{:?} {}",
                pages.current_page(),
                pages.is_finished()
            ));
            if pages.is_finished() {
                break;
            }
            pages.advance().await.unwrap();
        }
        t.push(format!(
            "{:?}",
            ds.get_sorted(true, 0, None, None).await.map(drop)
        ));
        transcripts.push(t);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert!(
        transcripts[0]
            .iter()
            .any(|l| l.contains("\"p3\", value: 42")),
        "{:?}",
        transcripts[0]
    );
    server.shutdown().await;
}
