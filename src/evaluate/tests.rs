//! The alert state machine stepped through time, and the texts a person reads.

use super::*;
use crate::forecast::{Eta, Forecast, ModelChoice};

const T0: f64 = 1_800_000_000.0;
const DAY: f64 = 86_400.0;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An evaluation whose earliest time to wall is `lower` seconds (None: receding).
fn eval_at(series: &[(&str, &str)], lower: Option<f64>, at: f64) -> Evaluation {
    let (status, eta) = match lower {
        Some(l) => (
            Status::Approaching,
            Some(Eta {
                lower: l,
                likely: l * 1.2,
                upper: l * 1.5,
                alert: l,
            }),
        ),
        None => (Status::Receding, None),
    };
    Evaluation {
        limit: "disk_full".into(),
        labels: labels(series),
        wall: 0.0,
        direction: Direction::Falling,
        forecast: Forecast {
            status,
            model: ModelChoice::Robust,
            reason: String::new(),
            current_value: Some(1e9),
            level: 1e9,
            rate: -1e3,
            eta,
            samples: 100,
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

fn rule(hold: f64) -> AlertRule {
    AlertRule {
        alertname: "WallApproaching".into(),
        severity: "warning".into(),
        lead: 7.0 * DAY,
        hold,
        resolve_margin: 1.25,
        keep_firing_for: 0.0,
        labels: labels(&[("team", "storage")]),
        annotations: BTreeMap::new(),
    }
}

const CADENCE: Cadence = Cadence {
    interval: 60.0,
    resend_delay: 60.0,
};

/// Steps one series through (seconds after T0, earliest time to wall) and
/// returns, per step, what was sent: (state-as-sent, endsAt - now) pairs.
fn step(hold: f64, steps: &[(f64, Option<f64>)]) -> Vec<Vec<(&'static str, f64)>> {
    let mut tracker = AlertTracker::new();
    let series = [("mountpoint", "/data")];
    steps
        .iter()
        .map(|&(dt, lower)| {
            let now = T0 + dt;
            let evals = [eval_at(&series, lower, now)];
            tracker.update("disk_full", &evals, &[rule(hold)], "http://x", now);
            tracker
                .due(CADENCE, now)
                .into_iter()
                .map(|a| {
                    let kind = if a.ends_at <= now {
                        "resolved"
                    } else {
                        "firing"
                    };
                    (kind, a.ends_at - now)
                })
                .collect()
        })
        .collect()
}

#[test]
fn hold_delays_firing_and_a_single_noisy_evaluation_never_pages() {
    let inside = Some(3.0 * DAY);
    // One evaluation inside the window, then out again: nothing is sent.
    let sent = step(
        300.0,
        &[(0.0, inside), (60.0, Some(30.0 * DAY)), (120.0, inside)],
    );
    assert!(sent.iter().all(|s| s.is_empty()), "{sent:?}");

    // Inside for the whole hold: fires at the first evaluation past it.
    let sent = step(300.0, &[(0.0, inside), (240.0, inside), (300.0, inside)]);
    assert_eq!(sent[0], vec![]);
    assert_eq!(sent[1], vec![]);
    assert_eq!(
        sent[2],
        vec![("firing", 540.0)],
        "endsAt = now + 4 x 1m + the 5m hold (a restarted runway holds it again)"
    );
}

#[test]
fn a_restarted_runway_fires_again_before_alertmanager_would_resolve_the_alert() {
    // runway fires a 5-minute-hold alert, sends it and is restarted right
    // after. It keeps no state: the new process sees the wall at its first
    // evaluation a minute later, holds it five minutes and only then sends
    // it. Alertmanager must still hold the first send active by then, or
    // the on-call engineer gets "resolved" and a new page for a restart.
    let inside = Some(3.0 * DAY);
    let before = step(300.0, &[(0.0, inside), (300.0, inside)]);
    let [("firing", valid_for)] = before[1][..] else {
        panic!("{before:?}");
    };
    let ends_at = 300.0 + valid_for;
    let after = step(300.0, &[(360.0, inside), (660.0, inside)]);
    assert!(after[0].is_empty(), "held again: {after:?}");
    assert_eq!(after[1].len(), 1, "{after:?}");
    assert!(
        660.0 < ends_at,
        "re-sent at 660 s, Alertmanager resolves at {ends_at} s"
    );
}

#[test]
fn zero_hold_fires_at_once_and_resends_after_the_resend_delay() {
    let inside = Some(3.0 * DAY);
    let sent = step(
        0.0,
        &[
            (0.0, inside),
            (30.0, inside),
            (60.0, inside),
            (90.0, inside),
        ],
    );
    assert_eq!(sent[0].len(), 1);
    assert!(sent[1].is_empty(), "within resend_delay: not re-sent");
    assert_eq!(sent[2].len(), 1, "resend_delay passed: re-sent");
    assert!(sent[3].is_empty());
}

#[test]
fn a_firing_alert_resolves_only_beyond_the_hysteresis_margin() {
    let sent = step(
        0.0,
        &[
            (0.0, Some(6.0 * DAY)),
            // Just outside the 7d window but within 7d x 1.25: still firing.
            (60.0, Some(8.0 * DAY)),
            // Clearly outside: resolved, sent at once with endsAt = now.
            (120.0, Some(9.0 * DAY)),
            (150.0, Some(9.0 * DAY)),
            // Re-sent every resend_delay for 15 minutes, then forgotten.
            (180.0, Some(9.0 * DAY)),
            (120.0 + 14.0 * 60.0, Some(9.0 * DAY)),
            (120.0 + 15.0 * 60.0, Some(9.0 * DAY)),
        ],
    );
    assert_eq!(sent[0], vec![("firing", 240.0)]);
    assert_eq!(sent[1], vec![("firing", 240.0)]);
    assert_eq!(sent[2], vec![("resolved", 0.0)]);
    assert!(sent[3].is_empty());
    assert_eq!(sent[4], vec![("resolved", -60.0)]);
    assert_eq!(sent[5], vec![("resolved", -840.0)]);
    assert!(
        sent[6].is_empty(),
        "resolved alerts are kept 15 minutes only"
    );
}

/// A runaway writer five hours in: the likely time is 14 hours, but damped
/// trends doubt the climb at this evaluation and hold the alert time back
/// to 20 days. The page that fired an hour before keeps firing; it
/// resolved, and paged again at the next evaluation. A page resolves once
/// neither time is within the margin.
#[test]
fn a_page_whose_likely_time_is_within_the_lead_does_not_resolve() {
    let series = [("mountpoint", "/data")];
    let firing = |tracker: &mut AlertTracker, likely: f64, alert: f64, now: f64| {
        let mut e = eval_at(&series, Some(likely), now);
        if let Some(eta) = e.forecast.eta.as_mut() {
            eta.likely = likely;
            eta.alert = alert;
        }
        tracker.update("disk_full", &[e], &[rule(0.0)], "http://x", now);
        tracker.count(AlertState::Firing) == 1
    };
    let mut tracker = AlertTracker::new();
    assert!(firing(&mut tracker, 0.6 * DAY, 0.5 * DAY, T0));
    assert!(firing(&mut tracker, 0.58 * DAY, 20.7 * DAY, T0 + 60.0));
    assert!(!firing(&mut tracker, 20.0 * DAY, 20.7 * DAY, T0 + 120.0));
    // Such a forecast does not fire a page that is not firing yet: the
    // doubt holds it back.
    let mut tracker = AlertTracker::new();
    assert!(!firing(&mut tracker, 0.58 * DAY, 20.7 * DAY, T0));
}

/// With a cycle the wall is reached at a peak, and a forecast moves in
/// whole cycles: a week's cycle on a 7-day lead moved the wall from this
/// week's peak (6 days) to the next (13 days), past 7d x 1.25, resolved the
/// page, and paged again when it moved back. A firing alert now resolves
/// only a cycle past the lead, up to twice the lead; a series without one,
/// as before.
#[test]
fn a_forecast_that_moves_by_one_cycle_does_not_resolve_its_page() {
    let series = [("mountpoint", "/data")];
    let firing = |tracker: &mut AlertTracker, lower: f64, now: f64, period: Option<f64>| {
        let mut e = eval_at(&series, Some(lower), now);
        e.forecast.period = period;
        tracker.update("disk_full", &[e], &[rule(0.0)], "http://x", now);
        tracker.count(AlertState::Firing) == 1
    };
    let week = Some(7.0 * DAY);
    let mut tracker = AlertTracker::new();
    assert!(firing(&mut tracker, 6.0 * DAY, T0, week));
    assert!(firing(&mut tracker, 13.0 * DAY, T0 + 60.0, week));
    assert!(firing(&mut tracker, 6.0 * DAY, T0 + 120.0, week));
    // Beyond a cycle past the lead, it resolves.
    assert!(!firing(&mut tracker, 14.5 * DAY, T0 + 180.0, week));
    assert_eq!(tracker.count(AlertState::Resolved), 1);
    // Without a cycle, 13 days is past 7d x 1.25.
    let mut tracker = AlertTracker::new();
    assert!(firing(&mut tracker, 6.0 * DAY, T0, None));
    assert!(!firing(&mut tracker, 13.0 * DAY, T0 + 60.0, None));
    assert_eq!(tracker.count(AlertState::Resolved), 1);
    // A yearly cycle holds a page no further than twice its lead: a wall
    // that moved to next year's peak is gone from a week's window.
    let mut tracker = AlertTracker::new();
    assert!(firing(&mut tracker, 6.0 * DAY, T0, Some(365.0 * DAY)));
    assert!(firing(
        &mut tracker,
        13.0 * DAY,
        T0 + 60.0,
        Some(365.0 * DAY)
    ));
    assert!(!firing(
        &mut tracker,
        15.0 * DAY,
        T0 + 120.0,
        Some(365.0 * DAY)
    ));
}

/// `keep_firing_for` (Prometheus' name and meaning): a dip away from the
/// wall that comes back within it does not resolve the page and page
/// again; a clearance that lasts resolves it once it has lasted.
#[test]
fn keep_firing_for_rides_out_a_dip_and_resolves_a_lasting_clearance() {
    let series = [("mountpoint", "/data")];
    let rule = AlertRule {
        keep_firing_for: 600.0,
        ..rule(0.0)
    };
    let mut tracker = AlertTracker::new();
    let mut at = |dt: f64, lower: Option<f64>| {
        let now = T0 + dt;
        tracker.update(
            "disk_full",
            &[eval_at(&series, lower, now)],
            std::slice::from_ref(&rule),
            "",
            now,
        );
        (
            tracker.count(AlertState::Firing),
            tracker.count(AlertState::Resolved),
        )
    };
    let near = Some(DAY);
    let far = Some(30.0 * DAY);
    assert_eq!(at(0.0, near), (1, 0));
    // A dip of five minutes, then back: never resolved.
    for dt in [60.0, 120.0, 180.0, 240.0, 300.0] {
        assert_eq!(at(dt, far), (1, 0), "{dt} s");
    }
    assert_eq!(at(360.0, near), (1, 0));
    // Clear for good: firing for ten minutes more, then resolved.
    assert_eq!(at(420.0, None), (1, 0));
    assert_eq!(at(960.0, None), (1, 0));
    assert_eq!(at(1020.0, None), (0, 1));
    // A series that goes away keeps firing for it too, as in Prometheus.
    let mut gone = AlertTracker::new();
    let rules = std::slice::from_ref(&rule);
    gone.update("disk_full", &[eval_at(&series, near, T0)], rules, "", T0);
    gone.update("disk_full", &[], rules, "", T0 + 60.0);
    gone.update("disk_full", &[], rules, "", T0 + 600.0);
    assert_eq!(gone.count(AlertState::Firing), 1);
    gone.update("disk_full", &[], rules, "", T0 + 660.0);
    assert_eq!(gone.count(AlertState::Resolved), 1);
    // Without it, the same dip resolves at once.
    assert_eq!(
        step(0.0, &[(0.0, near), (60.0, far)])[1],
        vec![("resolved", 0.0)]
    );
}

#[test]
fn a_receding_series_or_a_vanished_one_resolves() {
    let sent = step(0.0, &[(0.0, Some(DAY)), (60.0, None)]);
    assert_eq!(sent[1], vec![("resolved", 0.0)]);

    let mut tracker = AlertTracker::new();
    let e = eval_at(&[("mountpoint", "/data")], Some(DAY), T0);
    tracker.update("disk_full", &[e], &[rule(0.0)], "", T0);
    assert_eq!(tracker.due(CADENCE, T0).len(), 1);
    tracker.update("disk_full", &[], &[rule(0.0)], "", T0 + 60.0);
    let sent = tracker.due(CADENCE, T0 + 60.0);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].ends_at, T0 + 60.0);
    assert_eq!(tracker.count(AlertState::Resolved), 1);
}

/// The page said "/data is full in 3d 14h"; the resolution must not say
/// "/data is full in never". The limit's own annotations keep their firing
/// text (as Prometheus' resolved alerts do), and `resolution` says why it
/// is over, from the forecast that ended it or the series going away.
#[test]
fn a_resolution_says_why_it_is_over_without_rewriting_the_pages_text() {
    let templated = AlertRule {
        annotations: BTreeMap::from([(
            "summary".to_string(),
            "{{ $labels.mountpoint }} is full in {{ $time_to_wall }}".to_string(),
        )]),
        ..rule(0.0)
    };
    let series = [("mountpoint", "/data")];
    let resolve = |rule: &AlertRule, ending: Option<Evaluation>| {
        let mut tracker = AlertTracker::new();
        let e = eval_at(&series, Some(3.0 * DAY), T0);
        tracker.update("disk_full", &[e], std::slice::from_ref(rule), "", T0);
        let firing = tracker.due(CADENCE, T0).remove(0).annotations;
        let now = T0 + 60.0;
        let ending: Vec<Evaluation> = ending.into_iter().collect();
        tracker.update("disk_full", &ending, std::slice::from_ref(rule), "", now);
        let sent = tracker.due(CADENCE, now);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].ends_at, now, "resolved");
        (firing, sent[0].annotations.clone())
    };
    let receding = || Some(eval_at(&series, None, T0 + 60.0));
    let not_approaching = "disk_full: {mountpoint=\"/data\"} is not approaching 0";

    let (firing, resolved) = resolve(&templated, receding());
    assert_eq!(firing["summary"], "/data is full in 3d 14h");
    assert_eq!(resolved["summary"], "/data is full in 3d 14h");
    assert_eq!(resolved[RESOLUTION], not_approaching);
    assert!(
        !resolved.contains_key("time_to_wall"),
        "runway's own annotations carry the ending forecast: {resolved:?}"
    );
    assert!(!firing.contains_key(RESOLUTION));

    // Runway's own summary is the ending forecast.
    let (_, resolved) = resolve(&rule(0.0), receding());
    assert_eq!(resolved["summary"], not_approaching);
    assert_eq!(resolved[RESOLUTION], not_approaching);

    let (_, resolved) = resolve(&templated, None);
    assert_eq!(resolved[RESOLUTION], VANISHED);
    assert_eq!(
        resolved["summary"],
        format!("{VANISHED}; its last forecast: /data is full in 3d 14h")
    );
}

