//! How forecasts are shown to people and programs: the JSON rows of the API,
//! `runway once` and `runway forecast`, and the ranked text table. Pure
//! formatting; one place, so every surface says the same thing.

use serde_json::{json, Value};

use crate::evaluate::{self, human_duration, rfc3339, Evaluation};
use crate::forecast::Eta;
use crate::model::UnixSeconds;
use crate::roadmap::{Basis, BreakingPoint, Response, Stage};
use crate::snapshot::{Snapshot, Trust};

/// A number for JSON: `null` when it is not finite (JSON has no infinity).
fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

/// One forecast as a JSON object. `lead` (seconds), when given, decides the
/// `alert` field the way the daemon decides to fire (`Forecast::within`).
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
        "wall_at": f.wall_at(e.at).and_then(rfc3339),
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
        let (ttw, band) = eta_text(f.eta, " .. ");
        let at = f
            .wall_at(now)
            .and_then(rfc3339)
            .unwrap_or_else(|| "-".into());
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
            // Padded by hand: a format width above u16::MAX panics, and a
            // label value from the source can be that long.
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The roadmap's JSON: `{"generated_at", "growth_factor", "breaking_points":
/// [...], "changes": [...]}`, breaking points ranked first to last.
pub fn roadmap_json(snap: &Snapshot, growth: f64, now: UnixSeconds) -> Value {
    let points: Vec<Value> = snap
        .roadmap_with(growth)
        .iter()
        .enumerate()
        .map(|(i, p)| {
            point_json(
                p,
                i + 1,
                snap.trust_of(&p.evaluation.limit, &p.evaluation.labels),
            )
        })
        .collect();
    let changes: Vec<Value> = snap
        .changes
        .iter()
        .rev()
        .map(|c| {
            json!({
                "at": rfc3339(c.at),
                "limit": c.limit,
                "labels": c.labels,
                "change": c.kind.as_str(),
                "expected_time_to_wall_seconds": num(c.expected),
                "time_to_wall_seconds": num(c.now),
                "load_headroom_ratio_before": c.headroom_before.map_or(Value::Null, num),
                "load_headroom_ratio": c.headroom_now.map_or(Value::Null, num),
            })
        })
        .collect();
    json!({
        "generated_at": rfc3339(snap.evaluated_at.unwrap_or(now)),
        "growth_factor": growth,
        "breaking_points": points,
        "changes": changes,
        "limits_not_evaluated": not_evaluated_json(snap),
    })
}

/// The limits with nothing on the roadmap, and why, as JSON.
pub fn not_evaluated_json(snap: &Snapshot) -> Value {
    snap.not_evaluated()
        .into_iter()
        .map(|n| {
            json!({
                "limit": n.limit,
                "error": n.why,
                "forecasts_from": n.forecasts_from.and_then(rfc3339),
                "partly": n.partly,
            })
        })
        .collect()
}

/// The limits with nothing on the roadmap, and why, as a table's last
/// section (empty when there are none).
pub fn not_evaluated_text(snap: &Snapshot) -> String {
    let failed = snap.not_evaluated();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} (their breaking points{} are missing above)\n",
        crate::snapshot::not_evaluated_heading(&failed),
        crate::snapshot::some_of_them(&failed)
    );
    let now = snap.evaluated_at.unwrap_or(0.0);
    for n in failed {
        out.push_str(&format!("  {}: {}\n", n.limit, n.reason(now)));
    }
    out
}

