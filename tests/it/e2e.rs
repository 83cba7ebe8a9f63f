//! End to end: a real Prometheus holding known history, the runway daemon
//! querying it, a real Alertmanager and a webhook receiver standing in for
//! the person paged. Every history is a line with deterministic noise ending
//! now, so the true time to wall is known, and what runway exports, serves
//! and sends is checked against it.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    assert_near_truth, free_port, noisy, now_secs, towards, unix, Alertmanager, OpenMetrics,
    Prometheus, Runway, VictoriaMetrics, WebhookReceiver, TOLERANCE,
};

const DAY: f64 = 86_400.0;
/// Every history: three days at 60 s, ending now (`evaluation.lookback`).
const SPAN: f64 = 3.0 * DAY;
const STEP: f64 = 60.0;
/// How long any awaited condition may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Known histories
// ---------------------------------------------------------------------------

/// A series generated from a line that reaches its wall `seconds_to_wall`
/// after the history's `end`.
#[derive(Debug, Clone, Copy)]
struct Truth {
    end: f64,
    seconds_to_wall: f64,
}

impl Truth {
    /// The true time to wall as seen at `t`.
    fn at(&self, t: f64) -> f64 {
        self.seconds_to_wall - (t - self.end)
    }
}

/// Free bytes of a filesystem falling from `free_now` to 0 in
/// `seconds_to_wall`, with ±1% noise, in whole bytes.
fn falling_disk(end: f64, seed: u64, free_now: f64, seconds_to_wall: f64) -> Vec<(f64, f64)> {
    noisy(
        end,
        SPAN,
        STEP,
        0.01 * free_now,
        seed,
        towards(free_now, 0.0, seconds_to_wall),
    )
    .into_iter()
    .map(|(t, v)| (t, v.round()))
    .collect()
}

/// Free bytes growing back over the whole window (a cleanup, then files
/// being deleted as they age out): moving away from the wall.
fn recovering_disk(end: f64, seed: u64, free_now: f64) -> Vec<(f64, f64)> {
    noisy(end, SPAN, STEP, 0.01 * free_now, seed, move |dt| {
        free_now + free_now * 0.5 * dt / SPAN
    })
    .into_iter()
    .map(|(t, v)| (t, v.round()))
    .collect()
}

const DISK: &str = "node_filesystem_avail_bytes";

/// What the tests of the paging path start from: the two disks (see
/// [`two_disks`]) in a Prometheus of their own, an Alertmanager that pages
/// a webhook receiver, a free port for runway, and the near disk's truth.
async fn two_disks_paging(end: f64) -> (Prometheus, WebhookReceiver, Alertmanager, u16, Truth) {
    let (history, near, _far) = two_disks(end);
    let prometheus = Prometheus::start(&history).await;
    let webhook = WebhookReceiver::start().await;
    let alertmanager = Alertmanager::start(&webhook.url()).await;
    (prometheus, webhook, alertmanager, free_port(), near)
}

/// The near disk (node-3 /data, 0 in 2 days) and the far one (node-4 /data,
/// 0 in 30 days), ending at `end`.
fn two_disks(end: f64) -> (OpenMetrics, Truth, Truth) {
    let near = Truth {
        end,
        seconds_to_wall: 2.0 * DAY,
    };
    let far = Truth {
        end,
        seconds_to_wall: 30.0 * DAY,
    };
    let mut history = OpenMetrics::new();
    history
        .gauge_history(
            DISK,
            &[("instance", "node-3"), ("mountpoint", "/data")],
            &falling_disk(end, 1, 200e9, near.seconds_to_wall),
        )
        .gauge_history(
            DISK,
            &[("instance", "node-4"), ("mountpoint", "/data")],
            &falling_disk(end, 2, 600e9, far.seconds_to_wall),
        );
    (history, near, far)
}

// ---------------------------------------------------------------------------
// Runway's configuration
// ---------------------------------------------------------------------------

/// A daemon configuration evaluating every second over three days of
/// history, sending to `alertmanagers` (may be empty), with `limits` (TOML
/// `[[limits]]` tables) appended.
fn config(port: u16, source: &str, alertmanagers: &[String], hold: &str, limits: &str) -> String {
    let targets: Vec<String> = alertmanagers.iter().map(|u| format!("{u:?}")).collect();
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[source]
url = "{source}"
timeout = "5s"

[alerting]
alertmanagers = [{targets}]
resend_delay = "1s"
timeout = "2s"

[evaluation]
interval = "1s"
lookback = "3d"
hold = "{hold}"

{limits}"#,
        targets = targets.join(", ")
    )
}

const DISK_LIMIT: &str = r#"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = "7d"
labels = { team = "storage" }
"#;

// ---------------------------------------------------------------------------
// The text exposition format
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed /metrics page.
#[derive(Debug, Clone)]
struct Exposition {
    text: String,
    samples: Vec<Sample>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let samples = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| parse_sample(l).unwrap_or_else(|e| panic!("{e} in line {l:?} of:\n{text}")))
            .collect();
        Exposition {
            text: text.to_string(),
            samples,
        }
    }

    /// The samples named `name` whose labels include `labels`.
    fn all(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The value of the one sample matching, None if there is none; panics
    /// if several match.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.all(name, labels);
        assert!(
            found.len() <= 1,
            "{name}{labels:?} matches {} samples: {found:?}",
            found.len()
        );
        found.first().map(|s| s.value)
    }

    /// `get`, which must find a sample.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} on /metrics:\n{}", self.text))
    }

    /// The sum of every sample matching (0 if none), for counters whose
    /// other labels do not matter.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.all(name, labels).iter().map(|s| s.value).sum()
    }
}

/// `name{a="1",b="x\"y"} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            // Label name up to '=' (or the closing brace).
            let mut key = String::new();
            let close;
            loop {
                let (i, c) = chars.next().ok_or("unterminated label set")?;
                match c {
                    '}' if key.trim().is_empty() => {
                        close = Some(i);
                        break;
                    }
                    '=' => {
                        close = None;
                        break;
                    }
                    ',' if key.trim().is_empty() => {}
                    c => key.push(c),
                }
            }
            if let Some(i) = close {
                rest = &after[i + 1..];
                break;
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label {key} has no quoted value"));
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next().ok_or("unterminated label value")?;
                match c {
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key.trim().to_string(), value);
        }
    }
    let value = rest
        .split_whitespace()
        .next()
        .ok_or("no value after the labels")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

// ---------------------------------------------------------------------------
// Waiting and reading
// ---------------------------------------------------------------------------

