//! The ensemble: every candidate trend is backtested on the series' own
//! recent history (rolling origins), its band calibrated by how wrong it
//! was, and the forecast is the candidates' weighted median. A combination
//! is steadier than any one choice: a choice flips between near-equal
//! candidates from one evaluation to the next, a weighted median moves only
//! as far as the evidence does.

use super::{band, level_samples, robust, Eta, Forecast, Source, Status};
use crate::model::Sample;
use std::borrow::Cow;

/// The origins of the rolling backtest, as fractions of the current regime.
pub(super) const ORIGINS: [f64; 3] = [0.5, 0.7, 0.85];
/// The trend windows tried, as fractions of the history up to the origin
/// (within the current regime): the whole regime, or its more recent part
/// for a trend whose slope has changed (a local trend).
pub(super) const WINDOWS: [f64; 2] = [1.0, 0.5];
/// The fewest samples a trend window holds: seven, the fewest whose
/// Theil-Sen slope survives two bad points (its breakdown point is 29%).
/// A count, not a duration: eighteen yearly samples are a short history,
/// and their recent half is a trend too (at twenty, such a history had
/// only its whole-history trend, and a rate that had steepened was
/// forecast at its average: 1.6x late).
pub(super) const MIN_WINDOW: usize = 7;

/// How much lower the backtest error of a trend that eases must be than
/// every straight trend's for `auto` to consider it. (Exponential growth
/// needs only a lower one: the rate test is its evidence, see `fit`.)
pub(super) const CLEARLY_BETTER: f64 = 0.9;

/// The samples of the trailing window `frac` of the first `k` samples.
pub(super) fn window_len(k: usize, frac: f64) -> usize {
    ((k as f64 * frac).ceil() as usize).max(MIN_WINDOW).min(k)
}

/// Which trends an ensemble weighed, for its reason: `noun` in the
/// singular ("straight trend"), counted when the reason is written, and
/// `note` after it (" (compounding not established)").
#[derive(Debug, Clone)]
pub(super) struct Why {
    pub(super) noun: String,
    pub(super) note: String,
}

/// What a rolling-origin backtest of one candidate found.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backtest {
    /// Median relative error of its predictions, averaged over the origins
    /// (lower is better; infinite when the history is too short to tell).
    pub(super) error: f64,
    /// How much wider (in variance) its band had to be to hold what
    /// happened: the median squared standardized error over what it is
    /// when the band is exactly right (see `band::Trend::median_z2`). 1
    /// when there is nothing to learn from.
    pub(super) calibration: f64,
}

