//! PURE scaling roadmap: at what load each wall breaks (its load headroom),
//! which breaking points must be addressed before the next order of
//! magnitude of load and which can be deferred, their ranking, and the
//! re-roadmap events when a wall moves materially. No I/O, no clock.
//!
//! Load headroom is the multiple of today's load at which the wall is
//! reached. "Today's load" is the busy end of the last day (the 95th
//! percentile of the newest day of samples), since a wall is first hit at
//! the busiest hour:
//! - with a `driver` (the load that pushes the limit), the limited metric's
//!   response to it is fitted, as a straight line or a power law
//!   (latency and queueing grow faster than load), whichever fits better,
//!   and solved for the load at the wall;
//! - without one, a rising metric is assumed to grow in proportion to load:
//!   the headroom is wall / today's level, and the output says so.

use std::collections::HashMap;

use crate::evaluate::{Alert, AlertState, Evaluation};
use crate::forecast::{self, robust, ModelChoice, Settings, Status};
use crate::model::{Direction, Labels, Sample, UnixSeconds};

/// The newest stretch that sets "today's" level: a day...
const TODAY_SECONDS: f64 = 86_400.0;
/// ... or, in a shorter history, its newest quarter.
const TODAY_SHARE: f64 = 0.25;
/// The busy end of today: this quantile toward the wall.
const BUSY_QUANTILE: f64 = 0.95;
/// The fewest paired samples a response is fitted on.
const MIN_PAIRS: usize = 10;
/// The least spread of load (between its 5th and 95th percentiles, relative
/// to its median) from which a response can be measured at all.
const MIN_LOAD_SPREAD: f64 = 0.05;
/// The least share of the metric's variation a response must explain to be
/// trusted over the proportional assumption.
pub const MIN_R2: f64 = 0.5;
/// How much smaller a power law's squared error must be than a straight
/// line's for it to be chosen: a curve extrapolates faster, so it needs
/// evidence.
const POWER_CLEARLY_BETTER: f64 = 0.9;

/// A growth factor to rank the roadmap against ("10", or "10x"): a finite
/// number above 1. The error names the text as given.
pub fn parse_growth(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('x').parse::<f64>() {
        Ok(g) if g > 1.0 && g.is_finite() => Ok(g),
        _ => Err(format!("{s:?} must be a number above 1, such as 10")),
    }
}

/// How the limited metric responds to its driver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Response {
    /// metric = intercept + slope × load
    Linear { intercept: f64, slope: f64 },
    /// metric = coefficient × load^exponent
    Power { coefficient: f64, exponent: f64 },
}

impl Response {
    pub fn at(&self, load: f64) -> f64 {
        match *self {
            Response::Linear { intercept, slope } => intercept + slope * load,
            Response::Power {
                coefficient,
                exponent,
            } => coefficient * load.powf(exponent),
        }
    }

    /// The load at which the metric reaches `wall` moving in `direction`;
    /// `None` when the response does not move that way with load.
    fn load_at(&self, wall: f64, direction: Direction) -> Option<f64> {
        let x = match *self {
            Response::Linear { intercept, slope } => {
                if slope * direction.sign() <= 0.0 {
                    return None;
                }
                (wall - intercept) / slope
            }
            Response::Power {
                coefficient,
                exponent,
            } => {
                if exponent * direction.sign() <= 0.0 || wall <= 0.0 || coefficient <= 0.0 {
                    return None;
                }
                (wall / coefficient).powf(1.0 / exponent)
            }
        };
        (x.is_finite() && x > 0.0).then_some(x)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Response::Linear { .. } => "linear",
            Response::Power { .. } => "power",
        }
    }

    /// "metric ≈ 0.0021 × load^1.98" or "metric ≈ 3.1 - 0.5 × load".
    pub fn describe(&self) -> String {
        match *self {
            Response::Linear { intercept, slope } => {
                let sign = if slope < 0.0 { '-' } else { '+' };
                format!(
                    "metric ≈ {} {sign} {} × load",
                    figure(intercept),
                    figure(slope.abs())
                )
            }
            Response::Power {
                coefficient,
                exponent,
            } => format!("metric ≈ {} × load^{exponent:.2}", figure(coefficient)),
        }
    }
}

/// A fitted figure as a planner reads it: four significant digits, in
/// exponent form only when very large or small ("0.4034", "447.7",
/// "2.518e-7"; not "4.0335e-1" or "447.7168").
fn figure(v: f64) -> String {
    crate::evaluate::format_value(crate::evaluate::significant(v, 4))
}

/// A response fitted on paired samples, with how much it explains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub response: Response,
    /// Share of the metric's variance explained, on the metric's scale.
    pub r2: f64,
    pub pairs: usize,
}

