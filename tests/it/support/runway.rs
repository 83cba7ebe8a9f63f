//! The `runway` binary under test, run as `runway run --config FILE`.

use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use tempfile::TempDir;

use super::process::Proc;
use super::temp_dir;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Runway {
    // Declared before `dir`: the process dies before its directory goes.
    proc: Proc,
    dir: TempDir,
    port: u16,
    client: reqwest::Client,
}

impl Runway {
    /// Writes `config_toml` to `runway.toml` in a temporary directory and
    /// runs `runway run --config FILE` with `RUST_LOG=info`, output to a log.
    /// `port` must be the one of the config's `server.listen` (on 127.0.0.1).
    /// Does not wait: call `wait_ready`.
    pub fn spawn(config_toml: &str, port: u16) -> Runway {
        Runway::spawn_with_env(config_toml, port, &[])
    }

    /// `spawn` with extra environment variables (e.g. `RUNWAY_...`
    /// overrides, or `RUST_LOG`).
    pub fn spawn_with_env(config_toml: &str, port: u16, env: &[(&str, &str)]) -> Runway {
        let dir = temp_dir("runway");
        let config = dir.path().join("runway.toml");
        std::fs::write(&config, config_toml).expect("write runway.toml");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runway"));
        cmd.arg("run")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .current_dir(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let proc = Proc::spawn("runway", cmd, &dir.path().join("runway.log"));
        Runway {
            proc,
            dir,
            port,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
        }
    }

    /// `spawn` then `wait_ready`.
    pub async fn start(config_toml: &str, port: u16) -> Runway {
        let mut runway = Runway::spawn(config_toml, port);
        runway.wait_ready().await;
        runway
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The config file it was started with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("runway.toml")
    }

    /// Polls `/-/ready` until 200 (after the first evaluation); panics with
    /// the log tail after 30 s or if the process exits.
    pub async fn wait_ready(&mut self) {
        let url = format!("{}/-/ready", self.url());
        if let Err(message) = self.proc.wait_http_ok(&url, READY_TIMEOUT).await {
            panic!("runway did not become ready: {message}");
        }
    }

    /// `GET /metrics`, which must answer 200.
    pub async fn metrics_text(&self) -> String {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200, "GET /metrics: HTTP {status}: {body}");
        body
    }

    /// `GET path` (e.g. "/-/healthy"): (HTTP status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.url());
        let resp = self.client.get(&url).send().await.unwrap_or_else(|e| {
            panic!(
                "GET {url}: {e}; runway log tail:\n{}",
                self.proc.log_tail(40)
            )
        });
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// `POST path` (e.g. "/-/reload") with no body: (HTTP status, body).
    pub async fn post(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.url());
        let resp = self.client.post(&url).send().await.unwrap_or_else(|e| {
            panic!(
                "POST {url}: {e}; runway log tail:\n{}",
                self.proc.log_tail(40)
            )
        });
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// SIGHUP: read the configuration file again.
    pub fn hangup(&self) {
        self.proc.signal("HUP");
    }

    /// Everything it has logged so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("runway.log")).unwrap_or_default()
    }

    /// The exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.proc.exited()
    }

    /// SIGTERM, then up to `grace` for a clean exit (SIGKILL after that).
    /// Some(status) if it exited on its own.
    pub async fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.proc.terminate(grace).await
    }
}
