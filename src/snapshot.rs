//! What the latest evaluation found, as one shared read model: the engine
//! writes it once per tick, and `/metrics`, the JSON API, the status page and
//! `runway once` read it. Readers never see a half-written tick.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use crate::backtest::Scores;
use crate::evaluate::{Evaluation, Held};
use crate::model::{Labels, UnixSeconds};
use crate::roadmap::{self, BreakingPoint, Change, Window};

/// The most re-roadmap events the snapshot keeps, newest last.
pub const MAX_CHANGES: usize = 100;

/// The alerts held for each series, by limit name and series labels.
pub type AlertsBySeries<'a> = BTreeMap<(&'a str, &'a Labels), Vec<&'a Held>>;

/// A limit whose last evaluation put nothing fresh on the roadmap.
#[derive(Debug, Clone, PartialEq)]
pub struct NotEvaluated<'a> {
    pub limit: &'a str,
    pub why: Cow<'a, str>,
    /// When the forecasts still shown for it were made: a failed limit
    /// keeps those of its last success. `None`: it shows none.
    pub forecasts_from: Option<UnixSeconds>,
    /// Evaluated in part: some of its series are on the roadmap, `why`
    /// says which were left out (beyond the bound, without a wall, failed).
    pub partly: bool,
}

/// Which of their breaking points the roadmap lacks for `missing`: ", or
/// some of them," when one was evaluated in part (to follow "their
/// breaking points").
pub fn some_of_them(missing: &[NotEvaluated<'_>]) -> &'static str {
    if missing.iter().any(|n| n.partly) {
        ", or some of them,"
    } else {
        ""
    }
}

/// A heading for `missing`: not evaluated, or only in part, or both.
pub fn not_evaluated_heading(missing: &[NotEvaluated<'_>]) -> &'static str {
    match (
        missing.iter().any(|n| !n.partly),
        missing.iter().any(|n| n.partly),
    ) {
        (true, true) => "Not evaluated, or only in part",
        (false, true) => "Evaluated in part",
        _ => "Not evaluated",
    }
}

impl NotEvaluated<'_> {
    /// Why, and how old the forecasts still shown are as of `now`: "query
    /// ... timed out; its forecasts shown are from T (2h ago)".
    pub fn reason(&self, now: UnixSeconds) -> String {
        match self.forecasts_from {
            None => self.why.to_string(),
            Some(t) => format!(
                "{}; its forecasts shown are from {} ({} ago)",
                self.why,
                crate::evaluate::rfc3339(t).unwrap_or_default(),
                crate::evaluate::human_duration((now - t).max(0.0))
            ),
        }
    }
}

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
    /// Series without a matching wall from `wall_query`, and one of them.
    pub unmatched_series: usize,
    pub unmatched_example: Option<Labels>,
    /// Series the forecaster failed on (a defect; logged).
    pub failed_series: usize,
}

impl LimitStatus {
    /// The series `wall_query` gave no wall, in words, naming one: a wall
    /// joins a series whose labels include all of the wall's, so the one
    /// named shows which labels to compare.
    fn unmatched_text(&self) -> String {
        let example = self
            .unmatched_example
            .as_ref()
            .map(|l| format!(" (one is {})", crate::evaluate::label_string(l)))
            .unwrap_or_default();
        format!(
            "{} series had no wall from wall_query{example}",
            self.unmatched_series
        )
    }

    /// The series an evaluation that succeeded left out, in words, one
    /// phrase a reason: beyond the bound, failed by the forecaster, given
    /// no wall.
    fn left_out(&self) -> Vec<String> {
        let mut left_out = Vec::new();
        if self.failed_series > 0 {
            left_out.push(self.failed_text());
        }
        if self.dropped_series > 0 {
            left_out.push(format!(
                "{} series beyond evaluation.max_series_per_limit not evaluated",
                self.dropped_series
            ));
        }
        if self.unmatched_series > 0 {
            left_out.push(self.unmatched_text());
        }
        left_out
    }

    /// The series the forecaster failed on, in words.
    fn failed_text(&self) -> String {
        format!(
            "the forecaster failed on {} series (see the log)",
            self.failed_series
        )
    }

    /// Why a successful evaluation forecast nothing, if it did not.
    pub fn nothing_to_forecast(&self) -> Option<String> {
        if self.last_success.is_none() || !self.evaluations.is_empty() {
            return None;
        }
        let mut why = Vec::new();
        if self.stale_series > 0 {
            why.push(format!("{} series stopped reporting", self.stale_series));
        }
        if self.unmatched_series > 0 {
            why.push(self.unmatched_text());
        }
        if self.failed_series > 0 {
            why.push(self.failed_text());
        }
        Some(if why.is_empty() {
            "its query matched no series".to_string()
        } else {
            format!("nothing to forecast: {}", why.join(", "))
        })
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// By limit name, in configuration order via `order`.
    pub limits: BTreeMap<String, LimitStatus>,
    /// Limit names in configuration order.
    pub order: Vec<String>,
    /// Every alert runway holds.
    pub alerts: Vec<Held>,
    /// The latest backtest of each series, by limit then series labels: how
    /// far each wall can be trusted.
    pub trust: BTreeMap<String, BTreeMap<Labels, Trust>>,
    /// When the last evaluation finished; `None` before the first.
    pub evaluated_at: Option<UnixSeconds>,
    /// The roadmap's next order of magnitude of load.
    pub growth_factor: f64,
    /// Each limit's lead times, most urgent first.
    pub windows: BTreeMap<String, Vec<Window>>,
    /// The latest re-roadmap events, oldest first.
    pub changes: VecDeque<Change>,
    /// When the configuration running was read, and whether reading it
    /// again failed since.
    pub config: ConfigStatus,
}

/// The configuration's state, for the status page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigStatus {
    /// When the configuration running was read (start or reload).
    pub loaded_at: Option<UnixSeconds>,
    /// The last reload's failure, when it failed: when, and why. Cleared
    /// by a reload that succeeds.
    pub reload_error: Option<(UnixSeconds, String)>,
    /// What the configuration running asks that is valid but most likely
    /// not meant (see `Config::advisories`), each naming its key.
    pub advisories: Vec<String>,
}

/// A series' backtest on its own history.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    pub at: UnixSeconds,
    /// How much history it replayed, in seconds: what the source had, at
    /// most what was asked for (less under a short retention, or for a
    /// young series).
    pub history: f64,
    pub scores: Scores,
    /// Why it had no cuts to judge, when it had none.
    pub note: Option<String>,
}

impl Snapshot {
    /// The limits whose last evaluation put nothing fresh on the roadmap,
    /// with why, in configuration order: those whose last evaluation failed
    /// (its error; the forecasts of an earlier success stay on the roadmap,
    /// and `forecasts_from` says when they are from), and those whose query
    /// found nothing to forecast (a typo in a metric name must not read as a
    /// limit where nothing breaks); and, evaluated in part (`partly`), those
    /// some of whose series were left out. A roadmap or a page without them
    /// must say so.
    pub fn not_evaluated(&self) -> Vec<NotEvaluated<'_>> {
        self.order
            .iter()
            .filter_map(|name| {
                let status = self.limits.get(name)?;
                let (why, forecasts_from, partly) = match &status.last_error {
                    Some(err) => (
                        Cow::Borrowed(err.as_str()),
                        status
                            .last_success
                            .filter(|_| !status.evaluations.is_empty()),
                        false,
                    ),
                    None => match status.nothing_to_forecast() {
                        Some(why) => (Cow::Owned(why), None, false),
                        // Some series are missing from an evaluation that
                        // succeeded: a roadmap without them must say so.
                        None => {
                            let left_out = status.left_out();
                            if left_out.is_empty() {
                                return None;
                            }
                            let why =
                                format!("{}; the others are on the roadmap", left_out.join("; "));
                            (Cow::Owned(why), None, true)
                        }
                    },
                };
                Some(NotEvaluated {
                    limit: name,
                    why,
                    forecasts_from,
                    partly,
                })
            })
            .collect()
    }

    /// How many limits' last evaluation failed.
    pub fn failing(&self) -> usize {
        self.limits
            .values()
            .filter(|s| s.last_error.is_some())
            .count()
    }

    /// The latest backtest of a series, if any.
    pub fn trust_of(&self, limit: &str, labels: &Labels) -> Option<&Trust> {
        self.trust.get(limit).and_then(|m| m.get(labels))
    }

    /// The alerts held for each series, by limit and series labels: built
    /// once per reader, so that a page or API response of thousands of
    /// rows looks each up rather than scanning every alert per row.
    pub fn alerts_by_series(&self) -> AlertsBySeries<'_> {
        let mut by = AlertsBySeries::new();
        for a in &self.alerts {
            by.entry((a.limit.as_str(), &a.series)).or_default().push(a);
        }
        by
    }

    /// Every series placed on the roadmap and ranked, first to break first.
    pub fn roadmap(&self) -> Vec<BreakingPoint<'_>> {
        self.roadmap_with(self.growth_factor)
    }

    /// [`Snapshot::roadmap`] for another growth factor.
    pub fn roadmap_with(&self, growth: f64) -> Vec<BreakingPoint<'_>> {
        let points = self
            .order
            .iter()
            .filter_map(|l| self.limits.get(l).map(|s| (l, s)))
            .flat_map(|(l, s)| {
                let windows = self.windows.get(l).map_or(&[][..], Vec::as_slice);
                s.evaluations
                    .iter()
                    .map(move |e| roadmap::place(e, windows, growth))
            })
            .collect();
        roadmap::rank(points)
    }

    /// Records re-roadmap events, keeping the newest [`MAX_CHANGES`].
    pub fn record(&mut self, changes: Vec<Change>) {
        self.changes.extend(changes);
        while self.changes.len() > MAX_CHANGES {
            self.changes.pop_front();
        }
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

#[cfg(test)]
impl Snapshot {
    /// A snapshot of one limit, `limit`, evaluated at `now` into
    /// `evaluations`: what the page's and the reports' tests start from.
    pub(crate) fn of_one_limit(
        limit: &str,
        evaluations: Vec<Evaluation>,
        now: UnixSeconds,
    ) -> Self {
        Snapshot {
            order: vec![limit.into()],
            limits: [(
                limit.to_string(),
                LimitStatus {
                    evaluations,
                    ..LimitStatus::default()
                },
            )]
            .into(),
            evaluated_at: Some(now),
            ..Snapshot::default()
        }
    }

    /// [`Snapshot::of_one_limit`] of `disk_full` on one series per label
    /// set of `labels`, each 50 hourly samples up to `now` filling by one
    /// unit an hour from `from`, against a wall of 100.
    pub(crate) fn of_hourly_fills(
        labels: impl IntoIterator<Item = crate::model::Labels>,
        from: f64,
        now: UnixSeconds,
    ) -> Self {
        Snapshot::of_one_limit("disk_full", hourly_fills(labels, from, now), now)
    }
}

/// The evaluations of [`Snapshot::of_hourly_fills`], for a test to adjust.
#[cfg(test)]
pub(crate) fn hourly_fills(
    labels: impl IntoIterator<Item = crate::model::Labels>,
    from: f64,
    now: UnixSeconds,
) -> Vec<Evaluation> {
    use crate::model::{Direction, Sample, Series};
    let series: Vec<Series> = labels
        .into_iter()
        .map(|l| {
            let samples = (0..50)
                .map(|k| Sample::new(now - 3600.0 * (49 - k) as f64, from + k as f64))
                .collect();
            Series::new(l, samples)
        })
        .collect();
    crate::evaluate::evaluate(
        "disk_full",
        &series,
        &vec![100.0; series.len()],
        &[],
        Direction::Rising,
        &crate::forecast::Settings::default(),
        now,
    )
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            limits: BTreeMap::new(),
            order: Vec::new(),
            alerts: Vec::new(),
            trust: BTreeMap::new(),
            evaluated_at: None,
            growth_factor: crate::config::DEFAULT_GROWTH_FACTOR,
            windows: BTreeMap::new(),
            changes: VecDeque::new(),
            config: ConfigStatus::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_with_nothing_on_the_roadmap_are_listed_with_why() {
        let ok = |stale, unmatched| LimitStatus {
            last_success: Some(1.0),
            stale_series: stale,
            unmatched_series: unmatched,
            ..LimitStatus::default()
        };
        let limits = [
            (
                "failed",
                LimitStatus {
                    last_error: Some("query \"x{\" was rejected".into()),
                    ..LimitStatus::default()
                },
            ),
            (
                "failing_since",
                LimitStatus {
                    last_error: Some("timeout".into()),
                    // Its last success forecast nothing: nothing shown is
                    // from then.
                    last_success: Some(7.0),
                    ..LimitStatus::default()
                },
            ),
            ("typo", ok(0, 0)),
            (
                "none_forecast",
                LimitStatus {
                    last_success: Some(1.0),
                    failed_series: 2,
                    evaluations: Vec::new(),
                    stale_series: 0,
                    ..LimitStatus::default()
                },
            ),
            ("gone", ok(3, 0)),
            ("no_walls", ok(1, 2)),
            // Before its first evaluation a limit has nothing to say yet.
            ("waiting", LimitStatus::default()),
        ];
        let snap = Snapshot {
            order: limits.iter().map(|(n, _)| n.to_string()).collect(),
            limits: limits
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            ..Snapshot::default()
        };
        let listed: Vec<(&str, String, Option<f64>)> = snap
            .not_evaluated()
            .into_iter()
            .map(|n| (n.limit, n.why.into_owned(), n.forecasts_from))
            .collect();
        assert_eq!(
            listed,
            [
                ("failed", "query \"x{\" was rejected".to_string(), None),
                ("failing_since", "timeout".into(), None),
                ("typo", "its query matched no series".into(), None),
                (
                    "none_forecast",
                    "nothing to forecast: the forecaster failed on 2 series (see the log)".into(),
                    None
                ),
                (
                    "gone",
                    "nothing to forecast: 3 series stopped reporting".into(),
                    None
                ),
                (
                    "no_walls",
                    "nothing to forecast: 1 series stopped reporting, 2 series had no wall from wall_query"
                        .into(),
                    None
                ),
            ]
        );
        assert_eq!(snap.failing(), 2);
    }
}
