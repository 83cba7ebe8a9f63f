//! The status page, rendered on the server from the snapshot: the ranked
//! roadmap and, for each breaking point, a chart of its history, its
//! projection with the band, and the wall. Plain HTML and inline SVG: no
//! JavaScript, no build step, readable on a laptop at a glance. Pure: the
//! snapshot and the time in, a string out.

use std::fmt::Write as _;

use crate::evaluate::{self, human_duration, AlertState, Evaluation, Held};
use crate::model::UnixSeconds;
use crate::report::{alert_text, eta_text, growth_text, headroom_text, si, trust_text};
use crate::roadmap::{BreakingPoint, Stage};
use crate::snapshot::{AlertsBySeries, NotEvaluated, Snapshot};

/// The most breaking points drawn as charts.
pub const MAX_CHARTS: usize = 60;
/// The most rows in each table: a page for tens of thousands of series
/// stays light; the JSON has them all.
pub const MAX_ROWS: usize = 200;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const PAD_LEFT: f64 = 64.0;
const PAD_RIGHT: f64 = 12.0;
const PAD_Y: f64 = 14.0;
/// About how wide a character of the charts' 10-pixel labels is.
const CHAR_WIDTH: f64 = 6.0;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The whole page.
pub fn render(snap: &Snapshot, now: UnixSeconds) -> String {
    let growth = snap.growth_factor;
    let points = snap.roadmap();
    // One index of the held alerts for both tables.
    let held = snap.alerts_by_series();
    let g = evaluate::format_value(growth);
    let must = points.iter().filter(|p| p.breaks_before_growth).count();
    let deferred = points
        .iter()
        .filter(|p| !p.breaks_before_growth && p.stage != Stage::Unknown)
        .count();
    let mut when = snap
        .evaluated_at
        .and_then(evaluate::rfc3339)
        .unwrap_or_else(|| "not yet".into());
    // An evaluation in which limits failed still finishes: say so where
    // its time is, or the header reads as fresh while nothing is.
    let failing = snap.failing();
    if failing > 0 {
        let _ = write!(
            when,
            " (<a id=\"failing\" href=\"#not-evaluated\">{failing} of {} limits failed</a>)",
            snap.limits.len()
        );
    }

    let mut body = String::new();
    let _ = write!(
        body,
        r#"<header><h1>runway: scaling roadmap</h1>
<p class="lede">{none}<strong id="must-count">{must}</strong> breaking point{s1} to address before load grows {g}x · <span id="deferred-count">{deferred}</span> deferred · last evaluation {when} · <a href="/api/v1/roadmap">JSON</a> · <a href="/api/v1/forecasts">forecasts</a> · <a href="/metrics">metrics</a></p></header>
"#,
        s1 = if must == 1 { "" } else { "s" },
        // "0 breaking points to address" must not read as good news when
        // nothing could be evaluated.
        none = if failing > 0 && failing == snap.limits.len() && points.is_empty() {
            "No limit could be evaluated: "
        } else {
            ""
        },
    );
    // A reload that failed leaves runway on its older configuration: the
    // team that edited the file must see that its change is not running.
    if let Some((at, why)) = &snap.config.reload_error {
        let _ = writeln!(
            body,
            "<div id=\"reload-failed\" class=\"errors\"><p>Reading the configuration again at {} failed; runway runs on the one read at {}:</p><pre>{}</pre></div>",
            evaluate::rfc3339(*at).unwrap_or_default(),
            snap.config
                .loaded_at
                .and_then(evaluate::rfc3339)
                .unwrap_or_else(|| "start".into()),
            escape(why)
        );
    }
    if !snap.config.advisories.is_empty() {
        let _ = writeln!(
            body,
            "<div id=\"config-advice\"><p>The configuration runs, but asks what is most likely not meant:</p><ul>{}</ul></div>",
            snap.config
                .advisories
                .iter()
                .map(|a| format!("<li>{}</li>", escape(a)))
                .collect::<String>()
        );
    }
    if snap.evaluated_at.is_none() {
        body.push_str("<p id=\"not-yet\">The first evaluation has not finished yet; this page refreshes every minute.</p>\n");
    }
    let missing = snap.not_evaluated();
    body.push_str(&errors(&missing, now));
    body.push_str(&changes(snap));
    let mut first = table(&points, snap, &held, true);
    if first.is_empty() && snap.evaluated_at.is_some() {
        first = nothing_to_address(&g, &missing);
    }
    let _ = write!(body, "<h2>What breaks first</h2>\n{first}");
    let later: Vec<&BreakingPoint<'_>> =
        points.iter().filter(|p| !p.breaks_before_growth).collect();
    if !later.is_empty() {
        let _ = write!(
            body,
            "<details id=\"deferred\"><summary>Deferred and unknown: breaks beyond {g}x load and not within {}, or cannot be told ({})</summary>\n{}</details>\n",
            crate::roadmap::horizon_words(),
            later.len(),
            table(&points, snap, &held, false)
        );
    }
    body.push_str(&unlisted_alerts(&held, &points));
    body.push_str("<h2>Breaking points</h2>\n<div class=\"charts\">\n");
    for (i, p) in points.iter().enumerate().take(MAX_CHARTS) {
        body.push_str(&card(p, i + 1, growth, now));
    }
    if points.len() > MAX_CHARTS {
        let _ = write!(
            body,
            "<p>{} more in the tables above and in <a href=\"/api/v1/roadmap\">the JSON</a>.</p>",
            points.len() - MAX_CHARTS
        );
    }
    body.push_str("</div>\n");
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>runway: scaling roadmap</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #1f2328; }}
h1 {{ font-size: 1.5rem; margin-bottom: .25rem; }}
.lede {{ color: #444; }}
table {{ border-collapse: collapse; width: 100%; font-size: .92rem; }}
th, td {{ text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e5e5e5; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.badge {{ display: inline-block; padding: .05rem .45rem; border-radius: .6rem; font-size: .8rem; font-weight: 600; }}
.breached {{ background: #cf222e; color: #fff; }}
.critical {{ background: #fa4549; color: #fff; }}
.warning {{ background: #d4a72c; color: #fff; }}
.before_growth {{ background: #fff1c2; color: #7d4e00; }}
.deferred, .unknown {{ background: #eaeef2; color: #57606a; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1rem; }}
.card {{ border: 1px solid #d0d7de; border-radius: .5rem; padding: .6rem .8rem; }}
.card h3 {{ font-size: 1rem; margin: 0 0 .2rem 0; }}
.card p {{ margin: .2rem 0; font-size: .88rem; color: #444; }}
svg {{ width: 100%; height: auto; }}
.errors {{ color: #a40e26; }}
.alert {{ font-weight: 600; }}
.alert.firing {{ color: #cf222e; }}
.alert.pending {{ color: #7d4e00; }}
.alert.resolved {{ color: #57606a; font-weight: normal; }}
td.alerts {{ font-size: .85rem; }}
code {{ font-size: .85em; }}
</style></head>
<body>
{body}</body></html>
"#
    )
}

/// In place of an empty "what breaks first" table, after an evaluation:
/// `missing` limits were not evaluated, or only in part, and may hold what
/// breaks.
fn nothing_to_address(g: &str, missing: &[NotEvaluated<'_>]) -> String {
    let partly = missing.iter().filter(|n| n.partly).count();
    let said: Vec<String> = [
        (missing.len() - partly, "not evaluated"),
        (partly, "evaluated only in part"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| {
        let was = if n == 1 { "was" } else { "were" };
        format!("{} {was} {what}", evaluate::count(n, "limit"))
    })
    .collect();
    if said.is_empty() {
        return format!(
            "<p id=\"nothing-to-address\">Nothing breaks before load grows {g}x.</p>\n"
        );
    }
    format!(
        "<p id=\"nothing-to-address\">Nothing that was evaluated breaks before load grows {g}x; {} (listed above).</p>\n",
        said.join(", ")
    )
}

fn errors(missing: &[NotEvaluated<'_>], now: UnixSeconds) -> String {
    let mut items = String::new();
    for n in missing {
        let _ = write!(
            items,
            "<li><b>{}</b>: {}</li>",
            escape(n.limit),
            escape(&n.reason(now))
        );
    }
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<h2 id=\"not-evaluated\">Limits {}</h2><ul class=\"errors\">{items}</ul>\n",
        crate::snapshot::not_evaluated_heading(missing).to_lowercase()
    )
}

fn changes(snap: &Snapshot) -> String {
    if snap.changes.is_empty() {
        return String::new();
    }
    let mut items = String::new();
    for c in snap.changes.iter().rev().take(10) {
        let what = match c.kind {
            crate::roadmap::ChangeKind::Sooner | crate::roadmap::ChangeKind::Later => format!(
                "time to wall {} → {}",
                human_duration(c.expected),
                human_duration(c.now)
            ),
            _ => format!(
                "load headroom {} → {}",
                headroom_text(c.headroom_before),
                headroom_text(c.headroom_now)
            ),
        };
        let _ = write!(
            items,
            "<li>{} <b>{}</b> <code>{}</code>: {} ({})</li>",
            evaluate::rfc3339(c.at).unwrap_or_default(),
            escape(&c.limit),
            escape(&evaluate::label_string(&c.labels)),
            c.kind.as_str().replace('_', " "),
            escape(&what)
        );
    }
    format!("<h2>What changed</h2><ul id=\"changes\">{items}</ul>\n")
}

/// The ranked table of the points that must be addressed (`must`) or of
/// the rest.
fn table(
    points: &[BreakingPoint<'_>],
    snap: &Snapshot,
    held: &AlertsBySeries<'_>,
    must: bool,
) -> String {
    let mut rows = String::new();
    let mut shown = 0;
    let mut more = 0;
    for (i, p) in points.iter().enumerate() {
        if p.breaks_before_growth != must {
            continue;
        }
        if shown == MAX_ROWS {
            more += 1;
            continue;
        }
        shown += 1;
        let e = p.evaluation;
        let f = &e.forecast;
        let (ttw, band) = eta_text(f.eta, " – ");
        let growth_text = growth_text(p);
        let trust = snap.trust_of(&e.limit, &e.labels);
        let alerts = alerts_text(
            held.get(&(e.limit.as_str(), &e.labels))
                .map_or(&[], Vec::as_slice),
        );
        let _ = writeln!(
            rows,
            "<tr class=\"point\" data-rank=\"{rank}\" data-limit=\"{limit}\"><td class=\"num\">{rank}</td><td><a href=\"#point-{rank}\">{limit}</a></td><td><code>{labels}</code></td><td>{badge}</td><td class=\"alerts\">{alerts}</td><td class=\"num now\">{now}</td><td>{ttw}</td><td>{band}</td><td>{alert}</td><td class=\"num headroom\" title=\"{note}\">{headroom}</td><td>{growth_text}</td><td title=\"{reason}\">{model}</td><td>{trust}</td></tr>",
            rank = i + 1,
            limit = escape(&e.limit),
            labels = escape(&evaluate::label_string(&e.labels)),
            badge = badge(p.stage, snap.growth_factor),
            alert = alert_text(f.eta),
            note = escape(&e.headroom.note),
            headroom = headroom_text(e.headroom.ratio),
            reason = escape(&f.reason),
            model = f.model.as_str(),
            trust = escape(&trust_text(trust)),
            // How full it is, beside how soon: what someone woken for it
            // asks first. Digits enough for the two to read apart, as the
            // alert's summary prints them.
            now = escape(&match f.current_value {
                Some(v) => {
                    let (wall, v) = evaluate::wall_and_value(e.wall, v);
                    format!("{v} / {wall}")
                }
                None => format!("- / {}", evaluate::wall_text(e.wall)),
            }),
        );
    }
    if rows.is_empty() {
        return String::new();
    }
    if more > 0 {
        let _ = writeln!(
            rows,
            "<tr><td colspan=\"12\">… and {more} more, in <a href=\"/api/v1/roadmap\">the JSON</a>.</td></tr>"
        );
    }
    let id = if must { "roadmap" } else { "roadmap-deferred" };
    format!(
        "<table id=\"{id}\"><thead><tr><th>#</th><th>Limit</th><th>Series</th><th>Status</th><th>Alerts</th><th title=\"the newest value, and the wall\">Now / wall</th><th>Time to wall</th><th>Band (90%)</th><th title=\"when the wall becomes likely enough to alert on (alert_probability); the rank goes by the sooner of this and the time to wall; 'waits' while damped trends doubt the climb lasts to the wall\">Alert time</th><th>Load headroom</th><th>Growth</th><th>Model</th><th>Trust</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n"
    )
}

/// The alerts runway holds for series that no table lists: a series that
/// went away keeps firing for `keep_firing_for`, and then shows its
/// resolution; its page still reaches the on-call engineer, who looks for
/// it here. Empty when every alert is on a row.
fn unlisted_alerts(held: &AlertsBySeries<'_>, points: &[BreakingPoint<'_>]) -> String {
    let listed: std::collections::HashSet<(&str, &crate::model::Labels)> = points
        .iter()
        .map(|p| (p.evaluation.limit.as_str(), &p.evaluation.labels))
        .collect();
    let rows: String = held
        .iter()
        .filter(|(key, _)| !listed.contains(*key))
        .map(|((limit, series), held)| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"alerts\">{}</td></tr>\n",
                escape(limit),
                escape(&evaluate::label_string(series)),
                alerts_text(held)
            )
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>Alerts for series no longer reported</h2>\n<p>No row shows these series: their query no longer returns them, their limit is gone, or it has not been evaluated since runway started (alerts taken over from Alertmanager). The next evaluations keep, resolve or drop them.</p>\n<table id=\"unlisted-alerts\"><thead><tr><th>Limit</th><th>Series</th><th>Alerts</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n"
    )
}

/// The alerts runway holds for a series, as the on-call engineer who was
/// paged looks for them: "critical firing (active since …)", "warning
/// pending (…)" (held, not yet sent), "warning resolved at …"; "none"
/// without any.
fn alerts_text(held: &[&Held]) -> String {
    if held.is_empty() {
        return "none".to_string();
    }
    held.iter()
        .map(|a| {
            let at = evaluate::rfc3339(a.since).unwrap_or_default();
            // Active since: when the wall came within the lead time, as
            // Prometheus' activeAt (a firing alert fired a hold later).
            let when = match a.state {
                AlertState::Resolved => format!("at {at}"),
                AlertState::Pending | AlertState::Firing => format!("(active since {at})"),
            };
            format!(
                "<span class=\"alert {state}\">{severity} {state}</span> {when}",
                state = a.state.as_str(),
                severity = escape(&a.severity),
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A status in words, for its badge's tooltip. The badge itself shows the
/// status as the JSON, `runway roadmap` and the alerts name it
/// (`before_growth`), so that a row on the page can be matched to them;
/// a badge of its own wording ("must address") could not be.
fn stage_meaning(s: Stage, growth: &str) -> String {
    match s {
        Stage::Breached => "the wall is reached".into(),
        Stage::Critical => "the wall is inside its most urgent lead time".into(),
        Stage::Warning => "the wall is inside a lead time".into(),
        Stage::BeforeGrowth => format!(
            "must address: breaks before load grows {growth}x, or within {} at its trend",
            crate::roadmap::horizon_words()
        ),
        Stage::Deferred => format!(
            "deferred: breaks only beyond {growth}x load, and not within {} at its trend",
            crate::roadmap::horizon_words()
        ),
        Stage::Unknown => "cannot be forecast".into(),
    }
}

/// A point's status badge: its name, its meaning on hover.
fn badge(s: Stage, growth: f64) -> String {
    format!(
        "<span class=\"badge {name}\" title=\"{meaning}\">{name}</span>",
        name = s.as_str(),
        meaning = escape(&stage_meaning(s, &evaluate::format_value(growth)))
    )
}

/// One breaking point: its headline and its chart.
fn card(p: &BreakingPoint<'_>, rank: usize, growth: f64, now: UnixSeconds) -> String {
    let e = p.evaluation;
    format!(
        "<section class=\"card\" id=\"point-{rank}\" data-rank=\"{rank}\"><h3>{rank}. {limit} {badge}</h3><p><code>{labels}</code></p><p class=\"summary\">{summary}</p><p class=\"headroom-note\">{note}</p>{chart}</section>\n",
        limit = escape(&e.limit),
        badge = badge(p.stage, growth),
        labels = escape(&evaluate::label_string(&e.labels)),
        summary = escape(&evaluate::summary(e)),
        note = escape(&e.headroom.note),
        chart = chart(e, now),
    )
}

/// Maps data to the chart's pixels.
struct Frame {
    t0: f64,
    t1: f64,
    lo: f64,
    hi: f64,
}

impl Frame {
    fn x(&self, t: f64) -> f64 {
        let w = WIDTH - PAD_LEFT - PAD_RIGHT;
        PAD_LEFT + w * ((t - self.t0) / (self.t1 - self.t0)).clamp(0.0, 1.0)
    }
    fn y(&self, v: f64) -> f64 {
        let h = HEIGHT - 2.0 * PAD_Y;
        PAD_Y + h * (1.0 - ((v - self.lo) / (self.hi - self.lo)).clamp(-0.05, 1.05))
    }
}

/// The chart of one series: history, the projection to the wall with its
/// band, the wall, and now.
pub fn chart(e: &Evaluation, now: UnixSeconds) -> String {
    let h = &e.history;
    let (Some(first), Some(_)) = (h.first(), h.last()) else {
        return "<p class=\"no-chart\">No history to draw.</p>".into();
    };
    let f = &e.forecast;
    let span = (now - first.t).max(1.0);
    // The future shown: to the band's far edge when it is near, else a
    // stretch in proportion to the history.
    let future = match f.eta {
        Some(x) if x.likely.is_finite() => {
            let far = if x.upper.is_finite() {
                x.upper
            } else {
                2.0 * x.likely
            };
            far.max(x.likely * 1.1).clamp(0.1 * span, 3.0 * span)
        }
        _ => 0.3 * span,
    };
    let start = if f.level.is_finite() {
        f.level
    } else {
        f.current_value.unwrap_or(e.wall)
    };
    let end_t = now + future;
    let mut lo = e.wall.min(start);
    let mut hi = e.wall.max(start);
    for s in h {
        lo = lo.min(s.v);
        hi = hi.max(s.v);
    }
    if f.eta.is_none() && f.rate.is_finite() {
        let v = start + f.rate * future;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = 0.08 * (hi - lo);
    let fr = Frame {
        t0: first.t,
        t1: end_t,
        lo: lo - pad,
        hi: hi + pad,
    };

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{label}\" xmlns=\"http://www.w3.org/2000/svg\">",
        label = escape(&format!("history and projection of {} against its wall", e.limit)),
    );
    // Axis labels: the wall (below), and the lowest and highest values
    // shown where the wall is not already one of them.
    for v in [lo, hi] {
        if v != e.wall {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{x}\" y=\"{y:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#57606a\">{v}</text>",
                x = PAD_LEFT - 4.0,
                y = fr.y(v) + 3.0,
                // Short enough for the margin: "94.4G", not 94400000000.
                v = escape(&si(v)),
            );
        }
    }
    // The band: from now and the level, to the wall between its earliest
    // and latest times (to the chart's edge when the latest is beyond it).
    if let Some(x) = f.eta.filter(|x| x.likely.is_finite() && x.likely > 0.0) {
        let near = fr.x(now + x.lower);
        let far = fr.x(now + x.upper.min(future * 10.0));
        let _ = write!(
            svg,
            "<polygon class=\"band\" points=\"{:.1},{:.1} {near:.1},{:.1} {far:.1},{:.1}\" fill=\"#fa4549\" fill-opacity=\"0.15\" stroke=\"none\"/>",
            fr.x(now),
            fr.y(start),
            fr.y(e.wall),
            fr.y(e.wall),
        );
        // Cut at the chart's edge, where the wall is further on, on its way.
        let (end, at_end) = if x.likely > future {
            (end_t, start + (e.wall - start) * future / x.likely)
        } else {
            (now + x.likely, e.wall)
        };
        let _ = write!(
            svg,
            "<line class=\"projection\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#cf222e\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
            fr.x(now),
            fr.y(start),
            fr.x(end),
            fr.y(at_end),
        );
    } else if f.rate.is_finite() && f.status != crate::forecast::Status::Breached {
        let _ = write!(
            svg,
            "<line class=\"projection\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#57606a\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>",
            fr.x(now),
            fr.y(start),
            fr.x(end_t),
            fr.y(start + f.rate * future),
        );
    }
    // The history.
    let mut path = String::new();
    for s in h {
        let _ = write!(path, "{:.1},{:.1} ", fr.x(s.t), fr.y(s.v));
    }
    let _ = write!(
        svg,
        "<polyline class=\"history\" points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.2\"/>",
        path.trim_end()
    );
    // The wall and now.
    let wy = fr.y(e.wall);
    let _ = write!(
        svg,
        "<line class=\"wall\" x1=\"{PAD_LEFT}\" y1=\"{wy:.1}\" x2=\"{:.1}\" y2=\"{wy:.1}\" stroke=\"#cf222e\" stroke-width=\"1.5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#cf222e\">wall {}</text>",
        WIDTH - PAD_RIGHT,
        PAD_LEFT - 4.0,
        wy + 3.0,
        escape(&si(e.wall)),
    );
    // A likely time beyond the chart's right edge: the projection stops at
    // the edge short of the wall, and says how far on the wall is.
    if let Some(x) = f.eta.filter(|x| x.likely.is_finite() && x.likely > future) {
        let _ = write!(
            svg,
            "<text class=\"beyond\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#cf222e\">{} \u{2192}</text>",
            WIDTH - PAD_RIGHT,
            if wy > HEIGHT / 2.0 { wy - 4.0 } else { wy + 12.0 },
            escape(&format!("wall in {}", human_duration(x.likely))),
        );
    }
    let nx = fr.x(now);
    let horizon = format!("+{}", human_duration(future));
    // "now" sits under its line, unless the horizon's label, right-aligned
    // at the edge, would run into it (a short look-ahead: "now+4h 46m");
    // then it ends at the line, on the history's side.
    let horizon_starts = WIDTH - PAD_RIGHT - CHAR_WIDTH * horizon.chars().count() as f64;
    let (now_x, now_anchor) = if nx + 2.5 * CHAR_WIDTH > horizon_starts {
        (nx - 3.0, "end")
    } else {
        (nx, "middle")
    };
    let _ = write!(
        svg,
        "<line class=\"now\" x1=\"{nx:.1}\" y1=\"{PAD_Y}\" x2=\"{nx:.1}\" y2=\"{:.1}\" stroke=\"#8c959f\" stroke-width=\"1\"/><text class=\"now\" x=\"{now_x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"{now_anchor}\" fill=\"#57606a\">now</text>",
        HEIGHT - PAD_Y,
        HEIGHT - 2.0,
    );
    let _ = write!(
        svg,
        "<text x=\"{PAD_LEFT}\" y=\"{:.1}\" font-size=\"10\" fill=\"#57606a\">{}</text>",
        HEIGHT - 2.0,
        escape(&format!("{} ago", human_duration(span))),
    );
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#57606a\">{}</text></svg>",
        WIDTH - PAD_RIGHT,
        HEIGHT - 2.0,
        escape(&horizon),
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_first_evaluation_the_page_says_so_and_claims_nothing() {
        let page = render(&Snapshot::default(), 0.0);
        assert!(
            page.contains("The first evaluation has not finished"),
            "{page}"
        );
        assert!(!page.contains("Nothing breaks"), "{page}");
    }

    /// Disks `names`, each filling by one unit an hour towards 100 (at
    /// 59 now), evaluated at `NOW`.
    fn filling_disks(names: &[String]) -> Snapshot {
        Snapshot::of_hourly_fills(names.iter().map(|d| disk(d)), 10.0, NOW)
    }

    const NOW: f64 = 1_800_000_000.0;

    fn disk(d: &str) -> crate::model::Labels {
        [("disk".to_string(), d.to_string())].into()
    }

    /// The page names a status as the JSON, `runway roadmap` and the
    /// alerts do, so that a row can be matched to them: `before_growth`,
    /// with what it means on hover, not a wording of the page's own.
    #[test]
    fn the_status_reads_as_the_json_names_it() {
        let snap = filling_disks(&["a".to_string()]);
        let points = snap.roadmap();
        assert_eq!(points[0].stage, Stage::BeforeGrowth);
        let page = render(&snap, NOW);
        let badge = "<span class=\"badge before_growth\" title=\"must address: breaks before load grows 10x, or within 10 lead times at its trend\">before_growth</span>";
        // In the table's row and on the chart's card.
        assert_eq!(page.matches(badge).count(), 2, "{page}");
        assert!(!page.contains(">must address<"), "{page}");
    }

    /// A disk's bytes on a chart's axis fit its margin: "94.4G", not
    /// 94400000000 running off the chart's left edge; the table gives the
    /// newest value beside the wall.
    #[test]
    fn chart_axes_read_in_si_units() {
        let mut snap = filling_disks(&["a".to_string()]);
        // The table says how full beside how soon.
        let page = render(&snap, NOW);
        assert!(
            page.contains("<td class=\"num now\">59 / 100</td>"),
            "{page}"
        );
        if let Some(status) = snap.limits.get_mut("disk_full") {
            for e in &mut status.evaluations {
                for s in &mut e.history {
                    s.v *= 1e9;
                }
                e.wall *= 1e9;
            }
        }
        let page = render(&snap, NOW);
        let labels: Vec<&str> = page
            .split("font-size=\"10\" text-anchor=\"end\"")
            .skip(1)
            .filter_map(|rest| rest.split('>').nth(1))
            .filter_map(|text| text.split('<').next())
            .collect();
        assert!(labels.contains(&"wall 100G"), "{labels:?}");
        assert!(
            labels.iter().all(|l| l.len() <= 9),
            "a label too long for the margin: {labels:?}"
        );
    }

    /// A reload that failed is on the page, with the file's problems.
    /// (The engine clears it when one succeeds: tests/it/pipeline.rs.)
    #[test]
    fn a_failed_reload_is_said_on_the_page() {
        let mut snap = filling_disks(&["a".to_string()]);
        snap.config.loaded_at = Some(NOW - 3600.0);
        assert!(!render(&snap, NOW).contains("reload-failed"));
        snap.config.reload_error = Some((
            NOW,
            "runway.toml: limits[1].wall: expected a number, got \"<full>\"".into(),
        ));
        let page = render(&snap, NOW);
        assert!(
            page.contains("failed; runway runs on the one read at 2027-01-15T07:00:00Z"),
            "{page}"
        );
        assert!(
            page.contains("limits[1].wall: expected a number, got &quot;&lt;full&gt;&quot;"),
            "escaped: {page}"
        );
    }

    /// A page whose every limit failed for an hour must not read as fresh:
    /// the header says how many failed beside the evaluation's time, and
    /// the list says how old the forecasts still shown are.
    #[test]
    fn a_page_whose_limits_fail_says_so_beside_the_time_and_how_old_its_forecasts_are() {
        let mut snap = filling_disks(&["a".to_string()]);
        let fresh = render(&snap, NOW);
        assert!(!fresh.contains("limits failed"), "{fresh}");
        let later = NOW + 3600.0;
        snap.evaluated_at = Some(later);
        if let Some(status) = snap.limits.get_mut("disk_full") {
            status.last_success = Some(NOW);
            status.last_error = Some("query \"disk\" timed out after 30s".into());
        }
        let page = render(&snap, later);
        assert!(
            page.contains(">1 of 1 limits failed</a>"),
            "in the header: {page}"
        );
        assert!(
            page.contains(
                "timed out after 30s; its forecasts shown are from 2027-01-15T08:00:00Z (1h ago)"
            ),
            "{page}"
        );
        assert_eq!(
            page.matches("<tr class=\"point\"").count(),
            1,
            "still shown"
        );
    }

    /// One disk's limit evaluated now, with what `left_out` says was left
    /// out of it.
    fn one_disk_evaluated_in_part(
        left_out: impl FnOnce(&mut crate::snapshot::LimitStatus),
    ) -> Snapshot {
        let mut snap = filling_disks(&["a".to_string()]);
        if let Some(status) = snap.limits.get_mut("disk_full") {
            status.last_success = Some(NOW);
            left_out(status);
        }
        snap
    }

    /// Series the forecaster failed on are missing from an evaluation that
    /// succeeded: the page says so, beside the others it shows.
    #[test]
    fn a_limit_with_series_the_forecaster_failed_on_is_listed() {
        let snap = one_disk_evaluated_in_part(|status| status.failed_series = 2);
        let page = render(&snap, NOW);
        assert!(
            page.contains(
                "<b>disk_full</b>: the forecaster failed on 2 series (see the log); the others are on the roadmap"
            ),
            "{page}"
        );
        assert_eq!(page.matches("<tr class=\"point\"").count(), 1);
        // It was evaluated, in part: not a limit that was not evaluated.
        assert!(
            page.contains("<h2 id=\"not-evaluated\">Limits evaluated in part</h2>"),
            "{page}"
        );
    }

    /// A `wall_query` that covers some series only is a limit evaluated in
    /// part, told from one not evaluated at all: in the heading, and where
    /// nothing evaluated must be addressed.
    #[test]
    fn limits_evaluated_in_part_are_told_from_those_not_evaluated() {
        let mut snap = one_disk_evaluated_in_part(|status| {
            status.unmatched_series = 1;
            status.unmatched_example = Some(disk("b"));
        });
        snap.order.push("queue_full".into());
        snap.limits.insert(
            "queue_full".into(),
            crate::snapshot::LimitStatus {
                last_error: Some("source unavailable".into()),
                ..Default::default()
            },
        );
        let page = render(&snap, NOW);
        assert!(
            page.contains("<h2 id=\"not-evaluated\">Limits not evaluated, or only in part</h2>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<b>disk_full</b>: 1 series had no wall from wall_query (one is {disk=&quot;b&quot;}); the others are on the roadmap"
            ),
            "{page}"
        );
        let missing = snap.not_evaluated();
        assert!(
            nothing_to_address("10", &missing).contains(
                "Nothing that was evaluated breaks before load grows 10x; 1 limit was not evaluated, 1 limit was evaluated only in part (listed above)."
            )
        );
        assert!(
            nothing_to_address("10", &missing[..1]).contains(
                "Nothing that was evaluated breaks before load grows 10x; 1 limit was evaluated only in part (listed above)."
            )
        );
    }

    /// With the source down since startup every limit failed and nothing
    /// is on the roadmap: the page must not say that nothing breaks.
    #[test]
    fn a_page_whose_limits_all_failed_does_not_say_nothing_breaks() {
        let snap = Snapshot {
            order: vec!["disk_full".into(), "queue_full".into()],
            limits: ["disk_full", "queue_full"]
                .map(|n| {
                    (
                        n.to_string(),
                        crate::snapshot::LimitStatus {
                            last_error: Some("source unavailable".into()),
                            ..Default::default()
                        },
                    )
                })
                .into(),
            evaluated_at: Some(NOW),
            ..Snapshot::default()
        };
        let page = render(&snap, NOW);
        assert!(!page.contains("Nothing breaks"), "{page}");
        assert!(
            page.contains(
                "Nothing that was evaluated breaks before load grows 10x; 2 limits were not evaluated (listed above)."
            ),
            "{page}"
        );
        assert!(page.contains(">2 of 2 limits failed</a>"), "{page}");
        assert!(
            page.contains("No limit could be evaluated: <strong id=\"must-count\">0</strong>"),
            "{page}"
        );
    }

    #[test]
    fn a_page_for_many_series_shows_the_first_rows_and_says_how_many_more() {
        let names: Vec<String> = (0..MAX_ROWS + 25).map(|i| format!("d{i}")).collect();
        let snap = filling_disks(&names);
        let now = NOW;
        let page = render(&snap, now);
        assert_eq!(page.matches("<tr class=\"point\"").count(), MAX_ROWS);
        assert!(page.contains("… and 25 more"), "the rest are counted");
        assert_eq!(page.matches("<svg class=\"chart\"").count(), MAX_CHARTS);
    }

    #[test]
    fn each_row_says_which_alerts_are_pending_firing_or_resolved() {
        let now = NOW;
        let held = |d: &str, severity: &str, state, since| Held {
            limit: "disk_full".into(),
            series: disk(d),
            severity: severity.into(),
            state,
            since,
        };
        let snap = Snapshot {
            alerts: vec![
                held("a", "warning", AlertState::Firing, now - 7200.0),
                held("a", "critical", AlertState::Pending, now - 60.0),
                held("b", "warning", AlertState::Resolved, now - 600.0),
            ],
            ..filling_disks(&["a".into(), "b".into(), "c".into()])
        };
        let page = render(&snap, now);
        let row = |d: &str| {
            page.lines()
                .find(|l| {
                    l.starts_with("<tr class=\"point\"")
                        && l.contains(&format!("disk=&quot;{d}&quot;"))
                })
                .unwrap_or_else(|| panic!("no row for {d}: {page}"))
                .to_string()
        };
        let a = row("a");
        assert!(
            a.contains("warning firing</span> (active since 2027-01-15T06:00:00Z)"),
            "{a}"
        );
        assert!(
            a.contains("critical pending</span> (active since 2027-01-15T07:59:00Z)"),
            "{a}"
        );
        assert!(
            row("b").contains("warning resolved</span> at 2027-01-15T07:50:00Z"),
            "{}",
            row("b")
        );
        assert!(
            row("c").contains("<td class=\"alerts\">none</td>"),
            "{}",
            row("c")
        );
        assert!(!page.contains("unlisted-alerts"), "every alert is on a row");
    }

    /// A series that went away is on no row, but its page still fires for
    /// `keep_firing_for` and then resolves: the page lists it on its own.
    #[test]
    fn the_alerts_of_a_series_no_longer_reported_are_listed() {
        let snap = Snapshot {
            alerts: vec![Held {
                limit: "disk_full".into(),
                series: disk("gone"),
                severity: "critical".into(),
                state: AlertState::Firing,
                since: NOW - 3600.0,
            }],
            ..filling_disks(&["a".into()])
        };
        let page = render(&snap, NOW);
        let section = page
            .split_once("<table id=\"unlisted-alerts\">")
            .and_then(|(_, rest)| rest.split_once("</table>"))
            .map(|(table, _)| table)
            .unwrap_or_else(|| panic!("no unlisted alerts: {page}"));
        assert!(section.contains("disk=&quot;gone&quot;"), "{section}");
        assert!(
            section.contains("critical firing</span> (active since 2027-01-15T07:00:00Z)"),
            "{section}"
        );
        assert!(!section.contains("disk=&quot;a&quot;"), "{section}");
    }

    /// Hourly samples from `v0` by `step` an hour, 50 of them up to `NOW`,
    /// against `wall`, charted.
    fn charted(v0: f64, step: f64, wall: f64, direction: crate::model::Direction) -> String {
        use crate::model::{Sample, Series};
        let samples = (0..50)
            .map(|k| Sample::new(NOW - 3600.0 * (49 - k) as f64, v0 + step * k as f64))
            .collect();
        let series = [Series::new(disk("a"), samples)];
        let e = crate::evaluate::evaluate(
            "disk_full",
            &series,
            &[wall],
            &[],
            direction,
            &crate::forecast::Settings::default(),
            NOW,
        );
        chart(&e[0], NOW)
    }

    /// The y-axis is labelled at both ends (the wall being one of them or
    /// not), and a wall beyond the chart's right edge is said there, the
    /// projection cut at the edge on its way rather than drawn reaching
    /// the wall at the edge.
    #[test]
    fn a_chart_labels_its_range_and_says_where_a_wall_beyond_it_is() {
        use crate::model::Direction;
        let axis = |svg: &str| -> Vec<String> {
            svg.split("<text class=\"axis\"")
                .skip(1)
                .filter_map(|t| t.split('>').nth(1)?.split('<').next().map(String::from))
                .collect()
        };
        // Free space falling towards 0: 0 is the wall (labelled as such),
        // and the top is labelled with the highest value.
        let falling = charted(100.0, -1.0, 0.0, Direction::Falling);
        assert_eq!(axis(&falling), ["100"], "{falling}");
        assert!(falling.contains(">wall 0</text>"));
        assert!(!falling.contains("class=\"beyond\""));
        // A wall within reach ends the projection on the wall's line.
        let near = charted(10.0, 1.0, 100.0, Direction::Rising);
        assert_eq!(axis(&near), ["10"], "{near}");
        assert!(!near.contains("class=\"beyond\""));
        // A wall 941 hours on, past the chart's three spans of history.
        let far = charted(10.0, 1.0, 1000.0, Direction::Rising);
        assert!(far.contains(">wall in 39d 5h \u{2192}</text>"), "{far}");
        let y = |svg: &str, class: &str, attr: &str| -> f64 {
            let el = svg
                .split(&format!("class=\"{class}\""))
                .nth(1)
                .unwrap_or("");
            el.split(&format!("{attr}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let (end, wall) = (y(&far, "projection", "y2"), y(&far, "wall", "y1"));
        assert!(
            end > wall + 20.0,
            "the projection ends at {end}, the wall is at {wall}"
        );
    }

    /// "now" and the look-ahead's label do not run together ("now+4h 54m")
    /// when the look-ahead is short, as on a breached or critical chart.
    #[test]
    fn now_stays_clear_of_the_look_ahead_label() {
        use crate::model::Direction;
        let anchor = |svg: &str| -> String {
            svg.split("<text class=\"now\"")
                .nth(1)
                .and_then(|t| t.split("text-anchor=\"").nth(1))
                .and_then(|t| t.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        // Past its wall: the chart looks a tenth of the history ahead.
        let breached = charted(10.0, 1.0, 30.0, Direction::Rising);
        assert!(breached.contains(">+4h 54m</text>"), "{breached}");
        assert_eq!(anchor(&breached), "end", "{breached}");
        // A wall days ahead leaves room: "now" is centred under its line.
        let near = charted(10.0, 1.0, 100.0, Direction::Rising);
        assert_eq!(anchor(&near), "middle", "{near}");
    }

    #[test]
    fn names_and_labels_are_escaped() {
        assert_eq!(
            escape("<b a=\"1\">&</b>"),
            "&lt;b a=&quot;1&quot;&gt;&amp;&lt;/b&gt;"
        );
    }
}
