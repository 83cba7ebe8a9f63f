//! Backtesting: replays a series' own history to show how the forecaster
//! would have done on it. A user who doubts a forecast can check it against
//! the walls their metrics really hit.
//!
//! The protocol:
//! 1. **Truth.** The series reaches the wall the first time the median of
//!    [`truth_window`] samples in a row is at or past it: as runway judges a
//!    breach (most of its newest samples past the wall), so that one or two
//!    spikes are not a crossing but a cycle's peak or a sawtooth's top that
//!    holds past the wall is, as the forecast times it. The crossing is
//!    timed at the middle of that window (see [`first_crossing`]), which is
//!    the first sample past the wall. A series that never gets there is
//!    *censored*: the wall is not reached within the data.
//! 2. **Cuts.** `cuts` evenly spaced instants from 20% of the span up to the
//!    crossing (or, without one, up to the end of the data minus the lead
//!    time, so that every cut has a lead's worth of data after it); fewer
//!    where that range holds fewer samples, one cut per newest sample. At each
//!    cut `t` the forecaster sees only the samples at or before `t` (and,
//!    for a configured limit, none before `t - lookback`, as the daemon
//!    sees them), with `now = t`; the truth there is `tau = crossing - t`.
//! 3. **Scores.**
//!    - eta error `|ln(predicted / tau)|`, capped at ln 10, and ln 10 when
//!      the forecaster gives no time or zero (already breached): its median,
//!      and the share within a factor 1.5 (`ln 1.5`). Only cuts with a
//!      known tau count.
//!    - alerts (`Forecast::within(lead)`, as the daemon decides) against
//!      "the wall is reached within the lead": precision, recall, F1. A cut
//!      whose truth is censored and whose remaining data is shorter than the
//!      lead cannot be judged and is left out.
//!    - false alarms: alerts at cuts where the wall is further than the lead
//!      (or not reached within the lead's worth of data that follows).
//!    - which way the times err: the shares of cuts with a known tau at
//!      which the likely time was late (more than [`ON_TIME_FACTOR`] times
//!      tau, or no time was given) and early (less than tau over it, or
//!      "breached"); the others are on time, and count neither way.
//!    - band coverage: the share of cuts with a known tau that fall inside
//!      the band `[lower, upper]`; the band is a nominal 90% one. And the
//!      shares that fall before it and after it (5% each, nominally).
//!    - the models chosen, counted.
//!
//! [`replay`] runs the protocol for any forecaster and any truth (the
//! accuracy benchmark feeds it exact truths and a `predict_linear`
//! baseline); [`backtest`] is the user's case: truth from the data, runway's
//! own forecaster. *Invariant:* pure like `forecast/`: no I/O, no clock.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::evaluate::{format_value, human_duration, rfc3339};
use crate::forecast::{self, Forecast, ModelChoice, Seasonality, Settings, Status};
use crate::model::{Direction, Sample, UnixSeconds};

/// The first cut sits this far into the span: the forecaster needs some
/// history before it can be judged.
pub const START_FRACTION: f64 = 0.2;
/// The eta error of a useless answer: off by a factor of ten.
pub const ETA_ERROR_CAP: f64 = std::f64::consts::LN_10;
/// A prediction within this factor of the truth is a hit.
pub const HIT_FACTOR: f64 = 1.5;
/// The coverage the band promises.
pub const NOMINAL_COVERAGE: f64 = 0.9;
/// A likely time within this factor of the truth is on time, neither late
/// nor early: the truth is known only to a sample, and a time a few minutes
/// off on a horizon of hours leans no way a team should act on. Counted
/// strictly, an exact forecaster of a noisy line reads "late at 90% of
/// cuts" beside "eta within 1.0x".
pub const ON_TIME_FACTOR: f64 = 1.1;

/// How many samples the median that decides the truth spans: runway's
/// breach window ([`forecast::BREACH_WINDOW`]), so that the backtest's
/// crossing is the instant at which the daemon, had it run then, would
/// first have called the series breached; fewer for a series that has
/// fewer, odd so that the median is a sample.
///
/// (The shared evaluation protocol smooths over about 1% of the samples
/// instead: seven hours of a month at five minutes, which a cycle's peak or
/// a sawtooth's top past the wall never fills, so that a forecast that met
/// the first one to the minute read as a false alarm.)
pub fn truth_window(points: usize) -> usize {
    let w = forecast::BREACH_WINDOW.min(points).max(1);
    // An even count is rounded down to the odd one below it.
    w - (1 - w % 2)
}

/// When the series first reaches `wall`: the first window of `smooth`
/// samples whose median is at or past it, timed at the window's middle
/// sample. A median speaks for the middle of its window; timed at its newest
/// sample, a trailing median would be late by half a window (on a steady
/// ramp by exactly that, on a step too), a bias that alone pushes the truth
/// out of a tight band. `samples` must be finite and in time order (see
/// [`clean`]).
pub fn first_crossing(
    samples: &[Sample],
    wall: f64,
    direction: Direction,
    smooth: usize,
) -> Option<UnixSeconds> {
    let smooth = smooth.max(1);
    if samples.len() < smooth {
        return None;
    }
    // The median (the window's element `smooth / 2` in ascending order) is
    // at or past the wall exactly when enough of the window is: for a wall
    // above, the top `smooth - smooth / 2` elements; for a wall below, the
    // bottom `smooth / 2 + 1`. Counting them as the window slides is
    // O(n), where keeping the window sorted was O(n * smooth): seconds for
    // a few million points, which a source that ignores the step can send.
    let needed = match direction {
        Direction::Rising => smooth - smooth / 2,
        Direction::Falling => smooth / 2 + 1,
    };
    let past = |s: &Sample| usize::from(direction.gap(s.v, wall) <= 0.0);
    let mut count: usize = samples[..smooth - 1].iter().map(past).sum();
    for (i, s) in samples.iter().enumerate().skip(smooth - 1) {
        count += past(s);
        if count >= needed {
            return Some(samples[i - smooth / 2].t);
        }
        count -= past(&samples[i + 1 - smooth]);
    }
    None
}

/// The finite samples in time order: what every step of the protocol sees.
pub fn clean(samples: &[Sample]) -> Vec<Sample> {
    let mut out: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.t.is_finite() && s.v.is_finite())
        .collect();
    crate::model::in_time_order(&mut out);
    out
}