fn log_tail(runway: &Runway) -> String {
    let log = runway.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Polls /metrics until `pred` holds; panics with the last page and runway's
/// log after `PATIENCE`.
async fn wait_metrics(
    runway: &Runway,
    what: &str,
    pred: impl Fn(&Exposition) -> bool,
) -> Exposition {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = Exposition::parse(&runway.metrics_text().await);
        if pred(&page) {
            return page;
        }
        if Instant::now() >= deadline {
            panic!(
                "waited {PATIENCE:?} for {what}; last /metrics:\n{}\nrunway log tail:\n{}",
                page.text,
                log_tail(runway)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls /api/v1/forecasts until `pred` holds; panics with the last answer
/// and runway's log after `PATIENCE`.
async fn wait_api(runway: &Runway, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let api = get_json(runway, "/api/v1/forecasts").await;
        if pred(&api) {
            return api;
        }
        if Instant::now() >= deadline {
            panic!(
                "waited {PATIENCE:?} for {what}; last /api/v1/forecasts:\n{api:#}\nrunway log tail:\n{}",
                log_tail(runway)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_json(runway: &Runway, path: &str) -> Value {
    let (status, body) = runway.get(path).await;
    assert_eq!(status, 200, "GET {path}: HTTP {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// /api/v1/forecasts and /metrics from one and the same evaluation: the API
/// is read before and after the page, and the triple is kept only if the API
/// did not change in between (evaluations are a second apart).
async fn consistent_read(runway: &Runway) -> (Value, Exposition) {
    for _ in 0..50 {
        let before = get_json(runway, "/api/v1/forecasts").await;
        let page = Exposition::parse(&runway.metrics_text().await);
        let after = get_json(runway, "/api/v1/forecasts").await;
        if before == after {
            return (after, page);
        }
    }
    panic!("/api/v1/forecasts changed during each of 50 reads of /metrics");
}

fn has_alert(notifications: &[Value], status: &str, pred: impl Fn(&Value) -> bool) -> bool {
    notifications.iter().any(|n| {
        n["status"] == status
            && n["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["status"] == status && pred(a)))
    })
}

/// The first resolved alert matching `pred` in `notifications`.
fn first_resolved(notifications: &[Value], pred: impl Fn(&Value) -> bool) -> Value {
    crate::support::all_alerts(notifications)
        .into_iter()
        .find(|a| a["status"] == "resolved" && pred(a))
        .expect("a resolved alert")
}

fn label(alert: &Value, name: &str) -> String {
    alert["labels"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// "1d 23h", "5h", "40s" (runway's human durations) in seconds.
fn human_seconds(s: &str) -> f64 {
    s.split_whitespace()
        .map(|part| {
            let (n, unit) = part.split_at(part.len() - 1);
            let n: f64 = n.parse().unwrap_or_else(|e| panic!("{s:?}: {part:?}: {e}"));
            n * match unit {
                "y" => 365.25 * DAY,
                "d" => DAY,
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                _ => panic!("{s:?}: unknown unit in {part:?}"),
            }
        })
        .sum()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// What a dashboard reads: every series' time to wall on /metrics, close to
/// the known truth, with its band, values and runway's own health, in a page
/// that Prometheus' own linter accepts; and the JSON API saying the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_wall_on_metrics_matches_the_known_truth() {
    let end = now_secs().floor();
    let disk = Truth {
        end,
        seconds_to_wall: 2.0 * DAY,
    };
    let queue = Truth {
        end,
        seconds_to_wall: 20.0 * DAY,
    };
    let mut history = OpenMetrics::new();
    history
        .gauge_history(
            DISK,
            &[("instance", "node-3"), ("mountpoint", "/data")],
            &falling_disk(end, 1, 200e9, disk.seconds_to_wall),
        )
        .gauge_history(
            DISK,
            &[("instance", "node-1"), ("mountpoint", "/")],
            &noisy(end, SPAN, STEP, 0.0, 3, |_| 50e9),
        )
        .gauge_history(
            "queue_depth",
            &[("queue", "ingest")],
            &noisy(
                end,
                SPAN,
                STEP,
                50.0,
                4,
                towards(4000.0, 10_000.0, queue.seconds_to_wall),
            )
            .into_iter()
            .map(|(t, v)| (t, v.round()))
            .collect::<Vec<_>>(),
        );
    let prometheus = Prometheus::start(&history).await;
    let port = free_port();
    let limits = format!(
        "{DISK_LIMIT}
[[limits]]
name = \"queue_full\"
query = 'queue_depth'
wall = 10000
direction = \"rising\"
lead_time = \"3d\"
"
    );
    let runway = Runway::start(&config(port, &prometheus.url(), &[], "0s", &limits), port).await;

    let disk_labels = [
        ("limit", "disk_full"),
        ("instance", "node-3"),
        ("mountpoint", "/data"),
    ];
    let flat_labels = [
        ("limit", "disk_full"),
        ("instance", "node-1"),
        ("mountpoint", "/"),
    ];
    let queue_labels = [("limit", "queue_full"), ("queue", "ingest")];
    wait_metrics(&runway, "every forecast", |m| {
        [&disk_labels[..], &flat_labels, &queue_labels]
            .iter()
            .all(|l| m.get("runway_time_to_wall_seconds", l).is_some())
    })
    .await;
    let (api, m) = consistent_read(&runway).await;
    let evaluated_at = unix(api["data"]["evaluated_at"].as_str().expect("evaluated_at"));
    assert!(
        evaluated_at >= end && evaluated_at <= now_secs(),
        "evaluated_at {evaluated_at} is not between the history's end {end} and now"
    );

    // Times to wall against the truth at the evaluation.
    let ttw = |l: &[(&str, &str)]| m.value("runway_time_to_wall_seconds", l);
    assert_near_truth(
        "disk time to wall",
        ttw(&disk_labels),
        disk.at(evaluated_at),
    );
    assert_near_truth(
        "queue time to wall",
        ttw(&queue_labels),
        queue.at(evaluated_at),
    );
    assert_eq!(ttw(&flat_labels), f64::INFINITY, "flat series");
    // The same as a moment: the evaluation's time plus its time to wall.
    let wall_at = |l: &[(&str, &str)]| m.value("runway_wall_timestamp_seconds", l);
    assert!(
        (wall_at(&disk_labels) - (evaluated_at + ttw(&disk_labels))).abs() <= 1.0,
        "{}",
        m.text
    );
    assert_eq!(wall_at(&flat_labels), f64::INFINITY, "flat series");
    // And the alert's time, for rules that must keep counting down while a
    // limit cannot be evaluated.
    let alert_at = m.value("runway_wall_alert_timestamp_seconds", &disk_labels);
    let alert = m.value("runway_time_to_wall_alert_seconds", &disk_labels);
    assert!(
        alert.is_finite() && (alert_at - (evaluated_at + alert)).abs() <= 1.0,
        "alert at {alert_at}, alert time {alert} after {evaluated_at}\n{}",
        m.text
    );
    assert_eq!(
        m.value("runway_wall_alert_timestamp_seconds", &flat_labels),
        f64::INFINITY,
        "flat series"
    );
    assert!(
        m.text
            .lines()
            .any(|l| l.starts_with("runway_time_to_wall_seconds{")
                && l.contains("instance=\"node-1\"")
                && l.ends_with(" +Inf")),
        "the flat series' time to wall is not written +Inf:\n{}",
        m.text
    );

    // The band around it, and the rest of each forecast, on the same labels.
    for (labels, wall, current, rate) in [
        (&disk_labels[..], 0.0, 200e9, -200e9 / disk.seconds_to_wall),
        (
            &queue_labels,
            10_000.0,
            4000.0,
            6000.0 / queue.seconds_to_wall,
        ),
        (&flat_labels, 0.0, 50e9, 0.0),
    ] {
        let lower = m.value("runway_time_to_wall_lower_seconds", labels);
        let likely = ttw(labels);
        let upper = m.value("runway_time_to_wall_upper_seconds", labels);
        let alert = m.value("runway_time_to_wall_alert_seconds", labels);
        // The alert time is never before the band's earliest edge; it may
        // be after the likely time when damped trends doubt the trend lasts.
        assert!(
            lower <= alert && lower <= likely && likely <= upper,
            "{labels:?}: band {lower} <= {likely} <= {upper} with alert {alert} >= {lower} does not hold"
        );
        assert_eq!(m.value("runway_wall_value", labels), wall, "{labels:?}");
        let got = m.value("runway_current_value", labels);
        assert!(
            (got - current).abs() <= 0.02 * current,
            "{labels:?}: current value {got}, the newest sample is about {current}"
        );
        let got = m.value("runway_growth_rate_per_second", labels);
        assert!(
            (got - rate).abs() <= TOLERANCE * rate.abs(),
            "{labels:?}: growth rate {got}/s, the truth is {rate}/s"
        );
    }
    assert_eq!(
        m.value(
            "runway_forecast_info",
            &[("instance", "node-3"), ("status", "approaching")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "runway_forecast_info",
            &[("instance", "node-1"), ("status", "receding")]
        ),
        1.0
    );

    // Runway's own health.
    assert!(m.value("runway_evaluation_duration_seconds_count", &[]) >= 1.0);
    let last = m.value("runway_last_successful_evaluation_timestamp_seconds", &[]);
    assert!(
        last >= end && last <= now_secs(),
        "last successful evaluation at {last}, not since the start ({end})"
    );
    assert!(
        m.value(
            "runway_source_requests_total",
            &[("kind", "range"), ("outcome", "success")]
        ) > 0.0
    );
    assert_eq!(
        m.value("runway_series_evaluated", &[("limit", "disk_full")]),
        2.0
    );
    assert_eq!(
        m.value("runway_series_evaluated", &[("limit", "queue_full")]),
        1.0
    );
    assert_eq!(m.value("runway_limits", &[]), 2.0);

    // Prometheus' linter accepts the page as it is.
    let mut promtool = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/promtool");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(m.text.as_bytes())
        .expect("write to promtool");
    let out = promtool.wait_with_output().expect("promtool output");
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}\n--- the page:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        m.text
    );

    // The JSON API: the same numbers, soonest wall first.
    let rows = api["data"]["forecasts"].as_array().expect("forecasts");
    assert_eq!(rows.len(), 3, "{api:#}");
    assert_eq!(rows[0]["labels"]["instance"], "node-3", "ranking: {api:#}");
    assert_eq!(rows[1]["labels"]["queue"], "ingest", "ranking: {api:#}");
    assert_eq!(rows[2]["labels"]["instance"], "node-1", "ranking: {api:#}");
    for (row, labels) in rows
        .iter()
        .zip([&disk_labels[..], &queue_labels, &flat_labels])
    {
        assert_eq!(row["limit"], labels[0].1);
        for (key, metric) in [
            ("time_to_wall_seconds", "runway_time_to_wall_seconds"),
            (
                "time_to_wall_lower_seconds",
                "runway_time_to_wall_lower_seconds",
            ),
            (
                "time_to_wall_upper_seconds",
                "runway_time_to_wall_upper_seconds",
            ),
        ] {
            let exported = m.value(metric, labels);
            match row[key].as_f64() {
                Some(v) => assert!(
                    (v - exported).abs() <= 1.0,
                    "{labels:?}: {key} is {v} in the API but {exported} on /metrics"
                ),
                None => assert!(
                    row[key].is_null() && exported == f64::INFINITY,
                    "{labels:?}: {key} is {} in the API but {exported} on /metrics",
                    row[key]
                ),
            }
        }
    }
    assert_eq!(rows[2]["status"], "receding");
    let wall_at = unix(rows[0]["wall_at"].as_str().expect("wall_at of the disk"));
    assert_near_truth(
        "disk wall_at, from the end of the history",
        wall_at - end,
        disk.seconds_to_wall,
    );

    // Evaluated every second on points two minutes apart, most evaluations
    // read the points the one before read: their forecasts are counted
    // down, not computed again. Two pages within one step: the later has
    // counted more forecasts down and computed none, and its disk wall is
    // at the same moment, its time to wall shorter.
    let made = |m: &Exposition, outcome: &str| {
        m.get(
            "runway_series_forecasts_total",
            &[("limit", "disk_full"), ("outcome", outcome)],
        )
        .unwrap_or(0.0)
    };
    let deadline = Instant::now() + PATIENCE;
    let (first, second) = loop {
        let first = Exposition::parse(&runway.metrics_text().await);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let second = Exposition::parse(&runway.metrics_text().await);
        if made(&second, "computed") == made(&first, "computed") {
            break (first, second);
        }
        assert!(
            Instant::now() < deadline,
            "no two pages within one step in {PATIENCE:?}:\n{}",
            second.text
        );
    };
    assert!(
        made(&second, "reused") >= made(&first, "reused") + 2.0,
        "{}",
        second.text
    );
    let wall = |m: &Exposition| m.value("runway_wall_timestamp_seconds", &disk_labels);
    let ttw_of = |m: &Exposition| m.value("runway_time_to_wall_seconds", &disk_labels);
    // The same moment, but for the last bits of a sum of two times.
    assert!(
        (wall(&first) - wall(&second)).abs() < 1e-3,
        "{} then {}",
        wall(&first),
        wall(&second)
    );
    assert!(ttw_of(&second) < ttw_of(&first), "{}", second.text);
}

/// The person paged gets exactly one alert: the filesystem that fills within
/// the lead time, with everything needed to act on it; never the one a month
/// away; and a resolution once the trend turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_alertmanager_only_for_the_wall_inside_the_lead_window_and_resolves_when_it_recedes(
) {
    let end = now_secs().floor();
    let (mut prometheus, webhook, alertmanager, port, near) = two_disks_paging(end).await;
    let runway = Runway::start(
        &config(
            port,
            &prometheus.url(),
            &[alertmanager.url()],
            "0s",
            DISK_LIMIT,
        ),
        port,
    )
    .await;

    let is_near = |a: &Value| label(a, "instance") == "node-3";
    let seen = webhook
        .wait_for(|ns| has_alert(ns, "firing", is_near), PATIENCE)
        .await
        .unwrap_or_else(|e| panic!("{e}\nrunway log tail:\n{}", log_tail(&runway)));
    let received = now_secs();
    let alert = webhook
        .alerts()
        .into_iter()
        .find(|a| a["status"] == "firing" && is_near(a))
        .expect("the firing alert");
    let expected: BTreeMap<String, String> = [
        ("alertname", "WallApproaching"),
        ("limit", "disk_full"),
        ("severity", "warning"),
        ("instance", "node-3"),
        ("mountpoint", "/data"),
        ("team", "storage"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let got: BTreeMap<String, String> =
        serde_json::from_value(alert["labels"].clone()).expect("labels");
    assert_eq!(got, expected, "labels of {alert:#}");
    // runway's API says the same of each series: the near disk's warning
    // is firing, the far one holds none.
    let api = wait_api(&runway, "the firing alert in the API", |api| {
        api["data"]["forecasts"].as_array().is_some_and(|rows| {
            rows.iter()
                .any(|r| r["labels"]["instance"] == "node-3" && r["alerts"][0]["state"] == "firing")
        })
    })
    .await;
    for row in api["data"]["forecasts"].as_array().expect("forecasts") {
        let alerts = row["alerts"].as_array().expect("alerts");
        if row["labels"]["instance"] == "node-3" {
            assert_eq!(alerts.len(), 1, "{row:#}");
            assert_eq!(alerts[0]["severity"], "warning", "{row:#}");
        } else {
            assert!(alerts.is_empty(), "{row:#}");
        }
    }

    let ann = &alert["annotations"];
    let summary = ann["summary"].as_str().expect("summary");
    let prefix = "disk_full: {instance=\"node-3\", mountpoint=\"/data\"} reaches 0 in about ";
    let rest = summary
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("summary {summary:?} does not start with {prefix:?}"));
    let (likely, band) = rest
        .split_once(" (between ")
        .unwrap_or_else(|| panic!("summary {summary:?} has no band"));
    let (lower, upper) = band
        .strip_suffix(')')
        .and_then(|b| b.split_once(" and "))
        .unwrap_or_else(|| panic!("summary {summary:?}: band {band:?}"));
    // Two units ("1d 23h"), the second rounded, are off by up to half an
    // hour.
    let truth = near.at(received);
    let said = human_seconds(likely);
    assert!(
        (said - truth).abs() <= TOLERANCE * truth + 3600.0,
        "summary {summary:?} says {said} s, the truth is {truth} s"
    );
    assert!(
        human_seconds(lower) <= said && said <= human_seconds(upper) + 3600.0,
        "summary {summary:?}: the band does not surround the likely time"
    );
    assert_eq!(ann["time_to_wall"], likely, "{ann:#}");
    let wall_at = unix(ann["wall_at"].as_str().expect("wall_at"));
    assert_near_truth(
        "wall_at, from the end of the history",
        wall_at - end,
        near.seconds_to_wall,
    );
    let model = ann["model"].as_str().expect("model");
    assert!(model == "linear" || model == "robust", "model {model:?}");
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{}/graph?", prometheus.url()))
                && u.contains("node_filesystem_avail_bytes")),
        "generatorURL does not lead to the query in Prometheus: {alert:#}"
    );
    // Its second graph is the paged disk alone, beside its wall: asked of
    // the same Prometheus, it answers that one series and a flat line at 0.
    let link = reqwest::Url::parse(alert["generatorURL"].as_str().unwrap_or_default())
        .expect("generatorURL is a URL");
    let (_, series_graph) = link
        .query_pairs()
        .find(|(k, _)| k == "g1.expr")
        .unwrap_or_else(|| panic!("no graph of the series alone in {link}"));
    let answer = prometheus.instant_values(&series_graph, end).await;
    let mut shown: Vec<String> = answer
        .iter()
        .map(|(l, v)| match l.get("runway_wall") {
            Some(wall) => format!("wall {wall} at {v}"),
            None => format!("{} {}", l["instance"], l["mountpoint"]),
        })
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        ["node-3 /data", "wall 0 at 0"],
        "{series_graph} in {link}"
    );

    // A few evaluations (and resends) later, still nothing about the far disk.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let m = Exposition::parse(&runway.metrics_text().await);
    assert_eq!(m.value("runway_alerts", &[("state", "firing")]), 1.0);
    let all = webhook.alerts();
    assert!(!all.is_empty(), "{seen:?}");
    for a in &all {
        assert_eq!(
            label(a, "instance"),
            "node-3",
            "an alert about another series: {a:#}"
        );
    }

    // The trend turns: free space grows back over the whole window.
    let end = now_secs().floor();
    let mut turned = OpenMetrics::new();
    turned
        .gauge_history(
            DISK,
            &[("instance", "node-3"), ("mountpoint", "/data")],
            &recovering_disk(end, 5, 200e9),
        )
        .gauge_history(
            DISK,
            &[("instance", "node-4"), ("mountpoint", "/data")],
            &falling_disk(end, 2, 600e9, 30.0 * DAY),
        );
    prometheus.restart_with(&turned).await;
    let seen = webhook
        .wait_for(|ns| has_alert(ns, "resolved", is_near), PATIENCE)
        .await
        .unwrap_or_else(|e| panic!("{e}\nrunway log tail:\n{}", log_tail(&runway)));
    let resolved = first_resolved(&seen, is_near);
    assert_eq!(resolved["labels"], alert["labels"], "{resolved:#}");
    // Why it is over, from the forecast that ended it, reaches the receiver.
    assert_eq!(
        resolved["annotations"]["resolution"],
        "disk_full: {instance=\"node-3\", mountpoint=\"/data\"} is not approaching 0",
        "{resolved:#}"
    );
    let m = wait_metrics(&runway, "the recovered disk forecast", |m| {
        m.get(
            "runway_forecast_info",
            &[("instance", "node-3"), ("status", "receding")],
        )
        .is_some()
    })
    .await;
    assert_eq!(
        m.value(
            "runway_time_to_wall_seconds",
            &[("instance", "node-3"), ("mountpoint", "/data")]
        ),
        f64::INFINITY
    );
    let sent = m.value(
        "runway_alerts_sent_total",
        &[("alertmanager", alertmanager.url().as_str())],
    );
    assert!(sent > 0.0, "runway_alerts_sent_total is {sent}");
    // runway's log says when the page began and when it ended, once each.
    let log = runway.log();
    for what in ["alert firing", "alert resolved"] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(what) && l.contains("node-3"))
            .collect();
        assert_eq!(lines.len(), 1, "{what}: {lines:#?}");
        assert!(lines[0].contains("limit=disk_full"), "{}", lines[0]);
    }
    for a in webhook.alerts() {
        assert_eq!(
            label(&a, "instance"),
            "node-3",
            "an alert about another series: {a:#}"
        );
    }
}

/// runway says its source serves any Prometheus-compatible engine: the
/// known histories held by a real VictoriaMetrics give the times to wall
/// they give in Prometheus, through the same configuration, with walls
/// from a `wall_query` that VictoriaMetrics evaluates too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoriametrics_gives_the_forecasts_prometheus_gives() {
    let end = now_secs().floor();
    let (history, near, far) = two_disks(end);
    let victoria = VictoriaMetrics::start(&history).await;
    let port = free_port();
    let limits = format!(
        "{DISK_LIMIT}
[[limits]]
name = \"disk_half\"
query = 'node_filesystem_avail_bytes'
wall_query = 'node_filesystem_avail_bytes * 0 + 100e9'
direction = \"falling\"
lead_time = \"7d\"
"
    );
    let runway = Runway::start(&config(port, &victoria.url(), &[], "0s", &limits), port).await;
    let series = |limit: &'static str, instance: &'static str| {
        [
            ("limit", limit),
            ("instance", instance),
            ("mountpoint", "/data"),
        ]
    };
    let every = [
        series("disk_full", "node-3"),
        series("disk_full", "node-4"),
        series("disk_half", "node-3"),
        series("disk_half", "node-4"),
    ];
    wait_metrics(&runway, "every forecast", |m| {
        every
            .iter()
            .all(|l| m.get("runway_time_to_wall_seconds", l).is_some())
    })
    .await;
    let (api, m) = consistent_read(&runway).await;
    let at = unix(api["data"]["evaluated_at"].as_str().expect("evaluated_at"));
    let ttw = |l: &[(&str, &str)]| m.value("runway_time_to_wall_seconds", l);
    // Free bytes fall linearly from `free_now` at `end`: 100e9 is reached
    // when the disk has that much of its way to 0 left.
    let to = |truth: Truth, free_now: f64, wall: f64| {
        truth.at(at) - truth.seconds_to_wall * wall / free_now
    };
    assert_near_truth("near disk to 0", ttw(&every[0]), to(near, 200e9, 0.0));
    assert_near_truth("far disk to 0", ttw(&every[1]), to(far, 600e9, 0.0));
    assert_near_truth("near disk to 100e9", ttw(&every[2]), to(near, 200e9, 100e9));
    assert_near_truth("far disk to 100e9", ttw(&every[3]), to(far, 600e9, 100e9));
    assert_eq!(m.value("runway_wall_value", &every[2]), 100e9);
    assert_eq!(
        m.sum("runway_limit_evaluation_failures_total", &[]),
        0.0,
        "{}",
        m.text
    );
}

/// An SRE edits the configuration of a running runway and reloads it, as
/// they would Prometheus': with SIGHUP, a removed limit's page resolves at
/// the receiver saying why, the kept limit's page is not interrupted, and
/// the new limit is forecast; with `POST /-/reload`, a broken file is
/// refused with its problem named, on the reply, `/metrics` and the page,
/// and runway goes on evaluating what it ran before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_configuration_applies_without_a_restart_and_a_broken_one_changes_nothing() {
    let end = now_secs().floor();
    let (prometheus, webhook, alertmanager, port, _) = two_disks_paging(end).await;
    let limit = |name: &str| {
        DISK_LIMIT
            .replace("name = \"disk_full\"", &format!("name = \"{name}\""))
            .replace("labels = { team = \"storage\" }", "")
    };
    let configured =
        |limits: &str| config(port, &prometheus.url(), &[alertmanager.url()], "0s", limits);
    let runway = Runway::start(
        &configured(&format!("{}{}", limit("disk_full"), limit("disk_spare"))),
        port,
    )
    .await;
    let started = Exposition::parse(&runway.metrics_text().await);
    assert_eq!(
        started.value("runway_config_last_reload_successful", &[]),
        1.0
    );
    let about = |name: &'static str| move |a: &Value| label(a, "limit") == name;
    for name in ["disk_full", "disk_spare"] {
        webhook
            .wait_for(|ns| has_alert(ns, "firing", about(name)), PATIENCE)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\nrunway log tail:\n{}", log_tail(&runway)));
    }

    // disk_spare goes, disk_headroom comes, with a lead far beyond its
    // history: valid, and said.
    let headroom = limit("disk_headroom").replace(
        "lead_time = \"7d\"",
        "lead_time = \"7d\"\nlookback = \"12h\"\nseasonality = \"none\"",
    );
    std::fs::write(
        runway.config_path(),
        configured(&format!("{}{headroom}", limit("disk_full"))),
    )
    .expect("rewrite runway.toml");
    runway.hangup();
    let seen = webhook
        .wait_for(
            |ns| has_alert(ns, "resolved", about("disk_spare")),
            PATIENCE,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nrunway log tail:\n{}", log_tail(&runway)));
    let resolved = first_resolved(&seen, about("disk_spare"));
    assert_eq!(
        resolved["annotations"]["resolution"], "its limit was removed from runway's configuration",
        "{resolved:#}"
    );
    let m = wait_metrics(&runway, "the new limit's forecasts", |m| {
        m.get("runway_series_evaluated", &[("limit", "disk_headroom")]) == Some(2.0)
    })
    .await;
    assert_eq!(m.value("runway_limits", &[]), 2.0);
    assert_eq!(m.value("runway_config_last_reload_successful", &[]), 1.0);
    assert!(
        !m.text.contains("limit=\"disk_spare\""),
        "the removed limit is still on /metrics:\n{}",
        m.text
    );
    assert!(
        webhook
            .alerts()
            .iter()
            .all(|a| !(a["status"] == "resolved" && about("disk_full")(a))),
        "the kept limit's page was interrupted: {:#?}",
        webhook.alerts()
    );
    assert!(
        runway
            .log()
            .lines()
            .any(|l| l.contains("configuration reloaded")
                && l.contains("added: disk_headroom; removed: disk_spare")
                && l.contains("warning: limits[1].lead_time")
                && l.contains("14 times")),
        "{}",
        log_tail(&runway)
    );

    // A typo: nothing changes, and the reply says where.
    std::fs::write(
        runway.config_path(),
        configured(&limit("disk_full"))
            .replace("wall = 0", "wall = \"zero\"")
            .replace("direction = \"falling\"", "direction = \"down\""),
    )
    .expect("rewrite runway.toml");
    let (status, body) = runway.post("/-/reload").await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("runway.toml") && body.contains("limits[0].wall"),
        "{body}"
    );
    let before = wait_metrics(&runway, "the failed reload on /metrics", |m| {
        m.get("runway_config_last_reload_successful", &[]) == Some(0.0)
    })
    .await;
    let (_, page) = runway.get("/").await;
    assert!(page.contains("id=\"reload-failed\""), "{page}");
    assert!(page.contains("limits[0].wall"), "{page}");
    // In the log, on the line that has the time.
    assert!(
        runway
            .log()
            .lines()
            .any(|l| l.contains("configuration reload failed")
                && l.contains("limits[0].wall")
                && l.contains("limits[0].direction")),
        "{}",
        log_tail(&runway)
    );
    let last = |m: &Exposition, name: &str| {
        m.value(
            "runway_limit_last_success_timestamp_seconds",
            &[("limit", name)],
        )
    };
    let after = wait_metrics(&runway, "evaluations on the running configuration", |m| {
        last(m, "disk_headroom") > last(&before, "disk_headroom")
    })
    .await;
    assert_eq!(after.value("runway_limits", &[]), 2.0);

    // A credential file that cannot be read fails the reload, as it fails
    // `runway check`, rather than every evaluation after it.
    std::fs::write(
        runway.config_path(),
        configured(&limit("disk_full")).replace(
            "timeout = \"5s\"",
            "timeout = \"5s\"\nbearer_token_file = \"/nonexistent/token\"",
        ),
    )
    .expect("rewrite runway.toml");
    let (status, body) = runway.post("/-/reload").await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("runway.toml: source.bearer_token_file"),
        "{body}"
    );

    // Fixed, without the Alertmanager and on another port: the reply says
    // what changed and what waits for a restart, and the Alertmanager's
    // counters leave /metrics.
    let elsewhere = free_port();
    std::fs::write(
        runway.config_path(),
        config(elsewhere, &prometheus.url(), &[], "0s", &limit("disk_full")),
    )
    .expect("rewrite");
    let (status, body) = runway.post("/-/reload").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.trim(),
        format!(
            "configuration reloaded: 1 limit configured; removed: disk_headroom; \
             server.listen 127.0.0.1:{elsewhere} needs a restart: runway listens on 127.0.0.1:{port} until then; \
             no alerting.alertmanagers: alerts are logged, not sent"
        )
    );
    let (_, page) = runway.get("/").await;
    assert!(!page.contains("id=\"reload-failed\""), "{page}");
    let m = Exposition::parse(&runway.metrics_text().await);
    assert!(
        !m.text.contains(&alertmanager.url()),
        "the removed Alertmanager is still on /metrics:\n{}",
        m.text
    );
}

/// With two severities, the wall two days away pages at the one whose lead
/// time it is inside (warning, 7d) and not at the other (critical, 1d).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_severity_whose_lead_time_holds_the_wall_fires() {
    let end = now_secs().floor();
    let (prometheus, webhook, alertmanager, port, _) = two_disks_paging(end).await;
    let limits = DISK_LIMIT.replace(
        "lead_time = \"7d\"",
        "lead_time = { critical = \"1d\", warning = \"7d\" }",
    );
    assert_ne!(limits, DISK_LIMIT);
    let runway = Runway::start(
        &config(
            port,
            &prometheus.url(),
            &[alertmanager.url()],
            "0s",
            &limits,
        ),
        port,
    )
    .await;

    webhook
        .wait_for(
            |ns| {
                has_alert(ns, "firing", |a| {
                    label(a, "instance") == "node-3" && label(a, "severity") == "warning"
                })
            },
            PATIENCE,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nrunway log tail:\n{}", log_tail(&runway)));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let m = Exposition::parse(&runway.metrics_text().await);
    assert_eq!(m.value("runway_alerts", &[("state", "firing")]), 1.0);
    for a in webhook.alerts() {
        assert_eq!(label(&a, "severity"), "warning", "{a:#}");
        assert_eq!(label(&a, "instance"), "node-3", "{a:#}");
    }
}

/// `hold` is a rule's `for:`: a wall inside the lead time keeps the alert
/// pending, and nothing reaches Alertmanager, until it has held that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_keeps_a_brief_condition_from_paging() {
    let end = now_secs().floor();
    let (prometheus, webhook, alertmanager, port, _) = two_disks_paging(end).await;
    let runway = Runway::start(
        &config(
            port,
            &prometheus.url(),
            &[alertmanager.url()],
            "1h",
            DISK_LIMIT,
        ),
        port,
    )
    .await;

    wait_metrics(&runway, "one pending alert", |m| {
        m.get("runway_alerts", &[("state", "pending")]) == Some(1.0)
    })
    .await;
    // Five seconds: five evaluations that would each have sent it.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let m = Exposition::parse(&runway.metrics_text().await);
        assert_eq!(m.value("runway_alerts", &[("state", "pending")]), 1.0);
        assert_eq!(m.value("runway_alerts", &[("state", "firing")]), 0.0);
        assert!(
            webhook.notifications().is_empty(),
            "paged while holding: {:#?}",
            webhook.notifications()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(alertmanager.alerts().await, Value::Array(vec![]));
    let m = Exposition::parse(&runway.metrics_text().await);
    assert_eq!(
        m.sum("runway_alerts_sent_total", &[]),
        0.0,
        "alerts were sent while holding"
    );
}

/// A restart is neither a new page nor the end of one. A runway pages for
/// the near disk; it is stopped, and one started in its place (with a
/// one-hour hold, which it would otherwise wait out holding the page
/// pending while Alertmanager let it expire and notified "resolved")
/// reads the page back from the real Alertmanager and carries it on: firing
/// from its first evaluation, the same `startsAt`, and no resolved
/// notification while well past the page's old `endsAt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_runway_carries_the_page_on_without_a_resolved_notification() {
    let end = now_secs().floor();
    let (prometheus, webhook, alertmanager, port, _) = two_disks_paging(end).await;
    // Resends every 5 s: a page expires 20 s after its last send, time
    // enough for the second runway to start on a loaded machine.
    let with_hold = |port, hold| {
        config(
            port,
            &prometheus.url(),
            &[alertmanager.url()],
            hold,
            DISK_LIMIT,
        )
        .replace("resend_delay = \"1s\"", "resend_delay = \"5s\"")
    };
    let first = Runway::start(&with_hold(port, "0s"), port).await;
    webhook
        .wait_for(|ns| has_alert(ns, "firing", |_| true), PATIENCE)
        .await
        .unwrap_or_else(|e| panic!("{e}\nrunway log tail:\n{}", log_tail(&first)));
    let held = alertmanager.alerts().await;
    let starts_at = held[0]["startsAt"].as_str().expect("startsAt").to_string();
    drop(first);

    let port = free_port();
    let second = Runway::start(&with_hold(port, "1h"), port).await;
    wait_metrics(&second, "the page taken over", |m| {
        m.get("runway_alerts_taken_over_total", &[]) == Some(1.0)
    })
    .await;
    let m = Exposition::parse(&second.metrics_text().await);
    assert_eq!(m.value("runway_alerts", &[("state", "firing")]), 1.0);
    assert_eq!(m.value("runway_alerts", &[("state", "pending")]), 0.0);
    assert_eq!(
        m.sum("runway_alertmanager_read_failures_total", &[]),
        0.0,
        "{}",
        log_tail(&second)
    );
    // Past the old page's endsAt (at most 20 s after the take-over).
    tokio::time::sleep(Duration::from_secs(25)).await;
    let notifications = webhook.notifications();
    assert!(
        !has_alert(&notifications, "resolved", |_| true),
        "the restart resolved the page: {notifications:#?}"
    );
    let held = alertmanager.alerts().await;
    let held = held.as_array().expect("alerts");
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["status"]["state"], "active", "{held:#?}");
    assert_eq!(held[0]["startsAt"], starts_at.as_str(), "{held:#?}");
    assert!(
        second.log().contains("alert taken over"),
        "{}",
        log_tail(&second)
    );
}

