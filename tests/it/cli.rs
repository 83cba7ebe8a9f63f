//! The binary's offline commands, run as a user runs them: `runway check`,
//! `runway forecast` on files and standard input, and `runway once` against
//! a real Prometheus. Exit codes, standard output and standard error are
//! what is checked.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    assert_near_truth, csv, noisy, now_secs, path_str, runway, towards, unix, OpenMetrics,
    Prometheus, PrometheusOptions, Run, TestCa,
};

const DAY: f64 = 86_400.0;
/// Histories: three days at 60 s.
const SPAN: f64 = 3.0 * DAY;
const STEP: f64 = 60.0;
/// The end of the offline histories: a fixed instant, so runs agree.
const END: f64 = 1_700_000_000.0;

/// Free bytes falling from 200 GB at `END` to 0 two days later, ±1% noise.
fn falling_disk() -> Vec<(f64, f64)> {
    noisy(END, SPAN, STEP, 2e9, 11, towards(200e9, 0.0, 2.0 * DAY))
        .into_iter()
        .map(|(t, v)| (t, v.round()))
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v:#}"))
}

// ---------------------------------------------------------------------------
// runway check
// ---------------------------------------------------------------------------

#[test]
fn check_accepts_the_example_configuration() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/runway.example.toml");
    let run = runway(&["check", "--config", path_str(&example)], "");
    run.assert_success();
    assert!(run.stdout.contains("ok"), "{}", run.show());
    assert!(
        !run.stderr.contains("warning"),
        "the example draws advice: {}",
        run.show()
    );
}

#[test]
fn check_advises_on_a_lead_far_beyond_the_history_and_still_passes_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("runway.yaml");
    std::fs::write(
        &file,
        r#"source:
  url: http://127.0.0.1:9090
limits:
  - name: pool_exhausted
    query: pool_connections_in_use
    wall: 100
    direction: rising
    lead_time: 30d
    lookback: 1h
    seasonality: none
"#,
    )
    .expect("write config");
    let run = runway(&["check", "--config", path_str(&file)], "");
    run.assert_success();
    assert!(run.stdout.contains("ok (1 limit)"), "{}", run.show());
    let advice: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(advice.len(), 1, "{}", run.show());
    assert!(
        advice[0].starts_with(&format!(
            "{}: warning: limits[0].lead_time:",
            path_str(&file)
        )) && advice[0].contains("720 times")
            && advice[0].contains("(limits[0].lookback, 1h)")
            && advice[0].contains("pool_exhausted"),
        "{}",
        run.show()
    );
}

