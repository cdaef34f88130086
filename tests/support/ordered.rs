//! Helpers of the ordered data store tests (`ordered*.rs`,
//! `http_ordered*.rs`): both backends of `OrderedService` side by side, a
//! direct write under a backend (to make a conflict), and a client of the
//! three HTTP families (Open Cloud v1, v2, the engine API).

use std::sync::Arc;

use hyper::{Method, StatusCode};
use profilestore::clock::Clock;
use profilestore::ordered::{OrderedDataStore, OrderedExpect, OrderedService};
use profilestore::plugin_api::{EntryId, OrderedWrite, StoragePlugin};
use profilestore::remote::RemoteClient;
use profilestore::testing::{spawn_test_server, TestServer};
use serde_json::Value;

use super::{send, Answer};

/// A local service on a fresh memory plugin, and the plugin.
pub(crate) fn local() -> (OrderedService, Arc<dyn StoragePlugin>) {
    let plugin: Arc<dyn StoragePlugin> = Arc::new(profilestore_memory::MemoryPlugin::new());
    (
        OrderedService::new(Arc::clone(&plugin), Clock::system()),
        plugin,
    )
}

/// A remote service on `server`'s engine API.
pub(crate) fn remote(server: &TestServer) -> OrderedService {
    let client = RemoteClient::new(&server.url, Some(server.api_key.clone())).expect("client");
    OrderedService::remote(client, Clock::system())
}

/// The plugin behind `server` (its ordered service uses the same one).
pub(crate) fn server_plugin(server: &TestServer) -> Arc<dyn StoragePlugin> {
    Arc::clone(server.datastores.storage().expect("local storage").plugin())
}

/// One backend under test: its name, the service, the plugin its data lands in.
pub(crate) type Backend = (&'static str, OrderedService, Arc<dyn StoragePlugin>);

/// A test server, and both backends (local, remote on that server).
pub(crate) async fn backends() -> (TestServer, Vec<Backend>) {
    let server = spawn_test_server().await;
    let (service, plugin) = local();
    let remote = remote(&server);
    let server_side = server_plugin(&server);
    let all = vec![("local", service, plugin), ("remote", remote, server_side)];
    (server, all)
}

/// Universe 7, `Board`, scope `global`.
pub(crate) fn board(service: &OrderedService) -> OrderedDataStore {
    service.data_store(7, "Board", "global").expect("store")
}

/// Writes `Board/global/key` straight into `plugin` (another writer).
pub(crate) fn poke(plugin: &Arc<dyn StoragePlugin>, key: &str, value: i64) {
    let write = OrderedWrite {
        entry: EntryId::new(7, "Board", "global", key),
        expect: OrderedExpect::Any,
        value: Some(value),
    };
    plugin.ordered_write(&write).expect("direct write");
}

/// The entries collection of one store and scope, in one HTTP family.
pub(crate) struct Api<'s> {
    server: &'s TestServer,
    /// `.../entries`.
    pub base: String,
}

impl<'s> Api<'s> {
    /// Open Cloud v1, universe 1.
    pub(crate) fn v1(server: &'s TestServer, store: &str, scope: &str) -> Self {
        let base = format!(
            "{}/ordered-data-stores/v1/universes/1/orderedDataStores/{store}/scopes/{scope}/entries",
            server.url
        );
        Api { server, base }
    }

    /// Open Cloud v2, universe 1.
    pub(crate) fn v2(server: &'s TestServer, store: &str, scope: &str) -> Self {
        let base = format!(
            "{}/cloud/v2/universes/1/ordered-data-stores/{store}/scopes/{scope}/entries",
            server.url
        );
        Api { server, base }
    }

    /// The engine API, universe 9.
    pub(crate) fn engine(server: &'s TestServer, store: &str, scope: &str) -> Self {
        let base = format!(
            "{}/engine-api/v1/universes/9/ordered-data-stores/{store}/scopes/{scope}/entries",
            server.url
        );
        Api { server, base }
    }

    /// `method` on `base + tail` with the server's key; `Null` sends no body.
    pub(crate) async fn call(&self, method: Method, tail: &str, body: Value) -> Answer {
        let key = [("x-api-key", self.server.api_key.as_str())];
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        send(method, &format!("{}{tail}", self.base), &key, body).await
    }

    /// [`Api::call`] that must answer 200; its JSON.
    pub(crate) async fn ok(&self, method: Method, tail: &str, body: Value) -> Value {
        let a = self.call(method, tail, body).await;
        assert_eq!(a.status, StatusCode::OK, "{tail}: {:?}", a.body);
        a.json()
    }
}

/// An error answer of `status` with a v2 body: `code`, and a message
/// starting with `message`.
pub(crate) fn assert_error(a: &Answer, status: StatusCode, code: &str, message: &str) {
    assert_eq!(a.status, status, "{:?}", a.body);
    let body = a.json();
    assert_eq!(body["code"], code, "{body}");
    let text = body["message"].as_str().unwrap_or("");
    assert!(
        text.starts_with(message),
        "{text:?} should start with {message:?}"
    );
}
