//! Load headroom on responses of known shape, the roadmap's stages and
//! ranking, and when a moving wall is worth a re-roadmap event.

use super::*;
use crate::forecast::{Eta, Forecast};

const DAY: f64 = 86_400.0;
const STEP: f64 = 300.0;
const T0: f64 = 1_800_000_000.0;

/// Small deterministic noise in [-1, 1].
fn noise(i: usize, seed: u64) -> f64 {
    let mut x = (i as u64).wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 2001) as f64 / 1000.0 - 1.0
}

/// A week of load at 5 minutes: `base` requests a second growing 3% a day,
/// ±50% over the day.
fn load(base: f64) -> Vec<Sample> {
    (0..2016)
        .map(|i| {
            let t = T0 + STEP * i as f64;
            let days = (t - T0) / DAY;
            let daily = (std::f64::consts::TAU * days).sin();
            Sample::new(
                t,
                base * 1.03f64.powf(days) * (1.0 + 0.5 * daily) * (1.0 + 0.02 * noise(i, 1)),
            )
        })
        .collect()
}

fn respond(load: &[Sample], f: impl Fn(f64) -> f64) -> Vec<Sample> {
    load.iter()
        .enumerate()
        .map(|(i, s)| Sample::new(s.t, f(s.v) * (1.0 + 0.02 * noise(i, 2))))
        .collect()
}

fn now_of(s: &[Sample]) -> f64 {
    s.last().map_or(T0, |x| x.t)
}

fn near(what: &str, got: f64, truth: f64, tolerance: f64) {
    assert!(
        ((got - truth) / truth).abs() <= tolerance,
        "{what}: {got} is not within {}% of {truth}",
        100.0 * tolerance
    );
}

#[test]
fn a_latency_that_grows_with_the_square_of_load_is_fitted_as_a_power_law() {
    let driver = load(100.0);
    // 0.1 s at 100 requests a second, 0.4 s at 200.
    let latency = respond(&driver, |x| 0.1 * (x / 100.0).powi(2));
    let now = now_of(&driver);
    let h = headroom(
        &latency,
        Some(&driver),
        0.4,
        Direction::Rising,
        &Settings::default(),
        now,
    );
    let Basis::Driver(d) = &h.basis else {
        panic!("expected a driver-based headroom: {h:?}");
    };
    let Response::Power { exponent, .. } = d.fit.response else {
        panic!("expected a power law: {:?}", d.fit);
    };
    near("exponent", exponent, 2.0, 0.03);
    near("load at the wall", d.load_at_wall, 200.0, 0.03);
    let today = busy_level(&driver, Direction::Rising).unwrap();
    near("headroom", h.ratio.unwrap(), 200.0 / today, 0.03);
    // The daily peaks (150 × 1.03^days) reach 200 requests a second after
    // ln(4/3) / ln(1.03) = 9.73 days: 2.73 days after the week shown. The
    // driver's own trend gives that date.
    let days = d.time_to_load.expect("a date from the driver's trend") / DAY;
    near("days until the load at the wall", days, 2.73, 0.25);
    assert!(h.note.contains("power law"), "{}", h.note);
}

#[test]
fn a_metric_proportional_to_load_plus_a_floor_is_fitted_as_a_straight_line() {
    let driver = load(100.0);
    // 20 connections idle, 0.3 per request a second; 200 is the pool.
    let pool = respond(&driver, |x| 20.0 + 0.3 * x);
    let h = headroom(
        &pool,
        Some(&driver),
        200.0,
        Direction::Rising,
        &Settings::default(),
        now_of(&driver),
    );
    let Basis::Driver(d) = &h.basis else {
        panic!("expected a driver-based headroom: {h:?}");
    };
    assert_eq!(d.fit.response.kind(), "linear", "{:?}", d.fit);
    near("load at the wall", d.load_at_wall, 600.0, 0.03);
    // A planner reads the fit in plain figures: four significant digits,
    // a falling slope with its sign, not "+ -3.0000e-1".
    let fit = |intercept: f64, slope: f64| Response::Linear { intercept, slope }.describe();
    assert_eq!(fit(19.413_21, 0.403_36), "metric ≈ 19.41 + 0.4034 × load");
    assert_eq!(fit(180.586_8, -0.403_36), "metric ≈ 180.6 - 0.4034 × load");
    let power = Response::Power {
        coefficient: 2.518_3e-7,
        exponent: 2.0,
    };
    assert_eq!(power.describe(), "metric ≈ 2.5180e-7 × load^2.00");
    assert!(
        h.note.contains(&format!(
            "the wall at load {} against",
            figure(d.load_at_wall)
        )),
        "{}",
        h.note
    );
    assert!(!h.note.contains("e-1"), "{}", h.note);
}

