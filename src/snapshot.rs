//! What the latest evaluation found, as one shared read model: the engine
//! writes it once per tick, and `/metrics`, the JSON API, the status page and
//! `runway once` read it. Readers never see a half-written tick.

use std::collections::BTreeMap;

use crate::backtest::Scores;
use crate::evaluate::{AlertState, Evaluation};
use crate::model::{Labels, UnixSeconds};

/// One limit's latest outcome.
#[derive(Debug, Clone, Default)]
pub struct LimitStatus {
    /// The forecasts of its series from the last successful evaluation.
    pub evaluations: Vec<Evaluation>,
    pub last_success: Option<UnixSeconds>,
    /// The last error, cleared by the next success.
    pub last_error: Option<String>,
    /// Series beyond `max_series_per_limit` that were not evaluated.
    pub dropped_series: usize,
    /// Series whose newest sample is too old to forecast from: they stopped
    /// reporting, and count as gone.
    pub stale_series: usize,
    /// Series without a matching wall from `wall_query`.
    pub unmatched_series: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// By limit name, in configuration order via `order`.
    pub limits: BTreeMap<String, LimitStatus>,
    /// Limit names in configuration order.
    pub order: Vec<String>,
    pub alerts: Vec<(Labels, AlertState)>,
    /// The latest backtest of each series, by limit then series labels: how
    /// far each wall can be trusted.
    pub trust: BTreeMap<String, BTreeMap<Labels, Trust>>,
    /// When the last evaluation finished; `None` before the first.
    pub evaluated_at: Option<UnixSeconds>,
}

/// A series' backtest on its own history.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    pub at: UnixSeconds,
    /// How much history it replayed, in seconds.
    pub history: f64,
    pub scores: Scores,
}

impl Snapshot {
    /// The latest backtest of a series, if any.
    pub fn trust_of(&self, limit: &str, labels: &Labels) -> Option<&Trust> {
        self.trust.get(limit).and_then(|m| m.get(labels))
    }

    /// Every forecast, ranked: soonest wall first (breached first of all),
    /// then receding, then those without data.
    pub fn ranked(&self) -> Vec<&Evaluation> {
        let mut all: Vec<&Evaluation> = self
            .order
            .iter()
            .filter_map(|l| self.limits.get(l))
            .flat_map(|s| s.evaluations.iter())
            .collect();
        all.sort_by(|a, b| rank_key(a).total_cmp(&rank_key(b)));
        all
    }
}

/// Sort key: seconds to wall; receding after every finite time; no data last.
fn rank_key(e: &Evaluation) -> f64 {
    use crate::forecast::Status;
    match e.forecast.status {
        Status::InsufficientData => f64::MAX,
        Status::Receding => f64::MAX / 2.0,
        _ => e.forecast.eta.map_or(f64::MAX / 2.0, |x| x.likely),
    }
}
