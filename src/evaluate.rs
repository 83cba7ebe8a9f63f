//! PURE evaluation: turns a limit's series into forecasts at `now`, and keeps
//! the alert state machine (pending, firing, resolved) with Prometheus'
//! sending semantics. No I/O, no clock: time is always a parameter, so the
//! whole life of an alert can be stepped through in a test.
//!
//! The alert rules, stated once:
//! - An alert *fires* for a severity when the wall is at least 30% likely
//!   within that severity's lead time (`Forecast::within`; a breach is within
//!   any lead), and has stayed so for `hold` (like a rule's `for:`); a hold
//!   of zero fires at once.
//! - A firing alert *resolves* only when that moment is beyond
//!   `lead × resolve_margin` (and a cycle past the lead, up to twice the
//!   lead, for a series with one), when the series has no usable trend, or when the
//!   series disappears: hysteresis, so a wall hovering at the edge of the
//!   window does not page on and off.
//! - Firing alerts are re-sent every `resend_delay` with
//!   `endsAt = now + 4 × max(interval, resend_delay) + hold`, so that two
//!   lost sends do not resolve them, nor does a restart (see
//!   [`Cadence::valid_for`]); resolved alerts are re-sent with `endsAt` = the
//!   resolve time for 15 minutes. Pending alerts are never sent.

use std::collections::{BTreeMap, HashMap};

use crate::forecast::{self, Forecast, Settings, Status};
use crate::model::{Direction, Labels, Sample, Series, UnixSeconds};
use crate::roadmap::{self, Driver, Headroom};

/// How long a resolved alert keeps being re-sent (Prometheus' value).
pub const RESOLVED_RETENTION_SECONDS: f64 = 15.0 * 60.0;

/// The forecast of one series of one limit, with what it was measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub limit: String,
    /// The series' own labels (without `__name__`).
    pub labels: Labels,
    pub wall: f64,
    pub direction: Direction,
    pub forecast: Forecast,
    /// The load multiple at which it breaks.
    pub headroom: Headroom,
    /// The history, thinned to at most [`CHART_POINTS`] for charts.
    pub history: Vec<Sample>,
    /// When it was computed.
    pub at: UnixSeconds,
}

/// The most points of history an evaluation keeps for its chart.
pub const CHART_POINTS: usize = 120;

/// Thins `samples` to at most `max` points for a chart: one per bucket of
/// equal time, the one nearest the wall, so that peaks that approach it
/// are not averaged away.
pub fn thin(samples: &[Sample], max: usize, direction: Direction) -> Vec<Sample> {
    let finite = || {
        samples
            .iter()
            .filter(|s| s.v.is_finite() && s.t.is_finite())
    };
    let (Some(first), Some(last)) = (finite().next(), finite().next_back()) else {
        return Vec::new();
    };
    if samples.len() <= max || max == 0 || last.t <= first.t {
        return finite().copied().collect();
    }
    let width = (last.t - first.t) / max as f64;
    let mut out: Vec<Sample> = Vec::with_capacity(max);
    let mut bucket = usize::MAX;
    for s in finite() {
        let b = (((s.t - first.t) / width) as usize).min(max - 1);
        match out.last_mut() {
            Some(kept) if b == bucket => {
                if direction.gap(s.v, kept.v) < 0.0 {
                    *kept = *s;
                }
            }
            _ => {
                out.push(*s);
                bucket = b;
            }
        }
    }
    out
}

/// Joins per-series walls to series: for each series, the wall whose labels
/// are a subset of the series' labels, preferring the most specific (most
/// labels) when several match. `None` when no wall matches. Walls as
/// specific as each other on different labels (one by `pool`, one by
/// `job`) that disagree are ambiguous (Prometheus refuses such a join as
/// many-to-one): the one reached first, moving in `direction`, holds, and
/// the count of series so joined is returned, for a warning.
pub fn join_walls<'s>(
    series: impl IntoIterator<Item = &'s Labels>,
    walls: &[(Labels, f64)],
    direction: Direction,
) -> (Vec<Option<f64>>, usize) {
    let labels: Vec<&Labels> = walls.iter().map(|w| &w.0).collect();
    let mut ambiguous = 0;
    let joined = join_all(series, &labels)
        .into_iter()
        .map(|found| {
            let values: Vec<f64> = found.iter().map(|&i| walls[i].1).collect();
            if values.iter().any(|v| *v != values[0]) {
                ambiguous += 1;
            }
            values.into_iter().reduce(|a, b| {
                // The nearer wall: the lower one for a rising series.
                if direction.gap(a, b) >= 0.0 {
                    a
                } else {
                    b
                }
            })
        })
        .collect();
    (joined, ambiguous)
}

/// Joins driver series to series by the same rule as [`join_walls`]: a
/// driver without labels (`sum(rate(...))`) drives every series. `drivers`
/// is `None` when the limit has no driver, an error when its query failed.
pub fn join_drivers<'a>(
    series: &[Series],
    drivers: Option<&'a Result<Vec<Series>, String>>,
) -> Vec<Driver<'a>> {
    let drivers = match drivers {
        None => return vec![Driver::Absent; series.len()],
        Some(Err(why)) => return vec![Driver::Failed(why); series.len()],
        Some(Ok(drivers)) => drivers,
    };
    let labels: Vec<&Labels> = drivers.iter().map(|d| &d.labels).collect();
    join(series.iter().map(|s| &s.labels), &labels)
        .into_iter()
        .map(|i| i.map_or(Driver::Unmatched, |i| Driver::Series(&drivers[i].samples)))
        .collect()
}

/// For each series, the index of the most specific label set that is a
/// subset of its labels; of equally specific ones, the last. The sets are
/// grouped by their label names (a `wall_query` usually has one group:
/// `instance`, say), so each series is looked up once per group rather
/// than compared with every set: 10,000 series with a wall each is 10,000
/// lookups, not 100 million comparisons.
fn join<'s>(series: impl IntoIterator<Item = &'s Labels>, sets: &[&Labels]) -> Vec<Option<usize>> {
    join_all(series, sets)
        .into_iter()
        .map(|found| found.last().copied())
        .collect()
}