/// One breaking point as a JSON object.
fn point_json(p: &BreakingPoint<'_>, rank: usize, trust: Option<&Trust>) -> Value {
    let e = p.evaluation;
    let f = &e.forecast;
    let h = &e.headroom;
    let driver = match &h.basis {
        Basis::Driver(d) => {
            let (intercept, slope, coefficient, exponent) = match d.fit.response {
                Response::Linear { intercept, slope } => {
                    (num(intercept), num(slope), Value::Null, Value::Null)
                }
                Response::Power {
                    coefficient,
                    exponent,
                } => (Value::Null, Value::Null, num(coefficient), num(exponent)),
            };
            json!({
                "response": d.fit.response.kind(),
                "intercept": intercept,
                "slope": slope,
                "coefficient": coefficient,
                "exponent": exponent,
                "r2": num(d.fit.r2),
                "samples": d.fit.pairs,
                "load_now": num(d.load_now),
                "load_at_wall": num(d.load_at_wall),
                "time_to_load_seconds": d.time_to_load.map_or(Value::Null, num),
            })
        }
        _ => Value::Null,
    };
    let eta = f.eta;
    json!({
        "rank": rank,
        "limit": e.limit,
        "labels": e.labels,
        "status": p.stage.as_str(),
        "severity": p.severity,
        "time_to_wall_seconds": eta.map_or(Value::Null, |x| num(x.likely)),
        "time_to_wall_lower_seconds": eta.map_or(Value::Null, |x| num(x.lower)),
        "time_to_wall_upper_seconds": eta.map_or(Value::Null, |x| num(x.upper)),
        "wall_at": f.wall_at(e.at).and_then(rfc3339),
        "load_headroom_ratio": h.ratio.map_or(Value::Null, num),
        "headroom_basis": h.basis_name(),
        "headroom_note": h.note,
        "driver": driver,
        "breaks_before_growth": p.breaks_before_growth,
        "growth_rate_per_second": num(f.rate),
        "doubling_time_seconds": p.doubling_time.map_or(Value::Null, num),
        "current_value": f.current_value.map_or(Value::Null, num),
        "wall": num(e.wall),
        "direction": e.direction.as_str(),
        "model": f.model.as_str(),
        "forecast_status": f.status.as_str(),
        "reason": f.reason,
        "trust": trust.map(trust_json),
        "summary": evaluate::summary(e),
    })
}

/// The time to wall and its band as a person reads them ("3d 4h",
/// "2d 20h .. 3d 15h", with `sep` between the edges); "-" without one.
pub fn eta_text(eta: Option<Eta>, sep: &str) -> (String, String) {
    eta.map_or(("-".into(), "-".into()), |x| {
        (
            human_duration(x.likely),
            format!(
                "{}{sep}{}",
                human_duration(x.lower),
                human_duration(x.upper)
            ),
        )
    })
}

/// When the wall becomes likely enough to alert on (`alert_probability`):
/// "2d 3h"; "waits" while the alert waits for more evidence (damped trends
/// doubt the climb lasts to the wall); "-" with no wall ahead. The rank
/// goes by the sooner of this and the likely time, so the tables show it.
pub fn alert_text(eta: Option<Eta>) -> String {
    match eta {
        Some(e) if e.alert.is_finite() => human_duration(e.alert),
        Some(e) if e.likely.is_finite() => "waits".into(),
        _ => "-".into(),
    }
}

/// "doubles in 3d", "+2000/day", or "-": how fast a point moves.
pub fn growth_text(p: &BreakingPoint<'_>) -> String {
    let rate = p.evaluation.forecast.rate;
    match p.doubling_time {
        Some(d) => format!("doubles in {}", human_duration(d)),
        None if rate.is_finite() => {
            let sign = if rate > 0.0 { "+" } else { "" };
            format!("{sign}{}/day", si(rate * 86_400.0))
        }
        None => "-".into(),
    }
}

/// `v` to three significant digits, with an SI prefix from a thousand up:
/// "-20G", "250", "0.00634".
pub fn si(v: f64) -> String {
    evaluate::readable(v, 3)
}

/// "3.2x", or "-" when unknown.
pub fn headroom_text(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) if r >= 10.0 => format!("{r:.1}x"),
        Some(r) => format!("{r:.2}x"),
        None => "-".into(),
    }
}

/// [`headroom_text`] spelled out for prose (a notice, a log line):
/// "unknown" rather than "-".
pub fn headroom_words(ratio: Option<f64>) -> String {
    match ratio {
        Some(_) => headroom_text(ratio),
        None => "unknown".into(),
    }
}

/// The share of a backtest's cuts erring one way from which the trust
/// text says so: two in three.
const LEANING: f64 = 2.0 / 3.0;

