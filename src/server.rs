//! The HTTP face of the daemon: `/metrics`, `/-/healthy`, `/-/ready`,
//! `/api/v1/forecasts` and a status page at `/`. It only reads the shared
//! snapshot and the metrics; it never evaluates anything itself.

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::evaluate::{self, human_duration};
use crate::metrics::Metrics;
use crate::report;
use crate::snapshot::Snapshot;

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub snapshot: Arc<RwLock<Snapshot>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/-/healthy", get(|| async { "runway is healthy\n" }))
        .route("/-/ready", get(ready))
        .route("/api/v1/forecasts", get(forecasts))
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
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

async fn forecasts(State(s): State<AppState>) -> Response {
    let Ok(snap) = s.snapshot.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let rows: Vec<_> = snap
        .ranked()
        .into_iter()
        .map(|e| {
            let mut row = report::row(e, None);
            if let (Some(t), serde_json::Value::Object(m)) =
                (snap.trust_of(&e.limit, &e.labels), &mut row)
            {
                m.insert(
                    "backtest".into(),
                    json!({
                        "at": evaluate::rfc3339(t.at),
                        "history_seconds": t.history,
                        "scores": t.scores,
                    }),
                );
            }
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
            })
        })
        .collect();
    Json(json!({
        "status": "success",
        "data": {
            "evaluated_at": snap.evaluated_at.and_then(evaluate::rfc3339),
            "limits": limits,
            "forecasts": rows,
        }
    }))
    .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(s): State<AppState>) -> Response {
    let Ok(snap) = s.snapshot.read() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut rows = String::new();
    for e in snap.ranked() {
        let f = &e.forecast;
        let (ttw, band) = f.eta.map_or(("-".to_string(), "-".to_string()), |x| {
            (
                human_duration(x.likely),
                format!("{} – {}", human_duration(x.lower), human_duration(x.upper)),
            )
        });
        rows.push_str(&format!(
            "<tr class=\"{status}\"><td>{limit}</td><td><code>{labels}</code></td><td>{status}</td><td>{ttw}</td><td>{band}</td><td>{now}</td><td>{wall}</td><td title=\"{reason}\">{model}</td></tr>\n",
            status = f.status.as_str(),
            limit = escape(&e.limit),
            labels = escape(&evaluate::label_string(&e.labels)),
            now = f.current_value.map_or("-".into(), evaluate::format_value),
            wall = evaluate::format_value(e.wall),
            reason = escape(&f.reason),
            model = f.model.as_str(),
        ));
    }
    let mut errors = String::new();
    for name in &snap.order {
        if let Some(err) = snap.limits.get(name).and_then(|x| x.last_error.as_ref()) {
            errors.push_str(&format!(
                "<li><b>{}</b>: {}</li>",
                escape(name),
                escape(err)
            ));
        }
    }
    if !errors.is_empty() {
        errors = format!("<h2>Limits not evaluated</h2><ul class=\"errors\">{errors}</ul>");
    }
    let when = snap
        .evaluated_at
        .and_then(evaluate::rfc3339)
        .unwrap_or_else(|| "not yet".into());
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>runway</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }}
tr.breached td {{ background: #fde2e2; }}
tr.approaching td {{ background: #fff4d6; }}
tr.receding td, tr.insufficient_data td {{ color: #777; }}
.errors {{ color: #a00; }}
</style></head>
<body>
<h1>runway: time to wall</h1>
<p>Last evaluation: {when}. Ranked by when each series reaches its wall. <a href="/api/v1/forecasts">JSON</a> · <a href="/metrics">metrics</a></p>
{errors}
<table>
<thead><tr><th>Limit</th><th>Series</th><th>Status</th><th>Time to wall</th><th>Band</th><th>Now</th><th>Wall</th><th>Model</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#
    ))
    .into_response()
}
