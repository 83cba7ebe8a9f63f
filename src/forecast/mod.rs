//! PURE forecasting core: fits a trend to one series and turns it into a time
//! to wall with a band. No I/O, no clock: `now` is always a parameter, and
//! degenerate data (too few points, a flat line, NaN, Inf) yields a status,
//! never an error or a panic.
//!
//! The steps, for every model but `linear` (which is exactly Prometheus'
//! `predict_linear`, kept as the reference):
//! 1. a cycle (daily, weekly, yearly) is found and taken out ([`season`]);
//! 2. the current regime is found, so that a cleanup, a level shift or a new
//!    trend does not poison the fit ([`regime`]);
//! 3. a trend is fitted to the current regime: Theil-Sen on the values
//!    (`robust`), or on their logarithm for compounding growth
//!    (`exponential`); `auto` picks by rolling-origin backtests on the
//!    series' own history;
//! 4. the time to wall is when the trend plus the cycle's peak reaches the
//!    wall, with a band ([`band`]): the earliest edge is what alerts use.

pub mod band;
mod ensemble;
pub mod linear;
pub mod regime;
pub mod robust;
pub mod sawtooth;
pub mod season;

use std::borrow::Cow;
use std::fmt;

use crate::model::{Direction, Sample, UnixSeconds};
use ensemble::{backtest_error, combine, window_len, Member, Role, Why, CLEARLY_BETTER, WINDOWS};

/// Two-sided 90% band: the normal quantile 0.95, the edge for errors known
/// rather than estimated (a trend's band takes Student's t's for the points
/// its errors come from: see `band::Trend::band_z`).
pub const BAND_Z: f64 = 1.644_853_626_951_472_2;
/// By default alerts fire when the wall is at least this likely within the
/// lead time. The band's near edge (5%) pages for walls that are far more
/// likely not to come; the likely time (50%) pages late half the time.
/// Between them, 0.3 paged better than 0.25 on each of the four sets it
/// was measured on (the development and held-out real series, the
/// synthetic families and the generated shapes of `scripts/shapes.py`):
/// a tenth to a fifth fewer early pages, for at most 2% of the due ones
/// (BENCHMARKS.md, "The alert threshold, measured again on every set").
pub const ALERT_PROBABILITY: f64 = 0.3;
/// A trend towards the wall smaller than this many standard errors of the
/// slope counts as flat (receding).
pub const FLAT_Z: f64 = BAND_Z;
/// Fewer finite samples than this give `insufficient_data`.
pub const MIN_SAMPLES: usize = 3;
/// The largest magnitude of a value (or wall) the forecaster computes with:
/// its squares, summed over a history, stay finite. Metrics are far
/// smaller (a zettabyte is 1e21); anything near `f64::MAX` would overflow
/// the fits into NaN.
pub const MAX_MAGNITUDE: f64 = 1e150;
/// The largest magnitude of a time, in Unix seconds (the year 290,000):
/// far past any clock, and its milliseconds, which `linear` counts as
/// Prometheus does, fit an `i64` a thousand times over.
pub const MAX_TIME: f64 = 9.2e12;
/// A "breach" is judged on the median of this many newest samples, so that a
/// single spike across the wall is not reported as a breach.
pub const BREACH_WINDOW: usize = 5;
/// Times to wall beyond this are reported as never: 1,000 years of 365.25
/// days.
pub const MAX_HORIZON_SECONDS: f64 = 31_557_600_000.0;

/// Which trend model a limit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModelChoice {
    /// Ordinary least squares over the whole window, exactly Prometheus'
    /// `predict_linear`: no cycle, no regimes. The reference to beat.
    Linear,
    /// Theil-Sen on the current regime, cycle removed: spikes and outliers
    /// do not move it. For a series that only accumulates (whose jumps
    /// are growth, not outliers), its mean rate too.
    Robust,
    /// Theil-Sen on the logarithm of the values: growth that compounds, and
    /// cycles whose swing grows with the level.
    Exponential,
    /// Chosen per series by rolling-origin backtests on its own history.
    #[default]
    Auto,
}

impl ModelChoice {
    pub const ALL: [ModelChoice; 4] = [
        ModelChoice::Linear,
        ModelChoice::Robust,
        ModelChoice::Exponential,
        ModelChoice::Auto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelChoice::Linear => "linear",
            ModelChoice::Robust => "robust",
            ModelChoice::Exponential => "exponential",
            ModelChoice::Auto => "auto",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which cycle to take out before fitting the trend.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Seasonality {
    /// The strongest of a day, a week and a year, if one is strong enough.
    #[default]
    Auto,
    /// No cycle.
    None,
    /// This period, in seconds, if the history shows it.
    Period(f64),
}

impl Seasonality {
    /// "auto", "none", or a period such as "1d" (not zero), as a limit's
    /// `seasonality` and `--seasonality` take it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "none" => Some(Self::None),
            _ => humantime::parse_duration(s)
                .ok()
                .filter(|d| !d.is_zero())
                .map(|d| Self::Period(d.as_secs_f64())),
        }
    }
}

/// How a limit wants its series forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub model: ModelChoice,
    pub seasonality: Seasonality,
    /// Alerts fire when the wall is at least this likely within a lead time
    /// (0 < p <= 0.5). 0.05 is the earliest edge of the 90% band; 0.5 the
    /// likely time.
    pub alert_probability: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: ModelChoice::default(),
            seasonality: Seasonality::default(),
            alert_probability: ALERT_PROBABILITY,
        }
    }
}

impl Settings {
    pub fn with_model(model: ModelChoice) -> Self {
        Self {
            model,
            ..Self::default()
        }
    }

    /// The chance of the wall by the edge alerts act on (see
    /// `band::Trend::eta`).
    fn alert_p(&self) -> f64 {
        self.alert_probability.clamp(f64::MIN_POSITIVE, 0.5)
    }
}

/// Where a series stands with respect to its wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The trend reaches the wall in finite time.
    Approaching,
    /// The newest samples are already at or past the wall.
    Breached,
    /// The trend is flat, moves away from the wall, or reaches it only
    /// after [`MAX_HORIZON_SECONDS`] (about 1,000 years).
    Receding,
    /// Too few finite samples, or no time span, to fit a trend.
    InsufficientData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Approaching => "approaching",
            Status::Breached => "breached",
            Status::Receding => "receding",
            Status::InsufficientData => "insufficient_data",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seconds from `now` until the wall: the likely value and its 90% band.
/// `upper` may be infinite when the trend is too uncertain to promise the
/// wall is ever reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    pub lower: f64,
    pub likely: f64,
    pub upper: f64,
    /// When the wall becomes `Settings::alert_probability` likely: alerts
    /// fire when this falls within the lead time. Not before `lower`; in an
    /// ensemble it can be later than `likely`, when damped trends doubt that
    /// the trend lasts or members that see no wall lower the chance (see
    /// `ensemble::combine`).
    pub alert: f64,
}

impl Eta {
    /// All four at one time: a breach (0), or a forecast without a band.
    pub fn at(t: f64) -> Self {
        Self {
            lower: t,
            likely: t,
            upper: t,
            alert: t,
        }
    }
}