/// For each series, every one of the most specific label sets that are
/// subsets of its labels (one per group of label names: of sets with the
/// same labels, the last), in the order of `sets`.
fn join_all<'s>(series: impl IntoIterator<Item = &'s Labels>, sets: &[&Labels]) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<Vec<&str>, HashMap<Vec<&str>, usize>> = BTreeMap::new();
    for (i, l) in sets.iter().enumerate() {
        let names = l.keys().map(String::as_str).collect();
        let values = l.values().map(String::as_str).collect();
        // A later set with the same labels replaces an earlier one.
        groups.entry(names).or_default().insert(values, i);
    }
    series
        .into_iter()
        .map(|labels| {
            groups
                .iter()
                .filter_map(|(names, by_values)| {
                    let values = names
                        .iter()
                        .map(|n| labels.get(*n).map(String::as_str))
                        .collect::<Option<Vec<&str>>>()?;
                    by_values.get(&values).map(|&i| (names.len(), i))
                })
                .fold(
                    (0, Vec::new()),
                    |(most, mut found): (usize, Vec<usize>), (n, i)| match n.cmp(&most) {
                        std::cmp::Ordering::Greater => (n, vec![i]),
                        std::cmp::Ordering::Equal => {
                            found.push(i);
                            (most, found)
                        }
                        std::cmp::Ordering::Less => (most, found),
                    },
                )
                .1
        })
        .map(|mut found| {
            found.sort_unstable();
            found
        })
        .collect()
}

/// Forecasts every series of one limit, each against its wall and, where
/// `drivers` has one for it (same index), its driver's samples.
pub fn evaluate(
    limit: &str,
    series: &[Series],
    walls: &[f64],
    drivers: &[Driver<'_>],
    direction: Direction,
    settings: &Settings,
    now: UnixSeconds,
) -> Vec<Evaluation> {
    let histories: Vec<&[Sample]> = series.iter().map(|s| s.samples.as_slice()).collect();
    let headrooms = roadmap::headrooms(&histories, drivers, walls, direction, settings, now);
    series
        .iter()
        .zip(walls)
        .zip(headrooms)
        .map(|((s, &wall), mut headroom)| {
            let forecast = forecast::forecast(&s.samples, wall, direction, settings, now);
            roadmap::compare_dates(&mut headroom, &forecast);
            Evaluation {
                limit: limit.to_string(),
                labels: s.labels.clone(),
                wall,
                direction,
                forecast,
                headroom,
                history: thin(&s.samples, CHART_POINTS, direction),
                at: now,
            }
        })
        .collect()
}

/// What a series' forecast is computed from besides the time: its labels,
/// samples, wall and driver, as one number. A limit's forecasts are a
/// function of these, of its settings and of the time alone, so a series
/// whose fingerprint is unchanged at the next evaluation has the same
/// forecast, counted down, until the clock alone may change it
/// ([`Evaluation::steady_until`]; see [`Kept`]). SipHash over every bit: about
/// 30 µs for a week at five minutes (60 with a driver as long), against
/// about 2 ms for the forecast (`cargo bench --bench forecast`).
pub fn fingerprint(series: &Series, wall: f64, driver: Driver<'_>) -> u64 {
    with_driver(series, wall, driver_print(driver))
}

/// [`fingerprint`] of each series with its wall and driver (same index).
/// A driver shared by many series (one total load behind every
/// instance's latency) is hashed once for them, as `roadmap::headrooms`
/// fits it once.
pub fn fingerprints(series: &[Series], walls: &[f64], drivers: &[Driver<'_>]) -> Vec<u64> {
    let mut shared: HashMap<(*const Sample, usize), u64> = HashMap::new();
    series
        .iter()
        .zip(walls)
        .zip(drivers)
        .map(|((s, &wall), &d)| {
            let driver = match d {
                Driver::Series(x) => *shared
                    .entry((x.as_ptr(), x.len()))
                    .or_insert_with(|| driver_print(d)),
                other => driver_print(other),
            };
            with_driver(s, wall, driver)
        })
        .collect()
}

/// SipHash of `samples`, every bit of them, after their count.
fn hash_samples(h: &mut std::hash::DefaultHasher, samples: &[Sample]) {
    use std::hash::Hasher;
    h.write_usize(samples.len());
    for s in samples {
        h.write_u64(s.t.to_bits());
        h.write_u64(s.v.to_bits());
    }
}

/// The driver's part of a [`fingerprint`].
fn driver_print(driver: Driver<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    match driver {
        Driver::Absent => h.write_u8(0),
        Driver::Unmatched => h.write_u8(1),
        Driver::Failed(why) => {
            h.write_u8(2);
            why.hash(&mut h);
        }
        Driver::Series(s) => {
            h.write_u8(3);
            hash_samples(&mut h, s);
        }
    }
    h.finish()
}

/// A [`fingerprint`] from the driver's part of it.
fn with_driver(series: &Series, wall: f64, driver: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    series.labels.hash(&mut h);
    hash_samples(&mut h, &series.samples);
    h.write_u64(wall.to_bits());
    h.write_u64(driver);
    h.finish()
}

impl Evaluation {
    /// The same forecast as it reads at `now`, after it was computed: its
    /// moments (the wall's likely, alert and band times, a breach, the
    /// regime's start, the driver's date) stay where they were, and the
    /// times until them count down by the time since, to zero at most; the
    /// trend's level moves on by its rate. Its words (how long a window or
    /// a regime is) stay as they were written. Earlier than it was
    /// computed, it is as it was.
    pub fn counted_down(&self, now: UnixSeconds) -> Evaluation {
        let mut e = self.clone();
        let since = now - self.at;
        if since.is_nan() || since <= 0.0 {
            return e;
        }
        e.at = now;
        let f = &mut e.forecast;
        if let Some(eta) = &mut f.eta {
            for x in [
                &mut eta.lower,
                &mut eta.likely,
                &mut eta.upper,
                &mut eta.alert,
            ] {
                *x = (*x - since).max(0.0);
            }
        }
        if f.level.is_finite() && f.rate.is_finite() {
            f.level += f.rate * since;
        }
        if let roadmap::Basis::Driver(d) = &mut e.headroom.basis {
            if let Some(t) = &mut d.time_to_load {
                *t = (*t - since).max(0.0);
            }
        }
        e
    }

    /// Until when its samples give this evaluation again, counted down:
    /// its forecast's and its driver's `steady_until`.
    pub fn steady_until(&self) -> UnixSeconds {
        match &self.headroom.basis {
            roadmap::Basis::Driver(d) => self.forecast.steady_until.min(d.steady_until),
            _ => self.forecast.steady_until,
        }
    }
}

/// The forecasts of a limit's last evaluation, by the [`fingerprint`] of
/// what each was computed from, to be counted down rather than computed
/// again while that is unchanged and they are younger than `max_age`.
/// A range query's points are aligned to its step (see `engine::grid`), so
/// the evaluations within one step fetch the same points: at the default
/// 1-minute interval and 5-minute step, four forecasts in five are kept.
#[derive(Debug, Default, Clone)]
pub struct Kept {
    by_print: HashMap<u64, Evaluation>,
}

impl Kept {
    /// The forecast kept for `print`, counted down to `now`, when it was
    /// computed less than `max_age` seconds before and still holds then
    /// ([`Evaluation::steady_until`]).
    pub fn reuse(&self, print: u64, now: UnixSeconds, max_age: f64) -> Option<Evaluation> {
        let e = self.by_print.get(&print)?;
        (now >= e.at && now - e.at < max_age && now < e.steady_until()).then(|| e.counted_down(now))
    }

    /// The forecast computed (not counted down) for `print`, if kept,
    /// taken out to be kept for the next evaluation.
    pub fn take(&mut self, print: u64) -> Option<Evaluation> {
        self.by_print.remove(&print)
    }

    /// Keeps `e`, computed from what `print` stands for.
    pub fn keep(&mut self, print: u64, e: Evaluation) {
        self.by_print.insert(print, e);
    }
}

/// "1 sample", "4 samples": a count and its noun, in the number it takes.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// "3d 4h", "5h 12m", "40s": the two leading units of a duration, as a person
/// would say it on the phone, the second rounded to the nearest (1d 17h 58m
/// is "1d 18h", not a band's edge read nearer than it is). A year is 365.25
/// days, as durations are read (`humantime`): "1y" reads back as written.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "never".to_string();
    }
    const UNITS: [(&str, f64); 5] = [
        ("y", 31_557_600.0),
        ("d", 86_400.0),
        ("h", 3_600.0),
        ("m", 60.0),
        ("s", 1.0),
    ];
    let lead_of = |s: f64| UNITS.iter().position(|(_, size)| s >= *size);
    let s = seconds.max(0.0).round();
    let Some(i) = lead_of(s) else {
        return "0s".to_string();
    };
    // Rounded to the unit after the leading one, which may then lead with
    // a larger unit (23h 59m 50s is 1d), never with a smaller one (a year
    // is no whole number of days).
    let step = UNITS.get(i + 1).map_or(1.0, |u| u.1);
    let rounded = (s / step).round() * step;
    let i = lead_of(rounded).map_or(i, |j| j.min(i));
    let (name, size) = UNITS[i];
    let mut lead = (rounded / size).floor().max(1.0);
    let mut second = None;
    if let Some(&(next, next_size)) = UNITS.get(i + 1) {
        let n = ((rounded - lead * size).max(0.0) / next_size).round();
        if n * next_size >= size - next_size / 2.0 {
            lead += 1.0;
        } else if n > 0.0 {
            second = Some(format!(" {n}{next}"));
        }
    }
    format!("{lead}{name}{}", second.unwrap_or_default())
}