#[test]
fn a_falling_metric_with_a_driver_breaks_where_its_line_reaches_the_wall() {
    let driver = load(100.0);
    // Free workers: 100 less one per 2.5 requests a second; none left at 250.
    let free = respond(&driver, |x| 100.0 - 0.4 * x);
    let h = headroom(
        &free,
        Some(&driver),
        0.0,
        Direction::Falling,
        &Settings::default(),
        now_of(&driver),
    );
    let Basis::Driver(d) = &h.basis else {
        panic!("expected a driver-based headroom: {h:?}");
    };
    near("load at the wall", d.load_at_wall, 250.0, 0.05);
}

#[test]
fn a_driver_that_explains_nothing_falls_back_to_the_stated_assumption() {
    let driver = load(100.0);
    // The metric follows its own path, unrelated to load.
    let metric: Vec<Sample> = driver
        .iter()
        .enumerate()
        .map(|(i, s)| Sample::new(s.t, 50.0 + 10.0 * noise(i, 9)))
        .collect();
    let h = headroom(
        &metric,
        Some(&driver),
        100.0,
        Direction::Rising,
        &Settings::default(),
        now_of(&driver),
    );
    assert_eq!(h.basis, Basis::Proportional, "{h:?}");
    assert!(h.note.contains("driver not used"), "{}", h.note);
    assert!(h.note.contains("proportion to load"), "{}", h.note);
}

#[test]
fn a_driver_that_never_varied_cannot_measure_a_response() {
    let metric = load(100.0);
    let flat: Vec<Sample> = metric.iter().map(|s| Sample::new(s.t, 42.0)).collect();
    let h = headroom(
        &metric,
        Some(&flat),
        1000.0,
        Direction::Rising,
        &Settings::default(),
        now_of(&metric),
    );
    assert_eq!(h.basis, Basis::Proportional);
    assert!(h.note.contains("barely varied"), "{}", h.note);
}

#[test]
fn without_a_driver_a_rising_metric_breaks_at_wall_over_todays_busy_level() {
    let metric = load(100.0);
    let today = busy_level(&metric, Direction::Rising).unwrap();
    // Today's busy level is the daily peak, about 1.5x the day's mean.
    let mean_today = 100.0 * 1.03f64.powf(7.0);
    assert!(
        today > 1.4 * mean_today && today < 1.55 * mean_today,
        "{today}"
    );
    let h = proportional(&metric, 600.0, Direction::Rising);
    near("headroom", h.ratio.unwrap(), 600.0 / today, 1e-9);
    assert!(h
        .note
        .contains("assuming the metric grows in proportion to load"));
    let falling = proportional(&metric, 0.0, Direction::Falling);
    assert_eq!(falling.ratio, None);
    assert!(falling.note.contains("needs a driver"), "{}", falling.note);
}

/// A driver configured that gave a series nothing is not "no driver": the
/// note says the driver's series did not match, so that a user looks at
/// its labels rather than at the configuration.
#[test]
fn a_driver_without_this_series_labels_is_named_in_the_note() {
    let metric = load(100.0);
    let now = now_of(&metric);
    let settings = Settings::default();
    let notes = |driver: Driver<'_>, wall: f64, direction: Direction| {
        headrooms(&[&metric], &[driver], &[wall], direction, &settings, now)
            .pop()
            .map(|h| (h.ratio.is_some(), h.note))
    };
    let unmatched = "(the driver gave no series with this series' labels)";
    let (ratio, note) = notes(Driver::Unmatched, 600.0, Direction::Rising).unwrap();
    assert!(ratio, "{note}");
    assert!(
        note.ends_with(&format!("in proportion to load {unmatched}")),
        "{note}"
    );
    let (ratio, note) = notes(Driver::Absent, 600.0, Direction::Rising).unwrap();
    assert!(ratio, "{note}");
    assert!(
        note.ends_with("in proportion to load (no driver)"),
        "{note}"
    );
    let (ratio, note) = notes(Driver::Unmatched, 0.0, Direction::Falling).unwrap();
    assert!(!ratio, "{note}");
    assert!(
        note.ends_with(&format!("is not known {unmatched}")),
        "{note}"
    );
}

