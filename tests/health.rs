//! `GET /healthz` and `GET /readyz`: no API key needed; `/readyz` is 503
//! once the server is shutting down (and names why), and 200 with its
//! storage reachable.

mod support;

use hyper::{Method, StatusCode};
use profilestore::http::Limits;
use support::net::NetServer;
use support::send;

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_key() {
    let s = NetServer::start(Limits::default(), None, |_| {}).await;
    let a = send(Method::GET, &format!("{}/healthz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    let a = send(Method::GET, &format!("{}/readyz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.json()["status"], "ready");
    assert_eq!(a.json()["storage"], "ok");
    assert!(a.header("x-request-id").is_some());
    // Nothing else is open without a key.
    let a = send(Method::GET, &format!("{}/healthz/x", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(Method::POST, &format!("{}/readyz", s.url), &[], "").await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "only GET and HEAD are open"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn readyz_is_503_while_the_server_is_closing_and_healthz_stays_200() {
    let s = NetServer::start(Limits::default(), None, |_| {}).await;
    // What shutdown does first (before in-flight requests drain).
    s.closing.cancel();
    let a = send(Method::GET, &format!("{}/readyz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["status"], "not ready");
    assert!(
        body["problems"][0]
            .as_str()
            .expect("a problem")
            .contains("shutting down"),
        "{body}"
    );
    let a = send(Method::GET, &format!("{}/healthz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK, "the process is still up");
    s.shutdown().await;
}

#[tokio::test]
async fn health_paths_work_on_a_server_without_keys_and_over_tls() {
    let cert = support::net::TestCert::new();
    let s = NetServer::start(Limits::default(), Some(cert.tls()), |state| {
        state.api_keys.clear();
    })
    .await;
    let client = profilestore::remote::RemoteClient::with_ca_cert(&s.url, None, Some(&cert.cert))
        .expect("client");
    let a = client
        .send(
            Method::GET,
            "/readyz",
            &[],
            bytes::Bytes::new(),
            std::time::Duration::ZERO,
        )
        .await
        .expect("readyz");
    assert_eq!(a.status, StatusCode::OK);
    s.shutdown().await;
}

#[tokio::test]
async fn readyz_is_503_naming_storage_when_storage_fails_and_200_once_it_is_back() {
    use profilestore::datastore::{DataStoreConfig, DataStoreService};
    use profilestore::faults::FaultyPlugin;
    use std::sync::Arc;
    let plugin = Arc::new(FaultyPlugin::new(Arc::new(
        profilestore_memory::MemoryPlugin::new(),
    )));
    let faulty = Arc::clone(&plugin);
    let s = NetServer::start(Limits::default(), None, move |state| {
        state.datastores =
            DataStoreService::new(faulty, state.clock.clone(), DataStoreConfig::default());
    })
    .await;
    plugin.fail_all(true);
    let a = send(Method::GET, &format!("{}/readyz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["storage"], "unreachable", "{body}");
    assert!(
        body["problems"][0]
            .as_str()
            .expect("a problem")
            .starts_with("storage"),
        "{body}"
    );
    plugin.fail_all(false);
    let a = send(Method::GET, &format!("{}/readyz", s.url), &[], "").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    s.shutdown().await;
}
