//! `runway backtest` as a user runs it: on a saved history with a known
//! crossing, on a flat one, on a saved query_range answer with two series,
//! and on files that cannot be read. Exit codes, standard output and
//! standard error are what is checked.

use serde_json::Value;

use crate::support::{csv, noisy, path_str, runway, unix, Run};

const DAY: f64 = 86_400.0;
/// Histories: twelve days at five minutes.
const SPAN: f64 = 12.0 * DAY;
const STEP: f64 = 300.0;
/// The end of the histories: a fixed instant, so runs agree.
const END: f64 = 1_700_000_000.0;

/// Runs `runway backtest` with `args`; `.json()` of its result also
/// checks that it succeeded.
fn backtest(args: &[&str], stdin: &str) -> Checked {
    let mut all = vec!["backtest"];
    all.extend_from_slice(args);
    Checked(runway(&all, stdin))
}

/// `runway backtest` of `input` towards a wall at 0, falling, with `extra`.
fn falling(input: &str, extra: &[&str], stdin: &str) -> Checked {
    let mut args = vec!["--input", input, "--wall", "0", "--direction", "falling"];
    args.extend_from_slice(extra);
    backtest(&args, stdin)
}

/// A run whose JSON is only read after checking the exit code.
struct Checked(Run);

impl Checked {
    fn json(&self) -> Value {
        self.0.assert_success().json()
    }
}

impl std::ops::Deref for Checked {
    type Target = Run;
    fn deref(&self) -> &Run {
        &self.0
    }
}

/// Free bytes falling from 200 GB to 0 over ten days, ±1% noise, with two
/// more days of data after the crossing.
const CROSSING: f64 = END - 2.0 * DAY;
fn falling_disk(seed: u64) -> Vec<(f64, f64)> {
    noisy(END, SPAN, STEP, 2e9, seed, |dt| {
        200e9 * (CROSSING - (END + dt)) / (10.0 * DAY)
    })
    .into_iter()
    .map(|(t, v)| (t, v.round()))
    .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v:#}"))
}

/// A lead of 70 hours: the cuts, six hours apart, fall clear of its edge.
const LEAD: &str = "70h";