fn evaluation(limit: &str, status: Status, eta: Option<f64>, headroom: Option<f64>) -> Evaluation {
    Evaluation {
        limit: limit.into(),
        labels: Labels::new(),
        wall: 100.0,
        direction: Direction::Rising,
        forecast: Forecast {
            status,
            model: ModelChoice::Robust,
            reason: String::new(),
            current_value: Some(50.0),
            level: 50.0,
            rate: 1e-3,
            eta: eta.map(|x| Eta {
                lower: x * 0.8,
                likely: x,
                upper: x * 1.3,
                alert: x * 0.9,
            }),
            samples: 100,
            period: None,
            regime_start: None,
            breached_at: None,
            steady_until: f64::INFINITY,
        },
        headroom: Headroom {
            ratio: headroom,
            basis: if headroom.is_some() {
                Basis::Proportional
            } else {
                Basis::Unknown
            },
            note: String::new(),
        },
        history: Vec::new(),
        at: T0,
    }
}

fn windows() -> Vec<Window> {
    vec![
        Window {
            severity: "critical".into(),
            lead: DAY,
        },
        Window {
            severity: "warning".into(),
            lead: 7.0 * DAY,
        },
    ]
}

#[test]
fn each_point_gets_the_stage_a_person_would_give_it() {
    let w = windows();
    let stage = |e: &Evaluation| place(e, &w, 10.0).stage;
    use Status::*;
    assert_eq!(
        stage(&evaluation("a", Breached, Some(0.0), Some(0.9))),
        Stage::Breached
    );
    assert_eq!(
        stage(&evaluation("a", Approaching, Some(0.5 * DAY), Some(20.0))),
        Stage::Critical
    );
    assert_eq!(
        stage(&evaluation("a", Approaching, Some(3.0 * DAY), Some(20.0))),
        Stage::Warning
    );
    assert_eq!(
        stage(&evaluation("a", Approaching, Some(90.0 * DAY), Some(3.0))),
        Stage::BeforeGrowth
    );
    assert_eq!(
        stage(&evaluation("a", Receding, None, Some(3.0))),
        Stage::BeforeGrowth
    );
    assert_eq!(
        stage(&evaluation("a", Approaching, Some(90.0 * DAY), Some(30.0))),
        Stage::Deferred
    );
    assert_eq!(
        stage(&evaluation("a", Receding, None, None)),
        Stage::Deferred
    );
    assert_eq!(
        stage(&evaluation("a", Approaching, Some(90.0 * DAY), None)),
        Stage::BeforeGrowth
    );
    // Without a load figure, a far trend towards the wall that may as well
    // never reach it (its band's far edge is "never") is not yet one to
    // address: it is the same series as a receding one, read through noise.
    // A noisy fill within the horizon (ten weeks here) is, whatever its
    // band.
    let open_band = |likely: f64| {
        let mut e = evaluation("a", Approaching, Some(likely), None);
        if let Some(eta) = e.forecast.eta.as_mut() {
            eta.upper = f64::INFINITY;
            eta.alert = f64::INFINITY;
        }
        e
    };
    assert_eq!(stage(&open_band(36.0 * 365.0 * DAY)), Stage::Deferred);
    assert_eq!(stage(&open_band(56.0 * DAY)), Stage::BeforeGrowth);
    assert_eq!(
        stage(&evaluation(
            "a",
            Approaching,
            Some(36.0 * 365.0 * DAY),
            None
        )),
        Stage::BeforeGrowth,
        "a far wall its band is sure of"
    );
    assert_eq!(
        stage(&evaluation("a", InsufficientData, None, None)),
        Stage::Unknown
    );
    // Likely within a lead time, its alert waiting for more evidence (the
    // damped trends doubt it): not paged yet, but no point to defer for a
    // headroom of 30x either.
    let mut waits = evaluation("a", Approaching, Some(3.0 * DAY), Some(30.0));
    if let Some(eta) = waits.forecast.eta.as_mut() {
        eta.alert = f64::INFINITY;
    }
    assert_eq!(stage(&waits), Stage::BeforeGrowth);
    // Nor is one its trend reaches in seven weeks, within the horizon of
    // ten 7-day leads: a queue that leaks fills whatever the load.
    if let Some(eta) = waits.forecast.eta.as_mut() {
        eta.likely = 47.0 * DAY;
    }
    assert_eq!(stage(&waits), Stage::BeforeGrowth);
    // Beyond the horizon, the headroom decides.
    if let Some(eta) = waits.forecast.eta.as_mut() {
        eta.likely = 71.0 * DAY;
    }
    assert_eq!(stage(&waits), Stage::Deferred);
    // The growth factor decides: 30x headroom must be addressed before 100x.
    let e = evaluation("a", Approaching, Some(90.0 * DAY), Some(30.0));
    assert!(place(&e, &w, 100.0).breaks_before_growth);
    // A single lead time that is not named critical is a warning.
    let single = [Window {
        severity: "ticket".into(),
        lead: 7.0 * DAY,
    }];
    let e = evaluation("a", Approaching, Some(0.5 * DAY), None);
    let p = place(&e, &single, 10.0);
    assert_eq!(p.stage, Stage::Warning);
    assert_eq!(p.severity.as_deref(), Some("ticket"));
}

