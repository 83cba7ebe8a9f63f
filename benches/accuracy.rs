//! Accuracy benchmark: how well each forecaster tells the time to a wall, on
//! families of generated series whose truth is known exactly.
//!
//!     cargo bench --bench accuracy
//!
//! Every series approaches its wall at a time computed from the noise-free
//! signal that generated it (for a cycle or a sawtooth, when its *peaks*
//! reach the wall; for a random walk, when the walk itself does), except the
//! noise-only family and a fill levelling off under its wall, which never
//! reach it and measure false alarms.
//! Each runway model and Prometheus' `predict_linear` over three windows are
//! replayed with the protocol of `runway backtest` (`src/backtest.rs`):
//! cuts from 20% of the span up to the crossing, the forecaster sees only
//! the past, and the same scores. The noise is a fixed hash, so every run
//! prints the same table; BENCHMARKS.md holds the latest one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use runway::backtest::{self, Cut, Prediction, Protocol, Scores};
use runway::forecast::{self, linear, ModelChoice, Settings, Status};
use runway::model::{Direction, Sample};

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;
/// Samples every five minutes, as a 7-day Prometheus range at 2,016 points.
const STEP: f64 = 300.0;
/// A fixed start (a Monday, 00:00 UTC), so runs agree.
const T0: f64 = 1_700_438_400.0;
const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const CUTS: usize = 30;

// ---------------------------------------------------------------------------
// Deterministic noise
// ---------------------------------------------------------------------------

