//! The engine: the one loop that owns time and state. Each tick it asks the
//! source for every limit's history (a few limits at a time; between whole
//! fetches, the points since the last tick, merged into the history it
//! keeps: see `history`), forecasts every
//! series through the pure core (or counts down the last forecast of one
//! whose points are unchanged, within a step), steps the alert state
//! machine, hands due alerts to the sink, and publishes one snapshot for
//! the server to read.
//!
//! `tick(now)` takes the time as a parameter, so tests step a clock through
//! days of alert life in microseconds; only `run` reads the system clock.
//! `run` also applies reloads of the configuration between ticks
//! (`reload`), keeping each kept limit's state.
//! Failures are per limit: a rejected query or an unreachable source is
//! retried (when it may help), counted, logged and shown on the status page,
//! and the other limits carry on. The daemon never stops over them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use tracing::{debug, error, info, warn};

use crate::backtest;
use crate::config::{Config, Limit, WallSpec};
use crate::evaluate::{self, AlertRule, AlertState, AlertTracker, Cadence, Evaluation};
use crate::forecast::Settings;
use crate::history::{self, History, Packed, STALENESS_SECONDS};
use crate::metrics::Metrics;
use crate::model::{Series, UnixSeconds};
use crate::roadmap::{self, Driver};
use crate::sink::{AlertSink, SinkError};
use crate::snapshot::{LimitStatus, Snapshot, Trust};
use crate::source::{SeriesSource, SourceError};

/// Attempts per query when the source fails in a way that may pass.
pub const QUERY_ATTEMPTS: usize = 3;
/// Prometheus returns at most 11,000 points per series from a range query.
const MAX_POINTS_PER_SERIES: f64 = 10_000.0;

/// Whether a series whose newest point is at `newest` has stopped
/// reporting, in a range query of `step` whose grid ends at `end`:
/// Prometheus carries a sample forward for its staleness window, and the
/// grid can miss up to two steps of it. The newest point's age from the
/// grid's end is a whole number of steps (to the millisecond Prometheus
/// rounds to): a cutoff on a whole step (with the default 7-day lookback,
/// 2 × 5m + 5m is three) would flip with that rounding from one
/// evaluation to the next, and the series' alert with it. The cutoff sits
/// half a step further, between two grid points.
fn stale(newest: UnixSeconds, end: UnixSeconds, step: f64) -> bool {
    end - newest > 2.5 * step + STALENESS_SECONDS
}

/// The range a limit's history is asked for at `now`: `span` seconds on a
/// grid of `step`, its points on whole multiples of the step since the
/// epoch, the newest at or before `now` (Grafana aligns its range queries
/// the same way). Anchored at `now`, every evaluation took another sample
/// of the same raw data, and a forecast near its lead flipped between
/// evaluations a few seconds apart, and its page with it (an operator saw
/// 18 pages in 39 minutes on a steady wall). Aligned, evaluations within
/// one step see the same points, and each new step adds one; the newest
/// point is at most a step old. So an unchanged series' forecast is
/// computed once a step and counted down between (`evaluate::Kept`).
fn grid(now: UnixSeconds, span: f64, step: f64) -> (UnixSeconds, UnixSeconds) {
    let end = (now / step).floor() * step;
    (end - (span / step).floor() * step, end)
}

/// The log target of "limit not evaluated": the one-shot commands (`once`,
/// `roadmap`) say it themselves, in a sentence, and turn this one off.
pub const LIMIT_FAILED: &str = "runway::engine::limit_failed";

/// The log target of "alert firing" and "alert resolved": the one-shot
/// commands send nothing, and turn it off.
pub const ALERT_LOG: &str = "runway::engine::alerts";

/// A backtest replays this many lookbacks of history...
const BACKTEST_LOOKBACKS: f64 = 4.0;
/// ... cut at this many instants.
const BACKTEST_CUTS: usize = 10;
/// The default resolution: a week at 5 minutes.
const DEFAULT_POINTS: f64 = 2_016.0;

/// The default step for a lookback: about [`DEFAULT_POINTS`] of it, in
/// whole minutes (or quarter minutes, below one), so that it is a multiple
/// of the usual scrape intervals (15s, 30s, 1m). The grid then takes the
/// same phase of the scrapes at every step; with 3 days at 129 s, each
/// step took another, and a forecast moved by a few percent from one step
/// to the next with nothing new in the data.
fn default_step(lookback: f64) -> f64 {
    let step = lookback / DEFAULT_POINTS;
    if step >= 60.0 {
        (step / 60.0).round() * 60.0
    } else if step >= 15.0 {
        (step / 15.0).round() * 15.0
    } else {
        step.round().max(1.0)
    }
}

/// The current Unix time: the only reading of the system clock in runway.
pub fn wall_clock() -> UnixSeconds {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// How far the system clock may move against the monotonic one before the
/// ticks' times follow it (a clock stepped by NTP, a VM resumed).
const MAX_CLOCK_STEP: f64 = 1.0;

/// The wall-clock times of the engine's ticks, by when each was due rather
/// than when the runtime got to it: ticks an interval apart are then
/// exactly an interval apart, so a hold of five intervals fires at the
/// fifth tick, not at the sixth when the first came a millisecond late
/// (Prometheus times rule evaluations by their schedule too). The
/// monotonic clock spaces them; the system clock places them, and is
/// followed when it is stepped.
#[derive(Debug, Default)]
struct TickClock {
    /// A tick's time on both clocks.
    anchor: Option<(UnixSeconds, tokio::time::Instant)>,
}

impl TickClock {
    /// The time of the tick that was `due`, read at `now` when the system
    /// clock said `wall`.
    fn time_of(
        &mut self,
        due: tokio::time::Instant,
        now: tokio::time::Instant,
        wall: UnixSeconds,
    ) -> UnixSeconds {
        let read = wall - now.saturating_duration_since(due).as_secs_f64();
        if let Some((at, then)) = self.anchor {
            if due >= then {
                let scheduled = at + (due - then).as_secs_f64();
                if (scheduled - read).abs() <= MAX_CLOCK_STEP {
                    return scheduled;
                }
            }
        }
        self.anchor = Some((read, due));
        read
    }
}

/// What one limit needs at every tick, computed once from the configuration.
struct Plan {
    limit: Limit,
    alert_probability: f64,
    lookback: f64,
    step: f64,
    rules: Vec<AlertRule>,
    link: GraphLink,
    /// The forecasts of the limit's last evaluation, to count down while
    /// their series are unchanged (see `evaluate::Kept`). Taken by the
    /// evaluation that reads them and put back by it.
    kept: std::sync::Mutex<evaluate::Kept>,
    /// The series of its last evaluation, and its driver's, so that the
    /// next asks the source for the newest points only (see `history`).
    history: std::sync::Mutex<History>,
    driver_history: std::sync::Mutex<History>,
    /// Its place among the limits, in [0, 1): how early in
    /// `evaluation.refetch_every` its first whole fetch after the first
    /// evaluation comes (see `History::whole`).
    refetch_phase: f64,
}

impl Plan {
    /// Whether the limit is forecast as `other` is: the same series, walls,
    /// load, model, history and lead times, so that its backtest scores and
    /// roadmap marks still hold. Its alert name, labels, annotations,
    /// severity names and holds do not matter to them.
    fn forecasts_like(&self, other: &Plan) -> bool {
        let (a, b) = (&self.limit, &other.limit);
        let leads = |l: &Limit| l.lead_times.iter().map(|t| t.lead).collect::<Vec<_>>();
        a.query == b.query
            && a.wall == b.wall
            && a.direction == b.direction
            && a.driver == b.driver
            && a.model == b.model
            && a.seasonality == b.seasonality
            && leads(a) == leads(b)
            && (self.lookback, self.step, self.alert_probability)
                == (other.lookback, other.step, other.alert_probability)
    }

    /// How the limit's series are forecast, for its evaluations and its
    /// backtests alike.
    fn settings(&self) -> Settings {
        Settings {
            model: self.limit.model,
            seasonality: self.limit.seasonality,
            alert_probability: self.alert_probability,
        }
    }
}

/// What one tick did, for `runway once`, logs and tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickReport {
    pub series: usize,
    pub failed_limits: Vec<String>,
    pub alerts_sent: usize,
}

/// Why a limit could not be evaluated this tick.
#[derive(Debug, thiserror::Error)]
enum LimitError {
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("wall_query {query:?} returned no series")]
    NoWalls { query: String },
    /// A bug: the forecasting task did not finish. The limit keeps its last
    /// forecasts rather than resolving its alerts.
    #[error("forecasting failed: {0}")]
    Forecast(String),
}

impl LimitError {
    /// Every [`LimitError::reason`], for counters that exist before the
    /// first failure, and `driver`: a driver query that failed, which costs
    /// the limit its load headroom only (see `Fetched::drivers`).
    fn reasons() -> impl Iterator<Item = &'static str> {
        SourceError::KINDS
            .into_iter()
            .chain(["no_walls", DRIVER_FAILED, "forecast"])
    }

    fn reason(&self) -> &'static str {
        match self {
            LimitError::Source(e) => e.kind(),
            LimitError::NoWalls { .. } => "no_walls",
            LimitError::Forecast(_) => "forecast",
        }
    }
}

pub struct Engine<S, K> {
    /// The configuration running, to tell what a reload changes (shared,
    /// so that each evaluation can hold it without a copy).
    config: Arc<Config>,
    source: S,
    sink: K,
    metrics: Arc<Metrics>,
    snapshot: Arc<RwLock<Snapshot>>,
    tracker: AlertTracker,
    plans: Vec<Plan>,
    cadence: Cadence,
    concurrency: usize,
    /// How many tasks one limit's forecasts are split into: the cores.
    pub parallelism: usize,
    max_series: usize,
    /// Pause before retrying a transient failure, doubled at each attempt.
    pub retry_backoff: Duration,
    /// Seconds between backtests of a limit; 0 for none.
    pub backtest_every: f64,
    /// Seconds between fetches of a limit's whole lookback; between, an
    /// evaluation asks for the newest points (see `history`). 0: always.
    pub refetch_every: f64,
    /// The most points a series one range request asks for: a longer
    /// range is asked in pieces (see `history::pieces`). 0: no bound.
    pub points_per_request: usize,
    /// When each limit was last backtested.
    backtested: HashMap<String, UnixSeconds>,
    /// What the roadmap last said about each point, to tell when a wall
    /// moves materially.
    marks: HashMap<(String, crate::model::Labels), roadmap::Mark>,
    growth_factor: f64,
    /// By limit, how far off a wall's moves are still news (see
    /// `roadmap::HORIZON_LEADS`).
    horizons: HashMap<String, f64>,
    /// Re-roadmap events sent as alerts, and which kinds are.
    notices: roadmap::Notices,
    alert_on: Vec<roadmap::ChangeKind>,
    alert_for: f64,
    /// Seconds a move must last before it is recorded.
    roadmap_hold: f64,
    /// The Alertmanagers whose alerts are still to be read, to take over
    /// those that were firing before this start (see `read_held_alerts`),
    /// and until when they are asked.
    unread: Vec<String>,
    read_until: Option<UnixSeconds>,
    /// The Alertmanagers whose last send failed: since when, and how many
    /// alerts failed since, to say when delivery comes back.
    undelivered: HashMap<String, (UnixSeconds, usize)>,
}