/// What the driver says about a limit's breaking point.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverHeadroom {
    pub fit: Fit,
    /// Today's load (the busy end of the last day).
    pub load_now: f64,
    /// The load at which the metric reaches the wall.
    pub load_at_wall: f64,
    /// When the driver's own trend reaches that load; `None` when it does
    /// not grow towards it.
    pub time_to_load: Option<f64>,
    /// Until when the driver's samples give that date again, counted down
    /// (its forecast's `steady_until`).
    pub steady_until: UnixSeconds,
}

/// How a headroom figure was found.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// From the metric's fitted response to its driver.
    Driver(DriverHeadroom),
    /// wall / today's level: assumes the metric grows in proportion to load.
    Proportional,
    /// No figure.
    Unknown,
}

/// The load multiple at which a series reaches its wall.
#[derive(Debug, Clone, PartialEq)]
pub struct Headroom {
    /// `None` when it cannot be told.
    pub ratio: Option<f64>,
    pub basis: Basis,
    /// The assumption or evidence behind the figure, in words.
    pub note: String,
}

impl Headroom {
    pub fn basis_name(&self) -> Option<&'static str> {
        match self.basis {
            Basis::Driver(_) => Some("driver"),
            Basis::Proportional => Some("proportional"),
            Basis::Unknown => None,
        }
    }

    pub fn unknown(note: impl Into<String>) -> Self {
        Headroom {
            ratio: None,
            basis: Basis::Unknown,
            note: note.into(),
        }
    }
}

/// The `q` quantile of the samples of the newest "day" (see
/// `TODAY_SECONDS`); `None` without samples.
pub fn busy_level(samples: &[Sample], direction: Direction) -> Option<f64> {
    let last = samples.last()?.t;
    let first = samples.first()?.t;
    let span = (TODAY_SHARE * (last - first)).min(TODAY_SECONDS);
    let mut today: Vec<f64> = samples
        .iter()
        .rev()
        .take_while(|s| s.t >= last - span)
        .map(|s| s.v)
        .filter(|v| v.is_finite())
        .collect();
    let q = match direction {
        Direction::Rising => BUSY_QUANTILE,
        Direction::Falling => 1.0 - BUSY_QUANTILE,
    };
    quantile(&mut today, q)
}

/// The `q` quantile (nearest rank) of `v`, reordering it.
fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(i, f64::total_cmp);
    Some(*x)
}