/// A series the forecaster failed on (a defect) is still reported by the
/// source: its page must not resolve as "no longer reported", nor a pending
/// alert be dropped; both stay as they are until it is forecast again.
#[test]
fn a_series_that_could_not_be_forecast_keeps_its_alerts_as_they_are() {
    let series = [("mountpoint", "/data")];
    let mut tracker = AlertTracker::new();
    let e = eval_at(&series, Some(DAY), T0);
    tracker.update("disk_full", &[e], &[rule(0.0)], "", T0);
    assert_eq!(tracker.due(CADENCE, T0).len(), 1, "firing");
    let unforecast = [labels(&series)];
    tracker.update_partial("disk_full", &[], &[rule(0.0)], "", T0 + 60.0, &unforecast);
    assert_eq!(tracker.count(AlertState::Firing), 1);
    assert_eq!(tracker.count(AlertState::Resolved), 0);
    let resent = tracker.due(CADENCE, T0 + 120.0);
    assert_eq!(resent.len(), 1);
    assert!(resent[0].ends_at > T0 + 120.0, "still firing when re-sent");
    // Once it is gone for good, it resolves as before.
    tracker.update("disk_full", &[], &[rule(0.0)], "", T0 + 180.0);
    assert_eq!(tracker.count(AlertState::Resolved), 1);
}

