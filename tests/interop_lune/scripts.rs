//! Lune scripts of `tests/luau/` that check the Luau client on their own
//! (every check is in the script; the test asserts its summary): the
//! objects it hands out, ordered data stores and memory stores over both
//! transports, with what the scripts wrote read back over the engine API;
//! and the example game's Lobby, a module written for Roblox (leaderboard,
//! server list, matchmaking, trades), on two Lune servers.

use hyper::{Method, StatusCode};
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::{json, Value};

use crate::harness::{lune_setup, run_script, run_script_in};
use crate::support::send;

/// Runs `tests/luau/{name}.luau` against a fresh test server; returns the
/// server (still running) and the script's `RESULT` line, if it printed
/// one, unless Lune is not set up.
async fn script(name: &str, vars: &[(&str, &str)], result: bool) -> Option<(TestServer, Value)> {
    let setup = lune_setup(name)?;
    let server = spawn_test_server().await;
    let mut script = run_script(&setup, name, &server.url, &server.api_key, vars);
    let value = if result {
        script.result().await
    } else {
        Value::Null
    };
    script.finish().await;
    Some((server, value))
}

/// `GET` of an engine API path (after the universe) on `server`.
async fn engine_get(server: &TestServer, path: &str) -> Value {
    let url = format!("{}/engine-api/v1/universes/1{path}", server.url);
    let got = send(Method::GET, &url, &[("x-api-key", &server.api_key)], "").await;
    assert_eq!(got.status, StatusCode::OK, "{path}: {:?}", got.body);
    got.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_objects_are_userdata_as_on_roblox() {
    if let Some((server, _)) = script("objects", &[], false).await {
        server.shutdown().await;
    }
}

async fn ordered_scenario(transport: &str) {
    let vars = [("PROFILESTORE_TRANSPORT", transport)];
    let Some((server, luau)) = script("ordered", &vars, true).await else {
        return;
    };
    assert_eq!(luau, json!({"ada": 6, "race": 20}));
    let store = format!("/ordered-data-stores/Leaderboard_{transport}/scopes/global/entries");
    for (key, value) in [
        ("ada", 6_i64),
        ("race", 20),
        ("upd", 101),
        ("big", 9_007_199_254_740_993),
    ] {
        let got = engine_get(&server, &format!("{store}/{key}")).await;
        assert_eq!(got["value"], json!(value), "{key}: what Luau wrote");
    }
    let ranked = format!(
        "/ordered-data-stores/Leaderboard_{transport}/scopes/ranked/entries?ascending=false&pageSize=2"
    );
    assert_eq!(
        engine_get(&server, &ranked).await["entries"],
        json!([{"key": "c", "value": 9}, {"key": "e", "value": 7}])
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_ordered_data_stores_over_net() {
    ordered_scenario("net").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_ordered_data_stores_over_httpservice() {
    ordered_scenario("HttpService").await;
}

async fn memory_scenario(transport: &str) {
    let vars = [("PROFILESTORE_TRANSPORT", transport)];
    let Some((server, luau)) = script("memory", &vars, true).await else {
        return;
    };
    assert_eq!(luau, json!({"queueSize": 2, "servers": 3}));
    let map = format!("/memory-store/sorted-maps/Servers_{transport}/items/a");
    let item = &engine_get(&server, &map).await["item"];
    assert_eq!(item["value"], json!({"players": 2}), "what Luau wrote");
    assert_eq!(item["sortKey"].as_f64(), Some(10.0), "a numeric sort key");
    let hash = format!("/memory-store/hash-maps/Trades_{transport}/items/t1");
    assert_eq!(
        engine_get(&server, &hash).await["item"]["value"],
        json!({"from": 1, "to": 3})
    );
    let queue = format!("/memory-store/queues/Matchmaking_{transport}:size");
    assert_eq!(engine_get(&server, &queue).await["size"], json!(2));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_memory_stores_over_net() {
    memory_scenario("net").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_memory_stores_over_httpservice() {
    memory_scenario("HttpService").await;
}

/// `examples/lune_game/src/server/Lobby.luau` uses ordered data stores and
/// every memory store structure as a Roblox game does, and runs unchanged
/// on two Lune game servers (`tests/lobby.luau`, from the game's folder).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roblox_lobby_module_runs_unchanged_on_two_lune_servers() {
    let Some(setup) = lune_setup("lobby example") else {
        return;
    };
    let server = spawn_test_server().await;
    let output = run_script_in(
        &setup,
        "examples/lune_game",
        "tests/lobby.luau",
        &server.url,
        &server.api_key,
    )
    .finish()
    .await;
    assert!(output.contains("passed=17 failed=0"), "{output}");
    let top = "/ordered-data-stores/Wins/scopes/global/entries?ascending=false&pageSize=3";
    assert_eq!(
        engine_get(&server, top).await["entries"],
        json!([{"key": "1", "value": 3}, {"key": "3", "value": 2}, {"key": "2", "value": 1}]),
        "the leaderboard the servers wrote"
    );
    let best = "/ordered-data-stores/BestScore/scopes/global/entries/1";
    assert_eq!(engine_get(&server, best).await["value"], json!(60));
    let servers = "/memory-store/sorted-maps/ServerList:size";
    assert_eq!(
        engine_get(&server, servers).await["size"],
        json!(0),
        "both closed servers left the list"
    );
    let queue = "/memory-store/queues/Matchmaking:size";
    assert_eq!(engine_get(&server, queue).await["size"], json!(0));
    server.shutdown().await;
}
