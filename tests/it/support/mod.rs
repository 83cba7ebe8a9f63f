//! Test harness: real Prometheus, Alertmanager, a webhook receiver standing in
//! for the human being paged, and the `runway` binary, each on its own free
//! loopback port in its own temporary directory, stopped on drop.
//!
//! Every start function is `async` (it polls readiness over HTTP) and panics
//! with a clear message and the tail of the component's log if the component
//! does not come up.
//!
//! The Prometheus, Alertmanager and VictoriaMetrics binaries are Debian's
//! (`/usr/bin/...`); `scripts/test` installs them on a fresh machine.

// Not every test uses every helper.
#![allow(dead_code, unused_imports)]

mod alertmanager;
mod command;
mod history;
mod openmetrics;
mod process;
mod prometheus;
mod runway;
mod tls;
mod victoria;
mod webhook;

pub use alertmanager::Alertmanager;
pub use command::{csv, path_str, runway, Run};
pub use history::{assert_near_truth, noise, noisy, towards, unix, TOLERANCE};
pub use openmetrics::OpenMetrics;
pub(crate) use process::Proc;
pub use prometheus::{parse_value, Prometheus, PrometheusOptions};
pub use runway::Runway;
pub use tls::TestCa;
pub use victoria::VictoriaMetrics;
pub use webhook::{all_alerts, WebhookReceiver};

use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

/// A port that was free on 127.0.0.1 a moment ago (bound to port 0, read,
/// released). Another process may take it before it is used: the start
/// functions retry on "address already in use".
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A fresh temporary directory named `runway-it-{component}-...`. Set
/// `RUNWAY_IT_KEEP=1` to keep the directories (configs, logs, data) after the
/// tests for a look.
pub(crate) fn temp_dir(component: &str) -> tempfile::TempDir {
    let keep = std::env::var_os("RUNWAY_IT_KEEP").is_some_and(|v| !v.is_empty() && v != "0");
    let mut dir = tempfile::Builder::new()
        .prefix(&format!("runway-it-{component}-"))
        .tempdir()
        .expect("create temporary directory");
    if keep {
        dir.disable_cleanup(true);
        eprintln!("RUNWAY_IT_KEEP: keeping {}", dir.path().display());
    }
    dir
}

/// Wall-clock now in unix seconds, with millisecond precision (what
/// Prometheus stores).
pub fn now_secs() -> f64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_millis();
    ms as f64 / 1000.0
}

/// Formats unix seconds as RFC 3339 UTC with milliseconds
/// (`2024-01-02T03:04:05.678Z`), as Alertmanager's API wants for `startsAt`
/// and `endsAt`.
pub fn rfc3339(unix_secs: f64) -> String {
    let total_ms = (unix_secs * 1000.0).round() as i64;
    let ms = total_ms.rem_euclid(1000);
    let secs = total_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_709_251_199.999), "2024-02-29T23:59:59.999Z");
    }
}