/// RFC 3339 (UTC, whole seconds, the fraction dropped) for a Unix time,
/// from 0001-01-01 to 9999-12-31 (the four-digit years RFC 3339 writes);
/// `None` outside them. Times before 1970 are times too: an offline
/// history (`runway backtest --input`) can begin decades earlier.
pub fn rfc3339(t: UnixSeconds) -> Option<String> {
    if !(-62_135_596_800.0..253_402_300_800.0).contains(&t) {
        return None;
    }
    let seconds = t.floor() as i64;
    let (y, m, d) = civil(seconds.div_euclid(DAY_SECONDS));
    let s = seconds.rem_euclid(DAY_SECONDS);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    ))
}

const DAY_SECONDS: i64 = 86_400;

/// The proleptic Gregorian date (year, month, day) `days` after
/// 1970-01-01. The method is Howard Hinnant's `civil_from_days` (his
/// "chrono-Compatible Low-Level Date Algorithms"): count from 0000-03-01,
/// so that the leap day ends each year, in 400-year eras of 146,097 days;
/// a year of the era from its day, with 365-day years and the leap days of
/// every 4th year but every 100th but every 400th; and the month from the
/// day of that March-based year, whose months run 31, 30, 31, 30, 31 days
/// in two five-month rounds (153 days each) and then January and February.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153; // 0 = March .. 11 = February
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

/// `{a="1", b="2"}`: a label set as PromQL would print it.
pub fn label_string(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The sentence an on-call engineer reads first.
pub fn summary(e: &Evaluation) -> String {
    let what = format!("{}: {}", e.limit, label_string(&e.labels));
    let f = &e.forecast;
    // Readable rather than exact ("400G", not 400000000000): the exact
    // figures are the `wall` and `current_value` annotations.
    let wall = wall_text(e.wall);
    match (f.status, f.eta) {
        // A breach is judged on the median of the newest few samples: the
        // newest alone may have dipped back (a cycle's trough), and "has
        // reached 600 (now 581)" must not read as a contradiction.
        (Status::Breached, _) => match f.current_value {
            Some(v) if e.direction.gap(v, e.wall) > 0.0 => {
                let (wall, v) = wall_and_value(e.wall, v);
                format!(
                    "{what} has reached {wall} (the median of its newest samples is past it; the newest, {v}, is not)"
                )
            }
            Some(v) => {
                let (wall, v) = wall_and_value(e.wall, v);
                format!("{what} has reached {wall} (now {v})")
            }
            None => format!("{what} has reached {wall}"),
        },
        // The trend is at the wall already while the newest samples are
        // not past it (a noisy series right at it, or `forecast --at` a
        // while after the newest sample): "in about 0s" read as a glitch.
        (Status::Approaching, Some(eta)) if eta.likely <= 0.0 => format!(
            "{what} reaches {wall} now by its trend (the newest samples are not past it yet)"
        ),
        (Status::Approaching, Some(eta)) => format!(
            "{what} reaches {wall} in about {} (between {} and {})",
            human_duration(eta.likely),
            human_duration(eta.lower),
            human_duration(eta.upper)
        ),
        // Why, first: too few samples, or values or a wall out of range,
        // which "not enough data" would misname.
        (Status::InsufficientData, _) => format!("{what} cannot be forecast: {}", f.reason),
        _ => format!("{what} is not approaching {wall}"),
    }
}

/// The query parameter of an alert's link that sets the graph's range (the
/// limit's lookback).
pub const RANGE_PARAMETER: &str = "g0.range_input";

/// The prefix of the query parameters of an alert link's second graph: the
/// alerting series alone, beside its wall.
pub const SERIES_GRAPH: &str = "g1.";

/// The link an alert carries to its source (Alertmanager's `generatorURL`).
pub trait Link {
    /// The link of the alerts of the series evaluated in `e`.
    fn for_series(&self, e: &Evaluation) -> String;
}

/// One link for every series.
impl Link for str {
    fn for_series(&self, _: &Evaluation) -> String {
        self.to_string()
    }
}

/// Whether two alert links are to one source's graph of one query: the
/// range they open on aside, which a changed lookback (or a runway from
/// before links had one) sets otherwise, and the graph of the one series,
/// which runways before this one did not add.
fn same_link(a: &str, b: &str) -> bool {
    let range = format!("{RANGE_PARAMETER}=");
    let of_the_limit = |url: &str| -> String {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.starts_with(&range) && !pair.starts_with(SERIES_GRAPH))
            .collect();
        format!("{path}?{}", kept.join("&"))
    };
    of_the_limit(a) == of_the_limit(b)
}