#[test]
fn each_severity_is_its_own_alert() {
    let mut tracker = AlertTracker::new();
    let critical = AlertRule {
        severity: "critical".into(),
        lead: DAY,
        ..rule(0.0)
    };
    let rules = [critical, rule(0.0)];
    let e = eval_at(&[("mountpoint", "/data")], Some(3.0 * DAY), T0);
    tracker.update("disk_full", &[e], &rules, "", T0);
    let sent = tracker.due(CADENCE, T0);
    let severities: Vec<&str> = sent.iter().map(|a| a.labels["severity"].as_str()).collect();
    assert_eq!(severities, vec!["warning"], "3d away: warning only");

    let e = eval_at(&[("mountpoint", "/data")], Some(0.5 * DAY), T0 + 60.0);
    tracker.update("disk_full", &[e], &rules, "", T0 + 60.0);
    let mut severities: Vec<String> = tracker
        .due(CADENCE, T0 + 60.0)
        .iter()
        .map(|a| a.labels["severity"].clone())
        .collect();
    severities.sort();
    assert_eq!(severities, vec!["critical", "warning"], "12h away: both");
}

/// A reload that drops a severity or relabels a limit's alerts resolves
/// the alerts its rules no longer raise, saying so (not "the series went
/// away", which the next evaluation would say), and keeps those it still
/// raises as they are.
#[test]
fn a_reloaded_rule_resolves_only_the_alerts_it_no_longer_raises() {
    let mut tracker = AlertTracker::new();
    let critical = AlertRule {
        severity: "critical".into(),
        lead: DAY,
        ..rule(0.0)
    };
    let e = eval_at(&[("mountpoint", "/data")], Some(0.5 * DAY), T0);
    tracker.update("disk_full", &[e], &[critical, rule(0.0)], "", T0);
    assert_eq!(tracker.count(AlertState::Firing), 2);
    let _ = tracker.due(CADENCE, T0);

    // The critical severity is dropped: the warning goes on.
    tracker.retire_rules("disk_full", &[rule(0.0)], T0 + 30.0);
    let sent = tracker.due(CADENCE, T0 + 30.0);
    assert_eq!(sent.len(), 1, "only the resolution is due: {sent:?}");
    assert_eq!(sent[0].labels["severity"], "critical");
    assert_eq!(sent[0].state, AlertState::Resolved);
    assert_eq!(sent[0].annotations[RESOLUTION], RULE_CHANGED);
    assert_eq!(tracker.count(AlertState::Firing), 1);

    // The team label changes: the warning under the old labels resolves,
    // and the next evaluation raises it anew under the new ones.
    let relabelled = AlertRule {
        labels: labels(&[("team", "platform")]),
        ..rule(0.0)
    };
    tracker.retire_rules("disk_full", std::slice::from_ref(&relabelled), T0 + 40.0);
    assert_eq!(tracker.count(AlertState::Firing), 0);
    let e = eval_at(&[("mountpoint", "/data")], Some(0.5 * DAY), T0 + 60.0);
    tracker.update("disk_full", &[e], &[relabelled], "", T0 + 60.0);
    let firing: Vec<Alert> = tracker
        .due(CADENCE, T0 + 60.0)
        .into_iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].labels["team"], "platform");
}