/// What the protocol asks of every forecaster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    pub wall: f64,
    pub direction: Direction,
    /// Alert window, in seconds.
    pub lead: f64,
    /// How many cuts.
    pub cuts: usize,
    /// How far back the forecaster sees from each cut, when it sees a
    /// window rather than everything before it: a configured limit's
    /// lookback, so that a replay scores the forecasts the daemon makes.
    pub lookback: Option<f64>,
}

/// One forecaster's answer at one cut, in the terms the scores need.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub status: Status,
    /// Which model answered (for runway, the model `auto` chose).
    pub model: String,
    /// Likely seconds to the wall; 0 when breached; `None` when the
    /// forecaster says the wall is not approached.
    pub likely: Option<f64>,
    /// The band's edges, when the forecaster gives a band (see `banded`);
    /// `upper` may be infinite.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Does this forecaster give a band at all? Baselines without one are
    /// left out of the coverage rather than scored as missing it.
    pub banded: bool,
    pub alert: bool,
}

impl Prediction {
    /// A runway forecast, with its alert decided as the daemon decides it.
    pub fn of_forecast(f: &Forecast, lead: f64) -> Self {
        Self {
            status: f.status,
            model: f.model.as_str().to_string(),
            likely: f.eta.map(|e| e.likely),
            lower: f.eta.map(|e| e.lower),
            upper: f.eta.map(|e| e.upper),
            banded: true,
            alert: f.within(lead),
        }
    }
}

/// One cut of the replay: what was known, what was predicted, how it scored.
/// Times are seconds; a `null` time in JSON means "none": not approaching,
/// or for the upper edge, no promise that the wall is ever reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    /// The cut, Unix seconds, and as RFC 3339.
    pub t: UnixSeconds,
    pub at: Option<String>,
    /// Samples the forecaster saw.
    pub samples: usize,
    /// Seconds from the cut to the crossing; `null` when the wall is not
    /// reached within the data.
    pub truth_seconds: Option<f64>,
    /// Seconds of data after the cut: a lower bound on the truth when it is
    /// censored.
    pub remaining_seconds: f64,
    pub status: &'static str,
    pub model: String,
    pub time_to_wall_seconds: Option<f64>,
    pub time_to_wall_lower_seconds: Option<f64>,
    pub time_to_wall_upper_seconds: Option<f64>,
    pub alert: bool,
    /// Is the wall reached within the lead? `null` when the data cannot tell.
    pub wall_within_lead: Option<bool>,
    /// Did the alert decision match? `null` when the data cannot tell.
    pub correct: Option<bool>,
    /// `|ln(predicted / truth)|`, capped; `null` when the truth is censored.
    pub eta_error: Option<f64>,
    /// Was the truth inside the band? `null` when the truth is censored or
    /// the forecaster gives no band.
    pub in_band: Option<bool>,
}

/// The scores over a set of cuts (one series, or many pooled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub cuts: usize,
    /// Cuts with a known truth, which the eta error scores.
    pub eta_scored: usize,
    pub eta_error_median: Option<f64>,
    /// Share of scored cuts predicted within a factor 1.5 of the truth.
    pub eta_hit_rate_1_5x: Option<f64>,
    /// Share of scored cuts whose likely time was late: more than
    /// [`ON_TIME_FACTOR`] times the truth, or none given. With
    /// `early_ratio`, which way the eta error errs: when most cuts are
    /// late, the wall should be expected sooner than shown.
    pub late_ratio: Option<f64>,
    /// Share of scored cuts whose likely time was early: less than the
    /// truth over [`ON_TIME_FACTOR`], or "breached". The cuts neither late
    /// nor early were on time.
    pub early_ratio: Option<f64>,
    /// Cuts whose alert decision can be judged.
    pub alert_scored: usize,
    pub alerts: usize,
    pub true_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
    /// Alerts at cuts where the wall was further than the lead.
    pub false_alarms: usize,
    /// `null` without any alert.
    pub precision: Option<f64>,
    /// `null` when the wall was never within the lead.
    pub recall: Option<f64>,
    /// `2TP / (2TP + FP + FN)`; `null` when all three are zero.
    pub f1: Option<f64>,
    /// False alarms over the cuts where the wall was further than the lead.
    pub false_alarm_rate: Option<f64>,
    /// Cuts the band coverage scores.
    pub band_scored: usize,
    pub band_coverage: Option<f64>,
    pub band_nominal: f64,
    /// Shares of those cuts whose truth fell before the band's near edge,
    /// and after its far edge: which side the band misses on. 0.05 each
    /// for an honest 90% band.
    pub before_band_ratio: Option<f64>,
    pub after_band_ratio: Option<f64>,
    /// How often each model answered.
    pub models: BTreeMap<String, usize>,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Scores a set of cuts.
pub fn score(cuts: &[Cut]) -> Scores {
    let errors: Vec<f64> = cuts.iter().filter_map(|c| c.eta_error).collect();
    let hits = errors
        .iter()
        .filter(|&&e| e <= HIT_FACTOR.ln() + 1e-12)
        .count();
    let judged: Vec<(bool, bool)> = cuts
        .iter()
        .filter_map(|c| c.wall_within_lead.map(|w| (c.alert, w)))
        .collect();
    let count = |alert: bool, within: bool| {
        judged
            .iter()
            .filter(|&&(a, w)| a == alert && w == within)
            .count()
    };
    let (tp, fp) = (count(true, true), count(true, false));
    let (fn_, tn) = (count(false, true), count(false, false));
    // Which way the likely time errs: a forecaster without a time is late
    // (the wall came, and it said none); one that said "breached" is early.
    let said: Vec<(f64, Option<f64>)> = cuts
        .iter()
        .filter_map(|c| c.truth_seconds.map(|tau| (tau, c.time_to_wall_seconds)))
        .collect();
    let late = said
        .iter()
        .filter(|&&(tau, said)| said.is_none_or(|x| x > tau * ON_TIME_FACTOR))
        .count();
    let early = said
        .iter()
        .filter(|&&(tau, said)| said.is_some_and(|x| x < tau / ON_TIME_FACTOR))
        .count();
    let banded: Vec<bool> = cuts.iter().filter_map(|c| c.in_band).collect();
    // A miss is before the band when the truth came before its near edge;
    // every other miss (a band without a finite near edge) is after it.
    let before_band = cuts
        .iter()
        .filter(|c| c.in_band == Some(false))
        .filter(|c| match (c.truth_seconds, c.time_to_wall_lower_seconds) {
            (Some(tau), Some(lower)) => tau < lower,
            _ => false,
        })
        .count();
    let missed = banded.iter().filter(|&&b| !b).count();
    let mut models = BTreeMap::new();
    for c in cuts {
        *models.entry(c.model.clone()).or_insert(0) += 1;
    }
    Scores {
        cuts: cuts.len(),
        eta_scored: errors.len(),
        eta_error_median: median(errors.clone()),
        eta_hit_rate_1_5x: ratio(hits, errors.len()),
        late_ratio: ratio(late, said.len()),
        early_ratio: ratio(early, said.len()),
        alert_scored: judged.len(),
        alerts: cuts.iter().filter(|c| c.alert).count(),
        true_positives: tp,
        false_negatives: fn_,
        true_negatives: tn,
        false_alarms: fp,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        false_alarm_rate: ratio(fp, fp + tn),
        band_scored: banded.len(),
        band_coverage: ratio(banded.iter().filter(|&&b| b).count(), banded.len()),
        band_nominal: NOMINAL_COVERAGE,
        before_band_ratio: ratio(before_band, banded.len()),
        after_band_ratio: ratio(missed - before_band, banded.len()),
        models,
    }
}

