//! The TLS side of the remote client: which servers an `https://` URL may
//! reach.
//!
//! Owns: the rustls client configuration (`ring` provider, HTTP/1.1) and
//! its trust: the public CAs of `webpki-roots`, plus the certificates of
//! one PEM file (`--ca-cert` / [`CA_CERT_ENV`]: a private CA, or a
//! self-signed server certificate). Invariants: certificates are always
//! verified (there is no "insecure" switch); a CA file that cannot be
//! read or holds no certificate is an error naming the file, before any
//! request; the configuration without a CA file is built once per process.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::RemoteError;

/// The environment variable naming a PEM file of extra trusted
/// certificates for `https://` servers.
pub const CA_CERT_ENV: &str = "PROFILESTORE_CA_CERT";

/// The public CAs.
fn public_roots() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A client configuration trusting `roots`.
fn config(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ALPN (`http/1.1`) is the connector's: `enable_http1` sets it.
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The configuration trusting the public CAs only (`None` if rustls
/// refuses its own defaults, which it does not).
static PUBLIC: LazyLock<Option<Arc<rustls::ClientConfig>>> =
    LazyLock::new(|| config(public_roots()).ok());

/// The configuration trusting the public CAs and the certificates in `ca`.
fn with_ca(ca: &Path) -> Result<Arc<rustls::ClientConfig>, RemoteError> {
    let bad = |reason: String| RemoteError::CaCert {
        path: ca.display().to_string(),
        reason,
    };
    let pem = std::fs::read(ca).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no `-----BEGIN CERTIFICATE-----` block in it".into()));
    }
    let mut roots = public_roots();
    for cert in certs {
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    config(roots).map_err(|e| bad(e.to_string()))
}

/// The longest a connection attempt (TCP) may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The connector of a client: plain `http://`, and `https://` trusting the
/// public CAs and the certificates of `ca`; TCP connects are bounded
/// (10 s) and use `TCP_NODELAY`. Also the cluster's
/// forwarding between nodes.
pub fn connector(ca: Option<&Path>) -> Result<HttpsConnector<HttpConnector>, RemoteError> {
    let config = match ca {
        Some(ca) => with_ca(ca)?,
        None => PUBLIC.clone().ok_or_else(|| RemoteError::CaCert {
            path: "(public CAs)".into(),
            reason: "rustls refused its default configuration".into(),
        })?,
    };
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    tcp.set_nodelay(true);
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(Arc::unwrap_or_clone(config))
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}
