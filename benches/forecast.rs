//! Per-series cost of each model and of the automatic choice, on the series
//! size the issue names: 2,016 points (7 days at 5 minutes).
//!
//!     cargo bench --bench forecast
//!
//! The budget: the automatic choice under 2 ms per series on one core, so
//! that 10,000 series fit in a 1-minute interval on two cores. Timed on the
//! allocator and settings the program runs with (see `runway::allocator`).
//! The roadmap's load headroom is measured on the same series, without and
//! with a driver, the backtest's truth on a million points, and what an
//! evaluation pays for a series whose forecast it counts down instead.

use criterion::{black_box, criterion_group, BenchmarkId, Criterion};

use runway::evaluate;
use runway::forecast::{forecast, ModelChoice, Settings};
use runway::model::{Direction, Labels, Sample, Series};
use runway::roadmap;

/// `n` samples five minutes apart of `f(i, t, noise)`, `noise` uniform in
/// [-1, 1) from a fixed xorshift, so that runs agree.
fn generated(n: usize, f: impl Fn(usize, f64, f64) -> f64) -> Vec<Sample> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = (x % 1000) as f64 / 500.0 - 1.0;
            let t = 1_700_000_000.0 + 300.0 * i as f64;
            Sample::new(t, f(i, t, noise))
        })
        .collect()
}

/// A noisy rising trend with a daily cycle and a few spikes: the kind of
/// series that makes every part of the fit work.
fn series(n: usize) -> Vec<Sample> {
    generated(n, |i, t, noise| {
        let daily = (t / 86_400.0 * std::f64::consts::TAU).sin();
        let spike = if i % 397 == 0 { 50.0 } else { 0.0 };
        100.0 + 0.0001 * 300.0 * i as f64 + 5.0 * daily + 2.0 * noise + spike
    })
}

/// A fill levelling off towards 100 from 20, its rate falling by e every
/// three days, with uniform noise of ±2.
fn levelling_off(n: usize) -> Vec<Sample> {
    generated(n, |i, _, noise| {
        let days = 300.0 * i as f64 / 86_400.0;
        100.0 - 80.0 * (-days / 3.0).exp() + 2.0 * noise
    })
}

/// A connection pool: 20 idle connections plus 0.3 per request a second,
/// the requests compounding 3% a day under a ±50% daily swing, with ±1 of
/// noise. Its swing is a share of what is above the floor, which the
/// automatic choice finds and takes out before it fits the trends.
fn pool_with_a_floor(n: usize) -> Vec<Sample> {
    generated(n, |_, t, noise| {
        let days = (t - 1_700_000_000.0) / 86_400.0;
        let requests =
            100.0 * 1.03f64.powf(days) * (1.0 + 0.5 * (days * std::f64::consts::TAU).sin());
        20.0 + 0.3 * requests + noise
    })
}

fn per_series(c: &mut Criterion) {
    let s = series(2016);
    let now = s[s.len() - 1].t;
    let mut g = c.benchmark_group("forecast_2016_points");
    for model in ModelChoice::ALL {
        g.bench_with_input(BenchmarkId::from_parameter(model), &model, |b, &m| {
            b.iter(|| {
                forecast(
                    black_box(&s),
                    1000.0,
                    Direction::Rising,
                    &Settings::with_model(m),
                    now,
                )
            })
        });
    }
    // A fill that levels off (towards 100, its rate falling by e every
    // three days), whose trend that eases takes part: the automatic choice
    // also finds its regime on the bent time axis and backtests it. And a
    // pool whose swing is taken out above the floor the choice finds.
    for (name, history, wall) in [
        ("auto_levelling_off", levelling_off(2016), 99.0),
        ("auto_pool_with_a_floor", pool_with_a_floor(2016), 100.0),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                forecast(
                    black_box(&history),
                    wall,
                    Direction::Rising,
                    &Settings::default(),
                    now,
                )
            })
        });
    }
    g.finish();
}

