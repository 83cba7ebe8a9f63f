//! Where the current regime starts. A cleanup, a level shift, a counter
//! reset or a new trend makes the history before it a different series: a
//! trend fitted across it is wrong in both level and slope. This finds the
//! last change so that the trend is fitted to what the series does now.
//!
//! Method: two-phase regression by binary segmentation from the right. For a
//! segment, every split point is tried (each side its own least-squares
//! line, computed from prefix sums in O(n)); the best split is kept when it
//! explains the segment much better than one line does, and the search goes
//! on in the part after it. "Much better" is a likelihood-ratio test whose
//! sample size is discounted for the autocorrelation of the split's
//! residuals: a staircase of small steps, whose residuals are long runs, is
//! one growing regime and not a hundred flat ones; a noisy series that turns
//! into a ramp, whose residuals after the split are noise again, is two.

use crate::model::Sample;

/// A split adds three parameters: where, and a second line's level and slope.
const EXTRA_PARAMS: f64 = 3.0;
/// BIC charges ln n per parameter; twice that, because real metrics have
/// heavier tails than the Gaussian noise the criterion assumes, and a missed
/// change costs less than a regime invented from noise.
const STRICTNESS: f64 = 2.0;

/// The shortest regime worth fitting a trend to.
pub fn min_segment(n: usize) -> usize {
    (n / 20).max(12)
}

/// The fewest samples of the newest regime: a quarter of the others' (an
/// eightieth of the history, two hours of a week at five minutes), and at
/// least as many as any regime has. A new trend is news before it has
/// lasted a twentieth of the history: a queue backing up at 150 an hour
/// towards a wall 2.5 hours away read "13 days" for two hours, its trend
/// across the whole week outweighing a climb too short to be a regime.
/// The same test of the change decides; a burst of half an hour is still
/// too short to be one.
pub fn newest_segment(n: usize) -> usize {
    (min_segment(n) / 4).max(12)
}

/// Prefix sums of (x, y, x², xy, y²) with x and y centred and scaled, so the
/// sums keep their precision for values like 1e12 bytes.
struct Prefix {
    s: Vec<[f64; 5]>,
}

impl Prefix {
    fn new(xs: &[f64], ys: &[f64]) -> Self {
        let mut s = Vec::with_capacity(xs.len() + 1);
        let mut acc = [0.0; 5];
        s.push(acc);
        for (x, y) in xs.iter().zip(ys) {
            acc[0] += x;
            acc[1] += y;
            acc[2] += x * x;
            acc[3] += x * y;
            acc[4] += y * y;
            s.push(acc);
        }
        Self { s }
    }

    /// Residual sum of squares of the least-squares line over [a, b): the
    /// searches for a split take two at every sample.
    fn sse(&self, a: usize, b: usize) -> f64 {
        // What `sse_across(a, b, b, b)` computes, without adding the empty
        // stretch's sums (`s[b] - s[b]`, +0.0) to each: a running sum from
        // +0.0 is never -0.0, so neither is a difference of two, and adding
        // +0.0 to it changes no bit.
        let (sa, sb) = (&self.s[a], &self.s[b]);
        Self::sse_of((b - a) as f64, std::array::from_fn(|i| sb[i] - sa[i]))
    }

    /// Residual sum of squares of one least-squares line over [a, k) and
    /// [k2, b) together: the samples in [k, k2) left out.
    fn sse_across(&self, a: usize, k: usize, k2: usize, b: usize) -> f64 {
        let n = ((k - a) + (b - k2)) as f64;
        let (sa, sk, sk2, sb) = (&self.s[a], &self.s[k], &self.s[k2], &self.s[b]);
        Self::sse_of(
            n,
            std::array::from_fn(|i| (sk[i] - sa[i]) + (sb[i] - sk2[i])),
        )
    }

    /// Residual sum of squares of the least-squares line through `n`
    /// samples whose sums of (x, y, x², xy, y²) are `d`.
    fn sse_of(n: f64, d: [f64; 5]) -> f64 {
        let [sx, sy, sxx, sxy, syy] = d;
        let vx = sxx - sx * sx / n;
        let vy = syy - sy * sy / n;
        let cxy = sxy - sx * sy / n;
        let sse = if vx > 0.0 { vy - cxy * cxy / vx } else { vy };
        sse.max(0.0)
    }

    fn line(&self, a: usize, b: usize) -> (f64, f64) {
        let n = (b - a) as f64;
        let (sa, sb) = (&self.s[a], &self.s[b]);
        let d: [f64; 5] = std::array::from_fn(|k| sb[k] - sa[k]);
        let vx = d[2] - d[0] * d[0] / n;
        let slope = if vx > 0.0 {
            (d[3] - d[0] * d[1] / n) / vx
        } else {
            0.0
        };
        (slope, d[1] / n - slope * d[0] / n)
    }
}

/// Lag-1 autocorrelation of the residuals of the lines over [a, k) and
/// [k2, b) (two lines split at `k` when `k2 == k`).
fn residual_rho(p: &Prefix, xs: &[f64], ys: &[f64], (a, k): Span, (k2, b): Span) -> f64 {
    let (s1, i1) = p.line(a, k);
    let (s2, i2) = p.line(k2, b);
    let r: Vec<f64> = (a..k)
        .chain(k2..b)
        .map(|i| {
            let (s, c) = if i < k { (s1, i1) } else { (s2, i2) };
            ys[i] - (c + s * xs[i])
        })
        .collect();
    let den: f64 = r.iter().map(|x| x * x).sum();
    if den <= 0.0 {
        return 0.0;
    }
    (r.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / den).clamp(0.0, 0.99)
}

/// Samples `[from, to)`.
type Span = (usize, usize);

