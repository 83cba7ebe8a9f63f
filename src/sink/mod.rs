//! Where alerts go. The engine hands due alerts to an [`AlertSink`] and
//! counts what each target reports back; adapters only deliver.

pub mod alertmanager;
pub mod log;

use std::future::Future;

use crate::evaluate::{Active, Alert};

/// Something that delivers alerts: every configured Alertmanager, or a log.
pub trait AlertSink: Send + Sync {
    /// Delivers `alerts` to every target, reporting one result per target.
    fn send(&self, alerts: &[Alert]) -> impl Future<Output = Vec<Delivery>> + Send;

    /// The alerts each target holds active, that runway may have sent
    /// (they carry a `limit` label), for a restarted runway to take over:
    /// one result per target, named as [`Delivery::target`] names it.
    fn active(&self) -> impl Future<Output = Vec<(String, Result<Vec<Active>, SinkError>)>> + Send;

    /// The targets, named as [`Delivery::target`] names them (the
    /// `alertmanager` label of the delivery counters).
    fn targets(&self) -> Vec<String>;
}

/// What happened at one target.
#[derive(Debug)]
pub struct Delivery {
    /// The target's URL (the `alertmanager` label of the counters).
    pub target: String,
    /// Alerts accepted.
    pub sent: usize,
    /// Alerts that could not be delivered, and why (the last error).
    pub failed: usize,
    pub error: Option<SinkError>,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{method} {url}: {message}")]
    Transport {
        method: &'static str,
        url: String,
        message: String,
    },
    #[error("{method} {url}: HTTP {status}: {body}")]
    Refused {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    /// An answer that is not the API's (`GET` only).
    #[error("GET {url}: {message}")]
    Invalid { url: String, message: String },
}

/// The sink chosen at start-up: Alertmanagers when configured, else the log.
pub enum AnySink {
    Alertmanager(alertmanager::AlertmanagerSink),
    Log(log::LogSink),
}

impl AlertSink for AnySink {
    async fn send(&self, alerts: &[Alert]) -> Vec<Delivery> {
        match self {
            AnySink::Alertmanager(s) => s.send(alerts).await,
            AnySink::Log(s) => s.send(alerts).await,
        }
    }

    async fn active(&self) -> Vec<(String, Result<Vec<Active>, SinkError>)> {
        match self {
            AnySink::Alertmanager(s) => s.active().await,
            AnySink::Log(s) => s.active().await,
        }
    }

    fn targets(&self) -> Vec<String> {
        match self {
            AnySink::Alertmanager(s) => s.targets(),
            AnySink::Log(s) => s.targets(),
        }
    }
}
