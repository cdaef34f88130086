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

/// An answer a bare server repeats: status, headers and body.
#[derive(Clone)]
struct Canned {
    status: hyper::StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Canned {
    /// The JSON body alone, as a server with no headers of its own sends it.
    fn body_only() -> Self {
        Canned {
            status: hyper::StatusCode::OK,
            headers: hyper::HeaderMap::new(),
            body: Bytes::from_static(VALUE.as_bytes()),
        }
    }

    /// profilestore's answer to one `method` request on `url`.
    async fn of(method: Method, url: &str, key: &str) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let res = client
            .request(request(&method, url, key))
            .await
            .expect("response");
        let (parts, body) = res.into_parts();
        let mut headers = parts.headers;
        // hyper writes these itself.
        headers.remove(hyper::header::CONTENT_LENGTH);
        headers.remove(hyper::header::DATE);
        Canned {
            status: parts.status,
            headers,
            body: body.collect().await.expect("body").to_bytes(),
        }
    }
}

/// A bare hyper server answering a GET with `get` and anything else with
/// `post`, doing nothing else.
async fn bare_server(get: Canned, post: Canned) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let answers = std::sync::Arc::new((get, post));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let answers = answers.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let answers = answers.clone();
                    async move {
                        let canned = if req.method() == Method::GET {
                            &answers.0
                        } else {
                            &answers.1
                        };
                        let _ = req.into_body().collect().await;
                        let mut res = Response::new(Full::new(canned.body.clone()));
                        *res.status_mut() = canned.status;
                        *res.headers_mut() = canned.headers.clone();
                        Ok::<_, Infallible>(res)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// One bench request: a POST sends `VALUE`, any other method no body.
fn request(method: &Method, url: &str, key: &str) -> Request<Full<Bytes>> {
    let body = if method == Method::POST { VALUE } else { "" };
    Request::builder()
        .method(method.clone())
        .uri(url)
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
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
                let res = client
                    .request(request(&method, &url, &key))
                    .await
                    .expect("response");
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
    let rounds = if quick { 1 } else { 3 };
    runtime.block_on(async {
        let server = spawn_test_server().await;
        let entry = format!(
            "{}/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench&entryKey=k",
            server.url
        );
        // The set first: it seeds the key the gets read.
        let post = Canned::of(Method::POST, &entry, &server.api_key).await;
        let get = Canned::of(Method::GET, &entry, &server.api_key).await;
        assert!(get.status.is_success(), "the seeded get answers {}", get.status);
        let same = bare_server(get, post).await;
        let body_only = bare_server(Canned::body_only(), Canned::body_only()).await;
        println!("| request | profilestore ops/s | p50 | p99 | bare, same answer ops/s | p50 | p99 | ratio | bare, body only ops/s | ratio |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (name, method) in [("v1 get entry", Method::GET), ("v1 set entry", Method::POST)] {
            // Rounds with the order rotating (the machine may be busy);
            // each column is the round with the median rate.
            let targets = [
                (entry.clone(), server.api_key.clone()),
                (same.clone(), String::new()),
                (body_only.clone(), String::new()),
            ];
            let mut runs: [Vec<(f64, Duration, Duration)>; 3] = Default::default();
            for round in 0..rounds {
                for i in 0..3 {
                    let t = (i + round) % 3;
                    let (url, key) = targets[t].clone();
                    runs[t].push(load(method.clone(), url, key, budget).await);
                }
            }
            let [ours, bare, body] = runs.map(|mut r| {
                r.sort_by(|a, b| a.0.total_cmp(&b.0));
                r[r.len() / 2]
            });
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.0} % | {:.0} | {:.0} % |",
                ours.0,
                ms(ours.1),
                ms(ours.2),
                bare.0,
                ms(bare.1),
                ms(bare.2),
                100.0 * ours.0 / bare.0,
                body.0,
                100.0 * ours.0 / body.0
            );
        }
        server.shutdown().await;
    });
}
