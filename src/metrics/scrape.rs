//! Histograms whose counts live elsewhere (a storage plugin's group sizes)
//! and are read at scrape time.
//!
//! Owns: [`Snapshot`] (cumulative bucket counts, sum, count) and the
//! collector that turns one into a Prometheus histogram each scrape.
//! Invariants: the collector holds a reader, never the counts, so the
//! owner records without knowing of metrics; a reader that answers `None`
//! exports nothing (no empty family).

use std::collections::HashMap;

use prometheus::core::{Collector, Desc};
use prometheus::proto;

/// A histogram's counts as its owner keeps them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// `(upper bound, observations at most that bound)`, bounds rising.
    pub buckets: Vec<(f64, u64)>,
    /// Sum of the observations.
    pub sum: f64,
    /// Observations (the `+Inf` bucket).
    pub count: u64,
}

/// What reads a [`Snapshot`] at scrape.
pub(super) type Reader = Box<dyn Fn() -> Option<Snapshot> + Send + Sync>;

/// One histogram series read at scrape.
pub(super) struct ScrapedHistogram {
    desc: Desc,
    labels: Vec<(String, String)>,
    read: Reader,
}

impl std::fmt::Debug for ScrapedHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapedHistogram")
            .field("name", &self.desc.fq_name)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl ScrapedHistogram {
    /// The series `name{labels}` read by `read`.
    pub(super) fn new(
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        read: Reader,
    ) -> prometheus::Result<Self> {
        let const_labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let desc = Desc::new(name.to_owned(), help.to_owned(), Vec::new(), const_labels)?;
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        Ok(ScrapedHistogram { desc, labels, read })
    }
}

impl Collector for ScrapedHistogram {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let Some(snapshot) = (self.read)() else {
            return Vec::new();
        };
        let mut histogram = proto::Histogram::default();
        histogram.set_sample_count(snapshot.count);
        histogram.set_sample_sum(snapshot.sum);
        let buckets = snapshot
            .buckets
            .iter()
            .map(|(bound, n)| {
                let mut b = proto::Bucket::default();
                b.set_upper_bound(*bound);
                b.set_cumulative_count(*n);
                b
            })
            .collect();
        histogram.set_bucket(buckets);
        let labels = self
            .labels
            .iter()
            .map(|(k, v)| {
                let mut pair = proto::LabelPair::default();
                pair.set_name(k.clone());
                pair.set_value(v.clone());
                pair
            })
            .collect();
        let mut metric = proto::Metric::default();
        metric.set_label(labels);
        metric.set_histogram(histogram);
        let mut family = proto::MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(proto::MetricType::HISTOGRAM);
        family.set_metric(vec![metric]);
        vec![family]
    }
}