/// Pairs the metric's and the driver's samples taken at the same instant
/// (a range query's grid is shared), both finite.
fn pair(metric: &[Sample], driver: &[Sample]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(metric.len().min(driver.len()));
    let (mut i, mut j) = (0, 0);
    while i < metric.len() && j < driver.len() {
        let (m, d) = (metric[i], driver[j]);
        if (m.t - d.t).abs() < 1e-3 {
            if m.v.is_finite() && d.v.is_finite() {
                out.push((d.v, m.v));
            }
            i += 1;
            j += 1;
        } else if m.t < d.t {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// A robust straight line through `(x, y)` points: Theil-Sen.
fn line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let as_samples: Vec<Sample> = points.iter().map(|&(x, y)| Sample::new(x, y)).collect();
    let l = robust::theil_sen(&as_samples, 0.0)?;
    (l.slope.is_finite() && l.intercept.is_finite()).then_some((l.intercept, l.slope))
}

/// Share of the variance of `y` that `response` explains.
fn r2(points: &[(f64, f64)], response: &Response) -> f64 {
    let n = points.len() as f64;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / n;
    let total: f64 = points.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let residual: f64 = points
        .iter()
        .map(|&(x, y)| (y - response.at(x)).powi(2))
        .sum();
    if total > 0.0 {
        1.0 - residual / total
    } else {
        0.0
    }
}

/// Fits how the metric responds to load: a straight line, or a power law
/// when it fits clearly better. `Err` says why no response can be measured.
pub fn fit_response(metric: &[Sample], driver: &[Sample]) -> Result<Fit, String> {
    let points = pair(metric, driver);
    if points.len() < MIN_PAIRS {
        return Err(format!(
            "the metric and the driver share {}; at least {MIN_PAIRS} are needed",
            crate::evaluate::count(points.len(), "timestamp")
        ));
    }
    let mut loads: Vec<f64> = points.iter().map(|p| p.0).collect();
    let (lo, mid, hi) = (
        quantile(&mut loads, 0.05),
        quantile(&mut loads, 0.5),
        quantile(&mut loads, 0.95),
    );
    if let (Some(lo), Some(mid), Some(hi)) = (lo, mid, hi) {
        if !(mid.abs() > 0.0 && (hi - lo) / mid.abs() >= MIN_LOAD_SPREAD) {
            return Err(format!(
                "the load barely varied (from {lo:.4} to {hi:.4}), so how the metric responds to it cannot be measured"
            ));
        }
    }
    let (intercept, slope) =
        line(&points).ok_or("no straight line fits the metric against the load")?;
    let linear = Response::Linear { intercept, slope };
    let mut best = Fit {
        response: linear,
        r2: r2(&points, &linear),
        pairs: points.len(),
    };
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.0 > 0.0 && p.1 > 0.0)
        .map(|p| (p.0.ln(), p.1.ln()))
        .collect();
    if logs.len() == points.len() {
        if let Some((ln_c, k)) = line(&logs) {
            let power = Response::Power {
                coefficient: ln_c.exp(),
                exponent: k,
            };
            let fit = r2(&points, &power);
            if (1.0 - fit) < POWER_CLEARLY_BETTER * (1.0 - best.r2) {
                best = Fit {
                    response: power,
                    r2: fit,
                    pairs: points.len(),
                };
            }
        }
    }
    Ok(best)
}

/// The load headroom of one series: from its driver when one is given and
/// its response can be measured, else in proportion to load for a rising
/// metric, else unknown. `settings` and `now` forecast the driver's own
/// trend to the load at the wall.
pub fn headroom(
    metric: &[Sample],
    driver: Option<&[Sample]>,
    wall: f64,
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Headroom {
    let driver = driver.map_or(Driver::Absent, Driver::Series);
    headrooms(&[metric], &[driver], &[wall], direction, settings, now)
        .pop()
        .unwrap_or_else(|| Headroom::unknown("nothing to measure"))
}

/// What a series has for a driver.
#[derive(Debug, Clone, Copy)]
pub enum Driver<'a> {
    /// The limit configures none.
    Absent,
    /// The limit's driver gave no series with this series' labels.
    Unmatched,
    /// The limit's driver query failed, for this reason (naming it).
    Failed(&'a str),
    /// The driver's samples for this series.
    Series(&'a [Sample]),
}

impl<'a> Driver<'a> {
    fn samples(self) -> Option<&'a [Sample]> {
        match self {
            Driver::Series(s) => Some(s),
            Driver::Absent | Driver::Unmatched | Driver::Failed(_) => None,
        }
    }
}

/// [`headroom`] of many series at once, each with its driver (same index;
/// absent beyond the end of `drivers`) and wall. A driver shared by
/// several series has its trend fitted once and only its crossings found
/// for each series' breaking load.
pub fn headrooms(
    metrics: &[&[Sample]],
    drivers: &[Driver<'_>],
    walls: &[f64],
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Vec<Headroom> {
    let driver = |i: usize| drivers.get(i).copied().unwrap_or(Driver::Absent);
    let measured: Vec<Result<Measured, Headroom>> = metrics
        .iter()
        .zip(walls)
        .enumerate()
        .map(|(i, (m, &w))| measure(m, driver(i), w, direction))
        .collect();
    // The breaking loads each distinct driver is asked about, and by which
    // series, drivers in the order first met. A driver shared by many
    // series is the same slice for each of them.
    let mut asks: Vec<(&[Sample], Vec<usize>, Vec<f64>)> = Vec::new();
    let mut ask_of: HashMap<(*const Sample, usize), usize> = HashMap::new();
    for (i, m) in measured.iter().enumerate() {
        if let (Ok(m), Some(d)) = (m, driver(i).samples()) {
            let k = *ask_of.entry((d.as_ptr(), d.len())).or_insert_with(|| {
                asks.push((d, Vec::new(), Vec::new()));
                asks.len() - 1
            });
            asks[k].1.push(i);
            asks[k].2.push(m.load_at_wall);
        }
    }
    let mut dates: Vec<(Option<f64>, UnixSeconds)> = vec![(None, f64::INFINITY); measured.len()];
    for (driver, who, loads) in asks {
        let forecasts = forecast::forecast_many(driver, &loads, Direction::Rising, settings, now);
        for (&i, f) in who.iter().zip(forecasts) {
            dates[i] = (
                f.eta.map(|e| e.likely).filter(|t| t.is_finite()),
                f.steady_until,
            );
        }
    }
    measured
        .into_iter()
        .zip(dates)
        .map(|(m, (date, steady_until))| match m {
            Ok(m) => m.dated(date, steady_until),
            Err(h) => h,
        })
        .collect()
}

/// Two dates are at most this far apart, as a ratio, to agree: the
/// re-roadmap's own measure of a material move (halved or doubled).
const DATES_AGREE: f64 = MATERIAL;

/// Ends a driver headroom's note with the date the driver's own trend
/// gives, and with whether the metric's own trend (`forecast`, which dates
/// the wall on the roadmap and in alerts) agrees. Two dates of one wall
/// more than twice apart say something a planner wants to know: a metric
/// growing faster than its load explains (a leak, a cache losing its hit
/// rate) or slower (a fix since, a load that grows elsewhere). The JSON
/// carries both dates; the note reads them together.
pub fn compare_dates(h: &mut Headroom, forecast: &forecast::Forecast) {
    let Basis::Driver(d) = &h.basis else {
        return;
    };
    if forecast.status == Status::Breached || forecast.status == Status::InsufficientData {
        return;
    }
    let human = crate::evaluate::human_duration;
    let metric = (forecast.status == Status::Approaching)
        .then(|| forecast.eta.map(|e| e.likely))
        .flatten()
        .filter(|t| t.is_finite() && *t > 0.0);
    let load = d.time_to_load.filter(|t| *t > 0.0);
    let said = match (load, metric) {
        (Some(l), Some(m)) if l.max(m) / l.min(m) <= DATES_AGREE => format!(
            "; the load gets there in about {} by its own trend, and the metric's own trend reaches the wall in about {}",
            human(l),
            human(m)
        ),
        (Some(l), Some(m)) => format!(
            "; the load gets there in about {} by its own trend, but the metric's own trend reaches the wall in about {}: it grows {} than this load explains",
            human(l),
            human(m),
            if m < l { "faster" } else { "slower" }
        ),
        (Some(l), None) => format!(
            "; the load gets there in about {} by its own trend, but the metric's own trend does not approach the wall: it grows slower than this load explains",
            human(l)
        ),
        (None, Some(m)) => format!(
            "; the load's own trend does not get there, but the metric's own trend reaches the wall in about {}: it grows faster than this load explains",
            human(m)
        ),
        (None, None) => "; neither the load's own trend nor the metric's gets there".into(),
    };
    h.note.push_str(&said);
}

/// A driver-based headroom before its date is known.
struct Measured {
    fit: Fit,
    load_now: f64,
    load_at_wall: f64,
}

impl Measured {
    fn dated(self, time_to_load: Option<f64>, steady_until: UnixSeconds) -> Headroom {
        let Measured {
            fit,
            load_now,
            load_at_wall,
        } = self;
        let ratio = load_at_wall / load_now;
        Headroom {
            ratio: Some(ratio),
            note: format!(
                "breaks at {ratio:.2}x today's load: {} (R² {:.2}, {} {}), the wall at load {} against {} today",
                fit.response.describe(),
                fit.r2,
                fit.pairs,
                match fit.response {
                    Response::Linear { .. } => "samples, straight line",
                    Response::Power { .. } => "samples, power law",
                },
                figure(load_at_wall),
                figure(load_now),
            ),
            basis: Basis::Driver(DriverHeadroom {
                fit,
                load_now,
                load_at_wall,
                time_to_load,
                steady_until,
            }),
        }
    }
}

/// Everything about a headroom but the driver's date: `Ok` when the driver
/// gives the figure, `Err` with the final headroom when it does not.
fn measure(
    metric: &[Sample],
    driver: Driver<'_>,
    wall: f64,
    direction: Direction,
) -> Result<Measured, Headroom> {
    let fallback = |why: Option<String>| {
        let mut h = proportional(metric, wall, direction);
        if let Some(why) = why {
            h.note = format!("{why}; {}", h.note);
        }
        h
    };
    let driver = match driver {
        Driver::Series(d) => d,
        Driver::Absent => return Err(fallback(None)),
        Driver::Unmatched => {
            return Err(proportional_for_want_of(
                metric,
                wall,
                direction,
                Some("the driver gave no series with this series' labels"),
            ))
        }
        // Unknown, not proportional: the driver says how the metric moves
        // with load, and a guess in its place would read as its answer.
        Driver::Failed(why) => {
            return Err(Headroom::unknown(format!(
                "load headroom unknown: the driver failed ({why})"
            )))
        }
    };
    let fit = match fit_response(metric, driver) {
        Ok(fit) => fit,
        Err(why) => return Err(fallback(Some(format!("driver not used: {why}")))),
    };
    if fit.r2 < MIN_R2 {
        return Err(fallback(Some(format!(
            "driver not used: it explains {:.0}% of the metric's variation (R² {:.2})",
            100.0 * fit.r2.max(0.0),
            fit.r2
        ))));
    }
    let Some(load_now) = busy_level(driver, Direction::Rising).filter(|x| *x > 0.0) else {
        return Err(fallback(Some(
            "driver not used: today's load is not positive".into(),
        )));
    };
    let Some(load_at_wall) = fit.response.load_at(wall, direction) else {
        return Err(Headroom::unknown(format!(
            "{} (R² {:.2}) does not move towards the wall as load grows",
            fit.response.describe(),
            fit.r2
        )));
    };
    Ok(Measured {
        fit,
        load_now,
        load_at_wall,
    })
}

/// wall / today's level for a rising metric, on the stated assumption that
/// it grows in proportion to load; unknown otherwise.
pub fn proportional(metric: &[Sample], wall: f64, direction: Direction) -> Headroom {
    proportional_for_want_of(metric, wall, direction, None)
}

/// [`proportional`], its note saying why a configured driver gives no
/// headroom (`want`; `None` when none is configured).
fn proportional_for_want_of(
    metric: &[Sample],
    wall: f64,
    direction: Direction,
    want: Option<&str>,
) -> Headroom {
    let and_why = want.map(|w| format!(" ({w})")).unwrap_or_default();
    if direction == Direction::Falling {
        return Headroom::unknown(format!(
            "a falling metric's load headroom needs a driver: how far it falls with load is not known{and_why}"
        ));
    }
    let want = want.unwrap_or("no driver");
    match busy_level(metric, direction) {
        Some(level) if level > 0.0 && wall > 0.0 => {
            let ratio = wall / level;
            Headroom {
                ratio: Some(ratio),
                basis: Basis::Proportional,
                note: format!(
                    "breaks at {ratio:.2}x today's load, assuming the metric grows in proportion to load ({want})"
                ),
            }
        }
        _ => Headroom::unknown(format!(
            "without a driver, the load headroom needs a positive metric and a positive wall{and_why}"
        )),
    }
}

/// Where a breaking point stands, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// The wall is reached.
    Breached,
    /// Inside the most urgent lead time (or one named `critical`).
    Critical,
    /// Inside another lead time.
    Warning,
    /// Breaks before load grows by the growth factor: must be addressed.
    BeforeGrowth,
    /// Breaks only beyond the next order of magnitude: shown, grouped apart.
    Deferred,
    /// Not enough data to tell.
    Unknown,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Breached => "breached",
            Stage::Critical => "critical",
            Stage::Warning => "warning",
            Stage::BeforeGrowth => "before_growth",
            Stage::Deferred => "deferred",
            Stage::Unknown => "unknown",
        }
    }

    /// Must this point be addressed before the next order of magnitude?
    pub fn must_address(self) -> bool {
        self <= Stage::BeforeGrowth
    }
}

/// One lead time of a limit: a severity and its window, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub severity: String,
    pub lead: f64,
}

