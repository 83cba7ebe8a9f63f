//! The one metrics struct: runway's own health on an explicit registry (never
//! the global default), plus a collector that exports every forecast of the
//! latest snapshot. Names follow Prometheus conventions: base units, `_total`
//! for counters.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::evaluate::AlertState;
use crate::forecast::Status;
use crate::snapshot::Snapshot;

pub struct Metrics {
    registry: Registry,
    pub evaluation_duration: Histogram,
    pub last_success: prometheus::Gauge,
    pub limit_last_success: GaugeVec,
    pub source_requests: IntCounterVec,
    pub limit_failures: IntCounterVec,
    pub alerts_sent: IntCounterVec,
    pub alerts_failed: IntCounterVec,
    pub alerts_taken_over: prometheus::IntCounter,
    pub alert_reads_failed: IntCounterVec,
    pub series_evaluated: IntGaugeVec,
    pub series_dropped: IntCounterVec,
    pub series_without_wall: IntGaugeVec,
    pub series_failed: IntCounterVec,
    pub series_forecasts: IntCounterVec,
    pub source_points: IntCounterVec,
    pub alerts_active: IntGaugeVec,
    pub limits_configured: IntGauge,
    pub roadmap_changes: IntCounterVec,
    pub growth_factor: prometheus::Gauge,
    pub alert_probability: prometheus::Gauge,
    pub config_reload_successful: IntGauge,
    pub config_reload_success_time: prometheus::Gauge,
}

/// The forecast gauges: (name, help).
const FORECAST_GAUGES: [(&str, &str); 9] = [
    ("runway_time_to_wall_seconds", "Likely seconds until the series reaches its wall; 0 when breached, +Inf when not approaching."),
    ("runway_time_to_wall_lower_seconds", "Earliest seconds until the wall: the near edge of the 90% band."),
    ("runway_time_to_wall_upper_seconds", "Latest seconds until the wall (far edge of the band); +Inf when the trend is too uncertain to promise it."),
    ("runway_wall_value", "The wall the series is measured against, in the series' own unit."),
    ("runway_current_value", "The newest sample of the series."),
    ("runway_growth_rate_per_second", "The fitted trend's change per second, in the series' unit (negative when falling)."),
    ("runway_time_to_wall_alert_seconds", "Seconds until the wall is as likely as runway_alert_probability (evaluation.alert_probability) for most of the trends and for all of them together, damped trends weighing whether the trend lasts (so it can exceed the likely time): alerts fire when this is within a lead time."),
    ("runway_wall_timestamp_seconds", "When the series likely reaches its wall, Unix seconds (+Inf when not approaching; when it did, for a breach): minus time(), a time to wall that keeps counting down while the source is down and the forecast cannot be refreshed."),
    ("runway_wall_alert_timestamp_seconds", "When the wall becomes as likely as runway_alert_probability (evaluation.alert_probability), Unix seconds: runway_time_to_wall_alert_seconds as a moment (+Inf when not approaching or while the alert waits; when it did, for a breach). Minus time(), an alert time that keeps counting down while the limit cannot be evaluated."),
];

/// Removes every child of `family` whose `limit` label is `limit`, whatever
/// its other labels are.
fn forget<T: prometheus::core::MetricVecBuilder>(
    family: &prometheus::core::MetricVec<T>,
    limit: &str,
) {
    for f in family.collect() {
        for m in f.get_metric() {
            let labels: HashMap<&str, &str> = m
                .get_label()
                .iter()
                .map(|p| (p.name(), p.value()))
                .collect();
            if labels.get("limit") == Some(&limit) {
                let _ = family.remove(&labels);
            }
        }
    }
}

fn internal(e: prometheus::Error) -> String {
    format!("metrics registry: {e}")
}