/// The forecast of one series against one wall.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub status: Status,
    /// The model that produced the trend (never `Auto`).
    pub model: ModelChoice,
    /// Why this model, cycle and regime, in words a person can check.
    pub reason: String,
    /// The newest finite sample, if any.
    pub current_value: Option<f64>,
    /// The trend's value at `now`, cycle removed (NaN without a trend).
    pub level: f64,
    /// The trend's change per second at `now` (NaN without a trend).
    pub rate: f64,
    /// Time to wall; `None` when receding or without data.
    pub eta: Option<Eta>,
    /// Finite samples in the history.
    pub samples: usize,
    /// The cycle the time to wall moves by, in seconds, if any: a seasonal
    /// cycle taken out, or a sawtooth's cleanups.
    pub period: Option<f64>,
    /// When the current regime began, if the history holds more than one.
    pub regime_start: Option<UnixSeconds>,
    /// When the wall was reached, for a breach: the first sample at or past
    /// it since the newest samples have stood past it.
    pub breached_at: Option<UnixSeconds>,
    /// Until when the same samples give this forecast again, counted down
    /// (see `evaluate::Kept`): after it the clock alone may change it. The
    /// band's near edge reaching the wall, after which a cycle's next peak
    /// is the one after; a sawtooth's cleanup falling overdue, which its
    /// rules time by the clock, at once. Infinite when nothing does.
    pub steady_until: UnixSeconds,
}

impl Forecast {
    /// When the wall is likely reached, forecast at `now`, or when it was
    /// reached, for a breach; `None` when it is not expected.
    pub fn wall_at(&self, now: UnixSeconds) -> Option<UnixSeconds> {
        self.breached_at.or(self.eta.map(|e| now + e.likely))
    }

    /// When the wall becomes as likely as the settings' `alert_probability`
    /// (the alert's time to wall as a moment), as [`Forecast::wall_at`].
    pub fn wall_alert_at(&self, now: UnixSeconds) -> Option<UnixSeconds> {
        self.breached_at.or(self.eta.map(|e| now + e.alert))
    }

    /// The band's earliest time for the wall, as [`Forecast::wall_at`].
    pub fn wall_at_earliest(&self, now: UnixSeconds) -> Option<UnixSeconds> {
        self.breached_at.or(self.eta.map(|e| now + e.lower))
    }

    /// Is the wall expected within `lead` seconds: at least as likely to be
    /// reached by then as the settings' `alert_probability`?
    pub fn within(&self, lead: f64) -> bool {
        self.eta.is_some_and(|e| e.alert <= lead)
    }

    /// Does a page that fired still hold within `horizon` seconds: is the
    /// wall as likely by then as to fire, or is its likely time within it?
    /// Damped trends can doubt a climb at one evaluation and not at the
    /// next, and hold the alert time back; a page whose own forecast shows
    /// the wall in 14 hours does not resolve for that.
    pub fn still_within(&self, horizon: f64) -> bool {
        self.eta.is_some_and(|e| e.alert.min(e.likely) <= horizon)
    }
}

/// Keeps the finite samples at or before `now`, in time order. Prometheus
/// returns them sorted; files given to `runway forecast` may not be.
fn clean(samples: &[Sample], now: UnixSeconds) -> Vec<Sample> {
    let mut out: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.t.is_finite() && s.v.is_finite() && s.t <= now)
        .collect();
    crate::model::in_time_order(&mut out);
    out
}

/// Why a history cannot be forecast at all, when its times or values lie
/// beyond what the forecaster computes with (see [`MAX_MAGNITUDE`],
/// [`MAX_TIME`]).
fn out_of_range(data: &[Sample], now: UnixSeconds) -> Option<String> {
    if !now.is_finite() || now.abs() > MAX_TIME {
        return Some(format!(
            "the time to forecast from, {now}, is not a Unix time in seconds"
        ));
    }
    if let Some(s) = data.iter().find(|s| s.t.abs() > MAX_TIME) {
        return Some(format!(
            "a sample's time, {}, is not a Unix time in seconds",
            s.t
        ));
    }
    data.iter().find(|s| s.v.abs() > MAX_MAGNITUDE).map(|s| {
        format!(
            "a value of {} is beyond the ±{MAX_MAGNITUDE:e} the forecaster computes with",
            crate::evaluate::format_value(s.v)
        )
    })
}

/// The scale a trend is fitted on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Values,
    Log,
}

impl Scale {
    fn to(self, v: f64) -> f64 {
        match self {
            Scale::Values => v,
            Scale::Log => v.ln(),
        }
    }
    fn from(self, v: f64) -> f64 {
        match self {
            Scale::Values => v,
            Scale::Log => v.exp(),
        }
    }
}

/// The kinds of ensemble member, for the gates that keep the bolder ones
/// out unless the series' own past supports them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Straight,
    Exponential,
    Damped,
    /// A trend whose rate eases (see `Bent`).
    Easing,
    /// A trend whose rate rises steadily, through the whole history (see
    /// `accelerating_source`).
    Accelerating,
}

/// A series made ready for a trend on one scale: cycle out, current regime.
struct Prepared {
    scale: Scale,
    season: Option<season::Season>,
    /// The whole history on the model's scale, cycle removed.
    adjusted: Vec<Sample>,
    /// The cycle's offset at each sample of `adjusted` (none without a
    /// cycle): found once, for taking the cycle out here and for putting
    /// it back at every backtest's every prediction.
    offsets: Vec<f64>,
    /// Where the current regime starts in `adjusted`.
    start: usize,
    regime_start: Option<UnixSeconds>,
    /// +1 when the series only moves up, -1 only down, 0 otherwise (see
    /// `regime::accumulation`), judged on it as measured.
    accumulation: i8,
}

/// Where candidate trends are fitted: a prepared scale, how their slopes
/// are estimated, and over what: its current regime, or its whole history
/// across regimes.
#[derive(Clone, Copy)]
struct Source<'a> {
    p: &'a Prepared,
    slope: robust::Slope,
    across_regimes: bool,
    /// +1 when the wall is above, -1 when below.
    toward: f64,
    /// A trend on a bent time axis, whose rate eases or accelerates,
    /// fitted on its own stretch.
    bent: Option<Bent>,
    /// The share of a vote its trends have (see `ensemble::Member::share`).
    share: f64,
}

/// A trend whose rate eases, or accelerates (see `ensemble::Bend`): on its
/// bent time axis it is a straight line, fitted, backtested and banded as
/// one, and timed back on the clock as a damped trend is.
#[derive(Clone, Copy, Debug)]
struct Bent {
    bend: ensemble::Bend,
    /// Where its stretch starts in `Prepared::adjusted`.
    start: usize,
}

impl Source<'_> {
    /// The first sample the trends see.
    fn start(&self) -> usize {
        match self.bent {
            Some(e) => e.start,
            None if self.across_regimes => 0,
            None => self.p.start,
        }
    }

    /// When the stretch the trends see began, if that is a regime change.
    fn regime_start(&self) -> Option<UnixSeconds> {
        match self.bent {
            Some(e) => (e.start > 0).then(|| self.p.adjusted[e.start].t),
            None if self.across_regimes => None,
            None => self.p.regime_start,
        }
    }
}

