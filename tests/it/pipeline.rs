//! The whole pipeline (source -> engine -> evaluate -> sink -> metrics) with a
//! scripted source, a recording sink and a stepped clock: weeks of alert life
//! in milliseconds, with every failure a dependency can produce.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use runway::config::{self, Format};
use runway::engine::Engine;
use runway::evaluate::{Active, Alert, AlertState};
use runway::forecast::ModelChoice;
use runway::metrics::Metrics;
use runway::model::{Labels, Sample, Series};
use runway::sink::{AlertSink, Delivery, SinkError};
use runway::snapshot::Snapshot;
use runway::source::{SeriesSource, SourceError};

const T0: f64 = 1_800_000_000.0;
const DAY: f64 = 86_400.0;
const HOUR: f64 = 3_600.0;

type Curve = Arc<dyn Fn(f64) -> f64 + Send + Sync>;
/// Series per query.
type Curves = BTreeMap<String, Vec<(Labels, Curve)>>;

/// A source whose series are curves of time, changeable mid-test, with a
/// queue of scripted failures consumed one per query.
#[derive(Clone, Default)]
struct ScriptedSource {
    curves: Arc<Mutex<Curves>>,
    failures: Arc<Mutex<VecDeque<SourceError>>>,
    /// Failures for one query only, consumed when it is asked.
    failures_for: Arc<Mutex<BTreeMap<String, SourceError>>>,
    /// Failures of the nth call (from 1), whatever it asks.
    failures_at: Arc<Mutex<BTreeMap<usize, SourceError>>>,
    calls: Arc<Mutex<usize>>,
    /// Points a series of each range query answered, in order.
    points: Arc<Mutex<Vec<usize>>>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl ScriptedSource {
    fn set(&self, query: &str, series: Vec<(Labels, Curve)>) {
        self.curves
            .lock()
            .unwrap()
            .insert(query.to_string(), series);
    }
    fn fail_next(&self, e: SourceError) {
        self.failures.lock().unwrap().push_back(e);
    }
    fn fail_next_for(&self, query: &str, e: SourceError) {
        self.failures_for
            .lock()
            .unwrap()
            .insert(query.to_string(), e);
    }
    fn fail_call(&self, n: usize, e: SourceError) {
        self.failures_at.lock().unwrap().insert(n, e);
    }
    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
    fn take_failure(&self, query: &str) -> Option<SourceError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        if let Some(e) = self.failures_at.lock().unwrap().remove(&call) {
            return Some(e);
        }
        if let Some(e) = self.failures_for.lock().unwrap().remove(query) {
            return Some(e);
        }
        self.failures.lock().unwrap().pop_front()
    }
}

impl SeriesSource for ScriptedSource {
    async fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, SourceError> {
        if let Some(e) = self.take_failure(query) {
            return Err(e);
        }
        let curves = self.curves.lock().unwrap();
        let Some(series) = curves.get(query) else {
            return Err(SourceError::Rejected {
                query: query.into(),
                message: "unknown".into(),
            });
        };
        self.points
            .lock()
            .unwrap()
            .push(((end - start) / step) as usize + 1);
        Ok(series
            .iter()
            .map(|(l, f)| {
                let n = ((end - start) / step) as usize;
                let samples = (0..=n)
                    .map(|i| {
                        let t = start + step * i as f64;
                        Sample::new(t, f(t))
                    })
                    .filter(|s| !s.v.is_nan())
                    .collect();
                Series::new(l.clone(), samples)
            })
            .collect())
    }

    async fn query_instant(&self, query: &str, at: f64) -> Result<Vec<(Labels, f64)>, SourceError> {
        if let Some(e) = self.take_failure(query) {
            return Err(e);
        }
        let curves = self.curves.lock().unwrap();
        Ok(curves
            .get(query)
            .map(|s| s.iter().map(|(l, f)| (l.clone(), f(at))).collect())
            .unwrap_or_default())
    }
}

/// What the engine logs on this thread while installed, as a user reads it.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records every alert it is given; can be told to fail.
#[derive(Clone, Default)]
struct RecordingSink {
    sent: Arc<Mutex<Vec<(f64, Alert)>>>,
    failing: Arc<Mutex<bool>>,
    now: Arc<Mutex<f64>>,
    /// What it answers when asked which alerts it holds, as Alertmanager
    /// would: firing ones, with their first start.
    held: Arc<Mutex<Vec<Active>>>,
    /// How many times it was asked.
    asked: Arc<Mutex<usize>>,
    /// The HTTP status it refuses reads with, if it does.
    refuses_reads: Arc<Mutex<Option<u16>>>,
}

impl RecordingSink {
    fn take(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.sent.lock().unwrap())
            .into_iter()
            .map(|(_, a)| a)
            .collect()
    }
}

impl AlertSink for RecordingSink {
    fn targets(&self) -> Vec<String> {
        vec!["am".into()]
    }

    async fn active(&self) -> Vec<(String, Result<Vec<Active>, SinkError>)> {
        *self.asked.lock().unwrap() += 1;
        let result = if let Some(status) = *self.refuses_reads.lock().unwrap() {
            Err(SinkError::Refused {
                method: "GET",
                url: "am".into(),
                status,
                body: "forbidden".into(),
            })
        } else if *self.failing.lock().unwrap() {
            Err(SinkError::Transport {
                method: "GET",
                url: "am".into(),
                message: "connection refused".into(),
            })
        } else {
            Ok(self.held.lock().unwrap().clone())
        };
        vec![("am".into(), result)]
    }

    async fn send(&self, alerts: &[Alert]) -> Vec<Delivery> {
        if *self.failing.lock().unwrap() {
            return vec![Delivery {
                target: "am".into(),
                sent: 0,
                failed: alerts.len(),
                error: Some(SinkError::Refused {
                    method: "POST",
                    url: "am".into(),
                    status: 500,
                    body: "down".into(),
                }),
            }];
        }
        let now = *self.now.lock().unwrap();
        self.sent
            .lock()
            .unwrap()
            .extend(alerts.iter().map(|a| (now, a.clone())));
        vec![Delivery {
            target: "am".into(),
            sent: alerts.len(),
            failed: 0,
            error: None,
        }]
    }
}

struct Rig {
    engine: Engine<ScriptedSource, RecordingSink>,
    source: ScriptedSource,
    sink: RecordingSink,
    metrics: Arc<Metrics>,
    snapshot: Arc<RwLock<Snapshot>>,
}

fn rig(toml: &str) -> Rig {
    let cfg = config::from_str(toml, Format::Toml, "pipeline test").unwrap();
    let snapshot = Arc::new(RwLock::new(Snapshot::default()));
    let metrics = Arc::new(Metrics::new(snapshot.clone()).unwrap());
    let source = ScriptedSource::default();
    let sink = RecordingSink::default();
    let mut engine = Engine::new(
        &cfg,
        source.clone(),
        sink.clone(),
        metrics.clone(),
        snapshot.clone(),
    );
    engine.retry_backoff = Duration::ZERO;
    // Backtests make queries of their own; the tests that want them turn
    // them on.
    engine.backtest_every = 0.0;
    // A test that changes a curve changes its past too, which no real
    // source does: the rig fetches the whole lookback at every evaluation
    // (as `refetch_every = "0s"` does). The tests that keep a limit's
    // history turn it on.
    engine.refetch_every = 0.0;
    // The configurations ask for a range in one request
    // (`points_per_request = 0`), so that the tests count one request per
    // query; `fetching.rs` asks a real Prometheus for a range in pieces.
    Rig {
        engine,
        source,
        sink,
        metrics,
        snapshot,
    }
}

impl Rig {
    /// Ticks at each of `minutes` after T0, each sending firing alerts only.
    async fn still_firing(&mut self, minutes: std::ops::RangeInclusive<u32>) {
        for i in minutes {
            self.tick(T0 + 60.0 * f64::from(i)).await;
            let sent = self.sink.take();
            assert!(
                sent.iter().all(|a| a.state == AlertState::Firing),
                "minute {i}: {sent:?}"
            );
        }
    }

    /// Reloads the engine with the TOML `text` at `now`, on the rig's own
    /// source and sink.
    fn reload(&mut self, text: &str, now: f64) -> runway::engine::Reloaded {
        let loaded = runway::engine::Loaded {
            config: config::from_str(text, Format::Toml, "runway.toml").unwrap(),
            source: self.source.clone(),
            sink: self.sink.clone(),
            notes: Vec::new(),
        };
        self.engine.reload(loaded, now)
    }

    async fn tick(&mut self, now: f64) -> runway::engine::TickReport {
        *self.sink.now.lock().unwrap() = now;
        self.engine.tick(now, true).await
    }
    fn metric(&self, line_prefix: &str) -> Option<f64> {
        self.metrics.render().lines().find_map(|l| {
            l.strip_prefix(line_prefix)
                .and_then(|rest| rest.trim().parse().ok())
        })
    }
}

const DISK: &str = r#"
[source]
url = "http://prometheus.invalid:9090"
points_per_request = 0
[evaluation]
interval = "1m"
lookback = "2d"
hold = "10m"
[alerting]
resend_delay = "1m"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = { critical = "1d", warning = "7d" }
labels = { team = "storage" }
"#;

/// Free bytes falling so that the disk is empty at `empty_at`.
fn filling(empty_at: f64) -> Curve {
    Arc::new(move |t| (1e6 * (empty_at - t)).max(0.0))
}

fn severities(alerts: &[Alert]) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = alerts
        .iter()
        .map(|a| {
            (
                a.labels["severity"].clone(),
                a.state == AlertState::Resolved,
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_filling_disk_warns_then_goes_critical_then_resolves_after_cleanup() {
    let mut r = rig(DISK);
    let data = labels(&[("instance", "node-3"), ("mountpoint", "/data")]);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), filling(T0 + 3.0 * DAY))],
    );

    // Inside the warning window but the hold has not passed: nothing sent.
    let report = r.tick(T0).await;
    assert_eq!(report.series, 1);
    assert!(r.sink.take().is_empty());
    assert_eq!(r.metric("runway_alerts{state=\"pending\"}"), Some(1.0));

    // Ten minutes later the warning fires, with endsAt four intervals and
    // the ten-minute hold ahead.
    r.tick(T0 + 600.0).await;
    let sent = r.sink.take();
    assert_eq!(severities(&sent), vec![("warning".into(), false)]);
    let a = &sent[0];
    assert_eq!(a.ends_at, T0 + 600.0 + 240.0 + 600.0);
    assert_eq!(a.starts_at, T0);
    assert_eq!(a.labels["team"], "storage");
    assert_eq!(a.labels["instance"], "node-3");
    assert!(
        a.annotations["summary"].contains("reaches 0 in about 3d"),
        "{:?}",
        a.annotations
    );

    // Two days on, a day from empty: critical joins after its own hold.
    let t = T0 + 2.0 * DAY + HOUR;
    r.tick(t).await;
    r.tick(t + 600.0).await;
    let sent = r.sink.take();
    assert!(severities(&sent).contains(&("critical".into(), false)));

    // A cleanup: the disk is half empty and stays so. Both alerts resolve
    // within hours, once the forecast starts from the cleaned level: not
    // after the flat part has come to dominate the 2-day lookback, as a
    // straight line through all of it would need.
    let cleaned_at = t + 700.0;
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(
            data,
            Arc::new(move |x| {
                if x < cleaned_at {
                    (1e6 * (T0 + 3.0 * DAY - x)).max(0.0)
                } else {
                    5e11
                }
            }),
        )],
    );
    // Each severity's first resolution (resolved alerts are re-sent for 15
    // minutes after it).
    let mut resolved: Vec<Alert> = Vec::new();
    for i in 1..=2 * 24 * 6 {
        r.tick(cleaned_at + 600.0 * i as f64).await;
        for a in r.sink.take() {
            let new = !resolved
                .iter()
                .any(|b| b.labels["severity"] == a.labels["severity"]);
            if a.state == AlertState::Resolved && new {
                resolved.push(a);
            }
        }
        if resolved.len() == 2 {
            break;
        }
    }
    assert_eq!(
        severities(&resolved),
        vec![("critical".into(), true), ("warning".into(), true)]
    );
    let last = resolved.iter().map(|a| a.ends_at).fold(0.0, f64::max);
    assert!(
        last - cleaned_at <= 3.0 * HOUR,
        "resolved {}s after the cleanup",
        last - cleaned_at
    );
}