#[test]
fn backtest_of_a_known_crossing_scores_well() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.csv");
    let samples = falling_disk(5);
    std::fs::write(&file, csv(&samples)).expect("write csv");
    let out = falling(path_str(&file), &["--lead", LEAD, "--output", "json"], "").json();
    let series = out["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "{out:#}");
    let r = &series[0];
    assert_eq!(r["labels"], serde_json::json!({}));
    assert_eq!(r["lead_seconds"], 70.0 * 3600.0);

    let truth = &r["truth"];
    let crossing = num(truth, "crossing");
    assert!(
        (crossing - CROSSING).abs() < 2.0 * 3600.0,
        "crossing {crossing} is not near {CROSSING}"
    );
    assert_eq!(
        unix(truth["crossing_at"].as_str().unwrap()),
        crossing.floor()
    );
    assert_eq!(truth["samples"], samples.len());
    assert_eq!(truth["smooth"], 5, "runway's breach window");

    let cuts = r["cuts"].as_array().expect("cuts");
    assert_eq!(cuts.len(), 30, "the default");
    for c in cuts {
        assert!(num(c, "t") < crossing, "{c:#}");
        assert!(num(c, "truth_seconds") > 0.0, "{c:#}");
        assert!(unix(c["at"].as_str().unwrap()) <= num(c, "t"));
    }

    let m = &r["summary"];
    eprintln!("summary: {m}");
    assert!(num(m, "eta_error_median") < 0.05, "{m:#}");
    assert_eq!(num(m, "eta_hit_rate_1_5x"), 1.0, "{m:#}");
    assert_eq!(num(m, "f1"), 1.0, "{m:#}");
    assert_eq!(m["false_alarms"], 0, "{m:#}");
    assert!(num(m, "true_positives") >= 5.0, "{m:#}");
    assert!(num(m, "band_coverage") > 0.0, "scored: {m:#}");
    assert_eq!(m["band_nominal"], 0.9);
    // Every band-scored cut is inside its band, before it or after it.
    let sides = num(m, "band_coverage") + num(m, "before_band_ratio") + num(m, "after_band_ratio");
    assert!((sides - 1.0).abs() < 1e-9, "{m:#}");
    // Which way the times err: a share of the cuts with a truth.
    assert!((0.0..=1.0).contains(&num(m, "late_ratio")), "{m:#}");
    assert!(
        num(m, "late_ratio") + num(m, "early_ratio") <= 1.0,
        "late and early cuts are apart: {m:#}"
    );
    assert_eq!(m["models"]["robust"], 30, "{m:#}");

    // The same history on standard input gives the same report.
    let from_stdin = falling("-", &["--lead", LEAD, "--output", "json"], &csv(&samples));
    assert_eq!(from_stdin.json(), out);
}

#[test]
fn backtest_of_a_flat_series_raises_no_alarm() {
    let flat = noisy(END, SPAN, STEP, 3e9, 6, |_| 150e9);
    let out = falling(
        "-",
        &["--lead", "3d", "--cuts", "20", "--output", "json"],
        &csv(&flat),
    )
    .json();
    let r = &out["series"][0];
    assert!(r["truth"]["crossing"].is_null(), "{r:#}");
    let m = &r["summary"];
    assert_eq!(m["cuts"], 20, "{m:#}");
    assert_eq!(m["alerts"], 0, "{m:#}");
    assert_eq!(m["false_alarms"], 0, "{m:#}");
    assert_eq!(m["false_alarm_rate"], 0.0, "{m:#}");
    assert!(m["eta_error_median"].is_null(), "no truth to score: {m:#}");
    for c in r["cuts"].as_array().unwrap() {
        assert!(c["truth_seconds"].is_null(), "{c:#}");
        assert_eq!(c["alert"], false, "{c:#}");
        assert_eq!(c["correct"], true, "{c:#}");
    }
}

#[test]
fn backtest_table_shows_each_cut_and_the_summary() {
    let run = falling(
        "-",
        &["--lead", LEAD, "--cuts", "5"],
        &csv(&falling_disk(7)),
    );
    assert_eq!(run.code, Some(0), "{}", run.show());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("CUT") && l.contains("TRUTH") && l.contains("PREDICTED"))
        .unwrap_or_else(|| panic!("no header: {}", run.show()));
    for row in &lines[header + 1..header + 6] {
        // RFC 3339 cut time first, the model last.
        let cut = row.split_whitespace().next().unwrap();
        unix(cut);
        assert!(row.ends_with("robust"), "{row}");
    }
    for want in [
        "truth: the wall is reached at ",
        "eta error median: ",
        "hit rate within 1.5x: 100%",
        "alerts (wall within 2d 22h): precision 100%, recall 100%, F1 1.000",
        "band coverage: ",
        "(nominal 90%); the truth came before the band at ",
        "(nominal 5% each)",
        "late at 0% of those cuts, early at 0% (off by more than a factor 1.1 either way",
        "models chosen: robust 5",
    ] {
        assert!(run.stdout.contains(want), "no {want:?}: {}", run.show());
    }
}

