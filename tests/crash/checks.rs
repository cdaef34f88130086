//! Checks of one round's acknowledged writes against the restarted server.

use hyper::{Method, StatusCode};
use serde_json::Value;

use super::{entry_path, Ack, RoundLog, Totals, COUNTER_KEY, PREFIX, RMW_KEY, STORE};
use crate::support::raw_client::Http;

async fn get_json(http: &Http, path: &str) -> Option<Value> {
    let r = http
        .call(Method::GET, path, &[], "")
        .await
        .unwrap_or_else(|e| panic!("the restarted server must answer GET {path}: {e}"));
    match r.status {
        StatusCode::OK => Some(r.json()),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET {path}: {other} {:?}", r.body),
    }
}

/// Every version id of `key`, oldest first.
async fn listed_versions(http: &Http, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!(
            "{PREFIX}/versions?datastoreName={STORE}&entryKey={key}&limit=100&cursor={cursor}"
        );
        let page = get_json(http, &path).await.expect("a version listing");
        for v in page["versions"].as_array().expect("versions") {
            out.push(v["version"].as_str().expect("version id").to_owned());
        }
        cursor = page["nextPageCursor"].as_str().unwrap_or("").to_owned();
        if cursor.is_empty() {
            return out;
        }
    }
}

/// Reads an acknowledged version back; true when it holds the acked value.
/// A version the store lost answers 404, or 400 `InvalidVersionId` when
/// the store no longer knows it ever issued that id.
pub(crate) async fn version_intact(http: &Http, ack: &Ack) -> bool {
    let path = format!(
        "{PREFIX}/versions/version?datastoreName={STORE}&entryKey={}&versionId={}",
        ack.key, ack.version
    );
    let r = http
        .call(Method::GET, &path, &[], "")
        .await
        .unwrap_or_else(|e| panic!("the restarted server must answer GET {path}: {e}"));
    r.status == StatusCode::OK && r.json() == ack.value
}

/// Checks one round's writes against the restarted server; returns the
/// number of acknowledged writes lost.
pub(crate) async fn check_round(
    http: &Http,
    log: &RoundLog,
    totals: &mut Totals,
    label: &str,
) -> u64 {
    let mut lost = 0u64;
    for (key, acks, cut_off) in &log.setters {
        let listed = listed_versions(http, key).await;
        let mut intact_prefix = true;
        let mut last_pos = None;
        for ack in acks {
            let pos = listed.iter().position(|v| *v == ack.version);
            let ok = pos.is_some() && version_intact(http, ack).await;
            if ok {
                totals.all_acks.push(ack.clone());
                if !intact_prefix {
                    totals.failures.push(format!(
                        "{label}: {key}: version {} survived after an earlier acknowledged one was lost",
                        ack.version
                    ));
                }
                if pos < last_pos {
                    totals.failures.push(format!(
                        "{label}: {key}: version {} is listed before an earlier write",
                        ack.version
                    ));
                }
                last_pos = pos;
            } else {
                intact_prefix = false;
                lost += 1;
            }
        }
        let latest = get_json(http, &entry_path(key, "")).await;
        let allowed = |v: &Option<Value>| {
            *v == acks.last().map(|a| a.value.clone())
                || (cut_off.is_some() && v.as_ref() == cut_off.as_ref())
        };
        if intact_prefix && !allowed(&latest) {
            totals.failures.push(format!(
                "{label}: {key}: latest value {latest:?} is neither the last acknowledged write nor the cut-off one"
            ));
        }
    }
    let mut rmw_versions_lost = 0u64;
    for ack in &log.rmw_acks {
        if version_intact(http, ack).await {
            totals.all_acks.push(ack.clone());
        } else {
            rmw_versions_lost += 1;
        }
    }
    let rmw_now = get_json(http, &entry_path(RMW_KEY, ""))
        .await
        .map_or(0, |v| v["count"].as_i64().expect("count"));
    let acked = i64::try_from(log.rmw_acks.len()).expect("small");
    let unknown = i64::try_from(log.rmw_unknown).expect("small");
    let low = totals.rmw_base + acked;
    let rmw_count_lost = u64::try_from((low - rmw_now).max(0)).expect("positive");
    // One lost commit shows both as a missing version and as a missing +1.
    lost += rmw_versions_lost.max(rmw_count_lost);
    if rmw_now > low + unknown {
        totals.failures.push(format!(
            "{label}: read-modify-write count {rmw_now} exceeds {low} acknowledged + {unknown} cut off"
        ));
    }
    totals.rmw_base = rmw_now;
    let counter_now = get_json(http, &entry_path(COUNTER_KEY, ""))
        .await
        .map_or(0, |v| v.as_i64().expect("a number"));
    let low = totals.counter_base + log.increments_acked;
    if counter_now < low {
        lost += u64::try_from(low - counter_now).expect("positive");
    } else if counter_now > low + log.increments_unknown {
        totals.failures.push(format!(
            "{label}: counter {counter_now} exceeds {low} acknowledged + {} cut off",
            log.increments_unknown
        ));
    }
    totals.counter_base = counter_now;
    lost
}
