//! PURE forecasting core: fits a trend to one series and turns it into a time
//! to wall with a band. No I/O, no clock: `now` is always a parameter, and
//! degenerate data (too few points, a flat line, NaN, Inf) yields a status,
//! never an error or a panic.
//!
//! The band is the confidence band of the fitted trend, widened for the
//! autocorrelation of the residuals (neighbouring samples of a real metric are
//! not independent, and treating them as independent makes bands far too
//! narrow). The earliest time to wall is where the band's near edge reaches
//! the wall, the latest where its far edge does; alerts use the earliest.

pub mod linear;
pub mod robust;

use std::fmt;

use crate::model::{Direction, Sample, UnixSeconds};
use linear::Line;

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
    /// Ordinary least squares, exactly Prometheus' `predict_linear`.
    Linear,
    /// Theil-Sen: the median of pairwise slopes, which one spike or cleanup
    /// does not drag.
    Robust,
    /// Chosen per series by a holdout test on the series' own history.
    #[default]
    Auto,
}

impl ModelChoice {
    pub const ALL: [ModelChoice; 3] = [ModelChoice::Linear, ModelChoice::Robust, ModelChoice::Auto];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelChoice::Linear => "linear",
            ModelChoice::Robust => "robust",
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
    /// The model that produced the line (`Linear` or `Robust`, never `Auto`).
    pub model: ModelChoice,
    /// Why this model, in words a person can check.
    pub reason: String,
    /// The newest finite sample, if any.
    pub current_value: Option<f64>,
    /// The trend's value at `now` (NaN without a trend).
    pub level: f64,
    /// The trend's change per second (NaN without a trend).
    pub rate: f64,
    /// Time to wall; `None` when receding or without data.
    pub eta: Option<Eta>,
    /// Finite samples the fit used.
    pub samples: usize,
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

fn fit(model: ModelChoice, samples: &[Sample], anchor: UnixSeconds) -> Option<Line> {
    match model {
        ModelChoice::Linear => linear::regression(samples, anchor),
        ModelChoice::Robust | ModelChoice::Auto => robust::theil_sen(samples, anchor),
    }
    .filter(|l| l.slope.is_finite() && l.intercept.is_finite())
}

/// Picks between least squares and Theil-Sen by fitting each to the first
/// three quarters of the history and measuring how well it predicts the last
/// quarter (median absolute error). A series with spikes or a cleanup in it
/// goes to Theil-Sen; a clean line where least squares extrapolates better
/// goes to least squares. Ties go to Theil-Sen, the safer of the two.
fn choose(samples: &[Sample]) -> (ModelChoice, String) {
    if samples.len() < 20 {
        return (
            ModelChoice::Robust,
            format!(
                "robust: {} samples are too few to compare models",
                samples.len()
            ),
        );
    }
    let split = samples.len() * 3 / 4;
    let (head, tail) = samples.split_at(split);
    let anchor = head[head.len() - 1].t;
    let err = |m: ModelChoice| -> f64 {
        let Some(l) = fit(m, head, anchor) else {
            return f64::INFINITY;
        };
        let mut e: Vec<f64> = tail
            .iter()
            .map(|s| (s.v - (l.intercept + l.slope * (s.t - anchor))).abs())
            .collect();
        robust::median_in_place(&mut e).unwrap_or(f64::INFINITY)
    };
    let (e_lin, e_rob) = (err(ModelChoice::Linear), err(ModelChoice::Robust));
    let model = if e_lin < 0.99 * e_rob {
        ModelChoice::Linear
    } else {
        ModelChoice::Robust
    };
    (
        model,
        format!(
            "{model}: holdout error on the newest quarter {e_rob:.4} (robust) vs {e_lin:.4} (linear)"
        ),
    )
}

/// Residual scale and the terms of the trend's standard error at horizon h:
/// se(h)² = var · (1/n + (h − x̄)² / Sxx), with var already inflated for
/// autocorrelation.
struct Spread {
    var: f64,
    n: f64,
    x_mean: f64,
    sxx: f64,
}

impl Spread {
    fn of(model: ModelChoice, samples: &[Sample], line: &Line, now: UnixSeconds) -> Self {
        let n = samples.len() as f64;
        let resid: Vec<f64> = samples
            .iter()
            .map(|s| s.v - (line.intercept + line.slope * (s.t - now)))
            .collect();
        let scale2 = match model {
            // Theil-Sen's residuals contain the very outliers it ignored: a
            // median absolute deviation measures the noise of the rest.
            ModelChoice::Robust | ModelChoice::Auto => {
                let mut a: Vec<f64> = resid.iter().map(|r| r.abs()).collect();
                let mad = robust::median_in_place(&mut a).unwrap_or(0.0);
                (1.4826 * mad).powi(2)
            }
            ModelChoice::Linear => resid.iter().map(|r| r * r).sum::<f64>() / (n - 2.0).max(1.0),
        };
        // Lag-1 autocorrelation of the residuals, clipped so that outliers do
        // not dominate it; n/n_eff = (1+ρ)/(1−ρ) for an AR(1) process.
        let clip = 3.0 * scale2.sqrt();
        let r: Vec<f64> = resid.iter().map(|x| x.clamp(-clip, clip)).collect();
        let denom: f64 = r.iter().map(|x| x * x).sum();
        let rho = if denom > 0.0 {
            (r.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / denom).clamp(0.0, 0.98)
        } else {
            0.0
        };
        let mut inflation = (1.0 + rho) / (1.0 - rho);
        // Theil-Sen sees only the thinned skeleton of a long series: its
        // line is as uncertain as one fitted to that many points.
        if model != ModelChoice::Linear {
            inflation *= samples.len().div_ceil(robust::MAX_POINTS) as f64;
        }
        let x_mean = samples.iter().map(|s| s.t - now).sum::<f64>() / n;
        let sxx = samples.iter().map(|s| (s.t - now - x_mean).powi(2)).sum();
        Spread {
            var: scale2 * inflation,
            n,
            x_mean,
            sxx,
        }
    }

