//! runway forecasts when the metrics that approach a system's limits will reach
//! them, and warns through Alertmanager before they do.
//!
//! Modules in reading order (the README's architecture section is the long
//! form of this map):
//! - [`model`]: samples, series, labels, direction. Shared vocabulary.
//! - [`forecast`]: PURE trend fitting and time to wall, with a band.
//! - [`evaluate`]: PURE evaluation of a limit's series at `now`, and the alert
//!   state machine (hold, hysteresis, resend).
//! - [`config`]: file + environment -> typed, validated configuration.
//! - [`source`]: the `SeriesSource` role and its Prometheus and demo adapters.
//! - [`sink`]: the `AlertSink` role and its Alertmanager and log adapters.
//! - [`metrics`]: the one metrics struct, on an explicit registry.
//! - [`history`]: PURE merging of a limit's kept history with the newest
//!   points, so that an evaluation asks the source for those alone.
//! - [`engine`]: the loop that owns time and state: source -> evaluate -> sink.
//! - [`server`]: `/metrics`, health, the JSON API and the status page.
//! - [`page`]: PURE rendering of the status page (HTML and inline SVG).
//! - [`snapshot`]: the read model the engine writes once a tick and the
//!   server and `runway once` read.
//! - [`report`]: PURE JSON rows and the ranked table, shared by the API and
//!   the offline commands.
//! - [`input`]: CSV and saved-JSON readers for the offline commands (the
//!   command line itself is in `main.rs`).
//! - [`backtest`]: PURE replay of a series' own history to score the
//!   forecaster against the walls it really reached (`runway backtest`, the
//!   accuracy benchmark).
//! - [`allocator`]: the allocator every build of runway runs on.
//! - [`roadmap`]: PURE load headroom (a metric's response to its driver),
//!   the ranked roadmap of breaking points, and re-roadmap events.

pub mod allocator;
pub mod backtest;
pub mod config;
pub mod engine;
pub mod evaluate;
pub mod forecast;
pub mod history;
pub mod input;
pub mod metrics;
pub mod model;
pub mod page;
pub mod report;
pub mod roadmap;
pub mod server;
pub mod sink;
pub mod snapshot;
pub mod source;
