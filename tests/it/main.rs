//! Integration tests: one binary, one module per area.

mod support;

mod config;
mod harness;
mod payload;
mod pipeline;
