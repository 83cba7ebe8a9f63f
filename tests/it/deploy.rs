//! The deployment files are checked by the tools that will read them.

use std::path::PathBuf;
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_prometheus_scrape_config_passes_promtool() {
    let out = Command::new("/usr/bin/promtool")
        .arg("check")
        .arg("config")
        .arg(repo("deploy/prometheus/prometheus.yml"))
        .output()
        .expect("run promtool (scripts/test installs it)");
    assert!(
        out.status.success(),
        "promtool check config failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_systemd_unit_runs_the_commands_runway_has() {
    let unit = std::fs::read_to_string(repo("deploy/systemd/runway.service")).unwrap();
    for line in unit.lines().filter(|l| l.starts_with("Exec")) {
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