/// A number as a person reads it: integers without a fraction, others with
/// up to 6 significant digits (and no fraction from a hundred thousand up:
/// free bytes of 9137427713.026098 read 9137427713).
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    // Very large or small magnitudes read better in exponent form.
    if v.abs() >= 1e15 || (v != 0.0 && v.abs() < 1e-4) {
        return format!("{v:.4e}");
    }
    if v == v.trunc() || v.abs() >= 1e5 {
        return format!("{}", v.round() as i64);
    }
    // Decimals for six significant digits: 12.3457, 0.123457.
    let whole = (v.abs().log10().floor() as i32 + 1).max(0);
    let decimals = usize::try_from(6 - whole).unwrap_or(0);
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The SI prefixes a reader knows from Prometheus' `humanize`, largest
/// first.
const SI_PREFIXES: [(f64, &str); 6] = [
    (1e18, "E"),
    (1e15, "P"),
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
];

/// `v` to `digits` significant digits, with an SI prefix from a thousand
/// up and no trailing zeros: "148.7G", "400G", "0.00634", "250". Rounded
/// before the prefix is chosen, so 999,999 at three digits reads "1M",
/// not "1000k". Beyond the prefixes (and below 0.0001) in exponent form.
pub fn readable(v: f64, digits: i32) -> String {
    let r = significant(v, digits);
    if r == 0.0 {
        // Not "-0".
        return "0".into();
    }
    if !r.is_finite() {
        return format!("{r}");
    }
    if r.abs() >= 1e21 || r.abs() < 1e-4 {
        return format!("{r:e}");
    }
    let (scale, prefix) = SI_PREFIXES
        .iter()
        .find(|(scale, _)| r.abs() >= *scale)
        .copied()
        .unwrap_or((1.0, ""));
    let x = r / scale;
    let whole = x.abs().log10().floor() as i32 + 1;
    let decimals = usize::try_from(digits - whole).unwrap_or(0);
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{prefix}")
}

/// Significant digits of a value beside its wall (Prometheus' `humanize`).
const VALUE_DIGITS: i32 = 4;
/// Significant digits of a wall, so that one configured as 99.995 reads so.
const WALL_DIGITS: i32 = 6;

/// A wall on its own, as [`wall_and_value`] prints it beside no value.
pub fn wall_text(wall: f64) -> String {
    readable(wall, WALL_DIGITS)
}

/// A wall and a value beside it, as a summary prints them: the value to
/// four significant digits (as Prometheus' `humanize`), the wall as
/// configured up to six, and both with more as needed for them to read
/// apart when they differ: "400G" and "148.7G", but "400G" and
/// "399.99996G" for a value just short of it, where four digits would
/// print the wall twice.
pub fn wall_and_value(wall: f64, v: f64) -> (String, String) {
    let mut digits = VALUE_DIGITS;
    loop {
        let (w, x) = (readable(wall, digits.max(WALL_DIGITS)), readable(v, digits));
        // Seventeen digits tell any two doubles apart.
        if w != x || wall == v || digits >= 17 {
            return (w, x);
        }
        digits += 1;
    }
}

/// `v` to `digits` significant digits.
pub fn significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let m = 10f64.powf(v.abs().log10().floor() - f64::from(digits - 1));
    (v / m).round() * m
}

/// A piece of an annotation template: text as written, or a placeholder
/// (`key` trimmed, `raw` with its braces).
enum Piece<'a> {
    Text(&'a str),
    Placeholder { key: &'a str, raw: &'a str },
}

/// The pieces of `template`, in order; `{{` with no `}}` after it is text.
fn pieces(template: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = template;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let piece = match rest.find("{{") {
            Some(0) => match rest[2..].find("}}") {
                Some(end) => {
                    let raw = &rest[..end + 4];
                    Piece::Placeholder {
                        key: raw[2..raw.len() - 2].trim(),
                        raw,
                    }
                }
                None => Piece::Text(rest),
            },
            Some(start) => Piece::Text(&rest[..start]),
            None => Piece::Text(rest),
        };
        let taken = match &piece {
            Piece::Text(t) => t.len(),
            Piece::Placeholder { raw, .. } => raw.len(),
        };
        rest = &rest[taken..];
        Some(piece)
    })
}

/// The placeholders [`expand`] fills, for messages.
pub const PLACEHOLDERS: &str =
    "{{ $labels.NAME }}, {{ $value }}, {{ $wall }}, {{ $time_to_wall }}, {{ $limit }}";

/// What a placeholder [`expand`] fills stands for.
enum Fill<'a> {
    Label(&'a str),
    Value,
    Wall,
    Limit,
    TimeToWall,
}

/// The placeholder `key` (between the braces, trimmed), if it is one
/// [`expand`] fills: one list for the expansion and the check.
fn fill(key: &str) -> Option<Fill<'_>> {
    if let Some(name) = key.strip_prefix("$labels.") {
        // A label's name as Prometheus allows it: anything else (a pipe to
        // a function, a brace left open) would be looked up as a name no
        // series has, and reach the on-call engineer as an empty string.
        let label_name = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        return (!name.is_empty() && label_name).then_some(Fill::Label(name));
    }
    Some(match key {
        "$value" => Fill::Value,
        "$wall" => Fill::Wall,
        "$limit" => Fill::Limit,
        "$time_to_wall" => Fill::TimeToWall,
        _ => return None,
    })
}

/// What is wrong with an annotation template, if anything: a placeholder
/// [`expand`] does not fill, or braces left open. Either would reach the
/// on-call engineer as written.
pub fn template_problem(template: &str) -> Option<String> {
    for piece in pieces(template) {
        match piece {
            Piece::Placeholder { key, raw } if fill(key).is_none() => {
                return Some(format!(
                    "{raw} is not a placeholder runway fills ({PLACEHOLDERS})"
                ));
            }
            Piece::Text(t) if t.contains("{{") => {
                return Some(format!("\"{{{{\" is not closed by \"}}}}\" in {t:?}"));
            }
            _ => {}
        }
    }
    None
}

/// Fills `{{ $labels.NAME }}`, `{{ $value }}`, `{{ $wall }}`,
/// `{{ $time_to_wall }}` and `{{ $limit }}` in a limit's annotation, the
/// small subset of Prometheus' template language that alert texts use.
/// Anything else between braces is left as written (the configuration
/// refuses it: [`template_problem`]).
pub fn expand(template: &str, e: &Evaluation) -> String {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder { key, raw } => match fill(key) {
                None => out.push_str(raw),
                Some(Fill::Label(name)) => {
                    out.push_str(e.labels.get(name).map_or("", String::as_str))
                }
                Some(Fill::Value) => {
                    out.push_str(&e.forecast.current_value.map_or("NaN".into(), format_value))
                }
                Some(Fill::Wall) => out.push_str(&format_value(e.wall)),
                Some(Fill::Limit) => out.push_str(&e.limit),
                Some(Fill::TimeToWall) => out.push_str(&human_duration(
                    e.forecast.eta.map_or(f64::INFINITY, |x| x.likely),
                )),
            },
        }
    }
    out
}

