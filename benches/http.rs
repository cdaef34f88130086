//! HTTP benchmark: v1 get and set through `profilestore serve`'s stack
//! (memory storage) beside a bare hyper server answering the same bodies,
//! measured in the same run with the same client (16 concurrent keep-alive
//! connections on loopback). Prints a Markdown table.
//!
//! Run: `cargo bench --bench http` (`-- --quick` for a short run).

#[path = "common/latency.rs"]
mod latency;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use profilestore::testing::spawn_test_server;

const CLIENTS: usize = 16;
const VALUE: &str = r#"{"Coins":1250,"Level":17,"Items":["Sword","Shield","Potion"]}"#;

async fn bare_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        VALUE.as_bytes(),
                    ))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// Runs `CLIENTS` loops for `budget`; returns ops/s and the p50/p99 latency.
async fn load(
    method: Method,
    url: String,
    key: String,
    budget: Duration,
) -> (f64, Duration, Duration) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, key, method) = (client.clone(), url.clone(), key.clone(), method.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < budget {
                let t = Instant::now();
                let body = if method == Method::POST { VALUE } else { "" };
                let req = Request::builder()
                    .method(method.clone())
                    .uri(&url)
                    .header("x-api-key", &key)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .expect("request");
                let res = client.request(req).await.expect("response");
                assert!(res.status().is_success(), "{}", res.status());
                let _ = res.into_body().collect().await.expect("body");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    latency::summarize(tasks, || start.elapsed()).await
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 300 } else { 3000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = spawn_test_server().await;
        let bare = bare_server().await;
        let entry = format!(
            "{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench&entryKey=k",
            server.url
        );
        // Seed the key so gets find it.
        let _ = load(Method::POST, entry.clone(), server.api_key.clone(), Duration::from_millis(50)).await;
        println!("| request | profilestore ops/s | p50 | p99 | bare hyper ops/s | p50 | p99 | ratio |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (name, method) in [("v1 get entry", Method::GET), ("v1 set entry", Method::POST)] {
            let ours = load(method.clone(), entry.clone(), server.api_key.clone(), budget).await;
            let raw = load(method, bare.clone(), String::new(), budget).await;
            println!(
                "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.0} % |",
                ours.0,
                ours.1.as_secs_f64() * 1e3,
                ours.2.as_secs_f64() * 1e3,
                raw.0,
                raw.1.as_secs_f64() * 1e3,
                raw.2.as_secs_f64() * 1e3,
                100.0 * ours.0 / raw.0
            );
        }
        server.shutdown().await;
    });
}
