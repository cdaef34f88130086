//! Memory store HTTP benchmark: sorted map set and get and a queue cycle
//! (add, read, remove) over the engine API, beside the standard DataStore
//! entry get (`/datastores/v1` get of one entry) measured in the same run
//! with the same client (16 concurrent keep-alive connections on
//! loopback). Prints a Markdown table with each row's ratio to the entry
//! get.
//!
//! Run: `cargo bench --bench memory_http` (`-- --quick` for a short run).

#[path = "common/latency.rs"]
mod latency;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use profilestore::testing::spawn_test_server;
use serde_json::Value;

const CLIENTS: usize = 16;
const VALUE: &str = r#"{"Coins":1250,"Level":17,"Items":["Sword","Shield","Potion"]}"#;

type Http = Client<HttpConnector, Full<Bytes>>;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    EntryGet,
    SortedSet,
    SortedGet,
    QueueCycle,
}

#[derive(Clone)]
struct Target {
    http: Http,
    base: String,
    key: String,
}

impl Target {
    async fn send(&self, method: Method, path: &str, body: String) -> Value {
        let req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let res = self.http.request(req).await.expect("response");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let body = res.into_body().collect().await.expect("body").to_bytes();
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }

    /// One operation of `op` by client `c` (its `n`th).
    async fn run(&self, op: Op, c: usize, n: usize) {
        let mem = "/engine-api/v1/universes/1/memory-store";
        let item = format!("{mem}/sorted-maps/bench/items/k{c}-{}", n % 64);
        match op {
            Op::EntryGet => {
                let path = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench&entryKey=k";
                self.send(Method::GET, path, String::new()).await;
            }
            Op::SortedSet => {
                let body = format!(r#"{{"value":{VALUE},"expiration":600,"sortKey":{n}}}"#);
                self.send(Method::PUT, &item, body).await;
            }
            Op::SortedGet => {
                self.send(Method::GET, &item, String::new()).await;
            }
            Op::QueueCycle => {
                let q = format!("{mem}/queues/bench{c}");
                let add = format!(r#"{{"value":{VALUE},"expiration":600,"priority":0}}"#);
                self.send(Method::POST, &format!("{q}/items:add"), add)
                    .await;
                let read = r#"{"count":1,"waitTimeout":0,"invisibilityTimeout":30}"#.to_owned();
                let got = self
                    .send(Method::POST, &format!("{q}/items:read"), read)
                    .await;
                let id = got["id"].as_str().expect("a read id").to_owned();
                let remove = format!(r#"{{"id":"{id}"}}"#);
                self.send(Method::POST, &format!("{q}/items:remove"), remove)
                    .await;
            }
        }
    }
}

/// Runs `CLIENTS` loops of `op` for `budget`; ops/s and p50/p99 latency.
async fn load(t: &Target, op: Op, budget: Duration) -> (f64, Duration, Duration) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while start.elapsed() < budget {
                let at = Instant::now();
                t.run(op, c, n).await;
                latencies.push(at.elapsed());
                n += 1;
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
        let t = Target {
            http: Client::builder(TokioExecutor::new()).build_http(),
            base: server.url.clone(),
            key: server.api_key.clone(),
        };
        let seed = "/datastores/v1/universes/1/standard-datastores/datastore/entries/entry?datastoreName=Bench&entryKey=k";
        t.send(Method::POST, seed, VALUE.to_owned()).await;
        for c in 0..CLIENTS {
            for n in 0..64 {
                t.run(Op::SortedSet, c, n).await;
            }
        }
        let (base, ..) = load(&t, Op::EntryGet, budget).await;
        println!("| request (engine API) | ops/s | p50 | p99 | vs v1 entry get |");
        println!("|---|---:|---:|---:|---:|");
        let rows = [
            ("v1 entry get (baseline)", Op::EntryGet),
            ("sorted map set", Op::SortedSet),
            ("sorted map get", Op::SortedGet),
            ("queue add + read + remove (3 requests)", Op::QueueCycle),
        ];
        for (name, op) in rows {
            let (rate, p50, p99) = load(&t, op, budget).await;
            println!(
                "| {name} | {rate:.0} | {:.2} ms | {:.2} ms | {:.2}x |",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                rate / base
            );
        }
        server.shutdown().await;
    });
}