/// A series' place on the roadmap.
#[derive(Debug, Clone)]
pub struct BreakingPoint<'a> {
    pub evaluation: &'a Evaluation,
    pub stage: Stage,
    /// The severity whose lead time holds the wall, if any.
    pub severity: Option<String>,
    pub breaks_before_growth: bool,
    /// For compounding growth: how long the metric takes to double.
    pub doubling_time: Option<f64>,
}

impl BreakingPoint<'_> {
    /// Seconds to the wall: 0 when breached, infinite when not approaching.
    pub fn eta(&self) -> f64 {
        self.evaluation
            .forecast
            .eta
            .map_or(f64::INFINITY, |e| e.likely)
    }

    pub fn headroom(&self) -> Option<f64> {
        self.evaluation.headroom.ratio
    }
}

/// Places one evaluation on the roadmap. `windows` are the limit's lead
/// times, most urgent first.
pub fn place<'a>(e: &'a Evaluation, windows: &[Window], growth: f64) -> BreakingPoint<'a> {
    let f = &e.forecast;
    let inside = windows.iter().position(|w| f.within(w.lead));
    let stage = match (f.status, inside) {
        (Status::Breached, _) => Stage::Breached,
        (_, Some(i)) if windows[i].severity == "critical" || (i == 0 && windows.len() > 1) => {
            Stage::Critical
        }
        (_, Some(_)) => Stage::Warning,
        (Status::InsufficientData, None) => Stage::Unknown,
        // A wall the trend likely reaches within the horizon (ten of the
        // limit's longest lead times, see `HORIZON_LEADS`) is no point to
        // defer, whatever its load headroom: it breaks this quarter at
        // today's pace. Its alert may wait for more evidence (see
        // `Eta::alert`); or the metric grows by itself, not with the load
        // (a queue that leaks fills in seven weeks at 88x headroom, and a
        // planner reading "deferred" would put it off until it pages).
        // Nor whatever its band: a noisy fill two months out opens its
        // band to "never" at one evaluation in twenty or so.
        (_, None) if likely_within(f, HORIZON_LEADS * longest_lead(windows)) => Stage::BeforeGrowth,
        (_, None) => match e.headroom.ratio {
            Some(r) if r < growth => Stage::BeforeGrowth,
            Some(_) => Stage::Deferred,
            // Without a load figure, a wall the trend is heading for is one
            // to look at; one it is moving away from is not, nor a far one
            // (beyond the horizon) whose band allows that it is never
            // reached: a drift lost in the noise (a flat disk read as
            // filling in 36 years at one evaluation and as emptying at the
            // next) moved the headline's count of what to address back and
            // forth.
            None if f.status == Status::Approaching
                && f.eta.is_some_and(|e| e.upper.is_finite()) =>
            {
                Stage::BeforeGrowth
            }
            None => Stage::Deferred,
        },
    };
    let doubling_time = (f.model == ModelChoice::Exponential
        && f.rate > 0.0
        && f.level > 0.0
        && f.status != Status::InsufficientData)
        .then(|| std::f64::consts::LN_2 * f.level / f.rate)
        .filter(|d| d.is_finite());
    BreakingPoint {
        evaluation: e,
        stage,
        severity: inside.map(|i| windows[i].severity.clone()),
        breaks_before_growth: stage.must_address(),
        doubling_time,
    }
}

