//! Seasonality: a daily, weekly or yearly cycle, found automatically or set
//! per limit. The wall is first hit at the busiest hour, not by the trend
//! line, so a forecast with a cycle reports when the *peak* of the cycle
//! reaches the wall.
//!
//! Method: classical decomposition. A moving average over one period removes
//! the cycle and leaves the trend (at the edges, the nearest full period is
//! used); the profile of the cycle is the median of what is left in each
//! phase bin. A cycle counts only when it explains a good part of the
//! detrended variance, and only over at least two periods of history, with
//! enough samples per period to see its shape.

use crate::model::Sample;

pub const DAY: f64 = 86_400.0;
pub const WEEK: f64 = 7.0 * DAY;
pub const YEAR: f64 = 365.25 * DAY;
/// The cycles looked for when none is configured.
pub const CANDIDATES: [f64; 3] = [DAY, WEEK, YEAR];
/// Share of the detrended variance the cycle must explain.
pub const MIN_STRENGTH: f64 = 0.3;
/// Periods of history needed before a cycle is believed.
pub const MIN_PERIODS: f64 = 2.0;
/// The fewest samples a period needs for its shape to be seen: a peak, a
/// trough and the slopes between them (a year of quarterly samples; a week
/// of daily ones, a nightly job's durations, has seven).
const MIN_SAMPLES_PER_PERIOD: f64 = 4.0;
/// The fewest samples in all a cycle is looked for in.
pub const MIN_SAMPLES: usize = 16;
/// Below this many samples a period a cycle is coarse: it must also pass
/// the F-test (see [`MAX_CHANCE`]), and it is found only when no cycle of
/// finer bins is. (A year of history at the default step, 261 minutes, has
/// five and a half samples a day: a six-bin daily cycle then replaced the
/// 39-bin weekly one that held the same days' shape, and its peaks came
/// out low: pages three to eleven times late.)
const FINE_SAMPLES_PER_PERIOD: f64 = 8.0;
/// The chance at most that a coarse cycle's bins would explain as much of
/// pure noise: 0.1%, the level of X-11's F-test for stable seasonality
/// (Lothian and Morry, 1978). Few bins over few periods explain much by
/// chance alone: seven bins of daily noise over two to four weeks passed
/// the strength and agreement tests one time in six to ten. (Applied to
/// every cycle it refused real ones seen over two or three periods: twelve
/// monthly bins over two years need a strength of 0.89.)
const MAX_CHANCE: f64 = 0.001;
/// How well the even and the odd periods' profiles must correlate.
const MIN_AGREEMENT: f64 = 0.5;
const MAX_BINS: usize = 96;
/// The highest floor under a multiplicative swing looked for, as a share
/// of the lowest value (see [`floor_under`]): what is above it is then at
/// least a sixteenth of every value.
const MAX_FLOOR: f64 = 0.9375;
/// Up to this share of the lowest value a floor is trusted on the whole
/// history's word: what is above it is at least a quarter of every value,
/// and its logarithm no more than four times as sensitive to noise as the
/// value's own. A higher floor must also be one the history's two halves
/// share: a floor of each half's own must explain no more than chance
/// would (see [`floor_under`]).
const TRUSTED_FLOOR: f64 = 0.75;
/// Floors are looked for in steps of the lowest value over this.
const FLOOR_STEPS: usize = 32;

/// How a cycle combines with the trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// The cycle adds the same swing at any level: trend + offset.
    Add,
    /// The cycle's swing is a share of the level, and grows with it (an
    /// airline's summer peak, a shop's weekend): trend × e^offset, the
    /// offsets measured on the logarithm of the values.
    Multiply,
}

/// A cycle: its period and its shape, in the series' unit (in log units
/// for a multiplicative one, or for any cycle fitted on log values).
#[derive(Debug, Clone, PartialEq)]
pub struct Season {
    pub period: f64,
    /// A time at which the first phase bin begins: the earliest phase of
    /// samples that share one, or 0 (see `grid_origin`).
    pub origin: f64,
    /// Offset of each phase bin from the trend; mean zero.
    pub profile: Vec<f64>,
    /// Share of the detrended variance the cycle explains.
    pub strength: f64,
    pub combine: Combine,
    /// For a multiplicative cycle, the part of the level that does not
    /// swing (a pool's idle connections under a swing in its requests):
    /// the swing is a share of the level above it. 0 when all of it
    /// swings, and for an additive cycle.
    pub shift: f64,
}

impl Season {
    fn bin(&self, t: f64) -> usize {
        bin_of(t - self.origin, self.period, self.profile.len())
    }