/// A runway whose warning of a disk three days from empty has fired (ten
/// minutes after T0, at its hold's end), and that disk's labels.
async fn a_disk_paging() -> (Rig, Labels) {
    let mut r = rig(DISK);
    let data = labels(&[("instance", "node-3"), ("mountpoint", "/data")]);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), filling(T0 + 3.0 * DAY))],
    );
    r.tick(T0).await;
    r.tick(T0 + 600.0).await;
    (r, data)
}

/// The firing warning of a disk three days from empty, as the runway that
/// sent it left it in Alertmanager (first firing ten minutes after T0).
async fn a_page_left_in_alertmanager() -> (Labels, Alert) {
    let (before, data) = a_disk_paging().await;
    let sent = before.sink.take();
    assert_eq!(severities(&sent), vec![("warning".into(), false)]);
    (data, sent[0].clone())
}

/// A runway started again where one stopped, its disk now emptying at
/// `empty_at`, its Alertmanager holding `page`.
fn restarted(data: &Labels, empty_at: f64, page: &Alert) -> Rig {
    let r = rig(DISK);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), filling(empty_at))],
    );
    *r.sink.held.lock().unwrap() = vec![held(page)];
    r
}

/// `page` as Alertmanager holds it.
fn held(page: &Alert) -> Active {
    Active {
        labels: page.labels.clone(),
        annotations: page.annotations.clone(),
        starts_at: page.starts_at,
        ends_at: page.ends_at,
        generator_url: page.generator_url.clone(),
    }
}

/// `page` as another runway, on another Prometheus, would have sent it
/// about the series `instance`.
fn anothers(page: &Alert, instance: &str) -> Active {
    let mut theirs = held(page);
    theirs.labels.insert("instance".into(), instance.into());
    theirs.generator_url = page
        .generator_url
        .replace("prometheus.invalid", "prometheus-b.invalid");
    assert_ne!(theirs.generator_url, page.generator_url);
    theirs
}

/// A restart is not a new page, nor the end of one. A restarted runway
/// reads the alerts its Alertmanager holds: a page it had sent fires on at
/// once from its first start, rather than waiting out the hold again (and
/// expiring in Alertmanager meanwhile); a wall that moved just beyond the
/// lead keeps it firing, as the resolve margin would have; a wall gone far
/// off resolves it with a reason, where it used to expire without one.
#[tokio::test]
async fn a_restarted_runway_carries_on_the_pages_its_alertmanager_holds() {
    let (data, page) = a_page_left_in_alertmanager().await;
    let t = T0 + 900.0;

    // The wall where it was: firing at once, since T0, as one alert.
    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    r.tick(t).await;
    let sent = r.sink.take();
    assert_eq!(severities(&sent), vec![("warning".into(), false)]);
    assert_eq!(sent[0].labels, page.labels);
    assert_eq!(sent[0].starts_at, T0, "its first start is kept");
    assert_eq!(r.metric("runway_alerts{state=\"firing\"}"), Some(1.0));
    assert_eq!(r.metric("runway_alerts_taken_over_total"), Some(1.0));
    // Read once: a later evaluation does not ask again.
    r.tick(t + 60.0).await;
    assert_eq!(*r.sink.asked.lock().unwrap(), 1);

    // The wall moved to 8 days off, past the 7-day lead but within its
    // resolve margin (x1.25): still firing, not resolved and paged again.
    let mut r = restarted(&data, t + 8.0 * DAY, &page);
    for i in 0..30 {
        r.tick(t + 60.0 * f64::from(i)).await;
    }
    let sent = r.sink.take();
    assert!(!sent.is_empty());
    assert!(
        sent.iter()
            .all(|a| a.state == AlertState::Firing && a.starts_at == T0),
        "{sent:?}"
    );

    // The wall 60 days off: resolved once its clearing has lasted the
    // hold (keep_firing_for), saying why.
    let mut r = restarted(&data, t + 60.0 * DAY, &page);
    let mut resolved = None;
    for i in 0..=10 {
        r.tick(t + 60.0 * f64::from(i)).await;
        resolved = r
            .sink
            .take()
            .into_iter()
            .find(|a| a.state == AlertState::Resolved)
            .or(resolved);
    }
    let resolved = resolved.expect("the page resolves");
    assert_eq!(resolved.labels, page.labels);
    assert_eq!(resolved.ends_at, t + 600.0);
    assert!(
        resolved.annotations["resolution"].contains("reaches 0 in about 60d"),
        "{:?}",
        resolved.annotations
    );
}

/// Alertmanager down when runway starts: the read is counted and logged,
/// alerts start pending as before, and the next evaluation that reaches
/// Alertmanager takes the page over, from its first start. A page of the
/// same rule on a series this runway does not see (another runway's) is
/// neither sent nor resolved, and another tool's alert is left alone.
#[tokio::test]
async fn an_alertmanager_that_cannot_be_read_at_start_is_read_again() {
    let (data, page) = a_page_left_in_alertmanager().await;
    let t = T0 + 900.0;
    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    let mut tools = held(&page);
    tools
        .labels
        .insert("alertname".into(), "DiskWillFillIn4Hours".into());
    r.sink
        .held
        .lock()
        .unwrap()
        .extend([anothers(&page, "node-9"), tools]);
    let log = CapturedLog::default();
    let _guard = log.install();

    *r.sink.failing.lock().unwrap() = true;
    r.tick(t).await;
    assert_eq!(
        r.metric("runway_alertmanager_read_failures_total{alertmanager=\"am\"}"),
        Some(1.0)
    );
    assert_eq!(r.metric("runway_alerts{state=\"pending\"}"), Some(1.0));
    assert!(
        log.text()
            .contains("could not read the alerts this Alertmanager holds"),
        "{}",
        log.text()
    );

    *r.sink.failing.lock().unwrap() = false;
    r.tick(t + 60.0).await;
    let sent = r.sink.take();
    assert_eq!(
        sent.len(),
        1,
        "only the page of the series this runway sees: {sent:?}"
    );
    assert_eq!(sent[0].labels, page.labels);
    assert_eq!((sent[0].state, sent[0].starts_at), (AlertState::Firing, T0));
    assert_eq!(*r.sink.asked.lock().unwrap(), 2);
    assert_eq!(r.metric("runway_alerts_taken_over_total"), Some(1.0));
    // Every Alertmanager answered: not asked again.
    r.tick(t + 120.0).await;
    assert_eq!(*r.sink.asked.lock().unwrap(), 2);

    // A proxy that lets runway post but not read: asked once, not at
    // every evaluation; the page starts pending as a new one.
    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    *r.sink.refuses_reads.lock().unwrap() = Some(403);
    r.tick(t).await;
    r.tick(t + 60.0).await;
    assert_eq!(*r.sink.asked.lock().unwrap(), 1);
    assert_eq!(r.metric("runway_alerts{state=\"pending\"}"), Some(1.0));
    assert!(log.text().contains("not asked again"), "{}", log.text());
}

/// An Alertmanager that answers only after the page fired anew (its hold
/// over): the page's first start is Alertmanager's again, not the
/// restart's. One that never answers is asked for as long as a page sent
/// before the restart could still be active in it (four sends and the
/// hold, 14 minutes here), and no longer.
#[tokio::test]
async fn a_late_answer_gives_the_page_its_first_start_and_the_asking_ends() {
    let (data, page) = a_page_left_in_alertmanager().await;
    let t = T0 + 900.0;
    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    *r.sink.refuses_reads.lock().unwrap() = Some(503);
    for i in 0..=10 {
        r.tick(t + 60.0 * f64::from(i)).await;
    }
    let fired = r.sink.take();
    assert_eq!(fired.last().map(|a| a.starts_at), Some(t), "fired anew");
    // Alertmanager merged the new sends into the page it held (the same
    // labels): its first start kept, its end moved on.
    r.sink.held.lock().unwrap()[0].ends_at = fired[fired.len() - 1].ends_at;
    *r.sink.refuses_reads.lock().unwrap() = None;
    r.tick(t + 660.0).await;
    let sent = r.sink.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].starts_at, T0);
    assert_eq!(r.metric("runway_alerts_taken_over_total"), Some(1.0));

    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    *r.sink.refuses_reads.lock().unwrap() = Some(503);
    for i in 0..30 {
        r.tick(t + 60.0 * f64::from(i)).await;
    }
    // Asked at t, t + 1m, ..., t + 14m.
    assert_eq!(*r.sink.asked.lock().unwrap(), 15);
}

/// runway restarted while its source is down: the page it took over is
/// re-sent as it was, rather than left to expire in Alertmanager and page
/// anew once the source is back; then its forecast takes over.
#[tokio::test]
async fn a_page_taken_over_while_the_source_is_down_is_kept_alive() {
    let (data, page) = a_page_left_in_alertmanager().await;
    let t = T0 + 900.0;
    let mut r = restarted(&data, T0 + 3.0 * DAY, &page);
    // Another runway's page, on another Prometheus: it is not this one's
    // to keep alive (re-sent, it would undo that runway's resolution).
    r.sink.held.lock().unwrap().push(anothers(&page, "node-9"));
    for i in 0..20 {
        // (A rejection is not retried: one failure a tick.)
        r.source.fail_next(SourceError::Rejected {
            query: "node_filesystem_avail_bytes".into(),
            message: "unavailable: the TSDB is replaying its WAL".into(),
        });
        let report = r.tick(t + 60.0 * f64::from(i)).await;
        assert_eq!(report.failed_limits, vec!["disk_full".to_string()]);
    }
    let sent = r.sink.take();
    assert!(!sent.is_empty());
    assert_eq!(r.metric("runway_alerts{state=\"firing\"}"), Some(1.0));
    for a in &sent {
        assert_eq!(a.labels, page.labels, "only its own page: {a:?}");
        assert_eq!((a.state, a.starts_at), (AlertState::Firing, T0));
        assert_eq!(
            a.annotations["forecast_at"],
            page.annotations["forecast_at"]
        );
    }
    // Re-sent every minute (resend_delay), each outliving the next.
    let ends: Vec<f64> = sent.iter().map(|a| a.ends_at).collect();
    assert!(ends.windows(2).all(|w| w[1] > w[0]), "{ends:?}");
    assert_eq!(r.metric("runway_alerts_taken_over_total"), Some(1.0));

    // The source is back: the page is its forecast's, and the other
    // runway's is dropped, never sent.
    r.tick(t + 1200.0).await;
    let sent = r.sink.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].labels, page.labels);
    assert_eq!(sent[0].starts_at, T0);
    assert_ne!(
        sent[0].annotations["forecast_at"],
        page.annotations["forecast_at"]
    );
    assert_eq!(r.metric("runway_alerts_taken_over_total"), Some(1.0));
}

/// A series whose own labels are named as runway's (`limit`, `model`,
/// `status`: an HTTP status, a model number) or that the exposition format
/// cannot carry (an engine other than Prometheus may return them) is
/// exported under `exported_<name>` or with `_` for what cannot be
/// carried, on every family alike, and a name so made that is already
/// taken is prefixed again. A duplicate or invalid label name fails the
/// whole scrape, and Prometheus then has none of runway's metrics; two
/// series with the same labels pass the linter, but Prometheus keeps one.
#[tokio::test]
async fn series_labels_that_clash_with_runways_own_do_not_break_the_scrape() {
    let mut r = rig(DISK);
    let data = labels(&[
        ("instance", "api-1"),
        ("status", "500"),
        ("model", "m1"),
        ("limit", "theirs"),
        ("exported_limit", "renamed already"),
        ("bad-name", "x"),
        ("bad_name", "y"),
    ]);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data, filling(T0 + 3.0 * DAY))],
    );
    r.tick(T0).await;
    let text = r.metrics.render();
    let info = text
        .lines()
        .find(|l| l.starts_with("runway_forecast_info{"))
        .expect("the info series");
    for label in [
        "exported_status=\"500\"",
        "exported_model=\"m1\"",
        // A name already taken is prefixed again, as Prometheus does: both
        // are kept, and no two series come out with the same labels.
        "exported_limit=\"renamed already\"",
        "exported_exported_limit=\"theirs\"",
        "bad_name=\"x\"",
        "exported_bad_name=\"y\"",
        "limit=\"disk_full\"",
        "status=\"approaching\"",
    ] {
        assert!(info.contains(label), "{label} in {info}");
    }
    let eta = text
        .lines()
        .find(|l| l.starts_with("runway_time_to_wall_seconds{"))
        .expect("the time to wall");
    assert!(eta.contains("exported_status=\"500\""), "{eta}");
    // And Prometheus' own linter parses the whole exposition.
    use std::io::Write;
    let mut promtool = std::process::Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool (scripts/test installs it)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write metrics");
    let out = promtool.wait_with_output().expect("promtool");
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !said.contains("duplicate label") && !said.contains("error while linting"),
        "{said}"
    );
}

