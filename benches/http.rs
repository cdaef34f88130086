//! HTTP benchmark: v1 get and set through `profilestore serve`'s stack
//! (memory storage) beside a bare hyper server answering the same bodies,
//! measured in the same run with the same client (16 concurrent keep-alive
//! connections on loopback). Prints a Markdown table.
//!
//! Run: `cargo bench --bench http` (`-- --quick` for a short run).
//! `-- --metrics`: instead, the same workload on two servers, metrics on
//! and off, in interleaved rounds (the machine may be busy), with the
//! median of each and their ratio.

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
use profilestore::testing::{spawn_test_server, spawn_test_server_with_metrics};

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

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// What recording one request costs (the clock reads, the counter's
/// label lookup, the histogram), without the server around it.
fn recording_cost() -> Duration {
    use profilestore::metrics::{ApiFamily, Metrics};
    let metrics = Metrics::new();
    let n = 1_000_000u32;
    let start = Instant::now();
    for _ in 0..n {
        let started = metrics.start();
        metrics.http_request(ApiFamily::DataStoresV1, 200, started);
    }
    start.elapsed() / n
}

/// The metrics' overhead: rounds of on, off (order alternating), medians.
async fn metrics_overhead(budget: Duration, rounds: usize) {
    let cost = recording_cost();
    println!("recording one request's metrics: {} ns\n", cost.as_nanos());
    let on = spawn_test_server_with_metrics(profilestore::metrics::Metrics::new()).await;
    let off = spawn_test_server_with_metrics(profilestore::metrics::Metrics::off()).await;
    let entry = |s: &profilestore::testing::TestServer| {
        format!(
            "{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench&entryKey=k",
            s.url
        )
    };
    for s in [&on, &off] {
        let _ = load(
            Method::POST,
            entry(s),
            s.api_key.clone(),
            Duration::from_millis(50),
        )
        .await;
    }
    println!("| request | metrics on ops/s | p50 | metrics off ops/s | p50 | on / off |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, method) in [
        ("v1 get entry", Method::GET),
        ("v1 set entry", Method::POST),
    ] {
        let (mut on_ops, mut on_p50, mut off_ops, mut off_p50) = (vec![], vec![], vec![], vec![]);
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [&on, &off]
            } else {
                [&off, &on]
            };
            for s in order {
                let (ops, p50, _) = load(method.clone(), entry(s), s.api_key.clone(), budget).await;
                let (o, p) = if std::ptr::eq(s, &on) {
                    (&mut on_ops, &mut on_p50)
                } else {
                    (&mut off_ops, &mut off_p50)
                };
                o.push(ops);
                p.push(p50.as_secs_f64() * 1e3);
            }
        }
        let (on_ops, off_ops) = (median(on_ops), median(off_ops));
        println!(
            "| {name} | {on_ops:.0} | {:.3} ms | {off_ops:.0} | {:.3} ms | {:.1} % |",
            median(on_p50),
            median(off_p50),
            100.0 * on_ops / off_ops
        );
    }
    on.shutdown().await;
    off.shutdown().await;
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 300 } else { 3000 });
    if std::env::args().any(|a| a == "--metrics") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (budget, rounds) = if quick {
            (budget, 3)
        } else {
            (Duration::from_secs(2), 7)
        };
        runtime.block_on(metrics_overhead(budget, rounds));
        return;
    }
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
