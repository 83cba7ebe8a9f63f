//! runway's regime detection against Grafana's augurs changepoint detection
//! (BOCPD with a Normal-Gamma prior), on what a wall forecaster needs from
//! it: where the current regime of a series begins.
//!
//!     cargo bench --bench changepoints --features augurs
//!
//! Three shapes, eight seeds each, two weeks at 5 minutes with AR(1) noise:
//! a level shift on day 6; a trend that starts on day 8 out of a flat line;
//! and no change at all. Each is cut at several days after its change (only
//! the samples up to the cut are seen). A detector finds the change when
//! the newest regime it reports begins within 12 hours of the truth; on the
//! flat series, any regime it reports is a false change. The cost is per
//! call on a history of the given length.

use std::time::Instant;

use augurs_changepoint::{dist::NormalGamma, Detector, NormalGammaDetector};
use runway::forecast::regime;
use runway::model::Sample;

const STEP: f64 = 300.0;
const DAY: f64 = 86_400.0;
const T0: f64 = 1_800_000_000.0;
const TOLERANCE: f64 = 12.0 * 3600.0;

/// Deterministic AR(1) noise with unit scale.
fn ar1(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut e = 0.0;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x % 10_000) as f64 / 5_000.0 - 1.0;
            e = 0.5 * e + u;
            e
        })
        .collect()
}

struct Shape {
    name: &'static str,
    /// When the current regime truly begins; None: never changes.
    change: Option<f64>,
    cuts_days: &'static [f64],
    signal: fn(f64) -> f64,
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "level shift",
        change: Some(T0 + 6.0 * DAY),
        cuts_days: &[7.0, 9.0, 11.0, 13.0],
        signal: |t| if t < T0 + 6.0 * DAY { 40.0 } else { 60.0 },
    },
    Shape {
        name: "trend starts",
        change: Some(T0 + 8.0 * DAY),
        cuts_days: &[9.0, 11.0, 13.0],
        signal: |t| 60.0 + 4.0 * ((t - (T0 + 8.0 * DAY)) / DAY).max(0.0),
    },
    Shape {
        name: "no change",
        change: None,
        cuts_days: &[7.0, 10.0, 13.0],
        signal: |_| 50.0,
    },
];

/// The newest regime start a detector reports in `seen`, if any.
type Find = fn(&[Sample]) -> Option<f64>;

/// runway's own detector, as the forecast uses it (on a series without a
/// cycle): where the current regime starts, or none when it is the whole
/// history.
fn runway_regime(seen: &[Sample]) -> Option<f64> {
    match regime::current_start(seen) {
        0 => None,
        i => seen.get(i).map(|s| s.t),
    }
}

/// Standardized values: the detectors' default priors expect unit scale.
fn standardized(seen: &[Sample]) -> Vec<f64> {
    let n = seen.len() as f64;
    let mean = seen.iter().map(|s| s.v).sum::<f64>() / n;
    let sd = (seen.iter().map(|s| (s.v - mean).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-9);
    seen.iter().map(|s| (s.v - mean) / sd).collect()
}

/// augurs reports the index before each change, 0 always first.
fn newest_change(seen: &[Sample], points: &[usize]) -> Option<f64> {
    points
        .iter()
        .copied()
        .filter(|&i| i > 0)
        .max()
        .and_then(|i| seen.get(i + 1))
        .map(|s| s.t)
}

fn bocpd(seen: &[Sample]) -> Option<f64> {
    let y = standardized(seen);
    let mut d =
        NormalGammaDetector::normal_gamma(250.0, NormalGamma::new_unchecked(0.0, 1.0, 1.0, 1.0));
    newest_change(seen, &d.detect_changepoints(&y))
}

fn main() {
    // Argpcp (the autoregressive Gaussian process detector) is left out of
    // the table: one call on a week of 5-minute samples did not finish in
    // ten minutes, three orders of magnitude beyond a per-series budget.
    let detectors: [(&str, Find); 2] = [
        ("runway regimes", runway_regime),
        ("augurs BOCPD (Normal-Gamma)", bocpd),
    ];
    let full = std::env::args().any(|a| a == "--bench");
    let seeds: Vec<u64> = if full { (1..=8).collect() } else { vec![1] };
    println!(
        "| shape | detector | found within 12h | false changes | median miss (h) | cost per call |"
    );
    println!("|---|---|---|---|---|---|");
    for shape in &SHAPES {
        for (name, find) in detectors {
            let (mut found, mut judged, mut false_changes) = (0, 0, 0);
            let mut misses: Vec<f64> = Vec::new();
            let mut spent = 0.0;
            let mut calls = 0;
            for &seed in &seeds {
                let noise = ar1(seed, 20_000);
                for &cut in shape.cuts_days {
                    let n = (cut * DAY / STEP) as usize;
                    let seen: Vec<Sample> = (0..n)
                        .map(|i| {
                            let t = T0 + STEP * i as f64;
                            Sample::new(t, (shape.signal)(t) + 2.0 * noise[i])
                        })
                        .collect();
                    let started = Instant::now();
                    let got = find(&seen);
                    spent += started.elapsed().as_secs_f64();
                    calls += 1;
                    judged += 1;
                    match (shape.change, got) {
                        (Some(truth), Some(at)) => {
                            let miss = (at - truth).abs();
                            misses.push(miss / 3600.0);
                            if miss <= TOLERANCE {
                                found += 1;
                            }
                        }
                        (Some(_), None) => misses.push(f64::INFINITY),
                        (None, Some(_)) => false_changes += 1,
                        (None, None) => {}
                    }
                }
            }
            misses.sort_by(f64::total_cmp);
            let median = misses.get(misses.len() / 2).map_or("-".to_string(), |m| {
                if m.is_finite() {
                    format!("{m:.1}")
                } else {
                    "none found".to_string()
                }
            });
            let (found, false_changes) = if shape.change.is_some() {
                (format!("{found}/{judged}"), "-".to_string())
            } else {
                ("-".to_string(), format!("{false_changes}/{judged}"))
            };
            println!(
                "| {} | {name} | {found} | {false_changes} | {median} | {:.2} ms |",
                shape.name,
                1000.0 * spent / f64::from(calls)
            );
        }
    }
}
