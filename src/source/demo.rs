//! The embedded demo: a source that answers a few fixed queries with
//! histories generated in code, so that `runway demo` shows the whole engine
//! working with nothing installed. The histories are functions of absolute
//! time anchored at the moment the demo starts, so they move on as it runs.

use super::{SeriesSource, SourceError};
use crate::model::{Labels, Sample, Series, UnixSeconds};

const DAY: f64 = 86_400.0;

/// The demo's configuration: four limits over the demo's own metrics.
pub const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:9464"

[source]
url = "http://demo.invalid"

[evaluation]
interval = "10s"
lookback = "7d"
hold = "0s"

[[limits]]
name = "disk_full"
query = "demo_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = { critical = "1d", warning = "7d" }
annotations = { runbook = "https://runbooks.example/disk-full?instance={{ $labels.instance }}" }

[[limits]]
name = "ingest_queue_depth"
query = "demo_queue_depth"
wall = 10000
direction = "rising"
lead_time = "7d"

[[limits]]
name = "orders_pool_exhausted"
query = "demo_pool_connections_in_use"
wall_query = "demo_pool_max_connections"
direction = "rising"
lead_time = "3d"

[[limits]]
name = "checkout_latency_slo"
query = "demo_checkout_latency_p99_seconds"
driver = "demo_http_requests_per_second"
wall = 0.5
direction = "rising"
lead_time = { critical = "1d", warning = "7d" }
"#;

/// Answers the demo's queries.
#[derive(Debug, Clone)]
pub struct DemoSource {
    /// When the demo started; the histories are laid out around it.
    origin: UnixSeconds,
}

/// Small deterministic noise in [-1, 1] from a time and a seed.
fn jitter(t: f64, seed: u64) -> f64 {
    let mut x = (t as i64 as u64) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % 2001) as f64 / 1000.0 - 1.0
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Requests a second: 100 on average at the demo's start, growing 2% a
/// day, ±60% over the day, peaking at about 160.
fn demo_rps(origin: UnixSeconds, t: f64) -> f64 {
    let days = (t - origin) / DAY;
    let daily = (std::f64::consts::TAU * (t / DAY - 0.6)).sin();
    100.0 * 1.02f64.powf(days) * (1.0 + 0.6 * daily) * (1.0 + 0.03 * jitter(t, 5))
}

type Curve = Box<dyn Fn(f64) -> f64 + Send + Sync>;

impl DemoSource {
    pub fn new(origin: UnixSeconds) -> Self {
        Self { origin }
    }

    /// (labels, value at time t) for each series of a metric.
    fn curves(&self, metric: &str) -> Option<Vec<(Labels, Curve)>> {
        let o = self.origin;
        let out: Vec<(Labels, Curve)> = match metric {
            // A database volume of 500 GB with 60 GB left, losing 20 GB a day
            // in bursts: empty about three days after the demo starts.
            "demo_filesystem_avail_bytes" => vec![
                (
                    labels(&[("instance", "db-1"), ("mountpoint", "/var/lib/postgresql")]),
                    Box::new(move |t| {
                        let used = 20e9 * (t - o) / DAY + 3e8 * jitter(t, 1);
                        (60e9 - used).max(0.0)
                    }),
                ),
                // A root volume that barely moves: months away, no alert.
                (
                    labels(&[("instance", "web-1"), ("mountpoint", "/")]),
                    Box::new(move |t| 40e9 - 0.2e9 * (t - o) / DAY + 5e7 * jitter(t, 2)),
                ),
            ],
            // A queue whose depth follows the working day and grows by 250
            // a day: its trend reaches 10,000 in about 16 days, its daily
            // peaks sooner.
            "demo_queue_depth" => vec![(
                labels(&[("queue", "ingest")]),
                Box::new(move |t| {
                    let days = (t - o) / DAY;
                    let daily = (std::f64::consts::TAU * (t / DAY - 0.6)).sin();
                    let base = 6000.0 + 250.0 * days;
                    base + 1200.0 * daily + 150.0 * jitter(t, 3)
                }),
            )],
            // A connection pool that is busy but flat, and one that is
            // nearly idle: it breaks only beyond ten times today's load.
            "demo_pool_connections_in_use" => vec![
                (
                    labels(&[("pool", "orders")]),
                    Box::new(|t| 42.0 + 6.0 * jitter(t, 4)),
                ),
                (
                    labels(&[("pool", "payments")]),
                    Box::new(|t| 5.0 + jitter(t, 7)),
                ),
            ],
            "demo_pool_max_connections" => vec![
                (labels(&[("pool", "orders")]), Box::new(|_| 100.0)),
                (labels(&[("pool", "payments")]), Box::new(|_| 100.0)),
            ],
            // Traffic with a working-day cycle, growing 2% a day.
            "demo_http_requests_per_second" => vec![(
                labels(&[("service", "checkout")]),
                Box::new(move |t| demo_rps(o, t)),
            )],
            // Latency that grows with the square of traffic (queueing):
            // 0.2 s at today's peak of about 160 requests a second, so the
            // 0.5 s objective breaks at about 1.6x today's peak load.
            "demo_checkout_latency_p99_seconds" => vec![(
                labels(&[("service", "checkout")]),
                Box::new(move |t| {
                    let rps = demo_rps(o, t);
                    0.2 * (rps / 160.0).powi(2) * (1.0 + 0.02 * jitter(t, 6))
                }),
            )],
            _ => return None,
        };
        Some(out)
    }

    fn unknown(query: &str) -> SourceError {
        SourceError::Rejected {
            query: query.to_string(),
            message: "the demo source answers only demo_filesystem_avail_bytes, demo_queue_depth, \
                      demo_pool_connections_in_use, demo_pool_max_connections, \
                      demo_http_requests_per_second and demo_checkout_latency_p99_seconds"
                .to_string(),
        }
    }
}

impl SeriesSource for DemoSource {
    async fn query_range(
        &self,
        query: &str,
        start: UnixSeconds,
        end: UnixSeconds,
        step: f64,
    ) -> Result<Vec<Series>, SourceError> {
        let curves = self
            .curves(query.trim())
            .ok_or_else(|| Self::unknown(query))?;
        let n = ((end - start) / step).floor().max(0.0) as usize + 1;
        Ok(curves
            .into_iter()
            .map(|(l, f)| {
                let samples = (0..n)
                    .map(|i| {
                        let t = start + step * i as f64;
                        Sample::new(t, f(t))
                    })
                    .collect();
                Series::new(l, samples)
            })
            .collect())
    }

    async fn query_instant(
        &self,
        query: &str,
        at: UnixSeconds,
    ) -> Result<Vec<(Labels, f64)>, SourceError> {
        let curves = self
            .curves(query.trim())
            .ok_or_else(|| Self::unknown(query))?;
        Ok(curves.into_iter().map(|(l, f)| (l, f(at))).collect())
    }
}