impl Metrics {
    /// Builds every metric and registers it, with the forecast collector
    /// reading `snapshot`.
    pub fn new(snapshot: Arc<RwLock<Snapshot>>) -> Result<Self, String> {
        let registry = Registry::new();
        let buckets = vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
        let m = Metrics {
            evaluation_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "runway_evaluation_duration_seconds",
                    "Time taken by one evaluation of every limit: queries, forecasts and alert sending.",
                )
                .buckets(buckets),
            )
            .map_err(internal)?,
            last_success: prometheus::Gauge::new(
                "runway_last_successful_evaluation_timestamp_seconds",
                "Unix time of the last evaluation in which every limit was evaluated without error.",
            )
            .map_err(internal)?,
            limit_last_success: GaugeVec::new(
                Opts::new("runway_limit_last_success_timestamp_seconds", "Unix time of each limit's last evaluation without error: how old its forecasts are while it fails; 0 until its first."),
                &["limit"],
            )
            .map_err(internal)?,
            source_requests: IntCounterVec::new(
                Opts::new("runway_source_requests_total", "Queries sent to the source, by kind (range, instant) and outcome (success, rejected, timeout, unavailable, invalid_response, too_large, setup)."),
                &["kind", "outcome"],
            )
            .map_err(internal)?,
            limit_failures: IntCounterVec::new(
                Opts::new("runway_limit_evaluation_failures_total", "Evaluations of a limit that failed, by limit and reason (reason driver: its driver query failed, and only its load headroom is unknown)."),
                &["limit", "reason"],
            )
            .map_err(internal)?,
            alerts_sent: IntCounterVec::new(
                Opts::new("runway_alerts_sent_total", "Alerts delivered, by Alertmanager."),
                &["alertmanager"],
            )
            .map_err(internal)?,
            alerts_failed: IntCounterVec::new(
                Opts::new("runway_alerts_send_failures_total", "Alerts that could not be delivered, by Alertmanager. They are carried again by the next resend."),
                &["alertmanager"],
            )
            .map_err(internal)?,
            alerts_taken_over: prometheus::IntCounter::new(
                "runway_alerts_taken_over_total",
                "Firing alerts an Alertmanager held when runway started that runway took over: they fire on from their first start, with no hold again (one linking to another source or query counts once an evaluation here raises it).",
            )
            .map_err(internal)?,
            alert_reads_failed: IntCounterVec::new(
                Opts::new("runway_alertmanager_read_failures_total", "Reads of the alerts an Alertmanager holds (at start, to take over those firing) that failed, by Alertmanager. runway asks again at each evaluation while a page sent before its start can still be active in it."),
                &["alertmanager"],
            )
            .map_err(internal)?,
            series_evaluated: IntGaugeVec::new(
                Opts::new("runway_series_evaluated", "Series forecast at the last successful evaluation of each limit (kept while the limit fails: runway_limit_last_success_timestamp_seconds says since when)."),
                &["limit"],
            )
            .map_err(internal)?,
            series_dropped: IntCounterVec::new(
                Opts::new("runway_series_dropped_total", "Series not evaluated because a limit returned more than evaluation.max_series_per_limit."),
                &["limit"],
            )
            .map_err(internal)?,
            series_without_wall: IntGaugeVec::new(
                Opts::new("runway_series_without_wall", "Series the limit's query returned at its last successful evaluation that its wall_query gave no wall: not forecast (the log and the status page name one)."),
                &["limit"],
            )
            .map_err(internal)?,
            source_points: IntCounterVec::new(
                Opts::new("runway_source_points_total", "Points the source's range queries returned, by limit: its series and its driver's, its backtests' included. Between fetches of the whole lookback (evaluation.refetch_every), an evaluation asks for the points since the last one only."),
                &["limit"],
            )
            .map_err(internal)?,
            series_forecasts: IntCounterVec::new(
                Opts::new("runway_series_forecasts_total", "Series forecasts made, by limit and outcome: computed, or reused (the series' samples, wall and driver unchanged since a forecast computed less than a step before, its times counted down)."),
                &["limit", "outcome"],
            )
            .map_err(internal)?,
            series_failed: IntCounterVec::new(
                Opts::new("runway_series_forecast_failures_total", "Series the forecaster failed on (a defect in runway, logged with the series); the limit's other series were still forecast."),
                &["limit"],
            )
            .map_err(internal)?,
            alerts_active: IntGaugeVec::new(
                Opts::new("runway_alerts", "Alerts runway holds, by state (pending, firing, resolved)."),
                &["state"],
            )
            .map_err(internal)?,
            limits_configured: IntGauge::new("runway_limits", "Limits configured.")
                .map_err(internal)?,
            roadmap_changes: IntCounterVec::new(
                Opts::new("runway_roadmap_changes_total", "Walls that moved materially between evaluations, by limit and change: sooner (time to wall halved), later (doubled), must_address (now breaks before the growth factor), deferred (now beyond it)."),
                &["limit", "change"],
            )
            .map_err(internal)?,
            growth_factor: prometheus::Gauge::new(
                "runway_roadmap_growth_factor",
                "The next order of magnitude of load (roadmap.growth_factor): breaking points with less load headroom must be addressed.",
            )
            .map_err(internal)?,
            alert_probability: prometheus::Gauge::new(
                "runway_alert_probability",
                "How likely a wall must be within the lead time for runway to alert on it (evaluation.alert_probability, 0.3 by default): runway_time_to_wall_alert_seconds is the time until it is.",
            )
            .map_err(internal)?,
            config_reload_successful: IntGauge::new(
                "runway_config_last_reload_successful",
                "Whether the last reading of the configuration file (at start, SIGHUP or POST /-/reload) succeeded; when 0, runway runs on the configuration it read before.",
            )
            .map_err(internal)?,
            config_reload_success_time: prometheus::Gauge::new(
                "runway_config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful reading of the configuration file.",
            )
            .map_err(internal)?,
            registry,
        };
        let r = &m.registry;
        r.register(Box::new(m.evaluation_duration.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.last_success.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.limit_last_success.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.source_requests.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.limit_failures.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alerts_sent.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alerts_failed.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alerts_taken_over.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alert_reads_failed.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.series_evaluated.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.series_dropped.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.series_without_wall.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.source_points.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.series_forecasts.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.series_failed.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alerts_active.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.limits_configured.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.roadmap_changes.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.growth_factor.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.alert_probability.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.config_reload_successful.clone()))
            .map_err(internal)?;
        r.register(Box::new(m.config_reload_success_time.clone()))
            .map_err(internal)?;
        r.register(Box::new(ForecastCollector::new(snapshot)?))
            .map_err(internal)?;
        for state in [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved,
        ] {
            m.alerts_active.with_label_values(&[state.as_str()]).set(0);
        }
        Ok(m)
    }

    /// Removes the series of a limit that a reload took out of the
    /// configuration from every per-limit family, as Prometheus drops a
    /// removed rule group's: a dashboard must not keep showing its last
    /// values. (Its forecasts go with the snapshot.)
    pub fn forget_limit(&self, limit: &str) {
        forget(&self.limit_last_success, limit);
        forget(&self.series_evaluated, limit);
        forget(&self.series_dropped, limit);
        forget(&self.series_without_wall, limit);
        forget(&self.series_failed, limit);
        forget(&self.series_forecasts, limit);
        forget(&self.source_points, limit);
        forget(&self.roadmap_changes, limit);
        forget(&self.limit_failures, limit);
    }

    /// Removes the delivery counters of an Alertmanager (as its target is
    /// named) that a reload took out of the configuration.
    pub fn forget_alertmanager(&self, target: &str) {
        let _ = self.alerts_sent.remove_label_values(&[target]);
        let _ = self.alerts_failed.remove_label_values(&[target]);
        let _ = self.alert_reads_failed.remove_label_values(&[target]);
    }

    /// The text exposition format of everything.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        // Encoding into a Vec cannot fail for well-formed families; should it,
        // the scrape gets what was written so far rather than a crash.
        let _ = TextEncoder::new().encode(&families, &mut buf);
        spell_infinities(&String::from_utf8_lossy(&buf))
    }
}