/// `data` on `scale`, cycle out, current regime found. `log_cycle`: the
/// cycle already found on the logarithm of the values (the log scale's
/// own), which tells a values-scale cycle whether it is a share of the
/// level without estimating it again. `phases`: where the samples fall in
/// the cycles tried, which depends on their times alone and is shared by
/// the scales (see `season::Phases`).
fn prepare(
    data: &[Sample],
    scale: Scale,
    seasonality: Seasonality,
    log_cycle: Option<&season::Season>,
    phases: &mut season::Phases,
) -> Prepared {
    let scaled: Vec<Sample> = data
        .iter()
        .map(|s| Sample::new(s.t, scale.to(s.v)))
        .collect();
    let season = match seasonality {
        Seasonality::None => None,
        Seasonality::Auto => season::detect_in(&scaled, &season::CANDIDATES, phases),
        Seasonality::Period(p) => season::estimate_in(&scaled, p, phases, &mut None),
    };
    // On the log scale every cycle is already a share of the level.
    let season = match scale {
        Scale::Values => season.map(|c| season::multiplicative(&scaled, c, log_cycle, phases)),
        Scale::Log => season,
    };
    // Whether the series accumulates is judged on it as measured (see
    // `regime::current_start_measured`).
    let measured: Vec<f64> = scaled.iter().map(|s| s.v).collect();
    let offsets: Vec<f64> = match &season {
        Some(c) => scaled.iter().map(|s| c.at(s.t)).collect(),
        None => Vec::new(),
    };
    // The cycle at each sample taken out, as `season::Season::remove` does.
    let adjusted: Vec<Sample> = match &season {
        Some(c) => scaled
            .iter()
            .zip(&offsets)
            .map(|(s, &offset)| Sample::new(s.t, c.with(s.v, -offset)))
            .collect(),
        None => scaled,
    };
    let start = regime::current_start_measured(&adjusted, &measured);
    Prepared {
        accumulation: regime::accumulation(&measured),
        scale,
        season,
        regime_start: (start > 0).then(|| adjusted[start].t),
        start,
        adjusted,
        offsets,
    }
}

/// Compounding growth is only defined for positive values approaching a
/// positive wall (`positive_wall`) from below.
fn log_applies(data: &[Sample], positive_wall: bool, direction: Direction) -> bool {
    direction == Direction::Rising && positive_wall && data.iter().all(|s| s.v > 0.0)
}