    fn se(&self, h: f64) -> f64 {
        (self.var * (1.0 / self.n + (h - self.x_mean).powi(2) / self.sxx)).sqrt()
    }
}

/// Smallest h in [lo, ∞) with f(h) <= 0, given f(lo) > 0; `None` if not found
/// within the horizon. `f` is the band edge's remaining distance to the wall.
fn first_crossing(f: impl Fn(f64) -> f64, lo: f64) -> Option<f64> {
    let mut a = lo;
    let mut b = lo.max(60.0) * 2.0;
    while f(b) > 0.0 {
        a = b;
        b *= 2.0;
        if b > MAX_HORIZON_SECONDS {
            return None;
        }
    }
    for _ in 0..80 {
        let m = 0.5 * (a + b);
        if f(m) > 0.0 {
            a = m;
        } else {
            b = m;
        }
        if b - a <= 1e-9 * b.max(1.0) {
            break;
        }
    }
    Some(b)
}

/// Forecasts when `samples` reach `wall`, moving in `direction`, as seen at
/// `now`. Samples after `now`, NaN and infinities are ignored.
pub fn forecast(
    samples: &[Sample],
    wall: f64,
    direction: Direction,
    model: ModelChoice,
    now: UnixSeconds,
) -> Forecast {
    let data = clean(samples, now);
    let current_value = data.last().map(|s| s.v);
    let insufficient = |reason: String| Forecast {
        status: Status::InsufficientData,
        model: if model == ModelChoice::Auto {
            ModelChoice::Robust
        } else {
            model
        },
        reason,
        current_value,
        level: f64::NAN,
        rate: f64::NAN,
        eta: None,
        samples: data.len(),
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
    let (model, reason) = match model {
        ModelChoice::Auto => choose(&data),
        m => (m, format!("{m}: set by configuration")),
    };
    let Some(line) = fit(model, &data, now) else {
        return insufficient(format!("{model}: no finite line fits these samples"));
    };

    let base = Forecast {
        status: Status::Receding,
        model,
        reason,
        current_value,
        level: line.intercept,
        rate: line.slope,
        eta: None,
        samples: data.len(),
    };

    let newest = &data[data.len().saturating_sub(BREACH_WINDOW)..];
    let mut recent: Vec<f64> = newest.iter().map(|s| s.v).collect();
    let recent = robust::median_in_place(&mut recent).unwrap_or(f64::NAN);
    if direction.gap(recent, wall) <= 0.0 {
        return Forecast {
            status: Status::Breached,
            eta: Some(Eta {
                lower: 0.0,
                likely: 0.0,
                upper: 0.0,
            }),
            ..base
        };
    }

    let toward = line.slope * direction.sign();
    if toward <= 0.0 {
        return base;
    }
    // The trend line may already sit past the wall while the newest samples
    // do not: then the wall is imminent, not passed.
    let gap = direction.gap(line.intercept, wall).max(0.0);
    let likely = gap / toward;
    if likely > MAX_HORIZON_SECONDS {
        return base;
    }
    let spread = Spread::of(model, &data, &line, now);
    // A slope within its own noise is a flat series, not a slow approach:
    // "reaches the wall in 300 years" from a noisy flat line is noise.
    let slope_se = (spread.var / spread.sxx).sqrt();
    if toward < FLAT_Z * slope_se {
        return Forecast {
            reason: format!(
                "{}; the trend ({:.3e}/s) is within its noise ({:.3e}/s): flat",
                base.reason, line.slope, slope_se
            ),
            ..base
        };
    }
    let remaining = |h: f64| gap - toward * h;
    let near_edge = |h: f64| remaining(h) - BAND_Z * spread.se(h);
    let far_edge = |h: f64| remaining(h) + BAND_Z * spread.se(h);
    let lower = if near_edge(0.0) <= 0.0 {
        0.0
    } else {
        first_crossing(near_edge, 0.0).map_or(likely, |h| h.min(likely))
    };
    let upper = if far_edge(likely) <= 0.0 {
        likely
    } else {
        first_crossing(far_edge, likely).unwrap_or(f64::INFINITY)
    };
    Forecast {
        status: Status::Approaching,
        eta: Some(Eta {
            lower,
            likely,
            upper,
        }),
        ..base
    }
}

#[cfg(test)]
mod tests;
