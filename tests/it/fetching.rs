//! What runway asks a real Prometheus (and VictoriaMetrics) for: between
//! fetches of the whole lookback, each evaluation asks for the newest points
//! of a limit's series and keeps the rest from the last, and forecasts
//! exactly what fetching the whole lookback would have; a whole lookback of
//! more points a series than `source.points_per_request` is asked in
//! pieces, and forecast as when asked at once.

use std::sync::{Arc, RwLock};

use runway::config::{self, Format};
use runway::engine::Engine;
use runway::metrics::Metrics;
use runway::sink::log::LogSink;
use runway::snapshot::Snapshot;
use runway::source::prometheus::PrometheusSource;

use crate::support::{
    noisy, now_secs, OpenMetrics, Prometheus, PrometheusOptions, VictoriaMetrics,
};

const HOUR: f64 = 3_600.0;
const STEP: f64 = 300.0;

/// A daemon's engine on the source at `url`, its whole lookback (a day at
/// five minutes) fetched every `refetch_every`, in one request.
fn engine(url: &str, refetch_every: &str) -> (Engine<PrometheusSource, LogSink>, Arc<Metrics>) {
    engine_asking(url, refetch_every, 0)
}

/// [`engine`], asking for at most `points_per_request` points a series in
/// one request (0: any).
fn engine_asking(
    url: &str,
    refetch_every: &str,
    points_per_request: usize,
) -> (Engine<PrometheusSource, LogSink>, Arc<Metrics>) {
    let text = format!(
        r#"[source]
url = "{url}"
timeout = "10s"
points_per_request = {points_per_request}
[evaluation]
lookback = "1d"
step = "5m"
refetch_every = "{refetch_every}"
backtest_every = "0s"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = "2d"
"#,
    );
    let cfg = config::from_str(&text, Format::Toml, "fetching test").expect("config");
    let snapshot = Arc::new(RwLock::new(Snapshot::default()));
    let metrics = Arc::new(Metrics::new(snapshot.clone()).expect("metrics"));
    let source = PrometheusSource::new(&cfg.source).expect("source");
    let engine = Engine::new(&cfg, source, LogSink, metrics.clone(), snapshot);
    (engine, metrics)
}

/// What a dashboard reads of a limit's forecasts: every exported time to
/// wall, band edge, model and status.
fn forecasts(metrics: &Metrics) -> Vec<String> {
    metrics
        .render()
        .lines()
        .filter(|l| {
            [
                "runway_time_to_wall",
                "runway_forecast_info",
                "runway_growth_rate",
            ]
            .iter()
            .any(|m| l.starts_with(m))
        })
        .map(str::to_string)
        .collect()
}