/// Forecasts when `samples` reach `wall`, moving in `direction`, as seen at
/// `now`. Samples after `now`, NaN and infinities are ignored.
pub fn forecast(
    samples: &[Sample],
    wall: f64,
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Forecast {
    let log_wall = wall.is_finite() && wall > 0.0;
    let fitted = fit(samples, direction, log_wall, settings, now);
    fitted.said(fitted.at(wall, direction, settings, now), now)
}

/// [`forecast`] of one history against several walls: the trends are
/// fitted and backtested once, and only their crossings are found for each
/// wall. (The load at which each of many series breaks, on one driver.)
pub fn forecast_many(
    samples: &[Sample],
    walls: &[f64],
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Vec<Forecast> {
    let log_wall = walls.iter().all(|w| w.is_finite() && *w > 0.0);
    let fitted = fit(samples, direction, log_wall, settings, now);
    walls
        .iter()
        .map(|&w| fitted.said(fitted.at(w, direction, settings, now), now))
        .collect()
}

/// What a history says before any wall is asked about: its candidate trends,
/// fitted and backtested.
struct Fitted {
    data: Vec<Sample>,
    current_value: Option<f64>,
    how: Fit,
    /// The newest samples held out of the fit: a cleanup too fresh to
    /// follow (see `band::fresh_step`).
    held: usize,
}

enum Fit {
    /// Why nothing can be forecast.
    Insufficient(String),
    /// `predict_linear`'s line.
    Linear(TrendFit),
    Sawtooth(sawtooth::Sawtooth),
    Ensemble {
        candidates: Vec<Candidate>,
        /// Which kinds of trend took part, in words.
        why: Why,
    },
}

/// One ensemble member before a wall is known.
struct Candidate {
    error: f64,
    kind: Kind,
    fit: TrendFit,
    /// Fitted over the whole history, across the values' regimes.
    across_regimes: bool,
    /// Its share of one vote (see `ensemble::Member::share`).
    share: f64,
    /// What it takes part in: a damped twin only in when to alert, and
    /// `fit` moves others out of the times shown when the evidence does not
    /// establish them (see `ensemble::Role`).
    role: Role,
}

/// A fitted trend and what it was fitted on: everything [`finish`] needs
/// but the wall.
struct TrendFit {
    model: ModelChoice,
    reason: String,
    trend: band::Trend,
    scale: Scale,
    season: Option<season::Season>,
    regime_start: Option<UnixSeconds>,
    /// The bent time axis of a damped twin or of a trend that eases (see
    /// `ensemble::Bend`); `None` for a straight one.
    damping: Option<ensemble::Bend>,
}

/// Cleans the history and fits every candidate trend. `log_wall`: the
/// wall(s) are positive, so compounding growth may be tried.
fn fit(
    samples: &[Sample],
    direction: Direction,
    log_wall: bool,
    settings: &Settings,
    now: UnixSeconds,
) -> Fitted {
    let data = clean(samples, now);
    let current_value = data.last().map(|s| s.v);
    let done = |how: Fit, data: Vec<Sample>| Fitted {
        data,
        current_value,
        how,
        held: 0,
    };
    if let Some(why) = out_of_range(&data, now) {
        return done(Fit::Insufficient(why), data);
    }
    if data.len() < MIN_SAMPLES {
        let why = format!(
            "{}; at least {MIN_SAMPLES} are needed",
            crate::evaluate::count(data.len(), "finite sample")
        );
        return done(Fit::Insufficient(why), data);
    }
    if data[0].t == data[data.len() - 1].t {
        return done(
            Fit::Insufficient("all samples share one timestamp".to_string()),
            data,
        );
    }

    if settings.model == ModelChoice::Linear {
        return match linear::regression(&data, now)
            .filter(|l| l.slope.is_finite() && l.intercept.is_finite())
        {
            Some(line) => {
                let fit = TrendFit {
                    model: ModelChoice::Linear,
                    reason: "linear: least squares over the whole window, as predict_linear".into(),
                    trend: band::Trend::gaussian(&data, line, now),
                    scale: Scale::Values,
                    season: None,
                    regime_start: None,
                    damping: None,
                };
                done(Fit::Linear(fit), data)
            }
            None => done(
                Fit::Insufficient("linear: no finite line fits these samples".into()),
                data,
            ),
        };
    }

    if let Some(saw) = sawtooth::detect(&data, direction) {
        return done(Fit::Sawtooth(saw), data);
    }

    // A cleanup of the newest few samples, fewer than the level needs to
    // follow it: the trends are fitted to the history before it, and the
    // forecast holds until the cleanup lasts (the breach test and the
    // current value still see every sample). (A sawtooth's cleanups are
    // its own: a fresh one starts its current climb.)
    let held = band::fresh_step(
        &data,
        direction.sign(),
        band::shift_needed(level_samples(data.len())),
    );
    if held > 0 {
        let mut fitted = fit(
            &data[..data.len() - held],
            direction,
            log_wall,
            settings,
            now,
        );
        fitted.data = data;
        fitted.current_value = current_value;
        fitted.held = held;
        return fitted;
    }

    let mut phases = season::Phases::new();
    let log = matches!(settings.model, ModelChoice::Auto | ModelChoice::Exponential)
        .then(|| log_applies(&data, log_wall, direction))
        .unwrap_or(false)
        // On the log scale compounding growth is one straight regime: its
        // regimes are found on that scale, not inherited from the values.
        .then(|| prepare(&data, Scale::Log, settings.seasonality, None, &mut phases));
    let log_cycle = log.as_ref().and_then(|l| l.season.as_ref());
    let values = prepare(
        &data,
        Scale::Values,
        settings.seasonality,
        log_cycle,
        &mut phases,
    );
    // A series that only accumulates towards the wall (bytes written, files
    // tracked, a counter) grows in bursts, and the bursts are its growth:
    // in a window that holds few of them, Theil-Sen's median slope sees the
    // stretches between them. Its mean rate (see `robust::Slope::MeanRate`)
    // takes part too, and the backtests weigh the two. Either way its
    // direction is not in doubt (see `band::Trend::directed`).
    use robust::Slope;
    let accumulates = f64::from(values.accumulation) == direction.sign();
    let source = |p, slope| Source {
        p,
        slope,
        across_regimes: false,
        toward: direction.sign(),
        bent: None,
        share: 1.0,
    };
    let mut pool: Vec<Source> = match (settings.model, &log) {
        (ModelChoice::Exponential, Some(l)) => vec![source(l, Slope::Robust)],
        (ModelChoice::Auto, Some(l)) => {
            vec![source(&values, Slope::Robust), source(l, Slope::Robust)]
        }
        _ => vec![source(&values, Slope::Robust)],
    };
    let mean_rates = accumulates && settings.model != ModelChoice::Exponential;
    if mean_rates {
        // Each window's trend of the values is then read two ways, by
        // Theil-Sen's slope and by the mean rate: one trend, whose vote
        // the two readings share. Counted twice, the straight trends
        // outvote an accelerating or exponential trend two to one however
        // the backtests weigh them.
        for s in pool.iter_mut().filter(|s| s.p.scale == Scale::Values) {
            s.share = 0.5;
        }
        pool.push(Source {
            share: 0.5,
            ..source(&values, Slope::MeanRate)
        });
    }
    // A trend that levels off (a warm-up, a cache settling, a fill that
    // tapers): when its rate falls through the history, a trend that eases
    // as its rate does is fitted too (see `Bent`), and takes part when it
    // predicted the series' own past clearly better than every straight
    // trend. A straight trend through it reaches the wall too soon, or at
    // all.
    let easing = (settings.model == ModelChoice::Auto)
        .then(|| easing_source(&values, direction, now))
        .flatten();
    // Every candidate is scored on the same stretch: the longest current
    // regime, so that a scale that sees one long regime (compounding growth
    // on the log scale, or a trend that levels off on its own time axis) is
    // not judged on the last hours alone.
    let from = pool
        .iter()
        .chain(&easing)
        .map(|s| s.start())
        .min()
        .unwrap_or(0);
    // A regime change can be a random walk's wandering rather than a change:
    // the straight trend over the whole history takes part too, and the
    // backtests (on the same stretch as the others) weigh it. After a real
    // change it predicts the new regime badly and counts for little.
    if values.start > 0 && pool.iter().any(|s| s.p.scale == Scale::Values) {
        pool.push(Source {
            across_regimes: true,
            ..source(&values, Slope::Robust)
        });
    }
    let fitted = |src, bar| fitted_candidates(src, &data, from, now, accumulates, bar);
    let mut candidates: Vec<Candidate> =
        pool.into_iter().flat_map(|src| fitted(src, None)).collect();
    let straight = candidates
        .iter()
        .filter(|c| c.kind == Kind::Straight)
        .map(|c| c.error)
        .fold(f64::INFINITY, f64::min);
    if let Some(src) = easing {
        candidates.extend(fitted(src, Some(CLEARLY_BETTER * straight)));
    }
    // Compounding growth extrapolates much faster than a straight trend; a
    // history that cannot tell the two apart is no evidence for it. In
    // `auto`, exponential trends join the times shown and the alerts only
    // when the series' rate rises by the rate test and they predicted its
    // own past better than every straight one. (Not "clearly" better, by
    // `CLEARLY_BETTER`, as well: the rate test is the evidence against a
    // random walk's bend. Growth of 2-3% a day under a daily swing, whose
    // noise keeps a straight trend's backtests within 10% of the
    // exponential's, passed at one cut and failed three hours later, and
    // its time to wall went from 30 days to 47 and back: truly 30.)
    if settings.model == ModelChoice::Auto {
        let best = |candidates: &[Candidate], kind: Kind| {
            candidates
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.error)
                .fold(f64::INFINITY, f64::min)
        };
        let straight = best(&candidates, Kind::Straight);
        // And the series' own rate must rise through the history they were
        // fitted on: a random walk's path bends by chance, and a backtest
        // over its last stretch can favour the bend; its steps do not grow.
        let compounds = || {
            log.as_ref()
                .is_some_and(|l| regime::rate_rises(&values.adjusted[l.start..], direction.sign()))
        };
        // Short of that, compounding is not ruled out either: it stays an
        // alternative, which the band allows for.
        if best(&candidates, Kind::Exponential) >= straight || !compounds() {
            for c in candidates
                .iter_mut()
                .filter(|c| c.kind == Kind::Exponential)
            {
                c.role = Role::Alternative;
            }
        }
    }
    let compounding = candidates
        .iter()
        .any(|c| c.kind == Kind::Exponential && c.role != Role::Alternative);
    // Growth that accelerates (a repository that gains contributors, a
    // business whose traffic grows faster each year): a straight trend
    // through it falls behind, and straight lines through its curve break
    // it into regimes. When the curve through the whole history bends
    // towards the wall, it is fitted too (see `accelerating_source`), and
    // takes part in the times shown, not in when to alert (see
    // `ensemble::Role::Shown`), when the history bends steadily (the curve
    // fits it better than any line broken once: `regime::Curve::steady`)
    // or else when it predicted the series' own past better than every
    // straight trend. Those backtests run on the values' current regime,
    // which straight lines through a curve make short, and there a curve
    // and its tangent predict alike: on a disk whose free space falls
    // faster every day, the noise alone kept the curve out at half the
    // draws, and the straight trends put the wall 1.45 times too far. A
    // rate that changed once, whose backtests keep the curve out rightly
    // (a series flat for a week that then ramps), is a broken line.
    //
    // Only without compounding: acceleration that the evidence establishes
    // as compounding (its rate rising by the rate test, exponential trends
    // that predicted its past better than straight ones) is the
    // exponential trends' to show. A parabola through it is a rougher copy
    // that falls behind it at long range, yet can predict the near past as
    // well: beside exponential trends, a parabola through a pool growing 5%
    // a day took the likely time, 41 days for a wall 31 days away.
    let mut steadily = false;
    if settings.model == ModelChoice::Auto && !compounding {
        if let Some((src, steady)) = accelerating_source(&values, direction) {
            steadily = steady;
            candidates.extend(fitted(src, (!steady).then_some(straight)));
        }
    }
    // The straight trend across regimes stands for a regime change that may
    // be a wander. When the growth compounds and the log scale sees one
    // regime where the values see a change, the change is the values'
    // curve bending up: straight lines through a compounding series break
    // into pieces. The trend across them is then no hypothesis of its own
    // for the times shown, but a third vote for a straight line, which
    // outweighed exponential trends that backtested 25 to 30% better (two
    // votes at weight 1 to three at 0.6 to 0.8): the likely time went from
    // the exponential's to the straight one's (30 days to 47, truly 30) as
    // the hour of the cut moved the weights a little. It still weighs when
    // to alert, as a damped twin does: dropped outright, it paged early on
    // the held-out set (US population, Johnson & Johnson).
    if compounding && log.as_ref().is_some_and(|l| l.start < values.start) {
        for c in candidates.iter_mut().filter(|c| c.across_regimes) {
            c.role = Role::Damped;
        }
    }
    // Straight lines through a curve break it into regimes. When the
    // values' current regime began within the history and the curve
    // through the whole of it predicted that regime better than the
    // regime's own straight trends (it is a member, above), the change was
    // the curve bending: the regime's trends are pieces of it, and like
    // damped twins they weigh only when to alert.
    if values.start > 0 && candidates.iter().any(|c| c.kind == Kind::Accelerating) {
        for c in candidates
            .iter_mut()
            .filter(|c| c.kind == Kind::Straight && !c.across_regimes)
        {
            c.role = Role::Damped;
        }
    }
    let (noun, mut note) = match (settings.model, &log) {
        // Compounding is growth towards a wall above: for a falling series
        // it was never in question.
        (ModelChoice::Auto, None) if direction == Direction::Falling => {
            ("straight trend".to_string(), String::new())
        }
        (ModelChoice::Auto | ModelChoice::Exponential, None) => (
            "straight trend".to_string(),
            " (exponential growth needs positive values rising to a positive wall)".to_string(),
        ),
        (ModelChoice::Auto, Some(_)) if compounding => {
            ("straight and exponential trend".to_string(), String::new())
        }
        (ModelChoice::Auto, Some(_)) => (
            "straight trend".to_string(),
            " (compounding not established)".to_string(),
        ),
        (m, _) => (format!("{m} trend"), ", set by configuration".to_string()),
    };
    if mean_rates {
        note.push_str(", with mean rates, as the series only moves towards the wall");
    }
    // A trend that levels off or accelerates is not straight: the count
    // says "trends", and whether the curve joined because the history
    // bends steadily (else its backtests put it there).
    let bent: Vec<&str> = [
        (Kind::Easing, "levelling off"),
        (
            Kind::Accelerating,
            if steadily {
                "accelerating steadily"
            } else {
                "accelerating"
            },
        ),
    ]
    .into_iter()
    .filter(|(kind, _)| candidates.iter().any(|c| c.kind == *kind))
    .map(|(_, said)| said)
    .collect();
    let (noun, note) = if bent.is_empty() {
        (noun, note)
    } else {
        (
            "trend".to_string(),
            format!(", one {}{note}", bent.join(", one ")),
        )
    };
    let why = Why { noun, note };
    if candidates.iter().all(|c| c.role == Role::Alternative) {
        return done(
            Fit::Insufficient("no trend fits the current regime".into()),
            data,
        );
    }
    done(Fit::Ensemble { candidates, why }, data)
}

impl Fitted {
    /// `f` as said at `now`: its reason saying what the fit held out of the
    /// newest samples, and until when it holds.
    fn said(&self, mut f: Forecast, now: UnixSeconds) -> Forecast {
        if self.held > 0 && f.status != Status::Breached {
            f.reason.push_str(&format!(
                "; the newest {} moved away from the wall at once: not followed until the move lasts",
                crate::evaluate::count(self.held, "sample")
            ));
        }
        if let Some(eta) = f.eta {
            f.steady_until = f.steady_until.min(now + eta.lower);
        }
        f
    }

    /// The forecast against `wall`.
    fn at(
        &self,
        wall: f64,
        direction: Direction,
        settings: &Settings,
        now: UnixSeconds,
    ) -> Forecast {
        let data = &self.data;
        let insufficient = |reason: String| Forecast {
            status: Status::InsufficientData,
            model: match settings.model {
                ModelChoice::Auto => ModelChoice::Robust,
                m => m,
            },
            reason,
            current_value: self.current_value,
            level: f64::NAN,
            rate: f64::NAN,
            eta: None,
            samples: data.len(),
            period: None,
            regime_start: None,
            breached_at: None,
            steady_until: f64::INFINITY,
        };
        if !wall.is_finite() {
            return insufficient(format!("the wall {wall} is not a finite number"));
        }
        if wall.abs() > MAX_MAGNITUDE {
            return insufficient(format!(
                "the wall {} is beyond the ±{MAX_MAGNITUDE:e} the forecaster computes with",
                crate::evaluate::format_value(wall)
            ));
        }
        let at = Crossing {
            wall,
            direction,
            breached: breached_at(data, wall, direction),
            current_value: self.current_value,
            samples: data.len(),
            now,
            alert_p: settings.alert_p(),
        };
        let (candidates, why) = match &self.how {
            Fit::Insufficient(why) => return insufficient(why.clone()),
            Fit::Linear(fit) => return finish(fit, &at),
            Fit::Sawtooth(saw) => {
                return sawtooth_forecast(data, saw, wall, direction, now, settings.alert_p());
            }
            Fit::Ensemble { candidates, why } => (candidates, why),
        };
        let members = candidates
            .iter()
            .map(|c| Member {
                error: c.error,
                share: c.share,
                forecast: finish(&c.fit, &at),
                role: c.role,
            })
            .collect();
        let mut f = combine(members, why, settings.alert_probability);
        if let Some(p) = f.period {
            f.reason
                .push_str(&format!("; a {} cycle taken out", period_name(p)));
        } else if let Seasonality::Period(p) = settings.seasonality {
            if let Some(why) = season::unobservable(data, p) {
                f.reason.push_str(&format!(
                    "; the {} cycle set is not taken out: {why}",
                    period_name(p)
                ));
            }
        }
        if let Some(t) = f.regime_start {
            f.reason.push_str(&format!(
                "; the current regime began {} ago",
                crate::evaluate::human_duration(now - t)
            ));
        }
        f
    }
}

/// The candidate trends `src` fits on its stretch of `data`: a trend over
/// the whole stretch and over its recent half (one, for a short stretch),
/// each backtested from origins placed from `from` on, with (on the
/// values' scale) its damped twin. With a `bar`, only the trends whose
/// backtest error is below it.
fn fitted_candidates(
    src: Source,
    data: &[Sample],
    from: usize,
    now: UnixSeconds,
    accumulates: bool,
    bar: Option<f64>,
) -> Vec<Candidate> {
    use robust::Slope;
    let mut candidates = Vec::new();
    let (p, slope) = (src.p, src.slope);
    let regime = &p.adjusted[src.start()..];
    let n = regime.len();
    if n < MIN_SAMPLES {
        return candidates;
    }
    let windows: &[f64] = if src.across_regimes || src.bent.is_some() {
        &[1.0]
    } else {
        &WINDOWS
    };
    for &frac in windows {
        let len = window_len(n, frac);
        // A recent window that holds the whole regime (a short one) is
        // the same trend as the whole regime's: it is counted once.
        if frac < 1.0 && len == n {
            continue;
        }
        let window = &regime[n - len..];
        // Only a straight trend on the values' scale has a damped twin.
        let twin = p.scale == Scale::Values && src.bent.is_none();
        let (straight, damped) = backtest_error(src, frac, data, from, twin);
        // A trend that had to predict the past better than `bar` and did
        // not is neither fitted nor banded.
        if bar.is_some_and(|bar| straight.error >= bar || straight.error.is_nan()) {
            continue;
        }
        // A trend that levels off is a straight one on its own time axis
        // (see `Bent`), where now is 0.
        let (axis, origin) = match src.bent {
            Some(e) => (Cow::Owned(ensemble::eased(window, now, e.bend)), 0.0),
            None => (Cow::Borrowed(window), now),
        };
        let Some(line) = slope
            .fit(&axis, origin)
            .filter(|l| l.slope.is_finite() && l.intercept.is_finite())
        else {
            continue;
        };
        // A straight trend's band also allows for the series wandering
        // from it (on the clock's axis, which is then its own).
        let local = match src.bent {
            None => band::Trend::local_wandering,
            Some(_) => band::Trend::local,
        };
        let mut local = local(&axis, line, origin, level_samples(axis.len()), src.toward);
        if accumulates {
            local = local.directed();
        }
        let model = match p.scale {
            Scale::Log => ModelChoice::Exponential,
            Scale::Values => ModelChoice::Robust,
        };
        let mut reason = format!("{model}");
        if slope == Slope::MeanRate {
            reason.push_str(" (mean rate)");
        }
        if src.across_regimes {
            reason.push_str(" over the whole history, across regimes");
        } else if window.len() < n {
            reason.push_str(&format!(
                " over the last {}",
                crate::evaluate::human_duration(now - window[0].t)
            ));
        }
        if let Some(Bent { bend, .. }) = src.bent {
            let halving = crate::evaluate::human_duration(bend.tau * std::f64::consts::LN_2);
            reason.push_str(&if bend.accelerates() {
                format!(
                    " over the whole history, accelerating: its rate rising by today's every {}",
                    crate::evaluate::human_duration(bend.tau)
                )
            } else if bend.steady > 0.0 {
                format!(
                    ", its rate easing to a steady {:.0}% of today's (the rest halving every {halving})",
                    100.0 * bend.steady
                )
            } else {
                format!(
                    ", levelling off towards {} (its rate halving every {halving})",
                    crate::evaluate::format_value(
                        p.scale.from(line.intercept + line.slope * bend.tau)
                    ),
                )
            });
        }
        if let Some(c) = p
            .season
            .as_ref()
            .filter(|c| c.combine == season::Combine::Multiply)
        {
            reason.push_str(", its cycle a share of the level");
            if c.shift > 0.0 {
                let floor = crate::evaluate::format_value(c.shift);
                reason.push_str(&format!(" above {floor}"));
            }
        }
        let span = now - window[0].t;
        // Straight, and (on the values' scale) damped: carried at most
        // as far as the window it was seen over. A trend that levels off
        // is its own damping.
        let variants = match (p.scale, src.bent) {
            (Scale::Values, Some(e)) if e.bend.accelerates() => {
                vec![(straight, Some(e.bend), Kind::Accelerating)]
            }
            (Scale::Values, Some(e)) => vec![(straight, Some(e.bend), Kind::Easing)],
            (Scale::Values, None) => std::iter::once((straight, None, Kind::Straight))
                .chain(damped.map(|d| (d, Some(ensemble::Bend::damped(span)), Kind::Damped)))
                .collect(),
            (Scale::Log, _) => vec![(straight, None, Kind::Exponential)],
        };
        for (tested, damping, kind) in variants {
            let mut reason = reason.clone();
            if kind == Kind::Damped {
                reason.push_str(&format!(
                    ", damped to at most {} of its slope",
                    crate::evaluate::human_duration(span)
                ));
            }
            candidates.push(Candidate {
                error: tested.error,
                kind,
                across_regimes: src.across_regimes,
                share: src.share,
                role: match kind {
                    Kind::Damped => Role::Damped,
                    Kind::Straight | Kind::Exponential | Kind::Easing => Role::Trend,
                    Kind::Accelerating => Role::Shown,
                },
                fit: TrendFit {
                    model,
                    reason,
                    trend: local.clone().calibrated(tested.calibration),
                    scale: p.scale,
                    season: p.season.clone(),
                    regime_start: src.regime_start(),
                    damping,
                },
            });
        }
    }
    candidates
}

/// A source of trends whose rate eases, for a series whose rate towards
/// the wall falls through its history (see `regime::easing`), its stretch
/// the current regime as found on its own time axis, where it is straight
/// (a curve that levels off reads as a regime change to straight lines; a
/// cleanup or a restart still is one). `None` when the rate does not fall.
fn easing_source(values: &Prepared, direction: Direction, now: UnixSeconds) -> Option<Source<'_>> {
    let sign = direction.sign();
    let whole = &values.adjusted;
    let bend = regime::easing(whole, sign)?;
    let start = regime::current_start(&ensemble::eased(whole, now, bend));
    let bend = if start == 0 {
        bend
    } else {
        regime::easing(&whole[start..], sign)?
    };
    Some(Source {
        p: values,
        slope: robust::Slope::Robust,
        across_regimes: false,
        toward: sign,
        bent: Some(Bent { bend, start }),
        share: 1.0,
    })
}

