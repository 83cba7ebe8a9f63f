//! Child processes of the harness: spawn with output to a log file, readiness
//! polling, and kill + wait on drop (so no zombie is left behind).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub(crate) const INSTALL_HINT: &str =
    "run scripts/test, which installs prometheus and prometheus-alertmanager";

/// Panics with the install hint if `path` does not exist.
pub(crate) fn require_binary(path: &str) {
    if !Path::new(path).exists() {
        panic!("{path} is missing: {INSTALL_HINT}");
    }
}

/// The last `lines` lines of a log file, or a note that it can't be read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// A running child whose stdout and stderr go to a log file. Killed (SIGKILL)
/// and reaped on drop.
pub(crate) struct Proc {
    child: Option<Child>,
    name: String,
    log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdin closed and stdout/stderr appended to `log`.
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: cannot open log {}: {e}", log.display()));
        // A marker line separates the runs of a restarted component.
        let _ = writeln!(file, "=== harness: starting {cmd:?}");
        let err: File = file.try_clone().expect("clone log file handle");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err));
        // If the test binary dies (killed, or aborted by a panic in a
        // destructor), the kernel kills the component too, instead of
        // leaving a Prometheus running with no one to stop it.
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl(2) is async-signal-safe and touches no memory of
            // the parent; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let program = cmd.get_program().to_string_lossy().into_owned();
        let child = cmd.spawn().unwrap_or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                panic!("{name}: {program} is missing ({e}): {INSTALL_HINT}")
            }
            panic!("{name}: cannot spawn {program}: {e}")
        });
        Proc {
            child: Some(child),
            name: name.to_string(),
            log: log.to_path_buf(),
        }
    }

    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The exit status if the process has ended.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        child.try_wait().ok().flatten()
    }

    /// SIGKILL and reap. Idempotent.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait up to `grace` for the exit; SIGKILL after that.
    /// Returns the exit status if the process ended on its own within `grace`.
    pub(crate) async fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `signal` ("HUP", "TERM") without waiting for anything.
    pub(crate) fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the process is running");
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{signal} failed");
    }

    pub(crate) fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Polls `GET url` until it answers 200. Err(message with the log tail) if
    /// the process exits first or `timeout` passes.
    pub(crate) async fn wait_http_ok(
        &mut self,
        url: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        // Readiness only: a test's own TLS checks are made by runway.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .danger_accept_invalid_certs(true)
            .build()
            .expect("reqwest client");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before {url} answered 200; log tail:\n{}",
                    self.name,
                    self.log_tail(40)
                ));
            }
            let last = match client.get(url).send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => format!("HTTP {}", resp.status()),
                Err(e) => error_chain(&e),
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not ready: {url} did not answer 200 within {timeout:?} (last: {last}); log tail:\n{}",
                    self.name,
                    self.log_tail(40)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True if the log of the latest run (the text after the last start marker)
/// says the listen address was taken.
pub(crate) fn address_in_use(log: &Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last_run = text.rsplit("=== harness: starting").next().unwrap_or("");
    last_run.contains("address already in use")
}

/// An error and its sources, joined with ": " (reqwest's own message alone
/// hides "connection refused").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
