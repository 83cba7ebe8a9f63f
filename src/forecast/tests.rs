//! Table tests of the forecasting core: each scenario states what a person
//! reading the forecast would expect.

use super::*;

/// Deterministic noise in [-1, 1): a linear congruential generator, so tests
/// need no random crate and never change between runs.
pub(crate) fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

const NOW: f64 = 1_700_000_000.0;

/// `n` samples every `step` seconds ending at NOW, value `f(age)` where age
/// is seconds before NOW (negative x).
fn history(n: usize, step: f64, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let x = -step * (n - 1 - i) as f64;
            Sample::new(NOW + x, f(x))
        })
        .collect()
}

fn run(s: &[Sample], wall: f64, dir: Direction, model: ModelChoice) -> Forecast {
    forecast(s, wall, dir, &Settings::with_model(model), NOW)
}

use super::season::YEAR;

/// Asserts that `f`'s likely time is within a factor 1.25 of `expected`
/// seconds, printing both in years and `f`'s reason when it is not.
fn assert_likely_within_years(f: &Forecast, expected: f64) {
    let eta = f.eta.expect("approaching").likely;
    assert!(
        eta < 1.25 * expected && eta > expected / 1.25,
        "{:.1} years, expected {:.1}: {}",
        eta / YEAR,
        expected / YEAR,
        f.reason
    );
}

#[test]
fn a_series_of_a_few_samples_is_forecast_not_a_crash() {
    // A new mount or a new pod has a handful of samples. With three or
    // four the newest level's window (at least five samples) used to be
    // clamped to more than there were, and the forecast panicked, taking
    // every series of its limit with it in the daemon.
    for n in 2..=6 {
        // Rising 1 an hour, 10 below the wall now.
        let s = history(n, 3600.0, |x| 90.0 + x / 3600.0);
        for model in ModelChoice::ALL {
            let f = run(&s, 100.0, Direction::Rising, model);
            if n < 3 {
                assert_eq!(f.status, Status::InsufficientData, "{n} samples, {model}");
                continue;
            }
            assert_eq!(
                f.status,
                Status::Approaching,
                "{n} samples, {model}: {}",
                f.reason
            );
            // Ten hours; compounding at the recent rate gets there a
            // little sooner (9.4 hours from 88, 89, 90).
            let eta = f.eta.unwrap();
            let expected = match model {
                ModelChoice::Exponential => 9.0 * 3600.0..36_000.0,
                _ => 36_000.0 - 60.0..36_000.0 + 60.0,
            };
            assert!(
                expected.contains(&eta.likely),
                "{n} samples, {model}: {eta:?}"
            );
        }
    }
}

#[test]
fn reasons_read_as_sentences_and_say_only_what_applies() {
    // Exponential growth set by configuration, on a series that starts at
    // 0: the straight trends used instead are named as such.
    let from_zero = history(200, 3600.0, |x| 199.0 + x / 3600.0);
    let f = run(
        &from_zero,
        400.0,
        Direction::Rising,
        ModelChoice::Exponential,
    );
    assert!(
        f.reason.contains(
            "straight trends (exponential growth needs positive values rising to a positive wall)"
        ),
        "{}",
        f.reason
    );
    // A falling series: compounding towards a wall above is beside the
    // point, and not mentioned.
    let falling = history(200, 3600.0, |x| 100.0 - x / 3600.0 + (x / 7200.0).sin());
    let f = run(&falling, 0.0, Direction::Falling, ModelChoice::Auto);
    assert!(f.reason.contains("straight trends"), "{}", f.reason);
    assert!(!f.reason.contains("exponential"), "{}", f.reason);
    // An exact line: the alert is due when the wall is, and waits for
    // nothing.
    let exact = history(200, 3600.0, |x| 100.0 + x / 3600.0);
    let f = run(&exact, 120.0, Direction::Rising, ModelChoice::Auto);
    assert!(!f.reason.contains("the alert waits"), "{}", f.reason);
    // One sample.
    let f = run(&exact[..1], 120.0, Direction::Rising, ModelChoice::Auto);
    assert!(f.reason.starts_with("1 finite sample;"), "{}", f.reason);
}

#[test]
fn linear_disk_fill_gives_the_exact_time_to_wall() {
    // 1 TB free, losing 1 MB/s: 1e6 seconds to empty.
    let s = history(2016, 300.0, |x| 1e12 - 1e6 * x);
    for model in [ModelChoice::Linear, ModelChoice::Robust, ModelChoice::Auto] {
        let f = run(&s, 0.0, Direction::Falling, model);
        assert_eq!(f.status, Status::Approaching, "{model}");
        let eta = f.eta.unwrap();
        assert!((eta.likely - 1e6).abs() < 1.0, "{model}: {eta:?}");
        assert!(eta.lower <= eta.likely && eta.likely <= eta.upper);
        // An exact line leaves no doubt: the band has no width, and the
        // page is due as soon as the wall is within the lead.
        assert!((eta.upper - eta.lower).abs() < 1.0, "{model}: {eta:?}");
        assert!(f.within(1.5e6), "{model}: {eta:?} {}", f.reason);
        assert!(!f.reason.contains("NaN"), "{}", f.reason);
        assert_eq!(f.current_value, Some(1e12));
    }
}

#[test]
fn noisy_trends_land_within_five_percent_and_the_band_holds_the_truth() {
    // (description, direction, wall, level now, slope per second, noise amplitude)
    let cases = [
        (
            "queue depth rising",
            Direction::Rising,
            10_000.0,
            4_000.0,
            0.01,
            300.0,
        ),
        (
            "free bytes falling",
            Direction::Falling,
            0.0,
            5e11,
            -1e6,
            2e9,
        ),
        ("latency creeping", Direction::Rising, 0.5, 0.2, 3e-7, 0.02),
    ];
    for (what, dir, wall, level, slope, amp) in cases {
        let truth = (wall - level) / slope;
        let e = noise(7, 2016);
        let s = history(2016, 300.0, |x| {
            level + slope * x + amp * e[((x / 300.0) as i64).unsigned_abs() as usize % 2016]
        });
        for model in [ModelChoice::Linear, ModelChoice::Robust] {
            let f = run(&s, wall, dir, model);
            let eta = f.eta.unwrap_or_else(|| panic!("{what} {model}: {f:?}"));
            assert!(
                (eta.likely / truth - 1.0).abs() < 0.05,
                "{what} {model}: {} vs {truth}",
                eta.likely
            );
            assert!(
                eta.lower < truth && truth < eta.upper,
                "{what} {model}: band {eta:?} misses {truth}"
            );
        }
    }
}

#[test]
fn more_noise_gives_a_wider_band() {
    let width = |amp: f64| {
        let e = noise(3, 500);
        let s = history(500, 60.0, |x| {
            100.0 + 0.001 * x + amp * e[(-x / 60.0) as usize]
        });
        let eta = run(&s, 200.0, Direction::Rising, ModelChoice::Linear)
            .eta
            .unwrap();
        eta.upper - eta.lower
    };
    assert!(width(5.0) > 2.0 * width(0.5));
}

#[test]
fn degenerate_data_is_a_status_not_a_panic() {
    let flat = history(100, 60.0, |_| 42.0);
    let away = history(100, 60.0, |x| 50.0 - 0.1 * x);
    let mut with_nan = history(100, 60.0, |x| 50.0 + 0.01 * x);
    for s in with_nan.iter_mut().step_by(3) {
        s.v = f64::NAN;
    }
    with_nan[1].v = f64::INFINITY;
    let same_time = vec![
        Sample::new(NOW, 1.0),
        Sample::new(NOW, 2.0),
        Sample::new(NOW, 3.0),
    ];
    let cases: Vec<(&str, Vec<Sample>, f64, Direction, Status)> = vec![
        (
            "no samples",
            vec![],
            10.0,
            Direction::Rising,
            Status::InsufficientData,
        ),
        (
            "one sample",
            vec![Sample::new(NOW, 1.0)],
            10.0,
            Direction::Rising,
            Status::InsufficientData,
        ),
        (
            "two samples",
            history(2, 60.0, |x| x),
            10.0,
            Direction::Rising,
            Status::InsufficientData,
        ),
        (
            "one timestamp",
            same_time,
            10.0,
            Direction::Rising,
            Status::InsufficientData,
        ),
        (
            "flat",
            flat.clone(),
            100.0,
            Direction::Rising,
            Status::Receding,
        ),
        (
            "flat, falling wall",
            flat,
            0.0,
            Direction::Falling,
            Status::Receding,
        ),
        (
            "moving away",
            away,
            100.0,
            Direction::Rising,
            Status::Receding,
        ),
        (
            "NaN and Inf skipped",
            with_nan,
            100.0,
            Direction::Rising,
            Status::Approaching,
        ),
        (
            "infinite wall",
            history(100, 60.0, |x| x),
            f64::INFINITY,
            Direction::Rising,
            Status::InsufficientData,
        ),
        (
            "all NaN",
            history(100, 60.0, |_| f64::NAN),
            1.0,
            Direction::Rising,
            Status::InsufficientData,
        ),
    ];
    for (what, s, wall, dir, want) in cases {
        for model in ModelChoice::ALL {
            let f = run(&s, wall, dir, model);
            assert_eq!(f.status, want, "{what} ({model}): {f:?}");
            assert_eq!(f.eta.is_some(), want == Status::Approaching, "{what}");
            assert_ne!(
                f.model,
                ModelChoice::Auto,
                "{what}: the model used is named"
            );
        }
    }
}

#[test]
fn nan_samples_are_skipped_not_fitted() {
    let mut s = history(200, 60.0, |x| 1000.0 + 0.5 * x);
    for x in s.iter_mut().skip(5).step_by(7) {
        x.v = f64::NAN;
    }
    let f = run(&s, 2000.0, Direction::Rising, ModelChoice::Linear);
    assert!((f.eta.unwrap().likely - 2000.0).abs() < 1e-6);
    assert!(f.samples < 200);
}

#[test]
fn breach_needs_the_newest_samples_past_the_wall_not_one_spike() {
    let mut spiked = history(100, 60.0, |x| 50.0 + 0.001 * x);
    spiked[99].v = 150.0;
    let f = run(&spiked, 100.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Approaching);
    assert_eq!(
        f.current_value,
        Some(150.0),
        "the newest value is reported as is"
    );

    let past = history(100, 60.0, |x| 120.0 + 0.001 * x);
    let f = run(&past, 100.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Breached);
    assert_eq!(f.eta.map(|e| e.likely), Some(0.0));
    assert!(f.within(0.0));

    let empty_disk = history(100, 60.0, |x| (-1e3 * x).min(0.0) + 0.0);
    let f = run(&empty_disk, 0.0, Direction::Falling, ModelChoice::Auto);
    assert_eq!(f.status, Status::Breached);
}

/// A queue backing up: a week of a slow daily-cycled climb, then 150 an
/// hour towards a wall of 1,000 for the newest two or three hours. The
/// climb is a new trend before it has lasted a twentieth of the week: the
/// wall is forecast within half again of when the climb reaches it, and
/// pages inside a 3-day lead. (A whole-week trend had said 10 to 13 days,
/// and the alert waited, until half an hour before the wall.)
#[test]
fn a_fresh_steep_climb_is_followed_within_hours() {
    let e = noise(11, 2016);
    let signal = |x: f64, climb: f64| {
        let days = (x + 2015.0 * 300.0) / 86_400.0;
        let ramp = (x + climb).max(0.0) * 150.0 / 3600.0;
        100.0 + 300.0 * days / 8.0 + 30.0 * (std::f64::consts::TAU * days).sin() + ramp
    };
    for hours in [2.0, 3.0] {
        let climb = hours * 3600.0;
        let s: Vec<Sample> = history(2016, 300.0, |x| signal(x, climb))
            .into_iter()
            .zip(&e)
            .map(|(s, e)| Sample::new(s.t, s.v + 5.0 * e))
            .collect();
        // The noise-free signal's first crossing, a minute at a time.
        let truth = (0..100_000)
            .map(|m| 60.0 * m as f64)
            .find(|&x| signal(x, climb) >= 1000.0)
            .unwrap_or(f64::INFINITY);
        let f = forecast(&s, 1000.0, Direction::Rising, &Settings::default(), NOW);
        let likely = f.eta.map_or(f64::INFINITY, |e| e.likely);
        assert!(
            (likely / truth).ln().abs() < 1.5f64.ln(),
            "climbing {hours}h: {likely:.0}s against {truth:.0}s: {}",
            f.reason
        );
        assert!(f.within(3.0 * 86_400.0), "{hours}h: {}", f.reason);
    }
}