#[tokio::test]
async fn transient_source_failures_are_retried_and_counted() {
    let mut r = rig(DISK);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 30.0 * DAY))],
    );
    r.source.fail_next(SourceError::Unavailable {
        query: "q".into(),
        message: "connection refused".into(),
    });
    r.source.fail_next(SourceError::Timeout {
        query: "q".into(),
        message: "deadline".into(),
    });
    // Every outcome is there from the start, at 0, so that a rule on the
    // first timeout sees an increase (`increase()` cannot see a series
    // born at 1).
    let m = r.metrics.render();
    for want in [
        r#"runway_source_requests_total{kind="range",outcome="timeout"} 0"#,
        r#"runway_source_requests_total{kind="instant",outcome="rejected"} 0"#,
    ] {
        assert!(m.contains(want), "missing {want} in\n{m}");
    }
    let report = r.tick(T0).await;
    assert!(report.failed_limits.is_empty(), "third attempt succeeds");
    assert_eq!(r.source.calls(), 3);
    let m = r.metrics.render();
    for want in [
        r#"runway_source_requests_total{kind="range",outcome="unavailable"} 1"#,
        r#"runway_source_requests_total{kind="range",outcome="timeout"} 1"#,
        r#"runway_source_requests_total{kind="range",outcome="success"} 1"#,
    ] {
        assert!(m.contains(want), "missing {want} in\n{m}");
    }
}

/// A range of more points a series than `source.points_per_request` is
/// asked in pieces, one request each; a piece that fails transiently is
/// asked again on its own, and the forecast is what one request gives.
#[tokio::test]
async fn a_range_is_asked_in_pieces_and_a_failing_piece_alone_again() {
    let disk = || vec![(labels(&[("instance", "a")]), filling(T0 + 30.0 * DAY))];
    let mut whole = rig(DISK);
    whole.source.set("node_filesystem_avail_bytes", disk());
    whole.tick(T0).await;
    let asked: Vec<usize> = whole.source.points.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);

    let mut r = rig(&DISK.replace("points_per_request = 0", "points_per_request = 1000"));
    r.source.set("node_filesystem_avail_bytes", disk());
    r.source.fail_call(
        2,
        SourceError::Unavailable {
            query: "q".into(),
            message: "connection reset".into(),
        },
    );
    let report = r.tick(T0).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    // The lookback's points in three requests of at most 1,000, the
    // second asked twice, the others once.
    let pieces: Vec<usize> = r.source.points.lock().unwrap().clone();
    assert_eq!(pieces.len(), 3, "{pieces:?} for {asked:?}");
    assert!(pieces.iter().all(|&n| n <= 1_000), "{pieces:?}");
    assert_eq!(pieces.iter().sum::<usize>(), asked[0]);
    assert_eq!(r.source.calls(), 4);
    for want in [
        r#"runway_source_requests_total{kind="range",outcome="unavailable"} 1"#,
        r#"runway_source_requests_total{kind="range",outcome="success"} 3"#,
    ] {
        assert!(r.metrics.render().contains(want), "missing {want}");
    }
    let time_to_wall = "runway_time_to_wall_seconds{instance=\"a\",limit=\"disk_full\"}";
    let seen = r.metric(time_to_wall);
    assert!(seen.is_some(), "{}", r.metrics.render());
    assert_eq!(seen, whole.metric(time_to_wall));
}

/// Two metrics that differ only in their name have one label set: their
/// points cannot be followed from one piece to the next, so the range is
/// asked in one request as soon as a piece shows them, and the limit is
/// forecast as it always was (the first of the two).
#[tokio::test]
async fn a_label_set_twice_has_the_range_asked_in_one_request() {
    let mut r = rig(&DISK.replace("points_per_request = 0", "points_per_request = 1000"));
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![
            (labels(&[("instance", "a")]), filling(T0 + 30.0 * DAY)),
            (labels(&[("instance", "a")]), filling(T0 + 60.0 * DAY)),
        ],
    );
    let report = r.tick(T0).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    // The first piece, then the whole range.
    let asked: Vec<usize> = r.source.points.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0] <= 1_000 && asked[1] > 2_000, "{asked:?}");
    let m = r.metrics.render();
    assert_eq!(
        m.lines()
            .filter(|l| l.starts_with("runway_time_to_wall_seconds{"))
            .count(),
        1,
        "{m}"
    );
}

#[tokio::test]
async fn a_rejected_query_is_not_retried_and_keeps_the_last_forecasts() {
    let mut r = rig(DISK);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 30.0 * DAY))],
    );
    r.tick(T0).await;
    let before = r.metric("runway_time_to_wall_seconds{instance=\"a\",limit=\"disk_full\"}");
    assert!(before.is_some());
    // The failure counters are there at zero before the first failure, so
    // that `increase()` (the shipped rule) sees the first one: a counter
    // that appears at 1 has no increase.
    for reason in ["rejected", "timeout", "unavailable", "no_walls"] {
        assert_eq!(
            r.metric(&format!(
                "runway_limit_evaluation_failures_total{{limit=\"disk_full\",reason=\"{reason}\"}}"
            )),
            Some(0.0),
            "{reason}"
        );
    }
    assert_eq!(
        r.metric("runway_series_dropped_total{limit=\"disk_full\"}"),
        Some(0.0)
    );

    r.source.fail_next(SourceError::Rejected {
        query: "node_filesystem_avail_bytes".into(),
        message: "bad_data: parse error".into(),
    });
    let calls = r.source.calls();
    let report = r.tick(T0 + 60.0).await;
    assert_eq!(report.failed_limits, vec!["disk_full".to_string()]);
    assert_eq!(r.source.calls(), calls + 1, "rejections are not retried");
    // How old its forecasts are, per limit.
    assert_eq!(
        r.metric("runway_limit_last_success_timestamp_seconds{limit=\"disk_full\"}"),
        Some(T0)
    );
    assert_eq!(
        r.metric("runway_limit_evaluation_failures_total{limit=\"disk_full\",reason=\"rejected\"}"),
        Some(1.0)
    );
    // The dashboard keeps the last good forecast; the status carries the error.
    assert_eq!(
        r.metric("runway_time_to_wall_seconds{instance=\"a\",limit=\"disk_full\"}"),
        before
    );
    let snap = r.snapshot.read().unwrap();
    let err = snap.limits["disk_full"].last_error.clone().unwrap();
    assert!(err.contains("parse error"), "{err}");
}

/// While its limit cannot be evaluated a page is re-sent on its last
/// forecast (the wall does not go away because Prometheus is down), and
/// says how old that forecast is: `forecast_at`.
#[tokio::test]
async fn a_page_resent_while_its_limit_fails_says_when_it_was_forecast() {
    let mut r = rig(DISK);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 3.0 * DAY))],
    );
    let at = |t: f64| runway::evaluate::rfc3339(t).unwrap();
    r.tick(T0).await;
    r.tick(T0 + 600.0).await;
    let fired = r.sink.take();
    assert_eq!(fired[0].annotations["forecast_at"], at(T0 + 600.0));

    r.source.fail_next(SourceError::Rejected {
        query: "node_filesystem_avail_bytes".into(),
        message: "bad_data: parse error".into(),
    });
    r.tick(T0 + 660.0).await;
    let resent = r.sink.take();
    assert_eq!(resent.len(), 1, "{resent:?}");
    assert_eq!(resent[0].state, AlertState::Firing);
    assert_eq!(resent[0].annotations["forecast_at"], at(T0 + 600.0));
    assert_eq!(
        resent[0].annotations["summary"],
        fired[0].annotations["summary"]
    );

    r.tick(T0 + 720.0).await;
    let fresh = r.sink.take();
    assert_eq!(fresh[0].annotations["forecast_at"], at(T0 + 720.0));
}

#[tokio::test]
async fn a_failing_alertmanager_is_counted_and_the_alert_is_carried_by_the_next_resend() {
    let log = CapturedLog::default();
    let _logging = log.install();
    let mut r = rig(&DISK.replace("hold = \"10m\"", "hold = \"0s\""));
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 2.0 * DAY))],
    );
    *r.sink.failing.lock().unwrap() = true;
    r.tick(T0).await;
    assert_eq!(
        r.metric("runway_alerts_send_failures_total{alertmanager=\"am\"}"),
        Some(1.0)
    );
    *r.sink.failing.lock().unwrap() = false;
    r.tick(T0 + 30.0).await;
    assert!(r.sink.take().is_empty(), "within resend_delay");
    r.tick(T0 + 60.0).await;
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), false)]);
    // The log says when delivery came back, once, as it said it failed.
    let text = log.text();
    assert_eq!(text.matches("alerts not delivered").count(), 1, "{text}");
    let back: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("alerts delivered again"))
        .collect();
    assert_eq!(back.len(), 1, "{text}");
    assert!(
        back[0].contains("alertmanager=am")
            && back[0].contains("failed=1")
            && back[0].contains("after=1m"),
        "{text}"
    );
    r.tick(T0 + 120.0).await;
    assert_eq!(log.text().matches("alerts delivered again").count(), 1);
}

/// What the status page says of the one limit evaluated in part.
fn left_out(r: &Rig) -> String {
    let snap = r.snapshot.read().unwrap();
    let missing = snap.not_evaluated();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].partly);
    missing[0].why.to_string()
}

#[tokio::test]
async fn the_series_bound_drops_and_counts_the_excess() {
    let log = CapturedLog::default();
    let _logging = log.install();
    let mut r = five_disks(3);
    let report = r.tick(T0).await;
    assert_eq!(report.series, 3);
    assert_eq!(
        r.metric("runway_series_dropped_total{limit=\"disk_full\"}"),
        Some(2.0)
    );
    assert_eq!(
        r.metric("runway_series_evaluated{limit=\"disk_full\"}"),
        Some(3.0)
    );
    // The status page says that the roadmap is missing series.
    assert_eq!(
        left_out(&r),
        "2 series beyond evaluation.max_series_per_limit not evaluated; the others are on the roadmap"
    );
    // The log says it once, not at every evaluation (an operator's daemon
    // spent 100 of its 259 lines on it); the counter counts every time.
    r.tick(T0 + 60.0).await;
    r.tick(T0 + 120.0).await;
    assert_eq!(
        log.text().matches("max_series_per_limit").count(),
        1,
        "{}",
        log.text()
    );
    assert_eq!(
        r.metric("runway_series_dropped_total{limit=\"disk_full\"}"),
        Some(6.0)
    );
}

/// Five disks filling slowly, the limit bounded to `bound` series.
fn five_disks(bound: usize) -> Rig {
    let toml = DISK.replace(
        "[alerting]",
        &format!("max_series_per_limit = {bound}\n[alerting]"),
    );
    let r = rig(&toml);
    let series = (0..5)
        .map(|i| {
            (
                labels(&[("instance", &format!("n{i}"))]),
                filling(T0 + 30.0 * DAY),
            )
        })
        .collect();
    r.source.set("node_filesystem_avail_bytes", series);
    r
}

/// The points a series of each range query answered, for five disks
/// evaluated at `times` under a bound of `bound` series, their histories
/// kept for an hour.
async fn points_asked(bound: usize, times: &[f64]) -> Vec<usize> {
    let mut r = five_disks(bound);
    r.engine.refetch_every = 3_600.0;
    for &t in times {
        r.tick(t).await;
    }
    let points = r.source.points.lock().unwrap().clone();
    points
}

#[tokio::test]
async fn a_limit_beyond_the_series_bound_is_fetched_whole_at_every_evaluation() {
    // Beyond the bound every evaluation fetches the whole lookback: the
    // series forecast are the first by their labels, and one that started
    // reporting could sort among them, with only its newest points kept.
    let points = points_asked(3, &[T0, T0 + 300.0, T0 + 600.0]).await;
    assert_eq!(points.len(), 3);
    assert!(points.iter().all(|&p| p == points[0]), "{points:?}");
    // Within the bound, the evaluations after the first ask for a few
    // points.
    let points = points_asked(5, &[T0, T0 + 300.0]).await;
    assert!(points[1] * 50 < points[0], "{points:?}");
}