/// A source of trends that accelerate, for a series whose curve through
/// its whole history bends towards the wall (see `regime::Curve`): across
/// the values' regimes, which straight lines through a curve make. With it,
/// whether the history bends steadily (`regime::Curve::steady`). `None`
/// when the curve bends away, or bends neither steadily nor beyond its
/// noise (`regime::Curve::beyond_noise`): a straight trend under noise or a
/// cycle's residue bends one way or the other by chance, and such a curve
/// is no evidence of acceleration. (Fitted and backtested all the same,
/// the chance curve of the speed benchmark's series, a straight trend
/// under a daily cycle, was a sixth of its forecast's cost.)
fn accelerating_source(values: &Prepared, direction: Direction) -> Option<(Source<'_>, bool)> {
    let sign = direction.sign();
    let curve = regime::Curve::fit(&values.adjusted, sign)?;
    let steady = curve.steady();
    if !steady && !curve.beyond_noise() {
        return None;
    }
    let source = Source {
        p: values,
        slope: robust::Slope::Robust,
        across_regimes: false,
        toward: sign,
        bent: Some(Bent {
            bend: curve.bend,
            start: 0,
        }),
        share: 1.0,
    };
    Some((source, steady))
}

/// The newest samples that set the level a trend starts from: the last
/// 2.5% of the window (about four hours of a week), at least five (or all
/// there are, in a window of fewer). A level
/// from further back lags a series that wanders (a random walk's level is
/// where it is now); one from fewer samples is at the mercy of their noise.
/// An odd count, so that their median is one of them: with an even count,
/// a cleanup half a window old put the level halfway between before and
/// after, and the samples' spread around it was then too wide to see the
/// cleanup (a disk with 11 days left read 7 for one evaluation).
pub fn level_samples(n: usize) -> usize {
    ((n / 40).max(BREACH_WINDOW) | 1).min(n)
}

