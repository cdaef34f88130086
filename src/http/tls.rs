//! TLS for the server (`serve --tls-cert FILE --tls-key FILE`), on rustls
//! with the `ring` provider.
//!
//! Owns: loading a PEM certificate chain and private key into a
//! [`Tls`] acceptor, with errors naming the file, and the bounded TLS
//! handshake of one accepted connection. Invariants: a certificate and key
//! that do not belong together are refused at start-up, not at the first
//! handshake; only HTTP/1.1 is offered (ALPN `http/1.1`); a handshake takes
//! at most the server's header-read time limit and ends when the server
//! drains; a failed handshake (a plain-HTTP client, a client that does not
//! trust the certificate) closes that connection and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} file {path}: {source}")]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file has no usable PEM item of the kind expected.
    #[error("invalid TLS {what} file {path}: {reason}")]
    Invalid {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (no PEM block, a bad block).
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate,
    /// or an algorithm it does not support).
    #[error("the TLS key {key} does not fit the certificate {cert}: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
}

/// A loaded certificate and key: what accepts TLS connections. Cloning
/// shares it.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// The crypto provider of every TLS config of this crate.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// The certificates of a PEM file (at least one), with errors naming it.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |reason: String| TlsError::Invalid {
        what: "certificate",
        path: path.to_owned(),
        reason,
    };
    let pem = read("certificate", path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid(
            "no `-----BEGIN CERTIFICATE-----` block in it".to_owned(),
        ));
    }
    Ok(certs)
}

impl Tls {
    /// Loads the PEM certificate chain `cert` (the server's first) and the
    /// PEM private key `key` (PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let chain = certificates(cert)?;
        let pem = read("key", key)?;
        let private = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Invalid {
            what: "key",
            path: key.to_owned(),
            reason: match e {
                rustls::pki_types::pem::Error::NoItemsFound => {
                    "no `-----BEGIN PRIVATE KEY-----` block in it".to_owned()
                }
                e => e.to_string(),
            },
        })?;
        let mismatch = |e: rustls::Error| TlsError::Mismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason: e.to_string(),
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(mismatch)?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(mismatch)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The TLS side of an accepted connection, or `None` when the
    /// handshake failed, took longer than `limit` or the server drains
    /// (the connection is then dropped).
    pub(super) async fn handshake(
        &self,
        stream: TcpStream,
        limit: Duration,
        drain: &CancellationToken,
    ) -> Option<TlsStream<TcpStream>> {
        let handshake = tokio::time::timeout(limit, self.acceptor.accept(stream));
        tokio::select! {
            done = handshake => match done {
                Ok(Ok(stream)) => Some(stream),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(secs = limit.as_secs_f64(), "TLS handshake timed out");
                    None
                }
            },
            () = drain.cancelled() => None,
        }
    }
}
