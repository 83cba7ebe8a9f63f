//! A real Alertmanager (Debian's 0.25, `/usr/bin/prometheus-alertmanager`)
//! routing every alert, on its own, to one webhook receiver.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::process::{address_in_use, require_binary, Proc};
use super::{free_port, temp_dir};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 5;

pub struct Alertmanager {
    // Declared before `dir`: the process dies before its directory goes.
    proc: Proc,
    dir: TempDir,
    port: u16,
    client: reqwest::Client,
}

impl Alertmanager {
    /// Starts an Alertmanager whose single route sends every alert as its own
    /// notification (`group_by: ['...']`) to `webhook_url`, at once
    /// (`group_wait: 0s`, `group_interval: 100ms`), resolved ones too.
    pub async fn start(webhook_url: &str) -> Alertmanager {
        require_binary(ALERTMANAGER);
        let dir = temp_dir("alertmanager");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, config_yaml(webhook_url)).expect("write alertmanager.yml");
        let storage = dir.path().join("data");
        std::fs::create_dir_all(&storage).expect("create storage dir");
        let log = dir.path().join("alertmanager.log");
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port();
            let mut cmd = Command::new(ALERTMANAGER);
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", storage.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--web.external-url=http://127.0.0.1:{port}"))
                // Empty: no cluster. Otherwise it binds 0.0.0.0:9094 and
                // holds the first notification ~10s while gossip settles.
                .arg("--cluster.listen-address=")
                .current_dir(dir.path());
            let mut proc = Proc::spawn("alertmanager", cmd, &log);
            let ready = format!("http://127.0.0.1:{port}/-/ready");
            match proc.wait_http_ok(&ready, READY_TIMEOUT).await {
                Ok(()) => {
                    return Alertmanager {
                        proc,
                        dir,
                        port,
                        client: reqwest::Client::builder()
                            .timeout(Duration::from_secs(10))
                            .build()
                            .expect("reqwest client"),
                    }
                }
                Err(message) => {
                    proc.kill();
                    if attempt < START_ATTEMPTS && address_in_use(&log) {
                        continue;
                    }
                    panic!("Alertmanager did not start (attempt {attempt}): {message}");
                }
            }
        }
        unreachable!("the last attempt panics")
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// POSTs `alerts` (a JSON array of `{labels, annotations, startsAt,
    /// endsAt, generatorURL}`) to `/api/v2/alerts`. Err(status and body)
    /// unless it answers 200.
    pub async fn post_alerts(&self, alerts: &Value) -> Result<(), String> {
        let url = format!("{}/api/v2/alerts", self.url());
        let resp = self
            .client
            .post(&url)
            .json(alerts)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = resp.text().await.unwrap_or_default();
            Err(format!("POST {url}: HTTP {status}: {body}"))
        }
    }

    /// The alerts Alertmanager holds (`GET /api/v2/alerts`, a JSON array).
    pub async fn alerts(&self) -> Value {
        let url = format!("{}/api/v2/alerts", self.url());
        self.client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("alertmanager.log")
    }

    /// The process id, for tests that stop it abruptly.
    pub fn pid(&self) -> Option<u32> {
        self.proc.id()
    }
}

fn config_yaml(webhook_url: &str) -> String {
    format!(
        "route:
  receiver: webhook
  group_by: ['...']
  group_wait: 0s
  group_interval: 100ms
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: '{webhook_url}'
        send_resolved: true
"
    )
}
