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
pub mod linear;
pub mod regime;
pub mod robust;
pub mod season;

use std::fmt;

use crate::model::{Direction, Sample, UnixSeconds};

/// Two-sided 90% band: the normal quantile 0.95.
pub const BAND_Z: f64 = 1.644_853_626_951_472_2;
/// A trend towards the wall smaller than this many standard errors of the
/// slope counts as flat (receding).
pub const FLAT_Z: f64 = BAND_Z;
/// Fewer finite samples than this give `insufficient_data`.
pub const MIN_SAMPLES: usize = 3;
/// A "breach" is judged on the median of this many newest samples, so that a
/// single spike across the wall is not reported as a breach.
pub const BREACH_WINDOW: usize = 5;
/// Times to wall beyond this are reported as never (about 1,000 years).
pub const MAX_HORIZON_SECONDS: f64 = 3.15e10;

/// Which trend model a limit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModelChoice {
    /// Ordinary least squares over the whole window, exactly Prometheus'
    /// `predict_linear`: no cycle, no regimes. The reference to beat.
    Linear,
    /// Theil-Sen on the current regime, cycle removed: spikes and outliers
    /// do not move it.
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

/// How a limit wants its series forecast.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Settings {
    pub model: ModelChoice,
    pub seasonality: Seasonality,
}

impl Settings {
    pub fn with_model(model: ModelChoice) -> Self {
        Self {
            model,
            ..Self::default()
        }
    }
}

/// Where a series stands with respect to its wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// The trend reaches the wall in finite time.
    Approaching,
    /// The newest samples are already at or past the wall.
    Breached,
    /// The trend is flat or moves away from the wall.
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

/// Seconds from `now` until the wall: the likely value and its band.
/// `upper` may be infinite when the trend is too uncertain to promise the
/// wall is ever reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eta {
    pub lower: f64,
    pub likely: f64,
    pub upper: f64,
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
    /// The cycle taken out, in seconds, if any.
    pub period: Option<f64>,
    /// When the current regime began, if the history holds more than one.
    pub regime_start: Option<UnixSeconds>,
}

