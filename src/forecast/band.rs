//! The band around a fitted trend, and the times at which the trend and the
//! band's edges reach a wall.
//!
//! The band is the confidence band of the trend line, se(h)² = σ²·(1/n +
//! (h − x̄)²/Sxx), with σ² widened for the lag-1 autocorrelation of the
//! residuals: neighbouring samples of a real metric are not independent, and
//! treating them as such makes bands far too narrow. For Theil-Sen, σ comes
//! from the median absolute residual (the outliers it ignored must not widen
//! it) and n is that of the thinned skeleton it was fitted to.

use super::linear::Line;
use super::{robust, Eta, BAND_Z, FLAT_Z, MAX_HORIZON_SECONDS};
use crate::model::{Direction, Sample, UnixSeconds};

/// How the residual scale is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Root mean square: least squares' own assumption.
    Gaussian,
    /// Median absolute deviation: robust to the outliers a robust fit ignored.
    Robust,
}

/// A fitted trend and the spread of its residuals.
#[derive(Debug, Clone)]
pub struct Trend {
    pub line: Line,
    var: f64,
    n: f64,
    x_mean: f64,
    sxx: f64,
}

/// What a trend says about a wall.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The trend reaches the wall.
    Eta(Eta),
    /// The trend moves away from the wall.
    Away,
    /// The trend towards the wall is within its own noise.
    Flat { slope_se: f64 },
    /// Beyond any useful horizon.
    Beyond,
}

impl Trend {
    /// `samples` are those the line was fitted to, on the same scale.
    pub fn new(samples: &[Sample], line: Line, now: UnixSeconds, noise: Noise) -> Self {
        let n = samples.len() as f64;
        let resid: Vec<f64> = samples
            .iter()
            .map(|s| s.v - (line.intercept + line.slope * (s.t - now)))
            .collect();
        let scale2 = match noise {
            Noise::Robust => {
                let mut a: Vec<f64> = resid.iter().map(|r| r.abs()).collect();
                let mad = robust::median_in_place(&mut a).unwrap_or(0.0);
                (1.4826 * mad).powi(2)
            }
            Noise::Gaussian => resid.iter().map(|r| r * r).sum::<f64>() / (n - 2.0).max(1.0),
        };
        // Lag-1 autocorrelation of the residuals, clipped so that outliers
        // do not dominate it; n/n_eff = (1+ρ)/(1−ρ) for an AR(1) process.
        let clip = 3.0 * scale2.sqrt();
        let r: Vec<f64> = resid.iter().map(|x| x.clamp(-clip, clip)).collect();
        let denom: f64 = r.iter().map(|x| x * x).sum();
        let rho = if denom > 0.0 {
            (r.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / denom).clamp(0.0, 0.98)
        } else {
            0.0
        };
        let mut inflation = (1.0 + rho) / (1.0 - rho);
        if noise == Noise::Robust {
            inflation *= samples.len().div_ceil(robust::MAX_POINTS) as f64;
        }
        let x_mean = samples.iter().map(|s| s.t - now).sum::<f64>() / n;
        let sxx = samples.iter().map(|s| (s.t - now - x_mean).powi(2)).sum();
        Self {
            line,
            var: scale2 * inflation,
            n,
            x_mean,
            sxx,
        }
    }

    /// Standard error of the trend's value `h` seconds after `now`.
    pub fn se(&self, h: f64) -> f64 {
        (self.var * (1.0 / self.n + (h - self.x_mean).powi(2) / self.sxx)).sqrt()
    }

    /// Standard error of the slope.
    pub fn slope_se(&self) -> f64 {
        (self.var / self.sxx).sqrt()
    }

    /// When the trend, and each edge of its band, reach `wall`.
    pub fn eta(&self, wall: f64, direction: Direction) -> Outcome {
        let toward = self.line.slope * direction.sign();
        if toward <= 0.0 {
            return Outcome::Away;
        }
        // The trend may already sit past the wall while the newest samples
        // do not (they decide a breach): the wall is then imminent.
        let gap = direction.gap(self.line.intercept, wall).max(0.0);
        let likely = gap / toward;
        if likely > MAX_HORIZON_SECONDS {
            return Outcome::Beyond;
        }
        // A slope within its own noise is a flat series, not a slow
        // approach: "reaches the wall in 300 years" from noise is noise.
        let slope_se = self.slope_se();
        if toward < FLAT_Z * slope_se {
            return Outcome::Flat { slope_se };
        }
        let remaining = |h: f64| gap - toward * h;
        let near_edge = |h: f64| remaining(h) - BAND_Z * self.se(h);
        let far_edge = |h: f64| remaining(h) + BAND_Z * self.se(h);
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
        Outcome::Eta(Eta {
            lower,
            likely,
            upper,
        })
    }
}

/// Smallest h in [lo, ∞) with f(h) <= 0, given f(lo) > 0; `None` if not
/// found within the horizon. `f` is a band edge's remaining distance to the
/// wall.
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
