//! Checks of the test harness itself against the real components: if these
//! fail, the end-to-end tests built on the harness can't be trusted.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{
    now_secs, parse_value, rfc3339, Alertmanager, OpenMetrics, Prometheus, WebhookReceiver,
};

fn labels_of(alert: &Value, name: &str) -> bool {
    alert["labels"]["alertname"] == name
}

/// History backfilled through promtool is there at its own timestamps, with
/// the exact values written, up to a sample at "now".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfilled_history_is_queryable_at_its_own_timestamps() {
    let now = now_secs().floor();
    let step = 60.0;
    // Two days at 60 s, ending now, with values that are not round in binary.
    let disk: Vec<(f64, f64)> = (0..=2880)
        .map(|i| (now - (2880 - i) as f64 * step, 0.1 + i as f64 * 1.7e3 / 3.0))
        .collect();
    // An older series with millisecond timestamps and special values.
    let t0 = now - 86_400.0 * 10.0;
    let odd = [
        (t0 + 0.001, 1e21),
        (t0 + 60.5, f64::NAN),
        (t0 + 120.999, f64::INFINITY),
        (t0 + 180.0, f64::NEG_INFINITY),
        (t0 + 240.25, -1.5e-10),
    ];
    let mut history = OpenMetrics::new();
    history
        .gauge_history("harness_disk_used_bytes", &[("device", "sda")], &disk)
        .gauge_history(
            "harness_disk_used_bytes",
            &[("device", "sdb"), ("note", "quote\" back\\ nl\n")],
            &disk[..10],
        )
        .gauge_history("harness_odd", &[], &odd);

    let started = Instant::now();
    let prometheus = Prometheus::start(&history).await;
    eprintln!("backfill + start: {:?}", started.elapsed());

    for i in [0, 1, 1000, 2879, 2880] {
        let (t, v) = disk[i];
        let got = prometheus
            .instant_values("harness_disk_used_bytes{device=\"sda\"}", t)
            .await;
        assert_eq!(got.len(), 1, "sample {i} at {t}: {got:?}");
        assert_eq!(got[0].1.to_bits(), v.to_bits(), "sample {i} at {t}");
        assert_eq!(got[0].0["device"], "sda");
    }

    // Label values with escapes come back as written.
    let sdb = prometheus
        .instant_values("harness_disk_used_bytes{device=\"sdb\"}", disk[9].0)
        .await;
    assert_eq!(sdb.len(), 1);
    assert_eq!(sdb[0].0["note"], "quote\" back\\ nl\n");

    // The series ending now is seen at wall-clock now (within the lookback).
    let at_now = prometheus
        .instant_values("harness_disk_used_bytes{device=\"sda\"}", now_secs())
        .await;
    assert_eq!(at_now.len(), 1);
    assert_eq!(at_now[0].1, disk[2880].1);

    // A range selector returns the raw samples: all 2881, timestamps exact.
    let raw = prometheus
        .query("harness_disk_used_bytes{device=\"sda\"}[3d]", now)
        .await;
    let values = raw["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), disk.len(), "{raw}");
    assert_eq!(values[0][0].as_f64().unwrap(), disk[0].0);
    assert_eq!(values[2880][0].as_f64().unwrap(), now);

    // Millisecond timestamps and NaN / +Inf / -Inf survive.
    let raw = prometheus.query("harness_odd[1h]", t0 + 3000.0).await;
    let values = raw["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), odd.len(), "{raw}");
    for ((t, v), point) in odd.iter().zip(values) {
        assert_eq!(point[0].as_f64().unwrap(), *t, "{raw}");
        let got = parse_value(&point[1]);
        assert!(
            got.to_bits() == v.to_bits() || (got.is_nan() && v.is_nan()),
            "at {t}: {got} != {v}"
        );
    }
}

/// An alert POSTed to Alertmanager reaches the webhook receiver as firing,
/// then as resolved once it is posted again with endsAt = now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_delivers_firing_and_resolved_to_the_webhook() {
    let webhook = WebhookReceiver::start().await;
    let alertmanager = Alertmanager::start(&webhook.url()).await;
    let labels = json!({
        "alertname": "HarnessCheck",
        "limit": "disk",
        "severity": "warning",
    });
    let starts_at = rfc3339(now_secs());

    let posted = Instant::now();
    alertmanager
        .post_alerts(&json!([{
            "labels": labels,
            "annotations": {"summary": "harness check"},
            "startsAt": starts_at,
        }]))
        .await
        .unwrap();
    let seen = webhook
        .wait_for(
            |ns| {
                ns.iter().any(|n| {
                    n["status"] == "firing"
                        && n["alerts"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|a| labels_of(a, "HarnessCheck")))
                })
            },
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    eprintln!("firing notification after {:?}", posted.elapsed());
    let firing = &seen.last().unwrap()["alerts"][0];
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["labels"], labels);
    assert_eq!(firing["annotations"]["summary"], "harness check");

    let posted = Instant::now();
    alertmanager
        .post_alerts(&json!([{
            "labels": labels,
            "annotations": {"summary": "harness check"},
            "startsAt": starts_at,
            "endsAt": rfc3339(now_secs()),
        }]))
        .await
        .unwrap();
    let seen = webhook
        .wait_for(
            |ns| ns.iter().any(|n| n["status"] == "resolved"),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    eprintln!("resolved notification after {:?}", posted.elapsed());
    let resolved = seen.iter().find(|n| n["status"] == "resolved").unwrap();
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_eq!(resolved["alerts"][0]["labels"], labels);
}

/// restart_with replaces the data, on the same URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_replaces_the_data_on_the_same_url() {
    let now = now_secs().floor();
    let mut first = OpenMetrics::new();
    first.gauge_history("harness_first", &[], &[(now - 60.0, 1.0), (now, 2.0)]);
    let mut prometheus = Prometheus::start(&first).await;
    let url = prometheus.url();
    assert_eq!(
        prometheus.instant_values("harness_first", now).await.len(),
        1
    );

    let mut second = OpenMetrics::new();
    second.gauge_history(
        "harness_second",
        &[("k", "v")],
        &[(now - 60.0, 3.0), (now, 4.0)],
    );
    let restarted = Instant::now();
    prometheus.restart_with(&second).await;
    eprintln!("restart_with: {:?}", restarted.elapsed());

    assert_eq!(prometheus.url(), url);
    assert!(prometheus
        .instant_values("harness_first", now)
        .await
        .is_empty());
    let got = prometheus.instant_values("harness_second", now).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 4.0);
    assert_eq!(got[0].0["k"], "v");
}

/// A scraping Prometheus scrapes its targets (here an Alertmanager's
/// /metrics; in end-to-end tests, runway's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_its_targets() {
    let webhook = WebhookReceiver::start().await;
    let alertmanager = Alertmanager::start(&webhook.url()).await;
    let target = format!("127.0.0.1:{}", alertmanager.port());
    let prometheus = Prometheus::start_scraping(&[target], "1s").await;
    prometheus
        .wait_for_series(
            "up{job=\"runway\"} == 1 and on() alertmanager_build_info",
            Duration::from_secs(15),
        )
        .await
        .unwrap();
}