#[test]
fn the_roadmap_ranks_first_to_break_first_then_what_can_wait() {
    use Status::*;
    let mut es = [
        evaluation("deferred", Approaching, Some(200.0 * DAY), Some(40.0)),
        evaluation("soon", Approaching, Some(3.0 * DAY), Some(1.5)),
        evaluation("breached", Breached, Some(0.0), Some(0.95)),
        evaluation("flat_tight", Receding, None, Some(2.0)),
        evaluation("later", Approaching, Some(60.0 * DAY), Some(4.0)),
        evaluation("no_data", InsufficientData, None, None),
        evaluation("flat_loose", Receding, None, Some(5.0)),
        evaluation("tonight", Approaching, Some(0.4 * DAY), Some(1.2)),
        evaluation("in_hours", Approaching, Some(0.1 * DAY), Some(1.1)),
        evaluation("paging", Approaching, Some(6.0 * DAY), Some(1.3)),
        evaluation("quiet", Approaching, Some(4.0 * DAY), Some(30.0)),
    ];
    for e in &mut es {
        let eta = e.forecast.eta.as_mut();
        match (e.limit.as_str(), eta) {
            // Paging now on a wide band: the wall 30% likely within 0.8
            // days of the 1-day critical lead, likely in 6.
            ("paging", Some(eta)) => eta.alert = 0.8 * DAY,
            // Likely in 4 days, its alert waiting (damped trends doubt it):
            // nothing pages on it yet.
            ("quiet", Some(eta)) => eta.alert = f64::INFINITY,
            _ => {}
        }
    }
    let w = windows();
    // "in_hours" is on a limit whose only lead time is a 3-day warning:
    // it pages as a warning, and breaks before "tonight"'s critical wall.
    let single = [Window {
        severity: "warning".into(),
        lead: 3.0 * DAY,
    }];
    let ranked = rank(
        es.iter()
            .map(|e| place(e, if e.limit == "in_hours" { &single } else { &w }, 10.0))
            .collect(),
    );
    let names: Vec<&str> = ranked.iter().map(|p| p.evaluation.limit.as_str()).collect();
    assert_eq!(
        names,
        [
            "breached",
            "in_hours",
            "tonight",
            "paging",
            "soon",
            "quiet",
            "later",
            "flat_tight",
            "flat_loose",
            "deferred",
            "no_data"
        ]
    );
    let stages: Vec<Stage> = ranked.iter().take(6).map(|p| p.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Breached,
            Stage::Warning,
            Stage::Critical,
            Stage::Critical,
            Stage::Warning,
            Stage::BeforeGrowth
        ]
    );
}

#[test]
fn compounding_growth_reports_its_doubling_time() {
    let mut e = evaluation("a", Status::Approaching, Some(10.0 * DAY), Some(2.0));
    e.forecast.model = ModelChoice::Exponential;
    // 50 growing by 50 × ln 2 / (3 days) a second doubles in 3 days.
    e.forecast.rate = 50.0 * std::f64::consts::LN_2 / (3.0 * DAY);
    let p = place(&e, &windows(), 10.0);
    near("doubling time", p.doubling_time.unwrap(), 3.0 * DAY, 1e-9);
    e.forecast.model = ModelChoice::Robust;
    assert_eq!(place(&e, &windows(), 10.0).doubling_time, None);
}

/// Steps the re-roadmap through evaluations of one point.
struct Steps {
    marks: HashMap<(String, Labels), Mark>,
    hold: f64,
}

impl Steps {
    /// Moves are recorded as soon as they are seen.
    fn new() -> Self {
        Self::holding(0.0)
    }

    fn holding(hold: f64) -> Self {
        Steps {
            marks: HashMap::new(),
            hold,
        }
    }
}

impl Steps {
    fn at(&mut self, now: f64, eta: Option<f64>, headroom: Option<f64>) -> Vec<ChangeKind> {
        let status = if eta.is_some() {
            Status::Approaching
        } else {
            Status::Receding
        };
        self.with_status(now, status, eta, headroom)
    }