/// A limit with a query Prometheus rejects fails on its own: the daemon
/// stays up and ready, the other limit is forecast, and the failure is
/// counted and shown with the query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_query_fails_that_limit_alone() {
    let end = now_secs().floor();
    let (history, near, _far) = two_disks(end);
    let prometheus = Prometheus::start(&history).await;
    let port = free_port();
    let broken_query = "rate(node_filesystem_avail_bytes[5m]";
    let limits = format!(
        "{DISK_LIMIT}
[[limits]]
name = \"broken\"
query = '{broken_query}'
wall = 0
direction = \"falling\"
lead_time = \"7d\"
"
    );
    let mut runway =
        Runway::start(&config(port, &prometheus.url(), &[], "0s", &limits), port).await;

    let failures = [("limit", "broken"), ("reason", "rejected")];
    let m = wait_metrics(&runway, "the broken limit failing three times", |m| {
        m.get("runway_limit_evaluation_failures_total", &failures)
            .is_some_and(|n| n >= 3.0)
    })
    .await;
    let disk_labels = [
        ("limit", "disk_full"),
        ("instance", "node-3"),
        ("mountpoint", "/data"),
    ];
    assert_near_truth(
        "the good limit's time to wall",
        m.value("runway_time_to_wall_seconds", &disk_labels),
        near.at(now_secs()),
    );
    assert_eq!(
        m.value("runway_series_evaluated", &[("limit", "disk_full")]),
        2.0
    );
    assert!(
        m.all("runway_time_to_wall_seconds", &[("limit", "broken")])
            .is_empty(),
        "forecasts for the broken limit:\n{}",
        m.text
    );
    assert_eq!(
        m.sum(
            "runway_limit_evaluation_failures_total",
            &[("limit", "disk_full")]
        ),
        0.0
    );
    // Never evaluated without error: its last success reads 0, which the
    // shipped RunwayLimitNotEvaluated sees as decades old; the good one's
    // is a real time.
    assert_eq!(
        m.get(
            "runway_limit_last_success_timestamp_seconds",
            &[("limit", "broken")]
        ),
        Some(0.0)
    );
    assert!(
        m.value(
            "runway_limit_last_success_timestamp_seconds",
            &[("limit", "disk_full")]
        ) > 0.0
    );
    // A rejected query is not retried: one request per evaluation.
    let rejected = m.value(
        "runway_source_requests_total",
        &[("kind", "range"), ("outcome", "rejected")],
    );
    let failed = m.value("runway_limit_evaluation_failures_total", &failures);
    assert!(
        rejected <= failed + 1.0,
        "{rejected} rejected requests for {failed} failed evaluations: a rejected query was retried"
    );

    assert!(
        runway.exited().is_none(),
        "runway exited:\n{}",
        log_tail(&runway)
    );
    assert_eq!(runway.get("/-/healthy").await.0, 200);
    assert_eq!(runway.get("/-/ready").await.0, 200);
    let api = get_json(&runway, "/api/v1/forecasts").await;
    let limits = api["data"]["limits"].as_array().expect("limits");
    let broken = limits
        .iter()
        .find(|l| l["limit"] == "broken")
        .unwrap_or_else(|| panic!("no broken limit in {api:#}"));
    let error = broken["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains(broken_query) && error.contains("rejected"),
        "last_error {error:?} does not name the rejected query"
    );
    let good = limits.iter().find(|l| l["limit"] == "disk_full").unwrap();
    assert!(good["last_error"].is_null(), "{good:#}");
    assert_eq!(good["series"], 2, "{good:#}");
    let rows = api["data"]["forecasts"].as_array().expect("forecasts");
    assert!(rows.iter().all(|r| r["limit"] == "disk_full"), "{api:#}");
}