/// The cut instants for finite, time-ordered `data` whose wall is reached at
/// `crossing` (or not at all): `cuts` evenly spaced from 20% of the span up
/// to, not including, the crossing or the end of the data minus the lead.
/// Empty when that range is empty. Cuts that would see the same samples as
/// the cut before them (a range holding fewer than `cuts` samples) are one
/// cut, the first: the others would forecast from the same data, a few
/// seconds later, and count nearly the same error or false alarm again.
pub fn cut_times(data: &[Sample], crossing: Option<UnixSeconds>, p: &Protocol) -> Vec<f64> {
    let (Some(first), Some(last)) = (data.first(), data.last()) else {
        return Vec::new();
    };
    let start = first.t + START_FRACTION * (last.t - first.t);
    let stop = crossing.unwrap_or(last.t - p.lead);
    if stop.is_nan() || stop <= start {
        return Vec::new();
    }
    let mut seen = None;
    (0..p.cuts)
        .map(|i| start + (stop - start) * i as f64 / p.cuts as f64)
        .filter(|&t| {
            let newest = data.partition_point(|s| s.t <= t);
            seen.replace(newest) != Some(newest)
        })
        .collect()
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Runs the protocol on `samples` whose wall is reached at `crossing` (the
/// truth, however it was found; `None`: not within the data), asking
/// `forecaster` at every cut with the samples at or before it and the cut
/// as `now`.
pub fn replay(
    samples: &[Sample],
    crossing: Option<UnixSeconds>,
    p: &Protocol,
    mut forecaster: impl FnMut(&[Sample], UnixSeconds) -> Prediction,
) -> Vec<Cut> {
    let data = clean(samples);
    let Some(last) = data.last().map(|s| s.t) else {
        return Vec::new();
    };
    cut_times(&data, crossing, p)
        .into_iter()
        .map(|t| {
            let seen = &data[..data.partition_point(|s| s.t <= t)];
            // A range query over [t - lookback, t] holds both ends.
            let seen = match p.lookback {
                Some(w) => &seen[seen.partition_point(|s| s.t < t - w)..],
                None => seen,
            };
            let pred = forecaster(seen, t);
            let tau = crossing.map(|c| c - t);
            let remaining = last - t;
            let within = match tau {
                Some(tau) => Some(tau <= p.lead),
                None => (remaining >= p.lead).then_some(false),
            };
            let predicted = match pred.status {
                Status::Breached => Some(0.0),
                _ => pred.likely,
            };
            let eta_error = tau.map(|tau| match predicted {
                Some(x) if x > 0.0 => (x / tau).ln().abs().min(ETA_ERROR_CAP),
                _ => ETA_ERROR_CAP,
            });
            let in_band = match (tau, pred.banded) {
                (Some(tau), true) => Some(match (pred.lower, pred.upper) {
                    // Up to rounding: an exact line's band has no width,
                    // and its edges can land a hair off the truth.
                    (Some(lo), Some(hi)) => {
                        let slack = 1e-9 * tau.abs();
                        lo - slack <= tau && tau <= hi + slack
                    }
                    _ => false,
                }),
                _ => None,
            };
            Cut {
                t,
                at: rfc3339(t),
                samples: seen.len(),
                truth_seconds: tau,
                remaining_seconds: remaining,
                status: pred.status.as_str(),
                model: pred.model,
                time_to_wall_seconds: finite(predicted),
                time_to_wall_lower_seconds: finite(pred.lower),
                time_to_wall_upper_seconds: finite(pred.upper),
                alert: pred.alert,
                wall_within_lead: within,
                correct: within.map(|w| w == pred.alert),
                eta_error,
                in_band,
            }
        })
        .collect()
}

/// Where the truth came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    /// Samples in the median that decides the crossing (see
    /// [`truth_window`]).
    pub smooth: usize,
    /// When the wall was first reached (Unix seconds, RFC 3339); `null` when
    /// it is not reached within the data, which is then censored at `end`.
    pub crossing: Option<UnixSeconds>,
    pub crossing_at: Option<String>,
    pub start: UnixSeconds,
    pub end: UnixSeconds,
    /// Finite samples in the data.
    pub samples: usize,
}

/// A backtest of runway's forecaster on one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub wall: f64,
    pub direction: &'static str,
    pub lead_seconds: f64,
    /// How far back each cut's forecast saw (a configured limit's lookback);
    /// absent when it saw everything before the cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback_seconds: Option<f64>,
    /// The configured model (`auto` picks one per cut; see `summary.models`).
    pub model: &'static str,
    pub seasonality: String,
    pub truth: Truth,
    /// Why there are no cuts, when there are none.
    pub note: Option<String>,
    pub cuts: Vec<Cut>,
    pub summary: Scores,
}

fn seasonality_name(s: Seasonality) -> String {
    match s {
        Seasonality::Auto => "auto".into(),
        Seasonality::None => "none".into(),
        Seasonality::Period(p) => format!("{p}s"),
    }
}