    fn with_status(
        &mut self,
        now: f64,
        status: Status,
        eta: Option<f64>,
        headroom: Option<f64>,
    ) -> Vec<ChangeKind> {
        let e = Evaluation {
            at: now,
            ..evaluation("pool", status, eta, headroom)
        };
        let points = vec![place(&e, &[], 10.0)];
        reroadmap(
            &mut self.marks,
            &points,
            10.0,
            |_| 100.0 * DAY,
            self.hold,
            now,
        )
        .into_iter()
        .map(|c| c.kind)
        .collect()
    }
}

#[test]
fn a_wall_that_halves_or_doubles_is_re_roadmapped_once() {
    let mut s = Steps::new();
    assert!(
        s.at(T0, Some(40.0 * DAY), Some(20.0)).is_empty(),
        "first sight"
    );
    // A day later it should be 39 days away; 30 is a move, not a halving.
    assert!(s.at(T0 + DAY, Some(30.0 * DAY), Some(20.0)).is_empty());
    // Drifting a little each time, it is caught once it has halved against
    // what was last recorded, not never.
    assert!(s
        .at(T0 + 2.0 * DAY, Some(24.0 * DAY), Some(20.0))
        .is_empty());
    assert_eq!(
        s.at(T0 + 3.0 * DAY, Some(18.0 * DAY), Some(20.0)),
        [ChangeKind::Sooner]
    );
    // Recorded: the same wall again is no news.
    assert!(s
        .at(T0 + 4.0 * DAY, Some(17.0 * DAY), Some(20.0))
        .is_empty());
    // The trend goes away: later.
    assert_eq!(s.at(T0 + 5.0 * DAY, None, Some(20.0)), [ChangeKind::Later]);
    assert!(s.at(T0 + 6.0 * DAY, None, Some(20.0)).is_empty());
    // It comes back, inside the horizon: sooner.
    assert_eq!(
        s.at(T0 + 7.0 * DAY, Some(50.0 * DAY), Some(20.0)),
        [ChangeKind::Sooner]
    );
}

/// A wall reached is the wall alerts' news, not the roadmap's: a series
/// whose trend gets to the wall now, or that stays there, raises no
/// "moved sooner: about 0s".
#[test]
fn a_wall_reached_is_not_re_roadmapped_sooner() {
    let mut s = Steps::new();
    s.at(T0, Some(10.0 * DAY), Some(20.0));
    for day in 1..10 {
        let changes = s.at(T0 + f64::from(day) * DAY, Some(0.0), Some(20.0));
        assert!(changes.is_empty(), "day {day}: {changes:?}");
    }
}