/// Rolling-origin backtest of the trend that `src` fits on the trailing
/// window `frac` of what it sees: at each origin it is fitted to what came
/// before and scored on what came after, up to now. Origins are placed in `data` from
/// `from` on, the same for every candidate, so that candidates whose regimes
/// differ are still scored on the same stretch of history.
///
/// Each fit is scored extrapolated straight, and with `damped` also damped
/// (see [`damped_reach`]) over the span it was fitted on. Returns both, in
/// that order. Only a straight trend on the values' scale has a damped twin
/// (see `fitted_candidates`): scoring one for the others cost a third more
/// per prediction (two more `exp` on the log scale, a `ln`, and the
/// medians of errors nothing read).
pub(super) fn backtest_error(
    src: Source,
    frac: f64,
    data: &[Sample],
    from: usize,
    damped: bool,
) -> (Backtest, Option<Backtest>) {
    let p = src.p;
    let span = data.len().saturating_sub(from);
    let mut total = [0.0; 2];
    let mut count = 0.0;
    let mut z2: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for origin in ORIGINS {
        let k = from + ((span as f64) * origin) as usize;
        if k < MIN_WINDOW || data.len() - k < 3 {
            continue;
        }
        // What the candidate would have fitted then: its current regime if
        // that had begun long enough before, else the history up to then.
        let begin = if k >= src.start() + MIN_WINDOW {
            src.start()
        } else {
            0
        };
        let known = &p.adjusted[begin..k];
        let head = &known[known.len() - window_len(known.len(), frac)..];
        let anchor = head[head.len() - 1].t;
        // A trend that levels off is fitted on its own time axis, where
        // the anchor is 0, at the time constant the history up to the
        // origin shows (none: it would have been a straight trend then).
        let easing = src.bent.and_then(|e| {
            if e.bend.accelerates() {
                crate::forecast::regime::accelerating(known, src.toward)
            } else {
                crate::forecast::regime::easing(known, src.toward)
            }
        });
        let (axis, origin) = match easing {
            Some(bend) => (Cow::Owned(eased(head, anchor, bend)), 0.0),
            None => (Cow::Borrowed(head), anchor),
        };
        let Some(trend) = src.slope.fit(&axis, origin).map(|l| {
            let k = level_samples(axis.len());
            band::Trend::local(&axis, l, origin, k, src.toward)
        }) else {
            continue;
        };
        let line = trend.line;
        // What the squared standardized errors' median is when the band
        // is right: by Student's t for the points this fit rests on (a
        // normal's would count the heavier tails of an error estimated
        // from few points as the trend's being wrong, and widen a band
        // that `band::Trend::band_z` already widens for them).
        let right = trend.median_z2();
        let tau = anchor - head[0].t;
        let mut errs: [Vec<f64>; 2] = [
            Vec::with_capacity(data.len() - k),
            Vec::with_capacity(if damped { data.len() - k } else { 0 }),
        ];
        for (at, (s, actual)) in (k..).zip(p.adjusted[k..].iter().zip(&data[k..])) {
            let h = match easing {
                Some(bend) => bend.reach(s.t - anchor),
                None => s.t - anchor,
            };
            // The cycle at this sample, as `prepare` took it out.
            let with_cycle = |v: f64| p.season.as_ref().map_or(v, |c| c.with(v, p.offsets[at]));
            let se = trend.se(h);
            let mut score = |i: usize, reach: f64| {
                let fitted = line.intercept + line.slope * reach;
                let predicted = p.scale.from(with_cycle(fitted));
                // Relative errors where they are defined: growth is judged
                // by how many percent it misses, not by bytes that a larger
                // level makes larger.
                errs[i].push(if actual.v > 0.0 && predicted > 0.0 {
                    (actual.v / predicted).ln().abs()
                } else {
                    (actual.v - predicted).abs() / actual.v.abs().max(f64::MIN_POSITIVE)
                });
                if se > 0.0 {
                    z2[i].push(((s.v - fitted) / se).powi(2) / right);
                }
            };
            score(0, h);
            if damped {
                score(1, damped_reach(h, tau));
            }
        }
        // Both lists have an error for every prediction, or the damped one
        // none at all when it is not scored.
        if let Some(a) = robust::median(&errs[0]) {
            total[0] += a;
            if let Some(b) = robust::median(&errs[1]) {
                total[1] += b;
            }
            count += 1.0;
        }
    }
    let tested = |i: usize| {
        let calibration =
            robust::median(&z2[i]).map_or(1.0, |m| m.clamp(MIN_CALIBRATION, MAX_CALIBRATION));
        Backtest {
            error: if count == 0.0 {
                f64::INFINITY
            } else {
                total[i] / count
            },
            calibration,
        }
    };
    (tested(0), damped.then(|| tested(1)))
}

/// How far a damped trend has carried at `h` seconds: as far as a straight
/// one at first, then less and less, never beyond `tau` seconds' worth of
/// its slope. A trend is extrapolated at most as far as it was observed:
/// `tau` is the span it was fitted on. Series that meander (a temperature,
/// a random walk) have trends that do not last; the backtests weigh this
/// member against the straight one.
pub(super) fn damped_reach(h: f64, tau: f64) -> f64 {
    if tau > 0.0 && h > 0.0 {
        tau * (1.0 - (-h / tau).exp())
    } else {
        h
    }
}

/// The time axis of a trend whose rate eases: `h` seconds from now fall
/// at `steady * h + (1 - steady) * tau * (1 - e^(-h / tau))`. Its rate
/// now is the trend's slope on this axis; a share `steady` of it lasts,
/// the rest falls by `e` every `tau` seconds. `steady` 0 levels off
/// towards the trend's level plus its slope times `tau` (a warm-up, a
/// cache settling); 1 is a straight trend. Before now as after it.
///
/// An infinite `steady` is a rate that rises without end, by today's rate
/// every `tau` seconds: growth that accelerates steadily, whose curve is a
/// parabola, `h + h^2 / (2 tau)` (see [`Bend::accelerating`]). Before its
/// vertex, `tau` seconds ago, the axis stays at the vertex.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bend {
    pub(super) tau: f64,
    pub(super) steady: f64,
}

impl Bend {
    /// The damped twin of a trend seen over `span` seconds (see
    /// [`damped_reach`]).
    pub(super) fn damped(span: f64) -> Self {
        Self {
            tau: span,
            steady: 0.0,
        }
    }

    /// The axis of growth whose rate rises by today's every `tau`
    /// seconds.
    pub(super) fn accelerating(tau: f64) -> Self {
        Self {
            tau,
            steady: f64::INFINITY,
        }
    }