#[test]
fn backtest_of_a_saved_query_range_answer_reports_each_series() {
    let values = |samples: Vec<(f64, f64)>| -> Value {
        samples
            .into_iter()
            .map(|(t, v)| serde_json::json!([t, format!("{v}")]))
            .collect()
    };
    let answer = serde_json::json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "node_filesystem_avail_bytes", "instance": "node-3"},
             "values": values(falling_disk(8))},
            {"metric": {"__name__": "node_filesystem_avail_bytes", "instance": "node-4"},
             "values": values(noisy(END, SPAN, STEP, 3e9, 9, |_| 150e9))},
        ]}
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("saved.json");
    std::fs::write(&file, answer.to_string()).expect("write saved answer");
    let out = falling(path_str(&file), &["--lead", LEAD, "--output", "json"], "").json();
    let series = out["series"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{out:#}");
    assert_eq!(
        series[0]["labels"],
        serde_json::json!({"instance": "node-3"})
    );
    assert_eq!(num(&series[0]["summary"], "f1"), 1.0);
    assert_eq!(
        series[1]["labels"],
        serde_json::json!({"instance": "node-4"})
    );
    assert_eq!(series[1]["summary"]["alerts"], 0);
}

#[test]
fn backtest_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "timestamp,value\n1700000000,5\n1700000300,five\n").expect("write");
    let missing = dir.path().join("missing.csv");
    for (file, want) in [
        (path_str(&broken), format!("{}:3:", path_str(&broken))),
        (
            path_str(&missing),
            format!("cannot read {}", path_str(&missing)),
        ),
    ] {
        let run = falling(file, &[], "");
        assert!(
            run.code.is_some_and(|c| c != 0),
            "a bad file was accepted: {}",
            run.show()
        );
        assert!(run.stderr.contains(&want), "no {want:?}: {}", run.show());
        assert!(run.stdout.trim().is_empty(), "{}", run.show());
    }
    // A wall or direction beside --config, which would be ignored: each
    // configured limit has its own.
    for extra in [["--wall", "5"], ["--direction", "rising"]] {
        let mut args = vec!["--config", "runway.toml"];
        args.extend_from_slice(&extra);
        let run = backtest(&args, "");
        assert!(
            run.code == Some(2) && run.stderr.contains(extra[0]) && run.stderr.contains("--config"),
            "{}",
            run.show()
        );
    }
    // No cuts; a lead of nothing, which would only ever alert on a wall
    // already reached.
    for (flag, value) in [("--cuts", "0"), ("--lead", "0s")] {
        let run = falling("-", &[flag, value], "1,2\n");
        assert!(
            run.code.is_some_and(|c| c != 0) && run.stderr.contains(flag),
            "{}",
            run.show()
        );
    }
}

