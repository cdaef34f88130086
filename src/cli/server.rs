//! The running server a command that only a server can answer talks to
//! (memory stores and the emulator controls): `--url` (with `--key`), else
//! the server serving the data folder, whose URL is in its `serve.lock`.
//! Invariant: without either the command fails before any request, saying
//! how to start or name a server.

use super::{CliError, ConnectionArgs};
use crate::config::Config;

/// The client of that server; `why` opens the error when there is none
/// ("memory stores live in the memory of a running profilestore server").
pub(super) fn client(
    args: &ConnectionArgs,
    config: &Config,
    why: &str,
) -> Result<crate::remote::RemoteClient, CliError> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let dir = config.storage_config().data_dir;
            crate::serve::serving(&dir)
                .and_then(|h| h.url)
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "{why}, and no server is serving {dir}: start one with `profilestore serve \
                         --data-dir {dir}` (with `--api-key KEY` for the emulator controls), or pass \
                         --url http://HOST:PORT (and --key KEY) of the server",
                        dir = dir.display()
                    ))
                })?
        }
    };
    args.client(&url)
}