/// Backtests runway's forecaster, with `settings`, on a series' own history
/// against `wall`: see the module documentation for the protocol. With a
/// `lookback`, each cut's forecast sees no further back than it.
pub fn backtest(
    samples: &[Sample],
    wall: f64,
    direction: Direction,
    lead: f64,
    cuts: usize,
    settings: &Settings,
    lookback: Option<f64>,
) -> Report {
    let data = clean(samples);
    let smooth = truth_window(data.len());
    let crossing = first_crossing(&data, wall, direction, smooth);
    let protocol = Protocol {
        wall,
        direction,
        lead,
        cuts,
        lookback,
    };
    let rows = replay(&data, crossing, &protocol, |seen, now| {
        let f = forecast::forecast(seen, wall, direction, settings, now);
        Prediction::of_forecast(&f, lead)
    });
    let (start, end) = match (data.first(), data.last()) {
        (Some(a), Some(b)) => (a.t, b.t),
        _ => (f64::NAN, f64::NAN),
    };
    let note = rows.is_empty().then(|| {
        if data.is_empty() {
            "no finite samples".to_string()
        } else if cuts == 0 {
            "no cuts were asked for".to_string()
        } else if crossing.is_some() {
            format!(
                "the wall is reached within the first {:.0}% of the data: too early to judge a forecast",
                100.0 * START_FRACTION
            )
        } else if data
            .last()
            .is_some_and(|s| direction.gap(s.v, wall) <= 0.0)
        {
            // Reached by the newest samples, not yet by the median that
            // tells a crossing from a spike: a series breached now.
            format!(
                "the wall is reached only by the newest samples, too few for the median of {smooth} that judges a crossing, and the data before is too short for cuts with a lead ({}) of data after them",
                human_duration(lead)
            )
        } else {
            format!(
                "the wall is not reached, and the data is too short for cuts with a lead ({}) of data after them",
                human_duration(lead)
            )
        }
    });
    Report {
        wall,
        direction: direction.as_str(),
        lead_seconds: lead,
        lookback_seconds: lookback,
        model: match settings.model {
            ModelChoice::Auto => "auto",
            m => m.as_str(),
        },
        seasonality: seasonality_name(settings.seasonality),
        truth: Truth {
            smooth,
            crossing,
            crossing_at: crossing.and_then(rfc3339),
            start,
            end,
            samples: data.len(),
        },
        note,
        summary: score(&rows),
        cuts: rows,
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.0}%", 100.0 * x))
}

fn decimal(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3}"))
}

/// What a forecaster said at a cut, in a few words.
fn predicted_text(c: &Cut) -> String {
    let edge = |v: Option<f64>| v.map_or("never".to_string(), human_duration);
    match (c.status, c.time_to_wall_seconds) {
        ("breached", _) => "0s (breached)".into(),
        ("approaching", Some(likely)) if c.time_to_wall_lower_seconds.is_some() => format!(
            "{} ({} .. {})",
            human_duration(likely),
            edge(c.time_to_wall_lower_seconds),
            edge(c.time_to_wall_upper_seconds)
        ),
        (_, Some(likely)) => human_duration(likely),
        ("insufficient_data", None) => "insufficient data".into(),
        (status, None) => status.into(),
    }
}

/// The report as text for a person: one line per cut, then the scores.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let lead = human_duration(r.lead_seconds);
    let when = |t: f64| rfc3339(t).unwrap_or_else(|| format!("{t}"));
    out.push_str(&format!(
        "backtest: wall {} {}, lead {lead}, model {}, seasonality {}; {}",
        format_value(r.wall),
        r.direction,
        r.model,
        r.seasonality,
        crate::evaluate::count(r.truth.samples, "sample"),
    ));
    if r.truth.samples > 0 {
        out.push_str(&format!(
            " from {} to {}",
            when(r.truth.start),
            when(r.truth.end)
        ));
    }
    if let Some(w) = r.lookback_seconds {
        out.push_str(&format!(
            "; each cut forecast from its last {}, the lookback",
            human_duration(w)
        ));
    }
    out.push('\n');
    out.push_str(&match r.truth.crossing {
        Some(t) => format!(
            "truth: the wall is reached at {} (the median of {} in a row past it, as runway judges a breach)\n",
            when(t),
            crate::evaluate::count(r.truth.smooth, "sample")
        ),
        None => format!(
            "truth: the wall is not reached within the data (the median of {} in a row past it, as runway judges a breach)\n",
            crate::evaluate::count(r.truth.smooth, "sample")
        ),
    });
    if let Some(note) = &r.note {
        out.push_str(&format!("no cuts: {note}\n"));
        return out;
    }
    out.push('\n');
    let mut cells: Vec<Vec<String>> = vec![[
        "CUT",
        "TRUTH",
        "PREDICTED (BAND)",
        "ALERT",
        "CORRECT",
        "ETA ERROR",
        "MODEL",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    for c in &r.cuts {
        cells.push(vec![
            when(c.t),
            c.truth_seconds.map_or_else(
                || format!("> {} (not in data)", human_duration(c.remaining_seconds)),
                human_duration,
            ),
            predicted_text(c),
            yes_no(c.alert),
            c.correct.map_or("-".into(), yes_no),
            decimal(c.eta_error),
            c.model.clone(),
        ]);
    }
    out.push_str(&crate::report::columns(&cells));
    out.push('\n');
    out.push_str(&scores_text(&r.summary, r.lead_seconds));
    out
}

/// Scores as lines for a person.
pub fn scores_text(m: &Scores, lead: f64) -> String {
    let lead = human_duration(lead);
    let mut out = String::new();
    out.push_str(&format!(
        "eta error median: {} (|ln(predicted/truth)| over {} cuts with a known truth: 0 is exact, 0.405 a factor 1.5, 2.303 no useful answer)\n",
        decimal(m.eta_error_median),
        m.eta_scored
    ));
    out.push_str(&format!(
        "hit rate within 1.5x: {}\n",
        percent(m.eta_hit_rate_1_5x)
    ));
    out.push_str(&format!(
        "late at {} of those cuts, early at {} (off by more than a factor {ON_TIME_FACTOR} either way, or no time given when the wall came; late ones mean expect the wall sooner)\n",
        percent(m.late_ratio),
        percent(m.early_ratio)
    ));
    out.push_str(&format!(
        "alerts (wall within {lead}): precision {}, recall {}, F1 {} ({} alerts; {} false alarms among the {} cuts where the wall was further away; {} cuts cannot be judged)\n",
        percent(m.precision),
        percent(m.recall),
        decimal(m.f1),
        m.alerts,
        m.false_alarms,
        m.false_alarms + m.true_negatives,
        m.cuts - m.alert_scored,
    ));
    out.push_str(&format!(
        "band coverage: {} of {} cuts with a known truth (nominal {}); the truth came before the band at {}, after it at {} (nominal {} each)\n",
        percent(m.band_coverage),
        m.band_scored,
        percent(Some(m.band_nominal)),
        percent(m.before_band_ratio),
        percent(m.after_band_ratio),
        percent(Some((1.0 - m.band_nominal) / 2.0)),
    ));
    let models: Vec<String> = m.models.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!("models chosen: {}\n", models.join(", ")));
    out
}