/// Whether `f` approaches its wall and likely reaches it within `horizon`
/// seconds.
fn likely_within(f: &crate::forecast::Forecast, horizon: f64) -> bool {
    f.status == Status::Approaching && f.eta.is_some_and(|e| e.likely <= horizon)
}

/// The longest of the lead times `windows`, in seconds.
fn longest_lead(windows: &[Window]) -> f64 {
    windows.iter().map(|w| w.lead).fold(0.0, f64::max)
}

/// Every series placed and ranked, first to break first: what is breached,
/// then what must be addressed before the growth factor (critical,
/// warning, before growth) by when it may break, then what can be
/// deferred, then what cannot be forecast; ties by likely time, by stage,
/// by load headroom, then by name. When it may break: the sooner of its
/// likely time and its alert time (when the wall becomes
/// `alert_probability` likely), so that a wall paging now on a wide band
/// is not ranked below one likely sooner that nothing pages on. Within
/// what must be addressed that time comes before the stage: a stage is a
/// limit's own lead times, and a wall 2 hours away on a limit whose only
/// lead time (a warning) is 3 days breaks before one 9 hours away on a
/// limit with a 1-day critical lead.
pub fn rank(mut points: Vec<BreakingPoint<'_>>) -> Vec<BreakingPoint<'_>> {
    let key = |x: f64| if x.is_nan() { f64::INFINITY } else { x };
    let group = |s: Stage| match s {
        Stage::Breached => 0,
        Stage::Critical | Stage::Warning | Stage::BeforeGrowth => 1,
        Stage::Deferred => 2,
        Stage::Unknown => 3,
    };
    let may_break = |p: &BreakingPoint<'_>| {
        p.evaluation
            .forecast
            .eta
            .map_or(f64::INFINITY, |e| e.alert.min(e.likely))
    };
    points.sort_by(|a, b| {
        group(a.stage)
            .cmp(&group(b.stage))
            .then(key(may_break(a)).total_cmp(&key(may_break(b))))
            .then(key(a.eta()).total_cmp(&key(b.eta())))
            .then(a.stage.cmp(&b.stage))
            .then(
                key(a.headroom().unwrap_or(f64::INFINITY))
                    .total_cmp(&key(b.headroom().unwrap_or(f64::INFINITY))),
            )
            .then_with(|| a.evaluation.limit.cmp(&b.evaluation.limit))
            .then_with(|| a.evaluation.labels.cmp(&b.evaluation.labels))
    });
    points
}