#[tokio::test]
async fn a_limit_that_grows_past_the_series_bound_still_forecasts_its_first_series() {
    // Three disks within a bound of three, then two more start reporting:
    // the evaluation that sees them extends the kept history past the
    // bound, forecasts the first three, and keeps nothing after.
    let mut r = five_disks(3);
    r.engine.refetch_every = 3_600.0;
    let disk = |i: usize, from: f64| {
        let fill = filling(T0 + 30.0 * DAY);
        let curve: Curve = Arc::new(move |t| if t < from { f64::NAN } else { fill(t) });
        (labels(&[("instance", &format!("n{i}"))]), curve)
    };
    let disks = |more: usize| {
        (0..3 + more)
            .map(|i| disk(i, if i < 3 { 0.0 } else { T0 + 1.0 }))
            .collect()
    };
    r.source.set("node_filesystem_avail_bytes", disks(0));
    assert_eq!(r.tick(T0).await.series, 3);
    r.source.set("node_filesystem_avail_bytes", disks(2));
    assert_eq!(r.tick(T0 + 300.0).await.series, 3);
    assert_eq!(r.tick(T0 + 600.0).await.series, 3);
    let points = r.source.points.lock().unwrap().clone();
    // The first whole, the second the newest points, the third whole.
    assert!(points[1] * 50 < points[0], "{points:?}");
    assert_eq!(points[2], points[0], "{points:?}");
}

/// Connection pools, each with its own wall from `wall_query`.
const POOLS: &str = r#"
[source]
url = "http://prometheus.invalid:9090"
points_per_request = 0
[evaluation]
lookback = "1d"
hold = "0s"
[[limits]]
name = "pool"
query = "pg_stat_activity_count"
wall_query = "pg_settings_max_connections"
direction = "rising"
lead_time = "1d"
"#;

#[tokio::test]
async fn walls_from_a_query_are_joined_per_series() {
    let log = CapturedLog::default();
    let _logging = log.install();
    let mut r = rig(POOLS);
    // Both pools gain 1 connection an hour; db-1 has 100 max, db-2 200, db-3
    // has no wall and is not evaluated.
    let grow: Curve = Arc::new(|t| 50.0 + (t - T0) / HOUR);
    r.source.set(
        "pg_stat_activity_count",
        ["db-1", "db-2", "db-3"]
            .iter()
            .map(|i| (labels(&[("instance", i)]), grow.clone()))
            .collect(),
    );
    r.source.set(
        "pg_settings_max_connections",
        vec![
            (
                labels(&[("instance", "db-1")]),
                Arc::new(|_| 100.0) as Curve,
            ),
            (
                labels(&[("instance", "db-2")]),
                Arc::new(|_| 200.0) as Curve,
            ),
        ],
    );
    let report = r.tick(T0).await;
    assert_eq!(report.series, 2);
    let ttw = |i: &str| {
        r.metric(&format!(
            "runway_time_to_wall_seconds{{instance=\"{i}\",limit=\"pool\"}}"
        ))
        .unwrap()
    };
    assert!((ttw("db-1") - 50.0 * HOUR).abs() < 1.0);
    assert!((ttw("db-2") - 150.0 * HOUR).abs() < 1.0);
    assert_eq!(
        r.snapshot.read().unwrap().limits["pool"].unmatched_series,
        1
    );
    // The log names one of them, to compare with the walls' labels.
    let warned = log.text();
    assert!(
        warned.contains("series without a wall from wall_query")
            && warned.contains("example={instance=\"db-3\"}"),
        "{warned}"
    );
    // 50 hours is beyond the 1-day lead: nothing fires.
    assert!(r.sink.take().is_empty());
    // A series left out is not lost from sight: a gauge counts it and the
    // status page says so, naming it, at every evaluation; the log says it
    // once.
    r.tick(T0 + 60.0).await;
    assert_eq!(
        r.metric("runway_series_without_wall{limit=\"pool\"}"),
        Some(1.0)
    );
    assert_eq!(
        left_out(&r),
        "1 series had no wall from wall_query (one is {instance=\"db-3\"}); the others are on the roadmap"
    );
    assert_eq!(
        log.text()
            .matches("series without a wall from wall_query")
            .count(),
        1,
        "{}",
        log.text()
    );
}

#[tokio::test]
async fn a_large_limit_forecast_in_parallel_keeps_each_series_with_its_own_wall() {
    let mut r = rig(POOLS);
    // More series than one forecasting task takes, split three ways.
    r.engine.parallelism = 3;
    // Every pool gains 1 connection an hour from 50; pool i has 100 + i
    // connections at most, so it is full in 50 + i hours. Pool 7 has no
    // wall: the walls of the pools after it must not shift onto it.
    let n = 250;
    let name = |i: usize| format!("db-{i:03}");
    let grow: Curve = Arc::new(|t| 50.0 + (t - T0) / HOUR);
    r.source.set(
        "pg_stat_activity_count",
        (0..n)
            .map(|i| (labels(&[("instance", &name(i))]), grow.clone()))
            .collect(),
    );
    r.source.set(
        "pg_settings_max_connections",
        (0..n)
            .filter(|&i| i != 7)
            .map(|i| {
                let wall = 100.0 + i as f64;
                (
                    labels(&[("instance", &name(i))]),
                    Arc::new(move |_| wall) as Curve,
                )
            })
            .collect(),
    );
    let report = r.tick(T0).await;
    assert_eq!(report.series, n - 1);
    let snap = r.snapshot.read().unwrap();
    let evaluated: Vec<(String, f64, f64)> = snap.limits["pool"]
        .evaluations
        .iter()
        .map(|e| {
            let eta = e.forecast.eta.as_ref().expect("every pool fills");
            (e.labels["instance"].clone(), e.wall, eta.likely)
        })
        .collect();
    // In the order the source returned them, each with its own wall and
    // its own time to it.
    let expected: Vec<usize> = (0..n).filter(|&i| i != 7).collect();
    assert_eq!(
        evaluated.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        expected.iter().map(|&i| name(i)).collect::<Vec<_>>()
    );
    for ((instance, wall, likely), i) in evaluated.iter().zip(&expected) {
        assert_eq!(*wall, 100.0 + *i as f64, "{instance}");
        let hours = 50.0 + *i as f64;
        assert!(
            (likely - hours * HOUR).abs() < 60.0,
            "{instance}: {likely} s, not {hours} h"
        );
    }
}

#[tokio::test]
async fn an_alerts_link_to_prometheus_carries_no_credentials() {
    // A source reached with credentials in its URL: the alert links to its
    // graph of the query, without them.
    let mut r = rig(&DISK.replace("hold = \"10m\"", "hold = \"0s\"").replace(
        "http://prometheus.invalid:9090",
        "http://admin:s3cret@prometheus.invalid:9090",
    ));
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 2.0 * DAY))],
    );
    r.tick(T0).await;
    let sent = r.sink.take();
    let link = &sent[0].generator_url;
    // Over the limit's lookback: Prometheus' graph opens on the last hour
    // otherwise, where two days' fill looks flat. Below it, the series
    // alone beside its wall (asked of a real Prometheus in `e2e`).
    assert_eq!(
        link,
        "http://prometheus.invalid:9090/graph?g0.expr=node_filesystem_avail_bytes&g0.tab=0&g0.range_input=2d\
         &g1.expr=%28node_filesystem_avail_bytes%29+and+ignoring%28__name__%29+label_replace%28vector%281%29%2C+%22instance%22%2C+%22a%22%2C+%22%22%2C+%22%22%29\
         +or+label_replace%28vector%280.0%29%2C+%22runway_wall%22%2C+%220%22%2C+%22%22%2C+%22%22%29&g1.tab=0&g1.range_input=2d"
    );
}

#[tokio::test]
async fn a_vanished_series_resolves_its_alert() {
    let mut r = rig(&DISK.replace("hold = \"10m\"", "hold = \"0s\""));
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 2.0 * DAY))],
    );
    r.tick(T0).await;
    assert_eq!(r.sink.take().len(), 1);
    r.source.set("node_filesystem_avail_bytes", vec![]);
    r.tick(T0 + 60.0).await;
    let sent = r.sink.take();
    assert_eq!(severities(&sent), vec![("warning".into(), true)]);
    assert_eq!(sent[0].ends_at, T0 + 60.0);
    // No forecast ended it: the resolution says the series went away.
    let summary = &sent[0].annotations["summary"];
    assert!(
        summary.starts_with(runway::evaluate::VANISHED) && summary.contains("its last forecast: "),
        "{summary}"
    );
}

#[tokio::test]
async fn a_series_that_stopped_reporting_is_gone_and_its_alert_resolves() {
    let mut r = rig(&DISK.replace("hold = \"10m\"", "hold = \"0s\""));
    let stopped_at = T0 + 120.0;
    // Samples only until `stopped_at`: the curve is NaN afterwards, which the
    // scripted source drops, as Prometheus returns nothing past staleness.
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), filling(T0 + 2.0 * DAY))],
    );
    r.tick(T0).await;
    assert_eq!(r.sink.take().len(), 1);
    let gone: Curve = Arc::new(move |t| {
        if t <= stopped_at {
            1e6 * (T0 + 2.0 * DAY - t)
        } else {
            f64::NAN
        }
    });
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(labels(&[("instance", "a")]), gone)],
    );
    // Still fresh: nothing changes.
    r.tick(stopped_at + 60.0).await;
    assert!(r.sink.take().iter().all(|a| a.state == AlertState::Firing));
    // More than two steps (2d / 2016 = 86 s each) and five minutes after
    // its last sample, the series counts as gone.
    let report = r.tick(stopped_at + 600.0).await;
    assert_eq!(report.series, 0);
    let sent = r.sink.take();
    assert_eq!(severities(&sent), vec![("warning".into(), true)]);
    assert_eq!(
        r.snapshot.read().unwrap().limits["disk_full"].stale_series,
        1
    );
}

/// A metric renamed in a rolling upgrade: a selector of both names sees
/// the old series, stopped a day ago, and the new one, live, with the same
/// labels once the name is set aside. The live one is forecast and pages;
/// the stopped one is gone (it used to be the one of the two kept, as its
/// labels sort first, and was then dropped as stale, leaving nothing).
#[tokio::test]
async fn of_two_series_with_one_label_set_the_live_one_is_forecast_not_the_stopped_one() {
    let mut r = rig(&DISK.replace("hold = \"10m\"", "hold = \"0s\""));
    let renamed_at = T0 - DAY;
    let old: Curve = Arc::new(move |t| {
        if t <= renamed_at {
            1e6 * (T0 + 2.0 * DAY - t)
        } else {
            f64::NAN
        }
    });
    let data = labels(&[("instance", "a")]);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), old), (data, filling(T0 + 2.0 * DAY))],
    );
    let report = r.tick(T0).await;
    assert_eq!(report.series, 1, "{report:?}");
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), false)]);
    assert_eq!(
        r.snapshot.read().unwrap().limits["disk_full"].stale_series,
        1
    );
}

/// The disk limit, backtested every six hours. A week's lookback: four of
/// them leave room for cuts a 7-day lead apart from the end of the data.
fn backtested_rig() -> Rig {
    let config = DISK
        .replace("hold = \"10m\"", "hold = \"0s\"")
        .replace("lookback = \"2d\"", "lookback = \"7d\"");
    let mut r = rig(&config);
    r.engine.backtest_every = 6.0 * HOUR;
    r
}

