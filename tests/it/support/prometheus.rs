//! A real Prometheus (Debian's 2.42 in `/usr/bin`) holding known history
//! backfilled with promtool, optionally scraping given targets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::openmetrics::{format_timestamp, OpenMetrics};
use super::process::{address_in_use, require_binary, Proc};
use super::{free_port, temp_dir};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 5;

/// What a Prometheus starts with.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// Backfilled before the start; None = an empty TSDB.
    pub history: Option<OpenMetrics>,
    /// `host:port` targets scraped (path `/metrics`) as job `runway`; empty =
    /// `scrape_configs: []`, so the TSDB holds only the history.
    pub scrape_targets: Vec<String>,
    /// Global scrape and evaluation interval, a Prometheus duration.
    pub scrape_interval: String,
    /// Serve over TLS with this (certificate, key) PEM pair; None = plain
    /// HTTP.
    pub tls: Option<(String, String)>,
    /// `--query.max-samples`: the most samples a query may hold; None =
    /// Prometheus' default (50 million).
    pub max_samples: Option<u64>,
}

impl Default for PrometheusOptions {
    fn default() -> PrometheusOptions {
        PrometheusOptions {
            history: None,
            scrape_targets: Vec::new(),
            scrape_interval: "1s".to_string(),
            tls: None,
            max_samples: None,
        }
    }
}

pub struct Prometheus {
    // Declared before `dir`: the process dies before its directory goes.
    proc: Option<Proc>,
    dir: TempDir,
    port: u16,
    /// Bumped on every (re)start with new history: data-N is the data dir.
    generation: u32,
    client: reqwest::Client,
    /// Served over TLS (`https`), with `web.yml` in its directory.
    tls: bool,
    /// `--query.max-samples`, when set.
    max_samples: Option<u64>,
}

impl Prometheus {
    /// Starts a Prometheus holding exactly `history` and scraping nothing.
    pub async fn start(history: &OpenMetrics) -> Prometheus {
        Prometheus::start_with(PrometheusOptions {
            history: Some(history.clone()),
            ..PrometheusOptions::default()
        })
        .await
    }

    /// Starts a Prometheus with no history that scrapes `targets`
    /// (`host:port`, path `/metrics`) every `scrape_interval` (e.g. "1s").
    pub async fn start_scraping(targets: &[String], scrape_interval: &str) -> Prometheus {
        Prometheus::start_with(PrometheusOptions {
            history: None,
            scrape_targets: targets.to_vec(),
            scrape_interval: scrape_interval.to_string(),
            ..PrometheusOptions::default()
        })
        .await
    }

