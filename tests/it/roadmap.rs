//! The scaling roadmap against a real Prometheus holding three limits of
//! known shape: a queue that fills in two days (no driver: its headroom is
//! wall / today's level), a latency that grows with the square of traffic
//! (with a driver: a power law) and breaks at a known load, and a nearly
//! idle pool that breaks only beyond ten times today's load. The roadmap
//! must rank them in their true order, with headroom within 10% of the
//! truth, in the terminal, the API, /metrics and on the status page as a
//! real browser renders it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    free_port, noisy, now_secs, path_str, runway, towards, OpenMetrics, Prometheus, Runway,
};

const DAY: f64 = 86_400.0;
const SPAN: f64 = 3.0 * DAY;
const STEP: f64 = 60.0;
/// How close a headroom must come to the truth (the issue's 10%).
const HEADROOM_TOLERANCE: f64 = 0.10;

/// The queue: 6,000 now, rising 2,000 a day to its wall of 10,000.
const QUEUE_NOW: f64 = 6_000.0;
const QUEUE_WALL: f64 = 10_000.0;
/// Traffic: 100 requests a second three days ago, 10 more each day.
const RPS_NOW: f64 = 130.0;
const RPS_PER_DAY: f64 = 10.0;
/// Latency = 0.1 s × (rps / 100)²; the objective 0.4 s is reached at 200
/// requests a second.
const LATENCY_WALL: f64 = 0.4;
const LOAD_AT_WALL: f64 = 200.0;
/// The pool: 5 of 100 connections busy, flat.
const POOL_NOW: f64 = 5.0;
const POOL_WALL: f64 = 100.0;

struct Truth {
    limit: &'static str,
    status: &'static str,
    headroom: f64,
}

/// In their true order: the queue breaks in 2 days (inside its 7-day lead
/// time), the latency when traffic reaches 200 in 7 days (past its 3-day
/// lead time, with 1.54x headroom: before 10x), the pool never at today's
/// trend and only at 20x load (deferred).
fn truths() -> [Truth; 3] {
    [
        Truth {
            limit: "queue_full",
            status: "warning",
            headroom: QUEUE_WALL / QUEUE_NOW,
        },
        Truth {
            limit: "checkout_latency",
            status: "before_growth",
            headroom: LOAD_AT_WALL / RPS_NOW,
        },
        Truth {
            limit: "pool_exhausted",
            status: "deferred",
            headroom: POOL_WALL / POOL_NOW,
        },
    ]
}

fn history(end: f64) -> OpenMetrics {
    let rps = noisy(end, SPAN, STEP, 0.005 * RPS_NOW, 11, |dt| {
        RPS_NOW + RPS_PER_DAY * dt / DAY
    });
    let latency: Vec<(f64, f64)> = rps
        .iter()
        .enumerate()
        .map(|(i, &(t, x))| {
            let jitter = 1.0 + 0.01 * crate::support::noise(12, i as u64);
            (t, 0.1 * (x / 100.0).powi(2) * jitter)
        })
        .collect();
    let mut h = OpenMetrics::new();
    h.gauge_history(
        "queue_depth",
        &[("queue", "ingest")],
        &noisy(
            end,
            SPAN,
            STEP,
            20.0,
            13,
            towards(QUEUE_NOW, QUEUE_WALL, 2.0 * DAY),
        ),
    )
    .gauge_history("http_requests_per_second", &[("service", "checkout")], &rps)
    .gauge_history(
        "checkout_latency_p99_seconds",
        &[("service", "checkout")],
        &latency,
    )
    .gauge_history(
        "pool_connections_in_use",
        &[("pool", "payments")],
        &noisy(end, SPAN, STEP, 0.05, 14, |_| POOL_NOW),
    );
    h
}

fn config(port: u16, source: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[source]
url = "{source}"
timeout = "5s"

[evaluation]
interval = "1s"
lookback = "3d"
hold = "0s"
backtest_every = "0s"

[roadmap]
growth_factor = 10

[[limits]]
name = "pool_exhausted"
query = "pool_connections_in_use"
wall = {POOL_WALL}
direction = "rising"
lead_time = "3d"

[[limits]]
name = "checkout_latency"
query = "checkout_latency_p99_seconds"
driver = "sum(http_requests_per_second)"
wall = {LATENCY_WALL}
direction = "rising"
lead_time = "3d"

[[limits]]
name = "queue_full"
query = "queue_depth"
wall = {QUEUE_WALL}
direction = "rising"
lead_time = "7d"
"#
    )
}

fn near(what: &str, got: f64, truth: f64, tolerance: f64) {
    eprintln!(
        "{what}: {got:.4} against {truth:.4} ({:+.1}%)",
        100.0 * (got / truth - 1.0)
    );
    assert!(
        ((got - truth) / truth).abs() <= tolerance,
        "{what}: {got} is not within {:.0}% of the truth {truth}",
        100.0 * tolerance
    );
}

