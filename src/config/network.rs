//! The settings of a server on a real network: scoped API keys
//! (`[[server.keys]]`), TLS files (`[server] tls_cert`/`tls_key`) and the
//! log format (`[log] format`).
//!
//! Owns: their shapes and checks. Invariants: a key entry has exactly one
//! of `key` and `key_env`, a name, and scopes that parse (checked with
//! the rest of the file, so a typo stops every command, not only `serve`);
//! `key_env` is read only when the server starts ([`Config::scoped_keys`]),
//! so the data commands work without the server's secrets; `tls_cert` and
//! `tls_key` come together or not at all.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Config, ConfigError, ServerSection};
use crate::http::scopes::ScopedKey;

/// One `[[server.keys]]` entry.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// The key itself (or use `key_env`).
    #[serde(default)]
    pub key: Option<String>,
    /// The environment variable holding the key.
    #[serde(default)]
    pub key_env: Option<String>,
    /// What logs and refusals call the key.
    pub name: String,
    /// What the key may do (`http::scopes`' grammar).
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret.
        f.debug_struct("KeyEntry")
            .field("key", &self.key.as_ref().map(|_| "<set>"))
            .field("key_env", &self.key_env)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people (the default).
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `fields`, `target`,
    /// `span`, `spans`), for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format `{other}`: expected `text` or `json`"
            )),
        }
    }
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}

/// The checks of `[server]`'s network settings.
pub(super) fn validate(s: &ServerSection) -> Result<(), ConfigError> {
    match (&s.tls_cert, &s.tls_key) {
        (Some(_), None) => return Err(invalid(
            "server.tls_key",
            "tls_cert is set but tls_key is not: give both (--tls-cert and --tls-key) or neither"
                .into(),
        )),
        (None, Some(_)) => return Err(invalid(
            "server.tls_cert",
            "tls_key is set but tls_cert is not: give both (--tls-cert and --tls-key) or neither"
                .into(),
        )),
        _ => {}
    }
    for entry in &s.keys {
        let name = &entry.name;
        match (&entry.key, &entry.key_env) {
            (Some(k), None) if k.is_empty() => {
                return Err(invalid(
                    "server.keys",
                    format!("key `{name}`: `key` is empty"),
                ))
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(invalid(
                    "server.keys",
                    format!("key `{name}`: give exactly one of `key` and `key_env`"),
                ))
            }
        }
        if name.is_empty() {
            return Err(invalid("server.keys", "a key's `name` is empty".into()));
        }
        ScopedKey::new(name.as_str(), "", &entry.scopes)
            .map_err(|e| invalid("server.keys", format!("key `{name}`: {e}")))?;
    }
    Ok(())
}

impl Config {
    /// The scoped keys, with `key_env` read from the environment now.
    pub fn scoped_keys(&self) -> Result<Vec<ScopedKey>, ConfigError> {
        self.server
            .keys
            .iter()
            .map(|entry| {
                let name = &entry.name;
                let key = match (&entry.key, &entry.key_env) {
                    (Some(key), _) => key.clone(),
                    (None, Some(var)) => std::env::var(var)
                        .ok()
                        .filter(|k| !k.is_empty())
                        .ok_or_else(|| {
                            invalid(
                                "server.keys",
                                format!(
                                    "key `{name}`: the environment variable {var} (its key_env) \
                                     is not set or empty"
                                ),
                            )
                        })?,
                    (None, None) => String::new(),
                };
                ScopedKey::new(name.as_str(), key, &entry.scopes)
                    .map_err(|e| invalid("server.keys", format!("key `{name}`: {e}")))
            })
            .collect()
    }

    /// Whether the server takes API keys (plain or scoped).
    pub fn takes_keys(&self) -> bool {
        !self.server.api_keys.is_empty() || !self.server.keys.is_empty()
    }

    /// The TLS certificate and key files, when HTTPS is on.
    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => None,
        }
    }
}