/// Uniform in [-1, 1): SplitMix64 of (`seed`, `i`).
fn uniform(seed: u64, i: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// Nearly Gaussian with unit variance: the sum of four uniforms, scaled.
fn gaussian(seed: u64, i: u64) -> f64 {
    let s: f64 = (0..4).map(|k| uniform(seed, 4 * i + k)).sum();
    s / (4.0f64 / 3.0).sqrt()
}

/// AR(1) noise with unit variance and lag-1 correlation `phi`, as real
/// metrics have: neighbouring samples are not independent.
fn ar1(seed: u64, n: usize, phi: f64) -> Vec<f64> {
    let scale = (1.0 - phi * phi).sqrt();
    let mut e = 0.0;
    (0..n)
        .map(|i| {
            e = phi * e + scale * gaussian(seed, i as u64);
            e
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------

/// One generated series and its exact truth.
struct Case {
    samples: Vec<Sample>,
    wall: f64,
    direction: Direction,
    /// When the noise-free signal first reaches the wall; `None`: never.
    crossing: Option<f64>,
    lead: f64,
}

/// The first time `signal` is at or past `wall` in [from, to]: a scan every
/// ten seconds, then bisection to a millisecond.
fn first_reach(signal: impl Fn(f64) -> f64, wall: f64, from: f64, to: f64) -> Option<f64> {
    let past = |t: f64| signal(t) >= wall;
    let mut prev = from;
    if past(from) {
        return Some(from);
    }
    let mut t = from;
    while t < to {
        t = (t + 10.0).min(to);
        if past(t) {
            let (mut a, mut b) = (prev, t);
            while b - a > 1e-3 {
                let m = 0.5 * (a + b);
                if past(m) {
                    b = m;
                } else {
                    a = m;
                }
            }
            return Some(b);
        }
        prev = t;
    }
    None
}

/// Samples of `signal + noise` every [`STEP`] from [`T0`] up to `end`.
fn sample(end: f64, noise: &[f64], signal: impl Fn(f64) -> f64) -> Vec<Sample> {
    let n = ((end - T0) / STEP).ceil() as usize + 1;
    assert!(noise.len() >= n, "noise for {n} samples");
    (0..n)
        .map(|i| {
            let t = T0 + STEP * i as f64;
            Sample::new(t, signal(t) + noise[i])
        })
        .collect()
}

/// Each family's seeds vary the crossing by up to ±`jitter` days around
/// `days`, so that the cuts do not land on the same phase every time.
fn days_for(seed: u64, days: f64, jitter: f64) -> f64 {
    days + jitter * uniform(seed ^ 0xD15EA5E, 0)
}

/// A straight trend with AR noise: free bytes falling to zero.
fn linear_trend(seed: u64) -> Case {
    let days = days_for(seed, 14.0, 1.0);
    let crossing = T0 + days * DAY;
    let (start, wall) = (500e9, 0.0);
    let signal = move |t: f64| start + (wall - start) * (t - T0) / (crossing - T0);
    let noise: Vec<f64> = ar1(seed, 10_000, 0.6).iter().map(|e| 8e9 * e).collect();
    Case {
        samples: sample(crossing, &noise, signal),
        wall,
        direction: Direction::Falling,
        crossing: Some(crossing),
        lead: 3.0 * DAY,
    }
}

/// Compounding growth: ten-fold over the history, multiplicative noise.
fn exponential(seed: u64) -> Case {
    let days = days_for(seed, 14.0, 1.0);
    let crossing = T0 + days * DAY;
    let wall = 1000.0;
    let tau = (crossing - T0) / 10f64.ln();
    let signal = move |t: f64| wall * ((t - crossing) / tau).exp();
    let noise = ar1(seed, 10_000, 0.6);
    let samples = sample(crossing, &noise, |_| 0.0)
        .into_iter()
        .map(|s| Sample::new(s.t, signal(s.t) * (1.0 + 0.03 * s.v)))
        .collect();
    Case {
        samples,
        wall,
        direction: Direction::Rising,
        crossing: Some(crossing),
        lead: 3.0 * DAY,
    }
}

/// A daily cycle on a rising trend: the busy hour reaches the wall first.
fn seasonal(seed: u64) -> Case {
    let amplitude = 15.0;
    daily_cycle(seed, WALL - amplitude, move |trend, cycle| {
        trend + amplitude * cycle
    })
}

/// A daily cycle whose swing is a share of the level (traffic, and what
/// traffic drives): as the trend rises the busy hour rises faster, and
/// reaches the wall sooner than today's swing on top of the trend would.
fn seasonal_multiplicative(seed: u64) -> Case {
    let share = 0.25;
    daily_cycle(seed, WALL / (1.0 + share), move |trend, cycle| {
        trend * (1.0 + share * cycle)
    })
}

/// The wall of the daily-cycle families.
const WALL: f64 = 100.0;

/// A trend rising from 30 to `end_trend` over about three weeks, with a
/// daily cycle busiest at 14:00 UTC joined to it by `swing(trend, cycle)`
/// (`cycle` from -1 to 1), through AR(1) noise; the truth is when its peaks
/// first reach `WALL`.
fn daily_cycle(seed: u64, end_trend: f64, swing: impl Fn(f64, f64) -> f64 + Copy) -> Case {
    let days = days_for(seed, 21.0, 1.0);
    let target = T0 + days * DAY;
    let trend = move |t: f64| 30.0 + (end_trend - 30.0) * (t - T0) / (target - T0);
    let signal = move |t: f64| {
        swing(
            trend(t),
            ((t - 8.0 * HOUR) / DAY * std::f64::consts::TAU).sin(),
        )
    };
    let crossing = first_reach(signal, WALL, T0, target + 2.0 * DAY).expect("the peaks reach");
    let noise: Vec<f64> = ar1(seed, 10_000, 0.5).iter().map(|e| 2.0 * e).collect();
    Case {
        samples: sample(crossing, &noise, signal),
        wall: WALL,
        direction: Direction::Rising,
        crossing: Some(crossing),
        lead: 3.0 * DAY,
    }
}

/// A disk filling fast and cleaned every three days, each cleanup leaving a
/// little more behind: the peaks creep up to the wall.
fn sawtooth(seed: u64) -> Case {
    let days = days_for(seed, 26.0, 1.5);
    let wall = 100.0;
    let period = 3.0 * DAY;
    let phase = (0.5 + 0.5 * uniform(seed ^ 0xC1EA, 0)) * period;
    let fill = 25.0 / period;
    let target = T0 + days * DAY;
    // The level left after a cleanup rises so that the peaks reach the wall
    // near the target.
    let base_rate = (wall - fill * period - 30.0) / (target - T0);
    let signal = move |t: f64| {
        let k = ((t - T0 - phase) / period).floor();
        let cleaned = T0 + phase + k * period;
        let since = t - cleaned;
        let base_at = |c: f64| 30.0 + base_rate * (c - T0);
        if k < 0.0 {
            base_at(T0) + fill * (t - T0 + (period - phase))
        } else {
            base_at(cleaned) + fill * since
        }
    };
    let crossing = first_reach(signal, wall, T0, target + 3.0 * period).expect("the peaks reach");
    let noise: Vec<f64> = ar1(seed, 12_000, 0.5).iter().map(|e| 1.0 * e).collect();
    Case {
        samples: sample(crossing, &noise, signal),
        wall,
        direction: Direction::Rising,
        crossing: Some(crossing),
        lead: 7.0 * DAY,
    }
}

/// Flat, a level shift, flat again, then a trend to the wall.
fn level_shift(seed: u64) -> Case {
    let days = days_for(seed, 21.0, 1.0);
    let crossing = T0 + days * DAY;
    let (shift_at, ramp_at) = (T0 + 6.0 * DAY, T0 + 10.0 * DAY);
    let wall = 100.0;
    let signal = move |t: f64| {
        if t < shift_at {
            40.0
        } else if t < ramp_at {
            60.0
        } else {
            60.0 + (wall - 60.0) * (t - ramp_at) / (crossing - ramp_at)
        }
    };
    let noise: Vec<f64> = ar1(seed, 10_000, 0.5).iter().map(|e| 2.0 * e).collect();
    Case {
        samples: sample(crossing, &noise, signal),
        wall,
        direction: Direction::Rising,
        crossing: Some(crossing),
        lead: 3.0 * DAY,
    }
}

/// A path from `start` that moves by `step(i)` every five minutes until it
/// reaches `wall` (rising), within `max_steps`: the path itself is the
/// truth, the first sample at or past the wall its crossing.
fn path_to_wall(start: f64, wall: f64, max_steps: f64, mut step: impl FnMut(u64) -> f64) -> Case {
    let mut v = start;
    let mut samples = Vec::new();
    for i in 0..max_steps as u64 {
        let t = T0 + STEP * i as f64;
        samples.push(Sample::new(t, v));
        if v >= wall {
            return Case {
                samples,
                wall,
                direction: Direction::Rising,
                crossing: Some(t),
                lead: 3.0 * DAY,
            };
        }
        v += step(i);
    }
    unreachable!("the path's drift reaches the wall within {max_steps} steps")
}

/// A random walk with drift: the path itself is the truth.
fn random_walk(seed: u64) -> Case {
    let days = days_for(seed, 14.0, 1.0);
    let (wall, start) = (100.0, 20.0);
    let steps = days * DAY / STEP;
    let drift = (wall - start) / steps;
    // The walk's own wandering over the whole history: 15% of the drift's.
    let sd = 0.15 * (wall - start) / steps.sqrt();
    path_to_wall(start, wall, 3.0 * steps, |i| drift + sd * gaussian(seed, i))
}

/// A count that only grows, in bursts: bytes written, files committed, a
/// counter. Every five minutes a burst comes with probability 1/20 and
/// adds an exponentially distributed amount; between bursts it trickles.
/// The path itself is the truth.
fn bursts(seed: u64) -> Case {
    let days = days_for(seed, 14.0, 1.0);
    let (wall, start) = (100.0, 20.0);
    let steps = days * DAY / STEP;
    let (chance, trickle_share) = (0.05, 0.1);
    // Bursts carry 90% of the growth on average, the trickle the rest.
    let burst_mean = (1.0 - trickle_share) * (wall - start) / (steps * chance);
    let trickle = trickle_share * (wall - start) / steps;
    path_to_wall(start, wall, 4.0 * steps, |i| {
        let u = 0.5 * (uniform(seed, 2 * i) + 1.0);
        let burst = if u < chance {
            let w = 0.5 * (uniform(seed ^ 0xB0B5, 2 * i + 1) + 1.0);
            -burst_mean * (1.0 - w).max(1e-12).ln()
        } else {
            0.0
        };
        burst + trickle
    })
}

/// The sawtooth of a disk written in bursts: each climb a random walk with
/// drift (about 3 days from cleanup to cleanup, wandering by 15% of the
/// climb over a cycle), cleaned back when it has climbed 25 (a log rotated
/// at its size), each cleanup leaving a little more behind so that the
/// peaks reach the wall. The path itself is the truth.
fn sawtooth_wandering(seed: u64) -> Case {
    let days = days_for(seed, 26.0, 1.5);
    let (wall, climb, cycle) = (100.0, 25.0, 3.0 * DAY / STEP);
    let drift = climb / cycle;
    let sd = 0.15 * climb / cycle.sqrt();
    // The peaks (base + climb) rise from 55 to the wall near the target.
    let rise = (wall - 55.0) * 3.0 / days;
    let mut base = 30.0;
    let start = base + climb * 0.5 * (uniform(seed ^ 0x5A77, 0) + 1.0);
    let mut v = start;
    let path = path_to_wall(start, wall, 2.0 * days * DAY / STEP, move |i| {
        let next = v + drift + sd * gaussian(seed, i);
        let step = if next >= base + climb && next < wall {
            base += rise;
            base - v
        } else {
            next - v
        };
        v += step;
        step
    });
    Case {
        lead: 7.0 * DAY,
        ..path
    }
}

/// Noise around a flat level, with slow wandering (strongly correlated
/// neighbours): the wall sits two standard deviations above the highest
/// sample, so the data never reaches it, but a short window's slope may.
fn noise_only(seed: u64) -> Case {
    let (level, sd) = (50.0, 4.0);
    let noise: Vec<f64> = ar1(seed, 10_000, 0.8).iter().map(|e| sd * e).collect();
    let samples = sample(T0 + 14.0 * DAY, &noise, |_| level);
    let wall = samples
        .iter()
        .map(|s| s.v)
        .fold(f64::NEG_INFINITY, f64::max)
        + 2.0 * sd;
    Case {
        samples,
        wall,
        direction: Direction::Rising,
        crossing: None,
        lead: 3.0 * DAY,
    }
}

/// A fill that levels off: an exponential approach to a plateau (a heap or
/// a cache warming up, a disk whose writes taper off), with a time constant
/// of three to five days and AR noise. The wall is at 95.
fn levelling(seed: u64, plateau: f64) -> Case {
    let (start, wall) = (20.0, 95.0);
    let tc = days_for(seed, 4.0, 1.0) * DAY;
    let signal = move |t: f64| plateau - (plateau - start) * (-(t - T0) / tc).exp();
    let noise: Vec<f64> = ar1(seed, 10_000, 0.5).iter().map(|e| 0.5 * e).collect();
    let crossing = first_reach(signal, wall, T0, T0 + 28.0 * DAY);
    let end = crossing.unwrap_or(T0 + 21.0 * DAY);
    Case {
        samples: sample(end, &noise, signal),
        wall,
        direction: Direction::Rising,
        crossing,
        lead: 3.0 * DAY,
    }
}

/// Levelling off at 92, under the wall: it never reaches it, so this family
/// measures false alarms only, as the straight trends of its climb page.
fn levelling_under(seed: u64) -> Case {
    levelling(seed, 92.0)
}

/// Levelling off at 100, over the wall: the wall comes on the flattening
/// approach (at about 11 days), later than the climb's straight trends say.
fn levelling_over(seed: u64) -> Case {
    levelling(seed, 100.0)
}

/// A ramp that settles into a steady climb: a connection pool or a heap
/// after a restart, rising by 30 with a time constant of 6 to 18 hours,
/// then growing with its traffic in a straight line to the wall at about
/// 14 days; AR noise. Its rate falls, then stops falling: a trend that
/// levels off is no model of it (session 17), and the wall is the climb's.
fn ramp_then_climb(seed: u64) -> Case {
    let (start, ramp, wall) = (20.0, 30.0, 100.0);
    let tc = (0.5 + 0.25 * uniform(seed ^ 0x7A3B, 1)) * DAY;
    let days = days_for(seed, 14.0, 1.0);
    let climb = (wall - start - ramp) / (days * DAY);
    let signal = move |t: f64| start + ramp * (1.0 - (-(t - T0) / tc).exp()) + climb * (t - T0);
    let noise: Vec<f64> = ar1(seed, 10_000, 0.5).iter().map(|e| 0.5 * e).collect();
    let crossing = first_reach(signal, wall, T0, T0 + 28.0 * DAY);
    Case {
        samples: sample(crossing.unwrap_or(T0 + 21.0 * DAY), &noise, signal),
        wall,
        direction: Direction::Rising,
        crossing,
        lead: 3.0 * DAY,
    }
}

/// A family: its name, and how to make its series for a seed.
type Family = (&'static str, fn(u64) -> Case);

const FAMILIES: [Family; 13] = [
    ("linear", linear_trend),
    ("exponential", exponential),
    ("seasonal", seasonal),
    ("seasonal ×", seasonal_multiplicative),
    ("sawtooth", sawtooth),
    ("sawtooth, wandering", sawtooth_wandering),
    ("level shift", level_shift),
    ("random walk", random_walk),
    ("bursts", bursts),
    ("levelling off over the wall", levelling_over),
    ("levelling off under the wall", levelling_under),
    ("ramp, then a steady climb", ramp_then_climb),
    ("noise only", noise_only),
];

// ---------------------------------------------------------------------------
// Forecasters
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Forecaster {
    Runway(ModelChoice),
    /// `predict_linear` over this window: least squares over the samples in
    /// (now - window, now], anchored at now; the time to wall is where the
    /// line meets the wall.
    PredictLinear(f64, &'static str),
    /// Grafana's AutoETS (augurs-ets, "ZZN": every error and trend form,
    /// damped or not, no season) fitted to the last week, forecast ahead
    /// step by step until the wall. Only with `--features augurs`.
    #[cfg(feature = "augurs")]
    AugursEts,
    /// MSTL (daily period) with AutoETS for its trend; `--features augurs`.
    #[cfg(feature = "augurs")]
    AugursMstl,
}

impl Forecaster {
    fn name(self) -> String {
        match self {
            Forecaster::Runway(m) => format!("runway {m}"),
            Forecaster::PredictLinear(_, w) => format!("predict_linear {w}"),
            #[cfg(feature = "augurs")]
            Forecaster::AugursEts => "augurs AutoETS".to_string(),
            #[cfg(feature = "augurs")]
            Forecaster::AugursMstl => "augurs MSTL+ETS".to_string(),
        }
    }

    fn predict(self, seen: &[Sample], now: f64, case: &Case) -> Prediction {
        match self {
            Forecaster::Runway(m) => {
                let f = forecast::forecast(
                    seen,
                    case.wall,
                    case.direction,
                    &Settings::with_model(m),
                    now,
                );
                Prediction::of_forecast(&f, case.lead)
            }
            Forecaster::PredictLinear(window, name) => {
                let from = seen.partition_point(|s| s.t <= now - window);
                let line = linear::regression(&seen[from..], now)
                    .filter(|l| l.slope.is_finite() && l.intercept.is_finite());
                let (status, likely) = match line {
                    None => (Status::InsufficientData, None),
                    Some(l) => {
                        let gap = case.direction.gap(l.intercept, case.wall);
                        let toward = l.slope * case.direction.sign();
                        if gap <= 0.0 {
                            (Status::Breached, Some(0.0))
                        } else if toward > 0.0 {
                            (Status::Approaching, Some(gap / toward))
                        } else {
                            (Status::Receding, None)
                        }
                    }
                };
                Prediction {
                    status,
                    model: format!("predict_linear {name}"),
                    likely,
                    lower: None,
                    upper: None,
                    banded: false,
                    alert: likely.is_some_and(|x| x <= case.lead),
                }
            }
            #[cfg(feature = "augurs")]
            Forecaster::AugursEts => augurs_ets(seen, now, case),
            #[cfg(feature = "augurs")]
            Forecaster::AugursMstl => augurs_mstl(seen, now, case),
        }
    }
}

/// AutoETS's time to wall: the first forecast step whose point (likely),
/// 90% bounds (earliest and latest) and 50% bound (alert: the wall 25%
/// likely) reach the wall.
#[cfg(feature = "augurs")]
fn augurs_ets(seen: &[Sample], now: f64, case: &Case) -> Prediction {
    use augurs_core::Fit;
    let y = last_week(seen, now);
    let fitted = augurs_ets::AutoETS::new(1, "ZZN")
        .ok()
        .and_then(|search| search.fit(&y).ok());
    augurs_crossings(fitted.as_ref(), &y, case, "augurs AutoETS")
}

/// MSTL with a daily period (288 five-minute samples) and AutoETS for its
/// trend, as Grafana's toolkit composes them.
#[cfg(feature = "augurs")]
fn augurs_mstl(seen: &[Sample], now: f64, case: &Case) -> Prediction {
    use augurs_core::Fit;
    let y = last_week(seen, now);
    let trend = augurs_ets::AutoETS::non_seasonal().into_trend_model();
    let fitted = augurs_mstl::MSTLModel::new(vec![288], trend).fit(&y).ok();
    augurs_crossings(fitted.as_ref(), &y, case, "augurs MSTL+ETS")
}

#[cfg(feature = "augurs")]
fn last_week(seen: &[Sample], now: f64) -> Vec<f64> {
    let from = seen.partition_point(|s| s.t <= now - 7.0 * DAY);
    seen[from..].iter().map(|s| s.v).collect()
}

/// An augurs model's time to wall: the first forecast step whose point
/// (likely), 90% bounds (earliest and latest) and 50% bound (alert: the wall
/// 25% likely) reach the wall.
#[cfg(feature = "augurs")]
fn augurs_crossings(
    fitted: Option<&impl augurs_core::Predict>,
    y: &[f64],
    case: &Case,
    name: &str,
) -> Prediction {
    let none = |status| Prediction {
        status,
        model: name.into(),
        likely: None,
        lower: None,
        upper: None,
        banded: true,
        alert: false,
    };
    let Some(model) = fitted else {
        return none(Status::InsufficientData);
    };
    let horizon = (30.0 * DAY / STEP) as usize;
    let (Ok(wide), Ok(narrow)) = (model.predict(horizon, 0.9), model.predict(horizon, 0.5)) else {
        return none(Status::InsufficientData);
    };
    let sign = case.direction.sign();
    let reached = |v: &[f64]| {
        v.iter()
            .position(|x| (x - case.wall) * sign >= 0.0)
            .map(|i| STEP * (i + 1) as f64)
    };
    let (Some(w), Some(n)) = (&wide.intervals, &narrow.intervals) else {
        return none(Status::InsufficientData);
    };
    // For a rising series the upper bound reaches the wall first.
    let (near_w, far_w, near_n) = match case.direction {
        Direction::Rising => (&w.upper, &w.lower, &n.upper),
        Direction::Falling => (&w.lower, &w.upper, &n.lower),
    };
    if (y.last().copied().unwrap_or(f64::NAN) - case.wall) * sign >= 0.0 {
        return Prediction {
            likely: Some(0.0),
            lower: Some(0.0),
            upper: Some(0.0),
            alert: true,
            ..none(Status::Breached)
        };
    }
    let likely = reached(&wide.point);
    let alert_at = reached(near_n);
    Prediction {
        status: if likely.is_some() {
            Status::Approaching
        } else {
            Status::Receding
        },
        likely,
        lower: reached(near_w).or(likely),
        upper: likely.map(|_| reached(far_w).unwrap_or(f64::INFINITY)),
        alert: alert_at.is_some_and(|a| a <= case.lead),
        ..none(Status::Receding)
    }
}

fn forecasters() -> Vec<Forecaster> {
    let mut out: Vec<Forecaster> = ModelChoice::ALL
        .into_iter()
        .map(Forecaster::Runway)
        .collect();
    out.extend([
        Forecaster::PredictLinear(6.0 * HOUR, "6h"),
        Forecaster::PredictLinear(DAY, "24h"),
        Forecaster::PredictLinear(7.0 * DAY, "7d"),
    ]);
    #[cfg(feature = "augurs")]
    out.extend([Forecaster::AugursEts, Forecaster::AugursMstl]);
    out
}

// ---------------------------------------------------------------------------
// The run and the table
// ---------------------------------------------------------------------------

fn cell(v: Option<f64>, percent: bool) -> String {
    match v {
        None => "-".into(),
        Some(x) if percent => format!("{:.0}%", 100.0 * x),
        Some(x) => format!("{x:.3}"),
    }
}

/// The median of ln(predicted / truth) over the cuts with a known truth.
fn signed_median(cuts: &[Cut]) -> Option<f64> {
    let mut v: Vec<f64> = cuts
        .iter()
        .filter_map(|c| {
            let tau = c.truth_seconds?;
            Some(match c.time_to_wall_seconds {
                Some(x) if x > 0.0 => (x / tau).ln(),
                Some(_) => f64::NEG_INFINITY,
                None => f64::INFINITY,
            })
        })
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2]).filter(|x| x.is_finite())
}

fn row(family: &str, forecaster: &str, s: &Scores) -> String {
    format!(
        "| {family} | {forecaster} | {} | {} | {} | {} | {} | {} | {} |",
        cell(s.eta_error_median, false),
        cell(s.eta_hit_rate_1_5x, true),
        cell(s.precision, true),
        cell(s.recall, true),
        cell(s.f1, false),
        cell(s.false_alarm_rate, true),
        cell(s.band_coverage, true),
    )
}

fn main() {
    let started = Instant::now();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // too, unoptimized and without it: then one seed and a few cuts check
    // that every family and forecaster runs, as criterion's benches do.
    let full = std::env::args().any(|a| a == "--bench");
    let (seeds, cut_count) = if full {
        (&SEEDS[..], CUTS)
    } else {
        (&SEEDS[..1], 3)
    };
    let cases: Vec<(usize, Case)> = FAMILIES
        .iter()
        .enumerate()
        .flat_map(|(f, (_, make))| seeds.iter().map(move |&seed| (f, make(seed))))
        .collect();
    let forecasters = forecasters();
    // Every (case, forecaster) pair is one job; the jobs are shared out to
    // one thread per core.
    let jobs: Vec<(usize, usize)> = (0..cases.len())
        .flat_map(|c| (0..forecasters.len()).map(move |f| (c, f)))
        .collect();
    let results: Mutex<Vec<(usize, usize, Vec<Cut>)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(c, f)) = jobs.get(i) else { break };
                let (_, case) = &cases[c];
                let forecaster = forecasters[f];
                let protocol = Protocol {
                    wall: case.wall,
                    direction: case.direction,
                    lead: case.lead,
                    cuts: cut_count,
                    lookback: None,
                };
                let cuts =
                    backtest::replay(&case.samples, case.crossing, &protocol, |seen, now| {
                        forecaster.predict(seen, now, case)
                    });
                results.lock().expect("results").push((c, f, cuts));
            });
        }
    });
    let results = results.into_inner().expect("results");

    let pooled = |family: Option<usize>, f: usize| -> Vec<Cut> {
        results
            .iter()
            .filter(|(c, g, _)| *g == f && family.is_none_or(|fam| cases[*c].0 == fam))
            .flat_map(|(_, _, cuts)| cuts.iter().cloned())
            .collect()
    };

    println!(
        "{} families x {} seeds, {cut_count} cuts each, 5-minute samples; eta error = median |ln(predicted/truth)| (0 exact, 0.405 = 1.5x, 2.303 = capped)\n",
        FAMILIES.len(),
        seeds.len()
    );
    println!("| family | forecaster | eta error median | hit rate 1.5x | precision | recall | F1 | false alarm rate | band coverage |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (fam, (name, _)) in FAMILIES.iter().enumerate() {
        for (f, forecaster) in forecasters.iter().enumerate() {
            let s = backtest::score(&pooled(Some(fam), f));
            println!("{}", row(name, &forecaster.name(), &s));
        }
    }
    for (f, forecaster) in forecasters.iter().enumerate() {
        let s = backtest::score(&pooled(None, f));
        println!("{}", row("**overall**", &forecaster.name(), &s));
    }

    // Which way the errors go: early (negative) is the safe side for an
    // alert, late is not. The median of ln(predicted / truth), with "no
    // answer" counted as infinitely late and "breached" as infinitely early.
    println!("\nmedian signed error ln(predicted/truth), per family (negative = early):\n");
    let names: Vec<String> = forecasters.iter().map(|f| f.name()).collect();
    println!("| family | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for (fam, (name, _)) in FAMILIES
        .iter()
        .enumerate()
        .filter(|(f, _)| cases.iter().any(|(g, c)| g == f && c.crossing.is_some()))
    {
        let cells: Vec<String> = (0..forecasters.len())
            .map(|f| cell(signed_median(&pooled(Some(fam), f)), false))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }

    // What `auto` chose, per family: the first thing to look at when it
    // loses to a fixed model.
    let auto = forecasters
        .iter()
        .position(|f| matches!(f, Forecaster::Runway(ModelChoice::Auto)))
        .expect("auto is a forecaster");
    println!("\nmodels `auto` chose, per family (cuts):\n");
    for (fam, (name, _)) in FAMILIES.iter().enumerate() {
        let s = backtest::score(&pooled(Some(fam), auto));
        let chosen: Vec<String> = s.models.iter().map(|(m, n)| format!("{m} {n}")).collect();
        println!("- {name}: {}", chosen.join(", "));
    }
    println!(
        "\n{} series, {} forecasts, {:.1} s on {threads} threads",
        cases.len(),
        results.iter().map(|(_, _, c)| c.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
}