/// A disk that filled once before, and was cleaned: its history holds a
/// crossing, so its times are judged, and which way they erred is exported
/// beside their error.
#[tokio::test]
async fn a_history_that_reached_the_wall_exports_which_way_the_times_erred() {
    let mut r = backtested_rig();
    // Full ten days ago, cleaned a day later, and filling again since at
    // the same pace, from further away.
    let before = filling(T0 - 10.0 * DAY);
    let after = filling(T0 + 30.0 * DAY);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(
            labels(&[("instance", "c")]),
            Arc::new(move |t| {
                if t < T0 - 9.0 * DAY {
                    before(t)
                } else {
                    after(t)
                }
            }),
        )],
    );
    r.tick(T0).await;
    let late = r.metric(r#"runway_backtest_late_ratio{instance="c",limit="disk_full"}"#);
    let error = r.metric(r#"runway_backtest_eta_error{instance="c",limit="disk_full"}"#);
    // A steady fill is forecast to the step: never late.
    assert_eq!(late, Some(0.0), "{}", r.metrics.render());
    assert!(error.is_some_and(|e| e < 0.01), "{}", r.metrics.render());
}

#[tokio::test]
async fn each_limit_is_backtested_on_a_longer_history_and_the_scores_are_exported() {
    let mut r = backtested_rig();
    // A disk that has been filling steadily for weeks and is empty in 5 days;
    // one mounted five days ago, too young to judge a 7-day lead.
    let young = filling(T0 + 30.0 * DAY);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![
            (labels(&[("instance", "a")]), filling(T0 + 5.0 * DAY)),
            (
                labels(&[("instance", "b")]),
                Arc::new(move |t| {
                    if t < T0 - 5.0 * DAY {
                        f64::NAN
                    } else {
                        young(t)
                    }
                }),
            ),
        ],
    );
    r.tick(T0).await;
    let calls = r.source.calls();
    assert_eq!(calls, 2, "the evaluation's query and the backtest's");
    // Four lookbacks at four times the step: an answer no larger than the
    // evaluation's, so that a limit whose evaluation fits the source's
    // response bound is backtested too.
    assert_eq!(*r.source.points.lock().unwrap(), [2017, 2017]);
    {
        let snap = r.snapshot.read().unwrap();
        let t = snap
            .trust_of("disk_full", &labels(&[("instance", "a")]))
            .expect("backtested at the first tick");
        assert_eq!(t.history, 4.0 * 7.0 * DAY, "four lookbacks");
        assert_eq!(t.scores.cuts, 10, "{:#?}", t.scores);
        // The young disk: the history it had, and why nothing was judged.
        let t = snap
            .trust_of("disk_full", &labels(&[("instance", "b")]))
            .expect("backtested too");
        assert!((t.history - 5.0 * DAY).abs() <= 1200.0, "{}", t.history);
        assert_eq!(t.scores.cuts, 0);
        assert_eq!(
            runway::report::trust_text(Some(t)),
            "not judged: the wall is not reached, and the data is too short for cuts with a lead (7d) of data after them"
        );
    }
    // The wall is days beyond the history's end, so only the false alarms
    // can be judged: a steady fill raised none.
    assert_eq!(
        r.metric(r#"runway_backtest_false_alarm_ratio{instance="a",limit="disk_full"}"#),
        Some(0.0),
        "{}",
        r.metrics.render()
    );
    // Without a crossing there is no time to be late or early against:
    // the gauge is absent, as the eta error is.
    for name in ["runway_backtest_late_ratio", "runway_backtest_eta_error"] {
        assert_eq!(
            r.metric(&format!(r#"{name}{{instance="a",limit="disk_full"}}"#)),
            None,
            "{}",
            r.metrics.render()
        );
    }
    // Within the backtest interval: no second backtest.
    r.tick(T0 + HOUR).await;
    assert_eq!(r.source.calls(), calls + 1);
    // After it: a fresh one.
    r.tick(T0 + 7.0 * HOUR).await;
    assert_eq!(r.source.calls(), calls + 3);
    // Due again, but the evaluation's query fails: the replay would wait on
    // the same failing source, and waits for an evaluation that succeeds.
    r.source.fail_next(SourceError::Rejected {
        query: "node_filesystem_avail_bytes".into(),
        message: "bad_data: parse error".into(),
    });
    let report = r.tick(T0 + 14.0 * HOUR).await;
    assert_eq!(report.failed_limits, ["disk_full"]);
    assert_eq!(r.source.calls(), calls + 4, "no backtest after the failure");
    r.tick(T0 + 14.0 * HOUR + 60.0).await;
    assert_eq!(
        r.source.calls(),
        calls + 6,
        "replayed once the source answers"
    );
}

const ROADMAP: &str = r#"
[source]
url = "http://prometheus.invalid:9090"
points_per_request = 0
[evaluation]
interval = "1m"
lookback = "2d"
hold = "10m"
[alerting]
resend_delay = "5m"
[roadmap]
hold = "0s"
alert_on = ["sooner", "must_address"]
alert_for = "30m"
[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 10000
direction = "rising"
lead_time = "3d"
[[limits]]
name = "pool_exhausted"
query = "pool_in_use"
driver = "requests_per_second"
wall = 100
direction = "rising"
lead_time = "1d"
"#;

/// A wall that comes twice as close, and a pool whose response to load
/// steepens until it breaks before ten times today's load, are re-roadmapped:
/// logged, counted once each, listed with the roadmap, and (as configured)
/// sent as `RoadmapChanged` notices that Alertmanager resolves by itself.
#[tokio::test]
async fn walls_that_move_materially_are_re_roadmapped_counted_and_listed() {
    let mut r = rig(ROADMAP);
    let queue = labels(&[("queue", "ingest")]);
    let pool = labels(&[("pool", "orders")]);
    // The queue grows 200 a day from 4,000: the wall is 30 days away.
    let growth = Arc::new(Mutex::new(200.0));
    let g = growth.clone();
    r.source.set(
        "queue_depth",
        vec![(
            queue.clone(),
            Arc::new(move |t| 4000.0 + *g.lock().unwrap() * (t - T0) / DAY),
        )],
    );
    // Traffic swings between 50 and 150 a second every day; the pool uses
    // `per` connections per request a second: 0.05 gives 7.5 at the peak,
    // so it breaks at 13x today's load.
    let per = Arc::new(Mutex::new(0.05));
    let rps = |t: f64| 100.0 + 50.0 * (std::f64::consts::TAU * t / DAY).sin();
    let p = per.clone();
    r.source
        .set("requests_per_second", vec![(Labels::new(), Arc::new(rps))]);
    r.source.set(
        "pool_in_use",
        vec![(pool.clone(), Arc::new(move |t| *p.lock().unwrap() * rps(t)))],
    );
    let changes = |r: &Rig, change: &str| -> Vec<f64> {
        ["queue_full", "pool_exhausted"]
            .iter()
            .map(|l| {
                r.metric(&format!(
                    "runway_roadmap_changes_total{{change=\"{change}\",limit=\"{l}\"}}"
                ))
                .unwrap_or(f64::NAN)
            })
            .collect()
    };

    r.tick(T0).await;
    // Every counter exists from the start, at zero, so that an alerting
    // rule's increase() sees the first event.
    assert_eq!(changes(&r, "sooner"), [0.0, 0.0]);
    assert_eq!(changes(&r, "must_address"), [0.0, 0.0]);
    let deferred = r.snapshot.read().unwrap().roadmap()[1].breaks_before_growth;
    assert!(!deferred, "13x headroom is beyond 10x: deferred");

    // Growth triples (the whole history now shows 600 a day): the wall is
    // 10 days away instead of 30.
    *growth.lock().unwrap() = 600.0;
    r.tick(T0 + 60.0).await;
    let sent = r.sink.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = &sent[0];
    assert_eq!(notice.labels["alertname"], "RoadmapChanged");
    assert_eq!(notice.labels["change"], "sooner");
    assert_eq!(notice.labels["severity"], "info");
    assert_eq!(notice.labels["limit"], "queue_full");
    assert_eq!(notice.labels["queue"], "ingest");
    assert_eq!(notice.ends_at, T0 + 60.0 + 1800.0, "active for alert_for");
    let summary = &notice.annotations["summary"];
    assert!(
        summary.contains("moved sooner: about 10d instead of 30d"),
        "{summary}"
    );
    r.tick(T0 + 120.0).await;
    assert_eq!(
        changes(&r, "sooner"),
        [1.0, 0.0],
        "counted once, not per tick"
    );
    assert!(
        r.sink.take().is_empty(),
        "not re-sent before the resend delay"
    );

    // Each request now holds twice the connections: 6.6x headroom.
    *per.lock().unwrap() = 0.1;
    r.tick(T0 + 180.0).await;
    r.tick(T0 + 240.0).await;
    assert_eq!(changes(&r, "must_address"), [0.0, 1.0]);
    let sent = r.sink.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].labels["change"], "must_address");
    assert_eq!(sent[0].labels["pool"], "orders");
    assert!(
        sent[0].annotations["summary"].contains("now breaks before 10x load"),
        "{:?}",
        sent[0].annotations
    );
    // Headroom reads as on the status page: 13.3x, not 13.33x.
    assert_eq!(sent[0].annotations["load_headroom"], "6.67x");
    assert_eq!(sent[0].annotations["previous_load_headroom"], "13.3x");
    // Both are re-sent after the resend delay while active, then dropped
    // once Alertmanager has resolved them at their endsAt.
    r.tick(T0 + 60.0 + 300.0).await;
    let resent: Vec<String> = r
        .sink
        .take()
        .iter()
        .map(|a| a.labels["change"].clone())
        .collect();
    assert_eq!(resent, ["sooner"]);
    r.tick(T0 + 60.0 + 1800.0).await;
    let late: Vec<String> = r
        .sink
        .take()
        .iter()
        .map(|a| a.labels["change"].clone())
        .collect();
    assert_eq!(late, ["must_address"], "the expired notice is not sent");

    let snap = r.snapshot.read().unwrap();
    let kinds: Vec<(String, &str)> = snap
        .changes
        .iter()
        .map(|c| (c.limit.clone(), c.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("queue_full".to_string(), "sooner"),
            ("pool_exhausted".to_string(), "must_address")
        ]
    );
    let doc = runway::report::roadmap_json(&snap, snap.growth_factor, T0 + 1860.0);
    assert_eq!(doc["changes"][0]["change"], "must_address", "newest first");
    assert_eq!(doc["changes"][0]["limit"], "pool_exhausted");
    let before = doc["changes"][0]["load_headroom_ratio_before"]
        .as_f64()
        .unwrap();
    let now = doc["changes"][0]["load_headroom_ratio"].as_f64().unwrap();
    assert!(before > 10.0 && now < 10.0, "{before} -> {now}");
}

/// A queue whose growth flips between two rates at every evaluation has a
/// wall 30 days away, then 10, then 30 again: with the default
/// `roadmap.hold` (30m) that is no news, and nothing is counted or sent;
/// once the faster growth lasts for the hold, it is recorded once.
#[tokio::test]
async fn a_wall_that_flickers_is_not_re_roadmapped_until_the_move_lasts() {
    let mut r = rig(&ROADMAP.replace("[roadmap]\nhold = \"0s\"\n", "[roadmap]\n"));
    let growth = Arc::new(Mutex::new(200.0));
    let g = growth.clone();
    r.source.set(
        "queue_depth",
        vec![(
            labels(&[("queue", "ingest")]),
            Arc::new(move |t| 4000.0 + *g.lock().unwrap() * (t - T0) / DAY),
        )],
    );
    let sooner =
        |r: &Rig| r.metric("runway_roadmap_changes_total{change=\"sooner\",limit=\"queue_full\"}");
    r.tick(T0).await;
    for i in 1..=60 {
        *growth.lock().unwrap() = if i % 2 == 0 { 200.0 } else { 600.0 };
        r.tick(T0 + 60.0 * f64::from(i)).await;
    }
    assert_eq!(sooner(&r), Some(0.0));
    assert!(r.sink.take().is_empty(), "nothing sent");

    *growth.lock().unwrap() = 600.0;
    let from = T0 + 61.0 * 60.0;
    for i in 0..30 {
        r.tick(from + 60.0 * f64::from(i)).await;
    }
    assert_eq!(sooner(&r), Some(0.0), "not yet held for 30 minutes");
    r.tick(from + 30.0 * 60.0).await;
    assert_eq!(sooner(&r), Some(1.0));
    let sent = r.sink.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].labels["change"], "sooner");
}

/// With `keep_firing_for`, a disk whose forecast clears for a few minutes
/// (its history briefly reads as receding) keeps its page firing, with no
/// resolution sent; once clear for longer, it resolves. The limit's own
/// value (10m) overrides the evaluation's (30m).
/// A disk two days from full that `clear` (the flag returned) frees to
/// 500 GB while it is set.
fn clearable_disk(r: &mut Rig) -> Arc<AtomicBool> {
    let near = filling(T0 + 3.0 * DAY);
    let clear = Arc::new(AtomicBool::new(false));
    let c = clear.clone();
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(
            labels(&[("instance", "a")]),
            Arc::new(move |t| {
                if c.load(Ordering::SeqCst) {
                    500e9
                } else {
                    near(t)
                }
            }),
        )],
    );
    clear
}