/// Many series' backtests taken together: a limit's, so that a team reads
/// how far to trust its walls in one place, and sees which series could
/// not be judged and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pooled {
    pub series: usize,
    /// Series with at least one cut.
    pub replayed: usize,
    /// Why the others have none, with how many share each reason.
    pub without_cuts: BTreeMap<String, usize>,
    /// The span the data covered: the earliest start and latest end over
    /// the series (Unix seconds; `null` without data).
    pub start: Option<UnixSeconds>,
    pub end: Option<UnixSeconds>,
    /// Scores over every series' cuts.
    pub summary: Scores,
}

/// Pools `reports`: scores over all their cuts.
pub fn pool<'a>(reports: impl IntoIterator<Item = &'a Report>) -> Pooled {
    let mut p = Pooled {
        series: 0,
        replayed: 0,
        without_cuts: BTreeMap::new(),
        start: None,
        end: None,
        summary: score(&[]),
    };
    let mut cuts = Vec::new();
    for r in reports {
        p.series += 1;
        match &r.note {
            Some(note) => *p.without_cuts.entry(note.clone()).or_insert(0) += 1,
            None => p.replayed += 1,
        }
        if r.truth.samples > 0 {
            p.start = Some(p.start.map_or(r.truth.start, |s| s.min(r.truth.start)));
            p.end = Some(p.end.map_or(r.truth.end, |e| e.max(r.truth.end)));
        }
        cuts.extend(r.cuts.iter().cloned());
    }
    p.summary = score(&cuts);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;
    const T0: f64 = 1_700_000_000.0;

    /// Deterministic noise in [-1, 1].
    fn noise(i: usize) -> f64 {
        let mut x = (i as u64 + 11).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 29;
        (x % 2001) as f64 / 1000.0 - 1.0
    }

    /// `days` of 5-minute samples of `f(seconds since start, index)`.
    fn series(days: f64, f: impl Fn(f64, usize) -> f64) -> Vec<Sample> {
        (0..(days * DAY / 300.0) as usize)
            .map(|i| Sample::new(T0 + 300.0 * i as f64, f(300.0 * i as f64, i)))
            .collect()
    }

    /// Any history replayed (the forecaster's own arbitrary histories,
    /// leads of 2% to 30% of their span, one to twelve cuts) gives a report
    /// whose figures add up: every cut scored at most once per question,
    /// shares and scores between 0 and 1, the band's three sides summing to
    /// one, errors not negative, and no cut after the data. The test
    /// `RUNWAY_FUZZ_CASES` enlarges (default 200 here).
    #[test]
    fn any_history_replays_into_figures_that_add_up() {
        let cases = crate::forecast::tests::fuzz_cases(200, 5);
        let share = |x: Option<f64>| x.is_none_or(|x| (0.0..=1.0).contains(&x));
        for case in 0..cases {
            let a = crate::forecast::tests::arbitrary(case);
            // A lead the history can show: a share of its span.
            let (first, last) = a.samples.iter().fold((f64::MAX, f64::MIN), |(lo, hi), s| {
                (lo.min(s.t), hi.max(s.t))
            });
            let lead = ((last - first) * [0.02, 0.1, 0.3][case as usize % 3]).max(1.0);
            let cuts = 1 + case as usize % 12;
            let r = backtest(
                &a.samples,
                a.wall,
                a.direction,
                lead,
                cuts,
                &a.settings,
                None,
            );
            let m = &r.summary;
            let what = format!("{}, lead {lead}, {cuts} cuts: {m:?}", a.what);
            assert_eq!(m.cuts, r.cuts.len(), "{what}");
            assert!(r.cuts.len() <= cuts, "{what}");
            assert!(m.eta_scored <= m.cuts && m.band_scored <= m.cuts, "{what}");
            assert_eq!(
                m.true_positives + m.false_negatives + m.true_negatives + m.false_alarms,
                m.alert_scored,
                "{what}"
            );
            for x in [
                m.eta_hit_rate_1_5x,
                m.late_ratio,
                m.precision,
                m.recall,
                m.f1,
                m.false_alarm_rate,
                m.band_coverage,
                m.before_band_ratio,
                m.after_band_ratio,
            ] {
                assert!(share(x), "{what}");
            }
            if let (Some(c), Some(b), Some(f)) =
                (m.band_coverage, m.before_band_ratio, m.after_band_ratio)
            {
                assert!((c + b + f - 1.0).abs() < 1e-9, "{what}");
            }
            assert!(m.eta_error_median.is_none_or(|e| e >= 0.0), "{what}");
            for c in &r.cuts {
                assert!(c.t <= last, "{what}: a cut at {}", c.t);
                assert!(c.eta_error.is_none_or(|e| e >= 0.0), "{what}");
            }
        }
    }

    #[test]
    fn the_truth_window_is_runways_breach_window_and_odd() {
        for (n, want) in [(0, 1), (1, 1), (2, 1), (3, 3), (4, 3), (5, 5), (8064, 5)] {
            assert_eq!(truth_window(n), want, "{n} points");
        }
    }

    /// Counting the window's samples past the wall finds the crossing a
    /// rolling median finds, in either direction and for any width.
    #[test]
    fn the_crossing_is_where_the_rolling_median_first_passes_the_wall() {
        let s = series(3.0, |dt, i| {
            50.0 + 40.0 * (dt / DAY).sin() + 20.0 * noise(i)
        });
        let by_median = |wall: f64, direction: Direction, smooth: usize| {
            (smooth - 1..s.len()).find_map(|i| {
                let mut w: Vec<f64> = s[i + 1 - smooth..=i].iter().map(|x| x.v).collect();
                w.sort_by(f64::total_cmp);
                (direction.gap(w[smooth / 2], wall) <= 0.0).then(|| s[i - smooth / 2].t)
            })
        };
        for smooth in [1, 2, 5, 8, 21] {
            for wall in [30.0, 50.0, 80.0, 200.0] {
                for direction in [Direction::Rising, Direction::Falling] {
                    assert_eq!(
                        first_crossing(&s, wall, direction, smooth),
                        by_median(wall, direction, smooth),
                        "wall {wall} {direction:?}, {smooth} samples"
                    );
                }
            }
        }
    }

    #[test]
    fn one_spike_is_not_a_crossing_but_a_sustained_one_is() {
        let mut s = series(7.0, |_, i| 50.0 + noise(i));
        s[1000].v = 500.0;
        s[1001].v = 500.0;
        let smooth = truth_window(s.len());
        assert_eq!(first_crossing(&s, 100.0, Direction::Rising, smooth), None);
        // A peak that holds past the wall for most of the window counts,
        // though the series falls back after it: a sawtooth's top.
        let mut peak = s.clone();
        peak[1200].v = 150.0;
        peak[1201].v = 150.0;
        peak[1202].v = 150.0;
        assert_eq!(
            first_crossing(&peak, 100.0, Direction::Rising, smooth),
            Some(s[1200].t)
        );
        // Unsmoothed, the spikes would count.
        assert_eq!(
            first_crossing(&s, 100.0, Direction::Rising, 1),
            Some(s[1000].t)
        );
        // A level that stays past the wall counts, from where it starts.
        for x in &mut s[1500..] {
            x.v = 200.0;
        }
        assert_eq!(
            first_crossing(&s, 100.0, Direction::Rising, smooth),
            Some(s[1500].t)
        );
        // Falling walls work the same way.
        let down: Vec<Sample> = s.iter().map(|x| Sample::new(x.t, -x.v)).collect();
        assert_eq!(
            first_crossing(&down, -100.0, Direction::Falling, smooth),
            Some(s[1500].t)
        );
        // A ramp is timed where it reaches the wall, not half a window later.
        let ramp = series(7.0, |dt, _| dt / 3600.0);
        let at = first_crossing(&ramp, 100.0, Direction::Rising, smooth).unwrap();
        assert_eq!(at - T0, 100.0 * 3600.0);
    }

    #[test]
    fn cuts_run_from_a_fifth_of_the_span_to_the_crossing_or_a_lead_before_the_end() {
        let s = series(10.0, |_, _| 1.0);
        let end = s.last().unwrap().t;
        let p = Protocol {
            wall: 2.0,
            direction: Direction::Rising,
            lead: DAY,
            cuts: 4,
            lookback: None,
        };
        let start = T0 + 0.2 * (end - T0);
        let crossing = T0 + 8.0 * DAY;
        let step = (crossing - start) / 4.0;
        assert_eq!(
            cut_times(&s, Some(crossing), &p),
            (0..4).map(|i| start + step * i as f64).collect::<Vec<_>>()
        );
        let times = cut_times(&s, None, &p);
        assert_eq!(times.len(), 4);
        assert!(times.iter().all(|&t| end - t > DAY), "{times:?}");
        // A crossing before the first cut leaves nothing to judge.
        assert!(cut_times(&s, Some(T0 + DAY), &p).is_empty());
    }

    /// Thirty cuts asked over a stretch of three samples are three cuts:
    /// the others would score the same forecasts again.
    #[test]
    fn cuts_that_would_see_the_same_samples_are_one() {
        let s: Vec<Sample> = (0..60)
            .map(|i| Sample::new(T0 + 60.0 * f64::from(i), f64::from(i)))
            .collect();
        let p = Protocol {
            wall: 100.0,
            direction: Direction::Rising,
            lead: 45.0 * 60.0,
            cuts: 30,
            lookback: None,
        };
        // From 20% of the hour (minute 11.8) to a lead before its end
        // (minute 14): the newest sample a cut sees is minute 11, 12 or 13,
        // so 12, 13 or 14 samples.
        let times = cut_times(&s, None, &p);
        let newest: Vec<usize> = times
            .iter()
            .map(|&t| s.partition_point(|x| x.t <= t))
            .collect();
        assert_eq!(newest, vec![12, 13, 14], "{times:?}");
    }

    /// A limit's replay forecasts each cut from what the daemon would have
    /// seen then, its lookback, not from everything before it: a lookback
    /// too short to hold three cleanups of a disk that cleans itself every
    /// two days cannot tell it from a disk filling up, and the replay says
    /// so with the false alarms the daemon would raise.
    #[test]
    fn a_limit_replay_sees_only_its_lookback() {
        // Fills 0 -> 80 over two days, cleaned up, again: a wall of 100 is
        // never hit.
        let s = series(24.0, |dt, i| {
            80.0 * (dt % (2.0 * DAY)) / (2.0 * DAY) + 0.5 * noise(i)
        });
        let replay_with = |lookback| {
            backtest(
                &s,
                100.0,
                Direction::Rising,
                DAY,
                30,
                &Settings::default(),
                lookback,
            )
        };
        let everything = replay_with(None);
        let week = replay_with(Some(7.0 * DAY));
        let three_days = replay_with(Some(3.0 * DAY));
        assert_eq!(everything.summary.false_alarm_rate, Some(0.0));
        assert_eq!(week.summary.false_alarm_rate, Some(0.0));
        let short = three_days.summary.false_alarm_rate.unwrap_or(0.0);
        assert!(short > 0.2, "{short}");
        assert_eq!(three_days.lookback_seconds, Some(3.0 * DAY));
        assert!(table(&three_days).contains("each cut forecast from its last 3d, the lookback"));
        assert_eq!(everything.lookback_seconds, None);
    }

    /// A log disk filled through each day and cleaned at midnight, each
    /// day's top 1.5 higher than the last (70 on the first): the wall of 100
    /// is first reached on day 20's climb, and the daily tops that pass it
    /// after do not hold for long. The forecast times that first top, and the
    /// backtest must judge it by the same: a crossing is what runway would
    /// call a breach, not a median over hours that a top never fills.
    #[test]
    fn a_sawtooth_is_judged_by_its_first_top_past_the_wall() {
        let s = series(30.0, |dt, _| {
            let day = (dt / DAY).floor();
            let top = 70.0 + 1.5 * day;
            10.0 + (top - 10.0) * (dt / DAY - day)
        });
        let r = backtest(
            &s,
            100.0,
            Direction::Rising,
            3.0 * DAY,
            10,
            &Settings::default(),
            None,
        );
        let first = s.iter().find(|x| x.v >= 100.0).map(|x| x.t);
        assert_eq!(r.truth.crossing, first, "{}", table(&r));
        let m = &r.summary;
        assert_eq!((m.false_alarms, m.false_negatives), (0, 0), "{}", table(&r));
        assert!(m.true_positives > 0, "{}", table(&r));
        assert!(
            m.eta_error_median.is_some_and(|e| e < 0.05),
            "{}",
            table(&r)
        );
    }

    /// A line from 100 rising to a wall of 1000 at day 12, with noise of
    /// ±5: the data goes on to day 14.
    fn line() -> Vec<Sample> {
        series(14.0, |dt, i| {
            100.0 + 900.0 * dt / (12.0 * DAY) + 5.0 * noise(i)
        })
    }

    /// The protocol of `cuts` cuts of [`line`] rising to its wall of 1000,
    /// with a lead of a day.
    fn rising_to_1000(cuts: usize) -> Protocol {
        Protocol {
            wall: 1000.0,
            direction: Direction::Rising,
            lead: DAY,
            cuts,
            lookback: None,
        }
    }

    /// 30 cuts of `s` rising to a wall of 1000 with a lead of three days.
    fn to_1000(s: &[Sample]) -> Report {
        backtest(
            s,
            1000.0,
            Direction::Rising,
            3.0 * DAY,
            30,
            &Settings::default(),
            None,
        )
    }

    #[test]
    fn a_line_with_a_known_crossing_is_forecast_well_and_alerts_are_right() {
        let s = line();
        let lead = 3.0 * DAY;
        let r = to_1000(&s);
        assert_eq!(r.truth.smooth, 5);
        let crossing = r.truth.crossing.expect("the line reaches the wall");
        assert!(
            (crossing - (T0 + 12.0 * DAY)).abs() < 3.0 * 3600.0,
            "crossing {crossing}"
        );
        assert_eq!(r.cuts.len(), 30);
        let m = &r.summary;
        assert!(m.eta_error_median.unwrap() < 0.05, "{m:#?}");
        assert_eq!(m.eta_hit_rate_1_5x, Some(1.0), "{m:#?}");
        // Every alert falls inside the lead window, and most of the window
        // is caught.
        assert_eq!(m.false_alarms, 0, "{m:#?}");
        assert_eq!(m.precision, Some(1.0), "{m:#?}");
        assert!(m.recall.unwrap() >= 0.8, "{m:#?}");
        for c in &r.cuts {
            assert!(c.truth_seconds.unwrap() > 0.0);
            if c.alert {
                assert!(c.truth_seconds.unwrap() <= lead, "{c:#?}");
            }
        }
        // Every cut has a truth to hold the band against. (How often the
        // band holds it is the forecaster's quality, which the accuracy
        // benchmark measures; here it is only counted.)
        assert_eq!(m.band_scored, 30);
        assert!(m.band_coverage.is_some_and(|c| c > 0.0), "{m:#?}");
        assert_eq!(m.models.values().sum::<usize>(), 30);
    }

    #[test]
    fn an_exact_line_is_always_in_its_band() {
        // No noise: the forecast is exact, the band has no width, and the
        // truth falls on it at every cut (it used to miss by rounding at
        // a third of them, and read as a band to distrust).
        let s = series(14.0, |dt, _| 100.0 + 900.0 * dt / (12.0 * DAY));
        let r = to_1000(&s);
        let m = &r.summary;
        assert!(m.eta_error_median.unwrap() < 1e-6, "{m:#?}");
        assert_eq!(m.band_scored, 30, "{m:#?}");
        assert_eq!(m.band_coverage, Some(1.0), "{m:#?}");
    }

    #[test]
    fn a_flat_noisy_series_raises_no_alarm() {
        let s = series(14.0, |_, i| 500.0 + 20.0 * noise(i));
        let r = to_1000(&s);
        assert_eq!(r.truth.crossing, None);
        assert_eq!(r.cuts.len(), 30);
        let m = &r.summary;
        assert_eq!(m.alerts, 0, "{m:#?}");
        assert_eq!(m.false_alarms, 0);
        assert_eq!(m.false_alarm_rate, Some(0.0));
        assert_eq!(m.true_negatives, 30);
        // Nothing to score the time to wall or the band against, and no
        // positive case to recall.
        assert_eq!((m.eta_scored, m.eta_error_median), (0, None));
        assert_eq!((m.recall, m.precision, m.f1), (None, None, None));
        assert_eq!(m.band_coverage, None);
        // Every cut had a lead of data after it.
        assert!(r.cuts.iter().all(|c| c.remaining_seconds >= 3.0 * DAY));
    }

    #[test]
    fn scores_follow_their_definitions() {
        let cut = |tau: Option<f64>, likely: Option<f64>, alert: bool, within: Option<bool>| Cut {
            t: T0,
            at: None,
            samples: 10,
            truth_seconds: tau,
            remaining_seconds: 0.0,
            status: "approaching",
            model: "robust".into(),
            time_to_wall_seconds: likely,
            time_to_wall_lower_seconds: None,
            time_to_wall_upper_seconds: None,
            alert,
            wall_within_lead: within,
            correct: within.map(|w| w == alert),
            eta_error: tau.map(|tau| likely.map_or(ETA_ERROR_CAP, |x| (x / tau).ln().abs())),
            in_band: tau.map(|_| alert),
        };
        let cuts = [
            cut(Some(10.0), Some(10.0), true, Some(true)), // TP, exact
            cut(Some(10.0), Some(15.0), true, Some(true)), // TP, 1.5x: a hit
            cut(Some(10.0), None, false, Some(true)),      // FN, no answer
            cut(Some(100.0), Some(100.0), true, Some(false)), // false alarm
            cut(None, None, false, Some(false)),           // TN, censored
            cut(None, None, true, None),                   // cannot be judged
        ];
        let m = score(&cuts);
        assert_eq!(m.eta_scored, 4);
        assert_eq!(m.eta_error_median, Some(HIT_FACTOR.ln() / 2.0));
        assert_eq!(m.eta_hit_rate_1_5x, Some(0.75));
        assert_eq!(
            (
                m.true_positives,
                m.false_alarms,
                m.false_negatives,
                m.true_negatives
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(m.alert_scored, 5);
        assert_eq!(m.alerts, 4);
        assert_eq!(m.precision, Some(2.0 / 3.0));
        assert_eq!(m.recall, Some(2.0 / 3.0));
        assert_eq!(m.f1, Some(4.0 / 6.0));
        assert_eq!(m.false_alarm_rate, Some(0.5));
        assert_eq!(m.band_coverage, Some(0.75));
        // Late: 1.5x and no answer, of the four with a truth; the exact
        // ones were on time, none early. The one band missed has no near
        // edge, so the truth came after it.
        assert_eq!((m.late_ratio, m.early_ratio), (Some(0.5), Some(0.0)));
        assert_eq!(
            (m.before_band_ratio, m.after_band_ratio),
            (Some(0.0), Some(0.25))
        );
        assert_eq!(m.models.get("robust"), Some(&6));
    }

    #[test]
    fn which_way_the_times_and_the_band_miss_is_told() {
        let s = line();
        let p = rising_to_1000(6);
        let crossing = T0 + 12.0 * DAY;
        // A forecaster that says `factor` times the truth, its band from
        // `near` to `far` times it.
        let saying = |factor: f64, near: f64, far: f64| {
            let cuts = replay(&s, Some(crossing), &p, |_, now| {
                let tau = crossing - now;
                Prediction {
                    status: Status::Approaching,
                    model: "test".into(),
                    likely: Some(factor * tau),
                    lower: Some(near * tau),
                    upper: Some(far * tau),
                    banded: true,
                    alert: false,
                }
            });
            assert_eq!(cuts.len(), 6);
            score(&cuts)
        };
        // Late every time, its band too: the wall came before it.
        let late = saying(2.0, 1.5, 3.0);
        assert_eq!(late.late_ratio, Some(1.0));
        assert_eq!(
            (
                late.band_coverage,
                late.before_band_ratio,
                late.after_band_ratio
            ),
            (Some(0.0), Some(1.0), Some(0.0))
        );
        assert_eq!(late.early_ratio, Some(0.0));
        let early = saying(0.5, 0.3, 0.6);
        assert_eq!(
            (early.late_ratio, early.early_ratio),
            (Some(0.0), Some(1.0))
        );
        assert_eq!(
            (early.before_band_ratio, early.after_band_ratio),
            (Some(0.0), Some(1.0))
        );
        let right = saying(1.0, 0.5, 2.0);
        assert_eq!(
            (right.late_ratio, right.early_ratio),
            (Some(0.0), Some(0.0)),
            "exact is neither"
        );
        // Nor is a time a little off either way: on time.
        for factor in [1.08, 1.0 / 1.08] {
            let nearly = saying(factor, 0.5, 2.0);
            assert_eq!(
                (nearly.late_ratio, nearly.early_ratio),
                (Some(0.0), Some(0.0)),
                "{factor}"
            );
        }
        assert_eq!(
            (
                right.band_coverage,
                right.before_band_ratio,
                right.after_band_ratio
            ),
            (Some(1.0), Some(0.0), Some(0.0))
        );
        // The table says so, with the nominal shares beside them.
        let text = scores_text(&late, p.lead);
        assert!(
            text.contains("late at 100% of those cuts, early at 0%"),
            "{text}"
        );
        assert!(
            text.contains(
                "the truth came before the band at 100%, after it at 0% (nominal 5% each)"
            ),
            "{text}"
        );
        // "Never" is late once the wall came; "breached" is early.
        for (status, likely, is_late) in [
            (Status::Receding, None, 1.0),
            (Status::Breached, Some(0.0), 0.0),
        ] {
            let is_early = 1.0 - is_late;
            let cuts = replay(&s, Some(crossing), &p, |_, _| Prediction {
                status,
                model: "test".into(),
                likely,
                lower: None,
                upper: None,
                banded: false,
                alert: false,
            });
            let m = score(&cuts);
            assert_eq!(
                (m.late_ratio, m.early_ratio),
                (Some(is_late), Some(is_early)),
                "{status}"
            );
            assert_eq!((m.before_band_ratio, m.after_band_ratio), (None, None));
        }
        // Without a known truth there is nothing to lean either way.
        let censored = replay(&s, None, &p, |_, _| Prediction {
            status: Status::Approaching,
            model: "test".into(),
            likely: Some(DAY),
            lower: Some(DAY),
            upper: Some(DAY),
            banded: true,
            alert: false,
        });
        assert!(!censored.is_empty());
        let m = score(&censored);
        assert_eq!((m.late_ratio, m.early_ratio), (None, None));
    }

    #[test]
    fn breached_or_silent_forecasts_get_the_capped_error() {
        let s = line();
        let p = rising_to_1000(3);
        let crossing = Some(T0 + 12.0 * DAY);
        for status in [Status::Breached, Status::Receding] {
            let cuts = replay(&s, crossing, &p, |_, _| Prediction {
                status,
                model: "test".into(),
                likely: (status == Status::Breached).then_some(0.0),
                lower: None,
                upper: None,
                banded: false,
                alert: false,
            });
            assert_eq!(cuts.len(), 3);
            assert!(cuts.iter().all(|c| c.eta_error == Some(ETA_ERROR_CAP)));
            assert!(cuts.iter().all(|c| c.in_band.is_none()), "no band given");
        }
    }

    #[test]
    fn the_forecaster_sees_only_the_past() {
        let s = line();
        let p = rising_to_1000(10);
        let cuts = replay(&s, Some(T0 + 12.0 * DAY), &p, |seen, now| {
            assert!(seen.iter().all(|x| x.t <= now));
            assert!(s.iter().filter(|x| x.t <= now).count() == seen.len());
            Prediction::of_forecast(
                &forecast::forecast(seen, 1000.0, Direction::Rising, &Settings::default(), now),
                DAY,
            )
        });
        assert_eq!(cuts.len(), 10);
    }

    #[test]
    fn degenerate_input_gives_an_empty_report_that_says_why() {
        let replay = |s: &[Sample], wall: f64, lead: f64| {
            backtest(
                s,
                wall,
                Direction::Rising,
                lead,
                30,
                &Settings::default(),
                None,
            )
        };
        let r = replay(&[], 1.0, DAY);
        assert!(r.cuts.is_empty());
        assert_eq!(r.note.as_deref(), Some("no finite samples"));
        let s = series(2.0, |_, _| 1.0);
        let r = replay(&s, 2.0, 7.0 * DAY);
        assert!(r.cuts.is_empty());
        assert!(r.note.as_deref().unwrap().contains("too short"));
        let r = replay(&s, 0.5, DAY);
        assert!(r.note.as_deref().unwrap().contains("too early"));
        // Breached by its newest samples only: not "the wall is not
        // reached", beside a forecast that says it is.
        let mut breached = s.clone();
        let n = breached.len();
        for x in &mut breached[n - 2..] {
            x.v = 3.0;
        }
        let r = replay(&breached, 2.0, 7.0 * DAY);
        assert_eq!(
            r.note.as_deref(),
            Some("the wall is reached only by the newest samples, too few for the median of 5 that judges a crossing, and the data before is too short for cuts with a lead (7d) of data after them")
        );
        // JSON has no infinity or NaN; the report serializes all the same.
        assert!(serde_json::to_string(&r).is_ok());
    }
}