/// Checks a roadmap's JSON against the truth: order, stages, headroom, and
/// the driver's fitted response.
fn assert_roadmap(doc: &Value) {
    assert_eq!(doc["growth_factor"], 10.0, "{doc:#}");
    assert!(doc["generated_at"].is_string(), "{doc:#}");
    let points = doc["breaking_points"]
        .as_array()
        .unwrap_or_else(|| panic!("no breaking_points: {doc:#}"));
    let order: Vec<&str> = points
        .iter()
        .map(|p| p["limit"].as_str().unwrap_or("?"))
        .collect();
    let truth = truths();
    let want: Vec<&str> = truth.iter().map(|t| t.limit).collect();
    assert_eq!(order, want, "ranked first to last:\n{doc:#}");
    for (p, t) in points.iter().zip(&truth) {
        assert_eq!(p["status"], t.status, "{}: {p:#}", t.limit);
        let headroom = p["load_headroom_ratio"]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: no headroom: {p:#}", t.limit));
        near(
            &format!("{} load headroom", t.limit),
            headroom,
            t.headroom,
            HEADROOM_TOLERANCE,
        );
        let before = t.status != "deferred";
        assert_eq!(p["breaks_before_growth"], before, "{}: {p:#}", t.limit);
    }
    let (queue, latency, pool) = (&points[0], &points[1], &points[2]);
    near(
        "queue time to wall",
        queue["time_to_wall_seconds"].as_f64().expect("queue eta"),
        2.0 * DAY,
        0.05,
    );
    assert_eq!(queue["headroom_basis"], "proportional", "{queue:#}");
    assert!(
        queue["headroom_note"]
            .as_str()
            .is_some_and(|n| n.contains("proportion to load")),
        "the assumption is stated: {queue:#}"
    );
    assert_eq!(latency["headroom_basis"], "driver", "{latency:#}");
    let driver = &latency["driver"];
    assert_eq!(driver["response"], "power", "{latency:#}");
    near(
        "latency's response exponent",
        driver["exponent"].as_f64().expect("exponent"),
        2.0,
        0.05,
    );
    near(
        "load at the latency objective",
        driver["load_at_wall"].as_f64().expect("load_at_wall"),
        LOAD_AT_WALL,
        HEADROOM_TOLERANCE,
    );
    // Traffic grows 10 a day from 130: it reaches 200 in 7 days.
    near(
        "when traffic reaches the latency's breaking load",
        driver["time_to_load_seconds"].as_f64().expect("a date"),
        7.0 * DAY,
        HEADROOM_TOLERANCE,
    );
    assert!(pool["time_to_wall_seconds"].is_null(), "{pool:#}");
}

/// `runway roadmap` in the terminal: the same order and figures as JSON,
/// and as a table and Markdown a person can paste into a ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roadmap_ranks_three_limits_in_their_true_order_with_their_load_headroom() {
    let prometheus = Prometheus::start(&history(now_secs().floor())).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("runway.toml");
    std::fs::write(&file, config(free_port(), &prometheus.url())).expect("write config");

    let json = runway(
        &["roadmap", "--config", path_str(&file), "--output", "json"],
        "",
    );
    json.assert_success();
    assert_roadmap(&json.json());
    // The growth factor decides what is deferred: before 100x, the idle
    // pool (20x) must be addressed too.
    let wider = runway(
        &[
            "roadmap",
            "--config",
            path_str(&file),
            "--growth",
            "100",
            "--no-backtest",
            "--output",
            "json",
        ],
        "",
    );
    wider.assert_success();
    let doc = wider.json();
    assert_eq!(doc["growth_factor"], 100.0);
    assert_eq!(doc["breaking_points"][2]["limit"], "pool_exhausted");
    assert_eq!(doc["breaking_points"][2]["status"], "before_growth");

    let table = runway(&["roadmap", "--config", path_str(&file)], "");
    table.assert_success();
    let must = table
        .stdout
        .find("Must address before 10x load or within 10 lead times")
        .expect("a must-address section");
    let deferred = table
        .stdout
        .find("Deferred: breaks beyond 10x load and not within 10 lead times")
        .expect("a deferred section");
    let at = |name: &str| {
        table
            .stdout
            .find(name)
            .unwrap_or_else(|| panic!("{name} missing:\n{}", table.stdout))
    };
    assert!(
        must < at("queue_full") && at("queue_full") < at("checkout_latency"),
        "{}",
        table.stdout
    );
    assert!(
        at("checkout_latency") < deferred && deferred < at("pool_exhausted"),
        "{}",
        table.stdout
    );
    let latency_line = table
        .stdout
        .lines()
        .find(|l| l.contains("checkout_latency"))
        .expect("the latency's row");
    near(
        "the table's latency headroom",
        headroom_in(latency_line),
        LOAD_AT_WALL / RPS_NOW,
        HEADROOM_TOLERANCE,
    );

    let md = runway(
        &[
            "roadmap",
            "--config",
            path_str(&file),
            "--output",
            "markdown",
        ],
        "",
    );
    md.assert_success();
    assert!(md.stdout.starts_with("# Scaling roadmap"), "{}", md.stdout);
    assert!(
        md.stdout
            .contains("## Must address before 10x load or within 10 lead times"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| 1 | queue_full |"),
        "a Markdown table, ranked:\n{}",
        md.stdout
    );
}

/// The daemon serves the same roadmap on /api/v1/roadmap and /metrics, and
/// its status page, rendered by a real headless Chromium, shows the ranked
/// roadmap and a chart per breaking point. The screenshot is kept in
/// `target/test-artifacts/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_the_ranked_roadmap_with_a_chart_per_breaking_point() {
    let prometheus = Prometheus::start(&history(now_secs().floor())).await;
    let port = free_port();
    let runway = Runway::start(&config(port, &prometheus.url()), port).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let doc = loop {
        let (status, body) = runway.get("/api/v1/roadmap").await;
        assert_eq!(status, 200, "{body}");
        let envelope: Value = serde_json::from_str(&body).expect("roadmap JSON");
        assert_eq!(envelope["status"], "success", "{envelope:#}");
        let doc = envelope["data"].clone();
        if doc["breaking_points"]
            .as_array()
            .is_some_and(|p| p.len() == 3)
        {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "no roadmap of three points: {doc:#}\n{}",
            runway.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_roadmap(&doc);
    // Another order of magnitude, asked for: before 100x the idle pool
    // must be addressed too; a factor that is no growth is refused.
    let (status, body) = runway.get("/api/v1/roadmap?growth=100").await;
    assert_eq!(status, 200, "{body}");
    let wider: Value = serde_json::from_str::<Value>(&body).expect("roadmap JSON")["data"].clone();
    assert_eq!(wider["growth_factor"], 100.0);
    assert_eq!(wider["breaking_points"][2]["status"], "before_growth");
    let (status, body) = runway.get("/api/v1/roadmap?growth=0.5").await;
    assert_eq!(status, 400, "{body}");
    let refused: Value = serde_json::from_str(&body).expect("an error in JSON");
    assert_eq!(
        refused["error"],
        "growth=\"0.5\" must be a number above 1, such as 10"
    );
    // A query string that does not parse is answered the same way.
    let (status, body) = runway.get("/api/v1/roadmap?growth=2&growth=3").await;
    assert_eq!(status, 400, "{body}");
    let refused: Value = serde_json::from_str(&body).expect("an error in JSON");
    assert_eq!(refused["errorType"], "bad_data", "{body}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("growth")),
        "{body}"
    );

    let metrics = runway.metrics_text().await;
    let line = |name: &str, label: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l.contains(label))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} for {label}:\n{metrics}"))
    };
    near(
        "exported latency headroom",
        line("runway_load_headroom_ratio{", "limit=\"checkout_latency\""),
        LOAD_AT_WALL / RPS_NOW,
        HEADROOM_TOLERANCE,
    );
    assert_eq!(
        line("runway_breaks_before_growth{", "limit=\"pool_exhausted\""),
        0.0
    );
    assert_eq!(
        line("runway_breaks_before_growth{", "limit=\"queue_full\""),
        1.0
    );
    assert_eq!(line("runway_roadmap_growth_factor", ""), 10.0);
    // The HELP says the horizon the roadmap defers by, in the words its
    // headings use.
    let help = metrics
        .lines()
        .find(|l| l.starts_with("# HELP runway_breaks_before_growth "))
        .unwrap_or_else(|| panic!("no HELP for runway_breaks_before_growth:\n{metrics}"));
    assert!(
        help.contains(&format!("within {},", runway::roadmap::horizon_words())),
        "{help}"
    );

    let url = runway.url();
    let artifacts = artifacts_dir();
    let screenshot = artifacts.join("status-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let dom = chromium(&["--dump-dom", &url]);
    chromium(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1366,1800",
        &url,
    ]);
    let png = std::fs::metadata(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()));
    assert!(
        png.len() > 10_000,
        "a near-empty screenshot: {} bytes",
        png.len()
    );

    // What a person looks for: how many things to address, in what order,
    // how much load each takes, and a picture of each.
    assert!(
        dom.contains(
            "<strong id=\"must-count\">2</strong> breaking points to address before load grows 10x"
        ),
        "the headline count:\n{dom}"
    );
    let roadmap = section(&dom, "<table id=\"roadmap\"", "</table>");
    let order: Vec<&str> = roadmap
        .match_indices("data-limit=\"")
        .map(|(i, m)| {
            let rest = &roadmap[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect();
    assert_eq!(order, ["queue_full", "checkout_latency"], "{roadmap}");
    let latency_row = section(roadmap, "data-limit=\"checkout_latency\"", "</tr>");
    near(
        "the page's latency headroom",
        headroom_in(section(latency_row, "class=\"num headroom\"", "</td>")),
        LOAD_AT_WALL / RPS_NOW,
        HEADROOM_TOLERANCE,
    );
    let deferred = section(&dom, "<details id=\"deferred\"", "</details>");
    assert!(deferred.contains("pool_exhausted"), "{deferred}");
    near(
        "the page's pool headroom",
        headroom_in(section(deferred, "class=\"num headroom\"", "</td>")),
        POOL_WALL / POOL_NOW,
        HEADROOM_TOLERANCE,
    );
    // A chart per breaking point: history, the wall, and for the two that
    // approach it, the projection with its band.
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 3, "{dom}");
    assert_eq!(dom.matches("class=\"wall\"").count(), 3, "{dom}");
    assert_eq!(dom.matches("class=\"history\"").count(), 3, "{dom}");
    assert_eq!(dom.matches("class=\"band\"").count(), 2, "{dom}");
    assert!(
        dom.contains("breaks at 1.5"),
        "the driver's figure is explained:\n{dom}"
    );
    assert!(dom.contains("power law"), "{dom}");
}

/// The last "1.55x"-style figure in `text`, as shown to a person.
fn headroom_in(text: &str) -> f64 {
    text.split(|c: char| c.is_whitespace() || c == '>' || c == '<')
        .filter_map(|w| w.strip_suffix('x'))
        .filter_map(|n| n.parse::<f64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no headroom figure in {text:?}"))
}

/// The slice of `text` from `start` to the next `end`.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{text}"));
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    &text[from..to]
}

/// `target/test-artifacts/`, where screenshots are kept for a look.
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// Runs Debian's headless Chromium (installed by scripts/test) with a fresh
/// profile and without the background traffic this machine's closed network
/// refuses; returns its standard output.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run /usr/bin/chromium (scripts/test installs it)");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// When a wall comes materially closer between evaluations (and stays
/// there for `roadmap.hold`, 3 s here), the running daemon logs it, counts
/// it on /metrics and lists it in /api/v1/roadmap:
/// a real Prometheus first holds a queue 30 days from its wall, then (its
/// data replaced) one growing three times as fast, 10 days away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_that_comes_closer_is_logged_counted_and_listed() {
    let queue = |end: f64, days: f64| {
        let mut h = OpenMetrics::new();
        h.gauge_history(
            "queue_depth",
            &[("queue", "ingest")],
            &noisy(
                end,
                SPAN,
                STEP,
                20.0,
                21,
                towards(4000.0, 10_000.0, days * DAY),
            ),
        );
        h
    };
    let mut prometheus = Prometheus::start(&queue(now_secs().floor(), 30.0)).await;
    let port = free_port();
    let config = format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[source]
url = "{}"
timeout = "5s"

[evaluation]
interval = "1s"
lookback = "3d"
backtest_every = "0s"

[roadmap]
hold = "3s"

[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 10000
direction = "rising"
lead_time = "7d"
"#,
        prometheus.url()
    );
    let runway = Runway::start(&config, port).await;
    let counter = |text: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("runway_roadmap_changes_total{")
                    && l.contains("change=\"sooner\"")
                    && l.contains("limit=\"queue_full\"")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    assert_eq!(counter(&runway.metrics_text().await), Some(0.0));

    prometheus
        .restart_with(&queue(now_secs().floor(), 10.0))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if counter(&runway.metrics_text().await) == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no re-roadmap counted:\n{}",
            runway.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = runway.log();
    let line = log
        .lines()
        .find(|l| l.contains("the roadmap moved"))
        .unwrap_or_else(|| panic!("not logged:\n{log}"));
    assert!(
        line.contains("limit=queue_full") && line.contains("change=\"sooner\""),
        "{line}"
    );
    let (_, body) = runway.get("/api/v1/roadmap").await;
    let doc = serde_json::from_str::<Value>(&body).expect("roadmap JSON")["data"].clone();
    assert_eq!(doc["changes"][0]["limit"], "queue_full", "{doc:#}");
    assert_eq!(doc["changes"][0]["change"], "sooner", "{doc:#}");
    let now = doc["changes"][0]["time_to_wall_seconds"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((now / DAY - 10.0).abs() < 1.0, "{doc:#}");
}