#[test]
fn check_names_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("runway.toml");
    std::fs::write(
        &file,
        r#"[source]
url = "http://127.0.0.1:9090"

[evaluation]
intervall = "1m"

[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "downwards"
lead_time = "7d"

[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 10000
direction = "rising"
lead_time = "7x"

[[limits]]
name = "disk_full"
query = "node_filesystem_files_free"
wall = 0
direction = "falling"
lead_time = "1d"
"#,
    )
    .expect("write config");
    let run = runway(&["check", "--config", path_str(&file)], "");
    assert!(
        run.code.is_some_and(|c| c != 0),
        "a broken file passed: {}",
        run.show()
    );
    for (path, about) in [
        (
            "evaluation.intervall",
            "unknown key (did you mean `interval`?)",
        ),
        ("limits[0].direction", "downwards"),
        ("limits[1].lead_time", "7x"),
        ("limits[2].name", "disk_full"),
    ] {
        assert!(
            run.stderr.lines().any(|l| l.contains(path_str(&file))
                && l.contains(&format!("{path}:"))
                && l.contains(about)),
            "no line names {path} ({about}) and the file: {}",
            run.show()
        );
    }
}

#[test]
fn check_names_a_file_the_configuration_needs_that_cannot_be_read() {
    // `once` and `run` would fail on these at start or at their first
    // request; `check` used to say "ok".
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("token");
    let ca = dir.path().join("ca.pem");
    let limit = "[[limits]]\nname = \"disk_full\"\nquery = \"q\"\nwall = 0\ndirection = \"falling\"\nlead_time = \"7d\"\n";
    let config = |source: String| {
        let file = dir.path().join("runway.toml");
        std::fs::write(
            &file,
            format!("[source]\nurl = \"http://127.0.0.1:9090\"\n{source}\n{limit}"),
        )
        .expect("write config");
        runway(&["check", "--config", path_str(&file)], "")
    };
    let with_token = format!("bearer_token_file = {:?}", path_str(&token));
    let run = config(with_token.clone());
    assert_ne!(run.code, Some(0), "{}", run.show());
    assert!(
        run.stderr.contains("source.bearer_token_file") && run.stderr.contains(path_str(&token)),
        "{}",
        run.show()
    );
    std::fs::write(&token, "secret\n").expect("write token");
    let run = config(with_token);
    run.assert_success();
    assert!(run.stdout.contains("ok (1 limit)"), "{}", run.show());

    let run = config(format!("[source.tls]\nca_file = {:?}", path_str(&ca)));
    assert_ne!(run.code, Some(0), "{}", run.show());
    assert!(
        run.stderr.contains("source.tls.ca_file") && run.stderr.contains(path_str(&ca)),
        "{}",
        run.show()
    );

    // A file that is there but holds no certificate (it used to pass,
    // and every request to an https source then failed).
    for garbage in ["", "not a certificate\n"] {
        std::fs::write(&ca, garbage).expect("write ca");
        let run = config(format!("[source.tls]\nca_file = {:?}", path_str(&ca)));
        assert_ne!(run.code, Some(0), "{}", run.show());
        assert!(
            run.stderr.contains("source.tls.ca_file")
                && run.stderr.contains(path_str(&ca))
                && run.stderr.contains("holds no PEM certificate"),
            "{}",
            run.show()
        );
    }
    std::fs::remove_file(&ca).expect("remove ca");

    // Both at once are both reported: the missing CA file used to hide
    // the token's.
    std::fs::remove_file(&token).expect("remove token");
    let run = config(format!(
        "bearer_token_file = {:?}\n[source.tls]\nca_file = {:?}",
        path_str(&token),
        path_str(&ca)
    ));
    assert_ne!(run.code, Some(0), "{}", run.show());
    assert!(
        run.stderr.contains("source.tls.ca_file")
            && run.stderr.contains("source.bearer_token_file"),
        "{}",
        run.show()
    );
}

#[test]
fn check_reports_an_unreadable_token_beside_a_bad_limit() {
    // A configuration with a bad limit used to stop there: its token file
    // was only checked once the limit was fixed, a second run later.
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("token");
    let file = dir.path().join("runway.toml");
    let write = |source: &str| {
        std::fs::write(
            &file,
            format!(
                "[source]\n{source}bearer_token_file = {:?}\n[[limits]]\nname = \"disk_full\"\nquery = \"q\"\nwall = 0\ndirection = \"falling\"\nlead_time = \"soon\"\n",
                path_str(&token)
            ),
        )
        .expect("write config");
    };
    write("url = \"http://127.0.0.1:9090\"\n");
    let run = runway(&["check", "--config", path_str(&file)], "");
    assert_ne!(run.code, Some(0), "{}", run.show());
    for about in ["limits[0].lead_time", "source.bearer_token_file"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(about) && l.contains("runway.toml")),
            "{about}: {}",
            run.show()
        );
    }
    // A source section that is itself invalid is reported as it is, and
    // the files it names are not guessed at.
    write("url = \"not a url\"\n");
    let run = runway(&["check", "--config", path_str(&file)], "");
    assert_ne!(run.code, Some(0), "{}", run.show());
    assert!(run.stderr.contains("source.url"), "{}", run.show());
    assert!(!run.stderr.contains("cannot read"), "{}", run.show());
}

// ---------------------------------------------------------------------------
// runway forecast
// ---------------------------------------------------------------------------

/// `runway forecast` of `input` towards a wall at 0, falling, with `extra`.
fn forecast_falling(input: &str, stdin: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "forecast",
        "--input",
        input,
        "--wall",
        "0",
        "--direction",
        "falling",
    ];
    args.extend_from_slice(extra);
    runway(&args, stdin)
}

fn forecast_json(input: &str, stdin: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(extra);
    let run = forecast_falling(input, stdin, &args);
    run.assert_success();
    run.json()
}

