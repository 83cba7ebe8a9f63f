//! How forecasts are shown to people and programs: the JSON rows of the API,
//! `runway once` and `runway forecast`, and the ranked text table. Pure
//! formatting; one place, so every surface says the same thing.

use serde_json::{json, Value};

use crate::evaluate::{self, human_duration, rfc3339, Evaluation};
use crate::model::UnixSeconds;

/// A number for JSON: `null` when it is not finite (JSON has no infinity).
fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

/// One forecast as a JSON object. `lead` (seconds), when given, decides the
/// `alert` field the way the daemon decides to fire: the earliest edge of the
/// band within the lead time.
pub fn row(e: &Evaluation, lead: Option<f64>) -> Value {
    let f = &e.forecast;
    let eta = f.eta;
    let mut v = json!({
        "limit": e.limit,
        "labels": e.labels,
        "status": f.status.as_str(),
        "model": f.model.as_str(),
        "reason": f.reason,
        "time_to_wall_seconds": eta.map_or(Value::Null, |x| num(x.likely)),
        "time_to_wall_lower_seconds": eta.map_or(Value::Null, |x| num(x.lower)),
        "time_to_wall_upper_seconds": eta.map_or(Value::Null, |x| num(x.upper)),
        "time_to_wall_alert_seconds": eta.map_or(Value::Null, |x| num(x.alert)),
        "wall_at": eta.and_then(|x| rfc3339(e.at + x.likely)),
        "current_value": f.current_value.map_or(Value::Null, num),
        "wall": num(e.wall),
        "direction": e.direction.as_str(),
        "growth_rate_per_second": num(f.rate),
        "samples": f.samples,
        "summary": evaluate::summary(e),
    });
    if let (Some(lead), Value::Object(m)) = (lead, &mut v) {
        m.insert("alert".into(), json!(f.within(lead)));
    }
    v
}

/// The ranked text table of `runway once` and `runway forecast`.
pub fn table(rows: &[&Evaluation], now: UnixSeconds) -> String {
    let header = [
        "LIMIT",
        "SERIES",
        "STATUS",
        "TIME TO WALL",
        "BAND",
        "WALL AT",
        "NOW",
        "WALL",
        "MODEL",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for e in rows {
        let f = &e.forecast;
        let (ttw, band, at) = match f.eta {
            Some(x) => (
                human_duration(x.likely),
                format!("{} .. {}", human_duration(x.lower), human_duration(x.upper)),
                rfc3339(now + x.likely).unwrap_or_else(|| "-".into()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        cells.push(vec![
            e.limit.clone(),
            evaluate::label_string(&e.labels),
            f.status.as_str().into(),
            ttw,
            band,
            at,
            f.current_value.map_or("-".into(), evaluate::format_value),
            evaluate::format_value(e.wall),
            f.model.as_str().into(),
        ]);
    }
    columns(&cells)
}

/// Rows of cells as left-aligned columns two spaces apart, one line each.
pub fn columns(cells: &[Vec<String>]) -> String {
    let width = |i: usize| {
        cells
            .iter()
            .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cells.first().map_or(0, Vec::len)).map(width).collect();
    let mut out = String::new();
    for r in cells {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