/// A dashboard and an alert show when the wall was reached, which stays put
/// from one evaluation to the next, not the time of each evaluation.
#[test]
fn a_breach_is_dated_when_the_wall_was_reached() {
    // One sample a minute rising by 1 from 0, the wall at 80: the 81st
    // sample, 20 minutes before now, reaches it. An earlier spike past it
    // and a later dip back below it change nothing.
    let mut s = history(101, 60.0, |x| 100.0 + x / 60.0);
    s[40].v = 500.0;
    s[90].v = 10.0;
    let f = run(&s, 80.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Breached);
    assert_eq!(f.breached_at, Some(NOW - 20.0 * 60.0));
    assert_eq!(f.wall_at(NOW), f.breached_at);
    // Evaluated again a minute later, with one more sample: the same time.
    s.push(Sample::new(NOW + 60.0, 101.0));
    let later = forecast(
        &s,
        80.0,
        Direction::Rising,
        &Settings::default(),
        NOW + 60.0,
    );
    assert_eq!(later.wall_at(NOW + 60.0), Some(NOW - 20.0 * 60.0));
    // Not yet past it: no breach time, and the wall is ahead.
    let f = run(&s[..70], 80.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.breached_at, None);
    assert!(f.wall_at(NOW).is_some_and(|t| t > s[69].t));
}

#[test]
fn samples_after_now_are_ignored() {
    let mut s = history(100, 60.0, |x| 10.0 + 0.01 * x);
    s.push(Sample::new(NOW + 600.0, 1e9));
    let f = run(&s, 20.0, Direction::Rising, ModelChoice::Linear);
    assert!((f.eta.unwrap().likely - 1000.0).abs() < 1e-6);
}

#[test]
fn unsorted_input_is_sorted_before_fitting() {
    let mut s = history(100, 60.0, |x| 10.0 + 0.01 * x);
    s.reverse();
    let f = run(&s, 20.0, Direction::Rising, ModelChoice::Linear);
    assert_eq!(f.current_value, Some(10.0));
    assert!((f.eta.unwrap().likely - 1000.0).abs() < 1e-6);
}