/// A sawtooth is forecast from its peaks: the wall is hit when a cycle's
/// peak reaches it, or sooner if the current cycle gets there before its
/// cleanup is due.
fn sawtooth_forecast(
    data: &[Sample],
    saw: &sawtooth::Sawtooth,
    wall: f64,
    direction: Direction,
    now: UnixSeconds,
    alert_p: f64,
) -> Forecast {
    let breached = breached_at(data, wall, direction);
    let current_value = data.last().map(|s| s.v);
    let sign = direction.sign();
    let climb = sawtooth::climb_rate(data, saw, now, sign);
    let sawtooth::Reach {
        likely,
        peaks: peak_line,
        from_cycle,
        missed,
    } = sawtooth::time_to_wall_climbing(data, saw, wall, direction, now, climb);
    let mut f = Forecast {
        status: Status::Receding,
        model: ModelChoice::Robust,
        reason: format!(
            "robust: a sawtooth of {} cleanups about every {}{}; forecasting its peaks",
            saw.peaks.len(),
            crate::evaluate::human_duration(saw.cycle),
            if saw.trigger.by_level {
                ", each at a level"
            } else {
                ""
            }
        ),
        current_value,
        level: peak_line.map_or(f64::NAN, |l| l.intercept),
        rate: peak_line.map_or(f64::NAN, |l| l.slope),
        eta: None,
        samples: data.len(),
        period: Some(saw.cycle),
        regime_start: data.get(saw.current_start()).map(|s| s.t),
        breached_at: breached,
        // Its rules on a cleanup overdue, and its next peak, follow the
        // clock: computed again at every evaluation.
        steady_until: now,
    };
    if breached.is_some() {
        f.status = Status::Breached;
        f.eta = Some(Eta::at(0.0));
        return f;
    }
    if missed {
        f.reason.push_str(if saw.trigger.by_level {
            "; this climb is well past the level its cleanups come at, and goes on to the wall"
        } else {
            "; this climb's cleanup is well past its time, and the climb goes on to the wall"
        });
    }
    let Some(likely) = likely else {
        f.reason
            .push_str(", which stay clear of the wall: it is cleaned up before it is hit");
        return f;
    };
    // The band of the peaks' trend, where it has one; the current cycle's
    // own estimate has no band beyond the cycle itself.
    let band =
        peak_line.map(|l| band::Trend::gaussian(&saw.peaks, l, now).eta(wall, direction, alert_p));
    let (lower, upper, alert) = match band {
        Some(band::Outcome::Eta(e)) => (
            e.lower.min(likely),
            e.upper.max(likely),
            e.alert.min(likely),
        ),
        _ => (likely, f64::INFINITY, likely),
    };
    // The wall can only be hit at a peak, just before a cleanup: from the
    // peaks' trend, each time moves on to the first peak due at or after it.
    // A crossing within the current climb, before its cleanup, stays.
    let next_peak = data
        .get(saw.current_start())
        .map_or(now, |s| s.t + saw.cycle);
    let at_peak = |h: f64| {
        if from_cycle {
            h
        } else {
            at_cycle_peak(next_peak - now, saw.cycle, h)
        }
    };
    // A cycle whose peak overshoots the wall crosses it on its climb, before
    // the peak: by the overshoot over the climb's rate. The overshoot of
    // the first peak past the peaks' trend crossing is the trend's growth
    // since; of the cycle before it, at most a cycle's growth.
    let climb_rate = climb.filter(|r| r.is_finite() && *r > 0.0);
    let peak_rate = peak_line
        .map(|l| l.slope * sign)
        .filter(|r| r.is_finite() && *r > 0.0);
    let on_climb = |overshoot_seconds: f64| match (climb_rate, peak_rate) {
        (Some(c), Some(p)) if !from_cycle => (p * overshoot_seconds / c).clamp(0.0, saw.cycle),
        _ => 0.0,
    };
    let snapped = at_peak(likely);
    let likely_at = (snapped - on_climb(snapped - likely)).max(0.0);
    // Peaks come once a cycle: a forecast of them is good to a cycle, and
    // the band is at least that wide either side.
    let resolution = if from_cycle { 0.0 } else { saw.cycle };
    f.status = Status::Approaching;
    f.eta = Some(Eta {
        lower: (at_peak(lower).min(snapped - resolution) - on_climb(saw.cycle))
            .min(likely_at)
            .max(0.0),
        likely: likely_at,
        upper: at_peak(upper).max(snapped + resolution),
        alert: at_peak(alert.max(lower)).min(likely_at),
    });
    f
}

