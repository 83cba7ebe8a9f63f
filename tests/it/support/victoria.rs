//! A real VictoriaMetrics (Debian's `victoria-metrics` package, single-node)
//! holding known history, imported over its HTTP API: the other
//! Prometheus-compatible engine runway's source adapter says it serves.
//!
//! Facts it imposes (checked on 1.79.5):
//! - `/api/v1/import/prometheus` reads Prometheus' text format with
//!   millisecond timestamps (OpenMetrics' seconds would land in 1970);
//! - imported samples are searchable only after `/internal/force_flush`;
//! - queries ignore the newest 30 s (`-search.latencyOffset`), and a range
//!   query repeats a series' last sample up to the step after it.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::openmetrics::OpenMetrics;
use super::process::{address_in_use, require_binary, Proc};
use super::{free_port, temp_dir};

const VICTORIA: &str = "/usr/bin/victoria-metrics";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 5;

pub struct VictoriaMetrics {
    // Declared before `dir`: the process dies before its directory goes.
    proc: Proc,
    dir: TempDir,
    port: u16,
}

impl VictoriaMetrics {
    /// Starts a VictoriaMetrics holding exactly `history`, and waits until
    /// every sample of it can be read back.
    pub async fn start(history: &OpenMetrics) -> VictoriaMetrics {
        require_binary(VICTORIA);
        let dir = temp_dir("victoria-metrics");
        let log = dir.path().join("victoria-metrics.log");
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let mut cmd = Command::new(VICTORIA);
            cmd.arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-retentionPeriod=100y")
            // Every query reads the storage: no answer cached from before
            // the import.
            .arg("-search.disableCache")
            .current_dir(dir.path());
            let mut proc = Proc::spawn("victoria-metrics", cmd, &log);
            let health = format!("http://127.0.0.1:{port}/health");
            match proc.wait_http_ok(&health, READY_TIMEOUT).await {
                Ok(()) => {
                    let vm = VictoriaMetrics { proc, dir, port };
                    vm.import(history).await;
                    return vm;
                }
                Err(message) => {
                    proc.kill();
                    if attempt < START_ATTEMPTS && address_in_use(&log) {
                        continue;
                    }
                    panic!("VictoriaMetrics did not start (attempt {attempt}): {message}");
                }
            }
        }
        unreachable!("every attempt returns or panics")
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn import(&self, history: &OpenMetrics) {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/import/prometheus", self.url());
        let resp = client
            .post(&url)
            .body(history.prometheus_text())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = resp.status();
        assert!(
            status.is_success(),
            "POST {url}: HTTP {status}: {}",
            resp.text().await.unwrap_or_default()
        );
        // Searchable once flushed; counted back from the export, so that a
        // sample the import dropped fails here rather than as a forecast.
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let flush = format!("{}/internal/force_flush", self.url());
            let _ = client.get(&flush).send().await;
            let stored = self.stored_samples(&client).await;
            if stored == history.sample_count() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "VictoriaMetrics holds {stored} of the {} samples imported; log:\n{}",
                history.sample_count(),
                self.proc.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// How many samples `/api/v1/export` returns for every series.
    async fn stored_samples(&self, client: &reqwest::Client) -> usize {
        let url = format!("{}/api/v1/export", self.url());
        let Ok(resp) = client
            .post(&url)
            .form(&[("match[]", "{__name__!=\"\"}")])
            .send()
            .await
        else {
            return 0;
        };
        let text = resp.text().await.unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|series| series["values"].as_array().map_or(0, Vec::len))
            .sum()
    }
}