#[test]
fn forecast_of_a_csv_finds_the_known_time_to_wall() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.csv");
    let samples = falling_disk();
    std::fs::write(&file, csv(&samples)).expect("write csv");
    let path = path_str(&file);

    let out = forecast_json(path, "", &["--lead", "3d"]);
    let s = &out["series"][0];
    assert_eq!(out["series"].as_array().map(Vec::len), Some(1), "{out:#}");
    assert_eq!(s["status"], "approaching", "{s:#}");
    assert!(
        s["model"] == "linear" || s["model"] == "robust",
        "model {}",
        s["model"]
    );
    let likely = num(s, "time_to_wall_seconds");
    assert_near_truth("time to wall", likely, 2.0 * DAY);
    let (lower, upper) = (
        num(s, "time_to_wall_lower_seconds"),
        num(s, "time_to_wall_upper_seconds"),
    );
    assert!(
        lower <= likely && likely <= upper,
        "band {lower} {likely} {upper}"
    );
    let wall_at = unix(s["wall_at"].as_str().expect("wall_at"));
    assert!(
        (wall_at - (END + likely)).abs() <= 1.0,
        "wall_at {} is not the newest sample + {likely} s",
        s["wall_at"]
    );
    assert_eq!(num(s, "current_value"), samples.last().unwrap().1);
    assert_eq!(num(s, "wall"), 0.0);
    assert_eq!(s["samples"], samples.len(), "{s:#}");
    assert_eq!(s["alert"], true, "2 days away, lead 3d: {s:#}");

    let out = forecast_json(path, "", &["--lead", "1d"]);
    assert_eq!(
        out["series"][0]["alert"], false,
        "2 days away, lead 1d: {out:#}"
    );

    // The same file on standard input says the same.
    let from_stdin = forecast_json("-", &csv(&samples), &["--lead", "1d"]);
    assert_eq!(from_stdin, out);
}

#[test]
fn forecast_at_a_past_instant_uses_only_the_samples_until_then() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.csv");
    // Falling until a day before the end, then a cleanup: free space jumps
    // back up. As of a day before the end, only the fall is known.
    let at = END - DAY;
    let samples: Vec<(f64, f64)> = falling_disk()
        .into_iter()
        .map(|(t, v)| if t > at { (t, v + 400e9) } else { (t, v) })
        .collect();
    std::fs::write(&file, csv(&samples)).expect("write csv");
    let at_arg = format!("{at}");
    let out = forecast_json(path_str(&file), "", &["--lead", "7d", "--at", &at_arg]);
    let s = &out["series"][0];
    assert_eq!(s["status"], "approaching", "{s:#}");
    // From a day earlier, the wall is a day further away.
    assert_near_truth(
        "time to wall at --at",
        num(s, "time_to_wall_seconds"),
        3.0 * DAY,
    );
    let before: Vec<&(f64, f64)> = samples.iter().filter(|(t, _)| *t <= at).collect();
    assert_eq!(s["samples"], before.len(), "{s:#}");
    assert_eq!(num(s, "current_value"), before.last().unwrap().1);
    let wall_at = unix(s["wall_at"].as_str().expect("wall_at"));
    assert_near_truth("wall_at from --at", wall_at - at, 3.0 * DAY);
    assert_eq!(s["alert"], true, "{s:#}");

    // Without --at, the cleanup is seen.
    let out = forecast_json(path_str(&file), "", &["--lead", "7d"]);
    assert_eq!(
        num(&out["series"][0], "current_value"),
        samples.last().unwrap().1
    );
}

#[test]
fn forecast_at_outside_the_history_is_refused_before_it_and_warned_after_it() {
    let history = csv(&falling_disk());
    let at = |t: f64| forecast_falling("-", &history, &["--at", &format!("{t}")]);
    // Before the first sample there is nothing to forecast from.
    let before = at(END - SPAN - DAY);
    assert_ne!(before.code, Some(0), "{}", before.show());
    assert!(
        before.stderr.contains("--at") && before.stderr.contains("before the first sample"),
        "{}",
        before.show()
    );
    // Before 1970 too, with its date.
    let negative = at(-5.0);
    assert_ne!(negative.code, Some(0), "{}", negative.show());
    assert!(
        negative
            .stderr
            .contains("--at -5 (1969-12-31T23:59:55Z) is before the first sample of -"),
        "{}",
        negative.show()
    );
    // After the newest, the trend is carried over the gap: said, since a
    // wrong epoch or unit is the likelier cause.
    let after = at(END + 30.0 * DAY);
    after.assert_success();
    assert!(
        after.stderr.contains("30d after the newest sample"),
        "{}",
        after.show()
    );
    // Within it, nothing to say.
    let within = at(END - DAY);
    within.assert_success();
    assert!(!within.stderr.contains("--at"), "{}", within.show());
    // A time that is none is refused as such, not as a history too short
    // ("0 finite samples") or a gap of billions of years.
    for (arg, said) in [
        ("NaN", "not a number of seconds since 1970"),
        ("inf", "not a number of seconds since 1970"),
        ("1e20", "not a Unix time in seconds"),
        // As the CSV reader refuses them.
        (
            "1796050000000",
            "looks like milliseconds; give Unix seconds (divide by 1000)",
        ),
    ] {
        let out = forecast_falling("-", &history, &["--at", arg]);
        assert_eq!(out.code, Some(2), "{}", out.show());
        assert!(
            out.stderr.contains("--at") && out.stderr.contains(said),
            "{}",
            out.show()
        );
    }
}