/// What kind of material move a re-roadmap event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The time to wall at least halved (or a wall appeared).
    Sooner,
    /// The time to wall at least doubled (or the wall went away).
    Later,
    /// A deferred point now breaks before the next order of magnitude.
    MustAddress,
    /// A point that had to be addressed now breaks only beyond it.
    Deferred,
}

impl ChangeKind {
    /// The move that undoes this one.
    pub fn opposite(self) -> Self {
        match self {
            ChangeKind::Sooner => ChangeKind::Later,
            ChangeKind::Later => ChangeKind::Sooner,
            ChangeKind::MustAddress => ChangeKind::Deferred,
            ChangeKind::Deferred => ChangeKind::MustAddress,
        }
    }

    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Sooner,
        ChangeKind::Later,
        ChangeKind::MustAddress,
        ChangeKind::Deferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Sooner => "sooner",
            ChangeKind::Later => "later",
            ChangeKind::MustAddress => "must_address",
            ChangeKind::Deferred => "deferred",
        }
    }
}

/// A wall that moved materially.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub limit: String,
    pub labels: Labels,
    pub kind: ChangeKind,
    pub at: UnixSeconds,
    /// Seconds to wall the roadmap expected now (the last recorded time
    /// less the time since), and what it says now; infinite = never.
    pub expected: f64,
    pub now: f64,
    /// Load headroom then and now.
    pub headroom_before: Option<f64>,
    pub headroom_now: Option<f64>,
}

/// What the roadmap last said about a point: the baseline later moves are
/// measured against. It moves only when a change is recorded, so a wall
/// that drifts a little at every evaluation is caught once it has drifted
/// far, not never.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub eta: f64,
    pub at: UnixSeconds,
    pub must_address: bool,
    pub headroom: Option<f64>,
    /// A move of the time (sooner, later) and of the class (must address,
    /// deferred) seen at every evaluation since the given time, not yet
    /// held long enough to be recorded.
    pub pending_time: Option<(ChangeKind, UnixSeconds)>,
    pub pending_class: Option<(ChangeKind, UnixSeconds)>,
}

/// Tracks a move that must be seen at every evaluation for `hold` seconds
/// before it counts (like an alerting rule's `for:`): a move seen now
/// starts or continues its run; anything else ends the run. Answers the
/// move once it has held.
fn held(
    pending: &mut Option<(ChangeKind, UnixSeconds)>,
    seen: Option<ChangeKind>,
    now: UnixSeconds,
    hold: f64,
) -> Option<ChangeKind> {
    *pending = match (seen, *pending) {
        (None, _) => None,
        (Some(k), Some((p, since))) if p == k => Some((k, since)),
        (Some(k), _) => Some((k, now)),
    };
    let (k, since) = (*pending)?;
    (now - since >= hold).then(|| {
        *pending = None;
        k
    })
}