#[tokio::test]
async fn keep_firing_for_keeps_a_page_through_a_brief_clearance() {
    let config = DISK
        .replace("hold = \"10m\"", "hold = \"0s\"\nkeep_firing_for = \"30m\"")
        .replace(
            "labels = { team = \"storage\" }",
            "labels = { team = \"storage\" }\nkeep_firing_for = \"10m\"",
        );
    let mut r = rig(&config);
    let clear = clearable_disk(&mut r);
    r.tick(T0).await;
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), false)]);
    clear.store(true, Ordering::SeqCst);
    r.still_firing(1..=5).await;
    clear.store(false, Ordering::SeqCst);
    r.tick(T0 + 360.0).await;
    clear.store(true, Ordering::SeqCst);
    for i in 7..=16 {
        r.tick(T0 + 60.0 * f64::from(i)).await;
    }
    let sent = r.sink.take();
    assert!(
        sent.iter().all(|a| a.state == AlertState::Firing),
        "{sent:?}"
    );
    r.tick(T0 + 60.0 * 17.0).await;
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), true)]);
}

/// Unless told otherwise, a page clears as it fired: its clearing must last
/// the hold. One evaluation that read "not approaching" (a noisy pool, a
/// forecast near its lead) resolved a firing page, and the next paged
/// again: an operator saw 18 pages in 39 minutes on a steady wall.
#[tokio::test]
async fn a_page_resolves_only_once_its_clearing_has_lasted_the_hold() {
    let mut r = rig(DISK);
    let clear = clearable_disk(&mut r);
    // Pending, then firing once the 10-minute hold has passed.
    r.tick(T0).await;
    r.tick(T0 + 600.0).await;
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), false)]);
    // Cleared for one evaluation, and back: still firing, never resolved.
    clear.store(true, Ordering::SeqCst);
    r.tick(T0 + 660.0).await;
    clear.store(false, Ordering::SeqCst);
    r.still_firing(12..=14).await;
    // Cleared for good: resolved once the clearing has lasted 10 minutes.
    clear.store(true, Ordering::SeqCst);
    r.still_firing(15..=24).await;
    r.tick(T0 + 60.0 * 25.0).await;
    assert_eq!(severities(&r.sink.take()), vec![("warning".into(), true)]);
}

/// While a limit fails, its last forecasts stay on the roadmap, timed from
/// when they were made: they must not be re-roadmapped "later" as the days
/// of the outage pass.
#[tokio::test]
async fn a_failing_limits_kept_forecasts_are_not_re_roadmapped() {
    let mut r = rig(ROADMAP);
    r.source.set(
        "queue_depth",
        vec![(
            labels(&[("queue", "ingest")]),
            Arc::new(|t| 4000.0 + 600.0 * (t - T0) / DAY),
        )],
    );
    r.tick(T0).await;
    for day in 1..=9 {
        r.source.fail_next_for(
            "queue_depth",
            SourceError::Rejected {
                query: "queue_depth".into(),
                message: "bad_data: overloaded".into(),
            },
        );
        let report = r.tick(T0 + f64::from(day) * DAY).await;
        assert!(report.failed_limits.contains(&"queue_full".to_string()));
    }
    assert_eq!(
        r.metric("runway_roadmap_changes_total{change=\"later\",limit=\"queue_full\"}"),
        Some(0.0)
    );
}

const DRIVEN: &str = r#"
[source]
url = "http://prometheus.invalid:9090"
points_per_request = 0
[evaluation]
interval = "1m"
lookback = "2d"
[[limits]]
name = "pool_exhausted"
query = "pool_in_use"
driver = "requests_per_second"
wall = 100
direction = "rising"
lead_time = "1d"
"#;

/// A driver query the source refuses costs the limit its load headroom,
/// named and counted, not retried, and nothing else: its series are
/// forecast (and alert) as without a driver; a driver
/// that returns nothing leaves the headroom on the stated proportional
/// assumption; a driver that answers gives the fitted figure.
#[tokio::test]
async fn a_failing_driver_costs_its_limit_the_headroom_only_and_an_empty_one_falls_back() {
    let mut r = rig(DRIVEN);
    let pool = labels(&[("pool", "orders")]);
    let rps = |t: f64| 100.0 + 50.0 * (std::f64::consts::TAU * t / DAY).sin();
    r.source.set(
        "pool_in_use",
        vec![(pool.clone(), Arc::new(move |t| 0.1 * rps(t)))],
    );
    let basis = |r: &Rig| {
        r.snapshot.read().unwrap().limits["pool_exhausted"].evaluations[0]
            .headroom
            .basis_name()
    };

    // First the driver answers nothing at all: proportional, stated, and
    // not as if none were configured.
    r.source.set("requests_per_second", vec![]);
    let report = r.tick(T0).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert_eq!(basis(&r), Some("proportional"));
    {
        let snap = r.snapshot.read().unwrap();
        let note = &snap.limits["pool_exhausted"].evaluations[0].headroom.note;
        assert!(
            note.ends_with(
                "in proportion to load (the driver gave no series with this series' labels)"
            ),
            "{note}"
        );
    }

    // Then it answers: the fitted response.
    r.source
        .set("requests_per_second", vec![(Labels::new(), Arc::new(rps))]);
    r.tick(T0 + 60.0).await;
    assert_eq!(basis(&r), Some("driver"));

    // Then the source refuses it: the driver only gives the headroom, so
    // the limit is forecast (and would alert) all the same, its headroom
    // unknown and the failure counted and named.
    r.source.fail_next_for(
        "requests_per_second",
        SourceError::Rejected {
            query: "requests_per_second".into(),
            message: "bad_data: unknown function".into(),
        },
    );
    let calls = r.source.calls();
    let report = r.tick(T0 + 120.0).await;
    assert!(report.failed_limits.is_empty(), "{report:?}");
    assert_eq!(
        r.source.calls(),
        calls + 2,
        "the metric, then the driver once"
    );
    assert_eq!(
        r.metric(
            "runway_limit_evaluation_failures_total{limit=\"pool_exhausted\",reason=\"driver\"}"
        ),
        Some(1.0)
    );
    {
        let snap = r.snapshot.read().unwrap();
        let status = &snap.limits["pool_exhausted"];
        assert_eq!(status.last_success, Some(T0 + 120.0));
        let e = &status.evaluations[0];
        assert_eq!(e.at, T0 + 120.0, "forecast now, not kept from before");
        assert_eq!(e.headroom.basis_name(), None);
        assert_eq!(e.headroom.ratio, None);
        let note = &e.headroom.note;
        assert!(
            note.starts_with("load headroom unknown: the driver failed (query \"requests_per_second\" was rejected")
                && note.contains("unknown function"),
            "{note}"
        );
        // The roadmap says why beside the point.
        let doc = runway::report::roadmap_json(&snap, snap.growth_factor, T0 + 120.0);
        assert!(doc.to_string().contains("the driver failed"), "{doc:#}");
    }

    // And answers again: the headroom is back.
    r.tick(T0 + 180.0).await;
    assert_eq!(basis(&r), Some("driver"));
}

/// A source that hangs while its gate is closed (a blackholed
/// Prometheus), and answers as `inner` once it is opened; `asked` is
/// notified when a range query arrives.
#[derive(Clone)]
struct Gated {
    inner: ScriptedSource,
    gate: Arc<tokio::sync::Semaphore>,
    asked: Arc<tokio::sync::Notify>,
    /// Range queries started.
    started: Arc<AtomicUsize>,
}

impl Gated {
    fn closed(inner: ScriptedSource) -> Gated {
        Gated {
            inner,
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            asked: Arc::new(tokio::sync::Notify::new()),
            started: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn open(&self) {
        self.gate.add_permits(1 << 20);
    }
}

impl SeriesSource for Gated {
    async fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, SourceError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.asked.notify_one();
        // Released at once: the gate only holds queries while closed.
        drop(self.gate.acquire().await);
        self.inner.query_range(query, start, end, step).await
    }

    async fn query_instant(&self, query: &str, at: f64) -> Result<Vec<(Labels, f64)>, SourceError> {
        self.inner.query_instant(query, at).await
    }
}

#[tokio::test]
async fn a_shutdown_does_not_wait_for_an_evaluation_stuck_on_its_source() {
    let source = Gated::closed(ScriptedSource::default());
    let asked = source.asked.clone();
    let (engine, snapshot, _) = disk_engine(source);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(engine.run(
        async {
            let _ = stopped.await;
        },
        None,
    ));
    // The first evaluation starts at once and waits on the source forever.
    asked.notified().await;
    stop.send(()).expect("the engine is running");
    // Were the evaluation awaited, this would never return: the test would
    // hang rather than fail, so it is bounded.
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the engine stopped without finishing its evaluation")
        .expect("the engine did not panic");
    assert_eq!(
        snapshot.read().unwrap().evaluated_at,
        None,
        "no evaluation finished"
    );
}

/// A second limit for the reload tests: a queue reaching 1,000 at
/// `T0 + 3d`.
const QUEUE: &str = r#"
[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 1000
direction = "rising"
lead_time = "7d"
"#;

/// A third: inodes running out.
const INODES: &str = r#"
[[limits]]
name = "inodes"
query = "node_filesystem_files_free"
wall = 0
direction = "falling"
lead_time = "7d"
"#;

fn queue(full_at: f64) -> Curve {
    Arc::new(move |t| 1000.0 - 1e-3 * (full_at - t))
}

/// The state Prometheus keeps over a rule reload, runway keeps over a
/// configuration reload: a kept limit's firing alert goes on firing from
/// when it started (no new hold, no "resolved" then "firing" at the
/// receiver), a removed limit's resolves once, saying why, and its series
/// leave `/metrics`; a new limit is evaluated at the next tick.
#[tokio::test]
async fn a_reload_keeps_the_alerts_of_kept_limits_and_resolves_those_of_removed_ones() {
    let mut r = rig(&format!("{DISK}{QUEUE}"));
    let data = labels(&[("instance", "node-3"), ("mountpoint", "/data")]);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), filling(T0 + 3.0 * DAY))],
    );
    let q = labels(&[("queue", "orders")]);
    r.source
        .set("queue_depth", vec![(q.clone(), queue(T0 + 3.0 * DAY))]);
    r.source.set(
        "node_filesystem_files_free",
        vec![(data.clone(), filling(T0 + 3.0 * DAY))],
    );
    r.tick(T0).await;
    r.tick(T0 + 600.0).await;
    let firing: Vec<String> = r
        .sink
        .take()
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| a.labels["limit"].clone())
        .collect();
    assert_eq!(firing, vec!["disk_full", "queue_full"]);
    assert!(r
        .metrics
        .render()
        .contains("runway_series_evaluated{limit=\"queue_full\"} 1"));

    let cfg = config::from_str(
        &format!("{DISK}{INODES}"),
        Format::Toml,
        "the reloaded configuration",
    )
    .unwrap();
    let loaded = |config: config::Config| runway::engine::Loaded {
        config,
        source: r.source.clone(),
        sink: r.sink.clone(),
        notes: Vec::new(),
    };
    let done = r.engine.reload(loaded(cfg.clone()), T0 + 630.0);
    assert_eq!(done.added, vec!["inodes"]);
    assert_eq!(done.removed, vec!["queue_full"]);
    assert_eq!(
        done.to_string(),
        "2 limits configured; added: inodes; removed: queue_full"
    );
    // Read again as it is: nothing to apply, nothing to evaluate at once.
    let again = r.engine.reload(loaded(cfg), T0 + 640.0);
    assert!(again.unchanged);
    assert_eq!(again.to_string(), "unchanged (2 limits)");
    {
        let snap = r.snapshot.read().unwrap();
        assert_eq!(snap.order, vec!["disk_full", "inodes"]);
        assert!(
            !snap.limits.contains_key("queue_full"),
            "its forecasts went"
        );
        // Until the next evaluation the page shows the queue's alert
        // resolved, not firing.
        let queue_alert = snap
            .alerts
            .iter()
            .find(|a| a.limit == "queue_full")
            .expect("the queue's alert, resolved");
        assert_eq!(queue_alert.state, AlertState::Resolved);
    }
    let page = r.metrics.render();
    assert!(
        !page.contains("limit=\"queue_full\""),
        "a removed limit's series stay on /metrics:\n{page}"
    );
    assert!(page.contains("runway_limits 2"), "{page}");

    r.tick(T0 + 660.0).await;
    let sent = r.sink.take();
    let disk = sent
        .iter()
        .find(|a| a.labels["limit"] == "disk_full")
        .expect("the disk's warning is resent");
    assert_eq!(disk.state, AlertState::Firing);
    assert_eq!(disk.starts_at, T0, "it fires on from when it started");
    let gone = sent
        .iter()
        .find(|a| a.labels["limit"] == "queue_full")
        .expect("the queue's warning resolves");
    assert_eq!(gone.state, AlertState::Resolved);
    assert_eq!(gone.ends_at, T0 + 630.0, "resolved at the reload");
    assert_eq!(
        gone.annotations["resolution"],
        "its limit was removed from runway's configuration"
    );
    assert!(
        gone.annotations["summary"].starts_with("its limit was removed")
            && gone.annotations["summary"].contains("queue_full"),
        "{:?}",
        gone.annotations
    );
    // The new limit is evaluated and holds its alert for the hold, as any
    // new alert does.
    assert!(sent.iter().all(|a| a.labels["limit"] != "inodes"));
    assert!(r
        .metrics
        .render()
        .contains("runway_series_evaluated{limit=\"inodes\"} 1"));
    r.tick(T0 + 1260.0).await;
    let sent = r.sink.take();
    assert!(
        sent.iter()
            .any(|a| a.labels["limit"] == "inodes" && a.state == AlertState::Firing),
        "{sent:?}"
    );
    // Resolutions are re-sent for 15 minutes, as Prometheus re-sends
    // them, a removed limit's too; never as firing again.
    assert!(
        sent.iter()
            .filter(|a| a.labels["limit"] == "queue_full")
            .all(|a| a.state == AlertState::Resolved && a.ends_at == T0 + 630.0),
        "{sent:?}"
    );
    // Then they are forgotten.
    r.tick(T0 + 630.0 + 16.0 * 60.0).await;
    assert!(r
        .snapshot
        .read()
        .unwrap()
        .alerts
        .iter()
        .all(|a| a.limit != "queue_full"));
}

