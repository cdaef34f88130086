//! `[metrics]`: the Prometheus endpoint (`GET /metrics`).
//!
//! Owns: the section's shape, defaults and validation, and the server's
//! [`Metrics`] built from it. Invariants: metrics are on by default and
//! need an API key like any request; `public = true` answers them without
//! one; `public` without `enabled` is refused (it would do nothing).

use serde::Deserialize;

use super::ConfigError;
use crate::metrics::Metrics;

/// `[metrics]`: whether the server records metrics and who may read them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Record metrics and answer `/metrics` (default true); false turns
    /// recording off and `/metrics` into a 404.
    pub enabled: bool,
    /// Answer `/metrics` without an API key (default false), for a
    /// Prometheus that sends none.
    pub public: bool,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            enabled: true,
            public: false,
        }
    }
}

impl MetricsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.public && !self.enabled {
            return Err(ConfigError::Invalid {
                key: "metrics.public",
                message: "public = true needs enabled = true (metrics are off)".into(),
            });
        }
        Ok(())
    }

    /// The server's metrics as configured (a fresh registry when enabled).
    pub fn metrics(&self) -> Metrics {
        if self.enabled {
            Metrics::new().with_public(self.public)
        } else {
            Metrics::off()
        }
    }
}