    pub async fn start_with(options: PrometheusOptions) -> Prometheus {
        require_binary(PROMETHEUS);
        require_binary(PROMTOOL);
        let dir = temp_dir("prometheus");
        std::fs::write(dir.path().join("prometheus.yml"), config_yaml(&options))
            .expect("write prometheus.yml");
        if let Some((cert, key)) = &options.tls {
            std::fs::write(dir.path().join("server.crt"), cert).expect("write server.crt");
            std::fs::write(dir.path().join("server.key"), key).expect("write server.key");
            std::fs::write(
                dir.path().join("web.yml"),
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
            )
            .expect("write web.yml");
        }
        let mut prometheus = Prometheus {
            proc: None,
            dir,
            port: free_port(),
            generation: 0,
            // The harness's own queries trust any certificate: what is
            // tested is whether runway trusts it.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .danger_accept_invalid_certs(true)
                .build()
                .expect("reqwest client"),
            tls: options.tls.is_some(),
            max_samples: options.max_samples,
        };
        prometheus.prepare_data(options.history.as_ref()).await;
        prometheus.launch(false).await;
        prometheus
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS), no trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TSDB directory in use.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join(format!("data-{}", self.generation))
    }

    /// The whole log (all runs, separated by `=== harness: starting` lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops Prometheus, replaces its data with exactly `history` (a fresh
    /// TSDB), and starts it again on the same port with the same config.
    pub async fn restart_with(&mut self, history: &OpenMetrics) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
        let old = self.data_dir();
        self.generation += 1;
        self.prepare_data(Some(history)).await;
        let _ = std::fs::remove_dir_all(old);
        self.launch(true).await;
    }

    /// Kills Prometheus (SIGKILL), keeping its data and port: its URL
    /// refuses connections until `start_again`. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill();
        }
    }

    /// Starts a stopped Prometheus again on the same port with the same data
    /// (a no-op if it is running), and waits until it is ready.
    pub async fn start_again(&mut self) {
        if self.proc.is_none() {
            self.launch(true).await;
        }
    }

    /// Instant query at `time` (unix seconds): the whole JSON answer
    /// (`{"status": "success", "data": {"resultType": ..., "result": [...]}}`,
    /// or the error answer). Panics only if Prometheus can't be reached.
    pub async fn query(&self, promql: &str, time: f64) -> Value {
        self.get_json(
            "/api/v1/query",
            &[
                ("query", promql.to_string()),
                ("time", format_timestamp(time)),
            ],
        )
        .await
    }

    /// Range query from `start` to `end` (unix seconds) every `step` seconds:
    /// the whole JSON answer.
    pub async fn query_range(&self, promql: &str, start: f64, end: f64, step: f64) -> Value {
        self.get_json(
            "/api/v1/query_range",
            &[
                ("query", promql.to_string()),
                ("start", format_timestamp(start)),
                ("end", format_timestamp(end)),
                ("step", format!("{step}")),
            ],
        )
        .await
    }

    /// Instant query at `time` whose answer must be a vector: (labels, value)
    /// per series, in Prometheus' order. Panics on an error answer.
    pub async fn instant_values(
        &self,
        promql: &str,
        time: f64,
    ) -> Vec<(BTreeMap<String, String>, f64)> {
        let answer = self.query(promql, time).await;
        assert_eq!(
            answer["status"], "success",
            "query {promql:?} at {time} failed: {answer}"
        );
        assert_eq!(
            answer["data"]["resultType"], "vector",
            "query {promql:?} is not a vector: {answer}"
        );
        answer["data"]["result"]
            .as_array()
            .expect("result array")
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .expect("metric object")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                (labels, parse_value(&r["value"][1]))
            })
            .collect()
    }

    /// Waits until `promql` at wall-clock now returns at least one series (e.g.
    /// until a scrape target has been scraped), polling every 200 ms.
    pub async fn wait_for_series(&self, promql: &str, timeout: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let answer = self.query(promql, super::now_secs()).await;
            if answer["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "{promql:?} returned no series within {timeout:?}; last answer: {answer}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn get_json(&self, path: &str, params: &[(&str, String)]) -> Value {
        let url = format!("{}{path}", self.url());
        let resp = self
            .client
            .get(&url)
            .query(params)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        serde_json::from_str(&body).unwrap_or_else(|e| {
            panic!("GET {url} {params:?}: HTTP {status}, not JSON ({e}): {body}")
        })
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    /// Creates `data_dir()` and backfills `history` into it.
    async fn prepare_data(&self, history: Option<&OpenMetrics>) {
        let data = self.data_dir();
        std::fs::create_dir_all(&data).expect("create data dir");
        let Some(history) = history.filter(|h| !h.is_empty()) else {
            return;
        };
        let file = self
            .dir
            .path()
            .join(format!("history-{}.om", self.generation));
        std::fs::write(&file, history.text()).expect("write OpenMetrics file");
        let expected = history.sample_count();
        tokio::task::spawn_blocking(move || backfill(&file, &data, expected))
            .await
            .expect("backfill task");
    }

    /// Spawns Prometheus and waits for `/-/ready`. Retries when the port is
    /// taken: on the same port (after a pause) if `same_port`, else on another.
    async fn launch(&mut self, same_port: bool) {
        for attempt in 1..=START_ATTEMPTS {
            let mut cmd = Command::new(PROMETHEUS);
            cmd.arg(format!(
                "--config.file={}",
                self.dir.path().join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", self.data_dir().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.external-url={}", self.url()))
            .current_dir(self.dir.path());
            if let Some(n) = self.max_samples {
                cmd.arg(format!("--query.max-samples={n}"));
            }
            if self.tls {
                cmd.arg(format!(
                    "--web.config.file={}",
                    self.dir.path().join("web.yml").display()
                ));
            }
            let mut proc = Proc::spawn("prometheus", cmd, &self.log_path());
            let ready_url = format!("{}/-/ready", self.url());
            match proc.wait_http_ok(&ready_url, READY_TIMEOUT).await {
                Ok(()) => {
                    self.proc = Some(proc);
                    return;
                }
                Err(message) => {
                    proc.kill();
                    if attempt < START_ATTEMPTS && address_in_use(&self.log_path()) {
                        if same_port {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        } else {
                            self.port = free_port();
                        }
                        continue;
                    }
                    panic!("Prometheus did not start (attempt {attempt}): {message}");
                }
            }
        }
    }
}

/// Runs promtool's backfill and checks that every sample was stored.
fn backfill(file: &Path, data: &Path, expected_samples: usize) {
    let out = Command::new(PROMTOOL)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        // Hidden flag: one big block instead of one per 2h (14 days of 3
        // series at 60s: 0.2s instead of 7s).
        .arg("--max-block-duration=8760h")
        .arg(file)
        .arg(data)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PROMTOOL}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!(
            "promtool backfill of {} failed ({}):\n{stdout}\n{stderr}",
            file.display(),
            out.status
        );
    }
    if let Some(stored) = stored_samples(&stdout) {
        assert_eq!(
            stored,
            expected_samples,
            "promtool stored {stored} of the {expected_samples} samples in {}: \
             out-of-order or duplicate samples of a series are silently dropped\n{stdout}",
            file.display()
        );
    }
}

/// Sums the NUM SAMPLES column of promtool's block table; None if the table
/// is not as expected.
fn stored_samples(table: &str) -> Option<usize> {
    let mut lines = table.lines();
    let header = lines.next()?;
    if !header.contains("NUM SAMPLES") {
        return None;
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().nth(4)?.parse::<usize>().ok())
        .sum()
}

fn config_yaml(options: &PrometheusOptions) -> String {
    let interval = &options.scrape_interval;
    let mut yaml =
        format!("global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n");
    if options.scrape_targets.is_empty() {
        yaml.push_str("scrape_configs: []\n");
    } else {
        let targets: Vec<String> = options
            .scrape_targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect();
        yaml.push_str(&format!(
            "scrape_configs:\n  - job_name: runway\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ));
    }
    yaml
}

/// A Prometheus sample value (a JSON string: "1.5", "NaN", "+Inf", "-Inf").
pub fn parse_value(v: &Value) -> f64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("sample value {v} is not a string"));
    match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s
            .parse()
            .unwrap_or_else(|e| panic!("sample value {s:?}: {e}")),
    }
}