/// Seconds to the first peak at or after `h`, peaks being due `first`
/// seconds from now and every `cycle` after.
fn at_cycle_peak(first: f64, cycle: f64, h: f64) -> f64 {
    let first = first.max(0.0);
    if !h.is_finite() || cycle <= 0.0 {
        h
    } else if h <= first {
        first
    } else {
        first + ((h - first) / cycle).ceil() * cycle
    }
}

/// A breach is judged on the newest samples themselves, before any model:
/// their median is at or past the wall, so that one spike is not a breach.
/// Returns when the wall was reached: going back while the samples up to
/// each earlier one were judged so too, the first sample at or past the
/// wall among those the breach was first judged on. (A dashboard and an
/// alert show the time it crossed, not the time of each evaluation.)
fn breached_at(data: &[Sample], wall: f64, direction: Direction) -> Option<UnixSeconds> {
    let window = |end: usize| &data[end.saturating_sub(BREACH_WINDOW)..end];
    let past = |v: f64| direction.gap(v, wall) <= 0.0;
    // A whole window's median (an odd count) is past the wall when most of
    // its samples are: counted, so that a long breach is walked back
    // without sorting a window at every sample.
    let judged = |end: usize| {
        if end >= BREACH_WINDOW {
            window(end).iter().filter(|s| past(s.v)).count() > BREACH_WINDOW / 2
        } else {
            let recent: Vec<f64> = window(end).iter().map(|s| s.v).collect();
            robust::median(&recent).is_some_and(past)
        }
    };
    let mut first = data.len();
    if !judged(first) {
        return None;
    }
    while first > 1 && judged(first - 1) {
        first -= 1;
    }
    window(first).iter().find(|s| past(s.v)).map(|s| s.t)
}
const _: () = assert!(
    BREACH_WINDOW % 2 == 1,
    "a breach's window has a middle sample"
);