/// The log's "alert firing" and "alert resolved" come from these: each
/// alert, by its labels, once when it starts firing and once when it
/// resolves, whether a forecast, a reload's changed rule or a removed
/// limit ends it; nothing while it is pending or goes on firing.
#[test]
fn each_alert_is_said_to_fire_and_to_resolve_once() {
    let mut tracker = AlertTracker::new();
    let e = |lower, at| eval_at(&[("mountpoint", "/data")], lower, at);
    let said = |tracker: &mut AlertTracker| -> Vec<(String, AlertState)> {
        tracker
            .take_transitions()
            .into_iter()
            .map(|t| (t.labels["team"].clone(), t.state))
            .collect()
    };
    // Pending for the hold, then firing, and firing on.
    tracker.update("disk_full", &[e(Some(DAY), T0)], &[rule(60.0)], "", T0);
    assert!(said(&mut tracker).is_empty(), "pending");
    for dt in [60.0, 120.0, 180.0] {
        tracker.update(
            "disk_full",
            &[e(Some(DAY), T0 + dt)],
            &[rule(60.0)],
            "",
            T0 + dt,
        );
    }
    assert_eq!(
        said(&mut tracker),
        [("storage".to_string(), AlertState::Firing)]
    );
    // A reload relabels it: the old alert resolves, the new one fires (no
    // hold here), each said once.
    let relabelled = AlertRule {
        labels: labels(&[("team", "platform")]),
        ..rule(0.0)
    };
    tracker.retire_rules("disk_full", std::slice::from_ref(&relabelled), T0 + 200.0);
    for dt in [240.0, 300.0] {
        tracker.update(
            "disk_full",
            &[e(Some(DAY), T0 + dt)],
            std::slice::from_ref(&relabelled),
            "",
            T0 + dt,
        );
    }
    assert_eq!(
        said(&mut tracker),
        [
            ("storage".to_string(), AlertState::Resolved),
            ("platform".to_string(), AlertState::Firing)
        ]
    );
    // The limit is removed.
    tracker.retire(|_| false, T0 + 400.0);
    assert_eq!(
        said(&mut tracker),
        [("platform".to_string(), AlertState::Resolved)]
    );
}

/// An alert's link to the source follows the configuration: after a
/// reload that moves the source, a firing alert does not lead to the old
/// one.
#[test]
fn a_firing_alert_links_to_the_source_configured_now() {
    let mut tracker = AlertTracker::new();
    let e = |at| eval_at(&[("mountpoint", "/data")], Some(0.5 * DAY), at);
    tracker.update(
        "disk_full",
        &[e(T0)],
        &[rule(0.0)],
        "http://old:9090/graph",
        T0,
    );
    assert_eq!(
        tracker.due(CADENCE, T0)[0].generator_url,
        "http://old:9090/graph"
    );
    let later = T0 + 60.0;
    tracker.update(
        "disk_full",
        &[e(later)],
        &[rule(0.0)],
        "http://new:9090/graph",
        later,
    );
    let sent = tracker.due(CADENCE, later);
    assert_eq!(sent[0].generator_url, "http://new:9090/graph");
    assert_eq!(sent[0].starts_at, T0, "the same alert, firing on");
}

#[test]
fn alert_labels_keep_conflicting_series_labels_under_another_name() {
    let e = eval_at(
        &[("instance", "node-3"), ("severity", "page")],
        Some(DAY),
        T0,
    );
    let l = alert_labels(&e, &rule(0.0));
    assert_eq!(
        l,
        labels(&[
            ("alertname", "WallApproaching"),
            ("exported_severity", "page"),
            ("instance", "node-3"),
            ("limit", "disk_full"),
            ("severity", "warning"),
            ("team", "storage"),
        ])
    );
}

