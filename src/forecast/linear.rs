//! Ordinary least squares exactly as Prometheus computes `deriv` and
//! `predict_linear`: Kahan-Neumaier compensated sums, x measured in seconds
//! from the anchor time (so the intercept is the fitted value *at* the anchor),
//! timestamps taken at millisecond resolution as Prometheus stores them, and a
//! slope of exactly zero for a constant series.
//!
//! Source of the algorithm: `linearRegression` and `kahanSumInc` in
//! Prometheus' `promql/functions.go` (3.x); this is a re-statement in Rust.

use crate::model::{Sample, UnixSeconds};

/// A least-squares line anchored at some time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Change per second.
    pub slope: f64,
    /// The fitted value at the anchor time.
    pub intercept: f64,
}

/// Neumaier's improvement of Kahan summation: add `inc` to `sum`, carrying
/// the lost low-order bits in `c`.
fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Milliseconds since the epoch, as Prometheus stores a timestamp.
fn millis(t: UnixSeconds) -> i64 {
    (t * 1000.0).round() as i64
}

/// Fits a line through `samples`, anchored at `anchor`. Returns `None` for
/// fewer than two samples (Prometheus returns no result then). Any infinite
/// value makes the line NaN, as in Prometheus; callers that want a forecast
/// drop non-finite samples first.
pub fn regression(samples: &[Sample], anchor: UnixSeconds) -> Option<Line> {
    let first = samples.first()?;
    if samples.len() < 2 {
        return None;
    }
    let anchor_ms = millis(anchor);
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let mut const_y = true;
    for s in samples {
        if const_y && s.v != first.v {
            const_y = false;
        }
        n += 1.0;
        let x = millis(s.t).saturating_sub(anchor_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if first.v.is_infinite() {
            return Some(Line {
                slope: f64::NAN,
                intercept: f64::NAN,
            });
        }
        return Some(Line {
            slope: 0.0,
            intercept: first.v,
        });
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    Some(Line { slope, intercept })
}

/// `predict_linear(v[range], horizon)` evaluated at `now`, given the samples
/// the range selector returned.
pub fn predict_linear(samples: &[Sample], now: UnixSeconds, horizon: f64) -> Option<f64> {
    regression(samples, now).map(|l| l.intercept + l.slope * horizon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus' promqltest notation `start+stepxN` at `load 5m`, from `t0`.
    fn load_5m(t0: f64, values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(t0 + 300.0 * i as f64, *v))
            .collect()
    }

    fn counter_reset_middle() -> Vec<Sample> {
        // testcounter_reset_middle_total 0+10x4 0+10x5
        load_5m(0.0, &[0., 10., 20., 30., 40., 0., 10., 20., 30., 40., 50.])
    }

    /// Samples a 3.x range selector `[range]` evaluated at `at` returns: the
    /// left end is excluded.
    fn window(s: &[Sample], at: f64, range: f64) -> Vec<Sample> {
        s.iter()
            .copied()
            .filter(|x| x.t > at - range && x.t <= at)
            .collect()
    }

    // Expected values: Prometheus' promql/promqltest/testdata/functions.test,
    // as listed in shared/notes/real-prometheus-in-tests.md.
    #[test]
    fn reproduces_prometheus_deriv_and_predict_linear() {
        let http = load_5m(0.0, &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>());
        let line = regression(&window(&http, 3000.0, 3000.0), 3000.0).unwrap();
        assert_eq!(line.slope, 0.26666666666666666);

        let c = counter_reset_middle();
        let line = regression(&window(&c, 3000.0, 6000.0), 3000.0).unwrap();
        assert_eq!(line.slope, 0.010606060606060607);

        assert_eq!(
            predict_linear(&window(&c, 3000.0, 3000.0), 3000.0, 3600.0),
            Some(70.0)
        );
        // `[55m] @ 3000` selects the same samples whatever the evaluation
        // time; the line is anchored at the evaluation time.
        let at3000 = window(&c, 3000.0, 3300.0);
        for (eval, want) in [
            (3000.0, 76.81818181818181),
            (600.0, 51.36363636363637),
            (4200.0, 89.54545454545455),
        ] {
            assert_eq!(
                predict_linear(&at3000, eval, 3600.0),
                Some(want),
                "at {eval}"
            );
        }
    }

    #[test]
    fn constant_series_has_exactly_zero_slope_even_with_jittered_timestamps() {
        let s: Vec<Sample> = (0..50)
            .map(|i| Sample::new(1000.0 + 15.0 * i as f64 + (i % 3) as f64 * 0.137, 42.5))
            .collect();
        assert_eq!(
            regression(&s, 1800.0),
            Some(Line {
                slope: 0.0,
                intercept: 42.5
            })
        );
    }

    #[test]
    fn infinities_give_nan_and_fewer_than_two_samples_give_nothing() {
        let mut s = load_5m(0.0, &(0..=10).map(|i| 80.0 * i as f64).collect::<Vec<_>>());
        s.insert(0, Sample::new(-300.0, f64::NEG_INFINITY));
        s.push(Sample::new(3300.0, f64::INFINITY));
        let line = regression(&s, 3300.0).unwrap();
        assert!(line.slope.is_nan() && line.intercept.is_nan());
        assert_eq!(regression(&[Sample::new(1.0, 2.0)], 1.0), None);
        assert_eq!(regression(&[], 1.0), None);
    }
}
