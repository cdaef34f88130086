//! Unit tests of `config.toml` parsing, validation and precedence.

use super::*;

#[test]
fn the_shipped_config_toml_parses_and_equals_the_defaults() {
    let text = include_str!("../../config.toml");
    let parsed = Config::from_toml(text, Path::new("config.toml")).expect("config.toml");
    assert_eq!(parsed, Config::default());
}

#[test]
fn the_default_engine_section_is_the_luau_modules_constants() {
    assert_eq!(
        Config::default().engine_config(),
        crate::engine::EngineConfig::default()
    );
    let fast = Config::from_toml("[engine]\nsession_steal_secs = 4.0\n", Path::new("c.toml"))
        .expect("parse");
    assert_eq!(fast.engine_config().session_steal, Duration::from_secs(4));
}

#[test]
fn the_server_time_limits_default_to_the_http_constants_and_can_be_set() {
    let limits = Config::default().limits();
    assert_eq!(limits.header_read_timeout, crate::http::HEADER_READ_TIMEOUT);
    assert_eq!(
        limits.body_read_timeout,
        crate::http::request::BODY_READ_TIMEOUT
    );
    let fast = Config::from_toml(
        "[server]\nheader_read_timeout_secs = 0.5\nbody_read_timeout_secs = 2.0\n",
        Path::new("c.toml"),
    )
    .expect("parse");
    let limits = fast.limits();
    assert_eq!(limits.header_read_timeout, Duration::from_millis(500));
    assert_eq!(limits.body_read_timeout, Duration::from_secs(2));
    for bad in ["0", "-1", "nan", "inf", "1e10"] {
        let err = Config::from_toml(
            &format!("[server]\nheader_read_timeout_secs = {bad}\n"),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("server.header_read_timeout_secs"),
            "{bad}: {err}"
        );
    }
    let err = Config::from_toml(
        "[server]\nbody_read_timeout_secs = 0.0\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("server.body_read_timeout_secs"), "{err}");
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    let err = Config::from_toml(
        "[server]\nlisten_addr = \"127.0.0.1:1\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("listen_addr"), "{err}");
    let err = Config::from_toml("[storag]\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("storag"), "{err}");
}

#[test]
fn bad_values_are_rejected() {
    let err = Config::from_toml(
        "[storage]\ndurability = \"sometimes\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("sometimes"), "{err}");
    let err = Config::from_toml("[engine]\nsession_steal_secs = -1\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("engine.session_steal_secs"), "{err}");
}

#[test]
fn overrides_beat_the_file() {
    let file = Config::from_toml(
        "[server]\nlisten = \"127.0.0.1:9000\"\napi_keys = [\"a\"]\n[storage]\nplugin = \"sled\"\n",
        Path::new("c.toml"),
    )
    .expect("parse");
    assert_eq!(file.server.listen.port(), 9000);
    let merged = file
        .apply(Overrides {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            api_keys: vec!["b".into()],
            storage: Some(StorageKind::Memory),
            ..Overrides::default()
        })
        .expect("apply");
    assert_eq!(merged.server.listen.port(), 0);
    assert_eq!(merged.server.api_keys, vec!["b".to_owned()]);
    assert_eq!(merged.storage.plugin, StorageKind::Memory);
}

#[test]
fn a_missing_explicit_file_is_an_error_but_a_missing_default_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    assert!(matches!(
        Config::load(Some(&missing)),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn the_emulator_controls_follow_the_address_unless_set() {
    let loopback = Config::default().controls();
    assert_eq!(loopback.setting, None);
    assert!(loopback.check(true).is_ok());
    let off =
        Config::from_toml("[emulator]\ncontrols = false\n", Path::new("c.toml")).expect("parse");
    assert!(off.controls().check(true).is_err());
    let on = off
        .apply(Overrides {
            listen: Some("0.0.0.0:8787".parse().expect("addr")),
            emulator_controls: Some(true),
            ..Overrides::default()
        })
        .expect("apply");
    assert_eq!(on.controls().setting, Some(true));
    assert!(on.controls().check(true).is_ok());
    let err = Config::from_toml("[emulator]\ncontrol = true\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("control"), "{err}");
}

#[test]
fn budgets_are_off_by_default_and_can_be_turned_on_for_every_universe() {
    assert_eq!(
        Config::default().budgets(),
        crate::budgets::Settings::default()
    );
    let on = Config::from_toml(
        "[budgets]\nenabled = true\nconcurrent_users = 5\n",
        Path::new("c.toml"),
    )
    .expect("parse");
    let settings = on.budgets();
    assert!(settings.enabled);
    assert_eq!(settings.concurrent_users, 5);
    assert!(Config::from_toml("[budgets]\nenable = true\n", Path::new("c.toml")).is_err());
}

#[test]
fn the_bus_delivery_is_local_by_default_and_can_be_shared() {
    assert_eq!(Config::default().messaging.delivery, BusDelivery::Local);
    let shared = Config::from_toml(
        "[messaging]\ndelivery = \"shared\"\npoll_interval_secs = 0.1\n",
        Path::new("c.toml"),
    )
    .expect("parse");
    assert_eq!(shared.messaging.delivery, BusDelivery::Shared);
    assert_eq!(
        shared.shared_bus_config().poll_interval,
        Duration::from_millis(100)
    );
    let err = Config::from_toml(
        "[messaging]\ndelivery = \"carrier-pigeon\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("delivery"), "{err}");
    let err = Config::from_toml("[messaging]\npoll_interval_secs = 0\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("messaging.poll_interval_secs"), "{err}");
}

#[test]
fn postgres_storage_makes_every_server_a_node_of_one_cluster() {
    let alone = Config::default()
        .apply(Overrides::default())
        .expect("apply");
    assert!(!alone.cluster.enabled);
    assert_eq!(alone.datastore_config().shared_state_refresh, None);
    let node = Config::default()
        .apply(Overrides {
            storage: Some(StorageKind::Postgres),
            ..Overrides::default()
        })
        .expect("apply");
    assert!(node.cluster.enabled);
    assert_eq!(node.messaging.delivery, BusDelivery::Shared);
    assert!(node.memory_store.shared);
    assert_eq!(
        node.datastore_config().shared_state_refresh,
        Some(Duration::from_secs(1))
    );
}

#[test]
fn the_history_section_has_defaults_and_is_validated() {
    let history = Config::default().history_config();
    assert_eq!(history, crate::history::HistoryConfig::default());
    assert_eq!(history.retention, Duration::from_secs(30 * 86_400));
    let set = Config::from_toml(
        "[history]\nretention_days = 0.5\nmax_events_per_profile = 3\nhandoff_window_secs = 5.0\n[engine]\nassume_dead_secs = 100.0\n",
        Path::new("c.toml"),
    )
    .expect("parse");
    let history = set.history_config();
    assert_eq!(history.retention, Duration::from_secs(43_200));
    assert_eq!(history.max_events, 3);
    assert_eq!(history.handoff_window, Duration::from_secs(5));
    assert_eq!(history.assume_dead, Duration::from_secs(100));
    for bad in [
        "retention_days = 0",
        "retention_days = -1",
        "retention_days = 1e12",
        "max_events_per_profile = 0",
        "handoff_window_secs = 0",
    ] {
        let err = Config::from_toml(&format!("[history]\n{bad}\n"), Path::new("c.toml"))
            .expect_err(bad)
            .to_string();
        assert!(err.contains("history."), "{bad}: {err}");
    }
}

#[test]
fn metrics_are_on_by_default_and_public_needs_them_on() {
    let metrics = Config::default().metrics.metrics();
    assert!(metrics.is_enabled() && !metrics.is_public());
    let public =
        Config::from_toml("[metrics]\npublic = true\n", Path::new("c.toml")).expect("parse");
    assert!(public.metrics.metrics().is_public());
    let off =
        Config::from_toml("[metrics]\nenabled = false\n", Path::new("c.toml")).expect("parse");
    assert!(!off.metrics.metrics().is_enabled());
    let err = Config::from_toml(
        "[metrics]\nenabled = false\npublic = true\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("metrics.public"), "{err}");
    let err = Config::from_toml("[metrics]\nport = 9090\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("port"), "{err}");
}