#[test]
fn the_summary_tells_what_breaks_when_and_how_sure() {
    let mut e = eval_at(&[("instance", "node-3"), ("mountpoint", "/data")], None, T0);
    e.forecast.status = Status::Approaching;
    e.forecast.eta = Some(Eta {
        lower: 2.0 * DAY + 20.0 * 3600.0,
        likely: 3.0 * DAY + 4.0 * 3600.0,
        upper: 3.0 * DAY + 15.0 * 3600.0 + 59.0,
        alert: 2.0 * DAY + 20.0 * 3600.0,
    });
    assert_eq!(
        summary(&e),
        r#"disk_full: {instance="node-3", mountpoint="/data"} reaches 0 in about 3d 4h (between 2d 20h and 3d 15h)"#
    );
    let mut r = rule(0.0);
    r.annotations.insert(
        "runbook".into(),
        "https://runbooks/disk?host={{ $labels.instance }}&in={{$time_to_wall}} {{ $unknown }}"
            .into(),
    );
    let a = alert_annotations(&e, &r);
    assert_eq!(
        a["runbook"],
        "https://runbooks/disk?host=node-3&in=3d 4h {{ $unknown }}"
    );
    assert_eq!(
        a["wall_at"],
        rfc3339(T0 + 3.0 * DAY + 4.0 * 3600.0).unwrap()
    );
    assert_eq!(a["wall_at"], "2027-01-18T12:00:00Z");
    assert_eq!(a["model"], "robust");

    // The trend is at the wall, the newest samples not past it yet: "now",
    // not "in about 0s (between 0s and 0s)".
    e.forecast.eta = Some(Eta::at(0.0));
    assert_eq!(
        summary(&e),
        r#"disk_full: {instance="node-3", mountpoint="/data"} reaches 0 now by its trend (the newest samples are not past it yet)"#
    );

    // A breach is the median of the newest samples past the wall; when the
    // newest alone is back (a cycle's trough), the text says so rather
    // than "has reached 0 (now 5)".
    e.forecast.status = Status::Breached;
    e.forecast.current_value = Some(-2.0);
    assert_eq!(
        summary(&e),
        r#"disk_full: {instance="node-3", mountpoint="/data"} has reached 0 (now -2)"#
    );
    e.forecast.current_value = Some(5.0);
    assert_eq!(
        summary(&e),
        r#"disk_full: {instance="node-3", mountpoint="/data"} has reached 0 (the median of its newest samples is past it; the newest, 5, is not)"#
    );

    // No forecast: why is said, not taken for "not enough data".
    e.forecast.status = Status::InsufficientData;
    e.forecast.reason = "a value of 1e160 is beyond the ±1e150 the forecaster computes with".into();
    assert_eq!(
        summary(&e),
        r#"disk_full: {instance="node-3", mountpoint="/data"} cannot be forecast: a value of 1e160 is beyond the ±1e150 the forecaster computes with"#
    );
}

/// A pager shows the summary: a disk's bytes read "400G", not
/// 400000000000, and a value just past its wall still reads apart from it
/// (four digits would print "400G" for both). The exact figures stay in
/// the `wall` and `current_value` annotations.
#[test]
fn the_summary_prints_readable_numbers_that_read_apart_at_the_wall() {
    let mut e = eval_at(&[("mountpoint", "/data")], None, T0);
    e.direction = Direction::Falling;
    e.wall = 400e9;
    e.forecast.status = Status::Breached;
    let reached = |e: &Evaluation, v: f64| {
        let mut e = e.clone();
        e.forecast.current_value = Some(v);
        summary(&e)
    };
    let table = [
        // (value, what the summary says after the labels)
        (148_725_021_313.0, "has reached 400G (now 148.7G)"),
        (399_999_850_000.0, "has reached 400G (now 399.9999G)"),
        (399_999_999_999.0, "has reached 400G (now 399.999999999G)"),
        (400e9, "has reached 400G (now 400G)"),
        // The newest sample back above the wall, the median still past it.
        (
            400_000_150_000.0,
            "has reached 400G (the median of its newest samples is past it; the newest, 400.0002G, is not)",
        ),
    ];
    for (v, want) in table {
        let got = reached(&e, v);
        assert_eq!(
            got,
            format!("disk_full: {{mountpoint=\"/data\"}} {want}"),
            "{v}"
        );
    }
    // A wall with more figures than four reads as configured.
    e.wall = 99.995;
    assert!(
        reached(&e, 99.2).ends_with("has reached 99.995 (now 99.2)"),
        "{}",
        reached(&e, 99.2)
    );
    // The exact figures are in the annotations.
    e.wall = 400e9;
    e.forecast.current_value = Some(148_725_021_313.0);
    let a = alert_annotations(&e, &rule(0.0));
    assert_eq!(a["wall"], "400000000000");
    assert_eq!(a["current_value"], "148725021313");
}

#[test]
fn an_annotation_template_is_refused_for_what_would_reach_the_pager_as_written() {
    assert_eq!(
        template_problem("{{ $labels.instance }} in {{$time_to_wall}}"),
        None
    );
    assert_eq!(template_problem("no placeholders } { at all"), None);
    let unknown = template_problem("{{ $value | humanize }} left").unwrap_or_default();
    assert!(
        unknown.starts_with("{{ $value | humanize }} is not a placeholder runway fills"),
        "{unknown}"
    );
    let open = template_problem("{{ $limit }} at {{ $wall").unwrap_or_default();
    assert!(open.contains("not closed"), "{open}");
    assert!(template_problem("{{ $labels. }}").is_some());
    // A label placeholder whose braces are not closed where the name ends,
    // or that pipes the label to a function, names no label: it would
    // reach the pager empty.
    for broken in [
        "{{ $labels.instance } is full in {{ $time_to_wall }}",
        "{{ $labels.instance | toUpper }}",
        "{{ $labels.9lives }}",
    ] {
        let why = template_problem(broken).unwrap_or_default();
        assert!(
            why.contains("is not a placeholder runway fills"),
            "{broken}: {why}"
        );
    }
    assert_eq!(template_problem("{{ $labels._job_2 }}"), None);
}

#[test]
fn durations_read_as_a_person_says_them() {
    let cases = [
        (0.0, "0s"),
        (40.0, "40s"),
        (90.0, "1m 30s"),
        (3600.0, "1h"),
        (5.0 * 3600.0 + 12.0 * 60.0 + 5.0, "5h 12m"),
        (3.0 * DAY + 4.0 * 3600.0, "3d 4h"),
        (400.0 * DAY, "1y 35d"),
        // The second unit rounded to the nearest, carrying into the first.
        (DAY + 17.0 * 3600.0 + 58.0 * 60.0, "1d 18h"),
        (DAY + 17.0 * 3600.0 + 29.0 * 60.0, "1d 17h"),
        (23.0 * 3600.0 + 59.0 * 60.0 + 50.0, "1d"),
        (59.6, "1m"),
        // A year as durations are read: 365.25 days.
        (365.25 * DAY, "1y"),
        (4.0 * 365.25 * DAY, "4y"),
        (1000.0 * 365.25 * DAY, "1000y"),
        (365.0 * DAY, "365d"),
        (2.0 * 365.25 * DAY - 3600.0, "2y"),
        (f64::INFINITY, "never"),
        (-5.0, "0s"),
    ];
    for (s, want) in cases {
        assert_eq!(human_duration(s), want, "{s}");
    }
}