/// The roadmap's extra cost per series: the load headroom without a driver
/// (today's busy level), and with one (the response fitted on 2,016 paired
/// samples, plus a forecast of the driver's own trend to the breaking load).
fn headroom(c: &mut Criterion) {
    let load = series(2016);
    let now = load[load.len() - 1].t;
    // A latency that grows with the square of the load.
    let latency: Vec<Sample> = load
        .iter()
        .map(|s| Sample::new(s.t, 0.1 * (s.v / 100.0).powi(2)))
        .collect();
    let settings = Settings::default();
    let mut g = c.benchmark_group("headroom_2016_points");
    g.bench_function("proportional", |b| {
        b.iter(|| {
            roadmap::headroom(
                black_box(&latency),
                None,
                0.4,
                Direction::Rising,
                &settings,
                now,
            )
        })
    });
    g.bench_function("driver", |b| {
        b.iter(|| {
            roadmap::headroom(
                black_box(&latency),
                Some(black_box(&load)),
                0.4,
                Direction::Rising,
                &settings,
                now,
            )
        })
    });
    // A hundred series breaking at different loads of one shared driver:
    // its trend is fitted once. Reported per evaluation of all hundred.
    let metrics: Vec<Vec<Sample>> = (0..100)
        .map(|i| {
            load.iter()
                .map(|s| Sample::new(s.t, (0.05 + 0.001 * i as f64) * (s.v / 100.0).powi(2)))
                .collect()
        })
        .collect();
    let refs: Vec<&[Sample]> = metrics.iter().map(Vec::as_slice).collect();
    let drivers = vec![roadmap::Driver::Series(load.as_slice()); refs.len()];
    let walls = vec![0.4; refs.len()];
    g.bench_function("driver_shared_by_100_series", |b| {
        b.iter(|| {
            roadmap::headrooms(
                black_box(&refs),
                &drivers,
                &walls,
                Direction::Rising,
                &settings,
                now,
            )
        })
    });
    g.finish();
}

/// Joining per-series walls (`wall_query`) to a limit's series by labels, at
/// fleet size: 10,000 series, each with its own wall, and one wall for all.
fn join(c: &mut Criterion) {
    let label = |pairs: &[(&str, String)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let n = 10_000;
    let series: Vec<Series> = (0..n)
        .map(|i| {
            Series::new(
                label(&[
                    ("instance", format!("db-{i:05}:9187")),
                    ("job", "postgres".to_string()),
                    ("datname", "app".to_string()),
                ]),
                Vec::new(),
            )
        })
        .collect();
    let walls: Vec<(Labels, f64)> = (0..n)
        .rev()
        .map(|i| (label(&[("instance", format!("db-{i:05}:9187"))]), 100.0))
        .collect();
    let mut g = c.benchmark_group("join_10000_series");
    g.bench_function("a_wall_each", |b| {
        b.iter(|| {
            evaluate::join_walls(
                black_box(&series).iter().map(|s| &s.labels),
                black_box(&walls),
                Direction::Rising,
            )
        })
    });
    let one = vec![(Labels::new(), 100.0)];
    g.bench_function("one_wall_for_all", |b| {
        b.iter(|| {
            evaluate::join_walls(
                black_box(&series).iter().map(|s| &s.labels),
                black_box(&one),
                Direction::Rising,
            )
        })
    });
    g.finish();
}

/// The backtest's truth (the first time the median of runway's breach
/// window reaches the wall) on a million points that never reach it: the
/// whole series is scanned. A source that ignores the step can send that
/// many within the default response bound.
fn truth(c: &mut Criterion) {
    let s = series(1_000_000);
    let smooth = runway::backtest::truth_window(s.len());
    c.bench_function("backtest_truth_1000000_points", |b| {
        b.iter(|| runway::backtest::first_crossing(black_box(&s), 1e9, Direction::Rising, smooth))
    });
}

/// What an evaluation within a step pays for a series whose forecast it
/// counts down instead of computing: the fingerprint of its 2,016 points
/// (and of a driver's as many, when it has one), and the count-down.
fn reuse(c: &mut Criterion) {
    let s = Series::new(
        [("instance".to_string(), "db-00001:9187".to_string())].into(),
        series(2016),
    );
    let driver = series(2016);
    let now = s.samples[s.samples.len() - 1].t;
    let e = evaluate::evaluate(
        "pool",
        std::slice::from_ref(&s),
        &[1000.0],
        &[roadmap::Driver::Absent],
        Direction::Rising,
        &Settings::default(),
        now,
    )
    .remove(0);
    let mut g = c.benchmark_group("reuse_2016_points");
    g.bench_function("fingerprint", |b| {
        b.iter(|| evaluate::fingerprint(black_box(&s), 1000.0, roadmap::Driver::Absent))
    });
    g.bench_function("fingerprint_with_a_driver", |b| {
        b.iter(|| {
            evaluate::fingerprint(
                black_box(&s),
                1000.0,
                roadmap::Driver::Series(black_box(&driver)),
            )
        })
    });
    g.bench_function("count_down", |b| {
        b.iter(|| black_box(&e).counted_down(now + 60.0))
    });
    g.finish();
}

criterion_group!(benches, per_series, headroom, join, truth, reuse);

/// `criterion_main!`'s `main`, with the allocator set as the program sets
/// it before anything is timed: the library declares runway's allocator
/// (mimalloc) for every build, and its purge setting is made at run time.
fn main() {
    runway::allocator::return_freed_memory_at_once();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