/// A time to wall beyond this many of the limit's longest lead time does
/// not change what anyone does this quarter: moves out there are not
/// recorded.
pub const HORIZON_LEADS: f64 = 10.0;

/// The horizon as the roadmap's headings and badges say it: "10 lead
/// times" (see [`HORIZON_LEADS`]).
pub fn horizon_words() -> String {
    format!(
        "{} lead times",
        crate::evaluate::format_value(HORIZON_LEADS)
    )
}

/// Halved or doubled.
const MATERIAL: f64 = 2.0;
/// A headroom must cross the growth factor by this factor to flip a point
/// between "must address" and "deferred", so that one hovering at the
/// boundary is not re-roadmapped at every evaluation.
const GROWTH_MARGIN: f64 = 1.1;

/// Compares the ranked points with the marks, records the material moves
/// and updates the marks. `horizon` gives each limit's horizon in seconds
/// (see [`HORIZON_LEADS`]). A move is recorded once it has been seen at
/// every evaluation for `hold` seconds, so that a series whose forecast
/// hovers at a boundary (a wall that comes and goes from one evaluation to
/// the next) is not re-roadmapped back and forth. Marks of points that are
/// gone are dropped.
pub fn reroadmap(
    marks: &mut HashMap<(String, Labels), Mark>,
    points: &[BreakingPoint<'_>],
    growth: f64,
    horizon: impl Fn(&str) -> f64,
    hold: f64,
    now: UnixSeconds,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in points {
        if p.stage == Stage::Unknown {
            continue;
        }
        let e = p.evaluation;
        let key = (e.limit.clone(), e.labels.clone());
        // A forecast from an earlier evaluation (its limit failed since)
        // says nothing new; its wall, counted from then, would drift
        // "later" against the mark's clock. Its mark waits for a fresh one.
        if e.at < now {
            seen.insert(key);
            continue;
        }
        let eta = p.eta();
        let here = Mark {
            eta,
            at: now,
            must_address: p.breaks_before_growth,
            headroom: p.headroom(),
            pending_time: None,
            pending_class: None,
        };
        seen.insert(key.clone());
        let Some(mark) = marks.get_mut(&key) else {
            marks.insert(key, here);
            continue;
        };
        let expected = (mark.eta - (now - mark.at)).max(0.0);
        let within = horizon(&e.limit);
        let mut change = |kind| Change {
            limit: e.limit.clone(),
            labels: e.labels.clone(),
            kind,
            at: now,
            expected,
            now: eta,
            headroom_before: mark.headroom,
            headroom_now: p.headroom(),
        };
        // A wall reached (breached, or a trend at the wall now) is news for
        // the wall alerts, which page on it as it happens. As a re-roadmap
        // it only repeated them ("moved sooner: about 0s"), and a spike that
        // touched the wall for a few evaluations raised it, then "later"
        // once it passed. So a reached wall moves no time: any move pending
        // stops, and the mark keeps its time, against which a wall back
        // where it was is no move either.
        let reached = p.stage == Stage::Breached || eta <= 0.0;
        let time = if reached || expected.min(eta) > within {
            None
        } else if eta < expected
            && (eta * MATERIAL <= expected || (expected.is_infinite() && eta.is_finite()))
        {
            Some(ChangeKind::Sooner)
        } else if eta > expected && eta >= expected * MATERIAL {
            Some(ChangeKind::Later)
        } else {
            None
        };
        // Crossing the growth factor counts when the headroom says so, by a
        // margin; entering a lead window is the alerts' business.
        let class = match (mark.must_address, p.headroom()) {
            (false, Some(r)) if r * GROWTH_MARGIN < growth => Some(ChangeKind::MustAddress),
            (true, Some(r)) if r > growth * GROWTH_MARGIN && !p.stage.must_address() => {
                Some(ChangeKind::Deferred)
            }
            _ => None,
        };
        let time = held(&mut mark.pending_time, time, now, hold);
        let class = held(&mut mark.pending_class, class, now, hold);
        let time_change = time.map(&mut change);
        let class_change = class.map(&mut change);
        if time_change.is_some() {
            mark.eta = eta;
            mark.at = now;
        }
        if class_change.is_some() {
            mark.must_address = !mark.must_address;
        }
        if time_change.is_some() || class_change.is_some() {
            mark.headroom = p.headroom();
        }
        changes.extend(time_change);
        changes.extend(class_change);
    }
    marks.retain(|k, _| seen.contains(k));
    changes
}

/// The alert name of re-roadmap notices.
pub const CHANGE_ALERTNAME: &str = "RoadmapChanged";

/// Re-roadmap events sent to Alertmanager as `info` alerts (for the kinds
/// `roadmap.alert_on` names): each is active for `roadmap.alert_for`, with
/// `endsAt` at its end, so Alertmanager resolves it by itself; it is re-sent
/// every resend delay until then, so that one lost send does not lose it. A
/// newer event for the same series and kind replaces the older.
#[derive(Debug, Default)]
pub struct Notices {
    active: Vec<Notice>,
}

#[derive(Debug)]
struct Notice {
    alert: Alert,
    last_sent: Option<UnixSeconds>,
}

impl Notice {
    /// Resolves a firing notice at `at`, to be sent (and re-sent for the
    /// retention) as resolved; one already resolved stays as it is.
    fn resolve(&mut self, at: UnixSeconds) {
        if self.alert.state == AlertState::Firing {
            self.alert.state = AlertState::Resolved;
            self.alert.ends_at = at;
            self.last_sent = None;
        }
    }
}

impl Notices {
    /// Raises a notice for `c`, active until `until`; `labels` are the
    /// limit's own alert labels (for routing), `generator_url` where its
    /// query is graphed, as its wall alerts link to. A notice of the
    /// opposite move for the same series (sooner and later, must address
    /// and deferred) no longer holds, and is resolved.
    pub fn raise(
        &mut self,
        c: &Change,
        labels: &Labels,
        growth: f64,
        until: UnixSeconds,
        generator_url: &str,
    ) {
        let l = crate::evaluate::identity(
            &c.labels,
            labels,
            &[
                ("alertname", CHANGE_ALERTNAME),
                ("limit", &c.limit),
                ("severity", "info"),
                ("change", c.kind.as_str()),
            ],
        );
        let series = crate::evaluate::label_string(&c.labels);
        let human = crate::evaluate::human_duration;
        // As the status page and reports show it; spelled out in prose.
        let headroom = crate::report::headroom_words;
        let g = crate::evaluate::format_value(growth);
        let what = match c.kind {
            ChangeKind::Sooner => format!(
                "the wall moved sooner: about {} instead of {}",
                human(c.now),
                human(c.expected)
            ),
            ChangeKind::Later => format!(
                "the wall moved later: {} instead of {}",
                human(c.now),
                human(c.expected)
            ),
            ChangeKind::MustAddress => format!(
                "now breaks before {g}x load: headroom {} (was {})",
                headroom(c.headroom_now),
                headroom(c.headroom_before)
            ),
            ChangeKind::Deferred => format!(
                "now breaks only beyond {g}x load: headroom {} (was {})",
                headroom(c.headroom_now),
                headroom(c.headroom_before)
            ),
        };
        let mut annotations = std::collections::BTreeMap::new();
        annotations.insert("summary".into(), format!("{}: {series}: {what}", c.limit));
        annotations.insert("time_to_wall".into(), human(c.now));
        annotations.insert("previous_time_to_wall".into(), human(c.expected));
        annotations.insert("load_headroom".into(), headroom(c.headroom_now));
        annotations.insert("previous_load_headroom".into(), headroom(c.headroom_before));
        let alert = Alert {
            state: AlertState::Firing,
            labels: l,
            annotations,
            starts_at: c.at,
            ends_at: until,
            generator_url: generator_url.to_string(),
        };
        self.active.retain(|n| n.alert.labels != alert.labels);
        let mut opposite = alert.labels.clone();
        opposite.insert("change".into(), c.kind.opposite().as_str().into());
        for n in &mut self.active {
            if n.alert.labels == opposite {
                n.resolve(c.at);
            }
        }
        self.active.push(Notice {
            alert,
            last_sent: None,
        });
    }

    /// Resolves at `now` the active notices that a reload no longer
    /// wants: those whose limit and change `keep` refuses (a removed limit,
    /// a change no longer in `roadmap.alert_on`). Each is sent resolved
    /// rather than firing until its `endsAt`, and re-sent so for as long as
    /// a resolved alert is (Prometheus' `resolvedRetention`), so that one
    /// lost send does not leave it firing.
    pub fn withdraw(&mut self, keep: impl Fn(&str, &str) -> bool, now: UnixSeconds) {
        for n in &mut self.active {
            let label = |name: &str| n.alert.labels.get(name).map_or("", String::as_str);
            if !keep(label("limit"), label("change")) {
                n.resolve(now);
            }
        }
    }

    /// The notices to send at `now`: new and withdrawn ones, and the
    /// others not sent for `resend_delay`. Expired ones are dropped
    /// (Alertmanager has resolved them at their `endsAt`), and withdrawn
    /// ones once they have been re-sent for the retention.
    pub fn due(&mut self, now: UnixSeconds, resend_delay: f64) -> Vec<Alert> {
        self.active.retain(|n| {
            n.alert.ends_at > now
                || (n.alert.state == AlertState::Resolved
                    && (n.last_sent.is_none()
                        || now - n.alert.ends_at < crate::evaluate::RESOLVED_RETENTION_SECONDS))
        });
        let mut out = Vec::new();
        for n in &mut self.active {
            if n.last_sent.is_none_or(|t| t + resend_delay <= now) {
                n.last_sent = Some(now);
                out.push(n.alert.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