#[test]
fn walls_join_on_the_most_specific_matching_labels() {
    let series = [
        labels(&[("instance", "a"), ("db", "x")]),
        labels(&[("instance", "b"), ("db", "y")]),
        labels(&[("instance", "c")]),
    ];
    let walls = vec![
        (labels(&[("instance", "a")]), 100.0),
        (labels(&[("instance", "a"), ("db", "x")]), 50.0),
        (labels(&[("instance", "b")]), 200.0),
    ];
    assert_eq!(
        join_walls(&series, &walls, Direction::Rising),
        (vec![Some(50.0), Some(200.0), None], 0)
    );
}

#[test]
fn a_wall_for_everything_applies_where_no_closer_one_does_and_of_two_as_close_the_nearer() {
    let series = [
        labels(&[("instance", "a"), ("db", "x")]),
        labels(&[("instance", "b"), ("db", "y")]),
        labels(&[("instance", "c")]),
    ];
    let walls = vec![
        (labels(&[]), 1000.0),
        (labels(&[("db", "x")]), 60.0),
        (labels(&[("instance", "a")]), 100.0),
        (labels(&[("instance", "b")]), 200.0),
        (labels(&[("instance", "b")]), 250.0),
    ];
    // a: two walls of one label each match and disagree: the nearer one
    // holds (the lower, for a series rising to it; the higher, falling),
    // and a is counted as ambiguous. b's repeated wall: the later one. c:
    // only the wall without labels.
    assert_eq!(
        join_walls(&series, &walls, Direction::Rising),
        (vec![Some(60.0), Some(250.0), Some(1000.0)], 1)
    );
    assert_eq!(
        join_walls(&series, &walls, Direction::Falling),
        (vec![Some(100.0), Some(250.0), Some(1000.0)], 1)
    );
}

#[test]
fn charts_keep_the_peaks_that_approach_the_wall() {
    let samples: Vec<Sample> = (0..1000)
        .map(|i| {
            let v = if i == 517 {
                95.0
            } else {
                50.0 + (i % 7) as f64
            };
            Sample::new(T0 + 60.0 * i as f64, v)
        })
        .collect();
    let rising = thin(&samples, 100, Direction::Rising);
    assert!(rising.len() <= 100, "{}", rising.len());
    assert!(
        rising.iter().any(|s| s.v == 95.0),
        "the spike toward the wall is kept"
    );
    assert!(rising.windows(2).all(|w| w[0].t < w[1].t), "in time order");
    // Falling towards a wall below, the troughs are what matter.
    let falling = thin(&samples, 100, Direction::Falling);
    assert!(
        falling.iter().all(|s| s.v == 50.0),
        "only the troughs are kept"
    );
    // Short histories are kept whole.
    assert_eq!(thin(&samples[..50], 100, Direction::Rising).len(), 50);
}

/// Values in pages, tables and annotations: as many digits as a person
/// can use, not all sixteen a float carries.
#[test]
fn values_read_with_up_to_six_significant_digits() {
    for (v, shown) in [
        (9_137_427_713.026_098, "9137427713"),
        (71_603_732_415.002_46, "71603732415"),
        (123_456.7, "123457"),
        (12.345_678_9, "12.3457"),
        (0.5, "0.5"),
        (0.123_456_789, "0.123457"),
        (-3.25, "-3.25"),
        (42.0, "42"),
        (0.0, "0"),
        (2e16, "2.0000e16"),
        (1e-5, "1.0000e-5"),
    ] {
        assert_eq!(format_value(v), shown, "{v}");
    }
}

/// An alert's link opens the graph over the limit's lookback; a page taken
/// over from Alertmanager is this runway's whatever range its link opened
/// on (a changed lookback, or a runway from before links had a range),
/// with or without the graph of its one series (which runways before did
/// not add, and whose wall may have moved since), and another source's or
/// another query's all the same.
#[test]
fn links_are_the_same_whatever_range_they_open_on() {
    let ours = "http://p:9090/graph?g0.expr=disk&g0.tab=0&g0.range_input=7d";
    assert!(same_link(ours, "http://p:9090/graph?g0.expr=disk&g0.tab=0"));
    assert!(same_link(
        ours,
        "http://p:9090/graph?g0.expr=disk&g0.tab=0&g0.range_input=7d&g1.expr=%28disk%29+or+label_replace%28vector%280.0%29%2C+%22runway_wall%22%2C+%220%22%2C+%22%22%2C+%22%22%29&g1.tab=0&g1.range_input=7d"
    ));
    assert!(same_link(
        ours,
        "http://p:9090/graph?g0.expr=disk&g0.tab=0&g0.range_input=2w"
    ));
    assert!(!same_link(
        ours,
        "http://q:9090/graph?g0.expr=disk&g0.tab=0&g0.range_input=7d"
    ));
    assert!(!same_link(
        ours,
        "http://p:9090/graph?g0.expr=inodes&g0.tab=0&g0.range_input=7d"
    ));
}

/// A history that begins before 1970 (a backtest of decades of monthly
/// figures) shows its dates, not raw negative seconds; leap days fall
/// where the Gregorian calendar puts them; and since 1970 the dates are
/// humantime's, an independent implementation, to the second.
#[test]
fn times_read_as_dates_before_1970_too() {
    assert_eq!(rfc3339(0.0).unwrap(), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(-1.0).unwrap(), "1969-12-31T23:59:59Z");
    assert_eq!(rfc3339(-0.5).unwrap(), "1969-12-31T23:59:59Z");
    // The air passengers' wall (the development set's manifest).
    assert_eq!(rfc3339(-299_894_400.0).unwrap(), "1960-07-01T00:00:00Z");
    // 1900 is no leap year, 2000 is one.
    assert_eq!(rfc3339(-2_203_977_600.0).unwrap(), "1900-02-28T00:00:00Z");
    assert_eq!(rfc3339(-2_203_891_200.0).unwrap(), "1900-03-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400.0).unwrap(), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(-62_135_596_800.0).unwrap(), "0001-01-01T00:00:00Z");
    assert_eq!(rfc3339(253_402_300_799.9).unwrap(), "9999-12-31T23:59:59Z");
    assert_eq!(rfc3339(-62_135_596_801.0), None);
    assert_eq!(rfc3339(253_402_300_800.0), None);
    assert_eq!(rfc3339(f64::NAN), None);
    assert_eq!(rfc3339(f64::INFINITY), None);
    let mut t = 0.0;
    while t < 253_402_300_799.0 {
        let reference = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t),
        )
        .to_string();
        assert_eq!(rfc3339(t).unwrap(), reference, "{t}");
        t = t * 1.01 + 86_399.7;
    }
}

