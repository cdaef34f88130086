//! `profilestore profile history STORE KEY`: a profile's session lock
//! history, from the data folder's storage records or, with `--url`, from
//! the server (`GET .../profiles/{store}/{key}/lock-history`).
//!
//! Owns: reading the events and printing them as a table (time, kind,
//! place, job, session, load count, previous owner) or as JSON lines.
//! Invariant: the name, scope and key are validated before anything is
//! read; the retention is the config's (`[history]`) on a folder, the
//! server's with `--url`.

use super::super::CliError;
use crate::datastore::{validate, DataStoreService};
use crate::history::{HistoryConfig, LockEvent, LockHistory, LockOwner};

/// What to print.
pub(crate) struct HistoryArgs<'a> {
    pub(crate) store: &'a str,
    pub(crate) key: &'a str,
    pub(crate) scope: &'a str,
    pub(crate) json: bool,
}

/// Reads and prints the history of one profile.
pub(crate) async fn run(
    service: &DataStoreService,
    universe: u64,
    config: HistoryConfig,
    args: &HistoryArgs<'_>,
) -> Result<(), CliError> {
    validate::data_store_name(args.store)?;
    validate::scope(args.scope)?;
    validate::key(args.key)?;
    let events = match service.remote_client() {
        Some(client) => {
            client
                .lock_history(universe, args.store, args.scope, args.key)
                .await?
        }
        None => LockHistory::of(service, config)
            .events(universe, args.store, args.scope, args.key)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?,
    };
    if args.json {
        for e in &events {
            println!("{}", serde_json::to_string(e).expect("events serialize"));
        }
    } else {
        print!("{}", table(&events));
    }
    Ok(())
}

fn owner_text(o: &LockOwner) -> String {
    format!(
        "{}/{}/{}",
        o.place_id,
        o.job_id,
        o.session_id.as_deref().unwrap_or("-")
    )
}

/// The events as an aligned text table with a header line.
fn table(events: &[LockEvent]) -> String {
    let header = [
        "TIME", "KIND", "PLACE", "JOB", "SESSION", "LOAD", "PREVIOUS",
    ];
    let mut rows: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for e in events {
        let kind = if e.asked_for {
            format!("{} (asked for)", e.kind)
        } else {
            e.kind.to_string()
        };
        rows.push([
            e.time.clone(),
            kind,
            e.owner.place_id.to_string(),
            e.owner.job_id.clone(),
            e.owner.session_id.clone().unwrap_or_else(|| "-".into()),
            e.load_count.to_string(),
            e.previous.as_ref().map_or_else(|| "-".into(), owner_text),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::LockChangeKind;

    #[test]
    fn the_table_has_a_header_and_one_aligned_row_per_event() {
        let owner = |job: &str| LockOwner {
            place_id: 7,
            job_id: job.into(),
            session_id: Some(format!("S-{job}")),
        };
        let event = LockEvent {
            kind: LockChangeKind::HandedOff,
            universe: 1,
            store: "P".into(),
            scope: "global".into(),
            key: "k".into(),
            owner: owner("b"),
            load_count: 2,
            time_ms: 0,
            time: String::new(),
            previous: Some(owner("a")),
            asked_for: false,
        }
        .with_time_text();
        let text = table(&[event]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("TIME "), "{text}");
        assert!(lines[0].ends_with("PREVIOUS"), "{text}");
        assert!(
            lines[1].starts_with("1970-01-01T00:00:00Z  handed_off"),
            "{text}"
        );
        assert!(lines[1].ends_with("7/a/S-a"), "{text}");
        assert_eq!(lines[0].find("KIND"), lines[1].find("handed_off"));
    }
}
