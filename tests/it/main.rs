//! Integration tests: one binary, one module per area.

mod support;

mod adapters;
mod backtest;
mod cli;
mod config;
mod deploy;
mod e2e;
mod fetching;
mod grafana;
mod harness;
mod payload;
mod pipeline;
mod roadmap;