/// Replaces isolated spikes by the median of their neighbours (a Hampel
/// filter), so that squared errors measure regimes rather than spikes. The
/// noise scale comes from the differences of neighbours, which a trend or a
/// level shift hardly moves.
fn despike(v: &[f64]) -> Vec<f64> {
    const HALF: usize = 3;
    const LIMIT: f64 = 4.0;
    let sigma = super::robust::step_noise(v.iter().copied());
    if sigma.is_nan() || sigma <= 0.0 {
        return v.to_vec();
    }
    let mut w = Vec::with_capacity(2 * HALF + 1);
    (0..v.len())
        .map(|i| {
            let lo = i.saturating_sub(HALF);
            let hi = (i + HALF + 1).min(v.len());
            // The median lies within the window's range: a window narrower
            // than the limit holds no spike, and most do not need sorting.
            let (min, max) = v[lo..hi]
                .iter()
                .fold((v[i], v[i]), |(a, b), &x| (a.min(x), b.max(x)));
            if max - min <= LIMIT * sigma {
                return v[i];
            }
            w.clear();
            w.extend_from_slice(&v[lo..hi]);
            let med = super::robust::median(&w).unwrap_or(v[i]);
            if (v[i] - med).abs() > LIMIT * sigma {
                med
            } else {
                v[i]
            }
        })
        .collect()
}

/// +1 when the series (nearly) never decreases, -1 when it never increases,
/// 0 otherwise. Flat stretches count for neither.
pub(super) fn accumulation(v: &[f64]) -> i8 {
    let (mut up, mut down) = (0usize, 0usize);
    for w in v.windows(2) {
        if w[1] > w[0] {
            up += 1;
        } else if w[1] < w[0] {
            down += 1;
        }
    }
    let moves = (up + down).max(1) as f64;
    if up as f64 >= ACCUMULATING * moves {
        1
    } else if down as f64 >= ACCUMULATING * moves {
        -1
    } else {
        0
    }
}

/// The share of moves in one direction that makes a series accumulating: it
/// moves that way at least four times as often as the other way.
const ACCUMULATING: f64 = 0.8;

/// The fewest samples after a step within a regime that disqualifies it
/// (see `current_start_measured`), and before it for the split to be
/// judged without the step.
const MIN_INNER: usize = 3;

/// Whether two lines split at `k` explain the samples `[a, b)` much better
/// than one: the likelihood-ratio test, its sample size discounted for the
/// autocorrelation of the split's residuals (see the module's notes).
fn changes(p: &Prefix, xs: &[f64], ys: &[f64], a: usize, k: usize, b: usize) -> bool {
    changes_across(p, xs, ys, (a, k), (k, b))
}

/// [`changes`] for two stretches that need not meet: whether the samples
/// `[k2, b)` are off the line of `[a, k)` (one line through both explains
/// them much worse than a line each).
fn changes_across(p: &Prefix, xs: &[f64], ys: &[f64], (a, k): Span, (k2, b): Span) -> bool {
    let full = p.sse_across(a, k, k2, b);
    if full <= 0.0 {
        return false;
    }
    let best = p.sse(a, k) + p.sse(k2, b);
    let len = ((k - a) + (b - k2)) as f64;
    let rho = residual_rho(p, xs, ys, (a, k), (k2, b));
    let n_eff = (len * (1.0 - rho) / (1.0 + rho)).max(2.0);
    let gain = n_eff * (full / best.max(f64::MIN_POSITIVE)).ln();
    gain > STRICTNESS * EXTRA_PARAMS * n_eff.ln().max(1.0)
}

/// Whether the change at `k` within `[a, b)` is a step: the two lines
/// are more than `band::SHIFT_Z` residual standard deviations apart where
/// the second begins (as `band`'s cleanup test). A kink (a new slope from
/// where the series was) is not.
fn is_step(p: &Prefix, xs: &[f64], a: usize, k: usize, b: usize) -> bool {
    let (s1, i1) = p.line(a, k);
    let (s2, i2) = p.line(k, b);
    let x = xs[k];
    let jump = ((i2 + s2 * x) - (i1 + s1 * x)).abs();
    let dof = (b - a).saturating_sub(4).max(1) as f64;
    let sigma = ((p.sse(a, k) + p.sse(k, b)) / dof).sqrt();
    jump > super::band::SHIFT_Z * sigma
}

/// The index of the first sample of the current regime (0 when the whole
/// history is one regime).
pub fn current_start(samples: &[Sample]) -> usize {
    let v: Vec<f64> = samples.iter().map(|s| s.v).collect();
    current_start_measured(samples, &v)
}