#[test]
fn forecast_of_a_receding_series_has_no_time_to_wall_and_no_alert() {
    let rising = noisy(END, SPAN, STEP, 1e9, 12, |dt| 200e9 + dt * 1e5);
    let out = forecast_json("-", &csv(&rising), &["--lead", "30d"]);
    let s = &out["series"][0];
    assert_eq!(s["status"], "receding", "{s:#}");
    assert!(s["time_to_wall_seconds"].is_null(), "{s:#}");
    assert!(s["wall_at"].is_null(), "{s:#}");
    assert_eq!(s["alert"], false, "{s:#}");
}

#[test]
fn forecast_table_says_it_in_a_sentence() {
    let run = forecast_falling("-", &csv(&falling_disk()), &["--lead", "3d"]);
    run.assert_success();
    let out = &run.stdout;
    assert!(
        out.lines().next().is_some_and(|l| l.starts_with("LIMIT")
            && l.contains("TIME TO WALL")
            && l.contains("WALL AT")),
        "no table header: {}",
        run.show()
    );
    let sentence = out
        .lines()
        .find(|l| l.starts_with("forecast: {} reaches 0 in about "))
        .unwrap_or_else(|| panic!("no summary sentence: {}", run.show()));
    assert!(sentence.contains("(between "), "{sentence}");
    assert!(
        out.contains("alert within 3d: yes"),
        "no alert verdict: {}",
        run.show()
    );
}

#[test]
fn forecast_of_a_malformed_csv_names_the_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.csv");
    std::fs::write(
        &file,
        "timestamp,value\n1700000000,5\n1700000060,five\n1700000120,4\n",
    )
    .expect("write csv");
    let run = runway(
        &[
            "forecast",
            "--input",
            path_str(&file),
            "--wall",
            "0",
            "--direction",
            "falling",
        ],
        "",
    );
    assert!(
        run.code.is_some_and(|c| c != 0),
        "a malformed file was accepted: {}",
        run.show()
    );
    assert!(
        run.stderr.contains(&format!("{}:3:", path_str(&file))) && run.stderr.contains("five"),
        "stderr does not name the file, line 3 and the bad value: {}",
        run.show()
    );
    assert!(run.stdout.trim().is_empty(), "{}", run.show());
}

/// Timestamps given again with another value (an export at a coarser
/// precision than its samples) are each dropped, the first value holding:
/// a few are named, the rest counted in one line, not one line each.
#[test]
fn samples_given_again_are_named_a_few_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("coarse.csv");
    let mut samples = Vec::new();
    for (i, &(t, v)) in falling_disk().iter().enumerate() {
        samples.push((t, v));
        if i < 10 {
            samples.push((t, v + 1.0));
        }
    }
    std::fs::write(&file, csv(&samples)).expect("write csv");
    let run = forecast_falling(path_str(&file), "", &[]);
    run.assert_success();
    assert_eq!(
        run.stderr.matches("is dropped").count(),
        3,
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains(
            "7 more samples at a timestamp already given, with another value, are dropped"
        ),
        "{}",
        run.show()
    );
}

/// Arguments that would be read as something else than written are refused
/// with what was written: a wall beyond a double (clap would call it
/// "inf"), a lead beyond the configuration's century, and the flags of
/// `backtest --config` given with a file, which would be ignored.
#[test]
fn arguments_that_cannot_mean_what_they_say_are_refused_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.csv");
    std::fs::write(&file, csv(&falling_disk())).expect("write csv");
    let input = path_str(&file);
    let cases: [(&[&str], &str); 5] = [
        (&["--wall", "1e400"], "\"1e400\" is not a finite number"),
        (&["--lead", "101y"], "\"101y\" is longer than 100y"),
        (&["--lead", "99999999999999999999"], "is longer than 100y"),
        (&["--limit", "disk_full"], "--input"),
        (&["--history", "30d"], "--input"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["backtest", "--input", input, "--direction", "falling"];
        if !extra.contains(&"--wall") {
            args.extend_from_slice(&["--wall", "0"]);
        }
        args.extend_from_slice(extra);
        let run = runway(&args, "");
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.show());
        assert!(run.stderr.contains(want), "{extra:?}: {}", run.show());
    }
    // The same bound as the configuration's, which is accepted.
    let run = forecast_falling(input, "", &["--lead", "100y"]);
    run.assert_success();
}