/// What one limit of `config` needs at every tick.
fn plan(config: &Config, l: &Limit) -> Plan {
    let ev = &config.evaluation;
    let lookback = l.lookback.unwrap_or(ev.lookback).as_secs_f64();
    let step = match ev.step {
        Some(s) => s
            .as_secs_f64()
            .max(lookback / MAX_POINTS_PER_SERIES)
            .max(1.0)
            .round(),
        None => default_step(lookback),
    };
    let hold = l.hold.unwrap_or(ev.hold);
    // Unset, clearing must last as long as firing had to.
    let keep_firing_for = l.keep_firing_for.or(ev.keep_firing_for).unwrap_or(hold);
    let rules = l
        .lead_times
        .iter()
        .map(|lt| AlertRule {
            alertname: l.alertname.clone(),
            severity: lt.severity.clone(),
            lead: lt.lead.as_secs_f64(),
            hold: hold.as_secs_f64(),
            resolve_margin: ev.resolve_margin,
            keep_firing_for: keep_firing_for.as_secs_f64(),
            labels: l.labels.clone(),
            annotations: l.annotations.clone(),
        })
        .collect();
    Plan {
        limit: l.clone(),
        alert_probability: ev.alert_probability,
        lookback,
        step,
        rules,
        link: GraphLink::new(
            &crate::config::without_credentials(&config.source.url),
            &l.query,
            lookback,
        ),
        kept: Default::default(),
        history: Default::default(),
        driver_history: Default::default(),
        refetch_phase: 0.0,
    }
}

/// What a reload changed, for the log and the reply to `/-/reload`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reloaded {
    /// Limits configured now.
    pub limits: usize,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Kept limits whose definition changed (query, wall, model...): their
    /// backtest scores and roadmap marks start again.
    pub changed: Vec<String>,
    /// Kept limits whose forecasts did not change but whose alerts did
    /// (alert name, labels, severities): their alerts are resolved and
    /// raised again under the new labels, as Prometheus does.
    pub relabelled: Vec<String>,
    /// The configuration read is the one running: nothing was evaluated
    /// again for it.
    pub unchanged: bool,
    /// What the loader has to say (a setting that needs a restart).
    pub notes: Vec<String>,
}