impl Forecast {
    /// Is the wall expected within `lead` seconds? The earliest edge of the
    /// band decides, so that an alert comes early rather than late.
    pub fn within(&self, lead: f64) -> bool {
        self.eta.is_some_and(|e| e.lower <= lead)
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
    if !out.is_sorted_by(|a, b| a.t <= b.t) {
        out.sort_by(|a, b| a.t.total_cmp(&b.t));
    }
    out
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

/// A series made ready for a trend on one scale: cycle out, current regime.
struct Prepared {
    scale: Scale,
    season: Option<season::Season>,
    /// The current regime, on the model's scale, cycle removed.
    regime: Vec<Sample>,
    regime_start: Option<UnixSeconds>,
}

fn prepare(
    data: &[Sample],
    scale: Scale,
    seasonality: Seasonality,
    regime_from: Option<usize>,
) -> Prepared {
    let scaled: Vec<Sample> = data
        .iter()
        .map(|s| Sample::new(s.t, scale.to(s.v)))
        .collect();
    let season = match seasonality {
        Seasonality::None => None,
        Seasonality::Auto => season::detect(&scaled, &season::CANDIDATES),
        Seasonality::Period(p) => season::estimate(&scaled, p),
    };
    let adjusted: Vec<Sample> = match &season {
        Some(c) => scaled
            .iter()
            .map(|s| Sample::new(s.t, s.v - c.at(s.t)))
            .collect(),
        None => scaled,
    };
    let start = regime_from.unwrap_or_else(|| regime::current_start(&adjusted));
    Prepared {
        scale,
        season,
        regime_start: (start > 0).then(|| adjusted[start].t),
        regime: adjusted[start..].to_vec(),
    }
}

/// Compounding growth is only defined for positive values approaching a
/// positive wall from below.
fn log_applies(data: &[Sample], wall: f64, direction: Direction) -> bool {
    direction == Direction::Rising && wall > 0.0 && data.iter().all(|s| s.v > 0.0)
}

/// How well a trend fitted up to each of several past origins predicted what
/// came after (median absolute error on the series' own scale, cycle
/// included), averaged over the origins. Lower is better.
fn backtest_error(p: &Prepared, data_by_time: &[Sample]) -> f64 {
    let n = p.regime.len();
    if n < 20 {
        return f64::INFINITY;
    }
    let mut total = 0.0;
    let mut count = 0.0;
    for frac in ORIGINS {
        let k = ((n as f64) * frac) as usize;
        if k < 6 || n - k < 3 {
            continue;
        }
        let head = &p.regime[..k];
        let anchor = head[k - 1].t;
        let Some(line) = robust::theil_sen(head, anchor) else {
            continue;
        };
        let offset = data_by_time.len() - n;
        let mut errs: Vec<f64> = p.regime[k..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let cycle = p.season.as_ref().map_or(0.0, |c| c.at(s.t));
                let predicted = p
                    .scale
                    .from(line.intercept + line.slope * (s.t - anchor) + cycle);
                (data_by_time[offset + k + i].v - predicted).abs()
            })
            .collect();
        if let Some(e) = robust::median_in_place(&mut errs) {
            total += e;
            count += 1.0;
        }
    }
    if count == 0.0 {
        f64::INFINITY
    } else {
        total / count
    }
}

/// The origins of the rolling backtest, as fractions of the current regime.
const ORIGINS: [f64; 3] = [0.5, 0.7, 0.85];

/// Forecasts when `samples` reach `wall`, moving in `direction`, as seen at
/// `now`. Samples after `now`, NaN and infinities are ignored.
pub fn forecast(
    samples: &[Sample],
    wall: f64,
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Forecast {
    let data = clean(samples, now);
    let current_value = data.last().map(|s| s.v);
    let insufficient = |reason: String| Forecast {
        status: Status::InsufficientData,
        model: match settings.model {
            ModelChoice::Auto => ModelChoice::Robust,
            m => m,
        },
        reason,
        current_value,
        level: f64::NAN,
        rate: f64::NAN,
        eta: None,
        samples: data.len(),
        period: None,
        regime_start: None,
    };
    if !wall.is_finite() {
        return insufficient(format!("the wall {wall} is not a finite number"));
    }
    if data.len() < MIN_SAMPLES {
        return insufficient(format!(
            "{} finite samples; at least {MIN_SAMPLES} are needed",
            data.len()
        ));
    }
    if data[0].t == data[data.len() - 1].t {
        return insufficient("all samples share one timestamp".to_string());
    }

    // A breach is judged on the newest samples themselves, before any model.
    let newest = &data[data.len().saturating_sub(BREACH_WINDOW)..];
    let mut recent: Vec<f64> = newest.iter().map(|s| s.v).collect();
    let recent = robust::median_in_place(&mut recent).unwrap_or(f64::NAN);
    let breached = direction.gap(recent, wall) <= 0.0;

    if settings.model == ModelChoice::Linear {
        let Some(line) = linear::regression(&data, now)
            .filter(|l| l.slope.is_finite() && l.intercept.is_finite())
        else {
            return insufficient("linear: no finite line fits these samples".into());
        };
        let trend = band::Trend::new(&data, line, now, band::Noise::Gaussian);
        return finish(FinishArgs {
            model: ModelChoice::Linear,
            reason: "linear: least squares over the whole window, as predict_linear".into(),
            trend,
            scale: Scale::Values,
            season: None,
            regime_start: None,
            wall,
            direction,
            breached,
            current_value,
            samples: data.len(),
        });
    }

    let values = prepare(&data, Scale::Values, settings.seasonality, None);
    let regime_index = data.len() - values.regime.len();
    let (prepared, why) = match settings.model {
        ModelChoice::Exponential if log_applies(&data, wall, direction) => (
            prepare(&data, Scale::Log, settings.seasonality, Some(regime_index)),
            "exponential: set by configuration".to_string(),
        ),
        ModelChoice::Exponential => (
            values,
            "robust: exponential growth needs positive values rising to a positive wall"
                .to_string(),
        ),
        ModelChoice::Auto if log_applies(&data, wall, direction) => {
            let log = prepare(&data, Scale::Log, settings.seasonality, Some(regime_index));
            let (e_val, e_log) = (backtest_error(&values, &data), backtest_error(&log, &data));
            // Compounding growth must earn its place: it extrapolates
            // faster, so it is kept only when clearly better.
            if e_log < 0.9 * e_val {
                (
                    log,
                    format!(
                        "exponential: backtest error {e_log:.4} vs {e_val:.4} for a straight trend"
                    ),
                )
            } else {
                (
                    values,
                    format!(
                        "robust: backtest error {e_val:.4} vs {e_log:.4} for exponential growth"
                    ),
                )
            }
        }
        ModelChoice::Auto => (
            values,
            "robust: the only model for this direction and wall".to_string(),
        ),
        _ => (values, "robust: set by configuration".to_string()),
    };
    let model = match prepared.scale {
        Scale::Log => ModelChoice::Exponential,
        Scale::Values => ModelChoice::Robust,
    };
    if prepared.regime.len() < MIN_SAMPLES {
        return insufficient(format!("{model}: the current regime has too few samples"));
    }
    let Some(line) = robust::theil_sen(&prepared.regime, now)
        .filter(|l| l.slope.is_finite() && l.intercept.is_finite())
    else {
        return insufficient(format!("{model}: no finite line fits these samples"));
    };
    let trend = band::Trend::new(&prepared.regime, line, now, band::Noise::Robust);
    let mut reason = why;
    if let Some(c) = &prepared.season {
        reason.push_str(&format!(
            "; a {} cycle (explains {:.0}% of the variation)",
            period_name(c.period),
            100.0 * c.strength
        ));
    }
    if let Some(t) = prepared.regime_start {
        reason.push_str(&format!("; current regime since {:.0}s ago", now - t));
    }
    finish(FinishArgs {
        model,
        reason,
        trend,
        scale: prepared.scale,
        season: prepared.season,
        regime_start: prepared.regime_start,
        wall,
        direction,
        breached,
        current_value,
        samples: data.len(),
    })
}

fn period_name(p: f64) -> String {
    match p {
        p if p == season::DAY => "daily".into(),
        p if p == season::WEEK => "weekly".into(),
        p if p == season::YEAR => "yearly".into(),
        p => format!("{p:.0}s"),
    }
}

struct FinishArgs {
    model: ModelChoice,
    reason: String,
    trend: band::Trend,
    scale: Scale,
    season: Option<season::Season>,
    regime_start: Option<UnixSeconds>,
    wall: f64,
    direction: Direction,
    breached: bool,
    current_value: Option<f64>,
    samples: usize,
}

/// Turns a fitted trend into the forecast: status, time to wall and band.
fn finish(a: FinishArgs) -> Forecast {
    let line = a.trend.line;
    let level = a.scale.from(line.intercept);
    // On the log scale the slope is a relative rate: d/dt e^(a+bt) = b e^(a+bt).
    let rate = match a.scale {
        Scale::Values => line.slope,
        Scale::Log => line.slope * level,
    };
    let mut f = Forecast {
        status: Status::Receding,
        model: a.model,
        reason: a.reason,
        current_value: a.current_value,
        level,
        rate,
        eta: None,
        samples: a.samples,
        period: a.season.as_ref().map(|c| c.period),
        regime_start: a.regime_start,
    };
    if a.breached {
        f.status = Status::Breached;
        f.eta = Some(Eta {
            lower: 0.0,
            likely: 0.0,
            upper: 0.0,
        });
        return f;
    }
    // With a cycle, the wall is first reached by the cycle's peak (its
    // trough, for a falling series): the trend has to come within the
    // peak's height of the wall.
    let peak = match (&a.season, a.direction) {
        (Some(c), Direction::Rising) => c.max(),
        (Some(c), Direction::Falling) => c.min(),
        (None, _) => 0.0,
    };
    let wall = a.scale.to(a.wall) - peak;
    match a.trend.eta(wall, a.direction) {
        band::Outcome::Flat { slope_se } => {
            f.reason.push_str(&format!(
                "; the trend ({:.3e}/s) is within its noise ({slope_se:.3e}/s): flat",
                line.slope
            ));
        }
        band::Outcome::Away | band::Outcome::Beyond => {}
        band::Outcome::Eta(eta) => {
            f.status = Status::Approaching;
            f.eta = Some(eta);
        }
    }
    f
}

#[cfg(test)]
mod tests;