/// A query_range answer saved from a real Prometheus (as `curl` would save
/// it) with two series gives one forecast each, with their labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_of_a_saved_query_range_response_forecasts_each_series() {
    let end = now_secs().floor();
    let mut history = OpenMetrics::new();
    for (instance, seed, days) in [("node-3", 21, 2.0), ("node-4", 22, 10.0)] {
        history.gauge_history(
            "node_filesystem_avail_bytes",
            &[("instance", instance), ("mountpoint", "/data")],
            &noisy(end, SPAN, STEP, 2e9, seed, towards(200e9, 0.0, days * DAY))
                .into_iter()
                .map(|(t, v)| (t, v.round()))
                .collect::<Vec<_>>(),
        );
    }
    let prometheus = Prometheus::start(&history).await;
    let body = reqwest::Client::new()
        .get(format!("{}/api/v1/query_range", prometheus.url()))
        .query(&[
            ("query", "node_filesystem_avail_bytes".to_string()),
            ("start", format!("{}", end - SPAN)),
            ("end", format!("{end}")),
            ("step", "60".to_string()),
        ])
        .send()
        .await
        .expect("query Prometheus")
        .text()
        .await
        .expect("answer");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("saved.json");
    std::fs::write(&file, &body).expect("write saved answer");

    let out = forecast_json(path_str(&file), "", &["--lead", "7d"]);
    let series = out["series"].as_array().expect("series");
    assert_eq!(series.len(), 2, "{out:#}");
    for (instance, days, alert) in [("node-3", 2.0, true), ("node-4", 10.0, false)] {
        let s = series
            .iter()
            .find(|s| s["labels"]["instance"] == instance)
            .unwrap_or_else(|| panic!("no forecast for {instance}: {out:#}"));
        assert_eq!(
            s["labels"],
            serde_json::json!({"instance": instance, "mountpoint": "/data"}),
            "labels, without __name__"
        );
        assert_near_truth(
            &format!("{instance} time to wall"),
            num(s, "time_to_wall_seconds"),
            days * DAY,
        );
        assert_eq!(s["alert"], alert, "{s:#}");
        assert_eq!(s["samples"], 4321, "{s:#}");
    }
}

// ---------------------------------------------------------------------------
// runway once
// ---------------------------------------------------------------------------

fn once_config(dir: &Path, source: &str, limits: &str) -> std::path::PathBuf {
    let file = dir.join("runway.toml");
    std::fs::write(
        &file,
        format!(
            r#"[source]
url = "{source}"

[evaluation]
lookback = "3d"
{limits}"#
        ),
    )
    .expect("write config");
    file
}

const ONCE_LIMITS: &str = r#"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = "7d"

[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 10000
direction = "rising"
lead_time = "3d"
"#;

async fn once_prometheus() -> (Prometheus, f64) {
    // On runway's grid for a 3-day lookback (2-minute steps on multiples of
    // 2 minutes): every grid point then falls on a sample, whatever second
    // the test runs at. Off it, the grid takes one sample in two of one
    // parity or the other, and the 30-day wall, from 3 days of noisy
    // history, read 3% late or 7% early by the parity.
    let end = (now_secs() / 120.0).floor() * 120.0;
    let mut history = OpenMetrics::new();
    let disk = |seed, days: f64| -> Vec<(f64, f64)> {
        noisy(end, SPAN, STEP, 2e9, seed, towards(200e9, 0.0, days * DAY))
            .into_iter()
            .map(|(t, v)| (t, v.round()))
            .collect()
    };
    history
        .gauge_history(
            "node_filesystem_avail_bytes",
            &[("instance", "node-4"), ("mountpoint", "/data")],
            &disk(31, 30.0),
        )
        .gauge_history(
            "node_filesystem_avail_bytes",
            &[("instance", "node-3"), ("mountpoint", "/data")],
            &disk(32, 2.0),
        )
        .gauge_history(
            "node_filesystem_avail_bytes",
            &[("instance", "node-1"), ("mountpoint", "/")],
            &noisy(end, SPAN, STEP, 0.0, 0, |_| 50e9),
        )
        .gauge_history(
            "queue_depth",
            &[("queue", "ingest")],
            &noisy(
                end,
                SPAN,
                STEP,
                50.0,
                33,
                towards(4000.0, 10_000.0, 20.0 * DAY),
            )
            .into_iter()
            .map(|(t, v)| (t, v.round()))
            .collect::<Vec<_>>(),
        );
    (Prometheus::start(&history).await, end)
}

/// `runway once` prints every forecast ranked soonest wall first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_ranks_every_forecast_soonest_first() {
    let (prometheus, end) = once_prometheus().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = once_config(dir.path(), &prometheus.url(), ONCE_LIMITS);
    let run = runway(
        &["once", "--config", path_str(&file), "--output", "json"],
        "",
    );
    run.assert_success();
    let elapsed = now_secs() - end;
    let out = run.json();
    let series = out["series"].as_array().expect("series");
    let order: Vec<String> = series
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["labels"]["instance"].as_str().unwrap_or("-"),
                s["labels"]["queue"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        order,
        ["node-3/-", "-/ingest", "node-4/-", "node-1/-"],
        "{out:#}"
    );
    for (s, days) in series.iter().zip([2.0, 20.0, 30.0]) {
        assert_near_truth(
            &format!("{} time to wall", s["labels"]),
            num(s, "time_to_wall_seconds"),
            days * DAY - elapsed,
        );
    }
    assert_eq!(series[3]["status"], "receding");
    assert!(series[3]["time_to_wall_seconds"].is_null());
    // What the daemon would fire: the disk two days from full, within its
    // 7-day lead; nothing else.
    let alerts: Vec<&Value> = series.iter().map(|s| &s["would_alert"]).collect();
    assert_eq!(
        alerts,
        [&json!(["warning"]), &json!([]), &json!([]), &json!([])],
        "{out:#}"
    );
}