/// What the daemon's loop does with reload requests (SIGHUP and
/// `/-/reload` send them): a configuration that does not load changes
/// nothing and says why, on the reply, `/metrics` and the status page; one
/// that loads is applied and evaluated at once, not an interval later.
#[tokio::test]
async fn a_reload_that_fails_keeps_the_running_configuration_and_one_that_loads_applies_at_once() {
    let Rig {
        engine,
        source,
        sink,
        metrics,
        snapshot,
    } = rig(DISK);
    let data = labels(&[("instance", "node-3"), ("mountpoint", "/data")]);
    source.set(
        "node_filesystem_avail_bytes",
        vec![(data.clone(), filling(T0 + 3.0 * DAY))],
    );
    source.set("queue_depth", vec![(data, queue(T0 + 3.0 * DAY))]);
    // The file, as the loader reads it at each request.
    let file = Arc::new(Mutex::new(DISK.to_string()));
    let text = file.clone();
    let load = move || {
        let config = config::from_str(&text.lock().unwrap(), Format::Toml, "runway.toml")
            .map_err(|e| e.to_string())?;
        Ok(runway::engine::Loaded {
            config,
            source: source.clone(),
            sink: sink.clone(),
            notes: Vec::new(),
        })
    };
    let looping = Looping::start(engine, Box::new(load));
    let evaluated = |name: &str| {
        snapshot
            .read()
            .unwrap()
            .limits
            .get(name)
            .is_some_and(|l| l.last_success.is_some())
    };
    within("the first evaluation", || evaluated("disk_full")).await;

    *file.lock().unwrap() = format!("{DISK}{QUEUE}").replace("wall = 1000", "wall = \"full\"");
    let failed = looping
        .ask()
        .await
        .expect_err("a wall that is not a number");
    assert!(
        failed.contains("runway.toml") && failed.contains("limits[1].wall"),
        "{failed}"
    );
    let page = metrics.render();
    assert!(
        page.contains("runway_config_last_reload_successful 0"),
        "{page}"
    );
    {
        let snap = snapshot.read().unwrap();
        assert_eq!(snap.order, vec!["disk_full"], "nothing was applied");
        let (_, why) = snap.config.reload_error.as_ref().expect("said on the page");
        assert_eq!(why, &failed);
    }

    *file.lock().unwrap() = format!("{DISK}{QUEUE}");
    let done = looping.ask().await.expect("a good configuration loads");
    assert_eq!(done.added, vec!["queue_full"]);
    // The interval is a minute: the new limit is evaluated at once.
    within("the new limit's evaluation", || evaluated("queue_full")).await;
    assert!(metrics
        .render()
        .contains("runway_config_last_reload_successful 1"));
    assert_eq!(snapshot.read().unwrap().config.reload_error, None);
    looping.stop().await;
}

/// Waits up to 5 s for `cond`, which a task running beside the test makes
/// true; the bound only keeps a broken engine from hanging the test.
async fn within(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: not within 5 s");
}

/// The engine's loop running in a task with reload requests, as the
/// daemon runs it: `load` reads "the file" when asked.
struct Looping {
    requests: tokio::sync::mpsc::Sender<runway::engine::ReloadRequest>,
    stop: tokio::sync::oneshot::Sender<()>,
    run: tokio::task::JoinHandle<()>,
}

impl Looping {
    fn start<S: SeriesSource + 'static>(
        engine: Engine<S, RecordingSink>,
        load: runway::engine::Loader<S, RecordingSink>,
    ) -> Looping {
        let (requests, received) = tokio::sync::mpsc::channel(8);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(engine.run(
            async {
                let _ = stopped.await;
            },
            Some(runway::engine::Reloads {
                requests: received,
                load,
            }),
        ));
        Looping {
            requests,
            stop,
            run,
        }
    }

    /// Queues a request, without waiting for its answer.
    async fn send(
        &self,
    ) -> tokio::sync::oneshot::Receiver<Result<runway::engine::Reloaded, String>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.requests
            .send(runway::engine::ReloadRequest { reply: Some(reply) })
            .await
            .expect("the engine takes requests");
        answer
    }

    /// Asks for a reload and waits (5 s at most) for the answer.
    async fn ask(&self) -> Result<runway::engine::Reloaded, String> {
        let answer = self.send().await;
        tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("answered within 5 s")
            .expect("the engine answers")
    }

    async fn stop(self) {
        self.stop.send(()).expect("the engine is running");
        tokio::time::timeout(Duration::from_secs(30), self.run)
            .await
            .expect("the engine stopped")
            .expect("the engine did not panic");
    }
}

/// An engine on `DISK` reading from `source`, and its snapshot and metrics.
fn disk_engine<S: SeriesSource>(
    source: S,
) -> (
    Engine<S, RecordingSink>,
    Arc<RwLock<Snapshot>>,
    Arc<Metrics>,
) {
    let cfg = config::from_str(DISK, Format::Toml, "pipeline test").unwrap();
    let snapshot = Arc::new(RwLock::new(Snapshot::default()));
    let metrics = Arc::new(Metrics::new(snapshot.clone()).unwrap());
    let mut engine = Engine::new(
        &cfg,
        source,
        RecordingSink::default(),
        metrics.clone(),
        snapshot.clone(),
    );
    engine.backtest_every = 0.0;
    (engine, snapshot, metrics)
}

/// A source holding one filling disk.
fn one_filling_disk() -> ScriptedSource {
    let source = ScriptedSource::default();
    source.set(
        "node_filesystem_avail_bytes",
        vec![(
            labels(&[("instance", "node-3"), ("mountpoint", "/data")]),
            filling(T0 + 3.0 * DAY),
        )],
    );
    source
}

/// A reload does not wait for an evaluation stuck on its source (with
/// real timeouts and retries, minutes): it is answered at once, and the
/// configuration read (here, another source) is evaluated at once. A burst
/// of requests is one reading of the file, every request answered.
#[tokio::test]
async fn a_reload_is_answered_at_once_during_a_stuck_evaluation_and_a_burst_is_one_reload() {
    let inner = one_filling_disk();
    let blackholed = Gated::closed(inner.clone());
    let asked = blackholed.asked.clone();
    let (engine, snapshot, _) = disk_engine(blackholed);
    let reads = Arc::new(Mutex::new(0usize));
    let counted = reads.clone();
    let load = move || {
        *counted.lock().unwrap() += 1;
        // The file now points at a source that answers.
        Ok(runway::engine::Loaded {
            config: config::from_str(
                &DISK.replace("prometheus.invalid", "prometheus-2.invalid"),
                Format::Toml,
                "runway.toml",
            )
            .map_err(|e| e.to_string())?,
            source: {
                let answering = Gated::closed(inner.clone());
                answering.open();
                answering
            },
            sink: RecordingSink::default(),
            notes: Vec::new(),
        })
    };
    let looping = Looping::start(engine, Box::new(load));
    // The first evaluation is stuck on the blackholed source.
    asked.notified().await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(looping.send().await);
    }
    for answer in answers {
        let done = tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("answered without waiting for the stuck evaluation")
            .expect("the engine answers")
            .expect("the configuration loads");
        assert!(!done.unchanged, "{done}");
        assert!(
            done.to_string()
                .ends_with("; source: http://prometheus-2.invalid:9090"),
            "the reply says where runway reads now: {done}"
        );
    }
    assert_eq!(*reads.lock().unwrap(), 1, "one reading for the burst");
    within("an evaluation on the new source", || {
        snapshot.read().unwrap().evaluated_at.is_some()
    })
    .await;
    looping.stop().await;
}

/// A limit kept by name whose definition a reload changed (here its wall)
/// is another question: the backtest scores of the old one no longer say
/// how far to trust it, and go. A limit read again as it was keeps its.
#[tokio::test]
async fn a_reload_that_changes_a_limit_drops_its_backtest_scores() {
    let mut r = rig(&format!("{DISK}{QUEUE}"));
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(
            labels(&[("instance", "node-3"), ("mountpoint", "/data")]),
            filling(T0 + 3.0 * DAY),
        )],
    );
    r.source.set(
        "queue_depth",
        vec![(labels(&[("queue", "orders")]), queue(T0 + 3.0 * DAY))],
    );
    r.tick(T0).await;
    r.engine.backtest_all(T0).await;
    let scored = |r: &Rig, limit: &str| r.snapshot.read().unwrap().trust.contains_key(limit);
    assert!(scored(&r, "disk_full") && scored(&r, "queue_full"));

    let changed = format!("{DISK}{QUEUE}").replace("wall = 0", "wall = 1e9");
    let done = r.reload(&changed, T0 + 60.0);
    assert_eq!(done.changed, vec!["disk_full"]);
    assert_eq!(done.to_string(), "2 limits configured; changed: disk_full");
    assert!(!scored(&r, "disk_full"), "the old wall's scores went");
    assert!(scored(&r, "queue_full"), "the unchanged limit's stay");

    // A label added to a limit's alerts changes no forecast, but its
    // alerts are raised again under the new labels: the log says so.
    let relabelled = changed.replace(
        "name = \"queue_full\"",
        "name = \"queue_full\"\nlabels = { team = \"infra\" }",
    );
    let done = r.reload(&relabelled, T0 + 120.0);
    assert!(done.changed.is_empty());
    assert_eq!(
        done.to_string(),
        "2 limits configured; alerts relabelled (resolved, and raised again): queue_full"
    );
    assert!(scored(&r, "queue_full"), "its forecasts did not change");
}

/// Reloads in a loop (a sidecar, a script) must not keep runway from ever
/// finishing an evaluation: a file that has not changed, or that fails,
/// is answered at once and the evaluation in progress goes on.
#[tokio::test]
async fn reloads_of_an_unchanged_or_broken_file_let_the_evaluation_finish() {
    let slow = Gated::closed(one_filling_disk());
    let (engine, snapshot, _) = disk_engine(slow.clone());
    let file = Arc::new(Mutex::new(DISK.to_string()));
    let text = file.clone();
    let source = slow.clone();
    let load = move || {
        Ok(runway::engine::Loaded {
            config: config::from_str(&text.lock().unwrap(), Format::Toml, "runway.toml")
                .map_err(|e| e.to_string())?,
            source: source.clone(),
            sink: RecordingSink::default(),
            notes: Vec::new(),
        })
    };
    let looping = Looping::start(engine, Box::new(load));
    // The first evaluation waits on the source.
    slow.asked.notified().await;
    let same = looping.ask().await.expect("the file loads");
    assert!(same.unchanged, "{same}");
    *file.lock().unwrap() = DISK.replace("wall = 0", "wall = \"zero\"");
    looping.ask().await.expect_err("a broken file");
    assert_eq!(snapshot.read().unwrap().evaluated_at, None);

    // The source answers: the evaluation that was waiting finishes, and
    // it is the only one that started.
    slow.open();
    within("the evaluation", || {
        snapshot.read().unwrap().evaluated_at.is_some()
    })
    .await;
    assert_eq!(
        slow.started.load(Ordering::SeqCst),
        1,
        "the evaluation was not started again"
    );
    looping.stop().await;
}