/// How far to trust a wall, in a few words: "eta within 1.4x, alert F1
/// 0.91", and which way the times err when two in three cuts err one way
/// ("eta within 1.8x, late at 76% of cuts").
pub fn trust_text(trust: Option<&Trust>) -> String {
    let Some(t) = trust else {
        return "not backtested".into();
    };
    let s = &t.scores;
    let mut parts = Vec::new();
    if let Some(e) = s.eta_error_median {
        // Which way it errs, when it mostly errs one way: a team reads
        // "late" as "expect the wall sooner than shown".
        let leaning = match (s.late_ratio, s.early_ratio) {
            (Some(r), _) if r >= LEANING => format!(", late at {:.0}% of cuts", 100.0 * r),
            (_, Some(r)) if r >= LEANING => format!(", early at {:.0}% of cuts", 100.0 * r),
            _ => String::new(),
        };
        parts.push(format!("eta within {:.1}x{leaning}", e.exp()));
    }
    if let Some(f1) = s.f1 {
        parts.push(format!("alert F1 {f1:.2}"));
    }
    if let Some(fa) = s.false_alarm_rate {
        parts.push(format!("false alarms {:.0}%", 100.0 * fa));
    }
    match (parts.is_empty(), &t.note) {
        (false, _) => parts.join(", "),
        (true, Some(note)) => format!("not judged: {note}"),
        (true, None) => "backtest had nothing to judge".into(),
    }
}

/// A series' latest backtest as JSON (the roadmap's `trust`, the
/// forecasts' `backtest`).
pub fn trust_json(t: &Trust) -> Value {
    json!({
        "at": rfc3339(t.at),
        "history_seconds": t.history,
        "scores": t.scores,
        "note": t.note,
    })
}

/// The cells of one roadmap row, for the table and markdown outputs.
fn roadmap_cells(p: &BreakingPoint<'_>, rank: usize, trust: Option<&Trust>) -> Vec<String> {
    let e = p.evaluation;
    let f = &e.forecast;
    let (ttw, band) = eta_text(f.eta, " .. ");
    let growth = growth_text(p);
    vec![
        rank.to_string(),
        e.limit.clone(),
        evaluate::label_string(&e.labels),
        p.stage.as_str().into(),
        ttw,
        band,
        alert_text(f.eta),
        headroom_text(e.headroom.ratio),
        growth,
        f.model.as_str().into(),
        trust_text(trust),
    ]
}

/// Where the series' labels are among [`roadmap_cells`].
const SERIES_COLUMN: usize = 2;

const ROADMAP_HEADER: [&str; 11] = [
    "#",
    "LIMIT",
    "SERIES",
    "STATUS",
    "TIME TO WALL",
    "BAND",
    "ALERT TIME",
    "HEADROOM",
    "GROWTH",
    "MODEL",
    "TRUST",
];

/// The roadmap as a text table: what must be addressed before load grows
/// by `growth`, then what is deferred, then the notes behind each headroom.
pub fn roadmap_table(snap: &Snapshot, growth: f64) -> String {
    let points = snap.roadmap_with(growth);
    let mut out = String::new();
    for (title, group) in sections(growth) {
        let mut cells: Vec<Vec<String>> =
            vec![ROADMAP_HEADER.iter().map(|s| s.to_string()).collect()];
        for (i, p) in points.iter().enumerate() {
            if group.holds(p) {
                let trust = snap.trust_of(&p.evaluation.limit, &p.evaluation.labels);
                cells.push(roadmap_cells(p, i + 1, trust));
            }
        }
        if cells.len() == 1 && group == Group::Unknown {
            continue;
        }
        out.push_str(&format!("{title}\n"));
        if cells.len() == 1 {
            out.push_str("  (none)\n\n");
        } else {
            out.push_str(&columns(&cells));
            out.push('\n');
        }
    }
    if !points.is_empty() {
        out.push_str("Load headroom\n");
    }
    for (i, p) in points.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {} {}: {}\n",
            i + 1,
            p.evaluation.limit,
            evaluate::label_string(&p.evaluation.labels),
            p.evaluation.headroom.note
        ));
    }
    let failed = not_evaluated_text(snap);
    if !failed.is_empty() && !points.is_empty() {
        out.push('\n');
    }
    out.push_str(&failed);
    out
}

