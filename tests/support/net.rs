//! In-process servers for the network tests (`tests/tls.rs`,
//! `tests/key_scopes.rs`, `tests/health.rs`): a memory-store server whose
//! state a test adjusts first (scoped keys, caps), served over plain HTTP
//! or TLS, and certificates made at test time with `rcgen`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use profilestore::http::tls::Tls;
use profilestore::http::{AppState, HttpError, Limits};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running server.
pub(crate) struct NetServer {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    /// Its plain (all-powerful) key.
    pub key: String,
    /// Its `AppState::closing`: cancelling it is what shutdown does first.
    pub closing: CancellationToken,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), HttpError>>>,
}

impl NetServer {
    /// Starts a server on a fresh memory store with `limits`, its state
    /// changed by `adjust`, over TLS when `tls` is given.
    pub(crate) async fn start(
        limits: Limits,
        tls: Option<Tls>,
        adjust: impl FnOnce(&mut AppState),
    ) -> NetServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let key = uuid::Uuid::new_v4().simple().to_string();
        let (mut state, closing) = profilestore::testing::memory_state(key.clone(), limits);
        state.controls.listen = addr;
        adjust(&mut state);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(profilestore::http::serve_on(listener, state, tls, async {
            let _ = stopped.await;
        }));
        NetServer {
            url: format!("{scheme}://{addr}"),
            addr,
            key,
            closing,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops it gracefully and waits.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("clean stop");
        }
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, in a
/// temporary folder (removed when dropped).
pub(crate) struct TestCert {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate's DER (to trust it in a raw TLS client).
    pub der: Vec<u8>,
}

impl TestCert {
    pub(crate) fn new() -> TestCert {
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("a certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).expect("write cert");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        TestCert {
            der: made.cert.der().to_vec(),
            _dir: dir,
            cert,
            key,
        }
    }

    /// The server side of this certificate.
    pub(crate) fn tls(&self) -> Tls {
        Tls::load(&self.cert, &self.key).expect("load the test certificate")
    }

    /// A raw TLS client trusting only this certificate.
    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(self.der.clone()))
            .expect("trust the test certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}
