//! Theil-Sen regression: the slope is the median of the slopes between pairs
//! of samples, the level the median of what is left. Up to about 29% of the
//! points can be spikes, a cleanup or outliers without moving the line much,
//! which is what a least-squares fit cannot promise.
//!
//! The full estimator costs n² pairs. Above [`MAX_POINTS`] samples the slope
//! is taken from a skeleton of block means: the series cut into that many
//! runs of neighbouring samples, each run's mean a point. Every sample
//! counts (a skeleton of single samples left most of them out, and the
//! slope was noisier for it); the median over ~7k pairs of a 120-point
//! skeleton is as robust, a spike or a cleanup moving one block's point,
//! and a fit of a 2,016-point series costs tens of microseconds. (The band
//! counts the skeleton's points, not the samples, as the independent ones;
//! see `band`.)

use super::linear::Line;
use crate::model::{Sample, UnixSeconds};

/// The most points that enter the pairwise slopes: the means of as many
/// blocks of samples (see [`theil_sen_thinned`]).
pub const MAX_POINTS: usize = 120;

/// The median of `v`; `None` when empty.
pub(crate) fn median(v: &[f64]) -> Option<f64> {
    median_of(v.iter().copied())
}

/// The median of the values `values` yields, as [`median`] of them
/// collected: their keys (see `order_key`) are made as they come, with
/// no list of the values themselves.
pub(crate) fn median_of(values: impl ExactSizeIterator<Item = f64>) -> Option<f64> {
    let n = values.len();
    if n <= SMALL {
        // Most medians are of a cycle's phase bin, a score of values or
        // fewer: their keys fit on the stack, and the allocation cost as
        // much as the selection.
        let mut keys = [0i64; SMALL];
        let mut len = 0;
        for (key, x) in keys.iter_mut().zip(values) {
            *key = order_key(x);
            len += 1;
        }
        middle_keys(len, 0, &mut keys[..len])
    } else {
        let mut keys: Vec<i64> = values.map(order_key).collect();
        middle_keys(keys.len(), 0, &mut keys)
    }
}

/// The most values whose median is selected without an allocation.
const SMALL: usize = 32;

/// The median of `count` values, `below` of which are smaller than every
/// one of `within` (the rest of them, in any order, the others larger):
/// the middle value, or the mean of the two middle ones, when they are in
/// `within`; `None` otherwise, or when there are none.
fn middle(count: usize, below: usize, within: &[f64]) -> Option<f64> {
    // Selected by their keys (see `order_key`), in `total_cmp`'s order.
    let mut keys: Vec<i64> = within.iter().map(|&x| order_key(x)).collect();
    middle_keys(count, below, &mut keys)
}

