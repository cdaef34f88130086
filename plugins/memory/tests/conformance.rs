//! The shared conformance suite on the in-memory plugin.

use profilestore_memory::MemoryPlugin;
use profilestore_plugin_api::conformance::Subject;

fn subject() -> Subject {
    Subject {
        plugin: Box::new(MemoryPlugin::new()),
        guard: Box::new(()),
    }
}

profilestore_plugin_api::conformance_suite!(subject);