/// A limit whose query Prometheus rejects: the others are still printed, and
/// the exit code (2) and standard error say which limit failed. It and a
/// limit whose query matches nothing (a typo in a metric name) are listed
/// as not evaluated, so that neither reads as a limit where nothing breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_with_a_broken_limit_exits_2_and_names_it() {
    let (prometheus, _end) = once_prometheus().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = format!(
        "{ONCE_LIMITS}
[[limits]]
name = \"broken\"
query = 'rate(node_filesystem_avail_bytes[5m]'
wall = 0
direction = \"falling\"
lead_time = \"7d\"

[[limits]]
name = \"typo\"
query = 'node_filesystem_avial_bytes'
wall = 0
direction = \"falling\"
lead_time = \"7d\"
"
    );
    let file = once_config(dir.path(), &prometheus.url(), &limits);
    let run = runway(
        &["once", "--config", path_str(&file), "--output", "json"],
        "",
    );
    assert_eq!(run.code, Some(2), "{}", run.show());
    // Once, in a sentence (not again as the daemon's log line).
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.contains("rate(node_filesystem_avail_bytes[5m]"))
            .collect::<Vec<_>>(),
        vec![format!(
            "runway: limit broken not evaluated: {}",
            out_error(&run)
        )],
        "stderr names the broken limit and its query once: {}",
        run.show()
    );
    let out = run.json();
    let series = out["series"].as_array().expect("series");
    assert_eq!(series.len(), 4, "the good limits' forecasts: {out:#}");
    assert_eq!(series[0]["labels"]["instance"], "node-3");
    let missing = &out["limits_not_evaluated"];
    assert_eq!(missing[0]["limit"], "broken", "{out:#}");
    assert!(
        missing[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("rate(node_filesystem_avail_bytes[5m]")),
        "{out:#}"
    );
    assert_eq!(missing[1]["limit"], "typo", "{out:#}");
    assert_eq!(
        missing[1]["error"], "its query matched no series",
        "{out:#}"
    );

    let table = runway(&["once", "--config", path_str(&file)], "");
    assert!(
        table.stdout.contains(
            "Would alert (the daemon fires once the condition has held for the limit's hold)\n  disk_full {instance=\"node-3\", mountpoint=\"/data\"}: warning\n"
        ),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("Not evaluated")
            && table.stdout.contains("typo: its query matched no series"),
        "{}",
        table.show()
    );
}