    /// Whether the rate rises without end (see [`Bend::accelerating`]).
    pub(super) fn accelerates(self) -> bool {
        self.steady == f64::INFINITY
    }

    /// Where `h` seconds from now fall on the axis.
    pub(super) fn reach(self, h: f64) -> f64 {
        if self.tau.is_nan() || self.tau <= 0.0 {
            return h;
        }
        if self.accelerates() {
            let h = h.max(-self.tau);
            return h + h * h / (2.0 * self.tau);
        }
        self.steady * h - (1.0 - self.steady) * self.tau * (-h / self.tau).exp_m1()
    }

    /// When the axis reaches `x` (at least 0): the inverse of
    /// [`Bend::reach`]; infinite when it never does.
    pub(super) fn time(self, x: f64) -> f64 {
        if !(self.tau > 0.0 && x > 0.0) {
            return x;
        }
        if self.accelerates() {
            if !x.is_finite() {
                return x;
            }
            // The positive root of h^2 / (2 tau) + h = x, in a form that
            // keeps its digits when x is small against tau.
            return 2.0 * x / (1.0 + (1.0 + 2.0 * x / self.tau).sqrt());
        }
        if self.steady <= 0.0 {
            return damped_time(x, self.tau);
        }
        if !x.is_finite() {
            return x;
        }
        // Between x (the axis never runs ahead of time) and x / steady
        // (the steady share alone): `reach` rises through it.
        let (mut lo, mut hi) = (x, x / self.steady);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.reach(mid) < x {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }
}

/// `samples` on the axis of `bend`, `anchor` at 0.
pub(super) fn eased(samples: &[Sample], anchor: f64, bend: Bend) -> Vec<Sample> {
    samples
        .iter()
        .map(|s| Sample::new(bend.reach(s.t - anchor), s.v))
        .collect()
}

/// The time a damped trend takes to cover what a straight one covers in
/// `h`: the inverse of [`damped_reach`]; infinite when it never does.
pub(super) fn damped_time(h: f64, tau: f64) -> f64 {
    if !(tau > 0.0 && h > 0.0) {
        return h;
    }
    if h >= tau {
        return f64::INFINITY;
    }
    -tau * (1.0 - h / tau).ln()
}

/// Bounds on the band's calibration: a handful of backtest points must not
/// shrink a band to nothing or blow it up without limit.
const MIN_CALIBRATION: f64 = 0.25;
const MAX_CALIBRATION: f64 = 400.0;

/// The weighted median of `values` (weights need not sum to one).
fn weighted_median(mut values: Vec<(f64, f64)>) -> f64 {
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = values.iter().map(|v| v.1).sum();
    let mut acc = 0.0;
    for (v, w) in &values {
        acc += w;
        if acc >= total / 2.0 {
            return *v;
        }
    }
    values.last().map_or(f64::NAN, |v| v.0)
}

/// How a member's distribution of the time to wall is read off its `Eta`:
/// its near point, as (time, share of outcomes before it), then its likely
/// time (50%) and its far edge (95%), joined by straight lines (in time)
/// from 0 at the start.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reading {
    /// The band: `lower` is its 5% point.
    Band,
    /// When a page is due: `alert` is its point at this probability (the
    /// settings' `alert_probability`), from the trend's own error.
    Alert(f64),
}

impl Reading {
    fn near(self, e: &Eta) -> (f64, f64) {
        match self {
            Reading::Band => (e.lower, band::LOWER_Q),
            Reading::Alert(p) => (e.alert.min(e.likely), p.clamp(0.0, 0.5)),
        }
    }
}

/// Where a member's far tail, going on as its band's far half did, makes
/// the wall certain.
fn tail_end(e: &Eta) -> f64 {
    let lq = band::LOWER_Q;
    e.upper + (e.upper - e.likely) * lq / (0.5 - lq)
}