/// A week at five minutes of free bytes falling to zero at `empty_at`,
/// with a daily swing and some noise, up to `now`.
fn falling_disk(now: f64, empty_at: f64) -> Series {
    let samples = (0..2016)
        .zip(crate::forecast::tests::noise(7, 2016))
        .map(|(i, noise)| {
            let t = now - 300.0 * f64::from(2015 - i);
            let swing = 2e10 * (t * std::f64::consts::TAU / DAY).sin();
            Sample::new(t, 1e6 * (empty_at - t) + swing + 2.5e9 * noise)
        })
        .collect();
    Series::new(labels(&[("device", "sda1")]), samples)
}

fn evaluate_disk(series: &Series, now: f64) -> Evaluation {
    evaluate_one(
        "disk_full",
        series,
        0.0,
        Driver::Absent,
        Direction::Falling,
        now,
    )
}

/// One series of `limit` evaluated at `now` with the default settings.
fn evaluate_one(
    limit: &str,
    series: &Series,
    wall: f64,
    driver: Driver<'_>,
    direction: Direction,
    now: f64,
) -> Evaluation {
    evaluate(
        limit,
        std::slice::from_ref(series),
        &[wall],
        &[driver],
        direction,
        &Settings::default(),
        now,
    )
    .remove(0)
}

/// Deterministic noise of ±0.2 for sample `i`, for the tests' generated
/// disks and loads.
fn jitter(i: usize) -> f64 {
    0.2 * ((i * 7919 % 101) as f64 / 50.0 - 1.0)
}

/// A forecast kept from one evaluation and read at the next, its series
/// unchanged, says what computing it again would: the same moments, the
/// times to them shorter by the time since. So the daemon need not compute
/// it again within a step, and a dashboard's time to wall counts down.
#[test]
fn a_kept_forecast_counts_down_to_what_computing_it_again_says() {
    let now = T0;
    let series = falling_disk(now, now + 20.0 * DAY);
    let computed = evaluate_disk(&series, now);
    let eta = computed
        .forecast
        .eta
        .expect("a falling disk approaches its wall");
    assert!((eta.likely / DAY - 20.0).abs() < 1.0, "{eta:?}");

    let mut kept = Kept::default();
    let print = fingerprint(&series, 0.0, Driver::Absent);
    kept.keep(print, computed.clone());
    let later = now + 240.0;
    let reused = kept
        .reuse(print, later, 300.0)
        .expect("kept within its step");
    let again = evaluate_disk(&series, later);
    assert_eq!(reused.at, later);
    let (r, a) = (reused.forecast.eta.unwrap(), again.forecast.eta.unwrap());
    for (name, r, a, then) in [
        ("likely", r.likely, a.likely, eta.likely),
        ("alert", r.alert, a.alert, eta.alert),
        ("lower", r.lower, a.lower, eta.lower),
        ("upper", r.upper, a.upper, eta.upper),
    ] {
        assert_eq!(r, then - 240.0, "{name}: counted down by the time since");
        // Computed again, a time moves by seconds in weeks (the band's
        // horizon is four minutes longer): 1.9 s at most here.
        assert!(
            (r - a).abs() < 1e-5 * a,
            "{name}: {r} counted down, {a} computed again"
        );
    }
    assert_eq!(
        reused.forecast.wall_at(reused.at),
        computed.forecast.wall_at(computed.at)
    );
    assert!(
        (reused.forecast.level - again.forecast.level).abs() < 1e-6 * again.forecast.level.abs()
    );
    assert_eq!(reused.forecast.status, again.forecast.status);
    assert_eq!(reused.forecast.model, again.forecast.model);

    // The driver's date counts down too: a latency twice its load, the
    // load growing towards the load at which it breaks.
    let load: Vec<Sample> = series
        .samples
        .iter()
        .map(|s| Sample::new(s.t, 100.0 + (s.t - now + 7.0 * DAY) / 3600.0))
        .collect();
    let latency = Series::new(
        labels(&[("service", "checkout")]),
        load.iter().map(|s| Sample::new(s.t, 2.0 * s.v)).collect(),
    );
    let driven = |now: f64| {
        evaluate_one(
            "latency",
            &latency,
            1000.0,
            Driver::Series(&load),
            Direction::Rising,
            now,
        )
    };
    let date = |e: &Evaluation| match &e.headroom.basis {
        roadmap::Basis::Driver(d) => d.time_to_load.expect("the load grows to it"),
        b => panic!("{b:?}"),
    };
    let then = driven(now);
    let driven_print = fingerprint(&latency, 1000.0, Driver::Series(&load));
    kept.keep(driven_print, then.clone());
    let reused = kept
        .reuse(driven_print, later, 300.0)
        .expect("kept within its step");
    assert_eq!(date(&reused), date(&then) - 240.0);
    assert!((date(&reused) - date(&driven(later))).abs() < 1.0);

    // A step after it was computed, or before it, it is not reused.
    assert!(kept.reuse(print, now + 300.0, 300.0).is_none());
    assert!(kept.reuse(print, now - 1.0, 300.0).is_none());
    // Counted down past the likely time (the series frozen), it says the
    // wall is here, not minus days.
    let frozen = computed.counted_down(now + eta.upper + DAY);
    assert_eq!(frozen.forecast.eta.map(|x| x.likely), Some(0.0));
    assert_eq!(frozen.forecast.eta.map(|x| x.upper), Some(0.0));
}