    /// The cycle's offset at time `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.profile[self.bin(t)]
    }

    /// The phase bins from `h` seconds after `now` on, one after another
    /// for `count` bins: where each begins (`h` itself for the first) and
    /// ends, in seconds from `now`, and its offset. The edges are where
    /// [`Season::at`] moves from one bin to the next (within rounding),
    /// counted on from the bin `h` falls in, so that each bin comes once in
    /// turn whatever rounding does at an edge.
    pub fn bins_from(
        &self,
        now: f64,
        h: f64,
        count: usize,
    ) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        let bins = self.profile.len();
        let (periods, first) = place(now + h - self.origin, self.period, bins);
        // Where bin `k` (counted on from bin 0 of that period) ends: the
        // phase at which `bin_of` moves on, `BIN_EDGE` before the edge.
        let end = move |k: usize| {
            self.origin + self.period * (periods + (k as f64 + 1.0 - BIN_EDGE) / bins as f64) - now
        };
        (0..count).map(move |i| {
            let k = first + i;
            let start = if i == 0 { h } else { end(k - 1) };
            (start, end(k).max(start), self.profile[k % bins])
        })
    }

    /// The highest offset: the peaks a rising series reaches above its trend.
    pub fn max(&self) -> f64 {
        self.profile
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// The lowest offset: the troughs a falling series reaches below it.
    pub fn min(&self) -> f64 {
        self.profile.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// `v` with the cycle at `t` taken out: the trend's share of it.
    pub fn remove(&self, t: f64, v: f64) -> f64 {
        self.with(v, -self.at(t))
    }

    /// The series' value where its trend is `trend` and the cycle's offset
    /// is `offset`.
    pub fn with(&self, trend: f64, offset: f64) -> f64 {
        match self.combine {
            Combine::Add => trend + offset,
            Combine::Multiply => self.shift + (trend - self.shift) * offset.exp(),
        }
    }

    /// Where the trend must be for the series to stand at `value` at a
    /// point of the cycle `offset` from it: the inverse of [`Season::with`].
    pub fn trend_for(&self, value: f64, offset: f64) -> f64 {
        self.with(value, -offset)
    }
}

fn median_dt(samples: &[Sample]) -> f64 {
    let d: Vec<f64> = samples.windows(2).map(|w| w[1].t - w[0].t).collect();
    super::robust::median(&d).unwrap_or(0.0)
}

/// The samples `[lo, hi)` of each sample's moving average over one
/// period: the period around it, or near the edges the first or last full
/// period.
fn average_windows(samples: &[Sample], period: f64) -> Vec<(usize, usize)> {
    let n = samples.len();
    let (first, last) = (samples[0].t, samples[n - 1].t);
    let (mut lo, mut hi) = (0, 0);
    samples
        .iter()
        .map(|s| {
            let a = (s.t - period / 2.0).clamp(first, last - period);
            let b = a + period;
            while lo < n && samples[lo].t < a {
                lo += 1;
            }
            while hi < n && samples[hi].t < b {
                hi += 1;
            }
            // Windows only move right as t grows, except where the clamp
            // holds them still; `lo` and `hi` never need to go back.
            (lo, hi)
        })
        .collect()
}

/// The trend by a moving average over each of `windows` (see
/// [`average_windows`]), computed with running sums in O(n).
fn moving_average(samples: &[Sample], windows: &[(usize, usize)]) -> Vec<f64> {
    let mut prefix = Vec::with_capacity(samples.len() + 1);
    let mut acc = 0.0;
    prefix.push(0.0);
    for s in samples {
        acc += s.v;
        prefix.push(acc);
    }
    windows
        .iter()
        .map(|&(lo, hi)| {
            let count = (hi - lo).max(1) as f64;
            (prefix[hi] - prefix[lo]) / count
        })
        .collect()
}

/// The phase bin of time `t` in a cycle of `period` cut into `bins`.
fn bin_of(t: f64, period: f64, bins: usize) -> usize {
    place(t, period, bins).1
}

/// [`bin_of`], and the period (counted from 0) whose bin that is: the next
/// one when a phase just under a whole period counts in its first bin.
/// (`x - floor(x)` is the phase `rem_euclid(1.0)` gives, without the cost
/// of a floating-point remainder.)
fn place(t: f64, period: f64, bins: usize) -> (f64, usize) {
    let x = t / period;
    let periods = floor(x);
    let phase = x - periods;
    // A sample on a bin's edge (15 s steps in a 6-minute cycle of 24 bins)
    // belongs to that bin: the rounding of `t / period` at 1.8e9 put it in
    // the one before, at every period, which left a bin empty and the whole
    // cycle unseen.
    let bin = (phase * bins as f64 + BIN_EDGE) as usize;
    // `bin % bins`, without an integer division a sample: the phase is
    // under 1 (or 1 itself, rounded from just under), so only `bins`
    // itself wraps.
    if bin < bins {
        (periods, bin)
    } else {
        (periods + 1.0, bin - bins)
    }
}

/// `x.floor()`, to the bit, inline: on the baseline x86-64 target (no
/// SSE4.1) `f64::floor` is a call into the C library, and a cycle's
/// estimate takes two a sample for each period it tries. Every `f64` of
/// magnitude 2^52 or more is a whole number already.
fn floor(x: f64) -> f64 {
    const WHOLE: f64 = 4_503_599_627_370_496.0;
    if x.abs() >= WHOLE || x.is_nan() {
        return x.floor();
    }
    let truncated = x as i64 as f64;
    if truncated > x {
        truncated - 1.0
    } else {
        // `x.floor()` of -0.0 is -0.0; the truncation gives 0.0.
        truncated.copysign(x)
    }
}

/// How far below a bin's edge, in bins, a phase still counts as on it: far
/// above the rounding of a phase (about 1e-8 of a bin at 1.8e9 seconds),
/// far below any real offset of a sample.
const BIN_EDGE: f64 = 1e-6;

/// How closely the samples must share one phase within a bin's width (the
/// length of the mean of their phases as unit vectors: 1 when all share
/// it, near 0 when they spread evenly) for the bins to be set by them.
const ONE_PHASE: f64 = 0.9;

/// Where the phase bins of width `width` begin: at the earliest phase of
/// the samples, when they share one within a bin's width, so that every
/// sample falls at the start of its bin, as on a grid aligned to the
/// epoch (samples on the hour, daily ones at midnight, which keep their
/// bins); 0 (bins aligned to the epoch) when they share none.
///
/// Samples a calendar month or quarter apart are not evenly spaced in
/// seconds: quarters are 90 to 92 days and the first of January falls
/// 0.3 days either side of a multiple of 365.25 days. With bins aligned to
/// the epoch every quarter began within a day of a bin's edge, on one side
/// or the other from year to year: two quarters shared a bin, another bin
/// was left empty, and a yearly cycle in quarterly samples (a gas bill's
/// winters) was seen at one cut and not at the next. Samples that spread
/// over a bin's width keep the epoch's bins; a grid whose samples share
/// one phase keeps it as the window slides, so the bins move at most by
/// the samples' spread from one evaluation to the next, and every sample
/// stays in its own.
fn grid_origin(samples: &[Sample], width: f64) -> f64 {
    if samples.is_empty() || width <= 0.0 {
        return 0.0;
    }
    let phase = |t: f64| std::f64::consts::TAU * t.rem_euclid(width) / width;
    let (sin, cos) = samples.iter().fold((0.0, 0.0), |(s, c), x| {
        let (sin, cos) = phase(x.t).sin_cos();
        (s + sin, c + cos)
    });
    let n = samples.len() as f64;
    if (sin / n).hypot(cos / n) < ONE_PHASE {
        return 0.0;
    }
    let shared = sin.atan2(cos);
    // The earliest phase, as an angle from the shared one in [-π, π).
    let earliest = samples
        .iter()
        .map(|x| {
            let d = phase(x.t) - shared;
            d - std::f64::consts::TAU * ((d + std::f64::consts::PI) / std::f64::consts::TAU).floor()
        })
        .fold(f64::INFINITY, f64::min);
    (shared + earliest) / std::f64::consts::TAU * width
}

/// Where a history's samples fall in a cycle of one period: what a
/// cycle's estimate needs of the sample times alone, which the values and
/// their logarithm share (see [`Phases`]).
struct Layout {
    bins: usize,
    /// Where the first phase bin begins (see [`grid_origin`]).
    origin: f64,
    /// Sample `i`'s bin twice, plus 1 in an odd period (counted from the
    /// first sample's).
    key: Vec<usize>,
    /// Where sample `i` goes among the points sorted by `key` (see
    /// [`Bins`]).
    slot: Vec<usize>,
    /// Where the points of each `key` begin among them, and end where the
    /// next begin.
    start: Vec<usize>,
    /// Each sample's moving-average window (see [`average_windows`]).
    windows: Vec<(usize, usize)>,
}

impl Layout {
    /// The layout of `samples` in a cycle of `period`; `None` when the
    /// cycle cannot be seen in them (see [`observable`]).
    fn new(samples: &[Sample], period: f64, dt: f64) -> Option<Self> {
        if !observable(samples, period, dt) {
            return None;
        }
        let bins = ((period / dt).round() as usize).clamp(4, MAX_BINS);
        // With more samples a period than bins, each bin spans several
        // samples and its edges fall between them wherever it begins.
        let origin = if period / dt < MAX_BINS as f64 + 0.5 {
            grid_origin(samples, period / bins as f64)
        } else {
            0.0
        };
        let key: Vec<usize> = samples
            .iter()
            .map(|s| {
                let odd = floor((s.t - samples[0].t) / period) as i64 % 2 == 1;
                2 * bin_of(s.t - origin, period, bins) + usize::from(odd)
            })
            .collect();
        let mut start = vec![0usize; 2 * bins + 1];
        for &k in &key {
            start[k + 1] += 1;
        }
        for k in 0..2 * bins {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let slot = key
            .iter()
            .map(|&k| {
                fill[k] += 1;
                fill[k] - 1
            })
            .collect();
        Some(Self {
            bins,
            origin,
            key,
            slot,
            start,
            windows: average_windows(samples, period),
        })
    }
}

/// The layouts of one history's sample times in the cycles tried, each
/// found once: the first time a cycle of its period is estimated, on either
/// scale. Only for histories with these very times.
pub struct Phases {
    /// The samples' median interval, once asked for.
    dt: Option<f64>,
    layouts: Vec<(f64, Option<Layout>)>,
}

impl Phases {
    pub fn new() -> Self {
        Self {
            dt: None,
            layouts: Vec::new(),
        }
    }

    fn dt(&mut self, samples: &[Sample]) -> f64 {
        *self.dt.get_or_insert_with(|| median_dt(samples))
    }

    /// The layout of `samples` in a cycle of `period`; `None` when the
    /// cycle cannot be seen in them.
    fn layout(&mut self, samples: &[Sample], period: f64) -> Option<&Layout> {
        let dt = self.dt(samples);
        let i = match self.layouts.iter().position(|(p, _)| *p == period) {
            Some(i) => i,
            None => {
                self.layouts
                    .push((period, Layout::new(samples, period, dt)));
                self.layouts.len() - 1
            }
        };
        let layout = self.layouts[i].1.as_ref();
        debug_assert!(layout.is_none_or(|l| l.key.len() == samples.len()));
        layout
    }
}

impl Default for Phases {
    fn default() -> Self {
        Self::new()
    }
}

/// The points of each phase bin, in the even periods and in the odd ones
/// (counted from the first sample's), sorted into one buffer in one pass:
/// bin `b`'s even periods' points, then its odd ones', so that its points
/// over all periods are the two together. (Three passes, one a profile,
/// each counted, placed and allocated the same points again.)
struct Bins<'a> {
    /// The offsets, bin by bin, the even periods' before the odd ones'.
    sorted: Vec<f64>,
    /// Where the points of bin `b` in periods of parity `p` begin in
    /// `sorted`: at `2b + p`, and end where the next begin.
    start: &'a [usize],
}

impl<'a> Bins<'a> {
    /// `offset[i]`: point `i`'s offset, sorted as `layout` places it.
    fn new(layout: &'a Layout, offset: &[f64]) -> Self {
        let mut sorted = vec![0.0; offset.len()];
        for (&i, &d) in layout.slot.iter().zip(offset) {
            sorted[i] = d;
        }
        Self {
            sorted,
            start: &layout.start,
        }
    }

    /// The median offset of each bin over the points from `[2b + from,
    /// 2b + to)` (0..1 the even periods, 1..2 the odd, 0..2 all); `None`
    /// for a bin with none.
    fn profile(&self, from: usize, to: usize) -> Vec<Option<f64>> {
        let bins = (self.start.len() - 1) / 2;
        (0..bins)
            .map(|b| {
                let (lo, hi) = (self.start[2 * b + from], self.start[2 * b + to]);
                super::robust::median(&self.sorted[lo..hi])
            })
            .collect()
    }
}

/// Pearson correlation of two profiles over the bins both have.
fn agreement(a: &[Option<f64>], b: &[Option<f64>]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .collect();
    let n = pairs.len() as f64;
    if n < 4.0 {
        return 0.0;
    }
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let vy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
    if vx <= 0.0 || vy <= 0.0 {
        return 0.0;
    }
    cov / (vx * vy).sqrt()
}

/// The cycle of `period` in `samples`, if it is strong enough to count.
///
/// A straight trend is taken out first (Theil-Sen), so that the moving
/// average, which is biased at the edges of the history, only has to follow
/// what bends. A cycle must also repeat: the profiles of the even and the odd
/// periods must agree, so that a one-off bump in two days of history is not
/// taken for a daily cycle.
pub fn estimate(samples: &[Sample], period: f64) -> Option<Season> {
    estimate_in(samples, period, &mut Phases::new(), &mut None)
}

/// Whether a cycle of `period` seen every `dt` seconds has few samples a
/// period (see [`FINE_SAMPLES_PER_PERIOD`]).
fn coarse(period: f64, dt: f64) -> bool {
    period / dt < FINE_SAMPLES_PER_PERIOD
}

/// Why a cycle of `period` set by configuration cannot be seen in
/// `samples`, if it cannot (two periods of history, enough samples a
/// period): said in the forecast's reason, as the forecast goes on
/// without it.
pub fn unobservable(samples: &[Sample], period: f64) -> Option<String> {
    if observable(samples, period, median_dt(samples)) {
        return None;
    }
    Some(format!(
        "it needs {MIN_PERIODS} periods of history, {MIN_SAMPLES_PER_PERIOD} samples a period and {MIN_SAMPLES} in all"
    ))
}

/// Whether `period` can be seen in `samples` at all: two periods of history,
/// enough samples per period.
fn observable(samples: &[Sample], period: f64, dt: f64) -> bool {
    let n = samples.len();
    n >= MIN_SAMPLES
        && period > 0.0
        && dt > 0.0
        && samples[n - 1].t - samples[0].t >= MIN_PERIODS * period
        && (period / dt).round() >= MIN_SAMPLES_PER_PERIOD
}

/// `estimate`, sharing the layouts of the sample times (`phases`, see
/// [`Phases`]) and the straight-trend removal between periods.
pub fn estimate_in(
    samples: &[Sample],
    period: f64,
    phases: &mut Phases,
    straight: &mut Option<Vec<Sample>>,
) -> Option<Season> {
    let n = samples.len();
    let dt = phases.dt(samples);
    let layout = phases.layout(samples, period)?;
    let bins = layout.bins;
    if straight.is_none() {
        let anchor = samples[n - 1].t;
        let line = super::robust::theil_sen(samples, anchor)?;
        *straight = Some(
            samples
                .iter()
                .map(|s| Sample::new(s.t, s.v - (line.intercept + line.slope * (s.t - anchor))))
                .collect(),
        );
    }
    let straight = straight.as_deref()?;
    let trend = moving_average(straight, &layout.windows);
    let detrended: Vec<f64> = straight.iter().zip(&trend).map(|(s, m)| s.v - m).collect();
    let (origin, key) = (layout.origin, &layout.key);
    let by_bin = Bins::new(layout, &detrended);
    let even_periods = by_bin.profile(0, 1);
    let odd_periods = by_bin.profile(1, 2);
    if agreement(&even_periods, &odd_periods) < MIN_AGREEMENT {
        return None;
    }
    let all = by_bin.profile(0, 2);
    if all.iter().any(Option::is_none) {
        return None;
    }
    let mut profile: Vec<f64> = all.into_iter().map(|p| p.unwrap_or(0.0)).collect();
    let mean = profile.iter().sum::<f64>() / bins as f64;
    profile.iter_mut().for_each(|p| *p -= mean);
    let season = Season {
        period,
        origin,
        profile,
        strength: 0.0,
        combine: Combine::Add,
        shift: 0.0,
    };
    let d_mean = detrended.iter().sum::<f64>() / n as f64;
    let total: f64 = detrended.iter().map(|d| (d - d_mean).powi(2)).sum();
    let left: f64 = key
        .iter()
        .zip(&detrended)
        .map(|(&k, d)| (d - season.profile[k / 2]).powi(2))
        .sum();
    if total <= 0.0 {
        return None;
    }
    let strength = 1.0 - left / total;
    (strength >= MIN_STRENGTH && (!coarse(period, dt) || beyond_chance(strength, bins, n)))
        .then_some(Season { strength, ..season })
}

/// Whether `bins` bin means that explain a share `strength` of the
/// variance of `n` samples explain more than noise would, at [`MAX_CHANCE`]:
/// the one-way analysis of variance's F-test, its F distribution's tail by
/// Paulson's normal approximation (Abramowitz and Stegun 26.6.15).
fn beyond_chance(strength: f64, bins: usize, n: usize) -> bool {
    if n <= bins + 1 {
        return false;
    }
    let (d1, d2) = ((bins - 1) as f64, (n - bins) as f64);
    if strength >= 1.0 {
        return true;
    }
    f_beyond_chance((strength / d1) / ((1.0 - strength) / d2), d1, d2)
}

/// Whether an F statistic `f` on `d1` and `d2` degrees of freedom is
/// beyond what chance gives at [`MAX_CHANCE`], by Paulson's normal
/// approximation of the F distribution's tail (Abramowitz and Stegun
/// 26.6.15).
fn f_beyond_chance(f: f64, d1: f64, d2: f64) -> bool {
    let (a, b) = (2.0 / (9.0 * d1), 2.0 / (9.0 * d2));
    let cube = f.cbrt();
    let z = ((1.0 - b) * cube - (1.0 - a)) / (a + b * cube * cube).sqrt();
    z >= super::band::normal_quantile(1.0 - MAX_CHANCE)
}

/// The strongest of the candidate cycles, if any counts.
///
/// A rhythm of every other period (a job that runs every second day) also
/// leaves a pattern within each period, since the moving average smears
/// each burst across the boundary between two periods, so the even and the
/// odd periods can agree on it. Such a cycle is not counted: when the cycle
/// of twice the period explains more than half of what the period's own
/// cycle leaves unexplained, the rhythm is the longer one. A coarse cycle
/// (fewer than eight samples a period) counts only when no finer one does.
pub fn detect(samples: &[Sample], candidates: &[f64]) -> Option<Season> {
    detect_in(samples, candidates, &mut Phases::new())
}

/// [`detect`], with the layouts of the sample times in `phases` (see
/// [`Phases`]).
pub fn detect_in(samples: &[Sample], candidates: &[f64], phases: &mut Phases) -> Option<Season> {
    let mut straight = None;
    let dt = phases.dt(samples);
    let found: Vec<Season> = candidates
        .iter()
        .filter_map(|&p| {
            let found = estimate_in(samples, p, phases, &mut straight)?;
            // Strictly more: a cycle that leaves nothing unexplained leaves
            // nothing for a longer one to explain.
            let every_other = estimate_in(samples, 2.0 * p, phases, &mut straight)
                .is_some_and(|twice| 1.0 - twice.strength < (1.0 - found.strength) / 2.0);
            (!every_other).then_some(found)
        })
        .collect();
    let any_fine = found.iter().any(|c| !coarse(c.period, dt));
    found
        .into_iter()
        .filter(|c| !any_fine || !coarse(c.period, dt))
        .max_by(|a, b| a.strength.total_cmp(&b.strength))
}

/// `found`, a cycle of positive `samples`, as the multiplicative cycle of
/// the same period when that explains more of the series: when the swing
/// is a steadier share of the level than an amount, it grows with the
/// level, and a forecast at a higher level must swing as much more.
/// Judged on the cycle's strength on the logarithm of the values against
/// its strength on the values themselves. Where the swing is a share of
/// what is above a floor rather than of the whole level (see
/// `floor_under`), the logarithm is of what is above it, and the cycle's
/// `shift` is the floor; it is taken, too, when the floor's lines explain
/// more of the values' distances from their moving average than a fixed
/// amount a phase does (see `Floor::beats_amount`). `on_logs`: a cycle already found
/// on the logarithm of `samples`, used when it has the same period rather
/// than estimated again; `phases`: the layouts of their times.
pub fn multiplicative(
    samples: &[Sample],
    found: Season,
    on_logs: Option<&Season>,
    phases: &mut Phases,
) -> Season {
    if samples.iter().any(|s| s.v <= 0.0 || !s.v.is_finite()) {
        return found;
    }
    // Above a floor, when one is found and its cycle is: that cycle in
    // the whole level's place (which is then not estimated), and taken
    // outright when the floor's lines beat a fixed amount on the values.
    let above = floor_under(samples, found.period, phases).and_then(|floor| {
        above_floor(samples, found.period, floor.level, phases).map(|c| (c, floor.beats_amount))
    });
    let (ratio, settled) = match above {
        Some((c, beats_amount)) => (Some(c), beats_amount),
        None => match on_logs.filter(|c| c.period == found.period) {
            Some(c) => (Some(c.clone()), false),
            None => {
                let logs: Vec<Sample> =
                    samples.iter().map(|s| Sample::new(s.t, s.v.ln())).collect();
                (estimate_in(&logs, found.period, phases, &mut None), false)
            }
        },
    };
    match ratio {
        Some(ratio) if settled || ratio.strength > found.strength => Season {
            combine: Combine::Multiply,
            ..ratio
        },
        _ => found,
    }
}

/// The floor under a swing that the values point to, when there is one:
/// `None` when the swing is a share of the whole level, or the history
/// cannot tell.
///
/// A pool's connections are its idle ones plus a share of its requests,
/// which swing by a share of themselves: the values swing by a share of
/// what is above the idle ones. Taken out as a share of the whole level,
/// that share grows with the level, and the fixed profile's misfit at the
/// newest samples outweighs a day's trend in every short window.
///
/// Where the swing is a share `g` of the level above a floor `c`, each
/// sample's distance `d` from its period's moving average `m` is `g (m -
/// c)`, `g` set by its phase. So the floor is the `c` that best fits, by
/// least squares, a line through `(c, 0)` to each phase bin's points `(m,
/// d)`: as the level rises the points of a busy hour climb away from it,
/// and they point back to where the swing would vanish. One pass over the
/// samples gathers each bin's sums, and each floor tried (up to
/// [`MAX_FLOOR`] of the lowest value, in [`FLOOR_STEPS`]) is a sum over the
/// bins. Only samples whose moving average is centred on them count. A
/// floor at the edge of those tried is none (the best lies beyond them),
/// and one past [`TRUSTED_FLOOR`] must be one both halves of the history
/// share: a floor of each half's own, one parameter more, must not
/// explain more than chance would (the same test, each half with its own
/// lines).
///
/// The floor is one more thing fitted, so it is kept only when it explains
/// more of the distances than chance would (an F-test for one parameter at
/// [`MAX_CHANCE`]), on the samples' independent count: `n (1 - ρ) / (1 +
/// ρ)`, ρ the lag-one autocorrelation of what the lines leave. A swing
/// that is a share of the whole level (an airline's passengers) or a fixed
/// amount (the CO2 at Mauna Loa) must not get a floor that fits its noise.
/// (Judged on the logarithms instead, by the cycle's strength above the
/// floor against its strength on the whole level, the two differed in the
/// fourth digit either way: a pool's floor, found within a tenth, lost.)
fn floor_under(samples: &[Sample], period: f64, phases: &mut Phases) -> Option<Floor> {
    let layout = phases.layout(samples, period)?;
    let n = samples.len();
    let (first, last) = (samples[0].t, samples[n - 1].t);
    let level = moving_average(samples, &layout.windows);
    let lowest = samples.iter().map(|s| s.v).fold(f64::INFINITY, f64::min);
    let centred = |s: &Sample| s.t - period / 2.0 >= first && s.t + period / 2.0 <= last;
    // Levels from their mean, so that the sums keep their precision
    // whatever the values' size.
    let centre = level.iter().sum::<f64>() / n as f64;
    // Each bin's count and its sums of u, d, u², u·d and d² (u the level
    // from the centre, d the distance from it).
    // The sums of the history's first half and of its second, apart:
    // the whole history's are the two together.
    let mid = (first + last) / 2.0;
    let mut halves = [
        vec![[0.0f64; 6]; layout.bins],
        vec![[0.0f64; 6]; layout.bins],
    ];
    for ((s, &m), &k) in samples.iter().zip(&level).zip(&layout.key) {
        if !centred(s) {
            continue;
        }
        let (u, d) = (m - centre, s.v - m);
        let b = &mut halves[usize::from(s.t >= mid)][k / 2];
        b[0] += 1.0;
        b[1] += u;
        b[2] += d;
        b[3] += u * u;
        b[4] += u * d;
        b[5] += d * d;
    }
    let sums: Vec<[f64; 6]> = halves[0]
        .iter()
        .zip(&halves[1])
        .map(|(a, b)| std::array::from_fn(|i| a[i] + b[i]))
        .collect();
    // Each bin's line through (c, 0): with x = u - (c - centre), its slope
    // Σ x d / Σ x², and what it explains, (Σ x d)² / Σ x².
    let line = |b: &[f64; 6], c: f64| {
        let [count, u, d, uu, ud, _] = *b;
        let x0 = c - centre;
        let xx = uu - 2.0 * x0 * u + x0 * x0 * count;
        let xd = ud - x0 * d;
        if xx > 0.0 {
            (xd / xx, xd * xd / xx)
        } else {
            (0.0, 0.0)
        }
    };
    let explained_in = |sums: &[[f64; 6]], c: f64| sums.iter().map(|b| line(b, c).1).sum::<f64>();
    let explained = |c: f64| explained_in(&sums, c);
    let step = lowest / FLOOR_STEPS as f64;
    let top = (MAX_FLOOR * FLOOR_STEPS as f64) as usize;
    // The floor tried (from `from` to `top` steps) that explains the most
    // by `explained`, and how much.
    let best_over = |from: usize, explained: &dyn Fn(f64) -> f64| {
        (from..=top)
            .map(|j| (j, explained(j as f64 * step)))
            .filter(|(_, e)| e.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    let (j, most) = best_over(1, &explained)?;
    // At the edge of the floors tried, the best floor lies beyond them,
    // where what is above it is too thin a sliver of the values to trust.
    if j == top {
        return None;
    }
    let best = j as f64 * step;
    let total: f64 = sums.iter().map(|b| b[5]).sum();
    let (shared, floored) = (total - explained(0.0), total - most);
    if !(floored > 0.0 && floored < shared) {
        return None;
    }
    // What the floor's lines leave, sample by sample, for its persistence.
    let slopes: Vec<f64> = sums.iter().map(|b| line(b, best).0).collect();
    let (mut lagged, mut before) = (0.0, None);
    for ((s, &m), &k) in samples.iter().zip(&level).zip(&layout.key) {
        if !centred(s) {
            continue;
        }
        let r = (s.v - m) - slopes[k / 2] * (m - best);
        if let Some(b) = before {
            lagged += r * b;
        }
        before = Some(r);
    }
    let rho = (lagged / floored).clamp(0.0, 0.99);
    let count: f64 = sums.iter().map(|b| b[0]).sum();
    let independent = count * (1.0 - rho) / (1.0 + rho);
    let d2 = independent - layout.bins as f64 - 1.0;
    if !(d2 >= 1.0 && f_beyond_chance((shared - floored) / (floored / d2), 1.0, d2)) {
        return None;
    }
    // A floor is the system's (the idle connections): past the trusted
    // ones, both halves of the history must share it. Each half with its
    // own lines, a floor of each half's own is one parameter more than one
    // floor for both; where the swing grows with the level for a reason
    // of its own (a day's warming with the spring's sun), the halves part
    // beyond chance. (Asked to lie within three steps of the whole's, the
    // halves' noisy estimates refused a constant floor of 40 at some hours
    // of the day and not at others: 22 and 26 steps against the whole's
    // 26, truly 24.3.)
    if j as f64 > TRUSTED_FLOOR * FLOOR_STEPS as f64 {
        let both = |c: f64| explained_in(&halves[0], c) + explained_in(&halves[1], c);
        let (_, one) = best_over(0, &both)?;
        let (_, first) = best_over(0, &|c| explained_in(&halves[0], c))?;
        let (_, second) = best_over(0, &|c| explained_in(&halves[1], c))?;
        let apart = total - (first + second);
        let d2 = independent - 2.0 * (layout.bins as f64 + 1.0);
        if apart > 0.0
            && d2 >= 1.0
            && f_beyond_chance((first + second - one) / (apart / d2), 1.0, d2)
        {
            return None;
        }
    }
    // A swing of a fixed amount is each bin's mean distance, one
    // parameter a bin as the floor's lines are (and the floor one more).
    let amount: f64 = sums
        .iter()
        .filter(|b| b[0] > 0.0)
        .map(|b| b[2] * b[2] / b[0])
        .sum();
    Some(Floor {
        level: best,
        beats_amount: most > amount,
    })
}

/// A floor under a multiplicative swing (see [`floor_under`]).
struct Floor {
    level: f64,
    /// Its lines explain more of the distances from the period's moving
    /// average than a fixed amount a phase does: on the values themselves,
    /// where the cycles' strengths on their own scales (the logarithm of
    /// what is above the floor, the values) are not comparable once the
    /// floor is high. What is above a floor at 5/6 of the lowest value is
    /// a sixth of it, and its logarithm's noise six times the values'.
    beats_amount: bool,
}

/// The multiplicative cycle of `period` of what is above `floor` in
/// positive `samples` (see [`floor_under`]), when one is found there.
fn above_floor(samples: &[Sample], period: f64, floor: f64, phases: &mut Phases) -> Option<Season> {
    let logs: Vec<Sample> = samples
        .iter()
        .map(|s| Sample::new(s.t, (s.v - floor).ln()))
        .collect();
    estimate_in(&logs, period, phases, &mut None).map(|shifted| Season {
        shift: floor,
        ..shifted
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: usize) -> f64 {
        let mut x = (i as u64 + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 29;
        (x % 2001) as f64 / 1000.0 - 1.0
    }

    fn series(days: f64, step: f64, f: impl Fn(f64, usize) -> f64) -> Vec<Sample> {
        let n = (days * DAY / step) as usize;
        (0..n)
            .map(|i| {
                let t = 1_700_000_000.0 + step * i as f64;
                Sample::new(t, f(t, i))
            })
            .collect()
    }

    /// The bins in turn from a time a millisecond before midnight, which
    /// `Season::at` already counts in the next day's first bin (it is
    /// within `BIN_EDGE` of it): that bin for a quarter of a day, then the
    /// next, as `at` reads them.
    #[test]
    fn the_bins_from_a_time_come_in_turn_as_the_cycle_reads_them() {
        let quarters = Season {
            period: DAY,
            origin: 0.0,
            profile: vec![0.0, 1.0, 2.0, 3.0],
            strength: 1.0,
            combine: Combine::Add,
            shift: 0.0,
        };
        let now = 19_676.0 * DAY;
        let h = DAY - 1e-3;
        let bins: Vec<(f64, f64, f64)> = quarters.bins_from(now, h, 5).collect();
        assert_eq!(bins[0].2, quarters.at(now + h));
        assert_eq!(bins[0].0, h);
        for (i, &(start, end, offset)) in bins.iter().enumerate() {
            let middle = (start + end) / 2.0;
            assert_eq!(offset, quarters.at(now + middle), "bin {i}");
            if i > 0 {
                assert!(
                    (end - start - DAY / 4.0).abs() < 1.0,
                    "bin {i}: {start} to {end}"
                );
                assert_eq!(start, bins[i - 1].1);
            }
        }
        assert_eq!(
            bins.iter().map(|b| b.2).collect::<Vec<_>>(),
            [0.0, 1.0, 2.0, 3.0, 0.0]
        );
    }

    #[test]
    fn weekly_cycles_in_daily_samples_and_yearly_ones_in_quarterly_samples_are_found() {
        // A nightly job's duration, one sample a day, two hours longer at
        // the weekend, over eight weeks.
        let weekend = |t: f64| {
            if (t / DAY).floor().rem_euclid(7.0) >= 5.0 {
                2.0
            } else {
                0.0
            }
        };
        let nightly = series(56.0, DAY, |t, i| 5.0 + weekend(t) + 0.3 * noise(i));
        let season = detect(&nightly, &CANDIDATES).expect("weekly cycle");
        assert_eq!(season.period, WEEK);
        assert!((season.max() - season.min() - 2.0).abs() < 0.3);
        // Gas burnt each quarter, 30% more in winter, over twelve years.
        let quarter = YEAR / 4.0;
        let winter = |t: f64| {
            if (t / quarter).floor().rem_euclid(4.0) == 0.0 {
                30.0
            } else {
                0.0
            }
        };
        let gas = series(12.0 * 365.25, quarter, |t, i| {
            100.0 + winter(t) + 3.0 * noise(i)
        });
        assert_eq!(detect(&gas, &CANDIDATES).map(|s| s.period), Some(YEAR));
    }

    /// The first of each of `count` calendar months from January of
    /// `year` on, in seconds since the epoch (UTC): 28 to 31 days apart.
    fn month_starts(year: i64, count: usize) -> Vec<f64> {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in = |y: i64, m: usize| match m {
            1 if leap(y) => 29,
            1 => 28,
            3 | 5 | 8 | 10 => 30,
            _ => 31,
        };
        let mut day: i64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
        let mut starts = Vec::with_capacity(count);
        for k in 0..count {
            starts.push(day as f64 * DAY);
            day += days_in(year + (k / 12) as i64, k % 12);
        }
        starts
    }

    #[test]
    fn a_yearly_cycle_in_calendar_quarters_is_found_at_every_length_of_history() {
        // Gas burnt each calendar quarter, 30% more in winter, on a rising
        // trend. Quarters are 90 to 92 days: with bins aligned to the
        // epoch, each began within a day of a bin's edge, on one side or
        // the other from year to year, and the cycle came and went as the
        // history grew by a quarter.
        let starts: Vec<f64> = month_starts(1990, 12 * 12).into_iter().step_by(3).collect();
        for n in 16..=starts.len() {
            let gas: Vec<Sample> = starts[..n]
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let winter = if i % 4 == 0 { 30.0 } else { 0.0 };
                    Sample::new(t, 100.0 + 2.0 * i as f64 + winter + 2.0 * noise(i))
                })
                .collect();
            let season = detect(&gas, &CANDIDATES);
            assert_eq!(
                season.as_ref().map(|c| c.period),
                Some(YEAR),
                "{n} quarters"
            );
            let season = season.expect("checked above");
            let peak = gas[0].t;
            assert!(
                (season.at(peak) - season.max()).abs() < 1e-9 && season.max() > 15.0,
                "{n} quarters: the winter quarter is the peak, {:?}",
                season.profile
            );
        }
    }

    #[test]
    fn each_calendar_month_has_its_own_bin_of_a_yearly_cycle() {
        // A busy March every year. With bins of a twelfth of 365.25 days
        // aligned to the epoch, the first of February and of March fell in
        // one bin (and the first of January in the first or the last, by
        // the year): March's peak was the median of a quiet and a busy
        // month, halved.
        let starts = month_starts(2019, 48);
        let s: Vec<Sample> = starts
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let march = if i % 12 == 2 { 50.0 } else { 0.0 };
                Sample::new(t, 100.0 + march + noise(i))
            })
            .collect();
        let season = detect(&s, &CANDIDATES).expect("yearly cycle");
        assert_eq!(season.period, YEAR);
        for (i, sample) in s.iter().enumerate().take(12) {
            let offset = season.at(sample.t);
            if i == 2 {
                assert!(offset > 40.0, "March {offset}: {:?}", season.profile);
            } else {
                assert!(
                    offset.abs() < 10.0,
                    "month {i} {offset}: {:?}",
                    season.profile
                );
            }
        }
    }

    #[test]
    fn samples_of_one_phase_begin_their_bins() {
        // A job busy in the 14:00 hour, sampled hourly at 13 min 20 s past. The
        // busy bin begins at its sample, as bins aligned to the epoch did:
        // the cycle peaks from the 14:13:20 sample on, not half an hour
        // before it (as bins centred on the samples would have it).
        let s = series(14.0, 3600.0, |t, i| {
            let busy = if (t / 3600.0).rem_euclid(24.0).round() == 14.0 {
                40.0
            } else {
                0.0
            };
            100.0 + busy + noise(i)
        });
        let season = detect(&s, &CANDIDATES).expect("daily cycle");
        let two = s
            .iter()
            .map(|x| x.t)
            .find(|t| (t / 3600.0).rem_euclid(24.0).round() == 14.0)
            .expect("a 14:00 sample");
        assert!((season.at(two) - season.max()).abs() < 1e-9);
        assert!((season.at(two + 3599.0) - season.max()).abs() < 1e-9);
        assert!(season.at(two - 1200.0) < season.max() - 30.0);
    }

    #[test]
    fn a_daily_cycle_seen_a_few_samples_a_day_is_held_by_the_weekly_one() {
        // A year of history at the default step for it (261 minutes): five
        // and a half samples a day. The weekly cycle's 39 bins hold each
        // day's shape; a six-bin daily one, coarser, put its peaks low.
        let s = series(365.0, 261.0 * 60.0, |t, i| {
            50.0 + 0.05 * (t - 1_700_000_000.0) / DAY
                + 10.0 * (t / DAY * std::f64::consts::TAU).sin()
                + 2.0 * noise(i)
        });
        let season = detect(&s, &CANDIDATES).expect("a cycle");
        assert_eq!(season.period, WEEK);
        assert!(season.max() > 8.0, "{}", season.max());
    }

    #[test]
    fn a_yearly_cycle_over_two_years_of_monthly_samples_is_found() {
        // Twenty-five months, a swing of 3 through noise of about 1.2: the
        // F-test that coarse cycles take would ask for a strength of 0.89
        // of twelve bins over two periods, and refused it.
        let month = YEAR / 12.0;
        let s = series(25.0 * month / DAY, month, |t, i| {
            100.0 + 3.0 * (t / YEAR * std::f64::consts::TAU).sin() + 2.0 * noise(i)
        });
        assert_eq!(detect(&s, &CANDIDATES).map(|c| c.period), Some(YEAR));
    }

    #[test]
    fn few_samples_a_period_of_noise_seldom_make_a_cycle() {
        // Seven bins of daily noise, or four of quarterly noise, over few
        // periods explain much of it by chance: without the F-test, one
        // draw in six to ten over two to four weeks passed as a weekly
        // cycle. With it, at most one in a hundred (the agreement of the
        // even and odd periods and the moving average's detrending make
        // it more than the test's own 0.1%).
        let quarter = YEAR / 4.0;
        for (step, lengths) in [
            (DAY, vec![16.0, 21.0, 28.0, 42.0, 60.0]),
            (quarter, vec![4.0 * 365.25, 6.0 * 365.25, 10.0 * 365.25]),
        ] {
            for days in lengths {
                let cycles = (0..200)
                    .filter(|seed| {
                        let flat = series(days, step, |_, i| 5.0 + noise(1000 * seed + i));
                        detect(&flat, &CANDIDATES).is_some()
                    })
                    .count();
                assert!(cycles <= 2, "{cycles} of 200, {days} days at {step} s");
            }
        }
    }

    #[test]
    fn a_daily_cycle_on_a_trend_is_found_with_its_amplitude() {
        let s = series(7.0, 300.0, |t, i| {
            1000.0
                + 0.001 * t.rem_euclid(1e7)
                + 200.0 * (t / DAY * std::f64::consts::TAU).sin()
                + 20.0 * noise(i)
        });
        let season = detect(&s, &CANDIDATES).expect("daily cycle");
        assert_eq!(season.period, DAY);
        assert!((season.max() - 200.0).abs() < 30.0, "{}", season.max());
        assert!((season.min() + 200.0).abs() < 30.0, "{}", season.min());
    }

    #[test]
    fn a_swing_in_proportion_to_the_level_is_multiplicative_and_a_fixed_one_is_not() {
        // The level triples over three weeks.
        let level = |t: f64| 100.0 + 200.0 * (t - 1_700_000_000.0) / (21.0 * DAY);
        let sine = |t: f64| (t / DAY * std::f64::consts::TAU).sin();
        let share = series(21.0, 300.0, |t, i| {
            level(t) * (1.0 + 0.3 * sine(t)) + noise(i)
        });
        let found = detect(&share, &CANDIDATES).expect("daily cycle");
        // The cycle the log scale found already is the one estimated anew.
        let logs: Vec<Sample> = share.iter().map(|s| Sample::new(s.t, s.v.ln())).collect();
        let on_logs = detect(&logs, &CANDIDATES);
        assert_eq!(
            multiplicative(&share, found.clone(), on_logs.as_ref(), &mut Phases::new()),
            multiplicative(&share, found.clone(), None, &mut Phases::new())
        );
        let season = multiplicative(&share, found, None, &mut Phases::new());
        assert_eq!(season.combine, Combine::Multiply);
        // ±30%: e^offset spans 0.7 .. 1.3.
        assert!((season.max().exp() - 1.3).abs() < 0.05, "{}", season.max());
        assert!((season.with(200.0, season.max()) - 260.0).abs() < 10.0);
        let peak = season.with(200.0, season.max());
        assert!((season.trend_for(peak, season.max()) - 200.0).abs() < 1e-9);

        let fixed = series(21.0, 300.0, |t, i| level(t) + 60.0 * sine(t) + noise(i));
        let found = detect(&fixed, &CANDIDATES).expect("daily cycle");
        let season = multiplicative(&fixed, found, None, &mut Phases::new());
        assert_eq!(season.combine, Combine::Add);
        assert!((season.with(200.0, season.max()) - 260.0).abs() < 10.0);
        // A series that is not positive has no ratios to take.
        let below = series(21.0, 300.0, |t, i| {
            level(t) - 200.0 + 60.0 * sine(t) + noise(i)
        });
        let found = detect(&below, &CANDIDATES).expect("daily cycle");
        assert_eq!(
            multiplicative(&below, found, None, &mut Phases::new()).combine,
            Combine::Add
        );
    }

    /// A pool's connections: `floor` idle ones plus a share of requests
    /// that grow 3% a day and swing by ±50% of themselves, a week at five
    /// minutes, its peaks 65 on the first day.
    fn pool(floor: f64) -> Vec<Sample> {
        let white: Vec<f64> = (0..7 * 288).map(|i| 0.5 * noise(i)).collect();
        pool_of(floor, 0.03, 0.5, &white)
    }

    /// [`pool`] with requests that grow by `growth` a day and swing by
    /// `swing` of themselves, and `noise` added, one value a sample.
    fn pool_of(floor: f64, growth: f64, swing: f64, noise: &[f64]) -> Vec<Sample> {
        let sine = |t: f64| (t / DAY * std::f64::consts::TAU).sin();
        let share = (65.0 - floor) / (1.0 + swing);
        let days = noise.len() as f64 * 300.0 / DAY;
        series(days, 300.0, |t, i| {
            let days = (t - 1_700_000_000.0) / DAY;
            floor + share * (1.0 + growth).powf(days) * (1.0 + swing * sine(t)) + noise[i]
        })
    }

    /// `n` values of noise that lingers: each a half of the one before,
    /// plus new noise, with a standard deviation of about 0.5.
    fn lingering(n: usize) -> Vec<f64> {
        let mut e = 0.0;
        (0..n)
            .map(|i| {
                e = 0.5 * e + 0.75 * noise(i);
                e
            })
            .collect()
    }

    #[test]
    fn a_swing_above_a_floor_is_a_share_of_what_is_above_it() {
        // Idle connections 20, the lowest value about 35: the floor is
        // found within a step of the lowest over `FLOOR_STEPS`, and the
        // cycle's peaks are a share of what is above it.
        let idle = pool(20.0);
        let found = detect(&idle, &CANDIDATES).expect("daily cycle");
        let season = multiplicative(&idle, found, None, &mut Phases::new());
        assert_eq!(season.combine, Combine::Multiply);
        assert!(
            (season.shift - 20.0).abs() <= 35.0 / 32.0 + 0.5,
            "{}",
            season.shift
        );
        // Above the floor the swing is ±50%: at any level, the peaks stand
        // three times as far above the floor as the troughs.
        for trend in [40.0, 60.0, 200.0] {
            let above = |offset: f64| season.with(trend, offset) - season.shift;
            let swing = above(season.max()) / above(season.min());
            assert!((swing - 3.0).abs() < 0.2, "{trend}: {swing}");
        }
        let peak = season.with(60.0, season.max());
        assert!((season.trend_for(peak, season.max()) - 60.0).abs() < 1e-9);

        // All of it swinging, the swing is a share of the whole level.
        let all = pool(0.0);
        let found = detect(&all, &CANDIDATES).expect("daily cycle");
        let season = multiplicative(&all, found, None, &mut Phases::new());
        assert_eq!((season.combine, season.shift), (Combine::Multiply, 0.0));

        // Idle connections 40 are 5/6 of the lowest value, past the floors
        // every history is trusted with: the two halves of the week point
        // to it as well, so it is taken.
        let high = pool(40.0);
        let found = detect(&high, &CANDIDATES).expect("daily cycle");
        let season = multiplicative(&high, found, None, &mut Phases::new());
        assert!(
            (season.shift - 40.0).abs() <= 48.0 / 32.0 + 0.5,
            "{}",
            season.shift
        );

        // The same floor under requests growing 2% or 3% a day with a
        // ±30% or ±50% swing and noise that lingers, the lowest value
        // about 52 or 47, seen at every third hour of the eighth day: a
        // floor of 40 each time. (Asked to lie within three steps of the
        // whole history's, the halves' own floors refused it at six of the
        // eight hours of the first, and at three of the second: the time
        // to wall of such a pool went from 1.4 times the truth to 0.4 and
        // back with the hour. Under the ±50% swing the floor was found,
        // but the cycle's strength on the logarithm of what is above it,
        // a thin and noisy sliver, lost to a fixed amount's on the values.)
        for (growth, swing) in [(0.02, 0.3), (0.03, 0.3), (0.02, 0.5)] {
            let week = pool_of(40.0, growth, swing, &lingering(8 * 288));
            for hours in (0..24).step_by(3) {
                let seen = &week[..(7 * 24 + hours) * 12];
                let found = detect(seen, &CANDIDATES).expect("daily cycle");
                let season = multiplicative(seen, found, None, &mut Phases::new());
                assert!(
                    season.combine == Combine::Multiply
                        && (season.shift - 40.0).abs() <= 2.0 * 52.0 / 32.0,
                    "+{growth} a day, ±{swing}, at {hours}h: {:?} above {}",
                    season.combine,
                    season.shift
                );
            }
        }

        // A swing that grows with the level for a reason of its own (a
        // day's warming with the spring's sun): over the first week it
        // grows from ±4 to ±8 as the level climbs from 40 to 45, as if
        // above a floor of 35; over the second only to ±9 as the level
        // climbs on to 50, as if above one of 5. The whole fortnight
        // points to a floor past three quarters of the lowest value, and
        // its halves part: no floor is taken. (Seattle's and San
        // Francisco's hourly temperatures took floors of 0.7 to 0.875 of
        // their lowest values without this, and their times went early.)
        let sine = |t: f64| (t / DAY * std::f64::consts::TAU).sin();
        let warming = series(14.0, 300.0, |t, i| {
            let days = (t - 1_700_000_000.0) / DAY;
            let (amplitude, level) = if days < 7.0 {
                (4.0 + 4.0 * days / 7.0, 40.0 + 5.0 * days / 7.0)
            } else {
                (8.0 + (days - 7.0) / 7.0, 45.0 + 5.0 * (days - 7.0) / 7.0)
            };
            level + amplitude * sine(t) + 0.5 * noise(i)
        });
        let found = detect(&warming, &CANDIDATES).expect("daily cycle");
        assert_eq!(
            multiplicative(&warming, found, None, &mut Phases::new()).shift,
            0.0
        );
    }

    #[test]
    fn a_job_every_other_day_is_no_daily_cycle_but_a_daily_one_is() {
        // Bytes backed up: a steady trickle, and a job that adds 50 every
        // `every` days, first at hour `at`. Every second day, the rhythm is
        // two days long. When the job ran at the start of a day (counted
        // from the first sample), the moving average over one day smeared
        // each step across the day boundary, and the even and the odd days
        // agreed on the smear: a daily cycle of strength 0.35 was found.
        let staircase = |every: f64, at: f64| {
            series(8.0, 300.0, move |t, i| {
                let since = t - 1_700_000_000.0 - at * 3600.0;
                let runs = if since < 0.0 {
                    0.0
                } else {
                    (since / (every * DAY)).floor() + 1.0
                };
                0.01 * i as f64 + 50.0 * runs + 0.1 * noise(i)
            })
        };
        for at in [0.0, 6.0, 12.0, 18.0] {
            assert_eq!(detect(&staircase(2.0, at), &[DAY]), None, "at {at}h");
            let daily = detect(&staircase(1.0, at), &[DAY]);
            assert_eq!(daily.map(|c| c.period), Some(DAY), "at {at}h");
        }
    }

    /// A cycle seen in few samples a period, on a grid that divides it
    /// (a 6-minute cycle at 15-second steps, a day at half-hour steps, an
    /// hour at 5-minute steps): each bin holds one sample a period, on its
    /// edge. The rounding of the phase at 1.8e9 seconds put it in the bin
    /// before, a bin stayed empty and no cycle was found; and the cycle of
    /// twice the period, in finer bins, out-fitted it as a rhythm of every
    /// other period.
    #[test]
    fn a_cycle_of_few_samples_on_a_grid_that_divides_it_is_found() {
        for (period, step, periods) in [
            (360.0, 15.0, 10.0),
            (DAY, 1800.0, 30.0),
            (3600.0, 300.0, 24.0),
        ] {
            let s: Vec<Sample> = (0..(periods * period / step) as usize)
                .map(|i| {
                    let t = 1.8e9 + step * i as f64;
                    let cycle = 18.0 * (t / period * std::f64::consts::TAU).sin();
                    Sample::new(t, 60.0 + 0.001 * (t - 1.8e9) + cycle + 0.5 * noise(i))
                })
                .collect();
            let season = detect(&s, &[period]).unwrap_or_else(|| panic!("{period} s at {step} s"));
            assert!(
                (season.max() - 18.0).abs() < 3.0,
                "{period}: {}",
                season.max()
            );
        }
    }

    /// A cycle without noise is explained whole: a cycle of twice its
    /// period explains as much, and that is no rhythm of every other one.
    #[test]
    fn a_cycle_without_noise_is_found() {
        // One sample a bin: both profiles fit it exactly.
        let s = series(10.0, 1800.0, |t, _| {
            100.0 + 20.0 * (t / DAY * std::f64::consts::TAU).sin()
        });
        assert_eq!(detect(&s, &[DAY]).map(|c| c.period), Some(DAY));
    }

    #[test]
    fn the_inline_floor_is_the_floor_to_the_bit() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            1.0 - f64::EPSILON,
            -1.0 + f64::EPSILON / 2.0,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
        ];
        // Phases of times near today's, in periods of a day, as the
        // estimates take them.
        values.extend(
            (0..10_000).map(|i| (1.8e9 + 299.7 * i as f64) / DAY * (1.0 - 2.0 * (i % 2) as f64)),
        );
        for &x in &values {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "{x}");
        }
        assert!(floor(f64::NAN).is_nan());
        // And the bins, which wrap without a division, are those of the
        // remainder, a phase that rounds to 1 included.
        values.extend([-1e-20, -1e-17, 1.0 - 1e-17]);
        for x in values.into_iter().filter(|x| x.is_finite()) {
            for bins in [4, 7, 24, 96] {
                let by_remainder = ((x - x.floor()) * bins as f64 + BIN_EDGE) as usize % bins;
                assert_eq!(bin_of(x, 1.0, bins), by_remainder, "{x} in {bins} bins");
            }
        }
    }

    #[test]
    fn noise_and_trends_have_no_cycle() {
        let s = series(21.0, 300.0, |t, i| {
            5.0 + 1e-6 * t.rem_euclid(1e7) + noise(i)
        });
        assert_eq!(detect(&s, &CANDIDATES), None);
    }

    #[test]
    fn a_steep_trend_over_two_days_is_not_a_daily_cycle() {
        let s = series(2.0, 60.0, |t, i| {
            4e11 - 1e6 * t.rem_euclid(1e7) + 2e9 * noise(i)
        });
        assert_eq!(detect(&s, &CANDIDATES), None);
    }

    #[test]
    fn a_cycle_needs_two_periods_of_history_and_samples_enough_to_see_it() {
        let sine = |t: f64, _| (t / WEEK * std::f64::consts::TAU).sin();
        assert_eq!(
            estimate(&series(10.0, 300.0, sine), WEEK),
            None,
            "10 days: under two weeks"
        );
        assert!(estimate(&series(15.0, 300.0, sine), WEEK).is_some());
        assert_eq!(
            estimate(&series(30.0, 4.0 * 3600.0, sine), DAY),
            None,
            "6 samples a day"
        );
    }
}