/// A spike at the wall: the series is breached for an hour, longer than the
/// hold, then back on its way to a wall ten days off. Nothing moved on the
/// roadmap, so neither the spike nor its end is a re-roadmap event.
#[test]
fn a_spike_at_the_wall_raises_no_re_roadmap_event() {
    const MINUTE: f64 = 60.0;
    let mut s = Steps::holding(30.0 * MINUTE);
    assert!(s.at(T0, Some(10.0 * DAY), Some(20.0)).is_empty());
    let mut changes = Vec::new();
    for i in 1..=60 {
        let now = T0 + f64::from(i) * MINUTE;
        changes.extend(s.with_status(now, Status::Breached, Some(0.0), Some(20.0)));
    }
    for i in 61..=180 {
        let now = T0 + f64::from(i) * MINUTE;
        changes.extend(s.at(now, Some(10.0 * DAY - f64::from(i) * MINUTE), Some(20.0)));
    }
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn walls_beyond_the_horizon_move_without_events() {
    let mut s = Steps::new();
    s.at(T0, Some(900.0 * DAY), Some(50.0));
    assert!(s.at(T0 + DAY, Some(300.0 * DAY), Some(50.0)).is_empty());
    assert!(s.at(T0 + 2.0 * DAY, None, Some(50.0)).is_empty());
}

#[test]
fn crossing_the_growth_factor_needs_a_margin_and_is_recorded_each_way() {
    let mut s = Steps::new();
    let far = Some(500.0 * DAY);
    assert!(s.at(T0, far, Some(12.0)).is_empty());
    // Just below the factor: shown as "must address", but not yet news.
    assert!(s.at(T0 + DAY, far, Some(9.5)).is_empty());
    assert_eq!(
        s.at(T0 + 2.0 * DAY, far, Some(8.0)),
        [ChangeKind::MustAddress]
    );
    assert!(s.at(T0 + 3.0 * DAY, far, Some(10.5)).is_empty());
    assert_eq!(
        s.at(T0 + 4.0 * DAY, far, Some(12.0)),
        [ChangeKind::Deferred]
    );
}

/// A random walk hovering where its trend is ambiguous: its wall comes and
/// goes from one evaluation to the next. Without a hold that is an event a
/// minute; with one, only a move that lasts is news.
#[test]
fn a_wall_that_comes_and_goes_is_not_re_roadmapped_until_the_move_lasts() {
    const MINUTE: f64 = 60.0;
    let wall = Some(20.0 * DAY);
    let flicker = |s: &mut Steps, from: f64, minutes: usize| -> usize {
        (0..minutes)
            .map(|i| {
                let eta = if i % 2 == 0 { None } else { wall };
                s.at(from + i as f64 * MINUTE, eta, Some(20.0)).len()
            })
            .sum()
    };
    let mut eager = Steps::new();
    eager.at(T0, wall, Some(20.0));
    assert_eq!(flicker(&mut eager, T0 + MINUTE, 60), 60, "without a hold");

    let mut s = Steps::holding(30.0 * MINUTE);
    s.at(T0, wall, Some(20.0));
    assert_eq!(flicker(&mut s, T0 + MINUTE, 60), 0);
    // The wall goes away for good: recorded once it has been gone for the
    // hold, and only then.
    let gone = T0 + 61.0 * MINUTE;
    for i in 0..30 {
        let at = gone + i as f64 * MINUTE;
        assert!(s.at(at, None, Some(20.0)).is_empty(), "{i} minutes");
    }
    assert_eq!(
        s.at(gone + 30.0 * MINUTE, None, Some(20.0)),
        [ChangeKind::Later]
    );
    assert!(s.at(gone + 31.0 * MINUTE, None, Some(20.0)).is_empty());
    // A crossing of the growth factor waits for the hold too, and a blip
    // back resets it.
    let t = gone + 40.0 * MINUTE;
    assert!(s.at(t, None, Some(5.0)).is_empty());
    assert!(s.at(t + 20.0 * MINUTE, None, Some(5.0)).is_empty());
    assert!(s.at(t + 21.0 * MINUTE, None, Some(20.0)).is_empty());
    assert!(s.at(t + 22.0 * MINUTE, None, Some(5.0)).is_empty());
    assert!(s.at(t + 51.0 * MINUTE, None, Some(5.0)).is_empty());
    assert_eq!(
        s.at(t + 52.0 * MINUTE, None, Some(5.0)),
        [ChangeKind::MustAddress]
    );
}

/// A limit that fails keeps its last forecasts on the roadmap, timed from
/// when they were made. Compared with the mark's clock at every later
/// evaluation, a wall 10 days away would read "later" within days; they
/// are not compared at all, and the mark waits for a fresh forecast.
#[test]
fn forecasts_kept_from_an_earlier_evaluation_are_not_re_roadmapped() {
    let mut s = Steps::new();
    s.at(T0, Some(10.0 * DAY), Some(20.0));
    let kept = Evaluation {
        at: T0,
        ..evaluation("pool", Status::Approaching, Some(10.0 * DAY), Some(20.0))
    };
    for day in 1..=9 {
        let points = vec![place(&kept, &[], 10.0)];
        let now = T0 + f64::from(day) * DAY;
        let changes = reroadmap(&mut s.marks, &points, 10.0, |_| 100.0 * DAY, 0.0, now);
        assert!(changes.is_empty(), "day {day}: {changes:?}");
    }
    assert_eq!(s.marks.len(), 1, "the mark is kept");
    // Fresh again, and where the kept forecast said: no news.
    assert!(s.at(T0 + 9.0 * DAY, Some(DAY), Some(20.0)).is_empty());
}

#[test]
fn marks_of_points_that_are_gone_are_dropped() {
    let mut s = Steps::new();
    s.at(T0, Some(10.0 * DAY), Some(5.0));
    assert_eq!(s.marks.len(), 1);
    reroadmap(&mut s.marks, &[], 10.0, |_| DAY, 0.0, T0 + DAY);
    assert!(s.marks.is_empty());
}

#[test]
fn series_that_share_a_driver_get_the_dates_they_would_get_alone() {
    let driver = load(100.0);
    let now = now_of(&driver);
    let latency = respond(&driver, |x| 0.1 * (x / 100.0).powi(2));
    let pool = respond(&driver, |x| 20.0 + 0.3 * x);
    let settings = Settings::default();
    let metrics = [latency.as_slice(), pool.as_slice(), latency.as_slice()];
    let walls = [0.4, 200.0, 0.9];
    let drivers = [Driver::Series(driver.as_slice()); 3];
    let together = headrooms(
        &metrics,
        &drivers,
        &walls,
        Direction::Rising,
        &settings,
        now,
    );
    for (i, h) in together.iter().enumerate() {
        let alone = headroom(
            metrics[i],
            Some(driver.as_slice()),
            walls[i],
            Direction::Rising,
            &settings,
            now,
        );
        assert_eq!(h, &alone, "series {i}");
        let Basis::Driver(d) = &h.basis else {
            panic!("{h:?}");
        };
        assert!(d.time_to_load.is_some(), "series {i} has a date: {h:?}");
    }
    // A higher wall on the same driver breaks later.
    let date = |h: &Headroom| match &h.basis {
        Basis::Driver(d) => d.time_to_load.unwrap_or(f64::INFINITY),
        _ => f64::NAN,
    };
    assert!(date(&together[2]) > date(&together[0]));
}

/// A reload that removes a limit, or takes a change out of
/// `roadmap.alert_on`, resolves its active notices instead of re-sending
/// them firing until their `endsAt`; the others go on.
#[test]
fn withdrawn_notices_resolve_and_the_rest_go_on() {
    let change = |limit: &str, kind| Change {
        limit: limit.into(),
        labels: [("instance".to_string(), "db-1".to_string())].into(),
        kind,
        at: T0,
        expected: 10.0 * 86_400.0,
        now: 2.0 * 86_400.0,
        headroom_before: None,
        headroom_now: None,
    };
    let mut notices = Notices::default();
    let until = T0 + 3600.0;
    notices.raise(
        &change("disk_full", ChangeKind::Sooner),
        &Labels::new(),
        10.0,
        until,
        "",
    );
    notices.raise(
        &change("queue_full", ChangeKind::Sooner),
        &Labels::new(),
        10.0,
        until,
        "",
    );
    notices.raise(
        &change("disk_full", ChangeKind::MustAddress),
        &Labels::new(),
        10.0,
        until,
        "",
    );
    assert_eq!(notices.due(T0, 60.0).len(), 3);

    // queue_full is removed; `must_address` is no longer alerted on.
    notices.withdraw(
        |limit, change| limit == "disk_full" && change == "sooner",
        T0 + 30.0,
    );
    let sent = notices.due(T0 + 31.0, 60.0);
    let mut resolved: Vec<(String, String)> = sent
        .iter()
        .filter(|a| a.state == AlertState::Resolved)
        .map(|a| (a.labels["limit"].clone(), a.labels["change"].clone()))
        .collect();
    resolved.sort();
    assert_eq!(
        resolved,
        vec![
            ("disk_full".to_string(), "must_address".to_string()),
            ("queue_full".to_string(), "sooner".to_string())
        ]
    );
    assert!(sent
        .iter()
        .all(|a| a.state != AlertState::Resolved || a.ends_at == T0 + 30.0));
    // Resolved, they are re-sent with the notice still wanted, as resolved
    // alerts are: a send that was lost must not leave them firing until
    // their `endsAt`.
    let states = |sent: &[crate::evaluate::Alert]| {
        let mut s: Vec<(String, String, AlertState)> = sent
            .iter()
            .map(|a| {
                (
                    a.labels["limit"].clone(),
                    a.labels["change"].clone(),
                    a.state,
                )
            })
            .collect();
        s.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        s
    };
    let notice = |limit: &str, change: &str, state| (limit.to_string(), change.to_string(), state);
    assert_eq!(
        states(&notices.due(T0 + 91.0, 60.0)),
        [
            notice("disk_full", "must_address", AlertState::Resolved),
            notice("disk_full", "sooner", AlertState::Firing),
            notice("queue_full", "sooner", AlertState::Resolved),
        ]
    );
    // Not before the resend delay.
    assert_eq!(notices.due(T0 + 120.0, 60.0), []);
    // Until Prometheus' resolved retention has passed since they were
    // withdrawn; then only the notice still wanted goes on.
    let retention = crate::evaluate::RESOLVED_RETENTION_SECONDS;
    assert_eq!(
        states(&notices.due(T0 + 30.0 + retention - 1.0, 60.0)).len(),
        3
    );
    assert_eq!(
        states(&notices.due(T0 + 30.0 + retention + 60.0, 60.0)),
        [notice("disk_full", "sooner", AlertState::Firing)]
    );
}

/// A wall that moved sooner and then later again: the "sooner" notice no
/// longer holds and is resolved when the "later" one is raised, rather
/// than both firing until their `endsAt`. Other series' notices go on.
/// Each links to its limit's query, as the wall alerts do.
#[test]
fn a_move_back_resolves_the_notice_of_the_move_it_undoes() {
    let change = |instance: &str, kind, at| Change {
        limit: "disk_full".into(),
        labels: [("instance".to_string(), instance.to_string())].into(),
        kind,
        at,
        expected: 10.0 * 86_400.0,
        now: 2.0 * 86_400.0,
        headroom_before: None,
        headroom_now: None,
    };
    let url = "http://prometheus:9090/graph?g0.expr=q";
    let mut notices = Notices::default();
    let until = T0 + 86_400.0;
    for instance in ["db-1", "db-2"] {
        notices.raise(
            &change(instance, ChangeKind::Sooner, T0),
            &Labels::new(),
            10.0,
            until,
            url,
        );
    }
    assert_eq!(notices.due(T0, 60.0).len(), 2);
    notices.raise(
        &change("db-1", ChangeKind::Later, T0 + 600.0),
        &Labels::new(),
        10.0,
        until,
        url,
    );
    let sent = notices.due(T0 + 600.0, 60.0);
    let mut seen: Vec<(String, String, AlertState, f64)> = sent
        .iter()
        .map(|a| {
            (
                a.labels["instance"].clone(),
                a.labels["change"].clone(),
                a.state,
                a.ends_at,
            )
        })
        .collect();
    seen.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        seen,
        [
            (
                "db-1".to_string(),
                "later".to_string(),
                AlertState::Firing,
                until
            ),
            (
                "db-1".to_string(),
                "sooner".to_string(),
                AlertState::Resolved,
                T0 + 600.0
            ),
            (
                "db-2".to_string(),
                "sooner".to_string(),
                AlertState::Firing,
                until
            ),
        ]
    );
    assert!(sent.iter().all(|a| a.generator_url == url));
}

