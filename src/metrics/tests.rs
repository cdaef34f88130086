//! Unit tests of the metrics: off records nothing, each method moves its
//! family, the text names every family, scraped histograms render.

use super::*;

fn line_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn label_sets_index_their_children_in_order() {
    for (i, f) in ApiFamily::ALL.iter().enumerate() {
        assert_eq!(*f as usize, i);
    }
    for (i, r) in SessionEnd::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i);
    }
    for (i, r) in BusDrop::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i);
    }
    for (i, k) in Throttle::ALL.iter().enumerate() {
        assert_eq!(*k as usize, i);
    }
}

#[test]
fn metrics_that_are_off_record_and_render_nothing() {
    let m = Metrics::off().with_public(true);
    assert!(!m.is_enabled() && !m.is_public());
    assert!(m.start().0.is_none());
    m.session_started();
    m.http_request(ApiFamily::Other, 404, m.start());
    assert_eq!(m.render(), None);
}

#[test]
fn every_family_is_named_with_its_type() {
    let text = Metrics::new().render().expect("on");
    for (name, kind) in [
        ("profilestore_http_requests_total", "counter"),
        ("profilestore_http_request_duration_seconds", "histogram"),
        ("profilestore_storage_commit_duration_seconds", "histogram"),
        ("profilestore_sessions_live", "gauge"),
        ("profilestore_session_starts_total", "counter"),
        ("profilestore_session_ends_total", "counter"),
        ("profilestore_session_steals_total", "counter"),
        (
            "profilestore_session_assume_dead_takeovers_total",
            "counter",
        ),
        ("profilestore_session_handoff_duration_seconds", "histogram"),
        ("profilestore_bus_publishes_total", "counter"),
        ("profilestore_bus_deliveries_total", "counter"),
        ("profilestore_bus_drops_total", "counter"),
        ("profilestore_throttled_requests_total", "counter"),
        ("profilestore_uptime_seconds", "gauge"),
        ("profilestore_build_info", "gauge"),
    ] {
        // Vectors without a child yet have no samples, and are not listed.
        if matches!(
            name,
            "profilestore_http_requests_total"
                | "profilestore_storage_commit_duration_seconds"
                | "profilestore_injected_faults_total"
        ) {
            continue;
        }
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}\n{text}"
        );
    }
    let version = env!("CARGO_PKG_VERSION");
    let series = format!("profilestore_build_info{{version=\"{version}\"}}");
    assert_eq!(line_value(&text, &series), Some(1.0), "{text}");
    assert_eq!(
        line_value(&text, "profilestore_session_ends_total{reason=\"lost\"}"),
        Some(0.0)
    );
}

#[test]
fn each_method_moves_its_family() {
    let m = Metrics::new();
    m.http_request(ApiFamily::DataStoresV1, 200, m.start());
    m.http_request(ApiFamily::DataStoresV1, 200, m.start());
    m.http_request(ApiFamily::Other, 404, m.start());
    m.http_request(ApiFamily::Other, 418, m.start());
    m.commit("sqlite", m.start());
    m.session_started();
    m.session_started();
    m.session_ended(SessionEnd::HandedOff);
    m.session_taken(Takeover::Steal);
    m.session_taken(Takeover::AssumeDead);
    m.handoff(Duration::from_secs(7));
    m.bus_published();
    m.bus_delivered();
    m.bus_dropped(BusDrop::QueueFull);
    m.throttled(Throttle::Key);
    m.fault("GetAsync", "error");
    let text = m.render().expect("on");
    for (series, value) in [
        (
            "profilestore_http_requests_total{family=\"datastores_v1\",status=\"200\"}",
            2.0,
        ),
        (
            "profilestore_http_requests_total{family=\"other\",status=\"404\"}",
            1.0,
        ),
        (
            "profilestore_http_requests_total{family=\"other\",status=\"418\"}",
            1.0,
        ),
        (
            "profilestore_http_request_duration_seconds_count{family=\"other\"}",
            2.0,
        ),
        (
            "profilestore_storage_commit_duration_seconds_count{plugin=\"sqlite\"}",
            1.0,
        ),
        ("profilestore_sessions_live", 1.0),
        ("profilestore_session_starts_total", 2.0),
        (
            "profilestore_session_ends_total{reason=\"handed_off\"}",
            1.0,
        ),
        ("profilestore_session_steals_total", 1.0),
        ("profilestore_session_assume_dead_takeovers_total", 1.0),
        ("profilestore_session_handoff_duration_seconds_sum", 7.0),
        (
            "profilestore_session_handoff_duration_seconds_bucket{le=\"5\"}",
            0.0,
        ),
        (
            "profilestore_session_handoff_duration_seconds_bucket{le=\"10\"}",
            1.0,
        ),
        ("profilestore_bus_publishes_total", 1.0),
        ("profilestore_bus_deliveries_total", 1.0),
        ("profilestore_bus_drops_total{reason=\"queue_full\"}", 1.0),
        ("profilestore_bus_drops_total{reason=\"fault\"}", 0.0),
        ("profilestore_throttled_requests_total{kind=\"key\"}", 1.0),
        (
            "profilestore_injected_faults_total{effect=\"error\",operation=\"GetAsync\"}",
            1.0,
        ),
    ] {
        assert_eq!(line_value(&text, series), Some(value), "{series}\n{text}");
    }
}

#[test]
fn a_scraped_histogram_is_read_at_each_scrape() {
    let m = Metrics::new();
    let counts = Arc::new(parking_lot::Mutex::new(Snapshot {
        buckets: vec![(1.0, 2), (2.0, 3)],
        sum: 4.0,
        count: 3,
    }));
    let read = Arc::clone(&counts);
    m.watch_group_sizes("sqlite", move || Some(read.lock().clone()));
    m.watch_group_sizes("sqlite", || None);
    let text = m.render().expect("on");
    assert!(
        text.contains("# TYPE profilestore_storage_commit_group_size histogram"),
        "{text}"
    );
    let bucket = "profilestore_storage_commit_group_size_bucket{plugin=\"sqlite\",le=\"2\"}";
    assert_eq!(line_value(&text, bucket), Some(3.0), "{text}");
    counts.lock().count = 9;
    let text = m.render().expect("on");
    let inf = "profilestore_storage_commit_group_size_bucket{plugin=\"sqlite\",le=\"+Inf\"}";
    assert_eq!(line_value(&text, inf), Some(9.0), "{text}");
}