/// The alerting part of a limit for one severity.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub alertname: String,
    pub severity: String,
    /// Seconds.
    pub lead: f64,
    /// Seconds the condition must hold before firing.
    pub hold: f64,
    /// Resolve only beyond lead × this (>= 1), and at least a cycle beyond
    /// the lead (see [`AlertRule::resolves_beyond`]).
    pub resolve_margin: f64,
    /// Seconds a firing alert keeps firing after its forecast cleared.
    pub keep_firing_for: f64,
    /// Added to every alert of the rule; they win over series labels.
    pub labels: Labels,
    /// The limit's own annotations, templates allowed.
    pub annotations: BTreeMap<String, String>,
}

impl AlertRule {
    /// How far off the wall must be, at the alert's likelihood, for a
    /// firing alert to resolve: the lead times the resolve margin, and, for
    /// a series with a cycle (its `period`: a seasonal one, or a sawtooth's
    /// cleanups), a cycle more than the lead, up to twice the lead. With a
    /// cycle the wall is reached at a peak, so a forecast moves in whole
    /// cycles: the wall at this peak or the next one. A margin narrower
    /// than a cycle let such a move resolve a page and the move back page
    /// again; one wider than the lead (a yearly cycle on a week's lead)
    /// would hold a page for a wall long gone from its window.
    pub fn resolves_beyond(&self, period: Option<f64>) -> f64 {
        let cycle = period.unwrap_or(0.0).min(self.lead);
        (self.lead * self.resolve_margin).max(self.lead + cycle)
    }
}

/// Sending cadence, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    pub interval: f64,
    pub resend_delay: f64,
}

impl Cadence {
    /// How far ahead a firing alert's `endsAt` is set, for a rule that
    /// holds `hold` seconds: Prometheus' four sends (two lost ones do not
    /// resolve it), and the hold on top. A restarted runway takes over the
    /// alerts its Alertmanagers hold ([`AlertTracker::take_over`]), but
    /// while none has answered it holds a firing alert pending for the
    /// hold again before it sends it, and Alertmanager must keep it active
    /// meanwhile, or it would notify "resolved" and then "firing" again.
    /// It is also how long a restarted runway asks an Alertmanager that
    /// does not answer: no page sent before the restart outlives it.
    pub fn valid_for(&self, hold: f64) -> f64 {
        4.0 * self.step() + hold.max(0.0)
    }

    /// The longest a firing alert goes between two sends: an evaluation
    /// interval, or the resend delay when that is longer.
    fn step(&self) -> f64 {
        self.interval.max(self.resend_delay)
    }
}

/// What an Alertmanager receives (API v2 `postableAlert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Firing or resolved (Alertmanager tells them apart by `ends_at`).
    pub state: AlertState,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: UnixSeconds,
    pub ends_at: UnixSeconds,
    pub generator_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Pending,
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// An alert as runway holds it: the series and severity it is about, and
/// where it stands (pending, firing, or resolved and still being re-sent)
/// since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub limit: String,
    pub series: Labels,
    pub severity: String,
    pub state: AlertState,
    pub since: UnixSeconds,
}

/// How the resolution of a series that went away begins its summary.
pub const VANISHED: &str =
    "no longer reported (the series stopped, or its query no longer returns it)";

/// The resolution of an alert whose limit was removed from the
/// configuration.
pub const REMOVED: &str = "its limit was removed from runway's configuration";

/// The resolution of an alert that a reload's changed rule no longer
/// raises.
pub const RULE_CHANGED: &str =
    "its alert rule was changed in runway's configuration (alert name, labels or severities)";

#[derive(Debug, Clone)]
struct Tracked {
    state: AlertState,
    annotations: BTreeMap<String, String>,
    generator_url: String,
    active_at: UnixSeconds,
    resolved_at: Option<UnixSeconds>,
    last_sent_at: Option<UnixSeconds>,
    /// The `endsAt` of its last send: until when Alertmanager holds it
    /// active.
    sent_until: Option<UnixSeconds>,
    /// Its rule's hold, in seconds: how long a restarted runway would hold
    /// it pending again (see [`Cadence::valid_for`]).
    hold: f64,
    /// The series it is about (its labels in the alert may be renamed).
    series: Labels,
    /// Since when a firing alert's forecast has been clear of its
    /// resolve margin, or its series gone (see `AlertRule::keep_firing_for`).
    cleared_at: Option<UnixSeconds>,
    /// Its rule's `keep_firing_for`, in seconds.
    keep_firing_for: f64,
    /// Whether an evaluation here raised it, or it was taken over from an
    /// Alertmanager and no evaluation has raised it yet.
    origin: Origin,
}

/// Where a tracked alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// An evaluation of its limit here raised it.
    Evaluated,
    /// Taken over from an Alertmanager, linking to its limit's source and
    /// query here: re-sent as it was until an evaluation raises it, and
    /// dropped rather than resolved if that evaluation does not (another
    /// runway's, with the same rules on other series).
    TakenOver,
    /// Taken over, but linking to another source or query: likely another
    /// runway's. Neither sent, shown nor counted until an evaluation here
    /// raises it; dropped otherwise.
    Foreign,
}

impl Tracked {
    /// An alert of `rule` about the series of `e`, `state` since
    /// `active_at`, not sent yet.
    fn new(
        state: AlertState,
        annotations: BTreeMap<String, String>,
        generator_url: &str,
        active_at: UnixSeconds,
        series: Labels,
        rule: &AlertRule,
    ) -> Self {
        Self {
            state,
            annotations,
            generator_url: generator_url.to_string(),
            active_at,
            resolved_at: None,
            last_sent_at: None,
            sent_until: None,
            hold: rule.hold,
            series,
            cleared_at: None,
            keep_firing_for: rule.keep_firing_for,
            origin: Origin::Evaluated,
        }
    }

    /// Resolves a firing alert that no forecast ended: `why` is said first
    /// in its summary, so that the resolution does not read as a wall that
    /// moved away, and is its `resolution` (unless the limit sets one).
    fn resolve_because(&mut self, why: &str, now: UnixSeconds) {
        self.state = AlertState::Resolved;
        self.resolved_at = Some(now);
        if let Some(summary) = self.annotations.get_mut("summary") {
            *summary = format!("{why}; its last forecast: {summary}");
        }
        self.annotations
            .entry(RESOLUTION.to_string())
            .or_insert_with(|| why.to_string());
    }
}

