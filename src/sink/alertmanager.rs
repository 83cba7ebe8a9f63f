//! Alertmanager API v2 (`POST /api/v2/alerts`), sent the way Prometheus'
//! notifier sends: batches of at most 256 alerts, to every configured
//! Alertmanager, no retries (a failed send is counted, and the next resend
//! carries the alert again, which is why `endsAt` lies four intervals, and
//! the hold, ahead). At start, `GET /api/v2/alerts` reads back the alerts
//! each one holds, for runway to take over.

use std::time::{Duration, UNIX_EPOCH};

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use super::{AlertSink, Delivery, SinkError};
use crate::evaluate::{Active, Alert};
use crate::model::Labels;

/// Prometheus' notifier batch size.
pub const MAX_BATCH: usize = 256;

pub struct AlertmanagerSink {
    client: reqwest::Client,
    /// (base URL to post to, the same without credentials: its name in
    /// metrics, logs and errors).
    targets: Vec<(String, String)>,
}

/// RFC 3339 to the millisecond, rounded: a time read back from
/// Alertmanager (`startsAt`, taken over at a restart) is written again as
/// it was, not a millisecond earlier.
fn time(t: f64) -> String {
    let ms = (t.clamp(0.0, 253_402_300_799.0) * 1000.0).round() as u64;
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// The JSON body Alertmanager receives for `alerts`.
pub fn payload(alerts: &[Alert]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|a| {
                json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": time(a.starts_at),
                    "endsAt": time(a.ends_at),
                    "generatorURL": a.generator_url,
                })
            })
            .collect(),
    )
}

impl AlertmanagerSink {
    /// `targets` are base URLs such as `http://127.0.0.1:9093`.
    pub fn new(targets: &[String], timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("runway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            targets: targets
                .iter()
                .map(|t| (t.trim_end_matches('/').to_string(), target_name(t)))
                .collect(),
        })
    }
}

/// How an Alertmanager's URL is named in labels and logs: without its
/// credentials or a trailing slash.
fn target_name(url: &str) -> String {
    crate::config::without_credentials(url.trim_end_matches('/'))
}

/// How much of a refusal's body is read, and how many characters of it
/// are quoted in the error.
const QUOTED_BODY: usize = 4096;
const QUOTED_CHARS: usize = 300;

/// A request to `url` (named without credentials) that got no answer;
/// reqwest's own message leaves the URL out.
fn transport(method: &'static str, url: &str, e: reqwest::Error) -> SinkError {
    SinkError::Transport {
        method,
        url: url.to_string(),
        message: crate::source::prometheus::error_chain(&e.without_url()),
    }
}

/// A refusal with HTTP `status`, quoting the start of its `body`.
fn refused(
    method: &'static str,
    url: String,
    status: reqwest::StatusCode,
    body: &[u8],
) -> SinkError {
    SinkError::Refused {
        method,
        url,
        status: status.as_u16(),
        body: String::from_utf8_lossy(body)
            .chars()
            .take(QUOTED_CHARS)
            .collect(),
    }
}

/// Posts `body` to `url`; errors name the target by `name` (no
/// credentials), and leave out the URL reqwest would add.
async fn post(
    client: reqwest::Client,
    url: String,
    name: String,
    body: Vec<u8>,
) -> Result<(), SinkError> {
    let url_name = format!("{name}/api/v2/alerts");
    let mut resp = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| transport("POST", &url_name, e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    // Only its start is quoted; an endless one is not read to its end.
    let body = crate::source::prometheus::body_start(&mut resp, QUOTED_BODY)
        .await
        .unwrap_or_default();
    Err(refused("POST", url_name, status, &body))
}

/// The most of an answer to `GET /api/v2/alerts` that is read: some
/// 40,000 alerts of runway's size.
pub const MAX_ACTIVE_BYTES: usize = 64 << 20;

/// The matcher that picks the alerts runway may have sent: they all carry
/// a `limit` label.
const RUNWAYS: &str = "limit=~\".+\"";

/// What `GET /api/v2/alerts` answers of each alert (`gettableAlert`), as
/// far as runway reads it.
#[derive(Deserialize)]
struct Gettable {
    labels: Labels,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL", default)]
    generator_url: String,
}

/// Unix seconds of an RFC 3339 time as Alertmanager writes it (`Z`, or an
/// offset such as `+01:00`), fractions of a second kept.
pub fn parse_time(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .len()
        .checked_sub(6)
        .and_then(|i| Some((text.get(..i)?, text.get(i..)?)));
    let (local, offset) = match split {
        Some((local, tz))
            if (tz.starts_with('+') || tz.starts_with('-')) && tz.get(3..4) == Some(":") =>
        {
            let sign = if tz.starts_with('-') { -1.0 } else { 1.0 };
            let hours: f64 = tz.get(1..3)?.parse().ok()?;
            let minutes: f64 = tz.get(4..6)?.parse().ok()?;
            (local, sign * (hours * 3600.0 + minutes * 60.0))
        }
        _ => (text.strip_suffix(['Z', 'z']).unwrap_or(text), 0.0),
    };
    let at = humantime::parse_rfc3339_weak(local).ok()?;
    let secs = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    };
    Some(secs - offset)
}