#[test]
fn spikes_do_not_move_the_forecast() {
    let e = noise(11, 1000);
    let mut s = history(1000, 60.0, |x| 500.0 + 0.01 * x + e[(-x / 60.0) as usize]);
    // Bursts late in the history would tilt a least-squares line.
    for i in (500..740).step_by(7) {
        s[i].v += 400.0;
    }
    let truth = 50_000.0;
    let f = run(&s, 1000.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(
        f.regime_start, None,
        "spikes are not a regime: {}",
        f.reason
    );
    let eta = f.eta.unwrap();
    assert!((eta.likely / truth - 1.0).abs() < 0.05, "{eta:?}");
    let ols = run(&s, 1000.0, Direction::Rising, ModelChoice::Linear);
    assert!(
        (ols.eta.unwrap().likely / truth - 1.0).abs() > 0.05,
        "least squares is dragged"
    );
}

#[test]
fn alerts_fire_when_the_wall_is_as_likely_as_alert_probability_within_the_lead() {
    let e = noise(5, 300);
    let s = history(300, 60.0, |x| {
        50.0 + 0.002 * x + 2.0 * e[(-x / 60.0) as usize]
    });
    let f = run(&s, 100.0, Direction::Rising, ModelChoice::Linear);
    let eta = f.eta.unwrap();
    assert!(eta.lower < eta.alert && eta.alert < eta.likely, "{eta:?}");
    assert!(f.within(eta.alert), "at the alert_probability edge: alert");
    assert!(!f.within(0.99 * eta.alert), "before it: no alert");
    assert!(f.within(eta.likely));
}

#[test]
fn a_noisy_flat_series_is_flat_not_a_slow_approach() {
    // Busy but flat: the fitted slope is noise, whichever its sign. At the
    // band's 90% level about one series in twenty still shows a slope on
    // the wall's side; none may come anywhere near an alert.
    let mut approaching = 0;
    for seed in 0..60 {
        let e = noise(seed, 2016);
        let s = history(2016, 300.0, |x| 42.0 + 6.0 * e[(-x / 300.0) as usize]);
        for model in [ModelChoice::Linear, ModelChoice::Robust] {
            let f = run(&s, 100.0, Direction::Rising, model);
            if f.status == Status::Approaching {
                approaching += 1;
            }
            assert!(!f.within(30.0 * 86_400.0), "seed {seed} {model}: {f:?}");
        }
    }
    assert!(
        approaching <= 8,
        "{approaching} of 80 flat series approaching"
    );
    // The same noise on a real trend is still an approach.
    let e = noise(1, 2016);
    let s = history(2016, 300.0, |x| {
        42.0 + 1e-5 * x + 6.0 * e[(-x / 300.0) as usize]
    });
    assert_eq!(
        run(&s, 100.0, Direction::Rising, ModelChoice::Robust).status,
        Status::Approaching
    );
}

/// A wall the trend reaches only after a millennium is no forecast, and the
/// reason says why the series is "not approaching" though it rises.
#[test]
fn a_wall_a_millennium_away_is_said_to_be_too_far() {
    // Rising 1 a day, 400,000 below the wall: about 1,100 years.
    let s = history(2016, 300.0, |x| 100.0 + x / 86_400.0);
    let f = run(&s, 400_100.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Receding, "{}", f.reason);
    assert!(f.eta.is_none());
    assert!(
        f.reason
            .contains("would take over 1,000 years to reach the wall"),
        "{}",
        f.reason
    );
    // Within the millennium, the time is given.
    let f = run(&s, 300_100.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Approaching, "{}", f.reason);
}

/// Hourly-shaped daily cycle: +amp at 14:00 UTC, -amp twelve hours later.
fn daily(t: f64, amp: f64) -> f64 {
    amp * (std::f64::consts::TAU * (t / 86_400.0 - 14.0 / 24.0 + 0.25)).sin()
}

#[test]
fn with_a_daily_cycle_the_wall_is_reached_by_the_peaks_not_the_trend() {
    // Queue depth: trend 5,000 rising 200 a day, ±1,500 a day; wall 10,000.
    // The trend reaches 10,000 in 25 days; the peaks (trend + 1,500) in 17.5.
    let e = noise(21, 14 * 288);
    let s = history(14 * 288, 300.0, |x| {
        5_000.0 + 200.0 * x / 86_400.0 + daily(NOW + x, 1_500.0) + 50.0 * e[(-x / 300.0) as usize]
    });
    let f = run(&s, 10_000.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.period, Some(86_400.0), "{}", f.reason);
    let eta = f.eta.unwrap();
    // The truth: the first 5-minute step at which trend + cycle reaches the
    // wall, at the busy hour of day 17 or 18.
    let truth = (0..40 * 288)
        .map(|i| 300.0 * i as f64)
        .find(|&h| 5_000.0 + 200.0 * h / 86_400.0 + daily(NOW + h, 1_500.0) >= 10_000.0)
        .unwrap();
    let off = (eta.likely - truth) / 3600.0;
    assert!(
        off.abs() < 3.0,
        "{off} hours off the busy hour: {}",
        f.reason
    );
    assert!(f.reason.contains("daily cycle"), "{}", f.reason);
    // predict_linear's trend line says 25 days: late by a week.
    let plain = run(&s, 10_000.0, Direction::Rising, ModelChoice::Linear);
    assert!(plain.eta.unwrap().likely / 86_400.0 > 22.0);
}

/// A daily cycle whose busy hour is 15:00-16:00 (5 above the trend, the
/// other hours a little under it), over a trend rising 1 an hour: walls
/// at 97.99 and 98.01 are both first reached as the busy hour begins, and
/// one that the trend reaches within the busy hour, as it does. Looking
/// at one time a bin, an hour apart from where the trend and the peak
/// reach the wall (12:59:24 and 13:00:36), put the nearer wall at
/// 15:59:24, 58 minutes after the further one.
#[test]
fn a_cycle_reaches_each_wall_as_soon_as_its_busy_hour_does() {
    let hour = 3600.0;
    let midnight = 19_676.0 * season::DAY;
    let mut profile = vec![-5.0 / 23.0; 24];
    profile[15] += 5.0 + 5.0 / 23.0;
    let busy = season::Season {
        period: season::DAY,
        origin: 0.0,
        profile,
        strength: 1.0,
        combine: season::Combine::Add,
        shift: 0.0,
    };
    let peak = busy.max();
    let slope = 1.0 / hour;
    // The trend, 80 at midnight, plus the peak reaches `wall` at `h`.
    let reached = |wall: f64| {
        let h = (wall - peak - 80.0) / slope;
        at_phase(
            &busy,
            slope,
            Direction::Rising,
            (wall, wall - peak),
            midnight,
            h,
        )
    };
    let busy_hour = 15.0 * hour;
    for wall in [97.99, 98.01] {
        let at = reached(wall);
        assert!((at - busy_hour).abs() < 1.0, "{wall}: {}h", at / hour);
    }
    let within = reached(80.0 + 15.5 + peak);
    assert!((within - 15.5 * hour).abs() < 1e-6, "{}h", within / hour);
}

/// The same queue in units a billion billion times smaller (a rate in
/// exa-units, a fraction of a fraction): its busy hour is the same hour.
/// The scan for the peak that reaches the wall once allowed rounding an
/// absolute 1e-12, which is more than such a wall, and took the first
/// bin it looked at for the busy hour.
#[test]
fn a_cycle_in_tiny_units_reaches_the_wall_at_the_same_busy_hour() {
    let e = noise(21, 14 * 288);
    let queue = |unit: f64| {
        history(14 * 288, 300.0, |x| {
            unit * (5_000.0
                + 200.0 * x / 86_400.0
                + daily(NOW + x, 1_500.0)
                + 50.0 * e[(-x / 300.0) as usize])
        })
    };
    let at = |unit: f64| {
        let f = run(
            &queue(unit),
            10_000.0 * unit,
            Direction::Rising,
            ModelChoice::Auto,
        );
        assert_eq!(f.period, Some(86_400.0), "{unit}: {}", f.reason);
        f.eta.expect("approaching").likely
    };
    let (plain, tiny) = (at(1.0), at(1e-18));
    assert!(
        (plain - tiny).abs() < 1.0,
        "{} hours apart",
        (plain - tiny) / 3600.0
    );
}

/// A flat trend whose daily peaks go over the wall: CPU at 70 ± 30
/// against 95, p99 latency over its objective at the busy hour. The wall
/// is hit every day; off-peak the flat trend read "receding", and a page
/// that had fired at the peak resolved until the next one.
#[test]
fn a_flat_trend_whose_peaks_cross_the_wall_reaches_it_at_the_next_peak() {
    let e = noise(23, 8 * 288);
    let cpu = history(8 * 288, 300.0, |x| {
        70.0 + daily(NOW + x, 30.0) + e[(-x / 300.0) as usize]
    });
    let free: Vec<Sample> = cpu.iter().map(|s| Sample::new(s.t, 100.0 - s.v)).collect();
    for (series, wall, dir) in [
        (&cpu, 95.0, Direction::Rising),
        (&free, 5.0, Direction::Falling),
    ] {
        for hours in (0..24).step_by(3) {
            let now = NOW - 3600.0 * hours as f64;
            let s: Vec<Sample> = series.iter().copied().filter(|s| s.t <= now).collect();
            let f = forecast(&s, wall, dir, &Settings::default(), now);
            if f.status == Status::Breached {
                continue;
            }
            // The next 5-minute step at which the cycle is over the wall.
            let truth = (0..288)
                .map(|i| 300.0 * i as f64)
                .find(|&h| 70.0 + daily(now + h, 30.0) >= 95.0)
                .unwrap();
            assert_eq!(
                f.status,
                Status::Approaching,
                "{dir:?}, {hours} h back: {}",
                f.reason
            );
            let eta = f.eta.unwrap();
            assert!(
                (eta.likely - truth).abs() < 1.5 * 3600.0,
                "{dir:?}, {hours} h back: {} h against {} h: {}",
                eta.likely / 3600.0,
                truth / 3600.0,
                f.reason
            );
            assert!(
                eta.alert <= truth + 1.5 * 3600.0,
                "{dir:?}: pages within a day's lead"
            );
        }
    }
}

#[test]
fn a_cycle_set_per_limit_is_the_one_used_and_none_means_none() {
    // The queue of the test above: a daily swing of 1,500 on a trend that
    // reaches the wall in 25 days; its peaks do in 17.5.
    let e = noise(21, 14 * 288);
    let s = history(14 * 288, 300.0, |x| {
        5_000.0 + 200.0 * x / 86_400.0 + daily(NOW + x, 1_500.0) + 50.0 * e[(-x / 300.0) as usize]
    });
    let with = |seasonality| {
        let settings = Settings {
            seasonality,
            ..Settings::default()
        };
        forecast(&s, 10_000.0, Direction::Rising, &settings, NOW)
    };
    let day = with(Seasonality::Period(86_400.0));
    assert_eq!(day.period, Some(86_400.0), "{}", day.reason);
    let days = |f: &Forecast| f.eta.unwrap().likely / 86_400.0;
    assert!((17.0..18.5).contains(&days(&day)), "{}", days(&day));
    // Told there is no cycle, runway does not look for the peaks: the
    // swing is then noise around the trend, here enough to hide it.
    let none = with(Seasonality::None);
    assert_eq!(none.period, None, "{}", none.reason);
    assert!(
        none.eta.is_none_or(|e| e.likely / 86_400.0 > 22.0),
        "{}",
        none.reason
    );
    // A week is set, but this history is a sample short of two weeks: a
    // weekly cycle cannot be seen in it, and the reason says so rather
    // than going on as if none had been set.
    let week = with(Seasonality::Period(7.0 * 86_400.0));
    assert_eq!(week.period, None, "{}", week.reason);
    assert!(
        week.reason
            .contains("the weekly cycle set is not taken out: it needs 2 periods of history"),
        "{}",
        week.reason
    );
    assert!(!day.reason.contains("cycle set"), "{}", day.reason);
}

/// A batch job's scratch space, written and deleted within a minute, on a
/// series that fills steadily through a ten-minute cycle (an operator's
/// trial, 15-second samples): the forecast after it is the forecast before
/// it. The regime search had started a regime at the burst, fitted a line
/// through it and the few samples since, and said "not approaching" for
/// minutes after each burst, resolving the page.
#[test]
fn a_burst_that_came_back_leaves_the_forecast_as_it_was() {
    let e = noise(33, 480);
    let value = |x: f64| {
        let i = 479 - (-x / 15.0).round() as usize;
        // Fills 4.8 an hour from 50, swings ±3.
        50.0 + 0.02 * i as f64 + 3.0 * (2.0 * std::f64::consts::PI * x / 600.0).sin() + 0.5 * e[i]
    };
    let settings = Settings {
        seasonality: Seasonality::Period(600.0),
        ..Settings::default()
    };
    let steady = forecast(
        &history(480, 15.0, value),
        80.0,
        Direction::Rising,
        &settings,
        NOW,
    );
    assert_eq!(steady.status, Status::Approaching, "{}", steady.reason);
    let steady = steady.eta.unwrap().likely;
    for size in [-8.0, 4.0, 15.0] {
        for back in [10, 15, 20] {
            let s = history(480, 15.0, |x| {
                let age = (-x / 15.0).round() as usize;
                let burst = if (back..back + 5).contains(&age) {
                    size
                } else {
                    0.0
                };
                value(x) + burst
            });
            let f = forecast(&s, 80.0, Direction::Rising, &settings, NOW);
            assert_eq!(
                f.status,
                Status::Approaching,
                "{size} {back} back: {}",
                f.reason
            );
            let likely = f.eta.unwrap().likely;
            assert!(
                (likely / steady - 1.0).abs() < 0.15,
                "{size}, {back} back: {likely} against {steady}: {}",
                f.reason
            );
        }
    }
}

#[test]
fn a_cycle_whose_swing_grows_with_the_level_reaches_the_wall_sooner() {
    // Requests per second: a trend of 1,000 rising 50 a day, swinging ±40%
    // of itself over the day (300 ± 120 two weeks ago, 1,000 ± 400 now);
    // the wall is 2,500. The busy hour reaches it when the trend is at
    // 2,500 / 1.4, in about 15.7 days. Today's swing on top of the trend
    // would put it at 2,100, 22 days out.
    let trend = |h: f64| 1_000.0 + 50.0 * h / 86_400.0;
    let e = noise(22, 14 * 288);
    let s = history(14 * 288, 300.0, |x| {
        trend(x) * (1.0 + daily(NOW + x, 0.4)) + 10.0 * e[(-x / 300.0) as usize]
    });
    let f = run(&s, 2_500.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.period, Some(86_400.0), "{}", f.reason);
    assert!(f.reason.contains("a share of the level"), "{}", f.reason);
    let truth = (0..40 * 288)
        .map(|i| 300.0 * i as f64)
        .find(|&h| trend(h) * (1.0 + daily(NOW + h, 0.4)) >= 2_500.0)
        .unwrap();
    let eta = f.eta.unwrap();
    let off = (eta.likely - truth) / 3600.0;
    assert!(
        off.abs() < 6.0,
        "{off} hours off the busy hour: {}",
        f.reason
    );
    assert!(eta.lower <= truth && truth <= eta.upper, "{eta:?} {truth}");
}

#[test]
fn a_count_that_grows_in_bursts_is_forecast_by_its_mean_rate() {
    // Bytes written, a week at five minutes: a burst of 60 every two days,
    // 1 every 200 minutes, nothing in between. What accumulates over a
    // horizon is the mean rate times it (0.129 a sample). In the recent
    // windows, which hold one or two of the large bursts, the median slope
    // between pairs of samples sees mostly the small ones: with Theil-Sen
    // trends alone the wall came 18% late.
    let n = 2016;
    let mut level = 1_000.0;
    let s: Vec<Sample> = (0..n)
        .map(|i| {
            if i % 576 == 288 {
                level += 60.0;
            }
            if i % 40 == 0 {
                level += 1.0;
            }
            Sample::new(NOW - 300.0 * (n - 1 - i) as f64, level)
        })
        .collect();
    let mean_rate = (s[n - 1].v - s[0].v) / (s[n - 1].t - s[0].t);
    let wall = s[n - 1].v + 400.0;
    let truth = 400.0 / mean_rate;
    let f = run(&s, wall, Direction::Rising, ModelChoice::Auto);
    let off = f.eta.unwrap().likely / truth;
    assert!((0.85..1.15).contains(&off), "{off}: {}", f.reason);
    // The bursts come every other day: that is no daily cycle.
    assert_eq!(f.period, None, "{}", f.reason);
}

#[test]
fn a_count_reads_each_window_twice_and_the_two_readings_share_one_vote() {
    // A count that only grows has each window's trend read by Theil-Sen's
    // slope and by its mean rate: the two are one trend, and split its
    // vote; every other trend has a vote of its own.
    let n = 2016;
    let e = noise(5, n);
    let mut level = 1_000.0;
    let s: Vec<Sample> = (0..n)
        .map(|i| {
            level += (1.0 + e[i]).max(0.0);
            Sample::new(NOW - 300.0 * (n - 1 - i) as f64, level)
        })
        .collect();
    let fitted = fit(&s, Direction::Rising, true, &Settings::default(), NOW);
    let Fit::Ensemble { candidates, .. } = &fitted.how else {
        panic!("no ensemble");
    };
    let mean_rates = candidates
        .iter()
        .filter(|c| c.fit.reason.contains("(mean rate)"))
        .count();
    assert!(mean_rates >= 2, "no mean rates");
    for c in candidates {
        let twin = candidates.iter().any(|o| {
            !std::ptr::eq(o, c)
                && o.fit.reason.replace(" (mean rate)", "")
                    == c.fit.reason.replace(" (mean rate)", "")
        });
        let share = if twin { 0.5 } else { 1.0 };
        assert_eq!(c.share, share, "{}", c.fit.reason);
    }
}

#[test]
fn a_repository_that_grew_by_one_large_commit_is_still_approaching_its_quota() {
    // Five years of a repository's size, weekly: about 1 a week, with a
    // small deletion one week in ten, and one commit of 1,500 (a vendored
    // dependency) two years ago. It has grown 1,756 in all; at that rate
    // its quota, 1,000 above today, is 2.8 years away; at its rate between
    // commits like that one, 19 years. Which comes true depends on the
    // next such commit, so the band must hold both. The mean rate, whose
    // line the commit leaves far from most samples, has a large error; it
    // used to count as flat, which left the band starting at 4 years.
    let n = 260;
    let e = noise(3, n);
    let mut level = 1_000.0;
    let s: Vec<Sample> = (0..n)
        .map(|i| {
            if i == 150 {
                level += 1_500.0;
            }
            level += if e[i] > -0.8 { 1.0 + e[i] } else { -0.5 };
            Sample::new(NOW - 604_800.0 * (n - 1 - i) as f64, level)
        })
        .collect();
    let span = s[n - 1].t - s[0].t;
    let at_mean_rate = 1_000.0 / ((s[n - 1].v - s[0].v) / span);
    let between_commits = 1_000.0 / ((s[n - 1].v - s[0].v - 1_500.0) / span);
    for model in [ModelChoice::Robust, ModelChoice::Auto] {
        let f = run(&s, s[n - 1].v + 1_000.0, Direction::Rising, model);
        assert_eq!(f.status, Status::Approaching, "{model}: {}", f.reason);
        let eta = f.eta.unwrap();
        assert!(
            eta.lower <= at_mean_rate && between_commits <= eta.upper,
            "{model}: {eta:?} {at_mean_rate} {between_commits} {}",
            f.reason
        );
    }
}

#[test]
fn a_random_walk_that_bends_up_by_chance_is_not_forecast_as_compounding() {
    // A week of a walk drifting up 0.02 a sample, through steps of up to
    // ±0.25, whose path happens to bend upwards: its last days climbed
    // faster than its first. The backtests favour compounding growth (which
    // pages, 2.4 days out), but the walk's steps do not grow: at its drift
    // the wall, 25 above, is 1,250 samples (4.3 days) away.
    let e = noise(2, 2016);
    let mut v = 20.0;
    let s: Vec<Sample> = (0..2016)
        .map(|i| {
            v += 0.02 + 0.25 * e[i];
            Sample::new(NOW - 300.0 * (2015 - i) as f64, v)
        })
        .collect();
    let f = run(&s, v + 25.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.model, ModelChoice::Robust, "{}", f.reason);
    assert!(!f.within(3.0 * 86_400.0), "{:?}", f.eta);
    let days = f.eta.unwrap().likely / 86_400.0;
    assert!((3.0..6.0).contains(&days), "{days}");
}

#[test]
fn compounding_growth_is_forecast_by_the_exponential_model() {
    // Storage growing 3% a day from 100 GB, wall at 1 TB: 1000 = 100·e^(rt)
    // now+... The history ends at 100·e^(0.03·28) = 231.6; the wall is
    // ln(1000/231.6)/0.0296 days away (continuous rate ln 1.03).
    let r = 1.03f64.ln() / 86_400.0;
    let e = noise(8, 28 * 288);
    let s = history(28 * 288, 300.0, |x| {
        231.6 * (r * x).exp() * (1.0 + 0.003 * e[(-x / 300.0) as usize])
    });
    let truth = (1000.0f64 / 231.6).ln() / r;
    let f = run(&s, 1000.0, Direction::Rising, ModelChoice::Exponential);
    let eta = f.eta.unwrap();
    assert!(
        (eta.likely / truth - 1.0).abs() < 0.05,
        "{} vs {truth}",
        eta.likely
    );
    assert_eq!(f.model, ModelChoice::Exponential);
    // A straight line through the same history is far too late.
    let straight = run(&s, 1000.0, Direction::Rising, ModelChoice::Linear);
    assert!(straight.eta.unwrap().likely > 1.5 * truth);
    // Auto finds the compounding growth too.
    let auto = run(&s, 1000.0, Direction::Rising, ModelChoice::Auto);
    assert!(
        (auto.eta.unwrap().likely / truth - 1.0).abs() < 0.15,
        "{}",
        auto.reason
    );
}

#[test]
fn after_a_cleanup_the_trend_of_the_current_regime_is_forecast() {
    // Free bytes falling 1 GB an hour, a cleanup frees 300 GB 2 days ago,
    // and the fall goes on at 2 GB an hour since.
    let cleanup = -2.0 * 86_400.0;
    let s = history(7 * 288, 300.0, |x| {
        if x < cleanup {
            400e9 - 1e9 * (x - cleanup) / 3600.0
        } else {
            400e9 + 300e9 - 2e9 * (x - cleanup) / 3600.0
        }
    });
    let level_now = 700e9 - 2e9 * 48.0;
    let truth = level_now / 2e9 * 3600.0;
    let f = run(&s, 0.0, Direction::Falling, ModelChoice::Auto);
    let eta = f.eta.unwrap();
    assert!(
        (eta.likely / truth - 1.0).abs() < 0.05,
        "{} vs {truth}: {}",
        eta.likely,
        f.reason
    );
    let began = f.regime_start.expect("a regime change") - NOW;
    assert!((began - cleanup).abs() < 1800.0, "{began}");
}

/// The first samples after a cleanup: free space falling 50 GB a day with
/// a daily swing, 600 GB freed. One or two samples in, the forecast read
/// "not approaching" (a regime of two samples); three to five in, the
/// daily cycle was lost and the wall came sooner than before the cleanup.
/// Until the cleanup has lasted as long as the level needs to follow it,
/// the forecast is the one from before it, and says so; then it follows.
#[test]
fn a_cleanup_a_few_samples_old_holds_the_forecast_until_it_lasts() {
    let e = noise(25, 3 * 720);
    let step = 120.0;
    let n = 3 * 720;
    let free = |jumped: usize| {
        history(n, step, |x| {
            let i = n - 1 - (-x / step) as usize;
            let freed = if i + jumped >= n && jumped > 0 {
                600e9
            } else {
                0.0
            };
            81e9 - 50e9 * x / 86_400.0 + daily(NOW + x, 20e9) + 1e9 * e[i] + freed
        })
    };
    let before = run(&free(0), 0.0, Direction::Falling, ModelChoice::Auto);
    let before = before.eta.expect("approaching").likely;
    for jumped in 1..=5 {
        let f = run(&free(jumped), 0.0, Direction::Falling, ModelChoice::Auto);
        assert_eq!(f.status, Status::Approaching, "{jumped}: {}", f.reason);
        let likely = f.eta.expect("a time").likely;
        assert!(
            (likely / before - 1.0).abs() < 0.05,
            "{jumped} samples after: {} h against {} h before: {}",
            likely / 3600.0,
            before / 3600.0,
            f.reason
        );
        assert!(
            f.reason.contains("not followed until the move lasts"),
            "{}",
            f.reason
        );
    }
    // Once it lasts, the level follows: 681 GB at 50 a day.
    let f = run(&free(8), 0.0, Direction::Falling, ModelChoice::Auto);
    let likely = f.eta.expect("a time").likely;
    assert!(likely > 5.0 * before, "{} h: {}", likely / 3600.0, f.reason);
}

/// One sample far towards the wall a few samples back, then the climb as
/// before: a spike's return is no cleanup. The move back from the spike
/// was taken for a step away from the wall, so the newest samples were
/// held out ("moved away from the wall at once") and the forecast came
/// from the history before them.
#[test]
fn a_spike_a_few_samples_back_is_no_cleanup() {
    let e = noise(26, 2016);
    for ago in 1..=5 {
        let s = history(2016, 300.0, |x| {
            let i = 2015 - (-x / 300.0) as usize;
            let spike = if i == 2015 - ago { 1e6 } else { 0.0 };
            40.0 * i as f64 / 2015.0 + 0.3 * e[i] + spike
        });
        let f = run(&s, 100.0, Direction::Rising, ModelChoice::Auto);
        assert!(!f.reason.contains("moved away"), "{ago} back: {}", f.reason);
        // 60 to go at 40 a week.
        assert_likely_within(&f, 10.5 * 86_400.0, 1.05, &format!("{ago} back"));
    }
}

/// Once a cleanup has lasted a few samples, the level a trend starts from
/// is where the series is now, however many of the newest samples it
/// covers: free GB falling 10 a day, 80 GB freed 6 to 60 samples back.
/// With the level from an even count of samples, a cleanup half of them
/// old put it halfway (70 for 110), and a disk with 11 days left read 7.
#[test]
fn a_cleanup_half_the_level_window_old_sets_the_level_where_the_series_is() {
    let e = noise(24, 7 * 288);
    for ago in 6..60 {
        let cleanup = -300.0 * ago as f64 + 150.0;
        let s = history(7 * 288, 300.0, |x| {
            let freed = if x >= cleanup { 80.0 } else { 0.0 };
            30.0 - 10.0 * x / 86_400.0 + freed + 0.3 * e[(-x / 300.0) as usize]
        });
        // The trend as fitted to the whole week.
        let line = linear::Line {
            slope: -10.0 / 86_400.0,
            intercept: 30.0,
        };
        let trend = band::Trend::local(&s, line, NOW, level_samples(s.len()), -1.0);
        let level = trend.line.intercept;
        assert!(
            (level - 110.0).abs() < 1.0,
            "{ago} samples after the cleanup: the level is {level}, not 110"
        );
    }
}

/// Minutes after a cleanup, long before the new regime is long enough to
/// fit a trend to, the forecast starts from where the series is now: a
/// queue wandering up 10 a day (a random walk), at 70 of 100, is cleared
/// to 5. Once the low level has persisted for a few samples the page must
/// stop, not hours later when the median of the newest samples catches up.
#[test]
fn a_fresh_cleanup_moves_the_level_once_it_persists() {
    let n = 7 * 288;
    let step = 300.0;
    let steps = noise(5, n);
    // The walk, oldest first: 10 a day of drift, steps of up to ±1.
    let walk: Vec<f64> = steps
        .iter()
        .scan(0.0, |v, e| {
            *v += 10.0 / 288.0 + e;
            Some(*v)
        })
        .collect();
    let at = |x: f64| (n - 1) - (-x / step).round() as usize;
    let top = walk[n - 1];
    let before = |x: f64| 70.0 + walk[at(x)] - top;
    let after_cleanup = |k: usize| {
        history(n, step, |x| {
            let i = at(x);
            if i + k < n {
                before(x)
            } else {
                // Cleared to 5, wandering on from there.
                5.0 + walk[i] - walk[n - k]
            }
        })
    };
    let lead = 7.0 * 86_400.0;
    let forecast_after = |k: usize| {
        run(
            &after_cleanup(k),
            100.0,
            Direction::Rising,
            ModelChoice::Auto,
        )
    };
    assert!(forecast_after(0).within(lead), "paging before the cleanup");
    // One low sample is a spike: the page stands.
    assert!(forecast_after(1).within(lead));
    // From six on (half an hour: an eighth of the newest samples that set
    // the level) the cleanup has persisted. It used to page again from
    // eight samples to twenty, the level back at 70 while the series sat
    // at 5.
    for k in [6, 8, 10, 15, 20, 30] {
        let f = forecast_after(k);
        assert!(!f.within(lead), "{k} samples after: {f:?}");
        assert!(f.level < 10.0, "{k} samples after: {f:?}");
    }
}

/// The same quick step is not taken towards the wall: a burst of half an
/// hour (a backlog, a batch job) is left to the median of the newest
/// samples and to the regimes, and does not page.
#[test]
fn a_burst_towards_the_wall_does_not_move_the_level() {
    let n = 7 * 288;
    let e = noise(9, n);
    let lead = 7.0 * 86_400.0;
    for k in [5, 6] {
        let s = history(n, 300.0, |x| {
            let i = (-x / 300.0).round() as usize;
            let burst = if i < k { 30.0 } else { 0.0 };
            20.0 + 3.0 * (x / 86_400.0 + 7.0) + e[i] + burst
        });
        let f = run(&s, 80.0, Direction::Rising, ModelChoice::Auto);
        assert!(!f.within(lead), "{k} samples of burst: {f:?}");
        assert!(f.level < 45.0, "{k} samples of burst: {f:?}");
    }
}

#[test]
fn a_level_shift_that_then_stays_flat_is_not_an_approach() {
    // CPU steps from 14% to 17% and stays there; the wall is 28%.
    let e = noise(4, 14 * 288);
    let s = history(14 * 288, 300.0, |x| {
        let base = if x < -5.0 * 86_400.0 { 14.0 } else { 17.0 };
        base + 0.8 * e[(-x / 300.0) as usize]
    });
    let f = run(&s, 28.0, Direction::Rising, ModelChoice::Auto);
    assert!(!f.within(30.0 * 86_400.0), "{f:?}");
}

#[test]
fn a_disk_that_is_cleaned_up_before_it_fills_does_not_alert() {
    // Filling 8% a day from 40%, cleaned every 3 days: peaks stay at 64%.
    let s = history(21 * 288, 300.0, |x| {
        40.0 + 8.0 * (x + 21.0 * 86_400.0).rem_euclid(3.0 * 86_400.0) / 86_400.0
    });
    let f = run(&s, 85.0, Direction::Rising, ModelChoice::Auto);
    assert_eq!(f.status, Status::Receding, "{}", f.reason);
    assert!(f.reason.contains("sawtooth"), "{}", f.reason);
    // A straight line over the current cycle would page.
    let cycle: Vec<Sample> = s.iter().copied().filter(|x| x.t > NOW - 86_400.0).collect();
    assert!(run(&cycle, 85.0, Direction::Rising, ModelChoice::Linear).within(7.0 * 86_400.0));
}

const DAY: f64 = 86_400.0;

/// A disk cleaned every three days that fills 25% a cycle, each cleanup
/// leaving 5.19% more behind: the peaks creep up to a wall.
const CREEP_CYCLE: f64 = 3.0 * DAY;

fn creeping_usage(t: f64) -> f64 {
    let k = (t / CREEP_CYCLE).floor();
    30.0 + 5.19 * k + 25.0 / 3.0 * (t - k * CREEP_CYCLE) / DAY
}

/// When the noise-free usage first reaches `wall`, to the minute.
fn creeping_crossing(wall: f64) -> f64 {
    (0..)
        .map(|m| 60.0 * f64::from(m))
        .find(|&t| creeping_usage(t) >= wall)
        .unwrap()
}

/// The usage every 5 minutes from 0 to `now`, measured with `wiggle`, and
/// forecast against `wall` as a sawtooth.
fn creeping_forecast(now: f64, wiggle: &[f64], wall: f64) -> Forecast {
    let s: Vec<Sample> = (0..=((now / 300.0) as usize))
        .map(|i| {
            let t = 300.0 * i as f64;
            Sample::new(t, creeping_usage(t) + wiggle[i])
        })
        .collect();
    let f = forecast(&s, wall, Direction::Rising, &Settings::default(), now);
    assert!(f.reason.contains("sawtooth"), "{}", f.reason);
    f
}

#[test]
fn a_cleaned_disk_whose_peaks_creep_up_is_full_on_the_climb_before_a_peak() {
    // Measured with a little noise: the first climb to reach the wall gets
    // there on its way up, before its own cleanup is due, up to 0.6 days
    // before its peak. The band must hold that moment wherever the wall
    // sits within a cycle's growth, seen from up to 9.5 days out.
    let wiggle = noise(8, 20_000);
    let mut missed = Vec::new();
    for w in 0..20 {
        let wall = 95.0 + 0.5 * f64::from(w);
        let crossing = creeping_crossing(wall);
        for days_before in [2.0, 3.5, 5.0, 6.5, 8.0, 9.5] {
            let now = crossing - days_before * DAY;
            let f = creeping_forecast(now, &wiggle, wall);
            let eta = f.eta.expect("the peaks reach the wall");
            let truth = crossing - now;
            assert!(
                (eta.likely - truth).abs() < CREEP_CYCLE,
                "wall {wall}, {days_before}d out: {:.2}d against {:.2}d",
                eta.likely / DAY,
                truth / DAY
            );
            if !(eta.lower <= truth && truth <= eta.upper) {
                missed.push(format!(
                    "wall {wall}, {days_before}d out: {:.2}d outside {:.2}d .. {:.2}d",
                    truth / DAY,
                    eta.lower / DAY,
                    eta.upper / DAY
                ));
            }
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

/// A wall the cleaned disk's peaks already pass (a warning at 65% when
/// the climbs now reach 75%) is hit on the current climb, as soon as it
/// gets there: before a further wall (75%) that only this climb's peak
/// reaches. Peaks past the wall once read as "0 s" from the peaks' trend,
/// which the climb's own time could not beat; the wall then moved on to
/// the next peak, later than the further wall.
#[test]
fn a_wall_the_peaks_already_pass_is_reached_on_the_current_climb() {
    let wiggle = noise(8, 20_000);
    // A day into the fifth climb: at about 59, climbing 8.3 a day to 75.8.
    let now = 4.0 * CREEP_CYCLE + DAY;
    let when = |wall: f64| {
        let f = creeping_forecast(now, &wiggle, wall);
        f.eta.expect("approaching").likely
    };
    let truth = |wall: f64| {
        (0..)
            .map(|m| now + 60.0 * f64::from(m))
            .find(|&t| creeping_usage(t) >= wall)
            .unwrap()
            - now
    };
    let (near, far) = (when(65.0), when(75.0));
    assert!(
        (near - truth(65.0)).abs() < 0.1 * DAY,
        "{:.2}d against {:.2}d",
        near / DAY,
        truth(65.0) / DAY
    );
    assert!(near < far, "{:.2}d, then {:.2}d", near / DAY, far / DAY);
}

#[test]
fn a_sawtooth_just_cleaned_up_is_full_when_it_is_an_hour_later() {
    // The cycle that reaches the wall overshoots it by about 4%, so it
    // crosses it half a day before its peak. Just after a cleanup the
    // current climb is a few samples; its rate, borrowed from the cycles
    // before, must still move the crossing onto the climb, as it does an
    // hour later: the moment forecast must not jump by half a day when the
    // climb is long enough to be measured.
    let wiggle = noise(9, 20_000);
    let wall = 92.5;
    let crossing = creeping_crossing(wall);
    for after in [900.0, 1_200.0, 1_800.0, 3_600.0, 14_400.0] {
        let now = 6.0 * CREEP_CYCLE + after;
        let f = creeping_forecast(now, &wiggle, wall);
        let at = now + f.eta.expect("the peaks reach the wall").likely;
        assert!(
            (at - crossing).abs() < 0.25 * DAY,
            "{after} s after the cleanup: {:.2}d against {:.2}d",
            at / DAY,
            crossing / DAY
        );
    }
}

#[test]
fn a_cumulative_count_with_a_daily_rhythm_is_one_regime() {
    // Bytes written so far: faster by day, never less than before, with a
    // burst on day 9 that then levels off.
    let mut total = 0.0;
    let s: Vec<Sample> = (0..14 * 288)
        .map(|i| {
            let t = NOW - 300.0 * (14 * 288 - 1 - i) as f64;
            let rate = 1.0 + 0.8 * (std::f64::consts::TAU * t / 86_400.0).sin();
            let burst = if (9 * 288..9 * 288 + 24).contains(&i) {
                40.0
            } else {
                0.0
            };
            total += rate + burst;
            Sample::new(t, total)
        })
        .collect();
    let f = run(&s, total * 2.0, Direction::Rising, ModelChoice::Robust);
    assert_eq!(f.regime_start, None, "{}", f.reason);
    assert_eq!(f.status, Status::Approaching);
}

#[test]
fn the_alert_probability_moves_the_alert_between_the_earliest_and_likely_times() {
    let e = noise(5, 300);
    let s = history(300, 60.0, |x| {
        50.0 + 0.002 * x + 2.0 * e[(-x / 60.0) as usize]
    });
    let at = |p: f64| {
        let settings = Settings {
            model: ModelChoice::Linear,
            alert_probability: p,
            ..Settings::default()
        };
        forecast(&s, 100.0, Direction::Rising, &settings, NOW)
            .eta
            .unwrap()
    };
    let earliest = at(0.05);
    assert!(
        (earliest.alert - earliest.lower).abs() < 1.0,
        "{earliest:?}"
    );
    let likely = at(0.5);
    assert!((likely.alert - likely.likely).abs() < 1.0, "{likely:?}");
    let default = at(ALERT_PROBABILITY);
    assert!(earliest.alert < default.alert && default.alert < likely.alert);
}

#[test]
fn a_random_walk_that_wanders_towards_the_wall_does_not_page() {
    // A week of a random walk at 5 minutes whose last days wander upwards:
    // its straight trends reach a wall 20 above within days, but in its
    // history no trend lasted, and the damped trends that say so win the
    // backtests. (Seed chosen for a wander whose likely time is well
    // inside the lead.)
    let day = 86_400.0;
    let n = 2016;
    let steps = noise(124, n);
    let walk: Vec<f64> = steps
        .iter()
        .scan(0.0, |acc, d| {
            *acc += d;
            Some(*acc)
        })
        .collect();
    let at = |x: f64| walk[(n as f64 - 1.0 + x / 300.0).round() as usize];
    let s = history(n, 300.0, |x| 100.0 + at(x));
    let wall = s[n - 1].v + 20.0;
    let f = run(&s, wall, Direction::Rising, ModelChoice::Auto);
    let eta = f
        .eta
        .unwrap_or_else(|| panic!("the trend points at the wall: {f:?}"));
    assert!(eta.likely < 5.0 * day, "{eta:?}");
    assert!(!f.within(7.0 * day), "paged: {eta:?} {}", f.reason);
    assert!(f.reason.contains("the alert waits"), "{}", f.reason);
    // Asked once its trend has reached the wall (as `forecast --at` a while
    // after the newest sample, or a noisy series at the wall): it reaches
    // it now, and no doubt about lasting holds the alert back.
    let later = NOW + 2.0 * eta.likely + day;
    let at_wall = forecast(&s, wall, Direction::Rising, &Settings::default(), later);
    assert_eq!(at_wall.status, Status::Approaching, "{at_wall:?}");
    let now = at_wall.eta.expect("at the wall");
    assert_eq!((now.likely, now.alert), (0.0, 0.0), "{}", at_wall.reason);
    assert!(at_wall.within(0.0), "{}", at_wall.reason);
    assert!(
        !at_wall.reason.contains("the alert waits"),
        "{}",
        at_wall.reason
    );

    // A steady climb to the same wall, with the same wander shrunk to
    // noise, pages: its trends lasted, the damped twins lose.
    let steady = history(n, 300.0, |x| 100.0 + 10.0 * x / day + 0.05 * at(x));
    let wall = steady[n - 1].v + 20.0;
    let f = run(&steady, wall, Direction::Rising, ModelChoice::Auto);
    assert!(f.within(7.0 * day), "{:?} {}", f.eta, f.reason);
    let eta = f.eta.unwrap();
    assert!(eta.alert <= eta.likely, "{eta:?}");
    assert!((eta.likely / day - 2.0).abs() < 0.2, "{eta:?}");
}

#[test]
fn a_random_walks_band_holds_where_it_first_reaches_the_wall() {
    // Random walks drifting to a wall 30 above over about a week, each
    // forecast after four days of history: a walk reaches the wall on an
    // excursion, earlier or later than its drift line. The band must hold
    // that moment about as often as it claims (90%); the trend's own error
    // alone holds it far less often.
    let day = 86_400.0;
    let step = 300.0;
    let drift = 30.0 / (7.0 * day) * step;
    let mut held = 0;
    let mut scored = 0;
    for seed in 0..60 {
        let steps = noise(1000 + seed, 20_000);
        let mut v = 0.0;
        let path: Vec<f64> = steps
            .iter()
            .map(|d| {
                v += drift + 0.4 * d;
                v
            })
            .collect();
        let cut = (4.0 * day / step) as usize;
        let Some(first) = path[cut..].iter().position(|&x| x >= 30.0) else {
            continue;
        };
        let truth = first as f64 * step;
        let now = NOW;
        let s: Vec<Sample> = (0..cut)
            .map(|i| Sample::new(now - step * (cut - 1 - i) as f64, path[i]))
            .collect();
        let f = forecast(&s, 30.0, Direction::Rising, &Settings::default(), now);
        let Some(eta) = f.eta else { continue };
        scored += 1;
        if eta.lower <= truth && truth <= eta.upper {
            held += 1;
        }
    }
    assert!(scored >= 25, "{scored} walks forecast");
    let coverage = f64::from(held) / f64::from(scored);
    assert!(
        coverage >= 0.8,
        "the band held {held} of {scored} first passages"
    );
}

#[test]
fn a_short_regime_is_one_trend_in_the_ensemble_not_two() {
    // Ten years of a monthly count that stepped down 14 months ago and
    // grows again since: its current regime holds 15 samples, fewer than
    // the shortest window, so its recent half is all of it. That trend
    // must take part once, or it outweighs the others twice over.
    let e = noise(11, 120);
    let s = history(120, 2_629_800.0, |x| {
        let months = -x / 2_629_800.0;
        let base = if months < 15.0 { 60.0 } else { 100.0 };
        base + 0.4 * (120.0 - months) + 2.0 * e[(119.0 - months) as usize]
    });
    let fitted = fit(&s, Direction::Rising, true, &Settings::default(), NOW);
    let Fit::Ensemble { candidates, .. } = &fitted.how else {
        panic!("no ensemble");
    };
    assert!(
        candidates.iter().any(|c| c
            .fit
            .regime_start
            .is_some_and(|t| NOW - t < 16.0 * 2_629_800.0)),
        "the step is not a regime"
    );
    let mut reasons: Vec<&str> = candidates.iter().map(|c| c.fit.reason.as_str()).collect();
    reasons.sort_unstable();
    let n = reasons.len();
    reasons.dedup();
    assert_eq!(reasons.len(), n, "{reasons:#?}");
}

#[test]
fn a_short_history_whose_growth_steepened_is_forecast_at_its_recent_rate() {
    // Eighteen yearly samples (a capacity report, a census): 10 a year for
    // nine years, then 40 a year. A window of at least twenty samples left
    // such a history only its whole-history trend, whose average rate put
    // the wall at 1,100 over 20 years away; the recent trend says 14. Seven
    // samples are enough for a local trend (Theil-Sen survives two bad
    // points of seven), and the backtests then weigh it.
    let e = noise(11, 18);
    let s = history(18, YEAR, |x| {
        let k = 17.0 + x / YEAR;
        let v = if k < 9.0 {
            100.0 + 10.0 * k
        } else {
            180.0 + 40.0 * (k - 8.0)
        };
        v * (1.0 + 0.02 * e[k.round() as usize])
    });
    let f = run(&s, 1100.0, Direction::Rising, ModelChoice::Auto);
    // The recent trend's time.
    assert_likely_within_years(&f, (1100.0 - s[17].v) / 40.0 * YEAR);
    assert!(f.reason.contains("over the last"), "{}", f.reason);
}

#[test]
fn a_short_history_of_compounding_growth_is_forecast_as_compounding() {
    // Sixteen yearly samples growing 12% a year through 2% noise (a
    // census, a yearly total, a capacity report): too few for eight blocks
    // of three samples, the rising rate is shown by five. The wall at three
    // times the newest value is ln 3 / ln 1.12 = 9.7 years away; the
    // straight trends put it at 25 years and more.
    let e = noise(13, 16);
    let s = history(16, YEAR, |x| {
        let k = 15.0 + x / YEAR;
        100.0 * 1.12_f64.powf(k) * (1.0 + 0.02 * e[k.round() as usize])
    });
    let wall = 3.0 * 100.0 * 1.12_f64.powi(15);
    let truth = 3.0_f64.ln() / 1.12_f64.ln() * YEAR;
    let f = run(&s, wall, Direction::Rising, ModelChoice::Auto);
    assert_likely_within_years(&f, truth);
    assert_eq!(f.model, ModelChoice::Exponential, "{}", f.reason);
}

#[test]
fn when_compounding_is_not_established_the_band_still_allows_for_it() {
    // Ten years of a monthly count growing 12% a year, with 8% noise: the
    // backtests cannot tell compounding from a straight trend clearly
    // enough, so `auto` admits no exponential trend. The straight trends
    // alone put the wall 9.4 years away; the history bends steadily, and
    // the accelerating curve brings the likely time to 6.6. The growth
    // compounds: the wall comes in 5. The likely time stays behind it (a
    // parabola falls behind compounding), but the band's near edge must
    // allow for what the exponential trend says; it began at 6 years.
    let e = noise(7, 120);
    let s = history(120, 2_629_800.0, |x| {
        let months = 119.0 + x / 2_629_800.0;
        100.0 * (0.01 * months).exp() * (1.0 + 0.08 * e[months.round() as usize])
    });
    let auto = run(&s, 600.0, Direction::Rising, ModelChoice::Auto);
    let straight = run(&s, 600.0, Direction::Rising, ModelChoice::Robust);
    let compounding = run(&s, 600.0, Direction::Rising, ModelChoice::Exponential);
    assert_eq!(auto.model, ModelChoice::Robust, "{}", auto.reason);
    let (band, exp) = (auto.eta.unwrap(), compounding.eta.unwrap());
    let straight = straight.eta.expect("approaching");
    let truth = (600.0_f64 / (100.0 * 1.19_f64.exp())).ln() / 0.12 * 31_557_600.0;
    assert!(straight.likely > 1.5 * truth, "{straight:?} {truth}");
    assert!(
        band.likely > truth && band.likely < straight.likely / 1.25,
        "{band:?} {straight:?} {truth}"
    );
    assert!(
        band.lower <= exp.likely && band.lower <= truth,
        "{band:?} {exp:?} {truth}"
    );
    assert!(
        auto.reason
            .contains("one accelerating steadily (compounding not established)")
            && auto.reason.contains("allows for growth that compounds"),
        "{}",
        auto.reason
    );
    // It is the band alone: when a page is due is the straight trends'
    // (the curve has no say in it either).
    assert!(band.alert > exp.likely, "{band:?}");
}

/// No history, however hostile, makes the forecaster panic (the daemon
/// would count it as a defect and never forecast the series): values near
/// `f64::MAX`, whose squares overflow into NaN, times beyond any clock,
/// and a forecast asked for at an infinite or NaN time, under every model.
/// Values and times out of its range are said to be.
#[test]
fn hostile_histories_are_refused_with_a_reason_not_a_panic() {
    let line = |n: usize, f: &dyn Fn(usize) -> (f64, f64)| -> Vec<Sample> {
        (0..n)
            .map(|i| {
                let (t, v) = f(i);
                Sample::new(t, v)
            })
            .collect()
    };
    let t = |i: usize| NOW - 60.0 * (40 - i) as f64;
    let histories: Vec<(&str, Vec<Sample>)> = vec![
        (
            "near f64::MAX",
            line(3, &|i| {
                (
                    NOW - 60.0 * (3 - i) as f64,
                    if i == 0 { 1.0 } else { f64::MAX },
                )
            }),
        ),
        (
            "huge and climbing",
            line(40, &|i| (t(i), 1e306 * (1.0 + i as f64))),
        ),
        (
            "huge and falling",
            line(40, &|i| (t(i), -1e300 - 1e298 * i as f64)),
        ),
        (
            "a sawtooth near the top",
            line(400, &|i| {
                (
                    NOW - 300.0 * (400 - i) as f64,
                    1e306 * (1.0 + (i % 50) as f64),
                )
            }),
        ),
        (
            "times before any clock",
            line(40, &|i| (-1e300 + i as f64, i as f64)),
        ),
        ("constant", line(40, &|i| (t(i), 5.0))),
    ];
    let models = [
        ModelChoice::Auto,
        ModelChoice::Robust,
        ModelChoice::Exponential,
        ModelChoice::Linear,
    ];
    for (name, s) in &histories {
        for model in models {
            let settings = Settings {
                model,
                ..Settings::default()
            };
            for now in [NOW, f64::INFINITY, f64::NAN, 1e300] {
                for wall in [100.0, 1e200, -1e200] {
                    let f = forecast(s, wall, Direction::Rising, &settings, now);
                    let g = forecast(s, wall, Direction::Falling, &settings, now);
                    for f in [f, g] {
                        assert!(!f.reason.is_empty(), "{name}, {model:?}, now {now}");
                    }
                }
            }
        }
    }
    let said = |history: usize, now: f64| {
        forecast(
            &histories[history].1,
            100.0,
            Direction::Rising,
            &Settings::default(),
            now,
        )
    };
    let f = said(0, NOW);
    assert_eq!(f.status, Status::InsufficientData);
    assert!(f.reason.contains("beyond the ±1e150"), "{}", f.reason);
    for f in [said(4, NOW), said(5, f64::NAN)] {
        assert!(f.reason.contains("not a Unix time"), "{}", f.reason);
    }
}

/// A disk that suddenly fills (a big file written at once) goes on filling
/// at its rate from where it now is. From a few samples after the step
/// until long after it, the time to wall is that of the new level at the
/// old rate: not "receding" (a firing page resolved when a disk got
/// closer to full), and not minutes (a line through the step itself).
#[test]
fn a_disk_that_suddenly_fills_is_forecast_from_its_new_level_at_its_rate() {
    // A week at 5 minutes, free bytes falling 100 kB/s with a daily wave
    // and noise; 20 GB written at once, `age` samples ago.
    let e = noise(12, 2016);
    let rate = 1e5;
    let e = &e;
    let free = |age: usize| {
        history(2016, 300.0, move |x| {
            let i = 2015 - (-x / 300.0).round() as usize;
            let step = if i + age >= 2016 { 20e9 } else { 0.0 };
            80e9 - rate * x - step + 1e8 * (x / 86_400.0 * std::f64::consts::TAU).sin() + 3e7 * e[i]
        })
    };
    let truth = (80e9 - 20e9) / rate;
    let mut wrong = Vec::new();
    for age in [30, 50, 60, 70, 80, 100, 120, 150, 200, 300] {
        let f = run(&free(age), 0.0, Direction::Falling, ModelChoice::Auto);
        match f.eta {
            Some(eta) if (eta.likely / truth).ln().abs() < 0.1 => {}
            other => wrong.push(format!(
                "{age} samples after the step: {:?} {:?}",
                f.status,
                other.map(|e| e.likely / 86_400.0)
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "truth {:.1}d: {wrong:#?}",
        truth / 86_400.0
    );
}

/// A ramp that began 150 samples ago, with a step up 5 samples ago: the
/// ramp is a regime seen before the step, and its slope is forecast from
/// where the step left the series (a first version of the rule against
/// fresh steps dropped the ramp's regime and read "153 days").
#[test]
fn a_ramp_with_a_fresh_step_is_forecast_at_the_ramps_slope() {
    let e = noise(13, 2000);
    let s = history(2000, 300.0, |x| {
        let age = -x / 300.0;
        let ramp = if age < 150.0 {
            0.5 * (150.0 - age)
        } else {
            0.0
        };
        let step = if age < 5.0 { 10.0 } else { 0.0 };
        10.0 + ramp + step + e[(1999.0 - age) as usize]
    });
    let f = run(&s, 300.0, Direction::Rising, ModelChoice::Auto);
    // From about 95 at 0.5 a sample.
    let truth = (300.0 - 95.0) / 0.5 * 300.0;
    let eta = f.eta.expect("the ramp reaches the wall");
    assert!(
        (eta.likely / truth).ln().abs() < 0.2,
        "{:.2}d against {:.2}d: {}",
        eta.likely / 86_400.0,
        truth / 86_400.0,
        f.reason
    );
}

/// Asserts that `f`'s likely time is within `factor` of `truth` seconds,
/// printing `what`, the ratio and `f`'s reason when it is not.
fn assert_likely_within(f: &Forecast, truth: f64, factor: f64, what: &str) {
    let likely = f.eta.expect("approaching").likely;
    assert!(
        likely > truth / factor && likely < factor * truth,
        "{what}: {:.2} of the truth: {}",
        likely / truth,
        f.reason
    );
}

/// `n` samples every `step` seconds of `f(t)` (t: seconds since the first)
/// plus noise of `amplitude` (seed `seed`), ending at NOW.
fn noisy_curve(
    n: usize,
    step: f64,
    seed: u64,
    amplitude: f64,
    f: impl Fn(f64) -> f64,
) -> Vec<Sample> {
    let e = noise(seed, n);
    let span = step * (n - 1) as f64;
    history(n, step, |x| {
        f(x + span) + amplitude * e[((x + span) / step).round() as usize]
    })
}

#[test]
fn a_fill_that_levels_off_over_the_wall_is_timed_on_its_curve() {
    // A disk whose writes taper: from 20 towards 100, its rate halving
    // every 1.4 days, the wall at 95 1.5 days after four days of history.
    // Straight trends through the climb say it comes in under a day, and
    // page a day ahead.
    let (tau, wall, lead) = (2.0 * 86_400.0, 95.0, 86_400.0);
    let f = |t: f64| 100.0 - 80.0 * (-t / tau).exp();
    let n = 1153;
    let truth = tau * 16f64.ln() - 300.0 * (n - 1) as f64;
    for seed in 1..=6 {
        let s = noisy_curve(n, 300.0, seed, 0.5, f);
        let auto = run(&s, wall, Direction::Rising, ModelChoice::Auto);
        assert_likely_within(&auto, truth, 1.25, &format!("seed {seed}"));
        assert!(!auto.within(lead), "seed {seed}: {}", auto.reason);
        assert!(auto.reason.contains("one levelling off"), "{}", auto.reason);
        // The straight trends alone are early by more than 1.5x.
        let straight = run(&s, wall, Direction::Rising, ModelChoice::Robust);
        assert!(
            straight.eta.expect("approaching").likely < truth / 1.5,
            "seed {seed}"
        );
    }
}

#[test]
fn a_straight_trend_under_a_daily_cycle_is_seldom_shown_accelerating() {
    // A week of five-minute samples rising 0.03 a sample under a daily
    // swing of ±5, noise of ±2 and a spike of +50 now and then (the speed
    // benchmark's series, eight draws of its noise): the curve through it
    // bends one way or the other by chance. Bending neither steadily nor
    // beyond its noise, it is no evidence of acceleration and is not
    // fitted. Its backtests, where a curve and its tangent predict alike,
    // admitted it at four of these draws. Chance still passes it at two:
    // at one its curvature is 1.84 standard errors, at the other it fits
    // the block medians better than every broken line.
    let day = 86_400.0;
    let shown = (1..=8)
        .filter(|&seed| {
            let e = noise(seed, 2016);
            let s = history(2016, 300.0, |x| {
                let i = (2015.0 + x / 300.0).round() as usize;
                let spike = if i.is_multiple_of(397) { 50.0 } else { 0.0 };
                let swing = 5.0 * ((NOW + x) / day * std::f64::consts::TAU).sin();
                100.0 + 0.03 * i as f64 + swing + 2.0 * e[i] + spike
            });
            let auto = run(&s, 1000.0, Direction::Rising, ModelChoice::Auto);
            assert!(auto.eta.is_some(), "seed {seed}: {}", auto.reason);
            auto.reason.contains("accelerating")
        })
        .count();
    assert!(shown <= 2, "{shown} of 8 draws shown accelerating");
}

#[test]
fn free_space_that_shrinks_faster_every_day_is_timed_on_its_curve() {
    // A disk whose daily writes grow by a fixed amount each day (a table
    // gaining rows as a business grows): its free space falls by 2 GB a
    // day at first and 0.04 GB a day faster each day, seen hourly for 60
    // days. The wall, 100 GB free, is 83.6 days away on the curve.
    // Straight trends through the history, falling 3 to 4.4 GB a day, put
    // it 115 to 160 days away.
    let day = 86_400.0;
    let f = |t: f64| {
        let d = t / day;
        800.0 - 2.0 * d - 0.02 * d * d
    };
    let n = 1441;
    let now = 3600.0 * (n - 1) as f64 / day;
    let cross = (-2.0 + (4.0_f64 + 4.0 * 0.02 * 700.0).sqrt()) / 0.04;
    let truth = (cross - now) * day;
    // The history bends steadily, however noisy: the curve takes part at
    // every draw. (Judged by its backtests on the current regime alone,
    // the last two weeks, where straight lines break the curve, and where
    // a curve and its tangent differ little, the noise kept it out at 1 of
    // these 8 draws through ±1 GB, and 4 through ±3 or ±6 GB; the straight
    // trends then put the wall 1.45 times too far.)
    for amplitude in [1.0, 3.0, 6.0] {
        for seed in 1..=8 {
            let s = noisy_curve(n, 3600.0, seed, amplitude, f);
            let auto = run(&s, 100.0, Direction::Falling, ModelChoice::Auto);
            let draw = format!("±{amplitude} GB, seed {seed}");
            assert!(
                auto.reason.contains("one accelerating steadily"),
                "{draw}: {}",
                auto.reason
            );
            assert_likely_within(&auto, truth, 1.05, &draw);
            let straight = run(&s, 100.0, Direction::Falling, ModelChoice::Robust);
            assert!(
                straight.eta.expect("approaching").likely > 1.3 * truth,
                "{draw}: {}",
                straight.reason
            );
        }
    }
}

#[test]
fn a_ramp_that_settles_into_a_steady_climb_is_timed_by_its_climb() {
    // A connection pool after a restart: up 40 in a few hours, then
    // growing with its traffic, 20 a day, to the wall at two days. Its rate fell, then stopped
    // falling: it does not level off, and the wall is the climb's.
    let (wall, lead) = (90.0, 86_400.0);
    let f = |t: f64| 10.0 + 40.0 * (1.0 - (-t / 7200.0).exp()) + 20.0 * t / 86_400.0;
    // 26 to 30 hours after the restart: the wall 22 to 18 hours away.
    for (n, seed) in [(313, 1), (313, 2), (337, 3), (337, 4), (361, 5), (361, 6)] {
        let s = noisy_curve(n, 300.0, seed, 0.5, f);
        let span = 300.0 * (n - 1) as f64;
        // The ramp is done: the climb alone reaches the wall.
        let truth = 2.0 * 86_400.0 - span;
        let auto = run(&s, wall, Direction::Rising, ModelChoice::Auto);
        assert_likely_within(&auto, truth, 1.15, &format!("{n} samples, seed {seed}"));
        assert_eq!(
            auto.within(lead),
            truth <= lead,
            "{n} samples, seed {seed}: {}",
            auto.reason
        );
    }
}

/// One of the histories the randomized tests draw (the forecaster's, and
/// the backtest's): case `case` of lines, compounding, cycles, steps,
/// sawtooths, random walks and flat lines; noise from none to a hundred
/// times the trend; none to 600 samples a second to a day apart, with
/// gaps, NaN, infinities, repeated and unordered times; levels mostly
/// from 1e-12 to 1e15, else from 1e-300 to 1e140, of either sign; a wall
/// above, below or at its level, in either direction (mostly towards it),
/// under any model, seasonality and alert probability.
pub(crate) struct Arbitrary {
    pub(crate) samples: Vec<Sample>,
    pub(crate) wall: f64,
    pub(crate) direction: Direction,
    pub(crate) settings: Settings,
    /// Drawn without noise: its pairwise slopes and backtest errors tie
    /// exactly, and rounding decides between equals.
    pub(crate) noiseless: bool,
    /// The case, said so that a failure can be read.
    pub(crate) what: String,
}

pub(crate) fn arbitrary(case: u64) -> Arbitrary {
    let mut r = noise(case, 64).into_iter().map(|x| (x + 1.0) / 2.0);
    let mut next = move || r.next().unwrap_or(0.5);
    let n = match (next() * 4.0) as usize {
        0 => (next() * 8.0) as usize,
        1 => 8 + (next() * 60.0) as usize,
        _ => 60 + (next() * 540.0) as usize,
    };
    let dt = [1.0, 15.0, 60.0, 300.0, 3600.0, 86_400.0][(next() * 6.0) as usize % 6];
    // Mostly what metrics measure (1e-12 to 1e15: seconds of latency to
    // bytes of a volume), else anything the forecaster computes with.
    let scale = if next() < 0.7 {
        10f64.powf(next() * 27.0 - 12.0)
    } else {
        10f64.powf(next() * 440.0 - 300.0).min(1e140)
    };
    let sign = if next() < 0.2 { -1.0 } else { 1.0 };
    let shape = (next() * 8.0) as usize;
    let noise_share = [0.0, 0.01, 0.3, 100.0][(next() * 4.0) as usize % 4];
    let wiggle = noise(case ^ 0xABCD, n.max(1));
    let mut walk = 0.0;
    let mut s: Vec<Sample> = (0..n)
        .map(|i| {
            let x = i as f64 / n.max(1) as f64;
            let t = NOW - dt * (n - i) as f64;
            walk += wiggle[i];
            let v = match shape {
                0 => 1.0 + x,
                1 => (3.0 * x).exp(),
                2 => 1.0 + x + 0.5 * (t / 86_400.0 * std::f64::consts::TAU).sin(),
                3 => 1.0 + if x > 0.6 { 2.0 } else { 0.0 },
                4 => 1.0 + (i % 37) as f64 / 37.0,
                5 => 10.0 + walk,
                6 => 1.0,
                _ => 1.0 + x * x,
            };
            Sample::new(t, sign * scale * (v + noise_share * wiggle[i]))
        })
        .collect();
    if next() < 0.2 {
        for s in s.iter_mut().step_by(7) {
            s.v = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][(next() * 3.0) as usize % 3];
        }
    }
    if next() < 0.1 && n > 4 {
        s[n / 2].t = s[n / 2 - 1].t;
    }
    if next() < 0.1 {
        s.reverse();
    }
    if next() < 0.1 && n > 10 {
        s.drain(n / 3..n / 2);
    }
    let level = s.iter().rev().map(|s| s.v).find(|v| v.is_finite());
    let wall = match (next() * 5.0) as usize {
        0 => level.map_or(1.0, |v| v * 2.0),
        1 => level.map_or(-1.0, |v| v / 2.0),
        2 => level.unwrap_or(0.0),
        3 => 0.0,
        _ => sign * scale * 5.0,
    };
    // Mostly towards the wall, as a limit is set up; sometimes away.
    let above = level.is_none_or(|v| wall > v);
    let direction = if above == (next() < 0.8) {
        Direction::Rising
    } else {
        Direction::Falling
    };
    let settings = Settings {
        model: ModelChoice::ALL[(next() * 4.0) as usize % 4],
        seasonality: [
            Seasonality::Auto,
            Seasonality::None,
            Seasonality::Period(86_400.0),
        ][(next() * 3.0) as usize % 3],
        alert_probability: [0.05, 0.25, 0.5][(next() * 3.0) as usize % 3],
    };
    let what = format!(
        "case {case}: {n} samples {dt} s apart, shape {shape}, scale {scale:e}, noise {noise_share}, wall {wall:e}, {direction:?}, {settings:?}"
    );
    Arbitrary {
        samples: s,
        wall,
        direction,
        settings,
        noiseless: noise_share == 0.0,
        what,
    }
}

/// Histories of every shape the forecaster meets and many it should not
/// (see [`arbitrary`]): none panics, and every forecast is one a dashboard
/// can plot. Its times are ordered (lower <= likely <= upper, the alert
/// time not before the lower edge, none NaN or negative), a time is given
/// exactly when the status approaches or has breached, a breach is now,
/// every forecast says why, and a wall asked about beside another is
/// forecast as when asked alone.
/// `RUNWAY_FUZZ_CASES` runs more than the default 1,000 (the suite's
/// share of a run that checked 200,000).
#[test]
fn any_history_gets_a_forecast_whose_times_are_ordered() {
    for case in 0..fuzz_cases(1000, 1) {
        let Arbitrary {
            samples: s,
            wall,
            direction,
            settings,
            what,
            ..
        } = arbitrary(case);
        let f = forecast(&s, wall, direction, &settings, NOW);
        // Against several walls at once (the roadmap's load headroom), the
        // same forecast for each.
        let many = forecast_many(&s, &[wall, wall * 1.5], direction, &settings, NOW);
        assert_eq!(format!("{:?}", many[0]), format!("{f:?}"), "{what}");
        assert!(!f.reason.is_empty(), "{what}: no reason");
        assert_ne!(f.model, ModelChoice::Auto, "{what}");
        match (f.status, f.eta) {
            (Status::Approaching, Some(e)) => {
                let times = [e.lower, e.likely, e.upper, e.alert];
                assert!(
                    times.iter().all(|t| !t.is_nan() && *t >= 0.0),
                    "{what}: {e:?}"
                );
                assert!(
                    e.lower <= e.likely && e.likely <= e.upper && e.alert >= e.lower,
                    "{what}: {e:?}, {}",
                    f.reason
                );
                assert!(e.likely.is_finite(), "{what}: {e:?}");
            }
            (Status::Breached, Some(e)) => assert_eq!(e.likely, 0.0, "{what}"),
            (Status::Receding | Status::InsufficientData, None) => {}
            (status, eta) => panic!("{what}: {status:?} with {eta:?}: {}", f.reason),
        }
    }
}

/// Whether two forecasts of one history tell a user the same: their
/// statuses, their likely times to a millionth (or a millisecond), their
/// band's near edge and alert time to a percent (rounding in another
/// unit or at another time can break a near tie the other way, and the
/// band's edges then move by a fraction of a percent).
fn agree(f: &Forecast, g: &Forecast) -> bool {
    let near = |share: f64| {
        move |x: f64, y: f64| x == y || (x - y).abs() <= (share * x.abs().max(y.abs())).max(1e-3)
    };
    let (close, edge) = (near(1e-6), near(0.01));
    f.status == g.status
        && match (f.eta, g.eta) {
            (Some(e), Some(h)) => {
                close(e.likely, h.likely) && edge(e.lower, h.lower) && edge(e.alert, h.alert)
            }
            (None, None) => true,
            _ => false,
        }
}

/// How many cases a randomized test draws: `RUNWAY_FUZZ_CASES` divided by
/// `share` (tests that cost more per case run fewer) when it is set, else
/// `default`.
pub(crate) fn fuzz_cases(default: u64, share: u64) -> u64 {
    std::env::var("RUNWAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, |n| n / share)
}

/// Calls `check` with each arbitrary history a property test draws that
/// has noise (see [`Arbitrary::noiseless`]), and its forecast.
fn for_each_noisy(mut check: impl FnMut(&Arbitrary, &Forecast)) {
    for case in 0..fuzz_cases(100, 3) {
        let a = arbitrary(case);
        if a.noiseless {
            continue;
        }
        let f = forecast(&a.samples, a.wall, a.direction, &a.settings, NOW);
        check(&a, &f);
    }
}

/// Forecasts of arbitrary histories compared with those of the same
/// histories changed (another unit, another week): how many pairs, and
/// the ones that did not [`agree`].
#[derive(Default)]
struct Agreement {
    pairs: usize,
    apart: Vec<String>,
}

impl Agreement {
    fn compare(&mut self, a: &Arbitrary, how: &str, f: &Forecast, g: &Forecast) {
        self.pairs += 1;
        if !agree(f, g) {
            self.apart.push(format!(
                "{}, {how}: {:?} {:?} against {:?} {:?}\n{}\n{}",
                a.what, f.status, f.eta, g.status, g.eta, f.reason, g.reason
            ));
        }
    }

    /// At most one pair in a thousand apart: the weighted median of two
    /// members of all but equal weight can fall on either, and rounding in
    /// another unit decides (2 pairs of about 70,000 in a run of 50,000
    /// histories). A dependence on the unit or the clock shows in far
    /// more: a floor on rounding's allowance once moved every cycle's busy
    /// hour in units below 1e-6.
    fn assert_rare(&self) {
        assert!(
            self.apart.len() * 1000 <= self.pairs,
            "{} of {} pairs apart:\n{}",
            self.apart.len(),
            self.pairs,
            self.apart
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A disk in bytes or in GiB, a latency in seconds or in milliseconds:
/// the unit of a series and its wall changes no forecast (see [`agree`];
/// all but near ties, see [`Agreement::assert_rare`]), on the arbitrary
/// histories whose values lie between 1e-30 and 1e30 in both units, each
/// scaled by 1024³ and by 1/1000. (A noiseless history ties exactly, a
/// sawtooth's peaks exactly level or trends of exactly equal errors,
/// which rounding decides in any unit: those are left out.)
#[test]
fn the_unit_of_a_series_changes_no_forecast() {
    let mut seen = Agreement::default();
    for_each_noisy(|a, f| {
        for k in [1024f64.powi(3), 1e-3] {
            let within = |v: f64| {
                let realistic = |v: f64| (1e-30..1e30).contains(&v.abs());
                !v.is_finite() || v == 0.0 || realistic(v) && realistic(v * k)
            };
            if !a.samples.iter().all(|s| within(s.v)) || !within(a.wall) {
                continue;
            }
            let scaled: Vec<Sample> = a
                .samples
                .iter()
                .map(|s| Sample::new(s.t, s.v * k))
                .collect();
            let g = forecast(&scaled, a.wall * k, a.direction, &a.settings, NOW);
            seen.compare(a, &format!("scaled by {k}"), f, &g);
        }
    });
    seen.assert_rare();
}

/// The same history a week, a year of weeks earlier or four years of
/// weeks later (every daily and weekly cycle in the same phase) gets the
/// same forecast: nothing depends on the clock's reading but through the
/// cycles. (Noiseless histories left out, as for units.)
#[test]
fn a_history_moved_by_whole_weeks_gets_the_same_forecast() {
    const WEEK: f64 = 7.0 * 86_400.0;
    let mut seen = Agreement::default();
    for_each_noisy(|a, f| {
        for shift in [WEEK, -52.0 * WEEK, 208.0 * WEEK] {
            let moved: Vec<Sample> = a
                .samples
                .iter()
                .map(|s| Sample::new(s.t + shift, s.v))
                .collect();
            let g = forecast(&moved, a.wall, a.direction, &a.settings, NOW + shift);
            seen.compare(a, &format!("moved by {shift} s"), f, &g);
        }
    });
    seen.assert_rare();
}

/// A nearer wall is reached no later, and pages no later, than a further
/// one: for each noisy history whose wall is still ahead, walls from 0.3
/// to 3 times its distance, two of them 1% apart. Two ways it failed:
/// the pooled chance of a wall that only one of two equal members reaches
/// is half at its tail's end exactly, and the tail's line rounded short of
/// it there (the page of a wall half as far waited forever while the
/// further one's came); and a cycle's busy hour was read at one time a
/// bin, a bin apart from where the trend reached each wall (a wall 1%
/// nearer was reached up to a bin later).
#[test]
fn a_nearer_wall_is_reached_and_paged_no_later() {
    let mut compared = 0;
    for case in 0..fuzz_cases(1000, 1) {
        let a = arbitrary(case);
        let newest = a.samples.iter().rev().find(|s| s.v.is_finite());
        let (Some(newest), false) = (newest, a.noiseless) else {
            continue;
        };
        let sign = a.direction.sign();
        let gap = (a.wall - newest.v) * sign;
        if !(gap > 0.0 && gap.is_finite()) {
            continue;
        }
        let walls = [0.3, 0.9, 1.0, 1.01, 1.5, 3.0].map(|k| newest.v + sign * gap * k);
        let f = forecast_many(&a.samples, &walls, a.direction, &a.settings, NOW);
        let times = |f: &Forecast| f.eta.map_or([f64::INFINITY; 2], |e| [e.likely, e.alert]);
        for pair in f.windows(2) {
            let (near, far) = (times(&pair[0]), times(&pair[1]));
            for (n, f) in near.iter().zip(&far) {
                assert!(
                    *n <= f * (1.0 + 1e-9) + 1e-9,
                    "{}: {:?} against {:?}",
                    a.what,
                    pair[0].eta,
                    pair[1].eta
                );
            }
            compared += 1;
        }
    }
    assert!(compared > fuzz_cases(1000, 1) / 2, "only {compared} pairs");
}

/// A connection pool growing a few percent a day, compounding, under a
/// daily swing that is a share of it (busiest at 14:00), seen for two to
/// four weeks at five minutes, the wall a month out. Forecast every 90
/// minutes through one day, its likely time stays within a factor 1.25
/// and within 1.2x of when the busy hour truly reaches the wall. It swung
/// from 30 days to 47, 64 or 80 with the hour of the cut: the rate test
/// that establishes compounding passed at one cut and failed at the next
/// on the noise of 160 of each block's samples, exponential trends that
/// backtested better than straight ones by less than 10% stayed out, and
/// where they were in, the straight trend across the values' regimes (the
/// pieces of a curve, not a wander) outvoted them.
#[test]
fn compounding_growth_under_a_daily_swing_has_one_time_to_wall_through_the_day() {
    for (growth, swing, days, seed) in [
        (0.03, 0.2, 21, 31),
        (0.05, 0.3, 14, 32),
        (0.02, 0.2, 28, 33),
    ] {
        let clean = |t: f64| {
            100.0 * (1.0_f64 + growth).powf((t - NOW) / 86_400.0) * (1.0 + daily(t, swing))
        };
        // A day of cuts after `days` of history.
        let n = (days + 1) * 288;
        let e = noise(seed, n);
        let s: Vec<Sample> = (0..n)
            .map(|i| {
                let t = NOW + 300.0 * i as f64;
                Sample::new(t, clean(t) * (1.0 + 0.035 * e[i]))
            })
            .collect();
        let first = NOW + days as f64 * 86_400.0;
        let wall = 100.0 * (1.0_f64 + growth).powi(days as i32 + 30) * (1.0 + swing);
        let truth = (0..)
            .map(|k| first + 300.0 * f64::from(k))
            .find(|&t| clean(t) >= wall)
            .expect("the series reaches its wall");
        let likely: Vec<(f64, f64)> = (0..16)
            .map(|k| {
                let now = first + 5_400.0 * f64::from(k);
                let f = forecast(&s, wall, Direction::Rising, &Settings::default(), now);
                let likely = f.eta.map_or(f64::INFINITY, |e| e.likely);
                assert!(
                    likely < 1.2 * (truth - now) && likely > (truth - now) / 1.2,
                    "{growth} a day, ±{swing}, {days} days, cut at {:.1} h: {:.1} days, truly {:.1}: {}",
                    1.5 * f64::from(k),
                    likely / 86_400.0,
                    (truth - now) / 86_400.0,
                    f.reason
                );
                (likely, now)
            })
            .collect();
        let (lo, hi) = likely
            .iter()
            .map(|(l, _)| *l)
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), l| {
                (lo.min(l), hi.max(l))
            });
        assert!(hi < 1.25 * lo, "{growth} a day: {lo} .. {hi} s");
    }
}

/// A connection pool with a floor: 20 connections idle plus 0.3 per
/// request a second, the requests growing 3% a day under a ±50% daily
/// swing, 2% noise on each, a week at five minutes. The swing is part
/// share (of the requests), part fixed amount (the floor), so as a share
/// of the whole level it grows with the level; taken out as a steady share
/// it left a misfit at the newest samples larger than a day's trend, and
/// the forecast swung with the hour of the cut: 3 days, "receding" three
/// times, 20, 7, 8 and 21 days (truly 12.5 to 13.4). With the floor taken
/// out before the share, every cut approaches, within a factor 1.7 of the
/// truth (straight trends are late for growth that compounds) and within
/// 1.3 of one another.
#[test]
fn a_pool_with_a_floor_under_a_daily_swing_is_forecast_alike_at_every_hour() {
    let likely = pool_at_every_hour(20.0, 0.03, 1.7);
    let (low, high) = likely
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
    assert!(high / low <= 1.3, "{likely:?}");
}

/// The same with 40 connections idle (the lowest value about 47, so the
/// floor is 5/6 of it) and the requests growing 2% a day: the floor is
/// taken at every hour. It was found but not taken at some (its cycle's
/// strength on the logarithm of the thin sliver above it lost to a fixed
/// amount's on the values), or refused by its halves' noisy estimates;
/// on generated pools of this kind the time then read 3.0 times the truth
/// at one hour and 0.35 times it three hours later. Its straight trends
/// are later than the lower floor's, and vary more with the hour (1.3 to
/// 2.1 times the truth here): growth of 2% a day is not established as
/// compounding in a week under a ±50% swing.
#[test]
fn a_pool_with_a_high_floor_has_it_taken_at_every_hour() {
    pool_at_every_hour(40.0, 0.02, 2.5);
}

/// A pool of `floor` idle connections and a share of requests growing by
/// `growth` a day under a ±50% swing, its peaks 65 on the first day, seen
/// at eight hours three apart: each cut approaches its wall of 100 within
/// a factor `within` of the truth, and its reason names the floor. The
/// likely times as multiples of the truth, cut by cut.
fn pool_at_every_hour(floor: f64, growth: f64, within: f64) -> Vec<f64> {
    let (n, step, day) = (2016, 300.0, 86_400.0);
    let (requests, connections) = (noise(41, n), noise(42, n));
    let share = (65.0 - floor) / 1.5;
    let s = history(n, step, |x| {
        let i = n - 1 - (-x / step).round() as usize;
        let d = i as f64 * step / day;
        let load = (1.0 + growth).powf(d)
            * (1.0 + 0.5 * (std::f64::consts::TAU * d).sin())
            * (1.0 + 0.02 * requests[i]);
        (floor + share * load) * (1.0 + 0.02 * connections[i])
    });
    // The peaks, floor + 1.5 share (1 + growth)^d, reach 100 at d =
    // ln((100 - floor) / (1.5 share)) / ln(1 + growth).
    let wall_day = ((100.0 - floor) / (1.5 * share)).ln() / (1.0 + growth).ln();
    let last_day = (n - 1) as f64 * step / day;
    let mut likely = Vec::new();
    for h in (0..24).step_by(3) {
        let now = NOW - h as f64 * 3600.0;
        let f = forecast(&s, 100.0, Direction::Rising, &Settings::default(), now);
        assert_eq!(f.status, Status::Approaching, "{h} h back: {}", f.reason);
        // The reason says what the swing was taken as: a share of what is
        // above the floor, found within two of the steps it is looked for
        // in (a 32nd of the lowest value, under 1.5 here).
        let found: Option<f64> = f
            .reason
            .split("its cycle a share of the level above ")
            .nth(1)
            .and_then(|rest| rest.split([' ', ')']).next())
            .and_then(|x| x.parse().ok());
        assert!(
            found.is_some_and(|c| (c - floor).abs() <= 3.0),
            "{h} h back: {}",
            f.reason
        );
        let truth = (wall_day - last_day) * day + h as f64 * 3600.0;
        let eta = f.eta.unwrap().likely;
        let ratio = eta / truth;
        assert!(
            (1.0 / within..=within).contains(&ratio),
            "{h} h back: {} days for {} ({ratio:.2}x): {}",
            eta / day,
            truth / day,
            f.reason
        );
        likely.push(ratio);
    }
    likely
}

/// A short history's band: eight daily samples of a line under noise,
/// a thousand times over. Its errors are estimated from those eight, so
/// the band's edges are Student's t's (six degrees of freedom: 1.94
/// standard errors where the normal says 1.645), and a 90% band holds the
/// noise-free line's crossing at 897 of the draws for `linear` and 884 for
/// `auto`. With the normal's edges it held it at 847 and 833. (`robust`
/// alone: 841, from 776.)
#[test]
fn a_short_history_has_a_band_as_honest_as_a_long_one() {
    const N: usize = 8;
    let draws = 1000;
    for model in [ModelChoice::Linear, ModelChoice::Auto] {
        let held = (0..draws)
            .filter(|&seed| {
                let e = noise(1000 + seed, N);
                // Rising 1 a day, noise of ±3 (uniform), the wall 30
                // above the line now.
                let s = history(N, 86_400.0, |x| {
                    70.0 + x / 86_400.0 + 3.0 * e[(-x / 86_400.0) as usize]
                });
                let truth = 30.0 * 86_400.0;
                run(&s, 100.0, Direction::Rising, model)
                    .eta
                    .is_some_and(|eta| eta.lower <= truth && truth <= eta.upper)
            })
            .count();
        assert!(
            held * 100 >= 87 * draws as usize,
            "{model}: the band held the truth at {held} of {draws} draws"
        );
    }
}