/// Prometheus goes away: runway stays healthy, keeps its last forecasts on
/// /metrics, counts the unavailable source and stops claiming successful
/// evaluations, then resumes when Prometheus is back. An Alertmanager that
/// does not answer is counted too, and survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_source_is_retried_counted_and_survived() {
    let end = now_secs().floor();
    let (history, _near, _far) = two_disks(end);
    let mut prometheus = Prometheus::start(&history).await;
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let port = free_port();
    let mut runway = Runway::start(
        &config(
            port,
            &prometheus.url(),
            std::slice::from_ref(&nobody),
            "0s",
            DISK_LIMIT,
        ),
        port,
    )
    .await;
    let disk_labels = [("instance", "node-3"), ("mountpoint", "/data")];
    let unavailable = [("kind", "range"), ("outcome", "unavailable")];
    wait_metrics(&runway, "a successful evaluation and a failed send", |m| {
        m.get("runway_last_successful_evaluation_timestamp_seconds", &[])
            .is_some_and(|t| t > 0.0)
            && m.get(
                "runway_alerts_send_failures_total",
                &[("alertmanager", nobody.as_str())],
            )
            .is_some_and(|n| n > 0.0)
    })
    .await;

    prometheus.stop();
    let m = wait_metrics(&runway, "an unavailable source", |m| {
        m.get("runway_source_requests_total", &unavailable)
            .is_some_and(|n| n > 0.0)
    })
    .await;
    let first = m.value("runway_source_requests_total", &unavailable);
    let last_success = m.value("runway_last_successful_evaluation_timestamp_seconds", &[]);
    // Another whole evaluation's attempts, all failed.
    // (The limit's failure is counted once its last attempt has failed,
    // which may be after the requests are.)
    let m = wait_metrics(&runway, "more unavailable requests", |m| {
        m.get("runway_source_requests_total", &unavailable)
            .is_some_and(|n| n >= first + 3.0)
            && m.get(
                "runway_limit_evaluation_failures_total",
                &[("limit", "disk_full"), ("reason", "unavailable")],
            )
            .is_some_and(|n| n >= 1.0)
    })
    .await;
    assert_eq!(
        m.value("runway_last_successful_evaluation_timestamp_seconds", &[]),
        last_success,
        "an evaluation counted as successful while the source was down"
    );
    // Retried with backoff, an evaluation outlasts the 1 s interval, and
    // the log says so.
    assert!(
        runway
            .log()
            .contains("took longer than evaluation.interval"),
        "{}",
        log_tail(&runway)
    );
    assert!(
        m.value(
            "runway_limit_evaluation_failures_total",
            &[("limit", "disk_full"), ("reason", "unavailable")]
        ) >= 1.0
    );
    // The last good forecasts stay on the dashboard.
    assert!(m.get("runway_time_to_wall_seconds", &disk_labels).is_some());
    assert!(
        runway.exited().is_none(),
        "runway exited:\n{}",
        log_tail(&runway)
    );
    assert_eq!(runway.get("/-/healthy").await.0, 200);
    let api = get_json(&runway, "/api/v1/forecasts").await;
    let error = api["data"]["limits"][0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("node_filesystem_avail_bytes"),
        "last_error {error:?} while the source is down"
    );

    prometheus.start_again().await;
    let m = wait_metrics(&runway, "a successful evaluation after the outage", |m| {
        m.get("runway_last_successful_evaluation_timestamp_seconds", &[])
            .is_some_and(|t| t > last_success)
    })
    .await;
    assert!(m.get("runway_time_to_wall_seconds", &disk_labels).is_some());
    assert!(
        m.value(
            "runway_alerts_send_failures_total",
            &[("alertmanager", nobody.as_str())]
        ) > 0.0
    );
    assert_eq!(
        m.get(
            "runway_alerts_sent_total",
            &[("alertmanager", nobody.as_str())]
        )
        .unwrap_or(0.0),
        0.0
    );
    wait_api(&runway, "the outage's error cleared", |api| {
        api["data"]["limits"][0]["last_error"].is_null()
    })
    .await;
    assert!(
        runway.exited().is_none(),
        "runway exited:\n{}",
        log_tail(&runway)
    );
    assert_eq!(runway.get("/-/healthy").await.0, 200);
}