/// The note of a driver's headroom gives the date the load's own trend
/// reaches the wall's load, and says when the metric's own trend, which
/// dates the wall on the roadmap, disagrees: a pool that also leaks
/// connections fills sooner than its traffic explains.
#[test]
fn a_driver_headroom_note_compares_the_loads_date_with_the_metrics() {
    use Status::*;
    let note = |status: Status, metric: Option<f64>, load: Option<f64>| {
        let mut e = evaluation("pool", status, metric, Some(2.0));
        e.headroom.note = "breaks at 2.00x today's load".into();
        e.headroom.basis = Basis::Driver(DriverHeadroom {
            fit: Fit {
                response: Response::Linear {
                    intercept: 20.0,
                    slope: 0.3,
                },
                r2: 0.99,
                pairs: 2016,
            },
            load_now: 100.0,
            load_at_wall: 200.0,
            time_to_load: load,
            steady_until: f64::INFINITY,
        });
        compare_dates(&mut e.headroom, &e.forecast);
        e.headroom.note
    };
    assert_eq!(
        note(Approaching, Some(12.0 * DAY), Some(10.0 * DAY)),
        "breaks at 2.00x today's load; the load gets there in about 10d by its own trend, and the metric's own trend reaches the wall in about 12d"
    );
    assert!(note(Approaching, Some(3.0 * DAY), Some(17.0 * DAY)).ends_with(
        "but the metric's own trend reaches the wall in about 3d: it grows faster than this load explains"
    ));
    assert!(note(Approaching, Some(30.0 * DAY), Some(10.0 * DAY))
        .ends_with("it grows slower than this load explains"));
    assert!(note(Receding, None, Some(10.0 * DAY)).ends_with(
        "but the metric's own trend does not approach the wall: it grows slower than this load explains"
    ));
    assert_eq!(
        note(Approaching, Some(3.0 * DAY), None),
        "breaks at 2.00x today's load; the load's own trend does not get there, but the metric's own trend reaches the wall in about 3d: it grows faster than this load explains"
    );
    assert_eq!(
        note(Receding, None, None),
        "breaks at 2.00x today's load; neither the load's own trend nor the metric's gets there"
    );
    // A wall reached is dated by the wall alert, not compared.
    assert_eq!(
        note(Breached, Some(0.0), Some(10.0 * DAY)),
        "breaks at 2.00x today's load"
    );
}
