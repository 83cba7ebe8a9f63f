//! The vocabulary shared by every layer: samples, series, label sets, and the
//! direction in which a limit is approached.
//!
//! Time in runway is one type throughout: `f64` seconds since the Unix epoch,
//! as Prometheus' HTTP API returns it. Nothing here reads a clock.

use std::collections::BTreeMap;
use std::fmt;

/// A label set. Ordered so that identities, exports and payloads are stable.
pub type Labels = BTreeMap<String, String>;

/// Seconds since the Unix epoch (fractions allowed), as Prometheus uses them.
pub type UnixSeconds = f64;

/// One observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: UnixSeconds,
    pub v: f64,
}

impl Sample {
    pub fn new(t: UnixSeconds, v: f64) -> Self {
        Self { t, v }
    }
}

/// One time series: its identity (labels, without `__name__`) and its samples
/// in ascending time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

impl Series {
    /// Puts `samples` in time order: Prometheus answers so, and runway
    /// relies on it (a series' newest sample says whether it still
    /// reports); an engine or a file that does not is sorted here.
    pub fn new(labels: Labels, mut samples: Vec<Sample>) -> Self {
        in_time_order(&mut samples);
        Self { labels, samples }
    }
}

/// Sorts `samples` by time (stably, and only when they are not in order
/// already, the common case).
pub fn in_time_order(samples: &mut [Sample]) {
    if !samples.is_sorted_by(|a, b| a.t <= b.t) {
        samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    }
}

/// Which way a metric travels to reach its wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The wall is above: usage, latency, queue depth.
    Rising,
    /// The wall is below: free bytes, free connections.
    Falling,
}

impl Direction {
    /// +1 when rising, -1 when falling: multiplying a slope or a gap by this
    /// turns "towards the wall" into "positive".
    pub fn sign(self) -> f64 {
        match self {
            Direction::Rising => 1.0,
            Direction::Falling => -1.0,
        }
    }

    /// The distance still to travel from `value` to `wall`; zero or negative
    /// once the wall has been reached.
    pub fn gap(self, value: f64, wall: f64) -> f64 {
        (wall - value) * self.sign()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Rising => "rising",
            Direction::Falling => "falling",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rising" => Some(Direction::Rising),
            "falling" => Some(Direction::Falling),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
