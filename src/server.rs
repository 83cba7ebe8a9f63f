//! The HTTP face of the daemon: `/metrics`, `/-/healthy`, `/-/ready`,
//! `/-/reload`, `/api/v1/forecasts`, `/api/v1/roadmap` and the status page
//! at `/`. It only reads the shared snapshot and the metrics, and passes
//! reload requests to the engine's loop; it never evaluates anything
//! itself.

use std::sync::{Arc, RwLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::engine::ReloadRequest;
use crate::evaluate;
use crate::metrics::Metrics;
use crate::page;
use crate::report;
use crate::snapshot::Snapshot;

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub snapshot: Arc<RwLock<Snapshot>>,
    /// Where `/-/reload` asks the engine to read its configuration again;
    /// `None` when there is no file to read (the demo).
    pub reload: Option<tokio::sync::mpsc::Sender<ReloadRequest>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(|| async { "runway is healthy\n" }))
        .route("/-/ready", get(ready))
        .route(
            "/-/reload",
            post(reload).put(reload).fallback(|| async {
                // As Prometheus answers it.
                (
                    StatusCode::METHOD_NOT_ALLOWED,
                    [(header::ALLOW, "POST, PUT")],
                    "Only POST or PUT requests allowed\n",
                )
            }),
        )
        .route("/api/v1/forecasts", get(forecasts))
        .route("/api/v1/roadmap", get(roadmap))
        // An empty 404 says nothing to someone trying a path by hand.
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(state)
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    // Prometheus asks for gzip: ten thousand watched series are about 10 MB
    // of text a scrape, which compresses several times over.
    built(
        &headers,
        "text/plain; version=0.0.4; charset=utf-8",
        move || Ok(s.metrics.render().into_bytes()),
    )
    .await
}

/// A body that costs a core for a while at ten thousand series (the
/// exposition, the page, the JSON of every forecast), built on the blocking
/// pool, so that `/-/healthy`, `/-/ready` and other requests are answered
/// meanwhile, and gzipped when the request takes it (these bodies run to
/// megabytes of repetitive text).
async fn built(
    headers: &HeaderMap,
    content_type: &'static str,
    build: impl FnOnce() -> Result<Vec<u8>, StatusCode> + Send + 'static,
) -> Response {
    let zip = accepts_gzip(headers);
    let done = tokio::task::spawn_blocking(move || {
        build().map(|body| match zip.then(|| gzip(&body)).flatten() {
            Some(zipped) => (zipped, true),
            None => (body, false),
        })
    })
    .await;
    let (body, zipped) = match done {
        Ok(Ok(built)) => built,
        Ok(Err(status)) => return status.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    // Caches must not hand a gzipped answer to a client that did not ask.
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::VARY, "Accept-Encoding"),
        ],
        body,
    )
        .into_response();
    if zipped {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    response
}

/// The snapshot, read; a poisoned lock is a 500.
fn read(s: &AppState) -> Result<std::sync::RwLockReadGuard<'_, Snapshot>, StatusCode> {
    s.snapshot
        .read()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

