//! Configuration loading against the corpora in `tests/data/config/`:
//! every `good/` file must load, every `bad/` file must fail with exactly the
//! problem lines of its `.errors` golden file beside it.
//!
//! After an intended change of messages, regenerate the goldens with
//! `UPDATE_GOLDEN=1 cargo test --test it config` and review the diff.

use std::path::{Path, PathBuf};
use std::time::Duration;

use runway::config::{self, ConfigError, Format, LeadTime, WallSpec};
use runway::forecast::ModelChoice;
use runway::model::Direction;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir(kind: &str) -> PathBuf {
    manifest_dir().join("tests/data/config").join(kind)
}

/// Every configuration file of a corpus (anything but `.errors` goldens,
/// so that a file with an unsupported extension is tested too), sorted.
fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "errors"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn load(path: &Path) -> Result<config::Config, ConfigError> {
    // No environment: the corpora must not depend on the machine's RUNWAY_*.
    config::load_with_env(path, &[])
}

/// The lines an error is compared by: the problems' own lines for
/// validation errors (no origin, so goldens do not depend on where the
/// checkout is), the whole message with the directory removed otherwise.
fn error_lines(error: &ConfigError, dir: &Path) -> Vec<String> {
    match error {
        ConfigError::Invalid { problems, .. } => problems.iter().map(ToString::to_string).collect(),
        other => other
            .to_string()
            .replace(&format!("{}/", dir.display()), "")
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

#[test]
fn every_good_config_loads() {
    let files = corpus("good");
    assert!(files.len() >= 5, "too few good configs: {files:?}");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| load(path).err().map(|e| format!("{}:\n{e}", name(path))))
        .collect();
    assert!(
        failures.is_empty(),
        "good configs that failed:\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn every_bad_config_fails_with_its_golden_problems() {
    let dir = corpus_dir("bad");
    let files = corpus("bad");
    assert!(files.len() >= 8, "too few bad configs: {files:?}");
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in &files {
        let golden_path = path.with_extension("errors");
        let actual = match load(path) {
            Ok(_) => {
                failures.push(format!("{}: loaded, but must fail", name(path)));
                continue;
            }
            Err(e) => error_lines(&e, &dir),
        };
        if update {
            let mut text = actual.join("\n");
            text.push('\n');
            std::fs::write(&golden_path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", golden_path.display()));
            continue;
        }
        let expected: Vec<String> = match std::fs::read_to_string(&golden_path) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(e) => {
                failures.push(format!(
                    "{}: cannot read golden {} ({e}); run with UPDATE_GOLDEN=1 to create it",
                    name(path),
                    name(&golden_path)
                ));
                continue;
            }
        };
        if actual != expected {
            failures.push(format!(
                "{}: problems differ from {}\n--- expected\n{}\n--- actual\n{}",
                name(path),
                name(&golden_path),
                expected.join("\n"),
                actual.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n(after an intended change: UPDATE_GOLDEN=1 cargo test --test it config)",
        failures.join("\n\n")
    );
}

/// Goldens and configurations pair one to one: a golden without its
/// configuration would silently test nothing, and two configurations with
/// one stem (`x.toml`, `x.yaml`) would share, and fight over, one golden.
#[test]
fn goldens_and_bad_configs_pair_one_to_one() {
    let dir = corpus_dir("bad");
    let mut goldens: Vec<PathBuf> = corpus("bad")
        .iter()
        .map(|p| p.with_extension("errors"))
        .collect();
    let count = goldens.len();
    goldens.dedup();
    assert_eq!(
        goldens.len(),
        count,
        "bad configs sharing a stem: {goldens:?}"
    );
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .expect("bad corpus")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "errors") && !goldens.contains(p))
        .map(|p| name(&p))
        .collect();
    assert!(orphans.is_empty(), "goldens without a config: {orphans:?}");
}

#[test]
fn the_full_config_has_the_values_written() {
    let config = load(&corpus_dir("good").join("full.toml")).expect("full.toml loads");

    assert_eq!(config.server.listen.to_string(), "0.0.0.0:9999");
    // Trailing slash removed, the rest kept.
    assert_eq!(config.source.url, "https://mimir.example.com/prometheus");
    assert_eq!(config.source.timeout, Duration::from_secs(45));
    let auth = config.source.basic_auth.as_ref().expect("basic_auth");
    assert_eq!(auth.username, "runway");
    assert_eq!(auth.password_file, PathBuf::from("/etc/runway/password"));
    assert_eq!(config.source.headers["X-Scope-OrgID"], "tenant-1");
    assert!(config.source.tls.insecure_skip_verify);
    assert_eq!(config.source.points_per_request, 0);
    assert_eq!(
        config.alerting.alertmanagers,
        ["http://am-0.example.com:9093", "https://am-1.example.com"]
    );

    let eval = &config.evaluation;
    assert_eq!(eval.interval, Duration::from_secs(120));
    assert_eq!(eval.lookback, Duration::from_secs(14 * 86_400));
    assert_eq!(eval.step, Some(Duration::from_secs(600)));
    assert_eq!(eval.hold, Duration::ZERO);
    assert_eq!(eval.resolve_margin, 1.5);
    assert_eq!(eval.concurrency, 8);
    assert_eq!(eval.max_series_per_limit, 500);

    let disk = &config.limits[0];
    assert_eq!(disk.name, "disk_full");
    assert_eq!(disk.wall, WallSpec::Constant(0.0));
    assert_eq!(disk.direction, Direction::Falling);
    // Sorted most urgent first, whatever the order written.
    let lead = |severity: &str, days: u64| LeadTime {
        severity: severity.to_string(),
        lead: Duration::from_secs(days * 86_400),
    };
    assert_eq!(
        disk.lead_times,
        [lead("critical", 1), lead("warning", 7), lead("info", 30)]
    );
    assert_eq!(disk.lookback, Some(Duration::from_secs(28 * 86_400)));
    assert_eq!(disk.model, ModelChoice::Robust);
    assert_eq!(disk.labels["tier"], "1");
    assert_eq!(disk.alertname, "DiskWillFill");
    assert_eq!(disk.hold, Some(Duration::from_secs(900)));

    let pool = &config.limits[1];
    assert_eq!(
        pool.wall,
        WallSpec::Query("max by (instance) (pg_settings_max_connections)".to_string())
    );
    assert_eq!(
        pool.lead_times,
        [LeadTime {
            severity: "warning".to_string(),
            lead: Duration::from_secs(2 * 3600),
        }]
    );
    assert_eq!(pool.alertname, "WallApproaching");
    assert_eq!(pool.hold, None);
}

#[test]
fn the_minimal_config_gets_the_documented_defaults() {
    let config = load(&corpus_dir("good").join("minimal.toml")).expect("minimal.toml loads");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(config.source.timeout, Duration::from_secs(30));
    // A day at the default five-minute step a request: the default week
    // in seven.
    assert_eq!(config.source.points_per_request, 300);
    assert!(config.alerting.alertmanagers.is_empty());
    assert_eq!(config.alerting.resend_delay, Duration::from_secs(60));
    assert_eq!(config.alerting.timeout, Duration::from_secs(10));
    let eval = &config.evaluation;
    assert_eq!(eval.interval, Duration::from_secs(60));
    assert_eq!(eval.lookback, Duration::from_secs(7 * 86_400));
    assert_eq!(eval.step, None);
    assert_eq!(eval.hold, Duration::from_secs(300));
    assert_eq!(eval.resolve_margin, 1.25);
    assert_eq!(eval.concurrency, 4);
    assert_eq!(eval.max_series_per_limit, 10_000);
    let limit = &config.limits[0];
    assert_eq!(limit.model, ModelChoice::Auto);
    assert_eq!(limit.alertname, "WallApproaching");
    assert_eq!(
        limit.lead_times,
        [LeadTime {
            severity: "warning".to_string(),
            lead: Duration::from_secs(7 * 86_400),
        }]
    );

    // The same configuration in YAML is the same configuration.
    let yaml = load(&corpus_dir("good").join("minimal.yaml")).expect("minimal.yaml loads");
    assert_eq!(yaml, config);
}

#[test]
fn the_example_configs_load_and_agree() {
    let dir = manifest_dir().join("config");
    let toml = load(&dir.join("runway.example.toml"))
        .unwrap_or_else(|e| panic!("runway.example.toml:\n{e}"));
    let yaml = load(&dir.join("runway.example.yaml"))
        .unwrap_or_else(|e| panic!("runway.example.yaml:\n{e}"));
    assert_eq!(toml.limits.len(), 5);
    // The YAML example is the TOML one written shorter: keeping them equal
    // keeps them both correct.
    assert_eq!(yaml, toml);
}

#[test]
fn environment_overrides_the_file() {
    let path = corpus_dir("good").join("full.toml");
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    let config = config::load_with_env(&path, &env(&[("RUNWAY_EVALUATION__INTERVAL", "30s")]))
        .expect("loads with the override");
    assert_eq!(config.evaluation.interval, Duration::from_secs(30));
    // Only that key: its neighbours keep the file's values.
    assert_eq!(config.evaluation.lookback, Duration::from_secs(14 * 86_400));
    assert_eq!(config.evaluation.concurrency, 8);

    // Environment values are strings; numbers, booleans and lists are read
    // from them, and variables without the prefix are ignored.
    let config = config::load_with_env(
        &path,
        &env(&[
            ("RUNWAY_EVALUATION__RESOLVE_MARGIN", "2"),
            ("RUNWAY_EVALUATION__CONCURRENCY", "16"),
            ("RUNWAY_SOURCE__TLS__INSECURE_SKIP_VERIFY", "false"),
            (
                "RUNWAY_ALERTING__ALERTMANAGERS",
                "http://a:9093, http://b:9093",
            ),
            ("RUNWAY_SERVER__LISTEN", "127.0.0.1:1"),
            ("EVALUATION__INTERVAL", "1s"),
        ]),
    )
    .expect("loads with the overrides");
    assert_eq!(config.evaluation.resolve_margin, 2.0);
    assert_eq!(config.evaluation.concurrency, 16);
    assert!(!config.source.tls.insecure_skip_verify);
    assert_eq!(
        config.alerting.alertmanagers,
        ["http://a:9093", "http://b:9093"]
    );
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:1");
    assert_eq!(config.evaluation.interval, Duration::from_secs(120));

    // A bad value from the environment says which variable set it.
    let error = config::load_with_env(&path, &env(&[("RUNWAY_EVALUATION__INTERVAL", "soon")]))
        .expect_err("a bad interval fails");
    assert_eq!(
        error_lines(&error, Path::new("")),
        [
            r#"evaluation.interval: "soon" is not a duration (expected e.g. "90s", "7d") (from environment variable RUNWAY_EVALUATION__INTERVAL)"#
        ]
    );
}

#[test]
fn errors_name_the_file_and_list_every_problem() {
    let path = corpus_dir("bad").join("many_problems.toml");
    let error = load(&path).expect_err("many_problems.toml fails");
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), error.problems().len());
    assert!(lines.len() >= 6, "{text}");
    let prefix = format!("{}: ", path.display());
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{text}");
    assert_eq!(error.origin(), path.display().to_string());
}

#[test]
fn unreadable_and_unknown_files_are_named() {
    let missing = corpus_dir("good").join("no_such_file.toml");
    let error = load(&missing).expect_err("a missing file fails");
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(error
        .to_string()
        .starts_with(&missing.display().to_string()));

    let unknown = corpus_dir("bad").join("format.json");
    let error = load(&unknown).expect_err("a .json file fails");
    assert!(
        matches!(error, ConfigError::UnknownFormat { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("format.json"));
}

#[test]
fn from_str_parses_either_format() {
    let toml = "[source]\nurl = \"http://p:9090\"\n[[limits]]\nname = \"a\"\nquery = \"up\"\nwall = 1\ndirection = \"rising\"\nlead_time = \"1h\"\n";
    let yaml = "source: {url: 'http://p:9090'}\nlimits: [{name: a, query: up, wall: 1, direction: rising, lead_time: 1h}]\n";
    let a = config::from_str(toml, Format::Toml, "a.toml").expect("toml");
    let b = config::from_str(yaml, Format::Yaml, "b.yaml").expect("yaml");
    assert_eq!(a, b);

    let error = config::from_str(yaml, Format::Toml, "demo").expect_err("YAML is not TOML");
    assert!(matches!(error, ConfigError::Syntax { .. }), "{error:?}");
    assert!(error.to_string().starts_with("demo: syntax error: "));
}

/// Every example and good configuration, mutated a few thousand ways (a
/// line dropped or repeated, a value replaced by another type or by an
/// empty, negative, huge or NaN one, characters cut or inserted): each
/// either loads or is refused with a message naming the file (every
/// problem on a line of its own that names it), and none panics. A
/// configuration is user input; a typo must give a message, not a crash.
/// `RUNWAY_FUZZ_CASES` runs more (default 2,000).
#[test]
fn a_mutated_configuration_loads_or_is_refused_by_name() {
    let cases: usize = std::env::var("RUNWAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut files = corpus("good");
    let dir = manifest_dir().join("config");
    files.extend([
        dir.join("runway.example.toml"),
        dir.join("runway.example.yaml"),
    ]);
    let texts: Vec<(PathBuf, Format, String)> = files
        .into_iter()
        .filter_map(|p| {
            let format = Format::from_path(&p)?;
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p, format, text))
        })
        .collect();
    assert!(texts.len() >= 4, "the corpus is there");
    let replacements = [
        "",
        "-1",
        "0",
        "1e400",
        "nan",
        "\"\"",
        "\"-5m\"",
        "\"0s\"",
        "[]",
        "{}",
        "true",
        "\"x\"",
        "99999999999999999999",
        "\"1y\"",
        "\"\\u0000\"",
        "'",
    ];
    let mut draw = 0;
    let mut next = |n: usize| {
        draw += 1;
        let x = (crate::support::noise(7, draw) + 1.0) / 2.0;
        ((x * n as f64) as usize).min(n.saturating_sub(1))
    };
    let (mut loaded, mut refused) = (0, 0);
    for case in 0..cases {
        let (path, format, text) = &texts[next(texts.len())];
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for _ in 0..1 + next(3) {
            let i = next(lines.len());
            match next(5) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                2 => {
                    // A value replaced: after `=` (TOML) or `: ` (YAML).
                    let line = &lines[i];
                    if let Some(at) = line
                        .find(" = ")
                        .map(|a| a + 3)
                        .or_else(|| line.find(": ").map(|a| a + 2))
                    {
                        lines[i] =
                            format!("{}{}", &line[..at], replacements[next(replacements.len())]);
                    }
                }
                3 => {
                    let line = &lines[i];
                    let cut = line
                        .char_indices()
                        .nth(next(line.chars().count() + 1))
                        .map_or(line.len(), |(b, _)| b);
                    lines[i] = line[..cut].to_string();
                }
                _ => {
                    let line = &lines[i];
                    let at = line
                        .char_indices()
                        .nth(next(line.chars().count() + 1))
                        .map_or(line.len(), |(b, _)| b);
                    let junk = ["\"", "[", "]", "{", ":", "=", "#", "\t", "-", "é"][next(10)];
                    lines[i] = format!("{}{junk}{}", &line[..at], &line[at..]);
                }
            }
            if lines.is_empty() {
                break;
            }
        }
        let mutated = lines.join("\n");
        let origin = format!(
            "case{case}.{}",
            path.extension().and_then(|e| e.to_str()).unwrap_or("toml")
        );
        match config::from_str(&mutated, *format, &origin) {
            Ok(_) => loaded += 1,
            Err(e) => {
                refused += 1;
                let message = e.to_string();
                assert!(
                    message.starts_with(&format!("{origin}: ")),
                    "{origin}: the message does not name the file:\n{message}\n---\n{mutated}"
                );
                // Each problem of an invalid configuration is a line of
                // its own, each naming the file (a syntax error's excerpt
                // follows its first line).
                if !e.problems().is_empty() {
                    for line in message.lines() {
                        assert!(
                            line.starts_with(&format!("{origin}: ")),
                            "{origin}: a problem does not name the file: {line:?}\n{message}\n---\n{mutated}"
                        );
                    }
                }
            }
        }
    }
    // Both outcomes occur: the mutations are neither all harmless nor all
    // fatal.
    assert!(
        loaded > cases / 20 && refused > cases / 4,
        "{loaded} loaded, {refused} refused"
    );
}