/// A new `roadmap.growth_factor` reclasses breaking points by itself: the
/// data did not move, so a reload that changes it is not a re-roadmap
/// event (a pool at 13x headroom is deferred at 10x and must be addressed
/// at 20x, without a "must address" notice saying its headroom moved).
#[tokio::test]
async fn a_reloaded_growth_factor_is_not_a_move_of_the_roadmap() {
    let mut r = rig(ROADMAP);
    let per_request = |t: f64| 100.0 + 50.0 * (std::f64::consts::TAU * t / DAY).sin();
    r.source.set(
        "requests_per_second",
        vec![(Labels::new(), Arc::new(per_request))],
    );
    r.source.set(
        "pool_in_use",
        vec![(
            labels(&[("pool", "orders")]),
            Arc::new(move |t| 0.05 * per_request(t)),
        )],
    );
    r.source.set(
        "queue_depth",
        vec![(
            labels(&[("queue", "ingest")]),
            Arc::new(|t| 4000.0 + 200.0 * (t - T0) / DAY),
        )],
    );
    r.tick(T0).await;
    let pool_must = |r: &Rig| {
        r.snapshot
            .read()
            .unwrap()
            .roadmap()
            .iter()
            .find(|p| p.evaluation.limit == "pool_exhausted")
            .map(|p| p.breaks_before_growth)
    };
    assert_eq!(pool_must(&r), Some(false), "13x is beyond 10x");

    let wider = ROADMAP.replace("[roadmap]\n", "[roadmap]\ngrowth_factor = 20\n");
    r.reload(&wider, T0 + 30.0);
    r.tick(T0 + 60.0).await;
    r.tick(T0 + 120.0).await;
    assert_eq!(pool_must(&r), Some(true), "13x is within 20x");
    assert_eq!(
        r.metric("runway_roadmap_changes_total{change=\"must_address\",limit=\"pool_exhausted\"}"),
        Some(0.0)
    );
    assert!(
        r.sink
            .take()
            .iter()
            .all(|a| a.labels["alertname"] != "RoadmapChanged"),
        "no notice"
    );
}

/// The example rules' descriptions say how likely a wall is when it pages
/// ("at least 30% likely") from `runway_alert_probability`: it follows the
/// setting through a reload, as the alert times do.
#[tokio::test]
async fn the_alert_probability_is_exported_and_follows_a_reload() {
    let mut r = rig(DISK);
    // Filling with noise, so that the wall's time is uncertain.
    let fill = filling(T0 + 3.0 * DAY);
    r.source.set(
        "node_filesystem_avail_bytes",
        vec![(
            labels(&[("instance", "db-1")]),
            Arc::new(move |t: f64| fill(t) + 2e9 * crate::support::noise(7, (t / 60.0) as u64)),
        )],
    );
    r.tick(T0).await;
    assert_eq!(r.metric("runway_alert_probability "), Some(0.3));
    let at = |r: &Rig| {
        r.metrics.render().lines().find_map(|l| {
            l.strip_prefix("runway_time_to_wall_alert_seconds{")
                .and_then(|rest| rest.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        })
    };
    let before = at(&r).expect("an alert time for the filling disk");

    let bolder = DISK.replace("[evaluation]\n", "[evaluation]\nalert_probability = 0.1\n");
    r.reload(&bolder, T0 + 30.0);
    r.tick(T0 + 60.0).await;
    assert_eq!(r.metric("runway_alert_probability "), Some(0.1));
    let after = at(&r).expect("an alert time for the filling disk");
    assert!(
        after < before - 60.0,
        "a wall 10% likely comes before one 30% likely: {after} s, was {before} s"
    );
}

/// A reload's reply says what moved where the limits do not show it: new
/// Alertmanagers, new source settings.
#[tokio::test]
async fn a_reload_says_where_alerts_now_go_and_that_the_source_changed() {
    let mut r = rig(DISK);
    let moved = DISK
        .replace(
            "[alerting]\n",
            "[alerting]\nalertmanagers = [\"http://am-1:9093\"]\n",
        )
        .replace(
            "url = \"http://prometheus.invalid:9090\"",
            "url = \"http://prometheus.invalid:9090\"\ntimeout = \"5s\"",
        );
    assert_ne!(moved, DISK);
    let done = r.reload(&moved, T0);
    assert_eq!(
        done.to_string(),
        "1 limit configured; source settings changed; alerting to: am"
    );
}

/// A configuration that is valid but most likely not what was meant (a
/// lead time far beyond the history it is forecast from) is said where a
/// team looks: on the reload's outcome and on the status page, from the
/// start, until a reload mends it.
#[tokio::test]
async fn a_lead_far_beyond_the_history_is_said_on_the_reload_and_the_page_until_mended() {
    let short = DISK.replace("lookback = \"2d\"", "lookback = \"12h\"");
    let mut r = rig(&short);
    let page = runway::page::render(&r.snapshot.read().unwrap(), T0);
    assert!(
        page.contains("id=\"config-advice\"")
            && page
                .contains("limits[0].lead_time: &quot;warning&quot;'s lead time (7d) is 14 times"),
        "{page}"
    );
    let done = r.reload(DISK, T0);
    assert_eq!(done.to_string(), "1 limit configured; changed: disk_full");
    let page = runway::page::render(&r.snapshot.read().unwrap(), T0);
    assert!(!page.contains("config-advice"), "{page}");
    let done = r.reload(&short, T0 + 60.0);
    assert!(
        done.to_string().starts_with(
            "1 limit configured; changed: disk_full; warning: limits[0].lead_time: \"warning\"'s lead time (7d) is 14 times the history it is forecast from (evaluation.lookback, 12h)"
        ),
        "{done}"
    );
}

/// An SRE lengthens the evaluation interval of a runway whose page is
/// firing. The page's last `endsAt` was set for the old cadence; runway
/// re-sends it at once with one for the new cadence, so Alertmanager never
/// sees it expire (a "resolved" notification, then the same page again)
/// before the next evaluation sends it again.
#[tokio::test]
async fn a_reload_that_lengthens_the_interval_keeps_the_page_alive_in_alertmanager() {
    let (mut r, _) = a_disk_paging().await;
    let sent = r.sink.take();
    let warning = |sent: &[Alert]| {
        sent.iter()
            .filter(|a| a.state == AlertState::Firing && a.labels["severity"] == "warning")
            .map(|a| a.ends_at)
            .next_back()
    };
    // 4 x 1m + the 10m hold.
    let held_until = warning(&sent).expect("the page fires at the hold's end");
    assert_eq!(held_until, T0 + 600.0 + 840.0);

    let slow = DISK.replace("interval = \"1m\"", "interval = \"30m\"");
    let done = r.reload(&slow, T0 + 610.0);
    assert_eq!(done.to_string(), "1 limit configured");
    r.tick(T0 + 610.0).await;
    // Re-sent within the resend delay, valid for 4 x 30m + the hold.
    assert_eq!(
        warning(&r.sink.take()),
        Some(T0 + 610.0 + 4.0 * 1800.0 + 600.0),
        "not re-sent: Alertmanager holds the page until {held_until}, the next evaluation is at {}",
        T0 + 610.0 + 1800.0
    );
    // And afterwards at the usual pace: once an evaluation.
    r.tick(T0 + 610.0 + 1800.0).await;
    assert_eq!(
        warning(&r.sink.take()),
        Some(T0 + 610.0 + 1800.0 + 4.0 * 1800.0 + 600.0)
    );
}

/// [`DISK`] at the default lookback: a week of history at five-minute
/// points, evaluated every minute.
fn week_every_minute() -> String {
    DISK.replace("lookback = \"2d\"", "lookback = \"7d\"")
}

/// `runway_series_forecasts_total` of `disk_full` for `outcome`.
fn forecasts(r: &Rig, outcome: &str) -> Option<f64> {
    r.metric(&format!(
        "runway_series_forecasts_total{{limit=\"disk_full\",outcome=\"{outcome}\"}}"
    ))
}

/// The range's points are aligned to its five-minute step, so the
/// evaluations a minute apart within one step read the same points: their
/// forecasts are counted down from the step's first, not computed again
/// (four in five, at the defaults), and say what computing them again
/// would. New points, or a changed one, are computed.
#[tokio::test]
async fn within_a_step_an_unchanged_series_forecast_is_counted_down_not_computed_again() {
    let mut r = rig(&week_every_minute());
    let clear = clearable_disk(&mut r);
    let likely = |r: &Rig| {
        let snap = r.snapshot.read().unwrap();
        let e = &snap.limits["disk_full"].evaluations[0];
        (e.at, e.forecast.eta.expect("approaching").likely)
    };
    assert_eq!(forecasts(&r, "reused"), Some(0.0));

    r.tick(T0).await;
    let (at, first) = likely(&r);
    assert_eq!(at, T0);
    assert!((first / DAY - 3.0).abs() < 0.05, "{first}");
    let calls = r.source.calls();
    for minute in 1..5 {
        let now = T0 + 60.0 * f64::from(minute);
        r.tick(now).await;
        assert_eq!(likely(&r), (now, first - 60.0 * f64::from(minute)));
    }
    assert_eq!(forecasts(&r, "computed"), Some(1.0));
    assert_eq!(forecasts(&r, "reused"), Some(4.0));
    // The source is still asked at every evaluation: a series that changes
    // within the step is seen.
    assert_eq!(r.source.calls(), calls + 4);
    // The warning has waited out its hold on the counted-down forecasts
    // since the first.
    assert_eq!(r.metric("runway_alerts{state=\"pending\"}"), Some(1.0));

    // The next step's points: computed, and the same wall, within a minute.
    r.tick(T0 + 300.0).await;
    assert_eq!(forecasts(&r, "computed"), Some(2.0));
    let (_, next) = likely(&r);
    assert!(
        (next - (first - 300.0)).abs() < 60.0,
        "{next} after {first}"
    );

    // The disk cleaned up within the step: computed at once, no wall
    // ahead, and the warning no longer waits.
    clear.store(true, Ordering::SeqCst);
    r.tick(T0 + 360.0).await;
    assert_eq!(forecasts(&r, "computed"), Some(3.0));
    assert_eq!(forecasts(&r, "reused"), Some(4.0));
    assert_eq!(r.metric("runway_alerts{state=\"pending\"}"), Some(0.0));
    let snap = r.snapshot.read().unwrap();
    assert_eq!(snap.limits["disk_full"].evaluations[0].forecast.eta, None);
}

/// A reload that changes how a limit is forecast (here its model) within
/// a step has it computed again; one that changes only its alerts' labels
/// keeps counting its forecasts down.
#[tokio::test]
async fn a_reload_that_changes_how_a_limit_is_forecast_has_it_computed_again() {
    let mut r = rig(&week_every_minute());
    clearable_disk(&mut r);
    let outcome = |r: &Rig| {
        let snap = r.snapshot.read().unwrap();
        let e = &snap.limits["disk_full"].evaluations[0];
        (forecasts(r, "computed"), e.forecast.model)
    };
    r.tick(T0).await;
    let (computed, chosen) = outcome(&r);
    assert_eq!(computed, Some(1.0));
    assert_ne!(chosen, ModelChoice::Linear);
    r.reload(
        &week_every_minute().replace("\"storage\"", "\"disks\""),
        T0 + 30.0,
    );
    r.tick(T0 + 60.0).await;
    assert_eq!(outcome(&r).0, Some(1.0));
    r.reload(
        &format!("{}model = \"linear\"\n", week_every_minute()),
        T0 + 90.0,
    );
    r.tick(T0 + 120.0).await;
    assert_eq!(outcome(&r), (Some(2.0), ModelChoice::Linear));
}