/// The `q` quantile of the time to wall under the members taken together,
/// each weighted: a mixture (a linear opinion pool), whose band is as wide
/// as the members' disagreement, where a median of their edges would be
/// only as wide as a typical member's, and whose chance of the wall within
/// a lead time is the members' chances, weighted. Each member's
/// distribution is read off its `Eta` (see [`Reading`]); a member without
/// a time (receding) puts its weight at never.
pub(super) fn mixture_quantile(members: &[(Option<Eta>, f64)], q: f64, reading: Reading) -> f64 {
    let total: f64 = members.iter().map(|m| m.1).sum();
    if total.is_nan() || total <= 0.0 {
        return f64::INFINITY;
    }
    let lq = band::LOWER_Q;
    let cdf = |e: &Eta, t: f64| -> f64 {
        let pts = [
            (0.0_f64, 0.0_f64),
            reading.near(e),
            (e.likely, 0.5),
            (e.upper, 1.0 - lq),
        ];
        if t >= e.upper {
            if !e.upper.is_finite() {
                return 0.5;
            }
            // Certain from the tail's end on, exactly: computed as the
            // candidates below compute it, the line towards it can round
            // short of 1 there (a narrow band far out), and a mixture that
            // reaches `q` only there missed it by the rounding.
            if t >= tail_end(e) {
                return 1.0;
            }
            // The far tail goes on as the band's far half did.
            let slope = (0.5 - lq) / (e.upper - e.likely).max(f64::MIN_POSITIVE);
            return (1.0 - lq + slope * (t - e.upper)).min(1.0);
        }
        // Between the last point at or before `t` and the first after it.
        // Points that coincide (a member at the wall now: its near edge and
        // likely time both 0) are a jump, and the chance at that time is the
        // highest of theirs. (Read from the first of them, such a member had
        // only its near edge's chance, and with no far edge never more.)
        match pts.iter().position(|&(ti, _)| ti > t) {
            Some(0) => 0.0,
            Some(k) => {
                let ((t0, p0), (t1, p1)) = (pts[k - 1], pts[k]);
                if t1.is_finite() {
                    p0 + (p1 - p0) * (t - t0) / (t1 - t0)
                } else {
                    p0
                }
            }
            None => 1.0 - lq,
        }
    };
    let mass = |t: f64| {
        members
            .iter()
            .map(|(e, w)| e.as_ref().map_or(0.0, |e| cdf(e, t)) * w)
            .sum::<f64>()
            / total
    };
    // The candidates where the mixture can reach `q`: every member's points.
    let mut ts: Vec<f64> = members
        .iter()
        .filter_map(|m| m.0)
        .flat_map(|e| [reading.near(&e).0, e.likely, e.upper, tail_end(&e)])
        .filter(|t| t.is_finite())
        .collect();
    ts.sort_by(f64::total_cmp);
    let Some(&hi) = ts.iter().rev().find(|&&t| mass(t) >= q) else {
        return f64::INFINITY;
    };
    // Bisection between the last candidate below q and the first at or above.
    let mut lo = ts
        .iter()
        .copied()
        .filter(|&t| t < hi && mass(t) < q)
        .fold(0.0, f64::max);
    let mut hi = hi;
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if mass(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// When a page is due: the first time by which the wall is
/// `alert_probability` likely within the lead both for most of the
/// evidence and for all of it. Most: the weighted median of the members'
/// own alert times, damped twins included, so that trends that may not
/// last as far as the wall (a meandering series, whose damped twins win
/// their backtests) hold the page back. All: the members' chances taken
/// together (a linear opinion pool, see [`mixture_quantile`]), so that a
/// majority of members that each find the wall just likely enough does not
/// page while the rest see no wall at all.
fn alert_time(members: &[Member], weights: &[f64], alert_probability: f64) -> f64 {
    let alerting = || {
        members
            .iter()
            .zip(weights)
            .filter(|(m, _)| m.role != Role::Shown)
    };
    let voted = weighted_median(
        alerting()
            .map(|(m, w)| (m.forecast.eta.map_or(f64::INFINITY, |e| e.alert), *w))
            .collect(),
    );
    let all: Vec<(Option<Eta>, f64)> = alerting().map(|(m, w)| (m.forecast.eta, *w)).collect();
    let pooled = mixture_quantile(&all, alert_probability, Reading::Alert(alert_probability));
    voted.max(pooled)
}

/// One candidate trend's forecast and how well it predicted the past.
pub(super) struct Member {
    /// Its backtest error (lower is better; infinite when untested).
    pub(super) error: f64,
    /// Its share of one vote: members that are one trend read in several
    /// ways (a window's rate by Theil-Sen and by its mean) split the vote
    /// that trend has, so that the count of readings does not outvote the
    /// backtests. 1 for a trend read once.
    pub(super) share: f64,
    pub(super) forecast: Forecast,
    pub(super) role: Role,
}

/// What a member takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A trend: the times shown, the band and when to alert.
    Trend,
    /// A damped trend: when to alert, not the times shown. (So is a
    /// straight trend across regimes that compounding growth's curve made,
    /// see `fit`.)
    Damped,
    /// A trend the evidence neither establishes nor rules out (compounding
    /// growth that did not clear `auto`'s gates): the band's near edge
    /// allows for it, nothing else does. A straight trend through growth
    /// that compounds reaches the wall late, and its band with it.
    Alternative,
    /// A trend for the times shown and the band, not for when to alert:
    /// growth that accelerates, seen as a curve through the whole history
    /// (see `fit`). It moves the likely time towards the curve where the
    /// straight trends fall behind it; a page still needs the straight
    /// trends of the current regime.
    Shown,
}

/// Combines the members' forecasts, each weighted by how well it predicted
/// the series' own recent past (and, for the times shown and the band, by
/// its share of a vote: see [`Member::share`]): the likely time is their
/// weighted median,
/// the band the 5% and 95% points of all of them taken together, and the
/// alert time the point by which the wall is `alert_probability` likely
/// under all of them taken together (see [`mixture_quantile`]). A
/// combination is steadier than any one choice: a choice flips between
/// near-equal candidates from one evaluation to the next, a weighted median
/// moves only as far as the evidence does; and its band is as wide as their
/// disagreement.
///
/// The times shown are the straight, exponential and accelerating
/// members'. The alert time is every member's but the accelerating ones'
/// (see [`Role::Shown`]), damped ones included: an alert weighs whether
/// the trend will last as far as the wall, a doubt that a series which
/// meanders (a temperature, a random walk) earns in its backtests. Meeting
/// it costs a page; the times on a dashboard stay the trend's. Members
/// that see no wall (flat, receding, or damped short of it) count as no
/// chance of it: a page needs the chance of the wall within the lead over
/// all the evidence, not a majority of members that each find it likely
/// enough.
///
/// The model, level, rate, cycle and regime shown are those of the member
/// whose likely time is shown.
///
/// Alternatives (see [`Role::Alternative`]) only move the band's near edge
/// sooner. `members` must hold at least one that is not an alternative.
pub(super) fn combine(members: Vec<Member>, why: &Why, alert_probability: f64) -> Forecast {
    let (alternatives, members): (Vec<Member>, Vec<Member>) = members
        .into_iter()
        .partition(|m| m.role == Role::Alternative);
    let finite: Vec<f64> = members
        .iter()
        .map(|m| m.error)
        .filter(|e| e.is_finite())
        .collect();
    let floor = finite
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .max(f64::MIN_POSITIVE);
    // Inversely to the error, relative to the best member's, so that the
    // weights stay within (0, 1]: errors of exactly zero (a noiseless line)
    // would otherwise make weights of 1 / MIN_POSITIVE, whose sum overflows.
    let weight = |e: f64| {
        if finite.is_empty() {
            1.0
        } else if e.is_finite() {
            floor / e.max(floor)
        } else {
            0.0
        }
    };
    let weights: Vec<f64> = members.iter().map(|m| weight(m.error) * m.share).collect();
    // Without a straight member (only damped ones could be tested), all
    // members speak for the times shown.
    let only_damped = members.iter().all(|x| x.role == Role::Damped);
    let shown = |m: &Member| matches!(m.role, Role::Trend | Role::Shown) || only_damped;
    let best = weights
        .iter()
        .enumerate()
        .filter(|(i, _)| shown(&members[*i]))
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    let bands: Vec<(Option<Eta>, f64)> = members
        .iter()
        .zip(&weights)
        .filter(|(m, _)| shown(m))
        .map(|(m, w)| (m.forecast.eta, *w))
        .collect();
    let likely = weighted_median(
        bands
            .iter()
            .map(|(e, w)| (e.map_or(f64::INFINITY, |e| e.likely), *w))
            .collect(),
    );
    let own_lower = mixture_quantile(&bands, band::LOWER_Q, Reading::Band);
    let upper = mixture_quantile(&bands, 1.0 - band::LOWER_Q, Reading::Band);
    // The alternatives, weighted as the members are, widen the band where
    // they would reach the wall sooner; they do not narrow it.
    let lower = if alternatives.is_empty() {
        own_lower
    } else {
        let with_alternatives: Vec<(Option<Eta>, f64)> = bands
            .iter()
            .copied()
            .chain(
                alternatives
                    .iter()
                    .map(|m| (m.forecast.eta, weight(m.error) * m.share)),
            )
            .collect();
        own_lower.min(mixture_quantile(
            &with_alternatives,
            band::LOWER_Q,
            Reading::Band,
        ))
    };
    // When to alert counts each reading of a trend as a vote of its own:
    // a damped twin is a doubt that its trend lasts to the wall, and on
    // compounding series those doubts are what hold the exponential
    // trends' page back until the wall is near. Shared, the doubts halved
    // and the held-out set's consumption and CPI paged three times early.
    let unshared: Vec<f64> = members.iter().map(|m| weight(m.error)).collect();
    let alert = alert_time(&members, &unshared, alert_probability);
    let total: f64 = weights.iter().sum();
    // The member whose likely time is the one shown (the heaviest of those
    // that give it) speaks for the model, the level, the rate, the cycle
    // and the regime: a dashboard's growth rate then points the way its
    // time to wall does. (The heaviest member's rate can point away: after
    // a restart's drop, a trend across both regimes can still fall while
    // most of the weight sees the climb.) Without a likely time, the
    // heaviest member speaks.
    let (voice, role) = if likely.is_finite() {
        let gives_it = |i: &usize| {
            shown(&members[*i]) && members[*i].forecast.eta.is_some_and(|e| e.likely == likely)
        };
        let voice = (0..members.len())
            .filter(gives_it)
            .max_by(|a, b| weights[*a].total_cmp(&weights[*b]))
            .unwrap_or(best);
        (voice, "the likely time is that of")
    } else {
        (best, "the heaviest is")
    };
    let mut out = members[voice].forecast.clone();
    let spoke = out.reason.clone();
    out.reason = format!(
        "{}: weighted median by backtest error of {}{}; {role} {spoke} ({:.0}% of the weight)",
        out.model,
        crate::evaluate::count(members.len(), &why.noun),
        why.note,
        100.0 * weights[voice] / total.max(f64::MIN_POSITIVE),
    );
    if out.status == Status::Breached {
        return out;
    }
    if likely.is_finite() {
        out.status = Status::Approaching;
        // Not capped at `likely`: when the damped members doubt that the
        // trend lasts, or the chance pooled over all members falls short
        // (see `alert_time`), the alert waits for more evidence than the
        // likely time alone would give. But a trend at the wall now has
        // nothing left to last through: "reaches it now by its trend"
        // beside "the alert waits" (a page firing meanwhile) contradicts
        // itself.
        let alert = if likely <= 0.0 {
            0.0
        } else {
            alert.max(own_lower.min(likely))
        };
        out.eta = Some(Eta {
            lower: lower.min(likely),
            likely,
            upper: upper.max(likely),
            alert,
        });
        // Beyond rounding: an alert a hair after the likely time is the
        // likely time.
        if alert > likely * (1.0 + 1e-6) {
            out.reason
                .push_str("; the alert waits: damped trends doubt that this one lasts to the wall");
        }
        if lower < own_lower.min(likely) {
            out.reason
                .push_str("; the band's near edge allows for growth that compounds");
        }
    } else {
        out.status = Status::Receding;
        out.eta = None;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why() -> Why {
        Why {
            noun: "trend".into(),
            note: String::new(),
        }
    }

    fn eta(lower: f64, likely: f64, upper: f64) -> Option<Eta> {
        Some(Eta {
            lower,
            likely,
            upper,
            alert: lower,
        })
    }

    /// Members already at the wall (likely and near edge at 0, no far
    /// edge) make it as likely now as they are many: half of each one's
    /// weight, not the near edge's share of it.
    #[test]
    fn members_at_the_wall_now_make_it_likely_now() {
        let now = Eta {
            lower: 0.0,
            likely: 0.0,
            upper: f64::INFINITY,
            alert: 0.0,
        };
        let members = [(Some(now), 1.0), (Some(now), 1.0), (None, 1.5)];
        // Two members of weight 1 in 3.5, each with half its chance at 0:
        // 2/7 now.
        assert_eq!(mixture_quantile(&members, 0.25, Reading::Alert(0.25)), 0.0);
        assert!(mixture_quantile(&members, 0.3, Reading::Alert(0.25)).is_infinite());
    }

    /// One member of two reaches the wall, with a narrow band far out (a
    /// noiseless trend): the pooled chance is half at its tail's end, so a
    /// page at 50% is due there. The line towards the tail's end, 3e-7 s
    /// long at 3,290 s, rounded short of certain, and the page never came.
    #[test]
    fn half_the_members_certain_make_the_wall_half_likely() {
        let narrow = Eta {
            lower: 3290.819796674614,
            likely: 3290.819796674614,
            upper: 3290.8197997394286,
            alert: 3290.819796674614,
        };
        let members = [(Some(narrow), 1.0), (None, 1.0)];
        let page = mixture_quantile(&members, 0.5, Reading::Alert(0.5));
        assert_eq!(page, tail_end(&narrow));
        assert!(page > narrow.upper && page < narrow.upper + 1e-6, "{page}");
    }

    #[test]
    fn the_bent_axis_is_inverted_and_a_plateau_short_of_the_wall_is_never() {
        let day = 86_400.0;
        for steady in [0.0, 0.3, 0.9, 1.0] {
            let bend = Bend { tau: day, steady };
            for h in [60.0, 3600.0, day, 5.0 * day] {
                let x = bend.reach(h);
                assert!(x <= h * (1.0 + 1e-12), "never ahead of the clock");
                let back = bend.time(x);
                assert!(
                    (back - h).abs() <= 1e-6 * h,
                    "{steady}: {h} -> {x} -> {back}"
                );
            }
            // Before now the axis runs further back than the clock.
            assert!(bend.reach(-day) <= -day);
        }
        // Without a steady part the axis levels off at tau: beyond it, never.
        let plateau = Bend {
            tau: day,
            steady: 0.0,
        };
        assert_eq!(plateau.time(1.5 * day), f64::INFINITY);
        assert_eq!(Bend::damped(day), plateau);
    }

    #[test]
    fn an_accelerating_axis_runs_ahead_of_the_clock_and_is_inverted() {
        let day = 86_400.0;
        let bend = Bend::accelerating(10.0 * day);
        assert!(bend.accelerates() && !Bend::damped(day).accelerates());
        for h in [1.0, 60.0, 3600.0, day, 30.0 * day, 1e4 * day] {
            let x = bend.reach(h);
            // The rate rises by today's every tau: h + h^2 / (2 tau).
            assert!(
                (x - (h + h * h / (20.0 * day))).abs() <= 1e-9 * x,
                "{h}: {x}"
            );
            let back = bend.time(x);
            assert!((back - h).abs() <= 1e-9 * h, "{h} -> {x} -> {back}");
        }
        // Before its vertex, tau ago, the curve is at the vertex.
        assert_eq!(bend.reach(-20.0 * day), bend.reach(-10.0 * day));
        assert_eq!(bend.time(f64::INFINITY), f64::INFINITY);
    }

    /// A member shown but not alerting (a parabola through the whole
    /// history) moves the likely time and the band; the page stays where
    /// the trends put it.
    #[test]
    fn an_accelerating_member_moves_the_times_shown_not_the_page() {
        let why = why();
        let straight = || member(eta(8.0, 10.0, 12.0));
        let curve = Member {
            error: 0.5,
            role: Role::Shown,
            ..member(eta(4.0, 5.0, 6.0))
        };
        let alone = combine(vec![straight(), straight()], &why, 0.3)
            .eta
            .expect("approaching");
        let with = combine(vec![straight(), straight(), curve], &why, 0.3)
            .eta
            .expect("approaching");
        assert_eq!(alone.likely, 10.0);
        // The curve (weight 1 against the trends' 0.5 each) carries the
        // weighted median, and the band's near edge with it.
        assert_eq!(with.likely, 5.0);
        assert!(with.lower < 6.0, "{with:?}");
        // The page is the trends' alone.
        assert_eq!(with.alert, alone.alert);
    }

    /// Two readings of one trend (a window's rate by Theil-Sen and by its
    /// mean) are one vote against another trend that backtested as well:
    /// counted as two, they would outvote it whatever the backtests said.
    /// When to alert still counts each reading (see `combine`).
    #[test]
    fn one_trend_read_two_ways_is_one_vote() {
        let why = why();
        let reading = |share: f64| Member {
            share,
            ..member(eta(16.0, 20.0, 24.0))
        };
        let other = || member(eta(8.0, 10.0, 12.0));
        let counted_twice = combine(vec![reading(1.0), reading(1.0), other()], &why, 0.3)
            .eta
            .expect("approaching");
        let shared = combine(vec![reading(0.5), reading(0.5), other()], &why, 0.3)
            .eta
            .expect("approaching");
        assert_eq!(counted_twice.likely, 20.0);
        assert_eq!(shared.likely, 10.0);
        // The band's near edge follows the other trend's weight.
        assert!(
            shared.lower < counted_twice.lower,
            "{shared:?} {counted_twice:?}"
        );
        assert_eq!(shared.alert, counted_twice.alert);
    }

    #[test]
    fn members_that_agree_keep_their_band() {
        let m = [(eta(8.0, 10.0, 12.0), 1.0), (eta(8.0, 10.0, 12.0), 3.0)];
        assert!((mixture_quantile(&m, 0.05, Reading::Band) - 8.0).abs() < 1e-6);
        assert!((mixture_quantile(&m, 0.95, Reading::Band) - 12.0).abs() < 1e-6);
        assert!((mixture_quantile(&m, 0.5, Reading::Band) - 10.0).abs() < 1e-6);
    }

    #[test]
    fn members_that_disagree_widen_the_band_to_hold_both() {
        let m = [(eta(8.0, 10.0, 12.0), 1.0), (eta(16.0, 20.0, 24.0), 1.0)];
        let (lo, hi) = (
            mixture_quantile(&m, 0.05, Reading::Band),
            mixture_quantile(&m, 0.95, Reading::Band),
        );
        assert!((8.0..10.0).contains(&lo), "{lo}");
        assert!(hi > 20.0 && hi <= 24.5, "{hi}");
        // A median of the edges would have been 12 .. 18: both likely times
        // would fall outside half of it.
    }

    fn member(eta: Option<Eta>) -> Member {
        Member {
            error: 1.0,
            share: 1.0,
            forecast: Forecast {
                status: if eta.is_some() {
                    Status::Approaching
                } else {
                    Status::Receding
                },
                model: super::super::ModelChoice::Robust,
                reason: String::new(),
                current_value: None,
                level: f64::NAN,
                rate: f64::NAN,
                eta,
                samples: 0,
                period: None,
                regime_start: None,
                breached_at: None,
                steady_until: f64::INFINITY,
            },
            role: Role::Trend,
        }
    }

    #[test]
    fn a_page_needs_the_wall_likely_enough_for_most_members_and_for_all_of_them() {
        let soon = Some(Eta {
            lower: 0.5,
            likely: 10.0,
            upper: 20.0,
            alert: 1.0,
        });
        // Members that agree page at their own alert time.
        let agree = [member(soon), member(soon), member(soon)];
        assert!((alert_time(&agree, &[1.0; 3], 0.25) - 1.0).abs() < 1e-6);
        // Two of three find the wall 25% likely by 1, but the third sees
        // none: by 1 it is 2/3 x 25% likely. Pooled, 25% comes when each of
        // the two gives it 37.5%, half way from 1 to 10.
        let split = [member(soon), member(soon), member(None)];
        let t = alert_time(&split, &[1.0; 3], 0.25);
        assert!((t - 5.5).abs() < 1e-6, "{t}");
        // Most of the weight on members that see no wall: no page at all.
        let doubt = [member(soon), member(None), member(None)];
        assert_eq!(alert_time(&doubt, &[1.0; 3], 0.25), f64::INFINITY);
    }

    /// After a restart's drop, the trend across both regimes falls and is
    /// the heaviest member, while most of the weight sees the climb since:
    /// the rate and the model shown are the climb's, whose time is shown,
    /// not a falling rate beside a time to the wall.
    #[test]
    fn the_rate_shown_is_that_of_the_trend_whose_time_is_shown() {
        let across = Member {
            error: 0.5,
            share: 1.0,
            forecast: Forecast {
                rate: -2.0,
                model: super::super::ModelChoice::Exponential,
                reason: "across the restart".into(),
                ..member(None).forecast
            },
            ..member(None)
        };
        let climb = |reason: &str| {
            let mut m = member(eta(5.0, 10.0, 20.0));
            m.forecast.rate = 1.0;
            m.forecast.reason = reason.into();
            m
        };
        let f = combine(vec![climb("recent"), across, climb("whole")], &why(), 0.25);
        assert_eq!(f.status, Status::Approaching);
        assert_eq!(f.eta.map(|e| e.likely), Some(10.0));
        assert_eq!(f.rate, 1.0);
        assert_eq!(f.model, super::super::ModelChoice::Robust);
        assert!(
            f.reason
                .contains("; the likely time is that of whole (25% of the weight)"),
            "{}",
            f.reason
        );
        // Without a likely time the heaviest member speaks.
        let heavier = Member {
            error: 0.5,
            share: 1.0,
            ..member(None)
        };
        let gone = combine(vec![heavier, climb("recent")], &why(), 0.25);
        assert_eq!(gone.status, Status::Receding);
        assert!(
            gone.reason.contains("; the heaviest is "),
            "{}",
            gone.reason
        );
    }

    #[test]
    fn a_member_that_says_never_leaves_the_far_edge_open() {
        let m = [(eta(8.0, 10.0, 12.0), 1.0), (None, 1.0)];
        assert!(mixture_quantile(&m, 0.05, Reading::Band) < 10.0);
        assert_eq!(mixture_quantile(&m, 0.95, Reading::Band), f64::INFINITY);
        assert_eq!(mixture_quantile(&[], 0.05, Reading::Band), f64::INFINITY);
    }
}
