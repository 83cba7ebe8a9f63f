//! A webhook receiver standing in for the human being paged: it records every
//! JSON body POSTed to it (Alertmanager webhook payloads: `{status, alerts:
//! [{status, labels, annotations, startsAt, endsAt, ...}], groupLabels, ...}`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::Router;
use serde_json::Value;

struct Shared {
    notifications: Mutex<Vec<Value>>,
    /// Status answered to each POST (200 unless set otherwise).
    status: AtomicU16,
}

pub struct WebhookReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Serves on a free loopback port, in the current tokio runtime, until
    /// dropped. Every path accepts POSTs.
    pub async fn start() -> WebhookReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("webhook receiver: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            notifications: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
        });
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("webhook receiver: serve");
        });
        WebhookReceiver { addr, shared, task }
    }

    /// The URL to configure in Alertmanager: `http://127.0.0.1:PORT/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// Every payload received so far, oldest first (including those answered
    /// with an error status).
    pub fn notifications(&self) -> Vec<Value> {
        self.shared.notifications.lock().unwrap().clone()
    }

    /// Every alert of every payload received so far, oldest first.
    pub fn alerts(&self) -> Vec<Value> {
        all_alerts(&self.notifications())
    }

    /// Forgets the payloads received so far.
    pub fn clear(&self) {
        self.shared.notifications.lock().unwrap().clear();
    }

    /// Makes the receiver answer `status` (e.g. 500, to make Alertmanager
    /// retry) from now on; 200 by default.
    pub fn set_response_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Polls (every 20 ms) until `pred` holds for the payloads received so
    /// far, and returns them; Err with all payloads seen if `timeout` passes.
    pub async fn wait_for(
        &self,
        pred: impl Fn(&[Value]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<Value>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.notifications();
            if pred(&seen) {
                return Ok(seen);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "webhook: condition not met within {timeout:?}; {} notification(s) received:\n{}",
                    seen.len(),
                    serde_json::to_string_pretty(&seen).unwrap_or_default()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every alert of every payload, in order.
pub fn all_alerts(notifications: &[Value]) -> Vec<Value> {
    notifications
        .iter()
        .filter_map(|n| n["alerts"].as_array())
        .flatten()
        .cloned()
        .collect()
}

async fn record(State(shared): State<Arc<Shared>>, method: Method, body: Bytes) -> StatusCode {
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    shared.notifications.lock().unwrap().push(value);
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}
