//! Alertmanager API v2 (`POST /api/v2/alerts`), sent the way Prometheus'
//! notifier sends: batches of at most 256 alerts, to every configured
//! Alertmanager, no retries (a failed send is counted, and the next resend
//! carries the alert again, which is why `endsAt` lies four intervals, and
//! the hold, ahead).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::task::JoinSet;

use super::{AlertSink, Delivery, SinkError};
use crate::evaluate::Alert;

/// Prometheus' notifier batch size.
pub const MAX_BATCH: usize = 256;

pub struct AlertmanagerSink {
    client: reqwest::Client,
    /// (base URL to post to, the same without credentials: its name in
    /// metrics, logs and errors).
    targets: Vec<(String, String)>,
}

fn time(t: f64) -> String {
    let t = t.clamp(0.0, 253_402_300_799.0);
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_secs_f64(t)).to_string()
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
        .map_err(|e| SinkError::Transport {
            url: url_name.clone(),
            message: crate::source::prometheus::error_chain(&e.without_url()),
        })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    // Only its start is quoted; an endless one is not read to its end.
    let body = crate::source::prometheus::body_start(&mut resp, QUOTED_BODY)
        .await
        .unwrap_or_default();
    Err(SinkError::Refused {
        url: url_name,
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body)
            .chars()
            .take(QUOTED_CHARS)
            .collect(),
    })
}

impl AlertSink for AlertmanagerSink {
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