/// The alerts of every limit, keyed by limit then by the alert's label set
/// (its identity in Alertmanager).
#[derive(Debug, Default)]
pub struct AlertTracker {
    by_limit: BTreeMap<String, BTreeMap<Labels, Tracked>>,
    /// Alerts that started firing or resolved since they were last taken.
    transitions: Vec<Transition>,
    /// Alerts taken over from an Alertmanager since they were last taken.
    taken_over: Vec<Transition>,
    /// Alerts taken over that their limit's evaluation did not raise,
    /// dropped since they were last taken.
    dropped: Vec<Transition>,
}

/// What [`AlertTracker::take_over`] made of the alerts an Alertmanager
/// held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TakenOver {
    /// Raised by a configured rule: firing here from their first start,
    /// for their limit's next evaluation to keep, resolve or drop.
    pub raised: usize,
    /// Left alone to expire: no configured rule raises them.
    pub left: usize,
}

/// A firing alert as an Alertmanager holds it (API v2 `gettableAlert`):
/// what a restarted runway takes over.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: UnixSeconds,
    pub ends_at: UnixSeconds,
    /// Its link to the query: which source and query raised it.
    pub generator_url: String,
}

/// An alert that started firing (`Firing`) or resolved (`Resolved`), by
/// its limit and its labels (its identity in Alertmanager).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub limit: String,
    pub labels: Labels,
    pub state: AlertState,
}

impl Transition {
    fn new(limit: &str, labels: &Labels, state: AlertState) -> Self {
        Self {
            limit: limit.to_string(),
            labels: labels.clone(),
            state,
        }
    }
}

/// Retires the alerts among `alerts` (of `limit`) that `gone` picks, at
/// `now`: a firing one resolves, saying `why`, and its transition is
/// recorded; a pending one is dropped; a resolved one stays as it is.
fn retire_alerts(
    alerts: &mut BTreeMap<Labels, Tracked>,
    limit: &str,
    gone: impl Fn(&Labels, &Tracked) -> bool,
    why: &str,
    now: UnixSeconds,
    transitions: &mut Vec<Transition>,
) {
    alerts.retain(|labels, t| {
        if !gone(labels, t) {
            return true;
        }
        if t.origin != Origin::Evaluated {
            return false;
        }
        match t.state {
            AlertState::Pending => false,
            AlertState::Firing => {
                t.resolve_because(why, now);
                transitions.push(Transition::new(limit, labels, AlertState::Resolved));
                true
            }
            AlertState::Resolved => true,
        }
    });
}

/// The alert's identity: runway's labels, the series' labels, the rule's.
pub fn alert_labels(e: &Evaluation, rule: &AlertRule) -> Labels {
    rule_labels(&e.labels, &e.limit, rule)
}

/// The labels `rule` of `limit` gives an alert about `series`.
fn rule_labels(series: &Labels, limit: &str, rule: &AlertRule) -> Labels {
    identity(
        series,
        &rule.labels,
        &[
            ("alertname", &rule.alertname),
            ("limit", limit),
            ("severity", &rule.severity),
        ],
    )
}

