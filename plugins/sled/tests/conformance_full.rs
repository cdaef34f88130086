//! The shared conformance suite on the sled plugin in `full` durability:
//! every commit goes through group commit's flush turn, which must not
//! change any behaviour.

use profilestore_plugin_api::conformance::Subject;
use profilestore_plugin_api::Durability;
use profilestore_sled::SledPlugin;

fn subject() -> Subject {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = SledPlugin::open(&dir.path().join("sled"), Durability::Full).expect("open");
    Subject {
        plugin: Box::new(plugin),
        guard: Box::new(dir),
    }
}

profilestore_plugin_api::conformance_suite!(subject);