/// The JSON of `value`, for [`built`].
fn json_body(value: &serde_json::Value) -> Result<Vec<u8>, StatusCode> {
    serde_json::to_vec(value).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

const JSON: &str = "application/json";

/// Whether a request's `Accept-Encoding` takes gzip (and does not refuse
/// it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `bytes` gzipped at the fastest level; `None` should the encoder fail, so
/// that the scrape is answered uncompressed instead.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// Ready once the first evaluation has finished, so that a scrape right after
/// start-up does not record an empty world.
async fn ready(State(s): State<AppState>) -> Response {
    let done = s
        .snapshot
        .read()
        .map(|x| x.evaluated_at.is_some())
        .unwrap_or(false);
    if done {
        (StatusCode::OK, "runway is ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the first evaluation has not finished\n",
        )
            .into_response()
    }
}

/// Reads the configuration again and answers when it is applied, as
/// Prometheus' and Alertmanager's `/-/reload` do: 200, or 500 with why the
/// running configuration stays.
async fn reload(State(s): State<AppState>) -> Response {
    let Some(requests) = &s.reload else {
        return (
            StatusCode::BAD_REQUEST,
            "the demo has no configuration file to reload\n",
        )
            .into_response();
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let gone = || (StatusCode::SERVICE_UNAVAILABLE, "runway is shutting down\n").into_response();
    if requests
        .send(ReloadRequest { reply: Some(reply) })
        .await
        .is_err()
    {
        return gone();
    }
    match answer.await {
        Ok(Ok(done)) => {
            (StatusCode::OK, format!("configuration reloaded: {done}\n")).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload the configuration; the running one stays: {e}\n"),
        )
            .into_response(),
        Err(_) => gone(),
    }
}

async fn forecasts(State(s): State<AppState>, headers: HeaderMap) -> Response {
    built(&headers, JSON, move || json_body(&forecasts_json(&s)?)).await
}

fn forecasts_json(s: &AppState) -> Result<serde_json::Value, StatusCode> {
    let snap = read(s)?;
    let held = snap.alerts_by_series();
    let rows: Vec<_> = snap
        .ranked()
        .into_iter()
        .map(|e| {
            let mut row = report::row(e, None);
            let serde_json::Value::Object(m) = &mut row else {
                return row;
            };
            if let Some(t) = snap.trust_of(&e.limit, &e.labels) {
                m.insert("backtest".into(), crate::report::trust_json(t));
            }
            // The alerts runway holds for this series, by severity: what
            // is pending (not yet sent), firing, or resolved.
            let alerts: Vec<_> = held
                .get(&(e.limit.as_str(), &e.labels))
                .into_iter()
                .flatten()
                .map(|a| {
                    json!({
                        "severity": a.severity,
                        "state": a.state.as_str(),
                        "since": evaluate::rfc3339(a.since),
                    })
                })
                .collect();
            m.insert("alerts".into(), alerts.into());
            row
        })
        .collect();
    let limits: Vec<_> = snap
        .order
        .iter()
        .map(|name| {
            let st = snap.limits.get(name);
            json!({
                "limit": name,
                "last_success": st.and_then(|x| x.last_success).and_then(evaluate::rfc3339),
                "last_error": st.and_then(|x| x.last_error.clone()),
                "series": st.map_or(0, |x| x.evaluations.len()),
                "dropped_series": st.map_or(0, |x| x.dropped_series),
                "stale_series": st.map_or(0, |x| x.stale_series),
                "unmatched_series": st.map_or(0, |x| x.unmatched_series),
                "failed_series": st.map_or(0, |x| x.failed_series),
            })
        })
        .collect();
    Ok(json!({
        "status": "success",
        "data": {
            "evaluated_at": snap.evaluated_at.and_then(evaluate::rfc3339),
            "limits": limits,
            "forecasts": rows,
        }
    }))
}

async fn page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    built(&headers, "text/html; charset=utf-8", move || {
        let snap = read(&s)?;
        let now = snap.evaluated_at.unwrap_or(0.0);
        Ok(page::render(&snap, now).into_bytes())
    })
    .await
}

/// `?growth=100` ranks against another next order of magnitude than the
/// configured one.
#[derive(serde::Deserialize)]
struct RoadmapQuery {
    growth: Option<String>,
}

/// A 400 in the shape of Prometheus' API errors.
fn bad_data(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "error", "errorType": "bad_data", "error": error})),
    )
        .into_response()
}

async fn roadmap(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<RoadmapQuery>, QueryRejection>,
) -> Response {
    // A query string that does not parse (`?growth=2&growth=3`) is the
    // caller's error like a bad value, and answered the same way.
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return bad_data(e.body_text()),
    };
    let asked = match q.growth.as_deref().map(crate::roadmap::parse_growth) {
        None => None,
        Some(Ok(g)) => Some(g),
        Some(Err(e)) => return bad_data(format!("growth={e}")),
    };
    built(&headers, JSON, move || {
        let snap = read(&s)?;
        let growth = asked.unwrap_or(snap.growth_factor);
        let now = snap.evaluated_at.unwrap_or(0.0);
        // Prometheus' envelope, as /api/v1/forecasts and the errors have it;
        // `runway roadmap --output json` prints the document alone.
        json_body(&json!({
            "status": "success",
            "data": report::roadmap_json(&snap, growth, now),
        }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_where_the_scraper_takes_it() {
        let takes = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                value.parse().expect("a header value"),
            );
            accepts_gzip(&h)
        };
        assert!(takes("gzip"));
        assert!(takes("deflate, GZIP;q=0.5"));
        assert!(takes("*"));
        assert!(!takes("identity"));
        assert!(!takes("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
        let text = "runway_up 1\n".repeat(100);
        let zipped = gzip(text.as_bytes()).expect("gzipped");
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut back)
            .expect("a gzip stream");
        assert_eq!(back, text);
    }
}
