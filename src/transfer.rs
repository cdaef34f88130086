//! `export` and `import`: whole data stores as JSON lines (used by the CLI
//! and by `serve --import/--export-on-exit`).
//!
//! Owns: [`TransferError`], opening the files, the line format (`{"datastore","scope","key","value","userIds",
//! "metadata"}`, one live entry per line, latest version only) and the
//! progress bar on stderr. Invariants: an import reads and validates every
//! line before it writes anything, so a bad file changes nothing and the
//! error names the line; an export reads through the same DataStore API as
//! every client (local or remote) and holds no lock.

use std::io::{BufRead, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};

use crate::datastore::{
    parse_value_str, user_ids_from_json, validate, DataStoreService, ListKeysOptions, WriteOptions,
};

/// Why an export or import failed. Nothing was written by an import that
/// failed before its first write (every line is checked first).
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A file could not be read or written (the message names it).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The input is not a valid export (the message names the line).
    #[error("{0}")]
    Invalid(String),
    /// A DataStore call was refused.
    #[error(transparent)]
    DataStore(#[from] crate::datastore::DataStoreError),
}

/// Reads and validates an export from `path` (`-` for stdin).
pub fn read_export(path: &Path) -> Result<Vec<Line>, TransferError> {
    let name = path.display().to_string();
    if name == "-" {
        return read_lines(&mut std::io::stdin().lock(), "stdin");
    }
    let file = std::fs::File::open(path).map_err(|e| {
        TransferError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot read {name}: {e}"),
        ))
    })?;
    read_lines(&mut std::io::BufReader::new(file), &name)
}

/// Creates (truncates) an output file; `context` ends the error message
/// (which option asked for the file).
pub fn create_output(path: &Path, context: &str) -> Result<std::fs::File, TransferError> {
    std::fs::File::create(path).map_err(|e| {
        TransferError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot create {}{context}: {e}", path.display()),
        ))
    })
}

/// One exported entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Data store name.
    pub datastore: String,
    /// Scope.
    pub scope: String,
    /// Key.
    pub key: String,
    /// Value.
    pub value: Value,
    /// User ids and metadata.
    pub options: WriteOptions,
}

fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    // Drawn only when stderr is a terminal: scripts see clean output.
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let template = if len.is_some() {
        "{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)"
    } else {
        "{msg} {pos} entries ({per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Writes every live entry of `stores` (all data stores of the universe
/// when empty) to `out`; returns how many.
pub async fn export(
    service: &DataStoreService,
    universe: u64,
    stores: &[String],
    out: &mut dyn Write,
) -> Result<u64, TransferError> {
    let mut names = stores.to_vec();
    if names.is_empty() {
        let mut cursor = None;
        loop {
            let page = service
                .list_data_stores(universe, "", 0, cursor.as_deref())
                .await?;
            names.extend(page.items.into_iter().map(|s| s.name));
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let progress = bar(None, "exporting");
    let mut count = 0;
    for name in &names {
        let ds = service.data_store_all_scopes(universe, name)?;
        let mut options = ListKeysOptions {
            exclude_deleted: true,
            page_size: 1000,
            ..ListKeysOptions::default()
        };
        loop {
            let page = ds.list_keys(&options).await?;
            for k in &page.items {
                let scoped = service.data_store(universe, name, &k.scope)?;
                // Deleted since it was listed (or listed remotely, where
                // deleted keys are included): nothing to export.
                let Some(entry) = scoped.get(&k.key).await? else {
                    continue;
                };
                let line = json!({
                    "datastore": name, "scope": k.scope, "key": k.key, "value": entry.value,
                    "userIds": entry.info.user_ids, "metadata": entry.info.metadata,
                });
                writeln!(out, "{line}")?;
                count += 1;
                progress.inc(1);
            }
            match page.cursor {
                Some(c) => options.cursor = Some(c),
                None => break,
            }
        }
    }
    out.flush()?;
    progress.finish_and_clear();
    Ok(count)
}

/// Parses one line of an export.
pub fn parse_line(text: &str) -> Result<Line, String> {
    let v: Value = parse_value_str(text).map_err(|e| e.to_string())?;
    let field = |name: &str| -> Result<String, String> {
        v.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("`{name}` must be a string"))
    };
    let datastore = field("datastore")?;
    let scope = match v.get("scope") {
        None | Some(Value::Null) => "global".to_owned(),
        Some(_) => field("scope")?,
    };
    let key = field("key")?;
    validate::data_store_name(&datastore).map_err(|e| e.to_string())?;
    validate::scope(&scope).map_err(|e| e.to_string())?;
    validate::key(&key).map_err(|e| e.to_string())?;
    let value = v.get("value").cloned().ok_or("`value` is missing")?;
    validate::value(&value).map_err(|e| e.to_string())?;
    let user_ids = match v.get("userIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(ids) => user_ids_from_json(ids).map_err(|e| e.to_string())?,
    };
    let metadata = match v.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(m) => validate::metadata_from_json(m).map_err(|e| e.to_string())?,
    };
    validate::metadata(&metadata).map_err(|e| e.to_string())?;
    Ok(Line {
        datastore,
        scope,
        key,
        value,
        options: WriteOptions { user_ids, metadata },
    })
}

/// Reads a whole export, failing on the first bad line (nothing written).
pub fn read_lines(input: &mut dyn BufRead, source: &str) -> Result<Vec<Line>, TransferError> {
    let mut lines = Vec::new();
    for (i, text) in input.split(b'\n').enumerate() {
        let text = text?;
        let text = String::from_utf8(text).map_err(|e| {
            TransferError::Invalid(format!(
                "{source} line {}: byte {} is not valid UTF-8; nothing was imported",
                i + 1,
                e.utf8_error().valid_up_to() + 1
            ))
        })?;
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text.trim().is_empty() {
            continue;
        }
        let line = parse_line(text).map_err(|e| {
            TransferError::Invalid(format!(
                "{source} line {}: {}; nothing was imported",
                i + 1,
                e.trim_end_matches('.')
            ))
        })?;
        lines.push(line);
    }
    Ok(lines)
}

/// Writes `lines` (each a `SetAsync`); returns how many.
pub async fn import(
    service: &DataStoreService,
    universe: u64,
    lines: &[Line],
) -> Result<u64, TransferError> {
    let progress = bar(Some(lines.len() as u64), "importing");
    for line in lines {
        let ds = service.data_store(universe, &line.datastore, &line.scope)?;
        ds.set(&line.key, &line.value, &line.options).await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(lines.len() as u64)
}
