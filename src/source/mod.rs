//! Where series come from. The engine asks a [`SeriesSource`] for the history
//! of a query and for instant values (per-series walls); adapters answer. The
//! engine, not the adapter, retries and counts: one policy, one set of
//! counters, whatever the adapter.

pub mod demo;
pub mod prometheus;
mod split;

use std::future::Future;

use crate::model::{Labels, Series, UnixSeconds};

/// A Prometheus-compatible query API, or anything that can pretend to be one.
pub trait SeriesSource: Send + Sync {
    /// Every series `query` returns over `[start, end]` at `step` seconds.
    fn query_range(
        &self,
        query: &str,
        start: UnixSeconds,
        end: UnixSeconds,
        step: f64,
    ) -> impl Future<Output = Result<Vec<Series>, SourceError>> + Send;

    /// The value of every series `query` returns at `at`.
    fn query_instant(
        &self,
        query: &str,
        at: UnixSeconds,
    ) -> impl Future<Output = Result<Vec<(Labels, f64)>, SourceError>> + Send;
}

/// Why a query failed. Each variant maps to the `outcome` label of
/// `runway_source_requests_total`.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The query engine refused the query itself (bad PromQL, bad
    /// parameters). Retrying will not help; the limit's query must change.
    #[error("query {query:?} was rejected: {message}")]
    Rejected { query: String, message: String },
    /// No answer in time.
    #[error("query {query:?} timed out: {message}")]
    Timeout { query: String, message: String },
    /// Connection refused, reset, or a 5xx: worth retrying.
    #[error("query {query:?} failed: {message}")]
    Unavailable { query: String, message: String },
    /// An answer that is not a query API response.
    #[error("query {query:?} returned an invalid response: {message}")]
    InvalidResponse { query: String, message: String },
    /// The response exceeded the size bound.
    #[error("query {query:?} returned more than {limit_bytes} bytes; narrow the query, or raise source.max_response_bytes")]
    TooLarge { query: String, limit_bytes: usize },
    /// Local setup, e.g. a credentials file that cannot be read.
    #[error("{0}")]
    Setup(String),
}

impl SourceError {
    /// Every [`SourceError::kind`].
    pub const KINDS: [&'static str; 6] = [
        "rejected",
        "timeout",
        "unavailable",
        "invalid_response",
        "too_large",
        "setup",
    ];

    /// The `outcome` label value.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Rejected { .. } => "rejected",
            SourceError::Timeout { .. } => "timeout",
            SourceError::Unavailable { .. } => "unavailable",
            SourceError::InvalidResponse { .. } => "invalid_response",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::Setup(_) => "setup",
        }
    }

    /// Whether trying again soon may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Timeout { .. } | SourceError::Unavailable { .. }
        )
    }
}
