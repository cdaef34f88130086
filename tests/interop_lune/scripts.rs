//! Lune scripts of `tests/luau/` that check the Luau client on their own
//! (every check is in the script; the test asserts its summary): the
//! objects it hands out, ordered data stores, memory stores, over both
//! transports, and a server script written for Roblox.

use profilestore::testing::spawn_test_server;

use crate::harness::{lune_setup, run_script};

/// Runs `tests/luau/{name}.luau` against a fresh test server.
async fn script(name: &str, vars: &[(&str, &str)]) {
    let Some(setup) = lune_setup(name) else {
        return;
    };
    let server = spawn_test_server().await;
    run_script(&setup, name, &server.url, &server.api_key, vars)
        .finish()
        .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn luau_objects_are_userdata_as_on_roblox() {
    script("objects", &[]).await;
}