/// An alert's labels: the series' `series` labels, then `extra` (a rule's
/// or a limit's own), then `own`, the labels runway sets itself. A series
/// label of the same name as one of `own` is kept as `exported_NAME`, as
/// Prometheus does on a scrape conflict.
pub fn identity(series: &Labels, extra: &Labels, own: &[(&str, &str)]) -> Labels {
    let mut labels = Labels::new();
    for (k, v) in series {
        if own.iter().any(|(name, _)| name == k) {
            labels.insert(format!("exported_{k}"), v.clone());
        } else {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.extend(own.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    labels
}

/// The series an alert of `rule` is about, from the alert's labels: the
/// inverse of [`rule_labels`], but for a series label that a rule label of
/// the same name replaced. (An alert taken over from an Alertmanager is
/// about this series until an evaluation names it.)
fn series_of(labels: &Labels, rule: &AlertRule) -> Labels {
    const OWN: [&str; 3] = ["alertname", "limit", "severity"];
    labels
        .iter()
        .filter(|(k, _)| !OWN.contains(&k.as_str()) && !rule.labels.contains_key(*k))
        .map(|(k, v)| {
            let name = k
                .strip_prefix("exported_")
                .filter(|n| OWN.contains(n))
                .unwrap_or(k);
            (name.to_string(), v.clone())
        })
        .collect()
}

/// The annotations of an alert for `e`.
pub fn alert_annotations(e: &Evaluation, rule: &AlertRule) -> BTreeMap<String, String> {
    let mut a = own_annotations(e, rule);
    for (k, t) in &rule.annotations {
        a.insert(k.clone(), expand(t, e));
    }
    a
}

/// runway's own annotations of an alert for `e`, without the limit's.
fn own_annotations(e: &Evaluation, rule: &AlertRule) -> BTreeMap<String, String> {
    let f = &e.forecast;
    let mut a = BTreeMap::new();
    a.insert("summary".to_string(), summary(e));
    if let Some(eta) = f.eta {
        a.insert("time_to_wall".into(), human_duration(eta.likely));
        a.insert("time_to_wall_seconds".into(), format!("{:.0}", eta.likely));
        a.insert(
            "time_to_wall_range".into(),
            format!(
                "{} to {}",
                human_duration(eta.lower),
                human_duration(eta.upper)
            ),
        );
    }
    if let Some(at) = f.wall_at(e.at).and_then(rfc3339) {
        a.insert("wall_at".into(), at);
    }
    if let Some(at) = f.wall_at_earliest(e.at).and_then(rfc3339) {
        a.insert("wall_at_earliest".into(), at);
    }
    a.insert("wall".into(), format_value(e.wall));
    if let Some(v) = f.current_value {
        a.insert("current_value".into(), format_value(v));
    }
    a.insert("model".into(), f.model.to_string());
    a.insert("lead_time".into(), human_duration(rule.lead));
    // While a limit cannot be evaluated its alerts are re-sent on their
    // last forecast: this says how old that is.
    if let Some(at) = rfc3339(e.at) {
        a.insert("forecast_at".into(), at);
    }
    a
}

/// The annotations of an alert that `e` resolved. The forecast that ended
/// it is in runway's own annotations and in `resolution`, so the person
/// paged earlier reads why it is over. The limit's own annotations keep
/// their last firing text, as Prometheus' resolved alerts do: a template
/// written for a wall that is near ("full in {{ $time_to_wall }}") would
/// read "full in never".
fn resolved_annotations(
    firing: &BTreeMap<String, String>,
    e: &Evaluation,
    rule: &AlertRule,
) -> BTreeMap<String, String> {
    let mut a = own_annotations(e, rule);
    for k in rule.annotations.keys() {
        if let Some(v) = firing.get(k) {
            a.insert(k.clone(), v.clone());
        }
    }
    // A wall still approaching is over for this alert because it is now
    // beyond the lead time (which a reload may have shortened): said so.
    a.entry(RESOLUTION.to_string())
        .or_insert_with(|| match e.forecast.status {
            Status::Approaching => format!(
                "{}: beyond the lead time of {}",
                summary(e),
                human_duration(rule.lead)
            ),
            _ => summary(e),
        });
    a
}

/// The annotation that says why a resolved alert is over.
pub const RESOLUTION: &str = "resolution";

impl AlertTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one limit's fresh evaluations at `now`. `rules` are the
    /// limit's severities. Series of the limit that are no longer returned
    /// resolve their firing alerts and drop their pending ones.
    pub fn update(
        &mut self,
        limit: &str,
        evaluations: &[Evaluation],
        rules: &[AlertRule],
        link: &(impl Link + ?Sized),
        now: UnixSeconds,
    ) {
        self.update_partial(limit, evaluations, rules, link, now, &[]);
    }

    /// [`AlertTracker::update`], where the series in `unforecast` were
    /// returned but could not be forecast (the forecaster failed on them):
    /// their alerts stay as they are, as a failed limit's do, rather than
    /// resolving as if the series had gone away.
    pub fn update_partial(
        &mut self,
        limit: &str,
        evaluations: &[Evaluation],
        rules: &[AlertRule],
        link: &(impl Link + ?Sized),
        now: UnixSeconds,
        unforecast: &[Labels],
    ) {
        let alerts = self.by_limit.entry(limit.to_string()).or_default();
        let transitions = &mut self.transitions;
        let mut moved =
            |labels: &Labels, state| transitions.push(Transition::new(limit, labels, state));
        let mut seen = std::collections::BTreeSet::new();
        for e in evaluations {
            // Built once a series has or raises an alert: most have none.
            let generator_url = std::cell::OnceCell::new();
            let url = || generator_url.get_or_init(|| link.for_series(e));
            for rule in rules {
                let labels = alert_labels(e, rule);
                let fire = e.forecast.within(rule.lead);
                let keep = e
                    .forecast
                    .still_within(rule.resolves_beyond(e.forecast.period));
                seen.insert(labels.clone());
                let mut existing = alerts.get_mut(&labels);
                // A reload may have moved the source or changed the query
                // the link leads to.
                if let Some(t) = existing.as_deref_mut() {
                    if t.generator_url != *url() {
                        t.generator_url.clone_from(url());
                    }
                }
                match existing {
                    Some(t) if t.state == AlertState::Firing => {
                        t.hold = rule.hold;
                        t.keep_firing_for = rule.keep_firing_for;
                        // Taken over from an Alertmanager: its series is
                        // evaluated here, so it is runway's to resolve (a
                        // foreign one counts as taken over only now).
                        if t.origin != Origin::Evaluated {
                            if t.origin == Origin::Foreign {
                                self.taken_over.push(Transition::new(
                                    limit,
                                    &labels,
                                    AlertState::Firing,
                                ));
                            }
                            t.origin = Origin::Evaluated;
                            t.series = e.labels.clone();
                        }
                        let cleared = (!keep).then(|| *t.cleared_at.get_or_insert(now));
                        match cleared {
                            Some(since) if now - since >= rule.keep_firing_for => {
                                t.annotations = resolved_annotations(&t.annotations, e, rule);
                                t.state = AlertState::Resolved;
                                t.resolved_at = Some(now);
                                moved(&labels, AlertState::Resolved);
                            }
                            // Clear, but not for long enough: it keeps
                            // firing on its last text.
                            Some(_) => {}
                            None => {
                                t.cleared_at = None;
                                t.annotations = alert_annotations(e, rule);
                            }
                        }
                    }
                    Some(t) if t.state == AlertState::Pending => {
                        if !fire {
                            alerts.remove(&labels);
                        } else {
                            t.annotations = alert_annotations(e, rule);
                            if now - t.active_at >= rule.hold {
                                t.state = AlertState::Firing;
                                moved(&labels, AlertState::Firing);
                            }
                        }
                    }
                    _ => {
                        // New, or resolved earlier: a fresh alert starts pending.
                        if fire {
                            let state = if rule.hold <= 0.0 {
                                moved(&labels, AlertState::Firing);
                                AlertState::Firing
                            } else {
                                AlertState::Pending
                            };
                            alerts.insert(
                                labels,
                                Tracked::new(
                                    state,
                                    alert_annotations(e, rule),
                                    url(),
                                    now,
                                    e.labels.clone(),
                                    rule,
                                ),
                            );
                        }
                    }
                }
            }
        }
        let dropped = &mut self.dropped;
        alerts.retain(|labels, t| {
            if seen.contains(labels) || unforecast.contains(&t.series) {
                return true;
            }
            if t.origin != Origin::Evaluated {
                dropped.push(Transition::new(limit, labels, t.state));
                return false;
            }
            match t.state {
                AlertState::Pending => false,
                // Gone, but not for `keep_firing_for` yet (as Prometheus
                // applies it to a series that is no longer returned).
                AlertState::Firing
                    if now - *t.cleared_at.get_or_insert(now) < t.keep_firing_for =>
                {
                    true
                }
                // No forecast ended it, the series went away.
                AlertState::Firing => {
                    t.resolve_because(VANISHED, now);
                    moved(labels, AlertState::Resolved);
                    true
                }
                AlertState::Resolved => true,
            }
        });
        alerts.retain(|_, t| {
            t.resolved_at.is_none_or(|at| {
                t.state != AlertState::Resolved || now - at < RESOLVED_RETENTION_SECONDS
            })
        });
    }

    /// Retires the alerts of limits that are no longer `configured`, at
    /// `now`: a firing one resolves, saying why ([`REMOVED`]), a pending
    /// one is dropped, and a resolved one stays for as long as any other
    /// resolved alert does. Called at a reload and at every evaluation.
    pub fn retire(&mut self, configured: impl Fn(&str) -> bool, now: UnixSeconds) {
        for (limit, alerts) in self.by_limit.iter_mut().filter(|(l, _)| !configured(l)) {
            retire_alerts(
                alerts,
                limit,
                |_, _| true,
                REMOVED,
                now,
                &mut self.transitions,
            );
            alerts.retain(|_, t| {
                t.resolved_at
                    .is_some_and(|at| now - at < RESOLVED_RETENTION_SECONDS)
            });
        }
        self.by_limit
            .retain(|l, alerts| configured(l) || !alerts.is_empty());
    }

    /// Resolves, at `now`, the alerts of `limit` that none of its `rules`
    /// raises any more, because a reload changed its alert name, its
    /// labels or its severities ([`RULE_CHANGED`]); pending ones are
    /// dropped. The rules' new alerts start pending, as Prometheus treats
    /// an alert whose rule's labels changed as a new one.
    pub fn retire_rules(&mut self, limit: &str, rules: &[AlertRule], now: UnixSeconds) {
        let Some(alerts) = self.by_limit.get_mut(limit) else {
            return;
        };
        let raised = |labels: &Labels, t: &Tracked| {
            rules
                .iter()
                .any(|r| rule_labels(&t.series, limit, r) == *labels)
        };
        retire_alerts(
            alerts,
            limit,
            |labels, t| !raised(labels, t),
            RULE_CHANGED,
            now,
            &mut self.transitions,
        );
    }

    /// Takes over, at `now`, the firing alerts `active` that an
    /// Alertmanager holds (read from it when runway starts). An alert that
    /// one of its limit's `rules` raises (its alert name, severity and
    /// labels) fires here from its `startsAt`, with no hold: one not held
    /// here yet, one still pending, or one that fired here later (its first
    /// start is Alertmanager's). It is re-sent as it was until its limit is
    /// evaluated, even while the source is down; the evaluation then keeps
    /// it firing, with the resolve margin's hysteresis, or resolves it,
    /// saying why, as if runway had not stopped. One the evaluation does
    /// not raise is dropped, not resolved: it may be another runway's, on
    /// series this one does not see. (Prometheus restores its alerts' state
    /// from `ALERTS_FOR_STATE` in the same spirit.) Alerts that no rule
    /// raises (a notice, another tool's) are left alone to expire. `rules`
    /// gives a limit's rules and the link its alerts carry.
    pub fn take_over<'r>(
        &mut self,
        active: Vec<Active>,
        rules: impl Fn(&str) -> Option<(&'r [AlertRule], &'r str)>,
        now: UnixSeconds,
    ) -> TakenOver {
        // The same alert from several Alertmanagers: its earliest start.
        let mut earliest: BTreeMap<Labels, Active> = BTreeMap::new();
        for a in active.into_iter().filter(|a| a.ends_at > now) {
            match earliest.get(&a.labels) {
                Some(seen) if seen.starts_at <= a.starts_at => {}
                _ => {
                    earliest.insert(a.labels.clone(), a);
                }
            }
        }
        let mut out = TakenOver::default();
        for (labels, a) in earliest {
            let raised = labels.get("limit").and_then(|limit| {
                let (rules, url) = rules(limit)?;
                let rule = rules.iter().find(|r| {
                    labels.get("alertname") == Some(&r.alertname)
                        && labels.get("severity") == Some(&r.severity)
                        && r.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
                })?;
                Some((limit.clone(), rule, url))
            });
            let Some((limit, rule, url)) = raised else {
                out.left += 1;
                continue;
            };
            out.raised += 1;
            let alerts = self.by_limit.entry(limit.clone()).or_default();
            let taken = match alerts.get_mut(&labels) {
                // A foreign one counts as taken over once an evaluation
                // here raises it.
                None => {
                    let mut t = Tracked::new(
                        AlertState::Firing,
                        a.annotations,
                        url,
                        a.starts_at,
                        series_of(&labels, rule),
                        rule,
                    );
                    let foreign = !same_link(&a.generator_url, url);
                    t.origin = if foreign {
                        Origin::Foreign
                    } else {
                        Origin::TakenOver
                    };
                    alerts.insert(labels.clone(), t);
                    !foreign
                }
                Some(t) if t.state == AlertState::Pending => {
                    t.state = AlertState::Firing;
                    t.active_at = t.active_at.min(a.starts_at);
                    true
                }
                Some(t) if t.state == AlertState::Firing && a.starts_at < t.active_at => {
                    t.active_at = a.starts_at;
                    true
                }
                // Firing here since then, or resolved here since.
                Some(_) => false,
            };
            if taken {
                self.taken_over
                    .push(Transition::new(&limit, &labels, AlertState::Firing));
            }
        }
        out
    }

    /// The alerts taken over from an Alertmanager since the last call.
    pub fn take_taken_over(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.taken_over)
    }

    /// The alerts taken over that their limit's evaluation did not raise,
    /// dropped since the last call.
    pub fn take_dropped(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.dropped)
    }

    /// The alerts that started firing or resolved since the last call,
    /// each once, in the order they did.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.transitions)
    }

    /// The alerts to send at `now`, marking them sent (Prometheus'
    /// `needsSending`).
    pub fn due(&mut self, cadence: Cadence, now: UnixSeconds) -> Vec<Alert> {
        let mut out = Vec::new();
        for alerts in self.by_limit.values_mut() {
            for (labels, t) in alerts
                .iter_mut()
                .filter(|(_, t)| t.origin != Origin::Foreign)
            {
                let send = match t.state {
                    AlertState::Pending => false,
                    AlertState::Resolved if t.resolved_at > t.last_sent_at => true,
                    _ => {
                        t.last_sent_at
                            .is_none_or(|sent| sent + cadence.resend_delay <= now)
                            // What Alertmanager holds must outlast three
                            // missed sends at the cadence running now, as
                            // every send's `endsAt` does: a reload that
                            // lengthened the interval, the resend delay or
                            // the hold would otherwise let the alert expire
                            // (a "resolved" notification, then a new page)
                            // before its next regular send.
                            || (t.state == AlertState::Firing
                                && t.sent_until.is_some_and(|until| {
                                    until - now < cadence.valid_for(t.hold) - cadence.step()
                                }))
                    }
                };
                if !send {
                    continue;
                }
                t.last_sent_at = Some(now);
                let ends_at = match (t.state, t.resolved_at) {
                    (AlertState::Resolved, Some(at)) => at,
                    _ => now + cadence.valid_for(t.hold),
                };
                t.sent_until = Some(ends_at);
                out.push(Alert {
                    state: t.state,
                    labels: labels.clone(),
                    annotations: t.annotations.clone(),
                    starts_at: t.active_at,
                    ends_at,
                    generator_url: t.generator_url.clone(),
                });
            }
        }
        out
    }

    /// Every alert runway holds, by the series it is about, for the API.
    pub fn held(&self) -> Vec<Held> {
        self.by_limit
            .iter()
            .flat_map(|(limit, m)| {
                m.iter()
                    .filter(|(_, t)| t.origin != Origin::Foreign)
                    .map(|(labels, t)| Held {
                        limit: limit.clone(),
                        series: t.series.clone(),
                        // runway's own labels win in an alert's identity.
                        severity: labels.get("severity").cloned().unwrap_or_default(),
                        state: t.state,
                        // Only a resolved alert has a resolve time.
                        since: t.resolved_at.unwrap_or(t.active_at),
                    })
            })
            .collect()
    }

    /// How many alerts are in `state`.
    pub fn count(&self, state: AlertState) -> usize {
        self.by_limit
            .values()
            .flat_map(|m| m.values())
            .filter(|t| t.state == state && t.origin != Origin::Foreign)
            .count()
    }
}

#[cfg(test)]
mod tests;