/// `current_start` for `samples` with a cycle taken out, where whether the
/// series accumulates, and where it drops, is judged on `measured`, the
/// values before the cycle was taken out. A cumulative count rises every
/// hour, faster by day; once its daily cycle is subtracted it wiggles, but
/// it still only accumulates.
pub fn current_start_measured(samples: &[Sample], measured: &[f64]) -> usize {
    let n = samples.len();
    let m = min_segment(n);
    if n < 2 * m {
        return 0;
    }
    let t0 = samples[0].t;
    let span = (samples[n - 1].t - t0).max(1.0);
    let values = despike(&samples.iter().map(|s| s.v).collect::<Vec<_>>());
    let mean = values.iter().sum::<f64>() / n as f64;
    let scale = values
        .iter()
        .map(|v| (v - mean).abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let xs: Vec<f64> = samples.iter().map(|s| (s.t - t0) / span).collect();
    let ys: Vec<f64> = values.iter().map(|v| (v - mean) / scale).collect();
    // A spike is one move up and one down: it barely shifts the shares, so
    // the measured values are counted as they are.
    let accumulating = accumulation(measured);
    let p = Prefix::new(&xs, &ys);

    let mut start = 0;
    let newest = newest_segment(n);
    while n - start >= m + newest {
        let full = p.sse(start, n);
        if full <= 0.0 {
            break;
        }
        // An accumulating series (a counter, a cumulative byte count, a
        // repository's size) grows in bursts: a jump in the direction it
        // grows is more of the same regime, and only a drop against it (a
        // reset, a cleanup) starts a new one.
        let allowed = |k: usize| match accumulating {
            0 => true,
            sign => {
                let (s1, i1) = p.line(start, k);
                let (s2, i2) = p.line(k, n);
                let jump = (i2 + s2 * xs[k]) - (i1 + s1 * xs[k]);
                jump * f64::from(sign) <= 0.0
            }
        };
        let Some((best_k, _)) = (start + m..=n - newest)
            .filter(|&k| allowed(k))
            .map(|k| (k, p.sse(start, k) + p.sse(k, n)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if !changes(&p, &xs, &ys, start, best_k, n) {
            break;
        }
        // A regime is one line. When the new one steps again within it,
        // after fewer samples than a regime needs (a disk filled by 20 GB
        // at once an hour ago), and the split is not seen before that step,
        // the split was placed as late as it may go to explain the step:
        // a line through a few samples before it and the step itself would
        // be forecast, and a disk that suddenly filled read as no longer
        // filling, or as full in minutes. The step is the level's to
        // follow (see `level_samples`) until it is long enough to be a
        // regime itself. A new slope from where the series was (a kink,
        // not a step) is a regime's start seen early, and a change seen
        // before the step is one all the same. (A regime of twice the
        // minimum or more is searched for changes of its own by the next
        // round.)
        let inner = (n - best_k < 2 * m)
            .then(|| {
                // Two samples before a step give its line; a step one
                // sample after the split is where the split is.
                // Each split's cost once, not once a comparison.
                (best_k + 2..=n - MIN_INNER)
                    .map(|j| (j, p.sse(best_k, j) + p.sse(j, n)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(j, _)| j)
            })
            .flatten();
        // Both refusals need a change within the new regime.
        let inner = inner.filter(|&j| changes(&p, &xs, &ys, best_k, j, n));
        let late_step = inner.is_some_and(|j| {
            is_step(&p, &xs, best_k, j, n)
                && !(j >= best_k + MIN_INNER && changes(&p, &xs, &ys, start, best_k, j))
        });
        // A regime lasts. When the newest samples, after a change within
        // the new regime, are back on the old one's line, what lay between
        // was a burst or a dip that came back (a batch job's scratch space,
        // written and deleted): split there, the forecast was a line
        // through the burst and the few samples since, and a steady trend
        // read "not approaching" for minutes after each burst. ("Back on
        // the line" is a test that found no difference, which says little
        // on strongly autocorrelated noise: a ramp after a restart's dip
        // can read as the old line until the new regime is twice the
        // shortest, when the split is no longer a late one. Holding the
        // rule only to the shortest regime let bursts a little older than
        // that split the history again, and drop their pages.)
        let excursion =
            inner.is_some_and(|j| !changes_across(&p, &xs, &ys, (start, best_k), (j, n)));
        if late_step || excursion {
            break;
        }
        start = best_k;
    }
    start
}

/// The most blocks a history is cut into to see whether its rate rises.
const RATE_BLOCKS: usize = 8;
/// The fewest: fewer than four blocks can show nothing at 5% (see
/// [`MAX_INVERSIONS`]).
const MIN_RATE_BLOCKS: usize = 4;
/// The fewest samples a block's rate is taken from.
const BLOCK_SAMPLES: usize = 3;
/// The most pairs of blocks whose rates may fall for the rates to count as
/// rising, by the number of blocks (four to eight): Mann-Kendall's trend
/// test, one-sided, at the largest count whose chance under no trend is at
/// most 5%. The chances are the share of the orders of that many values
/// with at most so many inversions (the Mahonian numbers): 1 of 24 orders
/// of four values has none (4.2%); 5 of 120 of five have at most one
/// (4.2%); 20 of 720 of six at most two (2.8%); 174 of 5,040 of seven at
/// most four (3.5%); 1,230 of 40,320 of eight at most six (3.05%). The
/// next count up is above 5% for each (16.7%, 11.7%, 6.8%, 6.8%, 5.6%).
/// Three blocks cannot: one order of three values in six has none.
const MAX_INVERSIONS: [usize; RATE_BLOCKS + 1] = [0, 0, 0, 0, 0, 1, 2, 4, 6];

/// The rates at which `samples` move towards `sign` (+1: up, -1: down),
/// block by block: the history cut into eight blocks of equal count (fewer,
/// down to four, when it is too short for three samples a block: a score
/// of yearly samples is a history too), each block's slope taken by
/// Theil-Sen, so that a spike does not make a rate; with the time of each
/// block's middle sample. `None` for too short a history (fewer than four
/// blocks of three samples). Each block's fit sees at most `points` of its
/// samples, evenly spaced, its newest among them.
fn block_rates(samples: &[Sample], sign: f64, points: usize) -> Option<Vec<Sample>> {
    let n = samples.len();
    let blocks = (n / BLOCK_SAMPLES).min(RATE_BLOCKS);
    if blocks < MIN_RATE_BLOCKS {
        return None;
    }
    (0..blocks)
        .map(|k| {
            let block = &samples[k * n / blocks..(k + 1) * n / blocks];
            let middle = block[block.len() / 2].t;
            super::robust::theil_sen_thinned(block, block[block.len() - 1].t, points)
                .map(|l| Sample::new(middle, l.slope * sign))
        })
        .collect()
}

/// How many points [`rate_rises`] takes each block's rate from (see
/// `robust::theil_sen_thinned`). Growth of a few percent a day seen
/// over two or three weeks of five-minute samples (a connection pool
/// under its daily swing) raises the rate by 5 to 8% from one block to
/// the next; from 160 of a block's 500 to 750 samples, the noise moved
/// each block's rate by about 10%, and the test passed at one cut and
/// failed three hours later. Compounding then came and went with the
/// hour of the forecast, and its time to wall with it (30 days, then
/// 77). A week of samples (252 a block) is now fitted whole; with the
/// slope from block means since, every sample counts in a longer block
/// too.
const RATE_BLOCK_POINTS: usize = 320;

/// How many of a block's samples the rates of a trend that eases are
/// taken from: enough for a robust rate, few enough that the test, run
/// again at every backtest origin, costs a fraction of a forecast.
const EASING_BLOCK_POINTS: usize = 48;

/// Whether the block rates rise by Mann-Kendall's trend test (at most
/// [`MAX_INVERSIONS`] pairs falling).
fn rising(rates: &[Sample]) -> bool {
    let inversions = (0..rates.len())
        .flat_map(|i| (i + 1..rates.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| rates[j].v <= rates[i].v)
        .count();
    inversions <= MAX_INVERSIONS[rates.len()]
}

/// Whether the rate at which `samples` move towards `sign` (+1: up, -1:
/// down) itself rises through their history: compounding growth, whose
/// change grows with its level. The rates of eight blocks (`block_rates`)
/// must rise by Mann-Kendall's trend test. A straight trend has rates that
/// differ by noise; a random walk's do too, however its path happens to
/// bend (its steps do not grow). Too short a history shows nothing.
pub fn rate_rises(samples: &[Sample], sign: f64) -> bool {
    block_rates(samples, sign, RATE_BLOCK_POINTS).is_some_and(|r| rising(&r))
}

/// How a series whose rate towards `sign` falls eases: the rates of
/// [`block_rates`] must fall by the test [`rate_rises`] applies
/// (mirrored), and are fitted as a steady rate plus one that decays by `e`
/// every `tau` seconds (least squares over the blocks, both parts towards
/// the wall, `tau` the best of a grid from a sixteenth of the history to
/// four times it). A warm-up or a cache settling has no steady part and
/// levels off; a ramp that settled into a steady climb (a pool filling
/// with traffic after a restart, a warm-up with a leak) keeps its steady
/// part, which a straight trend over its newer samples also sees. `None`
/// when the rate does not fall.
pub(super) fn easing(samples: &[Sample], sign: f64) -> Option<super::ensemble::Bend> {
    // First, what costs next to nothing: the newer half of the history must
    // have moved towards the wall slower than the older half, from the
    // median of a few samples at each end and at the middle. (A straight
    // trend passes this half the time, compounding growth hardly ever;
    // the block rates then cost eight Theil-Sen fits.)
    let n = samples.len();
    let k = super::level_samples(n / 4).max(1);
    let level = |at: usize| {
        let from = at.saturating_sub(k / 2).min(n - k);
        let v: Vec<f64> = samples[from..from + k].iter().map(|s| s.v).collect();
        let t = samples[from + k / 2].t;
        super::robust::median(&v).map(|v| (t, v))
    };
    let (Some(a), Some(b), Some(c)) = (level(0), level(n / 2), level(n - 1)) else {
        return None;
    };
    let (older, newer) = ((b.1 - a.1) / (b.0 - a.0), (c.1 - b.1) / (c.0 - b.0));
    if (newer * sign).partial_cmp(&(older * sign)) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let rates = block_rates(samples, sign, EASING_BLOCK_POINTS)?;
    let falling: Vec<Sample> = rates.iter().map(|r| Sample::new(r.t, -r.v)).collect();
    if !rising(&falling) {
        return None;
    }
    let now = samples[samples.len() - 1].t;
    let span = now - samples[0].t;
    let mut best: Option<(f64, super::ensemble::Bend)> = None;
    for k in -8..=4 {
        let tau = span * 2f64.powf(f64::from(k) / 2.0);
        // The decaying part at each block, as a multiple of what is left
        // of it now.
        let xs: Vec<f64> = rates.iter().map(|r| ((now - r.t) / tau).exp()).collect();
        let Some((steady, decaying)) = steady_and_decaying(&xs, &rates) else {
            continue;
        };
        let sse: f64 = xs
            .iter()
            .zip(&rates)
            .map(|(x, r)| (r.v - steady - decaying * x).powi(2))
            .sum();
        let bend = super::ensemble::Bend {
            tau,
            steady: steady / (steady + decaying),
        };
        if best.is_none_or(|(b, _)| sse < b) {
            best = Some((sse, bend));
        }
    }
    best.map(|(_, bend)| bend)
}

/// How many points a [`Curve`] is fitted through: the
/// medians of as many blocks of the history (fewer for a short one, of at
/// least three samples each).
const CURVE_BLOCKS: usize = 16;

/// The fewest points a curve is fitted through: as for a trend window
/// (`ensemble::MIN_WINDOW`), seven, of which two may be bad.
const MIN_CURVE_POINTS: usize = 7;

/// Growth towards `sign` (+1: up, -1: down) that accelerates: the axis of
/// [`Curve::fit`]'s parabola, for a backtest's history up to its origin.
pub(super) fn accelerating(samples: &[Sample], sign: f64) -> Option<super::ensemble::Bend> {
    Curve::fit(samples, sign).map(|c| c.bend)
}

/// A parabola through a history, bending towards its wall: growth that
/// accelerates (see `ensemble::Bend::accelerating`).
pub(super) struct Curve {
    /// Its axis: `tau` the time in which its rate rises by today's.
    pub(super) bend: super::ensemble::Bend,
    /// What it was fitted through: time (in spans of the history, from
    /// now) and value.
    points: Vec<(f64, f64)>,
    /// Its squared error there.
    sse: f64,
    /// Its curvature towards the wall, in standard errors of least
    /// squares' estimate.
    curvature_z: f64,
}

impl Curve {
    /// The parabola through `samples` by least squares, towards `sign`
    /// (+1: up, -1: down). It is fitted to the medians (of time and value)
    /// of up to [`CURVE_BLOCKS`] blocks of equal count, so that a spike
    /// moves no point, or to the samples themselves when there are too few
    /// for seven blocks of three. `None` for fewer than seven samples, or a
    /// parabola whose rate now points away from the wall or that bends
    /// away from it.
    pub(super) fn fit(samples: &[Sample], sign: f64) -> Option<Self> {
        let n = samples.len();
        if n < MIN_CURVE_POINTS {
            return None;
        }
        let now = samples[n - 1].t;
        let span = now - samples[0].t;
        if span <= 0.0 {
            return None;
        }
        let at = |t: f64| (t - now) / span;
        let blocks = (n / BLOCK_SAMPLES).min(CURVE_BLOCKS);
        let points: Vec<(f64, f64)> = if blocks >= MIN_CURVE_POINTS {
            (0..blocks)
                .map(|k| {
                    let block = &samples[k * n / blocks..(k + 1) * n / blocks];
                    let t = block[block.len() / 2].t;
                    super::robust::median_of(block.iter().map(|s| s.v)).map(|v| (at(t), v))
                })
                .collect::<Option<_>>()?
        } else {
            samples.iter().map(|s| (at(s.t), s.v)).collect()
        };
        // v = c0 + c1 x + c2 x^2, x the time from now in spans.
        let fit = least_squares(&points, |x| [1.0, x, x * x])?;
        let ([_, c1, c2], sse) = (fit.c, fit.sse);
        // The rate now and the curvature, both towards the wall: with v =
        // c0 + c1 (x + x^2 / (2 c1 / c2)), the rate rises by today's in
        // c1 / (2 c2) spans.
        let (rate, curvature) = (c1 * sign, c2 * sign);
        let tau = span * rate / (2.0 * curvature);
        let noise = sse / (points.len() - 3) as f64;
        (rate > 0.0 && curvature > 0.0 && tau.is_finite() && tau > 0.0).then(|| Self {
            bend: super::ensemble::Bend::accelerating(tau),
            curvature_z: curvature / (noise * fit.third_variance).sqrt(),
            points,
            sse,
        })
    }

    /// Whether it bends by more than its points' noise: its curvature at
    /// least [`FLAT_Z`](super::FLAT_Z) of its standard errors, as a slope
    /// smaller than that is flat.
    pub(super) fn beyond_noise(&self) -> bool {
        self.curvature_z >= super::FLAT_Z
    }

    /// Whether the history bends steadily: the parabola fits its points
    /// better than every line broken once at one of them (two straight
    /// trends joined at a knot, with at least three points on each side,
    /// the knot counted in both), each fitted by least squares as the
    /// parabola is, on as many coefficients. A rate that changed once (a
    /// series flat for a week that then ramps, a new trend after a
    /// release) is such a line, and the parabola through it is the worse
    /// fit; a rate that rises through the whole history is not, and no
    /// knot fits it as well. The noise of a straight trend favours
    /// neither, except by chance. (A curve has at least seven points; one
    /// whose error is not finite is never the better fit.)
    pub(super) fn steady(&self) -> bool {
        (2..self.points.len().saturating_sub(2)).all(|k| {
            let knot = self.points[k].0;
            least_squares(&self.points, |x| [1.0, x, (x - knot).max(0.0)])
                .is_none_or(|broken| self.sse < broken.sse)
        })
    }
}

/// A least-squares fit of [`least_squares`].
struct LeastSquares {
    /// The coefficients of the three functions.
    c: [f64; 3],
    /// The squared error.
    sse: f64,
    /// The third coefficient's variance per unit of the noise's: the
    /// last diagonal element of the inverse of the normal equations'
    /// matrix.
    third_variance: f64,
}

/// Least squares of the values of `points` (x, v) on three functions of
/// x (`basis`). The normal equations, solved by Cramer's rule; `None` when
/// they are singular.
fn least_squares(points: &[(f64, f64)], basis: impl Fn(f64) -> [f64; 3]) -> Option<LeastSquares> {
    let mut m = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for &(x, v) in points {
        let f = basis(x);
        for (i, fi) in f.iter().enumerate() {
            for (j, fj) in f.iter().enumerate() {
                m[i][j] += fi * fj;
            }
            b[i] += fi * v;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d == 0.0 || !d.is_finite() {
        return None;
    }
    let mut c = [0.0; 3];
    for (j, cj) in c.iter_mut().enumerate() {
        let mut mj = m;
        for (row, bi) in mj.iter_mut().zip(b) {
            row[j] = bi;
        }
        *cj = det(&mj) / d;
    }
    let sse = points
        .iter()
        .map(|&(x, v)| {
            let f = basis(x);
            (v - c[0] * f[0] - c[1] * f[1] - c[2] * f[2]).powi(2)
        })
        .sum();
    Some(LeastSquares {
        c,
        sse,
        third_variance: (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d,
    })
}

/// Least squares of `rates` on a steady part and a decaying one (`xs`:
/// the decaying part at each block as a multiple of what is left of it
/// now), the steady part at least 0; the two parts now, `None` when
/// nothing decays.
fn steady_and_decaying(xs: &[f64], rates: &[Sample]) -> Option<(f64, f64)> {
    let n = xs.len() as f64;
    let (mx, my) = (
        xs.iter().sum::<f64>() / n,
        rates.iter().map(|r| r.v).sum::<f64>() / n,
    );
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(rates)
        .map(|(x, r)| (x - mx) * (r.v - my))
        .sum();
    if sxx.is_nan() || sxx <= 0.0 {
        return None;
    }
    let decaying = sxy / sxx;
    let steady = my - decaying * mx;
    let (steady, decaying) = if steady < 0.0 {
        // No steady part: the decaying one alone, through the origin.
        let sxx0: f64 = xs.iter().map(|x| x * x).sum();
        let sxy0: f64 = xs.iter().zip(rates).map(|(x, r)| x * r.v).sum();
        (0.0, sxy0 / sxx0)
    } else {
        (steady, decaying)
    };
    (decaying > 0.0 && decaying.is_finite() && steady.is_finite()).then_some((steady, decaying))
}

#[cfg(test)]
mod tests {
    use super::super::season::YEAR;
    use super::*;

    fn noise(i: usize) -> f64 {
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        (x % 2001) as f64 / 1000.0 - 1.0
    }

    fn series(n: usize, f: impl Fn(usize) -> f64) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample::new(300.0 * i as f64, f(i)))
            .collect()
    }

    #[test]
    fn a_curve_that_accelerates_is_found_through_noise_and_spikes() {
        // Used space rising by 2 a day, and 0.04 a day faster every day (its
        // rate rises by today's in 50 days), hourly for 60 days, through
        // noise of ±3 and a spike of +200 every fifth day.
        let hour = 3600.0;
        let day = 24.0 * hour;
        let s = series(1440, |i| {
            let d = i as f64 / 24.0;
            let spike = if i % 120 == 60 { 200.0 } else { 0.0 };
            100.0 + 2.0 * d + 0.02 * d * d + 3.0 * noise(i) + spike
        })
        .into_iter()
        .map(|x| Sample::new(x.t * 12.0, x.v))
        .collect::<Vec<_>>();
        let bend = accelerating(&s, 1.0).expect("it accelerates");
        assert!(bend.accelerates());
        // Now (day 60) the rate is 2 + 0.04 * 60 = 4.4 a day, rising by
        // 0.04 a day each day: by today's in 110 days.
        let days = bend.tau / day;
        assert!((days - 110.0).abs() < 11.0, "{days}");
        // Free space, the same curve falling towards a wall below.
        let free: Vec<Sample> = s.iter().map(|x| Sample::new(x.t, 1000.0 - x.v)).collect();
        let bend = accelerating(&free, -1.0).expect("it accelerates down");
        assert!((bend.tau / day - 110.0).abs() < 11.0, "{bend:?}");
        // Neither accelerates the other way.
        assert_eq!(accelerating(&s, -1.0), None);
        assert_eq!(accelerating(&free, 1.0), None);
    }

    #[test]
    fn a_history_that_bends_throughout_is_steady_and_a_rate_that_changed_once_is_not() {
        // Two weeks of five-minute samples through noise of ±2 and a spike
        // of +60 every day, all rising towards a wall above, and all with
        // a curve that bends towards it.
        let day = 288.0;
        let curve = |f: &dyn Fn(f64) -> f64| {
            let s = series(14 * 288, |i| {
                let spike = if i % 288 == 100 { 60.0 } else { 0.0 };
                f(i as f64 / day) + 2.0 * noise(i) + spike
            });
            Curve::fit(&s, 1.0).expect("it bends towards the wall")
        };
        // A rate that rises by the same amount every day: steady, through
        // noise five times as large as well.
        let rising = |d: f64| 20.0 + 2.0 * d + 0.2 * d * d;
        let steadily = curve(&rising);
        assert!(steadily.steady());
        assert!(steadily.beyond_noise());
        assert!(curve(&|d| rising(d) + 8.0 * noise((d * day) as usize + 9_999)).steady());
        // Compounding growth, 15% a day, bends throughout too.
        assert!(curve(&|d| 20.0 * (0.15 * d).exp()).steady());
        // Flat for a week, then a ramp; a slow climb that turned steep on
        // day 4, on day 10: each a rate that changed once, where a line
        // broken there fits better than any curve.
        assert!(!curve(&|d| if d < 7.0 {
            20.0
        } else {
            20.0 + 6.0 * (d - 7.0)
        })
        .steady());
        for knee in [4.0, 10.0] {
            let broken = move |d: f64| 20.0 + 2.0 * d + 5.0 * (d - knee).max(0.0);
            assert!(!curve(&broken).steady(), "knee on day {knee}");
        }
    }

    #[test]
    fn a_curve_that_bends_away_or_a_rate_that_points_away_is_no_acceleration() {
        // A fill that tapers: its curve bends away from a wall above.
        let s = series(2000, |i| 100.0 * (1.0 - (-(i as f64) / 1500.0).exp()));
        assert_eq!(accelerating(&s, 1.0), None);
        // Falling ever slower: it bends up, but it falls now.
        let s = series(2000, |i| {
            let x = i as f64 - 2500.0;
            x * x / 1000.0
        });
        assert_eq!(accelerating(&s, 1.0), None);
        // Too few samples for a curve.
        assert_eq!(accelerating(&series(6, |i| (i * i) as f64), 1.0), None);
    }

    #[test]
    fn one_noisy_line_is_one_regime() {
        let s = series(2000, |i| 100.0 + 0.05 * i as f64 + 5.0 * noise(i));
        assert_eq!(current_start(&s), 0);
    }

    #[test]
    fn a_ramp_after_a_flat_stretch_starts_a_regime_where_it_starts() {
        let s = series(2000, |i| {
            let ramp = if i >= 1600 {
                0.5 * (i - 1600) as f64
            } else {
                0.0
            };
            10.0 + ramp + 3.0 * noise(i)
        });
        let k = current_start(&s);
        assert!((1560..=1640).contains(&k), "{k}");
    }

    #[test]
    fn a_cleanup_or_level_shift_starts_a_regime() {
        // A disk filling, cleaned up at 1500, filling again.
        let s = series(2000, |i| {
            let base = if i < 1500 {
                0.2 * i as f64
            } else {
                0.2 * (i - 1500) as f64
            };
            base + 2.0 * noise(i)
        });
        let k = current_start(&s);
        assert!((1495..=1510).contains(&k), "{k}");
        // A CPU level shift from 14 to 17.
        let s = series(
            2000,
            |i| if i < 1200 { 14.0 } else { 17.0 } + 0.8 * noise(i),
        );
        let k = current_start(&s);
        assert!((1190..=1215).contains(&k), "{k}");
    }

    /// A step too recent to be a regime of its own (fewer samples than the
    /// newest regime needs) is not one: the latest split the search may
    /// place would explain it with a line through the samples before the
    /// step and the step itself. It is left to the level; once the step is
    /// old enough to be a regime, the regime starts at it.
    #[test]
    fn a_step_too_recent_to_be_a_regime_starts_none() {
        for n in [240, 2000] {
            let m = newest_segment(n);
            // (A step one sample after the latest split is where the split
            // is: a regime of its own, started by the step.)
            for age in [3, 5, m / 2, m - 2] {
                // Free bytes falling, then a sudden fill, `age` samples ago.
                let s = series(n, |i| {
                    let step = if i >= n - age { -400.0 } else { 0.0 };
                    1000.0 - 0.2 * i as f64 + step + 2.0 * noise(i)
                });
                assert_eq!(current_start(&s), 0, "{n} samples, the step {age} old");
            }
            let s = series(n, |i| {
                let step = if i >= n - 2 * m { -400.0 } else { 0.0 };
                1000.0 - 0.2 * i as f64 + step + 2.0 * noise(i)
            });
            let k = current_start(&s);
            assert!(
                (n - 2 * m - 2..=n - 2 * m + 2).contains(&k),
                "{n} samples, the step {} old: {k}",
                2 * m
            );
        }
    }

    /// A burst or a dip of a few samples that came back (a batch job's
    /// scratch space, written and deleted) is no regime: the newest samples
    /// are on the old line again. Split at it, the trend was a line through
    /// the burst and the samples since, and a steady fill read "not
    /// approaching" (an operator's trial, a minute-long burst four minutes
    /// back). A step that stays, at the same age, is still a regime once it
    /// is old enough to be one.
    #[test]
    fn a_burst_that_came_back_is_not_a_regime() {
        let n = 480;
        let m = min_segment(n);
        for size in [-40.0, 40.0, 150.0] {
            for back in [8, 15, m - 8, m - 2] {
                let s = series(n, |i| {
                    let burst = if (n - back - 5..n - back).contains(&i) {
                        size
                    } else {
                        0.0
                    };
                    50.0 + 0.08 * i as f64 + 3.0 * noise(i) + burst
                });
                assert_eq!(current_start(&s), 0, "a burst of {size}, {back} back");
            }
        }
        let s = series(n, |i| {
            let step = if i >= n - m - 5 { 40.0 } else { 0.0 };
            50.0 + 0.08 * i as f64 + 3.0 * noise(i) + step
        });
        let k = current_start(&s);
        assert!(
            (n - m - 7..=n - m - 3).contains(&k),
            "a step that stays: {k}"
        );
    }

    /// "Back on the old line" is a test that found no difference, and on
    /// autocorrelated noise it finds little: a ramp after a restart's dip
    /// can read as the old flat line while the split is a late one (the
    /// new regime shorter than twice the shortest). Past that, the ramp is
    /// a regime. And a burst that came back, on a steady ramp, is no
    /// regime at any age: holding the burst rule to the shortest regime
    /// (as a review once had it) dropped every page for bursts 100 to 130
    /// samples old.
    #[test]
    fn a_ramp_after_a_dip_is_a_regime_in_the_end_and_a_burst_never() {
        let n = 2016;
        let m = min_segment(n);
        let mut missed = Vec::new();
        for seed in 0..20 {
            // Flat at 50, wandering (lag-1 correlation 0.95); 2m + 30
            // samples ago a dip of 15 for 20 samples, then a ramp of 0.5
            // an hour.
            let wander: Vec<f64> = (0..n)
                .scan(0.0, |w, i| {
                    *w = 0.95 * *w + 0.5 * noise(i + 7919 * seed);
                    Some(*w)
                })
                .collect();
            let dip = 2 * m + 30;
            let s = series(n, |i| {
                let age = n - 1 - i;
                let shape = match dip.checked_sub(age) {
                    Some(k) if k <= 20 => -15.0,
                    Some(k) => 0.5 * (k - 20) as f64 / 12.0,
                    None => 0.0,
                };
                50.0 + shape + wander[i]
            });
            let k = current_start(&s);
            if !(n - dip - 5..=n - dip + 25).contains(&k) {
                missed.push((seed, k));
            }
        }
        assert!(missed.len() <= 1, "{missed:?}");
        for ago in [100, 115, 130, 150] {
            // A ramp of 0.05 an hour from 50; a burst of 30 for 20 samples
            // that ended `ago` samples ago.
            let s = series(n, |i| {
                let age = n - 1 - i;
                let burst = if (ago..ago + 20).contains(&age) {
                    30.0
                } else {
                    0.0
                };
                50.0 + 0.05 * i as f64 / 12.0 + 0.3 * noise(i) + burst
            });
            assert_eq!(current_start(&s), 0, "a burst that ended {ago} samples ago");
        }
    }

    /// A change seen before a recent step is a regime all the same, and a
    /// new slope from where the series was (a kink) is not a step: only a
    /// split that nothing but the step supports is refused.
    #[test]
    fn a_change_before_a_recent_step_or_a_fresh_kink_still_starts_a_regime() {
        for n in [240, 2000] {
            let m = min_segment(n);
            for age in [m + 5, 3 * m / 2, 2 * m - 1] {
                // A disk filling, cleaned up `age` samples ago, filling
                // again, and a step up 5 samples ago.
                let s = series(n, |i| {
                    let since = if i >= n - age { i - (n - age) } else { i };
                    let step = if i >= n - 5 { 20.0 } else { 0.0 };
                    0.2 * since as f64 + step + 2.0 * noise(i)
                });
                let k = current_start(&s);
                assert!(
                    (n - age - 3..=n - age + 3).contains(&k),
                    "{n} samples, cleanup {age} old: {k}"
                );
            }
        }
        // A ramp out of a flat stretch, half a regime old: the split before
        // it stands (nothing but the ramp supports it, but the ramp starts
        // where the series was), and the ramp's slope is seen early.
        let (n, age) = (2000, min_segment(2000) / 2);
        let s = series(n, |i| {
            let ramp = if i >= n - age {
                0.5 * (i - (n - age)) as f64
            } else {
                0.0
            };
            10.0 + ramp + 0.5 * noise(i)
        });
        assert!(current_start(&s) > 0, "a ramp {age} old");
    }

    #[test]
    fn an_accumulating_series_keeps_its_bursts_and_restarts_at_a_reset() {
        // A counter growing in bursts: big jumps up are its growth.
        let s = series(1000, |i| {
            let bursts = [(300, 500.0), (620, 800.0), (900, 300.0)];
            let jumps: f64 = bursts
                .iter()
                .filter(|(at, _)| i >= *at)
                .map(|(_, h)| h)
                .sum();
            0.5 * i as f64 + jumps + 0.3 * noise(i).abs()
        });
        assert_eq!(current_start(&s), 0);
        // The same counter reset to zero at 700.
        let s = series(1000, |i| {
            let base = 0.5 * i as f64 + if i >= 300 { 500.0 } else { 0.0 };
            if i >= 700 {
                base - 850.0
            } else {
                base
            }
        });
        let k = current_start(&s);
        assert!((695..=705).contains(&k), "{k}");
    }

    #[test]
    fn bursts_of_spikes_are_not_a_regime() {
        let s = series(1000, |i| {
            let spike = if (500..740).contains(&i) && i % 7 == 0 {
                400.0
            } else {
                0.0
            };
            500.0 + 0.6 * i as f64 + 1.0 * noise(i) + spike
        });
        assert_eq!(current_start(&s), 0);
    }

    /// How many of `seeds` random walks with drift, `n` samples `step`
    /// seconds apart, show a rising rate. Each starts at `start` and moves
    /// `drift` plus `spread` times the sum of two noises a sample; seed `k`
    /// takes its noise from `k * stride` on.
    fn walks_with_a_rising_rate(
        seeds: usize,
        n: usize,
        step: f64,
        (start, drift, spread): (f64, f64, f64),
        stride: usize,
    ) -> usize {
        (0..seeds)
            .filter(|seed| {
                let mut v = start;
                let s: Vec<Sample> = (0..n)
                    .map(|i| {
                        let at = i + stride * seed;
                        v += drift + spread * (noise(at) + noise(at + stride / 2));
                        Sample::new(step * i as f64, v)
                    })
                    .collect();
                rate_rises(&s, 1.0)
            })
            .count()
    }

    #[test]
    fn compounding_growth_has_a_rising_rate_and_a_walk_or_a_line_has_not() {
        // Doubling every two days, through 3% noise, seen for three days.
        let s = series(864, |i| {
            100.0 * (i as f64 * 300.0 / (2.0 * 86_400.0)).exp2() * (1.0 + 0.03 * noise(i))
        });
        assert!(rate_rises(&s, 1.0));
        assert!(!rate_rises(&s, -1.0), "rising, not falling");
        // A straight line through the same noise.
        let s = series(864, |i| 100.0 + 0.05 * i as f64 + 3.0 * noise(i));
        assert!(!rate_rises(&s, 1.0));
        // Random walks with drift, whose paths bend by chance: few show a
        // rising rate (4 of these 40; allowing nine falling pairs instead
        // of six, 7).
        let walks = walks_with_a_rising_rate(40, 2016, 300.0, (20.0, 0.04, 0.3), 10_000);
        assert!(walks <= 4, "{walks} of 40 walks");
        // Too short to tell: four blocks of three samples are the fewest.
        assert!(!rate_rises(&series(11, |i| (i as f64).exp()), 1.0));
    }

    #[test]
    fn a_short_history_shows_compounding_by_fewer_blocks() {
        // Fifteen yearly samples growing 12% a year through 2% noise (a
        // census, a yearly total): five blocks of three samples.
        let yearly = |n: usize, f: &dyn Fn(usize) -> f64| -> Vec<Sample> {
            (0..n).map(|i| Sample::new(YEAR * i as f64, f(i))).collect()
        };
        let s = yearly(15, &|i| {
            100.0 * 1.12_f64.powi(i as i32) * (1.0 + 0.02 * noise(i))
        });
        assert!(rate_rises(&s, 1.0));
        // A straight line through the same noise does not.
        let s = yearly(15, &|i| 100.0 + 12.0 * i as f64 + 2.0 * noise(i));
        assert!(!rate_rises(&s, 1.0));
        // Nor do random walks with drift more often than the test's 5%
        // allows (16 of these 400).
        let walks = walks_with_a_rising_rate(400, 15, YEAR, (100.0, 3.0, 4.0), 1_000);
        assert!(walks <= 24, "{walks} of 400 walks");
    }

    #[test]
    fn a_rate_that_decays_is_told_from_one_that_settles_into_a_steady_climb() {
        // Towards 100 from 20, the rate falling by e every two days, seen
        // for four days through noise: no steady part to speak of, and a
        // time constant near two days.
        let day = 86_400.0;
        let s = series(1153, |i| {
            100.0 - 80.0 * (-(i as f64) * 300.0 / (2.0 * day)).exp() + 0.5 * noise(i)
        });
        let bend = easing(&s, 1.0).expect("its rate falls");
        assert!(bend.steady < 0.15, "{bend:?}");
        assert!(bend.tau > day && bend.tau < 4.0 * day, "{bend:?}");
        assert!(
            easing(&s, -1.0).is_none(),
            "falling towards a wall below: no"
        );
        // A ramp of two hours that settled into a steady climb: most of
        // today's rate is the climb's.
        let s = series(361, |i| {
            let t = i as f64 * 300.0;
            10.0 + 40.0 * (1.0 - (-t / 7200.0).exp()) + 20.0 * t / day + 0.5 * noise(i)
        });
        let bend = easing(&s, 1.0).expect("its rate fell");
        assert!(bend.steady > 0.8, "{bend:?}");
        // A straight line's rate does not fall.
        let s = series(1153, |i| 100.0 + 0.05 * i as f64 + 3.0 * noise(i));
        assert_eq!(easing(&s, 1.0), None);
    }

    #[test]
    fn a_staircase_of_small_steps_is_one_growing_regime() {
        // Growth in steps of 10 every 50 samples, with little noise: the
        // shape of a repository's file count or a cumulative byte counter.
        let s = series(2000, |i| 10.0 * (i / 50) as f64 + 0.1 * noise(i));
        let k = current_start(&s);
        assert!(k < 1000, "a long stretch of the staircase is kept: {k}");
    }
}
