//! Golden Alertmanager payloads: the exact JSON an Alertmanager receives for a
//! firing alert and for its resolution. Regenerate with UPDATE_GOLDEN=1 and
//! read the diff: it is what on-call engineers will see change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use runway::evaluate::{AlertRule, AlertTracker, Cadence, Evaluation};
use runway::forecast::{Eta, Forecast, ModelChoice, Status};
use runway::model::{Direction, Labels};
use runway::roadmap::Headroom;
use runway::sink::alertmanager::payload;

const T0: f64 = 1_800_000_000.0;
const DAY: f64 = 86_400.0;

fn golden(name: &str, actual: &serde_json::Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/alertmanager")
        .join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(
        text,
        want,
        "{} differs (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

fn disk(lower: f64, likely: f64, upper: f64, at: f64) -> Evaluation {
    let labels: Labels = [("instance", "node-3"), ("mountpoint", "/data")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Evaluation {
        limit: "disk_full".into(),
        labels,
        wall: 0.0,
        direction: Direction::Falling,
        forecast: Forecast {
            status: Status::Approaching,
            model: ModelChoice::Robust,
            reason: "robust: set by configuration".into(),
            current_value: Some(21_474_836_480.0),
            level: 21_474_836_480.0,
            rate: -78_000.0,
            eta: Some(Eta {
                lower,
                likely,
                upper,
                alert: lower,
            }),
            samples: 2016,
            period: None,
            regime_start: None,
            breached_at: None,
            steady_until: f64::INFINITY,
        },
        headroom: Headroom::unknown("not measured here"),
        history: Vec::new(),
        at,
    }
}

#[test]
fn firing_and_resolved_payloads_match_the_golden_files() {
    let rule = AlertRule {
        alertname: "WallApproaching".into(),
        severity: "warning".into(),
        lead: 7.0 * DAY,
        hold: 0.0,
        resolve_margin: 1.25,
        keep_firing_for: 0.0,
        labels: [("team".to_string(), "storage".to_string())].into(),
        annotations: BTreeMap::from([(
            "runbook_url".to_string(),
            "https://runbooks.example/disk-full?host={{ $labels.instance }}".to_string(),
        )]),
    };
    let cadence = Cadence {
        interval: 60.0,
        resend_delay: 60.0,
    };
    let url = "http://prometheus:9090/graph?g0.expr=node_filesystem_avail_bytes&g0.tab=0";
    let mut tracker = AlertTracker::new();
    let e = disk(
        2.0 * DAY + 20.0 * 3600.0,
        3.0 * DAY + 4.0 * 3600.0,
        3.0 * DAY + 15.0 * 3600.0,
        T0,
    );
    tracker.update("disk_full", &[e], std::slice::from_ref(&rule), url, T0);
    golden("firing.json", &payload(&tracker.due(cadence, T0)));

    let later = T0 + 3600.0;
    let e = disk(20.0 * DAY, 25.0 * DAY, 31.0 * DAY, later);
    tracker.update("disk_full", &[e], std::slice::from_ref(&rule), url, later);
    golden("resolved.json", &payload(&tracker.due(cadence, later)));
}