/// The range requests that succeeded.
fn range_requests(metrics: &Metrics) -> f64 {
    metrics
        .render()
        .lines()
        .find_map(|l| {
            l.strip_prefix("runway_source_requests_total{kind=\"range\",outcome=\"success\"} ")
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn points(metrics: &Metrics) -> f64 {
    metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("runway_source_points_total{limit=\"disk_full\"} "))
        .and_then(|v| v.parse().ok())
        .expect("runway_source_points_total for the limit")
}

/// Two days of a filling disk every minute, ending on the hour before now
/// (`end`); of another that stopped reporting five hours before the end,
/// and of one that started two hours before it. `seed` sets the noise.
fn disks(end: f64, seed: u64) -> OpenMetrics {
    let mut history = OpenMetrics::new();
    for (instance, free_now, from, to) in [
        ("steady", 3e9, f64::MIN, end),
        ("stopped", 5e9, f64::MIN, end - 5.0 * HOUR),
        ("new", 4e9, end - 2.0 * HOUR, end),
    ] {
        let samples: Vec<(f64, f64)> = noisy(end, 2.0 * 86_400.0, 60.0, 1e8, seed, move |dt| {
            free_now - 2e4 * dt
        })
        .into_iter()
        .filter(|(t, _)| *t >= from && *t <= to)
        .map(|(t, v)| (t, v.round()))
        .collect();
        history.gauge_history(
            "node_filesystem_avail_bytes",
            &[("instance", instance)],
            &samples,
        );
    }
    history
}

/// Evaluates the disks of [`disks`] on the source at `url` every five
/// minutes for the six hours before `end`, keeping their history, and
/// checks that the last evaluation forecast what one fetching the whole
/// lookback does, asking for a few points a series. Returns the engine
/// and its metrics.
async fn extended_as_whole(
    url: &str,
    end: f64,
) -> (Engine<PrometheusSource, LogSink>, Arc<Metrics>) {
    let (mut kept, kept_metrics) = engine(url, "1d");
    let first = end - 6.0 * HOUR;
    let mut before = 0.0;
    let mut last = 0.0;
    for i in 0..=72 {
        let now = first + f64::from(i) * STEP + 7.0;
        before = points(&kept_metrics);
        let report = kept.tick(now, false).await;
        assert!(report.failed_limits.is_empty(), "{report:?}");
        last = points(&kept_metrics);
        if i == 0 {
            // The whole day of two series (the new one not yet there).
            assert!(last >= 2.0 * 288.0, "{last} points at the first evaluation");
        }
    }
    let newest = last - before;
    let (mut whole, whole_metrics) = engine(url, "0s");
    let report = whole.tick(end + 7.0, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");

    // The same forecasts, for the same series: the stopped one gone, the
    // new one forecast from the points it has.
    let seen = forecasts(&kept_metrics);
    assert_eq!(seen, forecasts(&whole_metrics));
    assert!(
        seen.iter().any(|l| l.contains("instance=\"new\"")),
        "{seen:#?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("instance=\"stopped\"")),
        "{seen:#?}"
    );
    // The last evaluation asked for a few points a series (the new step's,
    // and those within the staleness window before it), where a whole
    // fetch asks for the day's 289 of the steady disk alone.
    let asked_whole = points(&whole_metrics);
    assert!(asked_whole >= 289.0, "{asked_whole}");
    assert!(
        newest <= 2.0 * 6.0,
        "the last evaluation asked for {newest} points, a whole fetch {asked_whole}"
    );
    eprintln!("the last evaluation asked for {newest} points; a whole fetch, {asked_whole}");
    (kept, kept_metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_ask_for_the_newest_points_and_forecast_as_a_whole_fetch_does() {
    let end = (now_secs() / HOUR).floor() * HOUR - HOUR;
    let mut prometheus = Prometheus::start(&disks(end, 1)).await;
    let (mut kept, kept_metrics) = extended_as_whole(&prometheus.url(), end).await;

    // The database is replaced under runway (restored from a backup, or
    // another replica now answers): the disks' past is not what was kept.
    // The next evaluation sees it, and fetches the whole lookback.
    prometheus.restart_with(&disks(end, 2)).await;
    let then = end + STEP + 7.0;
    let before = points(&kept_metrics);
    let report = kept.tick(then, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert!(
        points(&kept_metrics) - before >= 289.0,
        "the whole lookback fetched again"
    );
    let (mut fresh, fresh_metrics) = engine(&prometheus.url(), "0s");
    fresh.tick(then, false).await;
    assert_eq!(forecasts(&kept_metrics), forecasts(&fresh_metrics));
}

/// A Prometheus-compatible engine answers a part of a range as it answers
/// the whole: VictoriaMetrics too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoriametrics_is_asked_for_the_newest_points_too() {
    let end = (now_secs() / HOUR).floor() * HOUR - HOUR;
    let victoria = VictoriaMetrics::start(&disks(end, 1)).await;
    extended_as_whole(&victoria.url(), end).await;
}

/// A Prometheus that refuses a query of more than 400 samples
/// (`--query.max-samples`, 50 million by default: about 24,800 series of a
/// week at five minutes) refuses a day of the disks asked at once, and
/// answers it asked in pieces of 100 points a series; the forecasts are
/// those of the day asked at once of a Prometheus without the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookback_too_large_for_one_query_is_asked_in_pieces() {
    let end = (now_secs() / HOUR).floor() * HOUR - HOUR;
    let bounded = Prometheus::start_with(PrometheusOptions {
        history: Some(disks(end, 1)),
        max_samples: Some(400),
        ..PrometheusOptions::default()
    })
    .await;
    let now = end + 7.0;

    let (mut at_once, at_once_metrics) = engine(&bounded.url(), "1h");
    let report = at_once.tick(now, false).await;
    assert_eq!(report.failed_limits, ["disk_full"]);
    let refused = at_once_metrics.render();
    assert!(
        refused.contains("runway_source_requests_total{kind=\"range\",outcome=\"rejected\"} 1"),
        "{refused}"
    );

    let (mut in_pieces, metrics) = engine_asking(&bounded.url(), "1h", 100);
    let report = in_pieces.tick(now, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    // The day's 289 points a series, in three requests of 96 or 97.
    assert_eq!(range_requests(&metrics), 3.0);

    let unbounded = Prometheus::start(&disks(end, 1)).await;
    let (mut whole, whole_metrics) = engine(&unbounded.url(), "1h");
    let report = whole.tick(now, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert_eq!(range_requests(&whole_metrics), 1.0);
    let seen = forecasts(&metrics);
    assert!(
        seen.iter().any(|l| l.contains("instance=\"steady\"")),
        "{seen:#?}"
    );
    assert_eq!(seen, forecasts(&whole_metrics));
    assert_eq!(points(&metrics), points(&whole_metrics));
}

/// VictoriaMetrics answers a range's pieces as it answers the whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoriametrics_answers_a_lookbacks_pieces_as_it_answers_the_whole() {
    let end = (now_secs() / HOUR).floor() * HOUR - HOUR;
    let victoria = VictoriaMetrics::start(&disks(end, 1)).await;
    let now = end + 7.0;
    let (mut in_pieces, metrics) = engine_asking(&victoria.url(), "1h", 100);
    let report = in_pieces.tick(now, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert_eq!(range_requests(&metrics), 3.0);
    let (mut whole, whole_metrics) = engine(&victoria.url(), "1h");
    let report = whole.tick(now, false).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert_eq!(forecasts(&metrics), forecasts(&whole_metrics));
    assert_eq!(points(&metrics), points(&whole_metrics));
}