/// `wall_query` gives each series the wall of its own instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_query_gives_each_series_its_own_wall() {
    let end = now_secs().floor();
    let db1 = Truth {
        end,
        seconds_to_wall: 4.0 * DAY,
    };
    let db2 = Truth {
        end,
        seconds_to_wall: 8.0 * DAY,
    };
    let connections = |seed, now, wall, truth: Truth| -> Vec<(f64, f64)> {
        noisy(
            end,
            SPAN,
            STEP,
            1.5,
            seed,
            towards(now, wall, truth.seconds_to_wall),
        )
        .into_iter()
        .map(|(t, v)| (t, v.round()))
        .collect()
    };
    let mut history = OpenMetrics::new();
    history
        .gauge_history(
            "pg_stat_activity_count",
            &[("instance", "db-1")],
            &connections(6, 70.0, 100.0, db1),
        )
        .gauge_history(
            "pg_stat_activity_count",
            &[("instance", "db-2")],
            &connections(7, 120.0, 200.0, db2),
        )
        .gauge_history(
            "pg_settings_max_connections",
            &[("instance", "db-1")],
            &noisy(end, SPAN, STEP, 0.0, 0, |_| 100.0),
        )
        .gauge_history(
            "pg_settings_max_connections",
            &[("instance", "db-2")],
            &noisy(end, SPAN, STEP, 0.0, 0, |_| 200.0),
        );
    let prometheus = Prometheus::start(&history).await;
    let port = free_port();
    let limits = r#"
[[limits]]
name = "pg_connections"
query = 'pg_stat_activity_count'
wall_query = 'pg_settings_max_connections'
direction = "rising"
lead_time = "2h"
"#;
    let runway = Runway::start(&config(port, &prometheus.url(), &[], "0s", limits), port).await;
    let m = wait_metrics(&runway, "both pools' forecasts", |m| {
        m.all(
            "runway_time_to_wall_seconds",
            &[("limit", "pg_connections")],
        )
        .len()
            == 2
    })
    .await;
    let at = now_secs();
    for (instance, wall, truth) in [("db-1", 100.0, db1), ("db-2", 200.0, db2)] {
        let labels = [("limit", "pg_connections"), ("instance", instance)];
        assert_eq!(m.value("runway_wall_value", &labels), wall, "{instance}");
        assert_near_truth(
            &format!("{instance} time to wall"),
            m.value("runway_time_to_wall_seconds", &labels),
            truth.at(at),
        );
    }
    assert_eq!(
        m.value("runway_series_evaluated", &[("limit", "pg_connections")]),
        2.0
    );
    let api = get_json(&runway, "/api/v1/forecasts").await;
    assert_eq!(api["data"]["limits"][0]["unmatched_series"], 0, "{api:#}");
}