/// The roadmap as Markdown, for a ticket or a design document.
pub fn roadmap_markdown(snap: &Snapshot, growth: f64, now: UnixSeconds) -> String {
    let points = snap.roadmap_with(growth);
    let when = rfc3339(snap.evaluated_at.unwrap_or(now)).unwrap_or_default();
    let mut out = format!(
        "# Scaling roadmap\n\nGenerated {when}. A breaking point must be addressed when it breaks before load grows {}x.\n",
        format_growth(growth)
    );
    for (title, group) in sections(growth) {
        let rows: Vec<Vec<String>> = points
            .iter()
            .enumerate()
            .filter(|(_, p)| group.holds(p))
            .map(|(i, p)| {
                let trust = snap.trust_of(&p.evaluation.limit, &p.evaluation.labels);
                roadmap_cells(p, i + 1, trust)
            })
            .collect();
        if rows.is_empty() && group == Group::Unknown {
            continue;
        }
        out.push_str(&format!("\n## {title}\n\n"));
        if rows.is_empty() {
            out.push_str("None.\n");
            continue;
        }
        let header: Vec<String> = ROADMAP_HEADER
            .iter()
            .map(|h| {
                let mut c = h.to_lowercase();
                if let Some(first) = c.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                c
            })
            .collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for r in rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    // The series is a code span, so that a label value's
                    // `*` or `_` is not read as emphasis; every cell's `|`
                    // is escaped, since GFM splits a row on it before it
                    // sees a code span.
                    let c = if i == SERIES_COLUMN {
                        code_span(c)
                    } else {
                        c.clone()
                    };
                    c.replace('|', "\\|")
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    if !points.is_empty() {
        out.push_str("\n## Load headroom\n\n");
    }
    for (i, p) in points.iter().enumerate() {
        out.push_str(&format!(
            "{}. **{}** {}: {}\n",
            i + 1,
            p.evaluation.limit,
            code_span(&evaluate::label_string(&p.evaluation.labels)),
            p.evaluation.headroom.note
        ));
    }
    let failed = snap.not_evaluated();
    if !failed.is_empty() {
        out.push_str(&format!(
            "\n## {}\n\nTheir breaking points{} are missing above.\n\n",
            crate::snapshot::not_evaluated_heading(&failed),
            crate::snapshot::some_of_them(&failed)
        ));
        let now = snap.evaluated_at.unwrap_or(0.0);
        for n in failed {
            out.push_str(&format!(
                "- **{}**: {}\n",
                n.limit,
                markdown_text(&n.reason(now))
            ));
        }
    }
    out
}

/// `text` (an error from a query, the source's words, not ours) as
/// Markdown prose that shows it as it is, on one line: every character that
/// could open an inline construct (emphasis, a code span, a link, HTML, an
/// entity) is escaped with a backslash, as CommonMark allows for any ASCII
/// punctuation, and a line break, which would end the list item, is a
/// space.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a Markdown code span that shows it as it is, whatever
/// backticks it holds (a label value is the source's, not ours). CommonMark
/// ends a span at the first backtick run as long as the one that opened
/// it, so the fence is one backtick longer than the longest run inside;
/// a space either side keeps a backtick at an edge from joining the fence,
/// and CommonMark strips exactly one such space from each end.
fn code_span(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    if pad {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// 10 -> "10", 3.5 -> "3.5".
fn format_growth(g: f64) -> String {
    evaluate::format_value(g)
}

/// The groups a roadmap's text is told in, in the ranking's order.
#[derive(Clone, Copy, PartialEq)]
enum Group {
    MustAddress,
    Deferred,
    /// Points that cannot be forecast: neither deferred nor to address,
    /// and only shown when there are some.
    Unknown,
}

impl Group {
    fn holds(self, p: &BreakingPoint<'_>) -> bool {
        let unknown = p.stage == Stage::Unknown;
        match self {
            Group::MustAddress => p.breaks_before_growth,
            Group::Deferred => !p.breaks_before_growth && !unknown,
            Group::Unknown => !p.breaks_before_growth && unknown,
        }
    }
}

/// The roadmap's groups, with their titles.
fn sections(growth: f64) -> [(String, Group); 3] {
    let g = format_growth(growth);
    let horizon = crate::roadmap::horizon_words();
    [
        (
            format!("Must address before {g}x load or within {horizon}"),
            Group::MustAddress,
        ),
        (
            format!("Deferred: breaks beyond {g}x load and not within {horizon}"),
            Group::Deferred,
        ),
        ("Cannot be forecast yet".to_string(), Group::Unknown),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point that cannot be forecast (one sample) is neither deferred
    /// nor to address: the text and Markdown roadmaps list it apart, after
    /// both, as the ranking orders it.
    #[test]
    fn points_that_cannot_be_forecast_are_not_filed_as_deferred() {
        use crate::evaluate::evaluate;
        use crate::forecast::Settings;
        use crate::model::{Direction, Sample, Series};
        const NOW: f64 = 1_800_000_000.0;
        let disk =
            |d: &str| -> crate::model::Labels { [("disk".to_string(), d.to_string())].into() };
        let filling = (0..50)
            .map(|k| Sample::new(NOW - 3600.0 * (49 - k) as f64, 1.0 + k as f64 / 100.0))
            .collect();
        let series = [
            Series::new(disk("slow"), filling),
            Series::new(disk("new"), vec![Sample::new(NOW, 50.0)]),
        ];
        let evaluations = evaluate(
            "disk_full",
            &series,
            &[100.0, 100.0],
            &[],
            Direction::Rising,
            &Settings::default(),
            NOW,
        );
        let snap = Snapshot::of_one_limit("disk_full", evaluations, NOW);
        for text in [
            roadmap_table(&snap, 10.0),
            roadmap_markdown(&snap, 10.0, NOW),
        ] {
            let at = |what: &str| {
                text.find(what)
                    .unwrap_or_else(|| panic!("no {what:?} in:\n{text}"))
            };
            let deferred = at("Deferred: breaks beyond 10x load and not within 10 lead times");
            let unknown = at("Cannot be forecast yet");
            assert!(
                deferred < at("disk=\"slow\"") && at("disk=\"slow\"") < unknown,
                "{text}"
            );
            assert!(unknown < at("disk=\"new\""), "{text}");
        }
        // Without such a point, no empty group is shown for it.
        let mut known = snap.clone();
        if let Some(status) = known.limits.get_mut("disk_full") {
            status.evaluations.truncate(1);
        }
        assert!(!roadmap_table(&known, 10.0).contains("Cannot be forecast"));
    }

    /// A wall that pages sooner on a wide band ranks above one likely
    /// sooner on a narrow one: the table shows the alert time the rank
    /// went by, so the two rows do not read as out of order; and "waits"
    /// for an alert that waits for more evidence.
    #[test]
    fn the_roadmap_shows_the_alert_time_it_ranks_by() {
        const NOW: f64 = 1_800_000_000.0;
        const DAY: f64 = 86_400.0;
        let disk =
            |d: &str| -> crate::model::Labels { [("disk".to_string(), d.to_string())].into() };
        let mut evaluations =
            crate::snapshot::hourly_fills(["wide", "narrow", "doubted"].map(disk), 1.0, NOW);
        for (e, (likely, alert)) in evaluations.iter_mut().zip([
            (9.0 * DAY, 2.0 * DAY),
            (5.0 * DAY, 4.0 * DAY),
            (6.0 * DAY, f64::INFINITY),
        ]) {
            let eta = e.forecast.eta.as_mut().expect("a filling disk has a time");
            eta.likely = likely;
            eta.alert = alert;
        }
        let snap = Snapshot::of_one_limit("disk_full", evaluations, NOW);
        let table = roadmap_table(&snap, 10.0);
        let row = |d: &str| {
            table
                .lines()
                .find(|l| l.contains(&format!("disk=\"{d}\"")))
                .unwrap_or_else(|| panic!("no {d} row in:\n{table}"))
        };
        let header = table.lines().nth(1).unwrap_or_default();
        let column = header.find("ALERT TIME").expect("an alert time column");
        let cell = |d: &str| {
            row(d)[column..]
                .split("  ")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(cell("wide"), "2d", "{table}");
        assert_eq!(cell("narrow"), "4d", "{table}");
        assert_eq!(cell("doubted"), "waits", "{table}");
        let at = |d: &str| table.find(row(d)).unwrap_or(usize::MAX);
        assert!(
            at("wide") < at("narrow") && at("narrow") < at("doubted"),
            "{table}"
        );
        let md = roadmap_markdown(&snap, 10.0, NOW);
        assert!(md.contains("| Alert time |"), "{md}");
    }

    /// A limit's error is the source's text: its `*`, `_`, backticks or
    /// HTML must not turn into formatting, nor its line breaks end the
    /// Markdown list item it is in.
    #[test]
    fn a_limits_error_reads_as_it_is_in_the_markdown_roadmap() {
        use crate::snapshot::LimitStatus;
        let error = "query `rate(x[5m])` was rejected: bad_data\n*unexpected* <end> & [more]";
        let snap = Snapshot {
            order: vec!["disk_full".into()],
            limits: [(
                "disk_full".to_string(),
                LimitStatus {
                    last_error: Some(error.into()),
                    ..LimitStatus::default()
                },
            )]
            .into(),
            ..Snapshot::default()
        };
        let md = roadmap_markdown(&snap, 10.0, 1_800_000_000.0);
        let item = md
            .lines()
            .find(|l| l.starts_with("- **disk_full**: "))
            .unwrap_or_else(|| panic!("no item for the limit in:\n{md}"));
        assert_eq!(
            item,
            "- **disk_full**: query \\`rate(x\\[5m\\])\\` was rejected: bad\\_data \\*unexpected\\* \\<end\\> \\& \\[more\\]",
            "{md}"
        );
    }

    /// The text a CommonMark code span shows: `s` must be exactly one span
    /// (a fence of n backticks, then no run of exactly n inside), with one
    /// space stripped from each end when both ends have one.
    fn shown_by_code_span(s: &str) -> Option<String> {
        let n = s.chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(n);
        if n == 0 || s.len() < 2 * n + 1 || !s.ends_with(&fence) {
            return None;
        }
        let inner = &s[n..s.len() - n];
        // A backtick just before the closing fence makes it a longer run,
        // and a run of n inside would close the span there.
        let closes_early = inner.split(|c| c != '`').any(|run| run.len() == n);
        if inner.ends_with('`') || closes_early {
            return None;
        }
        let padded = inner.len() >= 2
            && inner.starts_with(' ')
            && inner.ends_with(' ')
            && !inner.trim().is_empty();
        Some(if padded {
            inner[1..inner.len() - 1].to_string()
        } else {
            inner.to_string()
        })
    }

    /// A GFM table row's cells: split on each `|` not escaped by a
    /// backslash, then `\|` read as `|`, as cmark-gfm does before it
    /// parses a cell's inlines.
    fn gfm_cells(row: &str) -> Vec<String> {
        let row = row.trim();
        let row = row.strip_prefix('|').unwrap_or(row);
        let row = row.strip_suffix('|').unwrap_or(row);
        let mut cells = vec![String::new()];
        let mut chars = row.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let next = chars.next();
                    let cell = cells.last_mut().expect("one cell at least");
                    if next != Some('|') {
                        cell.push('\\');
                    }
                    cell.extend(next);
                }
                '|' => cells.push(String::new()),
                c => cells.last_mut().expect("one cell at least").push(c),
            }
        }
        cells.into_iter().map(|c| c.trim().to_string()).collect()
    }

    /// A label value is the source's: a backtick in it must not end the
    /// code span it is shown in, a `|` must not split the Markdown table's
    /// row, and a newline must not end it. Each series' row keeps its ten
    /// cells, and its labels read back exactly as `runway once` prints them.
    #[test]
    fn a_label_value_with_backticks_or_pipes_keeps_the_markdown_roadmap_whole() {
        const NOW: f64 = 1_800_000_000.0;
        let values = [
            "a`b",
            "`edge`",
            "``fenced``",
            "pipe|here",
            "line\nbreak",
            "back\\|slash",
            "*not_emphasis*",
        ];
        let snap = Snapshot::of_hourly_fills(
            values
                .iter()
                .map(|v| [("path".to_string(), v.to_string())].into()),
            1.0,
            NOW,
        );
        let md = roadmap_markdown(&snap, 10.0, NOW);
        for v in values {
            let labels: crate::model::Labels = [("path".to_string(), v.to_string())].into();
            let want = evaluate::label_string(&labels);
            // The table: a row of every column's cell, whose series cell
            // shows the labels.
            let rows: Vec<Vec<String>> = md
                .lines()
                .filter(|l| l.starts_with("| ") && l.contains("disk_full"))
                .map(gfm_cells)
                .filter(|cells| {
                    cells
                        .get(SERIES_COLUMN)
                        .and_then(|c| shown_by_code_span(c))
                        .as_deref()
                        == Some(want.as_str())
                })
                .collect();
            assert_eq!(rows.len(), 1, "no one row shows {want}:\n{md}");
            assert_eq!(rows[0].len(), ROADMAP_HEADER.len(), "{:?}\n{md}", rows[0]);
            // The headroom list: "1. **disk_full** `{...}`: ..." as one span.
            let listed = md.lines().any(|l| {
                l.split_once(" **disk_full** ")
                    .and_then(|(_, rest)| rest.rsplit_once(": breaks at"))
                    .and_then(|(span, _)| shown_by_code_span(span))
                    .as_deref()
                    == Some(want.as_str())
            });
            assert!(listed, "the headroom list does not show {want}:\n{md}");
        }
    }

    #[test]
    fn large_rates_read_with_a_prefix() {
        assert_eq!(si(-2e10), "-20G");
        assert_eq!(si(250.0), "250");
        assert_eq!(si(1234.5), "1.23k");
        assert_eq!(si(0.006_341), "0.00634");
        assert_eq!(si(3.5e6), "3.5M");
        // Rounded before the prefix is chosen: not "1000k".
        assert_eq!(si(999_999.0), "1M");
    }

    /// The trust text says which way the times err only when two in three
    /// cuts err that way: "late" tells a team to expect the wall sooner.
    /// Times on time lean no way.
    #[test]
    fn the_trust_text_says_which_way_the_times_lean() {
        let trust = |late: Option<f64>, early: Option<f64>| {
            let mut scores = crate::backtest::score(&[]);
            scores.eta_error_median = Some(1.4f64.ln());
            scores.late_ratio = late;
            scores.early_ratio = early;
            Trust {
                at: 0.0,
                history: 0.0,
                scores,
                note: None,
            }
        };
        let text = |late, early| trust_text(Some(&trust(Some(late), Some(early))));
        assert_eq!(text(0.5, 0.5), "eta within 1.4x");
        assert_eq!(text(0.6, 0.3), "eta within 1.4x");
        assert_eq!(text(0.76, 0.2), "eta within 1.4x, late at 76% of cuts");
        assert_eq!(text(0.2, 0.8), "eta within 1.4x, early at 80% of cuts");
        assert_eq!(text(0.0, 0.0), "eta within 1.4x", "on time");
        assert_eq!(trust_text(Some(&trust(None, None))), "eta within 1.4x");
    }

    /// A label value from the source can be longer than any format width
    /// (which panics above 65,535): the table still lines up.
    #[test]
    fn a_cell_of_any_length_lines_up() {
        let long = "x".repeat(70_000);
        let cells = vec![
            vec!["SERIES".to_string(), "STATUS".to_string()],
            vec![format!("{{path=\"{long}\"}}"), "approaching".to_string()],
        ];
        let table = columns(&cells);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0].find("STATUS"), lines[1].find("approaching"));
        // `{path="` and `"}`, then two spaces.
        assert_eq!(lines[1].find("approaching"), Some(70_000 + 9 + 2));
    }
}
