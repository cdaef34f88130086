//! TLS: `serve --tls-cert/--tls-key` and the remote client over https, on
//! certificates made at test time. The server keeps its connection cap and
//! time limits for TLS connections; a plain-HTTP client on the TLS port
//! gets no answer and the server keeps serving.

mod support;

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use profilestore::http::Limits;
use profilestore::remote::{RemoteClient, RemoteError};
use support::net::{NetServer, TestCert};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest a test waits for what must happen.
const GIVE_UP: Duration = Duration::from_secs(30);
/// How long nothing must happen, where a test shows something waits.
const QUIET: Duration = Duration::from_millis(300);

const ENTRY: &str = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry\
                     ?datastoreName=Players&entryKey=u1";

async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !out.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before answering");
            out.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(GIVE_UP, read)
        .await
        .expect("an answer");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until the peer closes; what it sent.
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GIVE_UP, read).await.expect("closed");
    out
}

#[tokio::test]
async fn the_remote_client_sets_and_gets_an_entry_over_https() {
    let cert = TestCert::new();
    let server = NetServer::start(Limits::default(), Some(cert.tls()), |_| {}).await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let client =
        RemoteClient::with_ca_cert(&server.url, Some(server.key.clone()), Some(&cert.cert))
            .expect("client");
    let set = client
        .send(
            Method::POST,
            ENTRY,
            &[],
            Bytes::from_static(br#"{"coins":7}"#),
            Duration::ZERO,
        )
        .await
        .expect("set over https");
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    let got = client
        .send(Method::GET, ENTRY, &[], Bytes::new(), Duration::ZERO)
        .await
        .expect("get over https");
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json(), serde_json::json!({"coins": 7}));
    // By hostname too (the certificate names `localhost`).
    let by_name = server.url.replace("127.0.0.1", "localhost");
    let client = RemoteClient::with_ca_cert(&by_name, Some(server.key.clone()), Some(&cert.cert))
        .expect("client");
    let got = client
        .send(Method::GET, ENTRY, &[], Bytes::new(), Duration::ZERO)
        .await
        .expect("get by name");
    assert_eq!(got.json(), serde_json::json!({"coins": 7}));
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused_with_the_reason() {
    let cert = TestCert::new();
    let server = NetServer::start(Limits::default(), Some(cert.tls()), |_| {}).await;
    // Only the public CAs: a self-signed certificate is not among them.
    let client =
        RemoteClient::with_ca_cert(&server.url, Some(server.key.clone()), None).expect("client");
    let e = client
        .send(Method::GET, ENTRY, &[], Bytes::new(), Duration::ZERO)
        .await
        .expect_err("untrusted");
    match &e {
        RemoteError::Unreachable { reason, .. } => {
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The server is fine after the failed handshake.
    let client =
        RemoteClient::with_ca_cert(&server.url, Some(server.key.clone()), Some(&cert.cert))
            .expect("client");
    let got = client
        .send(Method::GET, "/healthz", &[], Bytes::new(), Duration::ZERO)
        .await
        .expect("healthz");
    assert_eq!(got.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn a_ca_file_that_is_not_a_certificate_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let bogus = dir.path().join("ca.pem");
    std::fs::write(&bogus, "not a certificate").expect("write");
    let e =
        RemoteClient::with_ca_cert("https://127.0.0.1:1", None, Some(&bogus)).expect_err("refused");
    assert!(matches!(e, RemoteError::CaCert { .. }), "{e:?}");
    assert!(e.to_string().contains("ca.pem"), "{e}");
    let missing = dir.path().join("missing.pem");
    let e = RemoteClient::with_ca_cert("https://127.0.0.1:1", None, Some(&missing))
        .expect_err("refused");
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_no_answer_and_the_server_keeps_serving() {
    let cert = TestCert::new();
    let server = NetServer::start(Limits::default(), Some(cert.tls()), |_| {}).await;
    let mut plain = TcpStream::connect(server.addr).await.expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let sent = read_to_close(&mut plain).await;
    assert!(
        !sent.starts_with(b"HTTP/"),
        "a plain-HTTP answer on the TLS port: {:?}",
        String::from_utf8_lossy(&sent)
    );
    // The plain-HTTP client of the remote backends fails cleanly too.
    let http_url = server.url.replace("https://", "http://");
    let client = RemoteClient::new(&http_url, Some(server.key.clone())).expect("client");
    let e = client
        .send(Method::GET, "/healthz", &[], Bytes::new(), Duration::ZERO)
        .await
        .expect_err("no answer");
    assert!(e.is_transient(), "{e:?}");
    let client = RemoteClient::with_ca_cert(&server.url, None, Some(&cert.cert)).expect("client");
    let got = client
        .send(Method::GET, "/healthz", &[], Bytes::new(), Duration::ZERO)
        .await
        .expect("still serving");
    assert_eq!(got.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn the_connection_cap_holds_for_tls_connections() {
    let cert = TestCert::new();
    let limits = Limits::new(1, 1).with_header_read_timeout(Duration::from_secs(600));
    let server = NetServer::start(limits, Some(cert.tls()), |_| {}).await;
    let connector = cert.connector();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
    // The one slot: a TLS connection that answered and stays open.
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let mut held = connector
        .connect(name.clone(), tcp)
        .await
        .expect("handshake");
    held.write_all(request).await.expect("write");
    let head = read_head(&mut held).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // A second one waits in the backlog: not even its handshake is served.
    let tcp = TcpStream::connect(server.addr)
        .await
        .expect("kernel backlog");
    let handshake = connector.connect(name, tcp);
    tokio::pin!(handshake);
    let early = tokio::time::timeout(QUIET, handshake.as_mut()).await;
    assert!(early.is_err(), "served beyond the cap");
    drop(held);
    let mut second = tokio::time::timeout(GIVE_UP, handshake)
        .await
        .expect("served once the slot is free")
        .expect("handshake");
    second.write_all(request).await.expect("write");
    let head = read_head(&mut second).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(second);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_cut_at_the_header_timeout() {
    let cert = TestCert::new();
    let limits = Limits::new(1, 1).with_header_read_timeout(Duration::from_millis(300));
    let server = NetServer::start(limits, Some(cert.tls()), |_| {}).await;
    // Holds the only slot, sending nothing.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let sent = read_to_close(&mut silent).await;
    assert!(sent.is_empty(), "{sent:?}");
    // The slot is free again.
    let client = RemoteClient::with_ca_cert(&server.url, None, Some(&cert.cert)).expect("client");
    let got = client
        .send(Method::GET, "/healthz", &[], Bytes::new(), Duration::ZERO)
        .await
        .expect("served");
    assert_eq!(got.status, StatusCode::OK);
    server.shutdown().await;
}

#[test]
fn bad_tls_files_are_errors_naming_the_file() {
    use profilestore::http::tls::{Tls, TlsError};
    let cert = TestCert::new();
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("nope.pem");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN NOTHING-----\n").expect("write");
    let e = Tls::load(&missing, &cert.key).expect_err("missing cert");
    assert!(
        matches!(e, TlsError::Read { .. }) && e.to_string().contains("nope.pem"),
        "{e}"
    );
    let e = Tls::load(&junk, &cert.key).expect_err("junk cert");
    assert!(e.to_string().contains("junk.pem"), "{e}");
    let e = Tls::load(&cert.cert, &junk).expect_err("junk key");
    assert!(
        e.to_string().contains("junk.pem") && e.to_string().contains("key"),
        "{e}"
    );
    // A key of another certificate.
    let other = TestCert::new();
    let e = Tls::load(&cert.cert, &other.key).expect_err("mismatch");
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
}

#[test]
fn serve_announces_https_and_the_cli_reaches_it_with_its_ca_cert() {
    use support::cli::Cli;
    use support::process::ServeProcess;
    let cert = TestCert::new();
    let dir = tempfile::tempdir().expect("dir");
    let server = ServeProcess::builder(dir.path())
        .durability("off")
        .api_key("k1")
        .arg("--tls-cert")
        .arg(&cert.cert)
        .arg("--tls-key")
        .arg(&cert.key)
        .start();
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let lock = std::fs::read_to_string(dir.path().join("serve.lock")).expect("lock file");
    assert!(lock.contains(&server.url), "{lock}");
    let cli_dir = tempfile::tempdir().expect("dir");
    Cli::remote(&server.url, "k1", cli_dir.path())
        .args(["set", "Players", "u1", r#"{"a":1}"#, "--ca-cert"])
        .arg(&cert.cert)
        .run()
        .success();
    // The variable instead of the flag.
    let got = Cli::remote(&server.url, "k1", cli_dir.path())
        .args(["get", "Players", "u1"])
        .env("PROFILESTORE_CA_CERT", &cert.cert)
        .run()
        .success();
    assert!(got.contains(r#""a""#), "{got}");
    // Without it, the self-signed certificate is not trusted.
    Cli::remote(&server.url, "k1", cli_dir.path())
        .args(["get", "Players", "u1"])
        .run()
        .failure_with(&["certificate"]);
    assert!(server.stop().success());
}

#[test]
fn serve_refuses_unusable_tls_settings_naming_the_file() {
    use support::cli::Cli;
    let cert = TestCert::new();
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("missing-cert.pem");
    let serve = || Cli::new().args(["serve", "--listen", "127.0.0.1:0", "--storage", "memory"]);
    serve()
        .arg("--tls-cert")
        .arg(&missing)
        .arg("--tls-key")
        .arg(&cert.key)
        .run()
        .failure_with(&["missing-cert.pem"]);
    serve()
        .arg("--tls-cert")
        .arg(&cert.cert)
        .run()
        .failure_with(&["--tls-key"]);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[server]\ntls_key = \"key.pem\"\n").expect("write");
    serve()
        .arg("--config")
        .arg(&config)
        .run()
        .failure_with(&["server.tls_cert"]);
}