fn period_name(p: f64) -> String {
    match p {
        p if p == season::DAY => "daily".into(),
        p if p == season::WEEK => "weekly".into(),
        p if p == season::YEAR => "yearly".into(),
        p => format!("{p:.0}s"),
    }
}

/// The wall a trend is asked about, and what is known of the series then.
struct Crossing {
    wall: f64,
    direction: Direction,
    breached: Option<UnixSeconds>,
    current_value: Option<f64>,
    samples: usize,
    now: UnixSeconds,
    alert_p: f64,
}

/// With a cycle, the trend plus the cycle's peak reaches the wall at `h`
/// seconds; the series itself reaches it at the first time from then on
/// when the cycle is high enough, within one period: the busiest hour after
/// `h`, not `h` itself. Goes through the cycle's phase bins from `h`: in
/// each, the trend reaches the wall less the bin's offset where its line
/// does, or at once at the bin's start. (The first time, exactly, so that a
/// nearer wall is never reached later than a further one: one time tried
/// a bin, a bin apart, missed a bin that a trend crossing late in it
/// reached, and went on to the next.) `wall` is on the model's scale,
/// `at_h` the trend's value at `h`.
fn at_phase(
    c: &season::Season,
    slope: f64,
    direction: Direction,
    (wall, at_h): (f64, f64),
    now: UnixSeconds,
    h: f64,
) -> f64 {
    if !h.is_finite() {
        return h;
    }
    let s = direction.sign();
    // Rounding's share of the quantities compared, whatever their unit: a
    // floor of 1e-12 in absolute terms dwarfed a wall of 7e-20 (the first
    // bin always "reached" it) and a unit change moved the time by hours.
    let tolerance = 1e-12 * wall.abs().max(at_h.abs());
    let trend = |x: f64| at_h + slope * (x - h);
    let reached = |x: f64, offset: f64| s * (c.with(trend(x), offset) - wall) >= -tolerance;
    c.bins_from(now, h, c.profile.len() + 1)
        .find_map(|(start, end, offset)| {
            if reached(start, offset) {
                return Some(start);
            }
            // Within the bin, where the trend's line reaches the wall less
            // this bin's offset (when it moves towards the wall).
            if s * slope <= 0.0 {
                return None;
            }
            let x = h + (c.trend_for(wall, offset) - at_h) / slope;
            (x < end).then_some(x.max(start))
        })
        .unwrap_or(h)
}
/// The forecast of one fitted trend against the wall of `a`.
fn finish(t: &TrendFit, a: &Crossing) -> Forecast {
    let line = t.trend.line;
    let level = t.scale.from(line.intercept);
    // On the log scale the slope is a relative rate: d/dt e^(a+bt) = b e^(a+bt).
    let rate = match t.scale {
        Scale::Values => line.slope,
        Scale::Log => line.slope * level,
    };
    let mut f = Forecast {
        status: Status::Receding,
        model: t.model,
        reason: t.reason.clone(),
        current_value: a.current_value,
        level,
        rate,
        eta: None,
        samples: a.samples,
        period: t.season.as_ref().map(|c| c.period),
        regime_start: t.regime_start,
        breached_at: a.breached,
        steady_until: f64::INFINITY,
    };
    if a.breached.is_some() {
        f.status = Status::Breached;
        f.eta = Some(Eta::at(0.0));
        return f;
    }
    // With a cycle, the wall is first reached by the cycle's peak (its
    // trough, for a falling series): the trend has to come within the
    // peak's height of the wall.
    let peak = match (&t.season, a.direction) {
        (Some(c), Direction::Rising) => c.max(),
        (Some(c), Direction::Falling) => c.min(),
        (None, _) => 0.0,
    };
    let scaled_wall = t.scale.to(a.wall);
    let wall = t
        .season
        .as_ref()
        .map_or(scaled_wall, |c| c.trend_for(scaled_wall, peak));
    // The cycle's peaks already reach the wall where the trend is now, and
    // still will a cycle on: the wall is hit at the next busy hour, whether
    // the trend rises, stays flat or (slowly) falls. A flat trend read
    // "receding" off-peak for a series over its wall at every peak.
    if let Some(c) = &t.season {
        let past = |level: f64| a.direction.gap(level, wall) <= 0.0;
        if past(line.intercept) && past(line.intercept + line.slope * c.period) {
            let h = at_phase(
                c,
                line.slope,
                a.direction,
                (scaled_wall, line.intercept),
                a.now,
                0.0,
            );
            f.status = Status::Approaching;
            // A peak that only just reaches the wall may fall short of it
            // once: the band holds the peak after too.
            f.eta = Some(Eta {
                upper: h + c.period,
                ..Eta::at(h)
            });
            f.reason
                .push_str(if a.direction.gap(line.intercept, scaled_wall) <= 0.0 {
                    "; the trend is already past the wall, between the cycle's swings"
                } else {
                    "; the cycle's peaks already reach the wall: it is hit at the next one"
                });
            return f;
        }
    }
    match t.trend.eta(wall, a.direction, a.alert_p) {
        band::Outcome::Flat { slope_se } => {
            f.reason.push_str(&format!(
                "; the trend ({:.3e}/s) is within its noise ({slope_se:.3e}/s): flat",
                line.slope
            ));
        }
        band::Outcome::Beyond => {
            f.reason.push_str(&format!(
                "; the trend ({:.3e}/s) would take over 1,000 years to reach the wall: too far to forecast",
                line.slope
            ));
        }
        band::Outcome::Away => {}
        band::Outcome::Eta(eta) => {
            let eta = match t.damping {
                Some(bend) => Eta {
                    lower: bend.time(eta.lower),
                    likely: bend.time(eta.likely),
                    upper: bend.time(eta.upper),
                    alert: bend.time(eta.alert),
                },
                None => eta,
            };
            if !eta.likely.is_finite() {
                f.reason
                    .push_str("; damped, the trend stops short of the wall");
                return f;
            }
            f.status = Status::Approaching;
            f.eta = Some(match &t.season {
                Some(c) => {
                    let shift =
                        |h| at_phase(c, line.slope, a.direction, (scaled_wall, wall), a.now, h);
                    Eta {
                        lower: shift(eta.lower),
                        likely: shift(eta.likely),
                        upper: shift(eta.upper),
                        alert: shift(eta.alert),
                    }
                }
                None => eta,
            });
        }
    }
    f
}

#[cfg(test)]
pub(crate) mod tests;