/// The encoder writes infinite sample values as Rust prints them (`inf`);
/// the exposition format spells them `+Inf` and `-Inf`. A sample value is
/// always the last field of its line, so only line endings are rewritten.
fn spell_infinities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(head) = line.strip_suffix(" inf") {
            out.push_str(head);
            out.push_str(" +Inf");
        } else if let Some(head) = line.strip_suffix(" -inf") {
            out.push_str(head);
            out.push_str(" -Inf");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Exports the latest forecasts. Their label sets differ from limit to limit
/// (each series keeps its own labels), which a fixed-label `GaugeVec` cannot
/// express; a collector builds the families at scrape time instead.
struct ForecastCollector {
    snapshot: Arc<RwLock<Snapshot>>,
    descs: Vec<Desc>,
}

impl ForecastCollector {
    fn new(snapshot: Arc<RwLock<Snapshot>>) -> Result<Self, String> {
        let mut descs = Vec::new();
        for (name, help) in FORECAST_GAUGES
            .iter()
            .chain(&TRUST_GAUGES)
            .chain(&ROADMAP_GAUGES)
            .chain([&INFO])
        {
            descs.push(
                Desc::new(name.to_string(), help_text(help), vec![], HashMap::new())
                    .map_err(internal)?,
            );
        }
        Ok(Self { snapshot, descs })
    }
}

/// The backtest gauges: (name, help).
const TRUST_GAUGES: [(&str, &str); 5] = [
    ("runway_backtest_eta_error", "Median |ln(predicted / actual)| of the time to wall when the series' own history was replayed (0 is exact, 0.405 off by a factor 1.5)."),
    ("runway_backtest_late_ratio", "Share of replayed forecasts whose likely time was more than 1.1 times the time the wall really took, or that gave none (above 0.5, expect the wall sooner than shown); those within a factor 1.1 of it were on time."),
    ("runway_backtest_alert_f1", "F1 of the alert decision when the series' own history was replayed."),
    ("runway_backtest_band_coverage_ratio", "Share of replayed forecasts whose 90% band held the actual time to wall."),
    ("runway_backtest_false_alarm_ratio", "Share of replayed instants, with the wall further than the lead time, at which the forecast would have alerted."),
];

/// The roadmap gauges: (name, help).
const ROADMAP_GAUGES: [(&str, &str); 2] = [
    ("runway_load_headroom_ratio", "The multiple of today's load at which the series reaches its wall (from the limit's driver, or wall / today's level when it has none); absent when it cannot be told."),
    ("runway_breaks_before_growth", "1 when the breaking point must be addressed before load grows by runway_roadmap_growth_factor (breached, inside a lead time, less load headroom than the factor, or a trend that likely reaches the wall within {horizon}, the limit's longest); 0 when deferred."),
];

const INFO: (&str, &str) = (
    "runway_forecast_info",
    "Always 1: the status (approaching, breached, receding, insufficient_data) and model of each forecast.",
);

/// The labels runway sets beside a series' own: `limit` on every series,
/// `model` and `status` on `runway_forecast_info`.
const OWN_LABELS: [&str; 3] = ["limit", "model", "status"];

/// A series label's name as exported: one of runway's own is kept as
/// `exported_<name>`, as Prometheus does on a conflict (on every family
/// alike, so that they still join); a name the exposition format cannot
/// carry (another engine than Prometheus may return one) has its other
/// characters replaced by `_`. Either clash would make the scrape fail,
/// and with it every metric runway exports.
fn exported_name(name: &str) -> String {
    let mut valid: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if valid.is_empty() || valid.starts_with(|c: char| c.is_ascii_digit()) {
        valid.insert(0, '_');
    }
    if OWN_LABELS.contains(&valid.as_str()) {
        format!("exported_{valid}")
    } else {
        valid
    }
}

/// A series' exported labels: its own (see [`exported_name`]) and `limit`.
/// A name that comes out as one already taken (a series with both `limit`
/// and `exported_limit`, or `a-b` and `a_b` from another engine) is
/// prefixed with `exported_` again until it is free, as Prometheus
/// resolves a conflict: each label is kept, and no two series of a family
/// come out the same.
fn series_labels(e: &crate::evaluate::Evaluation) -> Vec<LabelPair> {
    let mut taken: std::collections::BTreeSet<String> =
        OWN_LABELS.iter().map(|s| s.to_string()).collect();
    let mut labels = vec![pair("limit", &e.limit)];
    for (k, v) in &e.labels {
        let mut name = exported_name(k);
        while taken.contains(&name) {
            name = format!("exported_{name}");
        }
        labels.push(pair(&name, v));
        taken.insert(name);
    }
    labels.sort_by(|a, b| a.name().cmp(b.name()));
    labels
}

fn pair(name: &str, value: &str) -> LabelPair {
    let mut p = LabelPair::default();
    p.set_name(name.to_string());
    p.set_value(value.to_string());
    p
}

/// A HELP text as exported: `{horizon}` is the roadmap's horizon in words
/// ("10 lead times", from `roadmap::HORIZON_LEADS`), so that the text says
/// what the roadmap's headings and page say, and what it ranks by.
fn help_text(help: &str) -> String {
    if help.contains("{horizon}") {
        help.replace("{horizon}", &crate::roadmap::horizon_words())
    } else {
        help.to_string()
    }
}

fn family(name: &str, help: &str, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help_text(help));
    f.set_field_type(MetricType::GAUGE);
    f.set_metric(metrics);
    f
}