impl std::fmt::Display for Reloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limits = evaluate::count(self.limits, "limit");
        if self.unchanged {
            write!(f, "unchanged ({limits})")?;
        } else {
            write!(f, "{limits} configured")?;
        }
        for (what, names) in [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
            (
                "alerts relabelled (resolved, and raised again)",
                &self.relabelled,
            ),
        ] {
            if !names.is_empty() {
                write!(f, "; {what}: {}", names.join(", "))?;
            }
        }
        for note in &self.notes {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// A configuration read again, with the source and sink built from it.
pub struct Loaded<S, K> {
    pub config: Config,
    pub source: S,
    pub sink: K,
    /// Said with the outcome: what the configuration asks that a reload
    /// cannot do (a new `server.listen`).
    pub notes: Vec<String>,
}

/// A request to read the configuration again (SIGHUP, `POST /-/reload`),
/// answered on `reply` when someone waits for the outcome.
pub struct ReloadRequest {
    pub reply: Option<tokio::sync::oneshot::Sender<Result<Reloaded, String>>>,
}

/// How the engine reads its configuration again: the requests, and what
/// reads the file and builds a source and a sink from it. The engine does
/// no I/O of its own beyond its source and sink; the caller owns the file.
pub struct Reloads<S, K> {
    pub requests: tokio::sync::mpsc::Receiver<ReloadRequest>,
    pub load: Loader<S, K>,
}

/// Reads the configuration and builds a source and a sink from it; the
/// error names the file and every problem.
pub type Loader<S, K> = Box<dyn FnMut() -> Result<Loaded<S, K>, String> + Send>;

/// The link an alert carries (Alertmanager's `generatorURL`): the source's
/// graph of the limit's query over its lookback (Prometheus' graph opens on
/// the last hour otherwise, where a week's fill looks flat), and below it a
/// second graph of the alerting series alone beside its wall. The first
/// alone was a graph of every series of the query, and no wall: which line
/// was the page, and how near was it?
struct GraphLink {
    /// The limit's graph: what the roadmap's notices link to, and what an
    /// alert held by an Alertmanager is recognised by (see
    /// `evaluate::same_link`).
    limit: String,
    /// The same, parsed, for a series' graph to be added to (`None` when
    /// the source's URL makes none: `limit` is that URL then).
    parsed: Option<reqwest::Url>,
    query: String,
    range: String,
}

impl GraphLink {
    fn new(base: &str, query: &str, lookback: f64) -> Self {
        let graph = format!("{}/graph", base.trim_end_matches('/'));
        let range = prometheus_duration(lookback);
        let parsed = reqwest::Url::parse_with_params(
            &graph,
            &[
                ("g0.expr", query),
                ("g0.tab", "0"),
                (evaluate::RANGE_PARAMETER, range.as_str()),
            ],
        )
        .ok();
        Self {
            limit: parsed
                .as_ref()
                .map_or_else(|| base.to_string(), |u| u.to_string()),
            parsed,
            query: query.to_string(),
            range,
        }
    }
}

impl evaluate::Link for GraphLink {
    fn for_series(&self, e: &evaluate::Evaluation) -> String {
        let Some(mut url) = self.parsed.clone() else {
            return self.limit.clone();
        };
        let graph = evaluate::SERIES_GRAPH;
        url.query_pairs_mut()
            .append_pair(
                &format!("{graph}expr"),
                &series_expr(&self.query, &e.labels, e.wall),
            )
            .append_pair(&format!("{graph}tab"), "0")
            .append_pair(&format!("{graph}range_input"), &self.range);
        url.to_string()
    }
}

/// PromQL for one series of `query`, picked by its `labels`, and a flat
/// line at its `wall` labelled `runway_wall`. The series is picked with
/// `and ignoring(__name__)` against one sample made to carry exactly its
/// labels (`label_replace` on `vector(1)`): the whole label set must match,
/// so a series that carries these labels and more (another path of the
/// same instance), or a series without labels beside labelled ones, is
/// not picked with it, and no label name is written where PromQL reads a
/// keyword (`on(inf)` does not parse). It costs Prometheus nothing, where a
/// selector by those labels would read every metric that has them.
fn series_expr(query: &str, labels: &crate::model::Labels, wall: f64) -> String {
    // A PromQL string: backslashes, quotes and line ends escaped.
    let quoted = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    // A `#` may begin a comment that runs to the end of the line, which
    // would swallow the closing parenthesis: a line end closes it first.
    let end = if query.contains('#') { "\n)" } else { ")" };
    let one = labels.iter().fold("vector(1)".to_string(), |one, (k, v)| {
        // `$` in a replacement names a group; `$$` is a dollar.
        let value = quoted(&v.replace('$', "$$"));
        format!("label_replace({one}, {}, {value}, \"\", \"\")", quoted(k))
    });
    format!(
        "({query}{end} and ignoring(__name__) {one} or label_replace(vector({wall:?}), \"runway_wall\", {}, \"\", \"\")",
        quoted(&evaluate::format_value(wall))
    )
}

/// `seconds` as Prometheus writes a duration, in its largest whole unit:
/// "2w", "7d", "36h", "90s".
fn prometheus_duration(seconds: f64) -> String {
    let s = seconds.round().max(1.0) as u64;
    [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
        .iter()
        .find(|(unit, _)| s.is_multiple_of(*unit))
        .map_or_else(
            || format!("{s}s"),
            |(unit, name)| format!("{}{name}", s / unit),
        )
}

impl<S: SeriesSource, K: AlertSink> Engine<S, K> {
    pub fn new(
        config: &Config,
        source: S,
        sink: K,
        metrics: Arc<Metrics>,
        snapshot: Arc<RwLock<Snapshot>>,
    ) -> Self {
        let mut engine = Self {
            config: Arc::new(config.clone()),
            source,
            sink,
            metrics,
            snapshot,
            tracker: AlertTracker::new(),
            plans: Vec::new(),
            cadence: Cadence {
                interval: 0.0,
                resend_delay: 0.0,
            },
            concurrency: 1,
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_series: 0,
            retry_backoff: Duration::from_millis(500),
            backtest_every: 0.0,
            refetch_every: 0.0,
            points_per_request: 0,
            backtested: HashMap::new(),
            marks: HashMap::new(),
            growth_factor: 0.0,
            horizons: HashMap::new(),
            notices: roadmap::Notices::default(),
            alert_on: Vec::new(),
            alert_for: 0.0,
            roadmap_hold: 0.0,
            unread: Vec::new(),
            read_until: None,
            undelivered: HashMap::new(),
        };
        engine.unread = engine.sink.targets();
        engine.configure(config);
        engine.count_from_zero();
        engine
    }

    /// The delivery counters of every Alertmanager, and the source's
    /// queries by every outcome, exist from the start, as the per-limit ones
    /// do: the first failed delivery or timed-out query is then an increase
    /// a rule sees.
    fn count_from_zero(&self) {
        for kind in ["range", "instant"] {
            for outcome in SourceError::KINDS.into_iter().chain(["success"]) {
                self.metrics
                    .source_requests
                    .with_label_values(&[kind, outcome])
                    .inc_by(0);
            }
        }
        for target in self.sink.targets() {
            self.metrics
                .alerts_sent
                .with_label_values(&[&target])
                .inc_by(0);
            self.metrics
                .alerts_failed
                .with_label_values(&[&target])
                .inc_by(0);
            self.metrics
                .alert_reads_failed
                .with_label_values(&[&target])
                .inc_by(0);
        }
    }

    /// Reads the alerts the Alertmanagers hold, for the tracker to take
    /// over those that were firing before this start, at `now`. Every
    /// Alertmanager is read, as each holds the alerts sent to it (a cluster
    /// shares silences and notifications, not alerts). One that does not
    /// answer is asked again at each evaluation for as long as an alert
    /// sent before this start can still be active in it: four sends and the
    /// longest hold ([`Cadence::valid_for`]); one that refuses the read
    /// (HTTP 4xx other than 408 and 429: a proxy that lets runway post
    /// only) is not asked again.
    async fn read_held_alerts(&mut self, now: UnixSeconds) {
        let (plans, cadence) = (&self.plans, self.cadence);
        let until = *self.read_until.get_or_insert_with(|| {
            let longest_hold = plans
                .iter()
                .flat_map(|p| p.rules.iter().map(|r| r.hold))
                .fold(0.0, f64::max);
            now + cadence.valid_for(longest_hold)
        });
        if now > until {
            info!(
                alertmanagers = %self.unread.join(", "),
                "stopped asking these Alertmanagers for the alerts they hold: any sent before runway started has expired in them by now"
            );
            self.unread.clear();
            return;
        }
        let mut held = Vec::new();
        let mut answered = Vec::new();
        for (target, result) in self.sink.active().await {
            // Read before: it has had its say.
            if !self.unread.contains(&target) {
                continue;
            }
            match result {
                Ok(alerts) => {
                    held.extend(alerts);
                    answered.push(target);
                }
                Err(e) => {
                    self.metrics
                        .alert_reads_failed
                        .with_label_values(&[&target])
                        .inc();
                    let refused = matches!(
                        e,
                        SinkError::Refused { status, .. }
                            if (400..=499).contains(&status) && status != 408 && status != 429
                    );
                    let then = if refused {
                        self.unread.retain(|t| *t != target);
                        "not asked again: the alerts it holds are not taken over".to_string()
                    } else {
                        format!(
                            "asked again at each evaluation until {}",
                            evaluate::rfc3339(until).unwrap_or_default()
                        )
                    };
                    warn!(alertmanager = %target, error = %e, "could not read the alerts this Alertmanager holds, to take over those firing before runway started; {then}");
                }
            }
        }
        self.unread.retain(|t| !answered.contains(t));
        let plans = &self.plans;
        let taken = self.tracker.take_over(
            held,
            |limit| {
                plans
                    .iter()
                    .find(|p| p.limit.name == limit)
                    .map(|p| (p.rules.as_slice(), p.link.limit.as_str()))
            },
            now,
        );
        self.log_take_over();
        if !answered.is_empty() && taken.raised + taken.left > 0 {
            info!(
                alertmanagers = %answered.join(", "),
                raised_by_its_rules = taken.raised,
                left_alone = taken.left,
                "read the alerts these Alertmanagers hold: those runway's rules raise fire on from when they first fired, without a hold, until their limit's evaluation keeps, resolves or drops each (another runway's, on series this one does not see); the rest (another tool's, a rule changed since) are left to expire"
            );
        }
    }

    /// Logs and counts the alerts taken over from an Alertmanager, and
    /// those dropped, since the last call.
    fn log_take_over(&mut self) {
        for t in self.tracker.take_taken_over() {
            self.metrics.alerts_taken_over.inc();
            info!(limit = %t.limit, alert = %evaluate::label_string(&t.labels), "alert taken over: it was firing in Alertmanager when runway started, and fires on from its first start (re-sent as it was until its limit is evaluated)");
        }
        for t in self.tracker.take_dropped() {
            info!(limit = %t.limit, alert = %evaluate::label_string(&t.labels), "alert taken over from Alertmanager dropped: its limit's evaluation does not raise it (another runway's, on series this one does not see?); left to whoever sends it");
        }
    }

    /// Takes every setting from `config`: the limits' plans, the cadence,
    /// the roadmap's, and what the snapshot and the metrics say about them.
    /// State (alerts, marks, forecasts) is left as it is.
    fn configure(&mut self, config: &Config) {
        let ev = &config.evaluation;
        let n = config.limits.len().max(1) as f64;
        self.plans = config
            .limits
            .iter()
            .enumerate()
            .map(|(i, l)| Plan {
                refetch_phase: i as f64 / n,
                ..plan(config, l)
            })
            .collect();
        let metrics = &self.metrics;
        metrics.limits_configured.set(self.plans.len() as i64);
        metrics.growth_factor.set(config.roadmap.growth_factor);
        metrics.alert_probability.set(ev.alert_probability);
        // Every per-limit counter exists from the start, so that the first
        // event is an increase from zero that `increase()` can see (the
        // shipped rules alert on the first evaluation failure); a reload
        // leaves the counts of the limits it keeps.
        for p in &self.plans {
            let name = p.limit.name.as_str();
            // A limit that has never succeeded reads 0, as the whole
            // evaluation's timestamp does, so that a rule on its age sees
            // it (a new limit's gauge is created at 0; a kept one keeps its
            // time).
            let _ = metrics.limit_last_success.with_label_values(&[name]);
            metrics.series_failed.with_label_values(&[name]).inc_by(0);
            for outcome in ["computed", "reused"] {
                metrics
                    .series_forecasts
                    .with_label_values(&[name, outcome])
                    .inc_by(0);
            }
            metrics.series_dropped.with_label_values(&[name]).inc_by(0);
            metrics.source_points.with_label_values(&[name]).inc_by(0);
            let _ = metrics.series_without_wall.with_label_values(&[name]);
            for reason in LimitError::reasons() {
                metrics
                    .limit_failures
                    .with_label_values(&[name, reason])
                    .inc_by(0);
            }
            for kind in roadmap::ChangeKind::ALL {
                metrics
                    .roadmap_changes
                    .with_label_values(&[&p.limit.name, kind.as_str()])
                    .inc_by(0);
            }
        }
        if let Ok(mut snap) = self.snapshot.write() {
            snap.order = self.plans.iter().map(|p| p.limit.name.clone()).collect();
            snap.growth_factor = config.roadmap.growth_factor;
            snap.config.advisories = config.advisories();
            snap.windows = self
                .plans
                .iter()
                .map(|p| {
                    let windows = p
                        .rules
                        .iter()
                        .map(|r| roadmap::Window {
                            severity: r.severity.clone(),
                            lead: r.lead,
                        })
                        .collect();
                    (p.limit.name.clone(), windows)
                })
                .collect();
        }
        self.horizons = self
            .plans
            .iter()
            .map(|p| {
                let longest = p.rules.iter().map(|r| r.lead).fold(0.0, f64::max);
                (p.limit.name.clone(), roadmap::HORIZON_LEADS * longest)
            })
            .collect();
        self.cadence = Cadence {
            interval: ev.interval.as_secs_f64(),
            resend_delay: config.alerting.resend_delay.as_secs_f64(),
        };
        self.concurrency = ev.concurrency.max(1);
        self.max_series = ev.max_series_per_limit;
        self.backtest_every = ev.backtest_every.as_secs_f64();
        self.refetch_every = ev.refetch_every.as_secs_f64();
        self.points_per_request = config.source.points_per_request;
        self.growth_factor = config.roadmap.growth_factor;
        self.alert_on = config.roadmap.alert_on.clone();
        self.alert_for = config.roadmap.alert_for.as_secs_f64();
        self.roadmap_hold = config.roadmap.hold.as_secs_f64();
    }

    /// Applies a configuration read again at `now`, with the source and
    /// sink built from it, as Prometheus applies a reloaded rule file: a
    /// limit kept by name keeps its alerts (a firing one goes on firing,
    /// a pending one keeps its hold), its forecasts, its roadmap marks and
    /// its counters; a removed limit's firing alerts and re-roadmap notices
    /// resolve, saying so, and its forecasts, marks and per-limit series
    /// leave the snapshot and `/metrics`; a kept limit's alerts that its
    /// changed rules no longer raise resolve likewise, and a changed
    /// limit's backtest scores and marks start again. A new limit is
    /// evaluated at the next tick.
    pub fn reload(&mut self, loaded: Loaded<S, K>, now: UnixSeconds) -> Reloaded {
        let Loaded {
            config,
            source,
            sink,
            notes,
        } = loaded;
        let targets = self.sink.targets();
        self.source = source;
        self.sink = sink;
        let mut notes = notes;
        if config.source.url != self.config.source.url {
            notes.push(format!(
                "source: {}",
                crate::config::without_credentials(&config.source.url)
            ));
        } else if config.source != self.config.source {
            notes.push("source settings changed".to_string());
        }
        // (None configured: the loader says alerts are only logged.)
        let now_targets = self.sink.targets();
        self.undelivered.retain(|t, _| now_targets.contains(t));
        if config.alerting.alertmanagers != self.config.alerting.alertmanagers
            && !config.alerting.alertmanagers.is_empty()
        {
            notes.push(format!("alerting to: {}", now_targets.join(", ")));
        }
        let notes = advised(notes, &config);
        let unchanged = config == *self.config;
        let before = std::mem::take(&mut self.plans);
        self.configure(&config);
        let configured = |name: &str| config.limits.iter().any(|l| l.name == name);
        let was = |name: &str| before.iter().find(|b| b.limit.name == name);
        // A limit forecast as it was keeps its forecasts to count down.
        // Any limit keeps its history: it is extended only when its query
        // and step are the same (see `History::ask`).
        for p in &self.plans {
            if let Some(b) = was(&p.limit.name) {
                *lock(&p.history) = std::mem::take(&mut *lock(&b.history));
                *lock(&p.driver_history) = std::mem::take(&mut *lock(&b.driver_history));
                if b.forecasts_like(p) {
                    *lock(&p.kept) = std::mem::take(&mut *lock(&b.kept));
                }
            }
        }
        let removed: Vec<String> = before
            .iter()
            .map(|b| b.limit.name.clone())
            .filter(|n| !configured(n))
            .collect();
        let added = self
            .plans
            .iter()
            .filter(|p| was(&p.limit.name).is_none())
            .map(|p| p.limit.name.clone())
            .collect();
        let changed: Vec<String> = self
            .plans
            .iter()
            .filter(|p| was(&p.limit.name).is_some_and(|b| !b.forecasts_like(p)))
            .map(|p| p.limit.name.clone())
            .collect();
        // The labels an alert is known by, rule by rule.
        let identity = |p: &Plan| {
            p.rules
                .iter()
                .map(|r| (r.alertname.clone(), r.severity.clone(), r.labels.clone()))
                .collect::<Vec<_>>()
        };
        let relabelled: Vec<String> = self
            .plans
            .iter()
            .filter(|p| {
                was(&p.limit.name)
                    .is_some_and(|b| b.forecasts_like(p) && identity(b) != identity(p))
            })
            .map(|p| p.limit.name.clone())
            .collect();
        let fresh = |name: &str| configured(name) && !changed.iter().any(|c| c == name);
        self.tracker.retire(configured, now);
        for p in &self.plans {
            self.tracker.retire_rules(&p.limit.name, &p.rules, now);
        }
        let alert_on = &self.alert_on;
        self.notices.withdraw(
            |limit, change| configured(limit) && alert_on.iter().any(|k| k.as_str() == change),
            now,
        );
        // Marks classed by the old growth factor would all be reclassed by
        // the new one, as moves the data never made.
        if config.roadmap.growth_factor != self.config.roadmap.growth_factor {
            self.marks.clear();
        }
        self.marks.retain(|(limit, _), _| fresh(limit));
        self.backtested.retain(|limit, _| fresh(limit));
        if let Ok(mut snap) = self.snapshot.write() {
            snap.limits.retain(|limit, _| configured(limit));
            snap.trust.retain(|limit, _| fresh(limit));
            snap.changes.retain(|c| configured(&c.limit));
        }
        for name in &removed {
            self.metrics.forget_limit(name);
        }
        for gone in targets.iter().filter(|t| !now_targets.contains(t)) {
            self.metrics.forget_alertmanager(gone);
        }
        self.count_from_zero();
        log_transitions(self.tracker.take_transitions());
        // The alerts' states are current at once (a removed limit's are
        // resolved), not only after the next evaluation.
        self.publish_alerts();
        self.config = Arc::new(config);
        Reloaded {
            limits: self.plans.len(),
            added,
            removed,
            changed,
            relabelled,
            unchanged,
            notes,
        }
    }

    /// Runs `call` up to [`QUERY_ATTEMPTS`] times while it fails transiently,
    /// counting every attempt's outcome.
    async fn with_retry<T, F, Fut>(&self, kind: &str, call: F) -> Result<T, SourceError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SourceError>>,
    {
        let mut pause = self.retry_backoff;
        let mut attempt = 1;
        loop {
            let result = call().await;
            let outcome = result.as_ref().map_or_else(|e| e.kind(), |_| "success");
            self.metrics
                .source_requests
                .with_label_values(&[kind, outcome])
                .inc();
            match result {
                Err(e) if e.is_transient() && attempt < QUERY_ATTEMPTS => {
                    debug!(error = %e, attempt, "query failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Fetches one limit's series and their walls, extending its kept
    /// history.
    async fn fetch(&self, plan: &Plan, now: UnixSeconds) -> Result<Fetched, LimitError> {
        self.fetch_span(plan, now, plan.lookback, plan.step, true)
            .await
    }

    /// `query`'s series over `[start, end]` at `step`, for `plan`'s limit,
    /// packed as they are read (see `history::Packed`): with a `kept`
    /// history, the points since its end, merged into it (see `history`),
    /// else the whole range.
    async fn range(
        &self,
        plan: &Plan,
        kept: Option<&std::sync::Mutex<History>>,
        query: &str,
        (start, end): (UnixSeconds, UnixSeconds),
        step: f64,
    ) -> Result<Vec<Arc<Packed>>, SourceError> {
        let ask = kept.map_or(history::Ask::Whole, |k| {
            lock(k).ask(query, start, end, step, self.refetch_every)
        });
        let from = match ask {
            history::Ask::Whole => start,
            history::Ask::Since(since) => since,
        };
        // One request, counted; a range of more points than a request's
        // bound is asked in pieces, one after another (see
        // `history::pieces`), and asked whole only when their answers
        // cannot be joined.
        let request = |from: UnixSeconds, to: UnixSeconds| async move {
            let answer = self
                .with_retry("range", || self.source.query_range(query, from, to, step))
                .await?;
            let points: usize = answer.iter().map(|s| s.samples.len()).sum();
            self.metrics
                .source_points
                .with_label_values(&[&plan.limit.name])
                .inc_by(points as u64);
            Ok::<_, SourceError>(answer)
        };
        let ask_for = |from: UnixSeconds| async move {
            let pieces = history::pieces(from, end, step, self.points_per_request);
            if pieces.len() > 1 {
                let mut joined = history::Joined::new(step, (from, end));
                let mut joinable = true;
                for (a, b) in pieces {
                    joinable = joined.add(request(a, b).await?);
                    if !joinable {
                        break;
                    }
                }
                if joinable {
                    return Ok(joined.series());
                }
            }
            Ok(history::pack(request(from, end).await?, step))
        };
        let answer = ask_for(from).await?;
        let Some(kept) = kept else {
            return Ok(answer.into_iter().map(Arc::new).collect());
        };
        let whole = match ask {
            history::Ask::Whole => answer,
            history::Ask::Since(since) => {
                let extended = lock(kept).extend(since, (start, end), answer, self.max_series);
                match extended {
                    Some(series) => return Ok(series),
                    // The newest points could not extend the kept ones (a
                    // label set twice, or a past that changed): the whole
                    // range.
                    None => ask_for(start).await?,
                }
            }
        };
        // Each limit's share of the interval, so that after the first
        // evaluation the limits' whole fetches come one after another.
        let head_start = plan.refetch_phase * self.refetch_every;
        Ok(lock(kept).whole(
            query,
            step,
            (start, end),
            whole,
            head_start,
            self.max_series,
        ))
    }

    /// Fetches `span` seconds of a limit's series at `step`, and their
    /// walls; with `keep`, from and into the limit's kept history.
    async fn fetch_span(
        &self,
        plan: &Plan,
        now: UnixSeconds,
        span: f64,
        step: f64,
        keep: bool,
    ) -> Result<Fetched, LimitError> {
        let l = &plan.limit;
        let (start, end) = grid(now, span, step);
        let mut series = self
            .range(
                plan,
                keep.then_some(&plan.history),
                &l.query,
                (start, end),
                step,
            )
            .await?;
        // Deterministic order, so that the bound drops the same series each
        // time and the exports are stable.
        series.sort_by(|a, b| a.labels().cmp(b.labels()));
        // A series that stopped reporting is gone, as in an instant query:
        // its trend is not extrapolated from data that no longer arrives.
        let before = series.len();
        series.retain(|s| s.newest().is_some_and(|t| !stale(t, end, step)));
        let stale = before - series.len();
        // Without `__name__`, two metrics of one selector can share a label
        // set; they would be one alert and one exported series, so only the
        // first is kept, as Prometheus refuses such vectors in rules. Only
        // among live ones: a metric renamed in an upgrade leaves its old
        // name stopped beside the new one, which must not be the one lost.
        let returned = series.len();
        series.dedup_by(|b, a| a.labels() == b.labels());
        let duplicates = returned - series.len();
        if duplicates > 0 {
            warn!(limit = %l.name, duplicates, "series that differ only in their metric name were skipped; aggregate or select one metric");
        }
        let dropped = series.len().saturating_sub(self.max_series);
        series.truncate(self.max_series);
        // A driver only gives the load headroom: when its query fails the
        // limit is still forecast, and alerts, without one (a typo in a
        // roadmap setting must not silence a page).
        let drivers = match &l.driver {
            None => None,
            Some(q) => Some(
                self.range(
                    plan,
                    keep.then_some(&plan.driver_history),
                    q,
                    (start, end),
                    step,
                )
                .await
                // The drivers are read whole by every series they drive.
                .map(|d| d.iter().map(|p| p.unpack()).collect::<Vec<Series>>())
                .map_err(|e| e.to_string()),
            ),
        };
        if let (Some(Ok(d)), Some(q)) = (&drivers, &l.driver) {
            if d.is_empty() && !series.is_empty() {
                warn!(limit = %l.name, driver = %q, "the driver query returned no series; load headroom is assumed proportional");
            }
        }
        let walls: Vec<Option<f64>> = match &l.wall {
            WallSpec::Constant(w) => vec![Some(*w); series.len()],
            WallSpec::Query(q) => {
                let walls = self
                    .with_retry("instant", || self.source.query_instant(q, now))
                    .await?;
                if walls.is_empty() && !series.is_empty() {
                    return Err(LimitError::NoWalls { query: q.clone() });
                }
                let (joined, ambiguous) =
                    evaluate::join_walls(series.iter().map(|s| s.labels()), &walls, l.direction);
                if ambiguous > 0 {
                    warn!(limit = %l.name, wall_query = %q, series = ambiguous, "walls as specific as each other on different labels disagree for these series; the nearer wall is used: make wall_query give one wall a series");
                }
                joined
            }
        };
        Ok(Fetched {
            series,
            walls,
            drivers,
            dropped,
            stale,
        })
    }

    /// One evaluation of every limit at `now`; alerts are sent when `send`.
    pub async fn tick(&mut self, now: UnixSeconds, send: bool) -> TickReport {
        // Observed at the end, not on drop: an evaluation abandoned for a
        // reload or a shutdown is not one.
        let started = std::time::Instant::now();
        if send && !self.unread.is_empty() {
            self.read_held_alerts(now).await;
        }
        let this = &*self;
        // Each limit is fetched and forecast in one go, so that at most
        // `concurrency` limits' answers are being read and their series
        // unpacked at once (not every limit's, as when all were fetched
        // first), and their forecasts run side by side on the blocking
        // pool.
        let mut done: Vec<(usize, Result<Forecasted, LimitError>)> =
            stream::iter(0..this.plans.len())
                .map(|i| async move {
                    let plan = &this.plans[i];
                    let result = match this.fetch(plan, now).await {
                        Ok(f) => forecast_limit(plan, f, now, this.parallelism).await,
                        Err(e) => Err(e),
                    };
                    (i, result)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        // Configuration order, whichever limit finished first.
        done.sort_by_key(|(i, _)| *i);

        let mut report = TickReport::default();
        // The resolved alerts of limits a reload removed expire as others do.
        let plans = &self.plans;
        self.tracker
            .retire(|l| plans.iter().any(|p| p.limit.name == l), now);
        let mut statuses = Vec::with_capacity(done.len());
        for (i, result) in done {
            let plan = &self.plans[i];
            let name = &plan.limit.name;
            match result {
                Ok(done) => {
                    if let Some(why) = &done.driver_error {
                        warn!(limit = %name, error = %why, "driver query failed; the limit is forecast without its load headroom");
                        self.metrics
                            .limit_failures
                            .with_label_values(&[name, DRIVER_FAILED])
                            .inc();
                    }
                    if done.dropped > 0 {
                        self.metrics
                            .series_dropped
                            .with_label_values(&[name])
                            .inc_by(done.dropped as u64);
                    }
                    self.metrics
                        .series_without_wall
                        .with_label_values(&[name])
                        .set(done.unmatched as i64);
                    for (labels, why) in &done.failed {
                        error!(
                            limit = %name,
                            series = %evaluate::label_string(labels),
                            error = %why,
                            "the forecaster failed on this series (a defect in runway: please report it with the series' data); the limit's other series were forecast"
                        );
                    }
                    if !done.failed.is_empty() {
                        self.metrics
                            .series_failed
                            .with_label_values(&[name])
                            .inc_by(done.failed.len() as u64);
                    }
                    let evaluations = done.evaluations;
                    for (outcome, n) in [
                        ("computed", evaluations.len() - done.reused),
                        ("reused", done.reused),
                    ] {
                        self.metrics
                            .series_forecasts
                            .with_label_values(&[name, outcome])
                            .inc_by(n as u64);
                    }
                    let unforecast: Vec<crate::model::Labels> =
                        done.failed.iter().map(|(l, _)| l.clone()).collect();
                    self.metrics
                        .series_evaluated
                        .with_label_values(&[name])
                        .set(evaluations.len() as i64);
                    self.metrics
                        .limit_last_success
                        .with_label_values(&[name])
                        .set(now);
                    report.series += evaluations.len();
                    self.tracker.update_partial(
                        name,
                        &evaluations,
                        &plan.rules,
                        &plan.link,
                        now,
                        &unforecast,
                    );
                    statuses.push((
                        name.clone(),
                        Ok(LimitStatus {
                            evaluations,
                            last_success: Some(now),
                            last_error: None,
                            dropped_series: done.dropped,
                            stale_series: done.stale,
                            unmatched_series: done.unmatched,
                            unmatched_example: done.first_unmatched,
                            failed_series: done.failed.len(),
                        }),
                    ));
                }
                Err(e) => {
                    // The error names the query that failed (the limit's,
                    // its wall_query or its driver).
                    warn!(target: LIMIT_FAILED, limit = %name, error = %e, "limit not evaluated");
                    self.metrics
                        .limit_failures
                        .with_label_values(&[name, e.reason()])
                        .inc();
                    report.failed_limits.push(name.clone());
                    statuses.push((name.clone(), Err(e.to_string())));
                }
            }
        }

        self.log_take_over();
        log_transitions(self.tracker.take_transitions());
        // The new forecasts and the roadmap's moves they make, under one
        // lock (a reader sees both or neither), before sending, so that
        // this tick's re-roadmap notices go out with its alerts.
        let snapshot = Arc::clone(&self.snapshot);
        if let Ok(mut snap) = snapshot.write() {
            for n in install(&mut snap, statuses) {
                match n {
                    News::Recovered { limit, after } => {
                        info!(%limit, failed_with = %after, "limit evaluated again")
                    }
                    News::NothingToForecast { limit, why } => {
                        warn!(%limit, %why, "limit has nothing to forecast")
                    }
                    News::SeriesDropped { limit, dropped } => {
                        warn!(%limit, dropped, "more series than evaluation.max_series_per_limit; the rest are not evaluated (said once, until the limit fits again)")
                    }
                    News::SeriesWithoutWall {
                        limit,
                        unmatched,
                        example,
                    } => {
                        let example = evaluate::label_string(&example);
                        warn!(%limit, unmatched, %example, "series without a wall from wall_query are not evaluated: a wall joins a series whose labels include all of its own (said once, until every series has a wall again)")
                    }
                }
            }
            self.reroadmap(&mut snap, now);
        }
        if send {
            let mut due = self.tracker.due(self.cadence, now);
            due.extend(self.notices.due(now, self.cadence.resend_delay));
            if !due.is_empty() {
                for d in self.sink.send(&due).await {
                    self.metrics
                        .alerts_sent
                        .with_label_values(&[&d.target])
                        .inc_by(d.sent as u64);
                    self.metrics
                        .alerts_failed
                        .with_label_values(&[&d.target])
                        .inc_by(d.failed as u64);
                    report.alerts_sent += d.sent;
                    if let Some(e) = d.error {
                        warn!(alertmanager = %d.target, failed = d.failed, error = %e, "alerts not delivered; the next resend carries them");
                        self.undelivered.entry(d.target).or_insert((now, 0)).1 += d.failed;
                    } else if let Some((since, failed)) = self.undelivered.remove(&d.target) {
                        // Said once, so that the log shows when an outage
                        // of delivery ended, not only that it began.
                        let after = evaluate::human_duration(now - since);
                        info!(alertmanager = %d.target, failed, %after, "alerts delivered again");
                    }
                }
            }
        }
        for state in [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved,
        ] {
            self.metrics
                .alerts_active
                .with_label_values(&[state.as_str()])
                .set(self.tracker.count(state) as i64);
        }
        if report.failed_limits.is_empty() {
            self.metrics.last_success.set(now);
        }
        self.metrics
            .evaluation_duration
            .observe(started.elapsed().as_secs_f64());
        // Last: readers that wait for an evaluation see all of it.
        self.publish(now);
        if self.backtest_every > 0.0 {
            self.backtest_one(now, &report.failed_limits).await;
        }
        report
    }

    /// Compares the new roadmap with what it said before: walls that moved
    /// materially are logged, counted and kept in the snapshot.
    fn reroadmap(&mut self, snap: &mut Snapshot, now: UnixSeconds) {
        let horizons = &self.horizons;
        let changes = {
            let points = snap.roadmap_with(self.growth_factor);
            roadmap::reroadmap(
                &mut self.marks,
                &points,
                self.growth_factor,
                |l| horizons.get(l).copied().unwrap_or(0.0),
                self.roadmap_hold,
                now,
            )
        };
        let headroom = crate::report::headroom_words;
        for c in &changes {
            info!(
                limit = %c.limit,
                series = %evaluate::label_string(&c.labels),
                change = c.kind.as_str(),
                expected = %evaluate::human_duration(c.expected),
                now = %evaluate::human_duration(c.now),
                headroom_before = %headroom(c.headroom_before),
                headroom_now = %headroom(c.headroom_now),
                "the roadmap moved"
            );
            self.metrics
                .roadmap_changes
                .with_label_values(&[&c.limit, c.kind.as_str()])
                .inc();
            if self.alert_on.contains(&c.kind) {
                let plan = self.plans.iter().find(|p| p.limit.name == c.limit);
                let labels = plan.map(|p| p.limit.labels.clone()).unwrap_or_default();
                let url = plan.map_or("", |p| p.link.limit.as_str());
                self.notices
                    .raise(c, &labels, self.growth_factor, now + self.alert_for, url);
            }
        }
        snap.record(changes);
    }

    /// Backtests the limit most overdue for it, if any, and puts the scores
    /// in the snapshot (`/metrics`, the API), so that a team knows how far
    /// to trust each wall. One limit per tick spreads the cost.
    /// `failed`: the limits this evaluation could not fetch, whose replay
    /// would wait on the same failing source (its timeouts and retries
    /// again, stretching the interval); they are replayed at a later
    /// evaluation that reaches them.
    async fn backtest_one(&mut self, now: UnixSeconds, failed: &[String]) {
        let due = self
            .plans
            .iter()
            .filter(|p| !failed.contains(&p.limit.name))
            .filter_map(|p| match self.backtested.get(&p.limit.name) {
                None => Some((p.limit.name.clone(), f64::NEG_INFINITY)),
                Some(&at) if now - at >= self.backtest_every => Some((p.limit.name.clone(), at)),
                Some(_) => None,
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(name, _)| name);
        let Some(name) = due else { return };
        self.trust_limit(name, now).await;
    }

    /// Backtests every limit now, as `runway roadmap` does to say how far
    /// to trust each wall.
    pub async fn backtest_all(&mut self, now: UnixSeconds) {
        let names: Vec<String> = self.plans.iter().map(|p| p.limit.name.clone()).collect();
        for name in names {
            self.trust_limit(name, now).await;
        }
    }

    /// Backtests one limit and puts its scores in the snapshot.
    async fn trust_limit(&mut self, name: String, now: UnixSeconds) {
        debug!(limit = %name, "backtest started");
        let outcome = self
            .backtest_limit(&name, now, None, None, BACKTEST_CUTS)
            .await;
        // Done, well or not, only once it has finished: a backtest
        // abandoned with its evaluation is due again at the next.
        self.backtested.insert(name.clone(), now);
        match outcome {
            Ok(done) => {
                debug!(limit = %name, series = done.series.len(), "backtest done");
                let trust = done
                    .series
                    .into_iter()
                    .map(|(labels, report)| {
                        let t = Trust {
                            at: now,
                            history: if report.truth.samples > 0 {
                                report.truth.end - report.truth.start
                            } else {
                                0.0
                            },
                            scores: report.summary,
                            note: report.note,
                        };
                        (labels, t)
                    })
                    .collect();
                if let Ok(mut snap) = self.snapshot.write() {
                    snap.trust.insert(name, trust);
                }
            }
            Err(e) => warn!(limit = %name, error = %e, "backtest skipped"),
        }
    }

    /// Replays the limit `name` on its own history: `history` seconds of it
    /// (default four lookbacks) fetched as the evaluation fetches, each
    /// series with a wall cut `cuts` times, each cut forecast from the
    /// limit's lookback before it (what an evaluation then would have
    /// seen), and scored with the limit's own model, seasonality, alert
    /// probability and (default) longest lead time. The daemon's periodic
    /// backtests and `runway backtest --config` both come here.
    pub async fn backtest_limit(
        &self,
        name: &str,
        now: UnixSeconds,
        history: Option<f64>,
        lead: Option<f64>,
        cuts: usize,
    ) -> Result<LimitBacktest, String> {
        let Some(plan) = self.plans.iter().find(|p| p.limit.name == name) else {
            return Err(format!("no limit named {name}"));
        };
        let (span, step) = match history {
            // The daemon's own: four lookbacks at four times the step, an
            // answer no larger than an evaluation's (whatever fits
            // source.max_response_bytes for one fits for the other) and
            // forecasts as cheap as the evaluation's at each cut.
            None => (
                BACKTEST_LOOKBACKS * plan.lookback,
                (BACKTEST_LOOKBACKS * plan.step).round(),
            ),
            // Asked for (`runway backtest --config --history`): the finest
            // step the source returns over it.
            Some(span) => (span, (span / MAX_POINTS_PER_SERIES).max(plan.step).round()),
        };
        // So long a history is read at so coarse a step that each cut's
        // lookback would hold fewer samples than a cycle is looked for in:
        // nothing to replay. (A step configured so coarse is the limit's
        // own, as evaluated.)
        let fewest = crate::forecast::season::MIN_SAMPLES as f64;
        if step > plan.step && step > plan.lookback / fewest {
            let most = plan.lookback / fewest * MAX_POINTS_PER_SERIES;
            return Err(format!(
                "limit {name}: a history of {} is read at a step of {} (at most {} points a series), and a lookback of {} would hold {:.0} samples at each cut; ask for {} or less",
                evaluate::human_duration(span),
                evaluate::human_duration(step),
                MAX_POINTS_PER_SERIES,
                evaluate::human_duration(plan.lookback),
                (plan.lookback / step).floor(),
                evaluate::human_duration(most),
            ));
        }
        let fetched = self
            .fetch_span(plan, now, span, step, false)
            .await
            .map_err(|e| format!("limit {name}: {e}"))?;
        let lead = lead.unwrap_or_else(|| {
            plan.limit
                .lead_times
                .iter()
                .map(|l| l.lead.as_secs_f64())
                .fold(0.0, f64::max)
        });
        let settings = plan.settings();
        let direction = plan.limit.direction;
        let lookback = plan.lookback;
        // Replaying is forecasting, many times over: the blocking pool, on
        // every core.
        let items: Vec<(Arc<Packed>, Option<f64>)> =
            fetched.series.into_iter().zip(fetched.walls).collect();
        let limit = name.to_string();
        let series = split_blocking(items, self.parallelism, move |part| {
            let part: Vec<(Series, f64)> = part
                .into_iter()
                .filter_map(|(s, w)| w.map(|w| (s.unpack(), w)))
                .collect();
            // A defect that panics on one series' data costs that series'
            // scores, not its limit's (as in an evaluation).
            let outcomes = isolate(part.len(), |range| {
                part[range]
                    .iter()
                    .map(|(s, wall)| {
                        backtest::backtest(
                            &s.samples,
                            *wall,
                            direction,
                            lead,
                            cuts,
                            &settings,
                            Some(lookback),
                        )
                    })
                    .collect()
            });
            part.into_iter()
                .zip(outcomes)
                .filter_map(|((s, _), r)| match r {
                    Ok(r) => Some((s.labels, r)),
                    Err(why) => {
                        error!(limit = %limit, series = %evaluate::label_string(&s.labels), error = %why, "the backtest failed on this series: a defect in runway");
                        None
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| format!("limit {name}: backtest failed: {e}"))?;
        Ok(LimitBacktest {
            history: span,
            lead,
            series,
        })
    }

    /// Marks the tick done: its alerts' states, and when it finished.
    fn publish(&self, now: UnixSeconds) {
        self.publish_alerts();
        // After the alerts: a reader that sees this evaluation's time sees
        // its alerts.
        if let Ok(mut snap) = self.snapshot.write() {
            snap.evaluated_at = Some(now);
        }
    }

    /// Puts the alerts' states in the snapshot between evaluations.
    fn publish_alerts(&self) {
        let alerts = self.tracker.held();
        if let Ok(mut snap) = self.snapshot.write() {
            snap.alerts = alerts;
        }
    }

    /// Evaluates every `evaluation.interval` until `shutdown` completes;
    /// with `reloads`, reads the configuration again when asked and
    /// evaluates at once on a changed one.
    ///
    /// A request that arrives during an evaluation is read at once. A file
    /// that fails or has not changed is answered at once and the
    /// evaluation goes on (requests in a loop must not keep runway from
    /// ever finishing one). A changed one abandons it, as a shutdown does:
    /// stuck on a source that does not answer, it could take the source's
    /// timeout three times over, per query, and the new file may be what
    /// points runway elsewhere.
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()>,
        mut reloads: Option<Reloads<S, K>>,
    ) {
        let mut ticker = self.ticker();
        let mut clock = TickClock::default();
        let mut due = tokio::time::Instant::now();
        tokio::pin!(shutdown);
        loop {
            // Configurations read, to apply once no evaluation runs, with
            // the requests still waiting for the outcome.
            let mut pending: Vec<(Vec<ReloadRequest>, Loaded<S, K>)> = Vec::new();
            let mut abandoned = false;
            let between = tokio::select! {
                _ = &mut shutdown => {
                    info!("shutting down");
                    return;
                }
                Some(request) = next_request(&mut reloads) => Some(request),
                at = ticker.tick() => {
                    due = at;
                    None
                }
            };
            if let Some(first) = between {
                let Some(r) = reloads.as_mut() else { continue };
                match read_again(first, r) {
                    (requests, Ok(loaded)) => pending.push((requests, loaded)),
                    (requests, Err(e)) => report_reload(
                        requests,
                        Err(e),
                        &self.metrics,
                        &self.snapshot,
                        wall_clock(),
                    ),
                }
            } else {
                let metrics = Arc::clone(&self.metrics);
                let snapshot = Arc::clone(&self.snapshot);
                let running = Arc::clone(&self.config);
                let interval = self.cadence.interval;
                let started = std::time::Instant::now();
                let now = clock.time_of(due, tokio::time::Instant::now(), wall_clock());
                let tick = self.tick(now, true);
                tokio::pin!(tick);
                loop {
                    tokio::select! {
                        _ = &mut shutdown => {
                            // Nothing it would still do must outlive the
                            // process; the next start derives its state
                            // again.
                            info!("shutting down; the evaluation in progress is abandoned");
                            return;
                        }
                        report = &mut tick => {
                            debug!(?report, "evaluation done");
                            // The next one is late by as much: forecasts and
                            // alerts fall behind, which only the histogram
                            // would otherwise show.
                            let took = started.elapsed().as_secs_f64();
                            if took > interval {
                                warn!(
                                    took = %evaluate::human_duration(took),
                                    interval = %evaluate::human_duration(interval),
                                    "the evaluation (queries, forecasts, sends, and its backtest if one was due) took longer than evaluation.interval: a slow source or Alertmanager (runway_source_requests_total, runway_alerts_send_failures_total), or more series than the interval allows (README, Sizing)"
                                );
                            }
                            break;
                        }
                        Some(first) = next_request(&mut reloads) => {
                            let Some(r) = reloads.as_mut() else { continue };
                            let now = wall_clock();
                            match read_again(first, r) {
                                (requests, Err(e)) => {
                                    report_reload(requests, Err(e), &metrics, &snapshot, now);
                                }
                                (requests, Ok(loaded)) if loaded.config == *running => {
                                    // Answered now, applied after the
                                    // evaluation (a source and a sink built
                                    // anew: a rotated CA file).
                                    let same = Reloaded {
                                        limits: running.limits.len(),
                                        unchanged: true,
                                        notes: advised(loaded.notes.clone(), &loaded.config),
                                        ..Reloaded::default()
                                    };
                                    report_reload(requests, Ok(same), &metrics, &snapshot, now);
                                    pending.push((Vec::new(), loaded));
                                }
                                (requests, Ok(loaded)) => {
                                    warn!("the evaluation in progress is abandoned for a changed configuration");
                                    pending.push((requests, loaded));
                                    abandoned = true;
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            // No evaluation runs: the engine's state is its own again.
            let mut changed = false;
            for (requests, loaded) in pending {
                let now = wall_clock();
                let done = self.reload(loaded, now);
                changed |= !done.unchanged;
                if !requests.is_empty() {
                    report_reload(requests, Ok(done), &self.metrics, &self.snapshot, now);
                }
            }
            // A new ticker's first tick is at once: the new configuration
            // evaluated, or the abandoned evaluation made good.
            if changed || abandoned {
                ticker = self.ticker();
            }
        }
    }

    /// A ticker at the configured interval whose first tick is now.
    fn ticker(&self) -> tokio::time::Interval {
        let every = Duration::from_secs_f64(self.cadence.interval.max(0.001));
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker
    }
}

/// Logs the alerts that started firing or resolved, once each: what was
/// paged, and when, is in the log even without an Alertmanager's.
fn log_transitions(transitions: Vec<evaluate::Transition>) {
    for t in transitions {
        let alert = evaluate::label_string(&t.labels);
        match t.state {
            AlertState::Firing => {
                info!(target: ALERT_LOG, limit = %t.limit, %alert, "alert firing")
            }
            AlertState::Resolved => {
                info!(target: ALERT_LOG, limit = %t.limit, %alert, "alert resolved")
            }
            AlertState::Pending => {}
        }
    }
}

/// The next reload request; never, without reloads or once nobody can ask.
async fn next_request<S, K>(reloads: &mut Option<Reloads<S, K>>) -> Option<ReloadRequest> {
    match reloads {
        Some(r) => match r.requests.recv().await {
            Some(request) => Some(request),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// A reload's `notes`, and after them what `config` asks that is most
/// likely not meant (see `Config::advisories`).
fn advised(mut notes: Vec<String>, config: &Config) -> Vec<String> {
    notes.extend(
        config
            .advisories()
            .into_iter()
            .map(|a| format!("warning: {a}")),
    );
    notes
}

/// Reads the configuration for `first` and every request queued behind
/// it: a burst of SIGHUPs, or a sidecar that reloads eagerly, costs one
/// reading.
#[allow(clippy::type_complexity)]
fn read_again<S, K>(
    first: ReloadRequest,
    reloads: &mut Reloads<S, K>,
) -> (Vec<ReloadRequest>, Result<Loaded<S, K>, String>) {
    let mut requests = vec![first];
    while let Ok(more) = reloads.requests.try_recv() {
        requests.push(more);
    }
    (requests, (reloads.load)())
}

/// Says what reading the configuration again came to, at `now`: on each
/// request's reply, in the log, on `/metrics` and on the status page. On
/// failure the running configuration stays.
fn report_reload(
    requests: Vec<ReloadRequest>,
    outcome: Result<Reloaded, String>,
    metrics: &Metrics,
    snapshot: &RwLock<Snapshot>,
    now: UnixSeconds,
) {
    let ok = outcome.is_ok();
    metrics.config_reload_successful.set(i64::from(ok));
    if ok {
        metrics.config_reload_success_time.set(now);
    }
    if let Ok(mut snap) = snapshot.write() {
        match &outcome {
            Ok(_) => {
                snap.config.loaded_at = Some(now);
                snap.config.reload_error = None;
            }
            Err(e) => snap.config.reload_error = Some((now, e.clone())),
        }
    }
    match &outcome {
        Ok(r) => info!(outcome = %r, "configuration reloaded"),
        // One line in the log, whose every line has a time: the problems
        // are listed one a line on the reply and the page.
        Err(e) => {
            let e = e.trim_end().replace('\n', "; ");
            error!(error = %e, "configuration reload failed; the running configuration stays")
        }
    }
    for request in requests {
        if let Some(reply) = request.reply {
            // Whoever asked may have gone; the log has it.
            let _ = reply.send(outcome.clone());
        }
    }
}

/// What an evaluation changed about a limit that the log says once, when
/// it happens, rather than at every evaluation (failures are logged at
/// each one, as Prometheus logs its failing rules).
#[derive(Debug, PartialEq)]
enum News {
    /// Evaluated again after failing with this error.
    Recovered { limit: String, after: String },
    /// Evaluated, with nothing to forecast (a typo in a metric name reads
    /// like this), where before it had something or failed.
    NothingToForecast { limit: String, why: String },
    /// More series than `evaluation.max_series_per_limit`, where before
    /// there were not: said once, not at every evaluation (the counter
    /// and the API say how many, every time).
    SeriesDropped { limit: String, dropped: usize },
    /// Series that `wall_query` gave no wall, where before every series had
    /// one: said once, with one of them to compare labels with (the gauge,
    /// the page and the API say how many, every time).
    SeriesWithoutWall {
        limit: String,
        unmatched: usize,
        example: crate::model::Labels,
    },
}

/// Puts a tick's forecasts in the snapshot; returns what changed that the
/// log should say.
fn install(snap: &mut Snapshot, statuses: Vec<(String, Result<LimitStatus, String>)>) -> Vec<News> {
    let mut news = Vec::new();
    for (name, status) in statuses {
        match status {
            Ok(s) => {
                let before = snap.limits.get(&name);
                if let Some(after) = before.and_then(|b| b.last_error.clone()) {
                    news.push(News::Recovered {
                        limit: name.clone(),
                        after,
                    });
                }
                // (With none left to forecast, `NothingToForecast` says it.)
                if let Some(example) = s.unmatched_example.as_ref().filter(|_| {
                    !s.evaluations.is_empty() && before.is_none_or(|b| b.unmatched_series == 0)
                }) {
                    news.push(News::SeriesWithoutWall {
                        limit: name.clone(),
                        unmatched: s.unmatched_series,
                        example: example.clone(),
                    });
                }
                if s.dropped_series > 0 && before.is_none_or(|b| b.dropped_series == 0) {
                    news.push(News::SeriesDropped {
                        limit: name.clone(),
                        dropped: s.dropped_series,
                    });
                }
                let had = before.and_then(LimitStatus::nothing_to_forecast);
                if let Some(why) = s.nothing_to_forecast().filter(|w| had.as_ref() != Some(w)) {
                    news.push(News::NothingToForecast {
                        limit: name.clone(),
                        why,
                    });
                }
                snap.limits.insert(name, s);
            }
            // Keep the last good forecasts, marked with the error: a
            // dashboard should not go blank because one query failed.
            Err(e) => snap.limits.entry(name).or_default().last_error = Some(e),
        }
    }
    news
}

struct Fetched {
    /// Packed (see `history::Packed`), and shared with the limit's kept
    /// history: unpacked a few at a time, as they are forecast.
    series: Vec<Arc<Packed>>,
    walls: Vec<Option<f64>>,
    /// The driver's series, to be joined to `series` on labels: `None`
    /// when the limit has no driver; why its query failed (naming it), if
    /// it did: the series are forecast all the same, their load headroom
    /// unknown.
    drivers: Option<Result<Vec<Series>, String>>,
    dropped: usize,
    stale: usize,
}

/// The reason counted in `runway_limit_evaluation_failures_total` for a
/// driver query that failed.
const DRIVER_FAILED: &str = "driver";

/// A limit replayed on its own history.
#[derive(Debug)]
pub struct LimitBacktest {
    /// Seconds of history replayed.
    pub history: f64,
    /// The lead time the alerts were scored against.
    pub lead: f64,
    /// Each series with a wall, by its labels.
    pub series: Vec<(crate::model::Labels, backtest::Report)>,
}

/// A limit's forecasts, with what was left out and why.
struct Forecasted {
    evaluations: Vec<crate::evaluate::Evaluation>,
    /// How many of them were counted down from the last evaluation's.
    reused: usize,
    dropped: usize,
    stale: usize,
    unmatched: usize,
    /// One of them, to name in the log.
    first_unmatched: Option<crate::model::Labels>,
    /// Series the forecaster failed on (a defect: it panicked), with why.
    failed: Vec<(crate::model::Labels, String)>,
    /// Why the driver's query failed, if it did (see `Fetched`).
    driver_error: Option<String>,
}

/// The fewest series worth a forecasting task of their own.
const MIN_SERIES_PER_TASK: usize = 64;

/// Runs `f` over `items` on the blocking pool, split into up to
/// `parallelism` parts of at least [`MIN_SERIES_PER_TASK`], and returns
/// the results in the order of the items.
///
/// Each part is fed to `f` a chunk of [`MIN_SERIES_PER_TASK`] at a time, and
/// stops between chunks once this future is dropped: an evaluation
/// abandoned (for a shutdown or a changed configuration) does not go on
/// fitting thousands of series that nobody will read, and a shutdown does
/// not wait for them (the runtime waits for every blocking task it
/// started).
async fn split_blocking<T, R, F>(
    items: Vec<T>,
    parallelism: usize,
    f: F,
) -> Result<Vec<R>, tokio::task::JoinError>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<T>) -> Vec<R> + Send + Sync + 'static,
{
    let parts = parallelism
        .min(items.len().div_ceil(MIN_SERIES_PER_TASK))
        .max(1);
    let per_part = items.len().div_ceil(parts).max(1);
    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let _abandon = StopOnDrop(Arc::clone(&stop));
    let mut items = items.into_iter();
    let mut running = Vec::with_capacity(parts);
    loop {
        let part: Vec<T> = items.by_ref().take(per_part).collect();
        if part.is_empty() {
            break;
        }
        let f = Arc::clone(&f);
        let stop = Arc::clone(&stop);
        running.push(tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(part.len());
            let mut part = part.into_iter();
            while !stop.load(Ordering::Relaxed) {
                let chunk: Vec<T> = part.by_ref().take(MIN_SERIES_PER_TASK).collect();
                if chunk.is_empty() {
                    break;
                }
                out.extend(f(chunk));
            }
            out
        }));
    }
    let mut out = Vec::new();
    for task in running {
        out.extend(task.await?);
    }
    Ok(out)
}

/// Raises its flag when dropped (see [`split_blocking`]).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The lock on a limit's kept forecasts. Nothing panics while holding it
/// (it is only swapped), but a poisoned one still holds what it held.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A limit's kept forecasts, taken out of its `Plan` for one evaluation
/// and shared with its blocking tasks. Dropped before `finish`, when the
/// evaluation is abandoned (a shutdown, a changed configuration, whose
/// reload then carries them to the limit's new plan) or fails, it puts
/// them back: the next evaluation still counts them down rather than
/// computing every series of the limit again.
struct TakenKept<'a> {
    slot: &'a std::sync::Mutex<evaluate::Kept>,
    kept: Option<Arc<evaluate::Kept>>,
}

impl<'a> From<&'a std::sync::Mutex<evaluate::Kept>> for TakenKept<'a> {
    fn from(slot: &'a std::sync::Mutex<evaluate::Kept>) -> Self {
        let kept = std::mem::take(&mut *lock(slot));
        TakenKept {
            slot,
            kept: Some(Arc::new(kept)),
        }
    }
}

impl TakenKept<'_> {
    /// The kept forecasts, for the evaluation's tasks to read.
    fn shared(&self) -> Arc<evaluate::Kept> {
        self.kept.clone().unwrap_or_default()
    }

    /// The evaluation finished: the kept forecasts are its own (moved if
    /// its tasks have let go of them, as they have once they are done).
    fn finish(mut self) -> evaluate::Kept {
        self.kept.take().map(owned).unwrap_or_default()
    }
}

impl Drop for TakenKept<'_> {
    fn drop(&mut self) {
        if let Some(kept) = self.kept.take() {
            *lock(self.slot) = owned(kept);
        }
    }
}

/// `kept` itself when nothing else holds it, else a copy.
fn owned(kept: Arc<evaluate::Kept>) -> evaluate::Kept {
    Arc::try_unwrap(kept).unwrap_or_else(|shared| (*shared).clone())
}

/// Forecasts a limit's fetched series. Forecasting is CPU work (about 2 ms a
/// series): it runs on the blocking pool, so that /metrics and the API stay
/// responsive while thousands of series are fitted, split into up to
/// `parallelism` tasks so that one large limit uses every core. A series
/// unchanged since the limit's forecasts kept from a step before has its
/// kept one counted down instead. What it computes, and the originals of
/// what it counts down, are kept for the next evaluation.
async fn forecast_limit(
    plan: &Plan,
    f: Fetched,
    now: UnixSeconds,
    parallelism: usize,
) -> Result<Forecasted, LimitError> {
    let returned = f.series.len();
    let first_unmatched = f
        .series
        .iter()
        .zip(&f.walls)
        .find(|(_, w)| w.is_none())
        .map(|(s, _)| s.labels().clone());
    let items: Vec<(Arc<Packed>, f64)> = f
        .series
        .into_iter()
        .zip(f.walls)
        .filter_map(|(s, w)| w.map(|w| (s, w)))
        .collect();
    let unmatched = returned - items.len();
    let direction = plan.limit.direction;
    let limit: Arc<str> = Arc::from(plan.limit.name.as_str());
    let settings = plan.settings();
    let driver_error = f.drivers.as_ref().and_then(|d| d.as_ref().err().cloned());
    let drivers = f.drivers;
    // Taken for this evaluation, and put back if it does not finish.
    let taken = TakenKept::from(&plan.kept);
    let kept = taken.shared();
    // A forecast is counted down for at most a step: after it the range's
    // points move, and so would an unchanged series' forecast's words.
    let max_age = plan.step;
    // Each chunk (see `split_blocking`) joins its own series to the
    // drivers and fits a shared driver once for them, once per 64 series
    // rather than once per task (about one fit more in 64): results are
    // the same however the series are split.
    let results = split_blocking(items, parallelism, move |part| {
        let (mut part, part_walls): (Vec<Series>, Vec<f64>) =
            part.into_iter().map(|(p, w)| (p.unpack(), w)).unzip();
        let joined = evaluate::join_drivers(&part, drivers.as_ref());
        let prints = evaluate::fingerprints(&part, &part_walls, &joined);
        let mut out: Vec<Option<Outcome>> = prints
            .iter()
            .map(|&p| {
                kept.reuse(p, now, max_age)
                    .map(|e| Ok((e, p, Made::Reused)))
            })
            .collect();
        let todo: Vec<usize> = (0..part.len()).filter(|&i| out[i].is_none()).collect();
        let series: Vec<Series> = todo.iter().map(|&i| std::mem::take(&mut part[i])).collect();
        let walls: Vec<f64> = todo.iter().map(|&i| part_walls[i]).collect();
        let joined: Vec<Driver<'_>> = todo.iter().map(|&i| joined[i]).collect();
        let outcomes = isolate(series.len(), |range| {
            evaluate::evaluate(
                &limit,
                &series[range.clone()],
                &walls[range.clone()],
                &joined[range],
                direction,
                &settings,
                now,
            )
        });
        for ((o, s), &i) in outcomes.into_iter().zip(&series).zip(&todo) {
            out[i] = Some(
                o.map(|e| (e, prints[i], Made::Computed))
                    .map_err(|why| (s.labels.clone(), why)),
            );
        }
        out.into_iter().flatten().collect::<Vec<_>>()
    })
    .await
    .map_err(|e| LimitError::Forecast(e.to_string()))?;
    // The tasks are done with it: what they counted down moves to the
    // next evaluation's kept forecasts rather than being copied.
    let mut previous = taken.finish();
    let mut evaluations = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    let mut next = evaluate::Kept::default();
    let mut reused = 0;
    for r in results {
        match r {
            Ok((e, print, made)) => {
                // Kept as computed, so that its age is counted from then.
                match made {
                    Made::Computed => next.keep(print, e.clone()),
                    Made::Reused => {
                        reused += 1;
                        if let Some(computed) = previous.take(print) {
                            next.keep(print, computed);
                        }
                    }
                }
                evaluations.push(e);
            }
            Err(f) => failed.push(f),
        }
    }
    *lock(&plan.kept) = next;
    Ok(Forecasted {
        evaluations,
        reused,
        dropped: f.dropped,
        stale: f.stale,
        unmatched,
        first_unmatched,
        failed,
        driver_error,
    })
}

/// Whether a series' forecast was computed at this evaluation or counted
/// down from the last one's.
#[derive(Debug, Clone, Copy)]
enum Made {
    Computed,
    Reused,
}

/// A series' forecast with its fingerprint, or why the forecaster failed
/// on it.
type Outcome = Result<(Evaluation, u64, Made), (crate::model::Labels, String)>;

/// Runs `all` over items `0..n` at once; if it panics (a defect in the
/// forecaster, on some series' data), over each item alone, so that the
/// others are still forecast and the one that fails is named. The answer
/// has one entry per item: its result, or the panic's message.
fn isolate<R>(n: usize, all: impl Fn(std::ops::Range<usize>) -> Vec<R>) -> Vec<Result<R, String>> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    if let Ok(out) = catch_unwind(AssertUnwindSafe(|| all(0..n))) {
        return out.into_iter().map(Ok).collect();
    }
    (0..n)
        .map(|i| match catch_unwind(AssertUnwindSafe(|| all(i..i + 1))) {
            Ok(mut one) => one
                .pop()
                .ok_or_else(|| "the forecaster answered no forecast".to_string()),
            Err(payload) => Err(panic_message(payload.as_ref())),
        })
        .collect()
}

/// What a panic said, when it said it as text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_links_are_written_as_prometheus_writes_them() {
        for (seconds, written) in [
            (14.0 * 86_400.0, "2w"),
            (7.0 * 86_400.0, "1w"),
            (3.0 * 86_400.0, "3d"),
            (36.0 * 3_600.0, "36h"),
            (90.0 * 60.0, "90m"),
            (90.0, "90s"),
            (0.2, "1s"),
        ] {
            assert_eq!(prometheus_duration(seconds), written);
        }
    }

    /// The graph of one series picks it by every label, each value a
    /// PromQL string whatever it holds (a Windows path's backslashes, a
    /// quote, a dollar that `label_replace` would read as a group), beside
    /// a flat line at its wall. (A real Prometheus answers it: `e2e`.)
    #[test]
    fn the_graph_of_one_series_picks_it_by_its_labels_beside_its_wall() {
        let labels: crate::model::Labels = [
            ("instance".to_string(), "node-3".to_string()),
            ("path".to_string(), r#"C:\data "x" $1"#.to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            series_expr("sum by (instance, path) (used)", &labels, 9.5e10),
            r#"(sum by (instance, path) (used)) and ignoring(__name__) label_replace(label_replace(vector(1), "instance", "node-3", "", ""), "path", "C:\\data \"x\" $$1", "", "") or label_replace(vector(95000000000.0), "runway_wall", "95000000000", "", "")"#
        );
        assert_eq!(
            series_expr("up", &crate::model::Labels::new(), -1.5),
            r#"(up) and ignoring(__name__) vector(1) or label_replace(vector(-1.5), "runway_wall", "-1.5", "", "")"#
        );
        // A query that ends in a comment (a multi-line one from TOML).
        assert_eq!(
            series_expr("up # the targets", &crate::model::Labels::new(), 1.0),
            "(up # the targets\n) and ignoring(__name__) vector(1) or label_replace(vector(1.0), \"runway_wall\", \"1\", \"\", \"\")"
        );
    }

    /// Ticks read late by different amounts (the runtime busy, a slow
    /// evaluation before) are timed by when they were due: a 5-minute hold
    /// on 1-minute ticks is met at the fifth, however late the first was
    /// read. A system clock stepped by ten seconds is followed at once.
    #[test]
    fn ticks_are_timed_by_their_schedule_and_a_stepped_clock_is_followed() {
        let start = tokio::time::Instant::now();
        let mut clock = TickClock::default();
        let wall = 1_800_000_000.25;
        let minute = Duration::from_secs(60);
        let late = |ms: u64| Duration::from_millis(ms);
        let first = clock.time_of(start, start + late(40), wall + 0.040);
        assert_eq!(first, wall);
        let mut times = vec![first];
        for (k, ms) in [(1, 3), (2, 250), (3, 0), (4, 17), (5, 1)] {
            let due = start + minute * k;
            // The system clock runs a little off the monotonic one.
            let read = wall + 60.0 * f64::from(k) + 0.001 * ms as f64 + 0.0002;
            times.push(clock.time_of(due, due + late(ms), read));
        }
        assert_eq!(times[5] - times[0], 300.0, "{times:?}");
        assert!(times.windows(2).all(|w| w[1] - w[0] == 60.0), "{times:?}");
        // Stepped forward ten seconds: the next tick is on the new time,
        // and the one after a minute later again.
        let due = start + minute * 6;
        let stepped = clock.time_of(due, due, wall + 370.0);
        assert_eq!(stepped, wall + 370.0);
        let due = start + minute * 7;
        assert_eq!(
            clock.time_of(due, due + late(5), wall + 430.005),
            wall + 430.0
        );
    }

    /// A defect that panics on one series' data must not take its limit's
    /// other series with it: they are forecast, and the one that failed is
    /// named with the panic's message.
    #[test]
    fn a_panic_on_one_series_fails_that_series_alone() {
        let values = [1, 2, 3, 0, 5, 6, 0, 8];
        let forecast = |range: std::ops::Range<usize>| -> Vec<i32> {
            values[range]
                .iter()
                .map(|&v| {
                    assert!(v != 0, "no forecast for zero");
                    100 / v
                })
                .collect()
        };
        let out = isolate(values.len(), forecast);
        let failed: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_err()).collect();
        assert_eq!(failed, [3, 6]);
        assert_eq!(out[3], Err("no forecast for zero".to_string()));
        assert_eq!(out[4], Ok(20));
        // Without a panic every item is answered by the one call.
        let calls = std::cell::Cell::new(0);
        let out = isolate(3, |r| {
            calls.set(calls.get() + 1);
            forecast(r)
        });
        assert_eq!(out, [Ok(100), Ok(50), Ok(33)]);
        assert_eq!(calls.get(), 1);
    }

    /// An abandoned evaluation (a shutdown, a changed configuration) stops
    /// fitting at its next chunk: its blocking tasks used to run to the end,
    /// on every core, and a shutdown waited for them.
    #[tokio::test]
    async fn an_abandoned_split_stops_at_its_next_chunk() {
        use std::sync::atomic::AtomicUsize;
        use std::sync::{mpsc, Mutex};
        let chunks = 10;
        let started = Arc::new(AtomicUsize::new(0));
        let (go, gate) = mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let alive = Arc::new(());
        let work = {
            let (started, alive) = (Arc::clone(&started), Arc::clone(&alive));
            move |chunk: Vec<usize>| {
                let _alive = &alive;
                started.fetch_add(1, Ordering::SeqCst);
                // Each chunk waits for the test to let it finish.
                let _ = gate.lock().map(|g| g.recv());
                chunk
            }
        };
        let items: Vec<usize> = (0..chunks * MIN_SERIES_PER_TASK).collect();
        let split = tokio::spawn(split_blocking(items, 1, work));
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        split.abort();
        assert!(split.await.is_err_and(|e| e.is_cancelled()));
        for _ in 0..chunks {
            let _ = go.send(());
        }
        // The blocking task ends (and drops its work) once it sees the stop.
        while Arc::strong_count(&alive) > 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(started.load(Ordering::SeqCst), 1, "of {chunks} chunks");
    }

    /// A limit's kept forecasts survive an evaluation that is abandoned
    /// (or fails) while its tasks still hold them: the next evaluation (or
    /// the reload that abandoned it, for the limit's new plan) finds them
    /// and counts them down rather than computing every series again. One
    /// that finishes moves them on itself.
    #[test]
    fn kept_forecasts_taken_by_an_evaluation_that_does_not_finish_are_put_back() {
        use crate::model::{Direction, Sample, Series};
        use crate::roadmap::Driver;
        let now = 1_000_000.0;
        let series = Series {
            labels: crate::model::Labels::new(),
            samples: (0..100)
                .map(|i| Sample::new(now - 60.0 * f64::from(99 - i), 1000.0 - f64::from(i)))
                .collect(),
        };
        let evaluation = evaluate::evaluate(
            "disk_full",
            std::slice::from_ref(&series),
            &[0.0],
            &[Driver::Absent],
            Direction::Falling,
            &Settings::default(),
            now,
        )
        .remove(0);
        let print = evaluate::fingerprint(&series, 0.0, Driver::Absent);
        let reusable = |slot: &std::sync::Mutex<evaluate::Kept>| {
            lock(slot).reuse(print, now + 60.0, 300.0).is_some()
        };
        let slot = std::sync::Mutex::new(evaluate::Kept::default());
        lock(&slot).keep(print, evaluation);
        assert!(reusable(&slot));

        // Abandoned while a task still reads them.
        let taken = TakenKept::from(&slot);
        let task = taken.shared();
        assert!(!reusable(&slot), "taken while the evaluation runs");
        drop(taken);
        assert!(reusable(&slot), "put back when it is abandoned");
        assert!(task.reuse(print, now + 60.0, 300.0).is_some());
        drop(task);

        // Finished: the evaluation has them, and keeps what it will.
        let taken = TakenKept::from(&slot);
        let mut finished = taken.finish();
        assert!(!reusable(&slot), "the evaluation puts back its own");
        assert!(finished.take(print).is_some());
    }

    #[test]
    fn a_recovery_and_a_query_that_finds_nothing_are_news_once() {
        let mut snap = Snapshot::default();
        let ok = |series: usize| {
            Ok(LimitStatus {
                last_success: Some(1.0),
                stale_series: series,
                ..LimitStatus::default()
            })
        };
        let failed = || Err::<LimitStatus, String>("query \"x{\" was rejected".into());
        // A typo in a metric name: said at the first evaluation, not again.
        let typo = || ("typo".to_string(), ok(0));
        assert_eq!(
            install(&mut snap, vec![typo()]),
            [News::NothingToForecast {
                limit: "typo".into(),
                why: "its query matched no series".into()
            }]
        );
        assert_eq!(install(&mut snap, vec![typo()]), []);
        // A failing limit is logged where it fails; its recovery is news.
        assert_eq!(install(&mut snap, vec![("q".to_string(), failed())]), []);
        assert_eq!(install(&mut snap, vec![("q".to_string(), failed())]), []);
        assert_eq!(
            install(&mut snap, vec![("q".to_string(), ok(0))]),
            [
                News::Recovered {
                    limit: "q".into(),
                    after: "query \"x{\" was rejected".into()
                },
                News::NothingToForecast {
                    limit: "q".into(),
                    why: "its query matched no series".into()
                }
            ]
        );
        // Its series all going stale is news again: the reason changed.
        assert_eq!(
            install(&mut snap, vec![("q".to_string(), ok(2))]),
            [News::NothingToForecast {
                limit: "q".into(),
                why: "nothing to forecast: 2 series stopped reporting".into()
            }]
        );
    }

    /// The default step is about 2,016 points of the lookback, on a
    /// multiple of the usual scrape intervals, so that every step takes
    /// the same phase of the scrapes.
    #[test]
    fn the_default_step_is_a_multiple_of_the_usual_scrape_intervals() {
        let day = 86_400.0;
        for (lookback, step) in [
            (7.0 * day, 300.0),
            (3.0 * day, 120.0),
            (14.0 * day, 600.0),
            (30.0 * day, 1260.0),
            (day, 45.0),
            (3600.0, 2.0),
        ] {
            assert_eq!(default_step(lookback), step, "a lookback of {lookback}s");
        }
    }

    /// Evaluations seconds apart ask for the same points, so that they
    /// forecast from the same sample of the history: anchored at `now`,
    /// each took another, and a page near its lead flapped.
    #[test]
    fn evaluations_within_one_step_ask_for_the_same_grid() {
        for step in [300.0, 128.571_428, 15.0] {
            let span = 3.0 * 86_400.0;
            let now = 1_700_000_123.456;
            let (start, end) = grid(now, span, step);
            for later in [1.0, 15.0, 0.5 * step] {
                let t = end + later.min(step - 0.001);
                assert_eq!(
                    grid(t, span, step),
                    (start, end),
                    "step {step}, {later}s on"
                );
            }
            // The newest point is the last on the grid, at most a step old,
            // and the span is whole steps, no more than asked.
            assert!(end <= now && now - end < step, "step {step}");
            let points = (end - start) / step;
            assert!(
                (points - points.round()).abs() < 1e-6,
                "step {step}: {points}"
            );
            assert!(
                end - start <= span && end - start > span - step,
                "step {step}"
            );
            // The next step adds one point and drops one.
            let (s2, e2) = grid(end + step, span, step);
            assert!((e2 - end - step).abs() < 1e-6 && (s2 - start - step).abs() < 1e-6);
        }
    }

    #[test]
    fn a_stopped_series_is_stale_once_whatever_the_rounding_of_its_grid() {
        // Five-minute steps (a 7-day lookback): the newest point of a
        // series is a whole number of steps old. Prometheus rounds the
        // grid to the millisecond, so from one evaluation to the next the
        // same point reads a hair under or over its whole steps; the
        // answer must not change with it.
        let (now, step) = (1_700_000_000.0, 300.0);
        for steps in 0..8 {
            let age = steps as f64 * step;
            let under = stale(now - age + 0.001, now, step);
            let over = stale(now - age - 0.001, now, step);
            assert_eq!(under, over, "{steps} steps old");
            // Fresh while Prometheus still carries its last sample forward
            // (five minutes) and the grid may have missed two steps of it.
            assert_eq!(
                over,
                age > 2.0 * step + STALENESS_SECONDS,
                "{steps} steps old"
            );
        }
    }
}