/// [`middle`] of the values whose keys (see `order_key`) are `keys`,
/// which it reorders.
fn middle_keys(count: usize, below: usize, keys: &mut [i64]) -> Option<f64> {
    let mid = count / 2;
    // The rank of the lower middle value (the middle one, for an odd count).
    let first = if count % 2 == 1 {
        mid
    } else {
        mid.checked_sub(1)?
    };
    if below > first || mid >= below + keys.len() {
        return None;
    }
    let (lower, upper, _) = keys.select_nth_unstable(mid - below);
    let upper = from_order_key(*upper);
    if count % 2 == 1 {
        return Some(upper);
    }
    // The value ranked just below the middle is within too (`first` is not
    // below): the largest of those before the middle one.
    let lower = lower
        .iter()
        .map(|&k| from_order_key(k))
        .fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

/// An integer that orders as `x` does under `f64::total_cmp` (which
/// compares these same integers): a selection compares each pair with one
/// instruction, where `total_cmp` derives both keys from the bits at every
/// comparison. A median's selection is most of what it costs.
fn order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    // Negative values' bits count up as they fall: all but the sign
    // flipped, they count down.
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The value whose [`order_key`] is `key` (the map is its own inverse).
fn from_order_key(key: i64) -> f64 {
    f64::from_bits(order_key(f64::from_bits(key as u64)) as u64)
}

/// The median distance of `v` from `centre`; `None` when empty.
pub(crate) fn median_distance(v: &[f64], centre: f64) -> Option<f64> {
    median_of(v.iter().map(|x| (x - centre).abs()))
}

/// The standard deviation `v` would have if normal, from its median
/// distance from its median (1.4826 times it); `None` when empty.
pub(crate) fn mad_sd(v: &[f64]) -> Option<f64> {
    let centre = median(v)?;
    median_distance(v, centre).map(|d| 1.4826 * d)
}

/// The noise of one value, judged from the step between neighbours (their
/// median size, scaled to a standard deviation: a step is the difference
/// of two noises, hence the √2), which a trend or a level shift hardly
/// moves; 0 with fewer than two values.
pub(crate) fn step_noise(values: impl Iterator<Item = f64>) -> f64 {
    let mut previous = None;
    let mut steps: Vec<i64> = values
        .filter_map(|v| previous.replace(v).map(|p: f64| order_key((v - p).abs())))
        .collect();
    1.4826 * middle_keys(steps.len(), 0, &mut steps).unwrap_or(0.0) / 2f64.sqrt()
}

/// Fits a Theil-Sen line anchored at `anchor`. Samples must be finite.
/// Returns `None` with fewer than two samples of distinct times.
pub fn theil_sen(samples: &[Sample], anchor: UnixSeconds) -> Option<Line> {
    theil_sen_thinned(samples, anchor, MAX_POINTS)
}

/// How many samples of `n` each point of a skeleton of at most `points`
/// (at least two) stands for: 1 when the samples are few enough to be
/// the points themselves.
pub(crate) fn block_len(n: usize, points: usize) -> usize {
    n.div_ceil(points.max(2))
}

/// [`theil_sen`] with the slope from at most `points` points (at least
/// two): the means of the samples' blocks of equal length, counted back
/// from the newest (the oldest block may be shorter); with no more samples
/// than that, the samples themselves. The level is the median over every
/// sample.
pub fn theil_sen_thinned(samples: &[Sample], anchor: UnixSeconds, points: usize) -> Option<Line> {
    if samples.len() < 2 {
        return None;
    }
    let stride = block_len(samples.len(), points);
    // Each term divided first, so that values near the largest `f64` do
    // not overflow their sum.
    let picked: Vec<Sample> = samples
        .rchunks(stride)
        .map(|block| {
            let k = block.len() as f64;
            Sample::new(
                block.iter().map(|s| s.t / k).sum(),
                block.iter().map(|s| s.v / k).sum(),
            )
        })
        .collect();

    let slope = median_slope(&picked)?;
    let intercept = median_of(samples.iter().map(|s| s.v - slope * (s.t - anchor)))?;
    Some(Line { slope, intercept })
}

/// Calls `f` with the slopes of the pairs of `points` of distinct times,
/// a row at a time: each point's with every point after it.
fn for_each_row(points: &[Sample], mut f: impl FnMut(&[f64])) {
    let ts: Vec<f64> = points.iter().map(|p| p.t).collect();
    let vs: Vec<f64> = points.iter().map(|p| p.v).collect();
    // Times in order (either way) share none, and each row is one division
    // after another, which the compiler does several at a time.
    let ordered = ts.windows(2).all(|w| w[0] < w[1]) || ts.windows(2).all(|w| w[0] > w[1]);
    let mut row = Vec::with_capacity(points.len());
    for (i, (&ta, &va)) in ts.iter().zip(&vs).enumerate() {
        row.clear();
        let rest = ts[i + 1..].iter().zip(&vs[i + 1..]);
        if ordered {
            row.extend(rest.map(|(t, v)| (va - v) / (ta - t)));
        } else {
            row.extend(
                rest.filter(|(t, _)| ta - *t != 0.0)
                    .map(|(t, v)| (va - v) / (ta - t)),
            );
        }
        f(&row);
    }
}

/// How many evenly spaced points bracket the median of every pairwise slope
/// (see [`median_slope`]) with the slopes of their own pairs: 276 of them.
const BRACKET_POINTS: usize = 24;
/// How far either side of the median of those 276 slopes the bracket
/// reaches, as a share of them: so many slopes place the median of all of
/// them within about 3% of their own (one standard error), and the bracket
/// reaches four times as far. It holds about a quarter of all the slopes,
/// and missed the median in 4% of the fits of the development set's
/// forecasts (series of steps, which a few points misread), which then
/// cost what they did before.
const BRACKET_REACH: f64 = 0.12;

/// The median of the slopes between every pair of `points` of distinct
/// times: exactly what [`median`] returns on all of them, without
/// selecting among them all. The slopes of a few pairs bracket the median; one
/// pass over every pair counts the slopes below the bracket and keeps the
/// ones within it, and the median is selected among those. (Should the
/// bracket miss, every slope is kept.) The forecasts are the same to the
/// bit, and cost about a quarter less.
fn median_slope(points: &[Sample]) -> Option<f64> {
    let n = points.len();
    if let Some((lo, hi)) = bracket(points) {
        let (mut below, mut count, mut kept) = (0usize, 0usize, 0usize);
        // Without a branch on where each slope falls, which no predictor
        // guesses: each is written to the next free place, which moves on
        // only when it is within the bracket. (Slopes of finite samples are
        // never NaN, so comparing them as numbers orders them as
        // `total_cmp` does, but for a zero's sign, which only ever puts a
        // zero on the other side of a bracket's edge at zero: the ranks of
        // the slopes within it, in `total_cmp`'s order, are the same.)
        // Room for a row's slopes past the ones kept so far, made as each
        // row comes: the slopes kept are about a quarter of them, and
        // zeroing room for every one cost more than the few it keeps.
        let mut within = Vec::new();
        for_each_row(points, |row| {
            count += row.len();
            let room = kept + row.len() + 1;
            if within.len() < room {
                within.resize(room, 0.0);
            }
            // Counted in a pass of their own, which the compiler makes
            // two slopes at a time.
            below += row.iter().filter(|&&s| s < lo).count();
            for &s in row {
                within[kept] = s;
                kept += usize::from(s >= lo && s <= hi);
            }
        });
        if let Some(median) = middle(count, below, &within[..kept]) {
            return Some(median);
        }
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for_each_row(points, |row| slopes.extend_from_slice(row));
    median(&slopes)
}

/// The slopes that likely bracket the median of every pairwise slope of
/// `points`: the ranks 0.5 ± [`BRACKET_REACH`] among the slopes of
/// [`BRACKET_POINTS`] of them, evenly spaced. `None` for too few points to
/// be worth it.
fn bracket(points: &[Sample]) -> Option<(f64, f64)> {
    let n = points.len();
    if n <= 2 * BRACKET_POINTS {
        return None;
    }
    let stride = n as f64 / BRACKET_POINTS as f64;
    let few: Vec<Sample> = (0..BRACKET_POINTS)
        .map(|i| points[(i as f64 * stride) as usize])
        .collect();
    let mut sampled = Vec::with_capacity(BRACKET_POINTS * (BRACKET_POINTS - 1) / 2);
    for_each_row(&few, |row| sampled.extend_from_slice(row));
    if sampled.len() < 3 {
        return None;
    }
    let rank = |q: f64| ((sampled.len() - 1) as f64 * q).round() as usize;
    let (low, high) = (rank(0.5 - BRACKET_REACH), rank(0.5 + BRACKET_REACH));
    let (_, lo, above) = sampled.select_nth_unstable_by(low, f64::total_cmp);
    let lo = *lo;
    let hi = match high.checked_sub(low + 1) {
        Some(i) => *above.select_nth_unstable_by(i, f64::total_cmp).1,
        None => lo,
    };
    Some((lo, hi))
}

/// How a trend's slope is estimated from a window of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slope {
    /// Theil-Sen: the median of pairwise slopes. Bursts count as outliers.
    Robust,
    /// The mean rate: the change between the window's two ends (each the
    /// median of a few samples) over the time between them. For a series
    /// that only accumulates and grows in bursts, the bursts are the growth;
    /// in a window that holds only a few of them most pairs of samples fall
    /// between them, and the median pairwise slope misses them.
    MeanRate,
}

impl Slope {
    /// The line through `samples` anchored at `anchor`.
    pub fn fit(self, samples: &[Sample], anchor: UnixSeconds) -> Option<Line> {
        match self {
            Slope::Robust => theil_sen(samples, anchor),
            Slope::MeanRate => mean_rate(samples, anchor),
        }
    }
}

/// The mean rate over `samples`, anchored at `anchor` on the median level
/// of the newest samples.
pub fn mean_rate(samples: &[Sample], anchor: UnixSeconds) -> Option<Line> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let k = (n / 40).max(3).min(n / 2).max(1);
    let end = |part: &[Sample]| {
        let t: Vec<f64> = part.iter().map(|s| s.t).collect();
        let v: Vec<f64> = part.iter().map(|s| s.v).collect();
        Some((median(&t)?, median(&v)?))
    };
    let (t0, v0) = end(&samples[..k])?;
    let (t1, v1) = end(&samples[n - k..])?;
    if t1 <= t0 {
        return None;
    }
    let slope = (v1 - v0) / (t1 - t0);
    Some(Line {
        slope,
        intercept: v1 + slope * (anchor - t1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, slope: f64, level0: f64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample::new(60.0 * i as f64, level0 + slope * 60.0 * i as f64))
            .collect()
    }

    #[test]
    fn recovers_an_exact_line() {
        let s = line(100, 0.5, 10.0);
        let l = theil_sen(&s, 5940.0).unwrap();
        assert!((l.slope - 0.5).abs() < 1e-12);
        assert!((l.intercept - (10.0 + 0.5 * 5940.0)).abs() < 1e-9);
    }

    #[test]
    fn one_spike_and_a_burst_of_outliers_do_not_move_the_slope() {
        let mut s = line(500, 2.0, 1000.0);
        s[250].v += 1e9;
        for x in &mut s[400..430] {
            x.v -= 5e5;
        }
        let robust = theil_sen(&s, s[499].t).unwrap();
        let ols = super::super::linear::regression(&s, s[499].t).unwrap();
        assert!((robust.slope - 2.0).abs() < 0.02, "robust {}", robust.slope);
        assert!(
            (ols.slope - 2.0).abs() > 1.0,
            "OLS is dragged: {}",
            ols.slope
        );
    }

    /// Every slope's median, the plain way.
    fn all_slopes_median(points: &[Sample]) -> Option<f64> {
        let mut slopes = Vec::new();
        for (i, a) in points.iter().enumerate() {
            for b in &points[i + 1..] {
                if a.t != b.t {
                    slopes.push((a.v - b.v) / (a.t - b.t));
                }
            }
        }
        median(&slopes)
    }

    /// Numbers from a fixed xorshift, so that runs agree: each in
    /// `0..10_000`.
    fn draws() -> impl FnMut() -> f64 {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f64
        }
    }

    #[test]
    fn the_bracketed_median_slope_is_the_median_of_every_slope() {
        let mut draw = draws();
        let mut next = move || draw() / 100.0;
        let mut checked = 0;
        for n in [2, 3, 48, 49, 50, 97, 160] {
            // Noise about a trend; whole numbers, so that slopes tie; and a
            // few points sharing a time, whose pair has no slope.
            let noisy: Vec<Sample> = (0..n)
                .map(|i| Sample::new(60.0 * i as f64, 0.3 * i as f64 + next()))
                .collect();
            let whole: Vec<Sample> = (0..n)
                .map(|i| Sample::new(60.0 * i as f64, (next() / 10.0).round()))
                .collect();
            let shared: Vec<Sample> = (0..n)
                .map(|i| Sample::new(60.0 * (i / 3) as f64, next()))
                .collect();
            // The points the bracket is drawn from all lie on one line,
            // the rest do not: the bracket misses, and every slope counts.
            let misleading: Vec<Sample> = (0..n)
                .map(|i| {
                    let on_skeleton = (0..BRACKET_POINTS)
                        .any(|k| (k as f64 * n as f64 / BRACKET_POINTS as f64) as usize == i);
                    let v = if on_skeleton { 5.0 * i as f64 } else { next() };
                    Sample::new(60.0 * i as f64, v)
                })
                .collect();
            for points in [noisy, whole, shared, misleading] {
                let (fast, plain) = (median_slope(&points), all_slopes_median(&points));
                assert_eq!(
                    fast.map(f64::to_bits),
                    plain.map(f64::to_bits),
                    "{n} points"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 28);
    }

    #[test]
    fn thinning_keeps_long_series_accurate() {
        let s: Vec<Sample> = (0..5000)
            .map(|i| {
                let noise = ((i * 7919) % 101) as f64 / 101.0 - 0.5;
                Sample::new(300.0 * i as f64, 3.0 + 1e-3 * 300.0 * i as f64 + noise)
            })
            .collect();
        let l = theil_sen(&s, s[4999].t).unwrap();
        assert!((l.slope - 1e-3).abs() < 2e-5, "{}", l.slope);
    }

    /// The skeleton's points are block means, so every sample counts: on
    /// long noisy lines the slope is far nearer the truth than from a
    /// skeleton of as many single samples, which leaves most of them out.
    #[test]
    fn every_sample_counts_in_the_slope_of_a_long_series() {
        let mut draw = draws();
        let mut uniform = move || draw() / 10_000.0 - 0.5;
        let (mut blocks, mut singles) = (0.0, 0.0);
        for _ in 0..40 {
            let s: Vec<Sample> = (0..2016)
                .map(|i| Sample::new(300.0 * i as f64, 0.3 * i as f64 + 20.0 * uniform()))
                .collect();
            let fitted = theil_sen(&s, s[2015].t).unwrap();
            blocks += (fitted.slope - 1e-3).powi(2);
            let stride = block_len(s.len(), MAX_POINTS);
            let picked: Vec<Sample> = s.iter().rev().step_by(stride).copied().collect();
            singles += (median_slope(&picked).unwrap() - 1e-3).powi(2);
        }
        assert!(blocks < 0.5 * singles, "{blocks} {singles}");
    }

    #[test]
    fn the_mean_rate_counts_the_bursts_and_not_a_spike_at_an_end() {
        // A staircase: +50 every 100 samples, flat between.
        let mut s: Vec<Sample> = (0..1000)
            .map(|i| Sample::new(60.0 * i as f64, 50.0 * (i / 100) as f64))
            .collect();
        let rate = mean_rate(&s, s[999].t).unwrap();
        let truth = 450.0 / (60.0 * 999.0);
        assert!((rate.slope / truth - 1.0).abs() < 0.05, "{}", rate.slope);
        // The line runs through the newest samples: at the anchor it is
        // their level, give or take half their span at its slope.
        assert!((rate.intercept - 450.0).abs() < rate.slope * 60.0 * 13.0);
        // A spike on the newest sample moves neither end's median.
        s[999].v = 1e6;
        let spiked = mean_rate(&s, s[999].t).unwrap();
        assert!((spiked.slope - rate.slope).abs() < 1e-12);

        // A window that holds one large burst among small ones: most pairs
        // of samples fall on one side of it, and the median pairwise slope
        // misses much of the burst (0.46 of the growth over every pair of
        // samples, 0.66 over the skeleton's block means, which average
        // the small bursts within each block). The mean rate counts both.
        let mut level = 0.0;
        let s: Vec<Sample> = (0..1008)
            .map(|i| {
                level += if i == 600 { 60.0 } else { 0.0 };
                level += if i % 40 == 0 { 1.0 } else { 0.0 };
                Sample::new(300.0 * i as f64, level)
            })
            .collect();
        let now = s[1007].t;
        let (rate, median) = (mean_rate(&s, now).unwrap(), theil_sen(&s, now).unwrap());
        let truth = (s[1007].v - s[0].v) / now;
        assert!(
            (rate.slope / truth - 1.0).abs() < 0.1,
            "{} {truth}",
            rate.slope
        );
        assert!(median.slope < 0.75 * truth, "{} {truth}", median.slope);
    }

    #[test]
    fn median_of_even_and_odd_lengths() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