/// The error the JSON of `once` gives its first limit not evaluated.
fn out_error(run: &crate::support::Run) -> String {
    run.json()["limits_not_evaluated"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `runway demo` is the first thing a new user runs: it must serve forecasts
/// for its three limits and log the alert it would send for the filling disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_forecasts_and_logs_the_alert_it_would_send() {
    let port = crate::support::free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    // Ended however the test ends: a failed assertion would otherwise leave
    // the demo serving, and the test run waiting on it.
    let mut demo = std::process::Command::new(env!("CARGO_BIN_EXE_runway"));
    demo.args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    let mut child = crate::support::Proc::spawn("runway demo", demo, log.path());
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/-/ready")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGHUP, which reloads `runway run`, does not end the demo, which has
    // no configuration file to read: it says so in the log and keeps
    // serving; `/-/reload` says so too.
    child.signal("HUP");
    let mut answered = false;
    for _ in 0..50 {
        if std::fs::read_to_string(log.path()).is_ok_and(|l| l.contains("SIGHUP")) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "no word on SIGHUP in the log");
    assert!(child.exited().is_none(), "SIGHUP ended runway");
    let reload = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 400);
    assert!(reload
        .text()
        .await
        .unwrap()
        .contains("no configuration file to reload"));
    // A reload by GET, or a path that is not there, is told so in words.
    let get = client.get(format!("{base}/-/reload")).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, PUT");
    assert!(get.text().await.unwrap().contains("Only POST or PUT"));
    let missing = client
        .get(format!("{base}/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), "404 page not found\n");
    let scrape = || async {
        client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let metrics = scrape().await;
    // Asked as Prometheus asks, the same page comes gzipped.
    let zipped = client
        .get(format!("{base}/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let bytes = zipped.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped)
        .expect("a gzip stream");
    assert!(
        bytes.len() * 3 < unzipped.len(),
        "{} of {}",
        bytes.len(),
        unzipped.len()
    );
    let families = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("# TYPE"))
            .map(str::to_string)
            .collect()
    };
    // The same families, give or take one that the demo's evaluations
    // (a backtest finishing) add between the two requests: every one
    // before is in it, and every one in it is there after.
    let after = scrape().await;
    let (before, gz, after) = (families(&metrics), families(&unzipped), families(&after));
    assert!(
        before.iter().all(|f| gz.contains(f)) && gz.iter().all(|f| after.contains(f)),
        "{before:?}\n{gz:?}\n{after:?}"
    );
    // So do the API's documents (megabytes of JSON at ten thousand
    // series), the same once unzipped, and marked as negotiated.
    for path in ["/api/v1/forecasts", "/api/v1/roadmap"] {
        let plain = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(plain.headers()["content-type"], "application/json");
        assert_eq!(plain.headers()["vary"], "Accept-Encoding");
        assert!(plain.headers().get("content-encoding").is_none());
        let plain: serde_json::Value = plain.json().await.unwrap();
        let zipped = client
            .get(format!("{base}{path}"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        let bytes = zipped.bytes().await.unwrap();
        let unzipped: serde_json::Value =
            serde_json::from_reader(flate2::read::GzDecoder::new(&bytes[..]))
                .expect("gzipped JSON");
        // (An evaluation may land between the two requests.)
        assert_eq!(unzipped["status"], plain["status"], "{path}");
        assert_eq!(
            unzipped["data"]
                .as_object()
                .map(|m| m.keys().collect::<Vec<_>>()),
            plain["data"]
                .as_object()
                .map(|m| m.keys().collect::<Vec<_>>()),
            "{path}"
        );
    }
    let page = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    child.kill();
    assert!(ready, "demo never became ready");
    let info: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("runway_forecast_info{"))
        .collect();
    assert_eq!(info.len(), 6, "{metrics}");
    // Its embedded configuration was read well: no bad-configuration alert.
    assert!(
        metrics.contains("\nrunway_config_last_reload_successful 1\n"),
        "{metrics}"
    );
    let db = info
        .iter()
        .find(|l| l.contains("instance=\"db-1\""))
        .expect("the filling database disk");
    assert!(db.contains("status=\"approaching\""), "{db}");
    for limit in [
        "disk_full",
        "ingest_queue_depth",
        "orders_pool_exhausted",
        "checkout_latency_slo",
    ] {
        assert!(page.contains(limit), "status page lists {limit}");
    }
    let logged = std::fs::read_to_string(log.path()).unwrap();
    let alert = logged
        .lines()
        .find(|l| l.contains("alert (not sent: log sink)"))
        .unwrap_or_else(|| panic!("no alert logged:\n{logged}"));
    assert!(
        alert.contains("db-1") && alert.contains("severity=\"warning\""),
        "{alert}"
    );
    // The flat pools, the slowly filling root volume and the latency weeks
    // from its objective are far from their walls: nothing about them is
    // alerted.
    for quiet in ["orders", "payments", "web-1", "checkout"] {
        assert!(
            !logged
                .lines()
                .any(|l| l.contains("alert (") && l.contains(quiet)),
            "{quiet} alerted:\n{logged}"
        );
    }
}

/// The table of `runway once` says, per series, why its forecast is what it
/// is: which trends were weighed and how, the cycle and the regime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_table_explains_each_forecast() {
    let (prometheus, _end) = once_prometheus().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = once_config(dir.path(), &prometheus.url(), ONCE_LIMITS);
    let run = runway(&["once", "--config", path_str(&file)], "");
    run.assert_success();
    let why: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("disk_full {") || l.starts_with("queue_full {"))
        .collect();
    assert_eq!(why.len(), 4, "one line per series:\n{}", run.stdout);
    for line in why {
        assert!(line.contains("backtest error"), "{line}");
    }
}

/// A Prometheus served over TLS by a private authority: runway reads it when
/// `source.tls.ca_file` names that authority (or with
/// `insecure_skip_verify`), and without either refuses it with an error that
/// names the limit and the certificate problem, as a person debugging a
/// proxy would need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_prometheus_is_read_with_its_authority_and_refused_without_it() {
    let ca = TestCa::for_localhost();
    let end = now_secs().floor();
    let mut history = OpenMetrics::new();
    history.gauge_history(
        "queue_depth",
        &[("queue", "ingest")],
        &noisy(
            end,
            SPAN,
            STEP,
            20.0,
            41,
            towards(4000.0, 10_000.0, 5.0 * DAY),
        ),
    );
    let prometheus = Prometheus::start_with(PrometheusOptions {
        history: Some(history),
        tls: Some((ca.cert_pem.clone(), ca.key_pem.clone())),
        ..PrometheusOptions::default()
    })
    .await;
    assert!(
        prometheus.url().starts_with("https://"),
        "{}",
        prometheus.url()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).expect("write ca.pem");
    let limit = r#"
[[limits]]
name = "queue_full"
query = "queue_depth"
wall = 10000
direction = "rising"
lead_time = "7d"
"#;
    let with_tls = |tls: &str| {
        let file = dir.path().join("runway.toml");
        std::fs::write(
            &file,
            format!(
                "[source]\nurl = \"{}\"\ntimeout = \"5s\"\n{tls}\n[evaluation]\nlookback = \"3d\"\n{limit}",
                prometheus.url()
            ),
        )
        .expect("write config");
        runway(
            &["once", "--config", path_str(&file), "--output", "json"],
            "",
        )
    };

    let trusted = with_tls(&format!(
        "[source.tls]\nca_file = \"{}\"\n",
        path_str(&ca_file)
    ));
    trusted.assert_success();
    let eta = trusted.json()["series"][0]["time_to_wall_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("a forecast over TLS:\n{}", trusted.show()));
    assert!((eta / DAY - 5.0).abs() < 0.5, "{eta}");

    let skipped = with_tls("[source.tls]\ninsecure_skip_verify = true\n");
    skipped.assert_success();

    let refused = with_tls("");
    assert_eq!(refused.code, Some(2), "{}", refused.show());
    assert!(
        refused.stderr.contains("limit queue_full not evaluated"),
        "{}",
        refused.show()
    );
    assert!(
        refused.stderr.contains("certificate") && refused.stderr.contains("source.tls.ca_file"),
        "the error says it is the certificate, and what to set:\n{}",
        refused.show()
    );
}

/// `runway roadmap` when the source cannot be reached: it exits 2, says on
/// standard error which limit was not evaluated and why, and the roadmap
/// itself (table and JSON) lists the limit as missing rather than looking
/// like a roadmap where nothing breaks.
#[test]
fn roadmap_says_which_limits_it_could_not_evaluate() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on a port that was just free.
    let source = format!("http://127.0.0.1:{}", crate::support::free_port());
    let file = once_config(
        dir.path(),
        &source,
        r#"
[[limits]]
name = "checkout_latency"
query = "checkout_latency_p99_seconds"
driver = "sum(http_requests_per_second)"
wall = 0.5
direction = "rising"
lead_time = "3d"
"#,
    );
    let table = runway(
        &["roadmap", "--config", path_str(&file), "--no-backtest"],
        "",
    );
    assert_eq!(table.code, Some(2), "{}", table.show());
    assert!(
        table
            .stderr
            .contains("limit checkout_latency not evaluated"),
        "{}",
        table.show()
    );
    assert!(
        table.stdout.contains("Not evaluated") && table.stdout.contains("checkout_latency: "),
        "{}",
        table.show()
    );
    let json = runway(
        &[
            "roadmap",
            "--config",
            path_str(&file),
            "--no-backtest",
            "--output",
            "json",
        ],
        "",
    );
    assert_eq!(json.code, Some(2), "{}", json.show());
    let doc = json.json();
    assert_eq!(doc["breaking_points"], serde_json::json!([]));
    assert_eq!(doc["limits_not_evaluated"][0]["limit"], "checkout_latency");
    assert!(
        doc["limits_not_evaluated"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("checkout_latency_p99_seconds")),
        "{doc:#}"
    );
}

/// A report piped into a reader that stops early (`| head -1`) ends the
/// command as it ends any Unix tool, by SIGPIPE: not a panic with a
/// backtrace on standard error and exit status 101.
#[test]
fn a_reader_that_stops_early_ends_the_report_quietly() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("disk.csv");
    std::fs::write(&file, csv(&falling_disk())).expect("write csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(["forecast", "--input", path_str(&file), "--wall", "0"])
        .args(["--direction", "falling"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start runway");
    // The reader is gone before the report is written (reading the
    // history and forecasting take longer than this).
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("runway ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}