fn gauge(labels: &[LabelPair], value: f64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::default();
    m.set_label(labels.to_vec());
    m.set_gauge(g);
    m
}

impl Collector for ForecastCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok(snap) = self.snapshot.read() else {
            return Vec::new();
        };
        let mut values: Vec<Vec<Metric>> = vec![Vec::new(); FORECAST_GAUGES.len()];
        let mut trust: Vec<Vec<Metric>> = vec![Vec::new(); TRUST_GAUGES.len()];
        let mut info = Vec::new();
        let mut roadmap: Vec<Vec<Metric>> = vec![Vec::new(); ROADMAP_GAUGES.len()];
        for point in snap.roadmap() {
            let e = point.evaluation;
            let labels = series_labels(e);
            if let Some(r) = e.headroom.ratio {
                roadmap[0].push(gauge(&labels, r));
            }
            if point.stage != crate::roadmap::Stage::Unknown {
                let must = if point.breaks_before_growth { 1.0 } else { 0.0 };
                roadmap[1].push(gauge(&labels, must));
            }
        }
        for status in snap.limits.values() {
            for e in &status.evaluations {
                let labels = series_labels(e);
                let f = &e.forecast;
                let eta = match f.status {
                    Status::InsufficientData => None,
                    _ => Some(f.eta.map_or(
                        (f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY),
                        |x| (x.likely, x.lower, x.upper, x.alert),
                    )),
                };
                if let Some((likely, lower, upper, alert)) = eta {
                    values[0].push(gauge(&labels, likely));
                    values[1].push(gauge(&labels, lower));
                    values[2].push(gauge(&labels, upper));
                    values[6].push(gauge(&labels, alert));
                    let at = f.wall_at(e.at).unwrap_or(f64::INFINITY);
                    values[7].push(gauge(&labels, at));
                    let at = f.wall_alert_at(e.at).unwrap_or(f64::INFINITY);
                    values[8].push(gauge(&labels, at));
                }
                values[3].push(gauge(&labels, e.wall));
                if let Some(v) = f.current_value {
                    values[4].push(gauge(&labels, v));
                }
                if f.rate.is_finite() {
                    values[5].push(gauge(&labels, f.rate));
                }
                if let Some(t) = snap.trust_of(&e.limit, &e.labels) {
                    let s = &t.scores;
                    let scores = [
                        s.eta_error_median,
                        s.late_ratio,
                        s.f1,
                        s.band_coverage,
                        s.false_alarm_rate,
                    ];
                    for (i, v) in scores.iter().enumerate() {
                        if let Some(v) = v {
                            trust[i].push(gauge(&labels, *v));
                        }
                    }
                }
                let mut with = labels.clone();
                with.push(pair("model", f.model.as_str()));
                with.push(pair("status", f.status.as_str()));
                with.sort_by(|a, b| a.name().cmp(b.name()));
                info.push(gauge(&with, 1.0));
            }
        }
        let mut out: Vec<MetricFamily> = FORECAST_GAUGES
            .iter()
            .zip(values)
            .map(|((name, help), m)| family(name, help, m))
            .collect();
        out.extend(
            TRUST_GAUGES
                .iter()
                .zip(trust)
                .map(|((name, help), m)| family(name, help, m)),
        );
        out.extend(
            ROADMAP_GAUGES
                .iter()
                .zip(roadmap)
                .map(|((name, help), m)| family(name, help, m)),
        );
        out.push(family(INFO.0, INFO.1, info));
        out
    }
}
