//! A sink that writes alerts to the log instead of sending them: the demo's
//! sink, and what `runway run` uses when no Alertmanager is configured.

use super::{AlertSink, Delivery, SinkError};
use crate::evaluate::{Active, Alert};

#[derive(Debug, Default)]
pub struct LogSink;

/// The log's name as a target.
const LOG: &str = "log";

impl AlertSink for LogSink {
    async fn send(&self, alerts: &[Alert]) -> Vec<Delivery> {
        for a in alerts {
            tracing::info!(
                state = a.state.as_str(),
                alert = %crate::evaluate::label_string(&a.labels),
                summary = a.annotations.get("summary").map(String::as_str).unwrap_or(""),
                ends_at = a.ends_at,
                "alert (not sent: log sink)"
            );
        }
        vec![Delivery {
            target: LOG.to_string(),
            sent: alerts.len(),
            failed: 0,
            error: None,
        }]
    }

    /// A log holds nothing to take over.
    async fn active(&self) -> Vec<(String, Result<Vec<Active>, SinkError>)> {
        vec![(LOG.to_string(), Ok(Vec::new()))]
    }

    fn targets(&self) -> Vec<String> {
        vec![LOG.to_string()]
    }
}
