//! The deployment files are checked by the tools that will read them.

use std::path::PathBuf;
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs the Debian package's `tool` (scripts/test installs it) in `dir`,
/// failing the test with its output unless it succeeds; its standard
/// output, trimmed.
fn run(tool: &str, dir: &str, args: &[&str]) -> String {
    let out = Command::new(format!("/usr/bin/{tool}"))
        .current_dir(repo(dir))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} (scripts/test installs it): {e}"));
    assert!(
        out.status.success(),
        "{tool} {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn promtool(dir: &str, args: &[&str]) {
    run("promtool", dir, args);
}

#[test]
fn the_prometheus_scrape_config_passes_promtool() {
    // Also checks the rule files the config loads.
    promtool("deploy/prometheus", &["check", "config", "prometheus.yml"]);
}

#[test]
fn the_example_alert_rules_pass_promtool_check() {
    promtool("deploy/prometheus", &["check", "rules", "runway-rules.yml"]);
}

#[test]
fn the_example_alert_rules_fire_as_their_unit_tests_expect() {
    // An alert without a case in the unit tests would pass them untested.
    let rules = std::fs::read_to_string(repo("deploy/prometheus/runway-rules.yml")).unwrap();
    let tests = std::fs::read_to_string(repo("deploy/prometheus/runway-rules.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(!alerts.is_empty(), "no alerts found in runway-rules.yml");
    for alert in alerts {
        assert!(
            tests.contains(&format!("alertname: {alert}\n")),
            "{alert} has no case in runway-rules.test.yml"
        );
    }
    promtool(
        "deploy/prometheus",
        &["test", "rules", "runway-rules.test.yml"],
    );
}

#[test]
fn the_systemd_unit_runs_the_commands_runway_has() {
    let unit = std::fs::read_to_string(repo("deploy/systemd/runway.service")).unwrap();
    // `systemctl reload` asks runway to read its file again.
    assert!(
        unit.lines()
            .any(|l| l == "ExecReload=/bin/kill -HUP $MAINPID"),
        "{unit}"
    );
    let runs_runway = |l: &&str| {
        l.starts_with("Exec")
            && l.split_once('=')
                .is_some_and(|(_, cmd)| cmd.starts_with("/usr/local/bin/runway "))
    };
    assert_eq!(unit.lines().filter(runs_runway).count(), 3, "{unit}");
    for line in unit.lines().filter(runs_runway) {
        let cmd = line.split_once('=').map(|x| x.1).unwrap_or_default();
        let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
        // `runway SUBCOMMAND --help` succeeds only for a subcommand that
        // exists and takes the flags given.
        let sub = args.first().copied().unwrap_or_default();
        let out = Command::new(env!("CARGO_BIN_EXE_runway"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: `runway {sub}` is not a command"
        );
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(help.contains(flag), "{line}: `runway {sub}` has no {flag}");
        }
    }
}

fn amtool(args: &[&str]) -> String {
    run("amtool", "deploy/alertmanager", args)
}

/// The example Alertmanager configuration loads, and routes runway's
/// alerts as its comments say: the critical lead time pages, the longer
/// ones go to the team, re-roadmap notices to planning.
#[test]
fn the_example_alertmanager_config_loads_and_routes_runways_alerts() {
    amtool(&["check-config", "alertmanager.yml"]);
    for (labels, receiver) in [
        (
            &[
                "alertname=WallApproaching",
                "severity=critical",
                "limit=disk_full",
                "instance=db-1",
            ][..],
            "pager",
        ),
        (
            &[
                "alertname=WallApproaching",
                "severity=warning",
                "limit=disk_full",
            ][..],
            "team",
        ),
        (
            &[
                "alertname=RoadmapChanged",
                "severity=info",
                "limit=disk_full",
                "change=sooner",
            ][..],
            "planning",
        ),
    ] {
        let mut args = vec!["config", "routes", "test", "--config.file=alertmanager.yml"];
        args.extend_from_slice(labels);
        assert_eq!(amtool(&args), receiver, "{labels:?}");
    }
}