/// The alerts of runway's that the Alertmanager at `url` holds active.
async fn active_at(
    client: reqwest::Client,
    url: String,
    name: String,
) -> Result<Vec<Active>, SinkError> {
    let url_name = format!("{name}/api/v2/alerts");
    let mut resp = client
        .get(&url)
        .query(&[("filter", RUNWAYS)])
        .send()
        .await
        .map_err(|e| transport("GET", &url_name, e))?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_string();
    let body = crate::source::prometheus::body_start(
        &mut resp,
        if status.is_success() {
            MAX_ACTIVE_BYTES + 1
        } else {
            QUOTED_BODY
        },
    )
    .await
    .map_err(|e| transport("GET", &url_name, e))?;
    if !status.is_success() {
        return Err(refused("GET", url_name, status, &body));
    }
    let invalid = |message: String| SinkError::Invalid {
        url: url_name.clone(),
        message,
    };
    if body.len() > MAX_ACTIVE_BYTES {
        return Err(invalid(format!(
            "the answer is larger than {MAX_ACTIVE_BYTES} bytes"
        )));
    }
    // A login page or a proxy's error page is named by what it is.
    let alerts: Vec<Gettable> = serde_json::from_slice(&body).map_err(|e| {
        let start: String = String::from_utf8_lossy(&body).chars().take(80).collect();
        invalid(format!(
            "not a list of alerts ({content_type}): {e}; the answer begins {start:?}"
        ))
    })?;
    alerts
        .into_iter()
        .map(|a| {
            let time = |field: &str, text: &str| {
                parse_time(text)
                    .ok_or_else(|| invalid(format!("{field} {text:?} is not an RFC 3339 time")))
            };
            Ok(Active {
                starts_at: time("startsAt", &a.starts_at)?,
                ends_at: time("endsAt", &a.ends_at)?,
                labels: a.labels,
                annotations: a.annotations,
                generator_url: a.generator_url,
            })
        })
        .collect()
}

impl AlertSink for AlertmanagerSink {
    async fn active(&self) -> Vec<(String, Result<Vec<Active>, SinkError>)> {
        let reads = self.targets.iter().map(|(target, name)| async move {
            let url = format!("{target}/api/v2/alerts");
            let result = active_at(self.client.clone(), url, name.clone()).await;
            (name.clone(), result)
        });
        futures_util::future::join_all(reads).await
    }

    fn targets(&self) -> Vec<String> {
        self.targets.iter().map(|(_, name)| name.clone()).collect()
    }

    async fn send(&self, alerts: &[Alert]) -> Vec<Delivery> {
        if alerts.is_empty() {
            return Vec::new();
        }
        let batches: Vec<(usize, Vec<u8>)> = alerts
            .chunks(MAX_BATCH)
            .map(|c| (c.len(), payload(c).to_string().into_bytes()))
            .collect();
        let mut set = JoinSet::new();
        for (i, (target, name)) in self.targets.iter().enumerate() {
            for (n, body) in &batches {
                let (client, url, name, body, n) = (
                    self.client.clone(),
                    format!("{target}/api/v2/alerts"),
                    name.clone(),
                    body.clone(),
                    *n,
                );
                set.spawn(async move { (i, n, post(client, url, name, body).await) });
            }
        }
        let mut out: Vec<Delivery> = self
            .targets
            .iter()
            .map(|(_, name)| Delivery {
                target: name.clone(),
                sent: 0,
                failed: 0,
                error: None,
            })
            .collect();
        while let Some(joined) = set.join_next().await {
            // A panicked send task is a bug, not a delivery result; the
            // alerts it carried are re-sent at the next resend anyway.
            let Ok((i, n, result)) = joined else { continue };
            match result {
                Ok(()) => out[i].sent += n,
                Err(e) => {
                    out[i].failed += n;
                    out[i].error = Some(e);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_any_offset_and_written_back_as_they_were() {
        // 2026-11-30T06:00:00Z is 1796018400 (`date -u -d @1796018400`).
        let t = 1_796_018_400.0;
        assert_eq!(parse_time("2026-11-30T06:00:00Z"), Some(t));
        assert_eq!(parse_time("2026-11-30T06:00:00.5Z"), Some(t + 0.5));
        assert_eq!(parse_time("2026-11-30T07:30:00+01:30"), Some(t));
        assert_eq!(parse_time("2026-11-30T01:00:00-05:00"), Some(t));
        assert_eq!(
            parse_time("2026-11-30T06:00:00.123456789Z"),
            Some(t + 0.123456789)
        );
        for bad in [
            "",
            "yesterday",
            "2026-11-30",
            "2026-11-30T06:00:00+1:00",
            "2026-11-30T06:00:00é1:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
        // A millisecond time that f64 cannot hold exactly is not written
        // back a millisecond early.
        let read = parse_time("2026-11-30T06:43:09.247Z").unwrap();
        assert_eq!(time(read), "2026-11-30T06:43:09.247Z");
    }
}