/// `runway backtest --config`: each limit replayed on its own history,
/// fetched from the real Prometheus the daemon would query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_of_a_configured_limit_replays_its_history_from_prometheus() {
    use crate::support::{now_secs, OpenMetrics, Prometheus};
    let end = now_secs().floor();
    // Free bytes fell from 1.3 TB to the 100 GB wall, which they reached
    // two days ago, over the twelve days the backtest fetches.
    let crossed = end - 2.0 * DAY;
    let history = noisy(end, SPAN, STEP, 3e9, 9, |dt| {
        100e9 + 1.2e12 * (crossed - (end + dt)) / (10.0 * DAY)
    });
    let mut om = OpenMetrics::new();
    om.gauge_history(
        "node_filesystem_avail_bytes",
        &[("instance", "node-3"), ("mountpoint", "/data")],
        &history,
    );
    // A disk mounted two days ago: too little history to judge a 70h lead.
    let young: Vec<_> = history
        .iter()
        .filter(|&&(t, _)| t > end - 2.0 * DAY)
        .map(|&(t, _)| (t, 900e9))
        .collect();
    om.gauge_history(
        "node_filesystem_avail_bytes",
        &[("instance", "node-3"), ("mountpoint", "/new")],
        &young,
    );
    let prometheus = Prometheus::start(&om).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("runway.toml");
    std::fs::write(
        &config,
        format!(
            r#"[source]
url = "{}"
[evaluation]
lookback = "3d"
[[limits]]
name = "typo"
query = "node_filesystem_avail_bytes{{"
wall = 1
direction = "falling"
lead_time = "1d"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 100e9
direction = "falling"
lead_time = {{ critical = "1d", warning = "70h" }}
"#,
            prometheus.url()
        ),
    )
    .expect("write config");
    // The limit whose query Prometheus rejects is reported, and the one
    // after it is still replayed; the exit status says one was not.
    let run = backtest(&["--config", path_str(&config), "--output", "json"], "");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("limit typo: ") && run.stderr.contains("not backtested"),
        "{}",
        run.stderr
    );
    let out = run.0.json();
    assert_eq!(out["limits"][0]["limit"], "typo", "{out:#}");
    assert!(out["limits"][0]["error"].is_string(), "{out:#}");
    let limit = &out["limits"][1];
    assert_eq!(limit["limit"], "disk_full", "{out:#}");
    assert_eq!(
        limit["lead_seconds"],
        70.0 * 3600.0,
        "the longest lead time"
    );
    assert_eq!(limit["history_seconds"], 12.0 * DAY, "four lookbacks");
    let r = &limit["series"][0];
    assert_eq!(r["labels"]["instance"], "node-3");
    // Each cut is forecast from what an evaluation would have seen.
    assert_eq!(r["lookback_seconds"], 3.0 * DAY, "{r:#}");
    let crossing = num(&r["truth"], "crossing");
    assert!(
        (crossing - crossed).abs() < 3.0 * 3600.0,
        "{crossing} vs {crossed}"
    );
    let m = &r["summary"];
    assert!(num(m, "eta_error_median") < 0.1, "{m:#}");
    assert!(num(m, "f1") >= 0.8, "{m:#}");
    // The limit taken together: what was judged, what could not be and why.
    let pooled = &limit["pooled"];
    assert_eq!(pooled["series"], 2, "{pooled:#}");
    assert_eq!(pooled["replayed"], 1, "{pooled:#}");
    let why = pooled["without_cuts"]
        .as_object()
        .and_then(|m| m.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()));
    assert!(
        why.as_ref()
            .is_some_and(|(k, v)| k.contains("too short") && v == 1),
        "{pooled:#}"
    );
    assert_eq!(pooled["summary"], r["summary"], "one series judged");

    let table = backtest(&["--config", path_str(&config), "--limit", "disk_full"], "");
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    assert!(
        table
            .stdout
            .contains("== limit disk_full (2 series, 12d of history asked, lead 2d 22h)"),
        "{}",
        table.stdout
    );
    // Asked for more than the source keeps (a retention shorter than the
    // history): the heading says how much there was.
    let longer = backtest(
        &[
            "--config",
            path_str(&config),
            "--limit",
            "disk_full",
            "--history",
            "30d",
        ],
        "",
    );
    let heading = longer.stdout.lines().next().unwrap_or_default();
    assert!(
        [
            "== limit disk_full (2 series, 30d of history asked, the source has 11d 23h, lead 2d 22h)",
            "== limit disk_full (2 series, 30d of history asked, the source has 12d, lead 2d 22h)"
        ]
        .contains(&heading),
        "{}",
        longer.stdout
    );
    assert!(
        table.stdout.contains("== limit disk_full: 1 of 2 series replayed\n1 series without cuts: the wall is not reached, and the data is too short"),
        "{}",
        table.stdout
    );

    // What if it were forecast otherwise: the command line's model and
    // cycle in place of the limit's.
    let linear = backtest(
        &[
            "--config",
            path_str(&config),
            "--limit",
            "disk_full",
            "--model",
            "linear",
            "--seasonality",
            "none",
            "--output",
            "json",
        ],
        "",
    );
    assert_eq!(linear.code, Some(0), "{}", linear.stderr);
    let r = &linear.0.json()["limits"][0]["series"][0];
    assert_eq!(
        (r["model"].as_str(), r["seasonality"].as_str()),
        (Some("linear"), Some("none")),
        "{r:#}"
    );
    // A history so long that its step leaves each 3-day lookback a few
    // samples is refused, saying how much can be replayed; none at all is
    // no history.
    let far = backtest(
        &[
            "--config",
            path_str(&config),
            "--limit",
            "disk_full",
            "--history",
            "20y",
        ],
        "",
    );
    assert_eq!(far.code, Some(2), "{}", far.stderr);
    assert!(
        far.stderr
            .contains("limit disk_full: a history of 20y is read at a step of 17h 32m")
            && far
                .stderr
                .contains("a lookback of 3d would hold 4 samples at each cut; ask for 5y"),
        "{}",
        far.stderr
    );
    let none = backtest(&["--config", path_str(&config), "--history", "0s"], "");
    assert_eq!(none.code, Some(2), "{}", none.stderr);
    assert!(
        none.stderr.contains("must be longer than zero"),
        "{}",
        none.stderr
    );

    let missing = backtest(&["--config", path_str(&config), "--limit", "inodes"], "");
    assert_ne!(missing.code, Some(0));
    assert!(
        missing.stderr.contains("--limit inodes") && missing.stderr.contains("typo, disk_full"),
        "{}",
        missing.stderr
    );
}