/// A driver whose forecast the clock can change (a load drained every
/// midnight, whose next drain may not come) makes its limit's evaluation
/// one that is computed again at every evaluation, as a sawtooth of the
/// limit's own is, though the limit's own forecast would hold for days.
#[test]
fn a_driver_the_clock_can_change_is_computed_again_not_counted_down() {
    let now = T0 + 14.0 * DAY;
    // A queue's depth climbs 50 a day and is drained every midnight, each
    // drain leaving 5 more behind.
    let drained: Vec<Sample> = (0..14 * 288)
        .map(|i| {
            let x = 300.0 * i as f64;
            let v = 100.0 + 5.0 * (x / DAY).floor() + 50.0 * x.rem_euclid(DAY) / DAY;
            Sample::new(T0 + x, v + jitter(i))
        })
        .collect();
    // The same growth without the drains.
    let steady: Vec<Sample> = drained
        .iter()
        .enumerate()
        .map(|(i, s)| Sample::new(s.t, 100.0 + 5.0 * (s.t - T0) / DAY + jitter(i)))
        .collect();
    // A latency that climbs steadily, far from its wall.
    let latency = Series::new(
        labels(&[("service", "checkout")]),
        steady.iter().map(|s| Sample::new(s.t, 2.0 * s.v)).collect(),
    );
    let driven = |load: &[Sample]| {
        evaluate_one(
            "latency",
            &latency,
            1000.0,
            Driver::Series(load),
            Direction::Rising,
            now,
        )
    };
    let driver_steady_until = |e: &Evaluation| match &e.headroom.basis {
        roadmap::Basis::Driver(d) => d.steady_until,
        b => panic!("{b:?}"),
    };
    let mut kept = Kept::default();
    for (load, reused) in [(&steady, true), (&drained, false)] {
        let e = driven(load);
        assert!(e.forecast.steady_until > now + DAY, "{}", e.forecast.reason);
        assert_eq!(driver_steady_until(&e) == now, !reused);
        let print = fingerprint(&latency, 1000.0, Driver::Series(load));
        kept.keep(print, e);
        assert_eq!(kept.reuse(print, now + 60.0, 300.0).is_some(), reused);
    }
}

/// Anything a forecast is computed from, changed, changes the fingerprint:
/// one sample's value or time, the wall, the labels, the driver.
#[test]
fn a_fingerprint_changes_with_anything_a_forecast_reads() {
    let series = falling_disk(T0, T0 + 20.0 * DAY);
    let print = |s: &Series, wall: f64, d: Driver<'_>| fingerprint(s, wall, d);
    let base = print(&series, 0.0, Driver::Absent);
    assert_eq!(base, print(&series.clone(), 0.0, Driver::Absent));

    let mut value = series.clone();
    value.samples[1000].v += 1.0;
    let mut time = series.clone();
    time.samples[1000].t += 1.0;
    let mut newer = series.clone();
    newer.samples.remove(0);
    newer.samples.push(Sample::new(T0 + 300.0, 0.0));
    let mut relabelled = series.clone();
    relabelled.labels.insert("device".into(), "sdb1".into());
    let driver = [Sample::new(T0, 1.0)];
    let other_driver = [Sample::new(T0, 2.0)];
    let changed = [
        print(&value, 0.0, Driver::Absent),
        print(&time, 0.0, Driver::Absent),
        print(&newer, 0.0, Driver::Absent),
        print(&relabelled, 0.0, Driver::Absent),
        print(&series, 1.0, Driver::Absent),
        print(&series, 0.0, Driver::Unmatched),
        print(&series, 0.0, Driver::Failed("timeout")),
        print(&series, 0.0, Driver::Failed("refused")),
        print(&series, 0.0, Driver::Series(&driver)),
        print(&series, 0.0, Driver::Series(&other_driver)),
    ];
    // Many series at once, a driver hashed once for those that share it:
    // the same fingerprints.
    let both = [series.clone(), value.clone()];
    assert_eq!(
        fingerprints(&both, &[0.0, 0.0], &[Driver::Series(&driver); 2]),
        [
            print(&series, 0.0, Driver::Series(&driver)),
            print(&value, 0.0, Driver::Series(&driver)),
        ]
    );
    for (i, c) in changed.iter().enumerate() {
        assert_ne!(*c, base, "change {i}");
        for (j, d) in changed.iter().enumerate().skip(i + 1) {
            assert_ne!(c, d, "changes {i} and {j}");
        }
    }
}

/// A forecast the clock alone can change is computed again, not counted
/// down past that moment. A nightly cleanup that has not come is still
/// due for a while, then has not run: the climb goes on to the wall. Read
/// on one side of that moment and counted down past it, the page would
/// wait for the next step's points (up to an hour at a 90-day lookback).
/// A straight trend's forecast holds until its band's near edge reaches
/// the wall.
#[test]
fn a_forecast_the_clock_can_change_is_computed_again_not_counted_down() {
    // Used % climbs 8 a day from 75 and is cleaned back every midnight;
    // the thirteenth cleanup does not come.
    let skipped = 13.0 * DAY;
    let used: Vec<Sample> = (0..15 * 288)
        .map(|i| {
            let t = T0 + 300.0 * i as f64;
            let x = t - T0;
            let v = if x < skipped {
                75.0 + 8.0 * x.rem_euclid(DAY) / DAY
            } else {
                83.0 + 8.0 * (x - skipped) / DAY
            };
            Sample::new(t, v + jitter(i))
        })
        .collect();
    // The points of one five-minute step, 5.9 hours after the cleanup
    // that did not come.
    let end = T0 + skipped + 71.0 * 300.0;
    let series = Series::new(
        labels(&[("mountpoint", "/var")]),
        used.into_iter().filter(|s| s.t <= end).collect(),
    );
    let at = |now: f64| {
        evaluate_one(
            "disk_full",
            &series,
            95.0,
            Driver::Absent,
            Direction::Rising,
            now,
        )
    };
    let (early, late) = (at(end + 1.0), at(end + 299.0));
    let alert = |e: &Evaluation| e.forecast.eta.map_or(f64::INFINITY, |x| x.alert);
    assert!(
        alert(&early) > 365.0 * DAY,
        "still due: {}",
        early.forecast.reason
    );
    assert!(
        alert(&late) < 2.0 * DAY,
        "did not run: {}",
        late.forecast.reason
    );
    let mut kept = Kept::default();
    let print = fingerprint(&series, 95.0, Driver::Absent);
    kept.keep(print, early);
    assert!(kept.reuse(print, end + 299.0, 300.0).is_none());

    let now = T0;
    let disk = evaluate_disk(&falling_disk(now, now + 20.0 * DAY), now);
    let lower = disk.forecast.eta.expect("approaching").lower;
    assert_eq!(disk.steady_until(), now + lower);
}
