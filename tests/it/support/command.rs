//! The `runway` binary run as a user runs it from a shell: arguments,
//! standard input, and the exit code and output that come back.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a run of the binary returned.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything, for a failing assertion's message.
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Standard output as JSON (whatever the exit code).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.show()))
    }

    pub fn assert_success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "{}", self.show());
        self
    }
}

/// Runs the runway binary with `args`, `stdin` as its standard input, and
/// none of the tester's `RUNWAY_*` variables.
pub fn runway(args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runway"));
    cmd.args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("RUNWAY_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().expect("spawn runway");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("runway output");
    writer.join().expect("stdin writer");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A `timestamp,value` CSV of `samples`.
pub fn csv(samples: &[(f64, f64)]) -> String {
    let mut out = String::from("timestamp,value\n");
    for (t, v) in samples {
        out.push_str(&format!("{t},{v}\n"));
    }
    out
}
