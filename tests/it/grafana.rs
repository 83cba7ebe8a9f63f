//! The Grafana dashboard (`deploy/grafana/runway.json`) used as Grafana uses
//! it: every query of every panel, with the dashboard's variables filled in
//! as Grafana fills them, runs against a real Prometheus scraping
//! `runway demo` and must return data. A panel whose metric was renamed, or
//! whose PromQL does not parse, fails here and not on someone's wall screen.
//! The example alerting rules' expressions are run against the same kind of
//! Prometheus, for the metrics they read.

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{free_port, now_secs, parse_value, Prometheus};

const DASHBOARD: &str = "deploy/grafana/runway.json";

/// The datasource every panel and query must use: the dashboard's
/// `datasource` variable, so that the dashboard imports into any Grafana.
const DATASOURCE_UID: &str = "${datasource}";

/// Grafana's built-in interval variables, as Grafana would set them for a
/// Prometheus scraped every second and a five-minute time range.
const BUILT_INS: &[(&str, &str)] = &[
    ("__rate_interval", "1m"),
    ("__interval", "15s"),
    ("__range", "5m"),
];

/// `runway demo` evaluates every 10 s: the first scrapes show one evaluation,
/// and `rate()` needs the counter to move between two of them.
const DATA_TIMEOUT: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grafana_panel_query_returns_data_from_a_real_prometheus() {
    let text = read(DASHBOARD);
    let dashboard: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not JSON: {e}"));

    let mut failures = structure_problems(&dashboard);
    let queries = panel_queries(&dashboard);
    assert!(
        queries.len() >= 10,
        "{DASHBOARD}: only {} queries found: is the panel walk broken?",
        queries.len()
    );

    let (_demo, prometheus) = scraped_demo(&[
        "runway_time_to_wall_seconds",
        "rate(runway_evaluation_duration_seconds_count[1m]) > 0",
    ])
    .await;

    // The `limit` variable as Grafana resolves it: "All" is its allValue,
    // and a single choice is one of the values its label_values query finds.
    let limit = variable(&dashboard, "limit");
    let all = limit["allValue"].as_str().unwrap_or(".*").to_string();
    let values = label_values(&prometheus, &variable_query(limit)).await;
    let mut choices = vec![("All".to_string(), all)];
    match values.first() {
        Some(one) => choices.push((one.clone(), regex_escape(one))),
        None => failures.push(format!(
            "variable `limit`: {:?} found no value in Prometheus",
            variable_query(limit)
        )),
    }

    let known = label_values(&prometheus, "label_values(__name__)").await;
    let mut passed = 0;
    // A query that does not use `limit` is the same for every choice: run once.
    let mut ran = BTreeSet::new();
    for (choice, value) in &choices {
        let mut vars: Vec<(&str, &str)> = BUILT_INS.to_vec();
        vars.push(("limit", value));
        for query in &queries {
            let expr = fill(&query.expr, &vars);
            if !ran.insert((&query.panel, &query.ref_id, expr.clone())) {
                continue;
            }
            match check_query(&prometheus, &expr).await {
                Ok(series) => {
                    passed += 1;
                    eprintln!(
                        "ok: {:?} (limit = {choice}): {series} series: {expr}",
                        query.panel
                    );
                }
                Err(problem) => failures.push(format!(
                    "panel {:?} query {} (limit = {choice}): {expr}\n    {problem}{}",
                    query.panel,
                    query.ref_id,
                    missing_metrics(&expr, &known) + &unfilled_variables(&expr)
                )),
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{DASHBOARD}: {} problem(s) ({passed} queries returned data):\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}

/// The example alerting rules (`deploy/prometheus/runway-rules.yml`) read
/// runway's metrics by name, as the dashboard does: each rule's expression,
/// and each query its annotations run, must be PromQL that a real
/// Prometheus scraping `runway demo` accepts, and every runway metric it
/// names must be one that Prometheus has. promtool's
/// unit tests (`tests/it/deploy.rs`) feed the rules series they name
/// themselves, so a metric renamed in runway, or a rule reading one that
/// runway does not export, passes them and watches nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_rule_reads_metrics_a_real_prometheus_has_from_runway() {
    let rules = rule_exprs(&read(RULES));
    assert!(
        rules.len() >= 10,
        "{RULES}: only {} rules found: is the walk broken?",
        rules.len()
    );
    assert!(
        rules.iter().any(|(_, q)| q == "runway_alert_probability"),
        "{RULES}: no description reads runway_alert_probability: is the walk broken?"
    );

    let (_demo, prometheus) = scraped_demo(&["runway_wall_alert_timestamp_seconds"]).await;
    let known = label_values(&prometheus, "label_values(__name__)").await;
    let mut failures = Vec::new();
    for (alert, expr) in &rules {
        let answer = prometheus.query(expr, now_secs()).await;
        if answer["status"] != "success" {
            failures.push(format!(
                "{alert}: Prometheus rejected {expr:?}: {}",
                answer["error"].as_str().unwrap_or_default()
            ));
        }
        let missing = missing_metrics(expr, &known);
        if !missing.is_empty() {
            failures.push(format!("{alert}: {expr:?}{missing}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{RULES}: {} problem(s):\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}

const RULES: &str = "deploy/prometheus/runway-rules.yml";

/// A file of the repository, as text.
fn read(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `runway demo` and a real Prometheus scraping it every second, once
/// Prometheus has data for each of `promql`.
async fn scraped_demo(promql: &[&str]) -> (Demo, Prometheus) {
    let demo = Demo::start().await;
    let prometheus = Prometheus::start_scraping(&[demo.address()], "1s").await;
    for promql in promql {
        if let Err(message) = prometheus.wait_for_series(promql, DATA_TIMEOUT).await {
            panic!(
                "Prometheus scraping runway demo never had the data needed: {message}\n\
                 runway demo log:\n{}\nPrometheus log tail:\n{}",
                demo.log(),
                tail(&prometheus.log(), 20)
            );
        }
    }
    (demo, prometheus)
}

/// (alert, expr) of every alerting rule of every group, and (alert's
/// annotation, query) of every `query "..."` its annotations' templates run.
fn rule_exprs(text: &str) -> Vec<(String, String)> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{RULES} is not YAML: {e}"));
    let mut found = Vec::new();
    let rules = doc["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten());
    for rule in rules {
        let (Some(alert), Some(expr)) = (rule["alert"].as_str(), rule["expr"].as_str()) else {
            continue;
        };
        found.push((alert.to_string(), expr.to_string()));
        for (name, template) in rule["annotations"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or("?");
            for query in template_queries(template.as_str().unwrap_or_default()) {
                found.push((format!("{alert} (its {name})"), query));
            }
        }
    }
    found
}

/// The PromQL of each `query "..."` in an alert template (Go's quoting:
/// backslash escapes).
fn template_queries(template: &str) -> Vec<String> {
    let mut queries = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("query \"") {
        rest = &rest[at + "query \"".len()..];
        let mut query = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => query.extend(chars.next().map(|(_, c)| c)),
                '"' => {
                    rest = &rest[i + 1..];
                    break;
                }
                c => query.push(c),
            }
        }
        queries.push(query);
    }
    queries
}

/// One query of one panel, as written in the dashboard.
struct PanelQuery {
    panel: String,
    ref_id: String,
    expr: String,
}

/// Every panel, those inside collapsed rows included (Grafana keeps a
/// collapsed row's panels in the row's own `panels`).
fn all_panels(list: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in list.as_array().into_iter().flatten() {
        out.push(panel);
        out.extend(all_panels(&panel["panels"]));
    }
    out
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

fn panel_queries(dashboard: &Value) -> Vec<PanelQuery> {
    all_panels(&dashboard["panels"])
        .into_iter()
        .filter(|p| !is_row(p))
        .flat_map(|p| {
            let panel = p["title"].as_str().unwrap_or("(untitled)").to_string();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| PanelQuery {
                    panel: panel.clone(),
                    ref_id: t["refId"].as_str().unwrap_or("?").to_string(),
                    expr: t["expr"].as_str().unwrap_or_default().to_string(),
                })
        })
        .collect()
}

/// What Grafana would refuse or show wrongly: panels without a title or a
/// query, datasources that are not the `datasource` variable, a `limit`
/// variable that is not the multi-value one the queries expect.
fn structure_problems(dashboard: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if dashboard["schemaVersion"] != 39 {
        problems.push(format!(
            "schemaVersion is {}, not 39",
            dashboard["schemaVersion"]
        ));
    }
    let datasource = variable(dashboard, "datasource");
    if datasource["type"] != "datasource" || datasource["query"] != "prometheus" {
        problems.push(format!(
            "variable `datasource` is not a Prometheus datasource variable: {datasource}"
        ));
    }
    let limit = variable(dashboard, "limit");
    if limit.is_null() {
        problems.push("no variable `limit`".to_string());
    } else {
        if !uses_datasource(&limit["datasource"]) {
            problems.push(format!(
                "variable `limit` does not query ${{datasource}}: {}",
                limit["datasource"]
            ));
        }
        if variable_query(limit) != "label_values(runway_time_to_wall_seconds, limit)" {
            problems.push(format!(
                "variable `limit` queries {:?}",
                variable_query(limit)
            ));
        }
        if limit["multi"] != true || limit["includeAll"] != true || limit["allValue"] != ".*" {
            problems.push(format!(
                "variable `limit` must be multi-value with All = .* (multi {}, includeAll {}, allValue {})",
                limit["multi"], limit["includeAll"], limit["allValue"]
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for panel in all_panels(&dashboard["panels"]) {
        let title = panel["title"].as_str().unwrap_or_default();
        let name = if title.is_empty() {
            format!("panel id {}", panel["id"])
        } else {
            format!("panel {title:?}")
        };
        if title.trim().is_empty() {
            problems.push(format!("{name} has no title"));
        }
        if !ids.insert(panel["id"].to_string()) {
            problems.push(format!("{name}: id {} is used twice", panel["id"]));
        }
        if is_row(panel) {
            continue;
        }
        if !uses_datasource(&panel["datasource"]) {
            problems.push(format!(
                "{name}: datasource {} is not {{\"type\":\"prometheus\",\"uid\":\"{DATASOURCE_UID}\"}}",
                panel["datasource"]
            ));
        }
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("{name} has no query"));
        }
        let mut ref_ids = BTreeSet::new();
        for target in &targets {
            let ref_id = target["refId"].as_str().unwrap_or_default();
            if !ref_ids.insert(ref_id) {
                problems.push(format!("{name}: refId {ref_id:?} is used twice"));
            }
            if !uses_datasource(&target["datasource"]) {
                problems.push(format!(
                    "{name} query {ref_id}: datasource {} is not ${{datasource}}",
                    target["datasource"]
                ));
            }
            if target["expr"].as_str().is_none_or(|e| e.trim().is_empty()) {
                problems.push(format!("{name} query {ref_id} has no expr"));
            }
        }
    }
    problems
}

fn uses_datasource(datasource: &Value) -> bool {
    datasource["type"] == "prometheus" && datasource["uid"] == DATASOURCE_UID
}

/// The dashboard variable called `name`, or Null.
fn variable<'a>(dashboard: &'a Value, name: &str) -> &'a Value {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name)
        .unwrap_or(&Value::Null)
}

/// A query variable's query: a string in older dashboards, an object with a
/// `query` string since Grafana 10's variable editor.
fn variable_query(variable: &Value) -> String {
    variable["query"]
        .as_str()
        .or_else(|| variable["query"]["query"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The values of `label_values(METRIC, LABEL)` or `label_values(LABEL)`,
/// asked of Prometheus' label API as Grafana asks it, sorted.
async fn label_values(prometheus: &Prometheus, query: &str) -> Vec<String> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{query:?} is not label_values(...)"));
    let (metric, label) = match inner.rsplit_once(',') {
        Some((metric, label)) => (Some(metric.trim()), label.trim()),
        None => (None, inner.trim()),
    };
    let url = format!("{}/api/v1/label/{label}/values", prometheus.url());
    let mut request = reqwest::Client::new().get(&url);
    if let Some(metric) = metric {
        request = request.query(&[("match[]", metric)]);
    }
    let answer: Value = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
    let mut values: Vec<String> = answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {url} for {query:?}: {answer}"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    values.sort();
    values
}

/// `expr` with every `$name`, `${name}` and `${name:format}` of `vars`
/// replaced by its value. Unknown variables are left as they are (and then
/// fail in Prometheus, naming themselves).
fn fill(expr: &str, vars: &[(&str, &str)]) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => {
                    let inside = &braced[..end];
                    (inside.split(':').next().unwrap_or(inside), end + 2)
                }
                None => ("", 0),
            }
        } else {
            let len = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
            (&after[..len], len)
        };
        match vars.iter().find(|(n, _)| *n == name) {
            Some((_, value)) if used > 0 => {
                out.push_str(value);
                rest = &after[used..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A single value of a multi-value variable in a regex matcher, escaped as
/// Grafana's Prometheus datasource escapes it (a backslash, doubled inside
/// the PromQL string, before each regex metacharacter).
fn regex_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if "\\^$*+?.()|{}[]'".contains(c) {
            out.push_str("\\\\");
        }
        out.push(c);
    }
    out
}

/// Ok(number of series) if the instant query at now returns at least one
/// sample that is not NaN (a panel of NaN shows no value).
async fn check_query(prometheus: &Prometheus, expr: &str) -> Result<usize, String> {
    let answer = prometheus.query(expr, now_secs()).await;
    if answer["status"] != "success" {
        return Err(format!(
            "Prometheus rejected it: {} {}",
            answer["errorType"].as_str().unwrap_or_default(),
            answer["error"].as_str().unwrap_or_default()
        ));
    }
    let data = &answer["data"];
    let samples: Vec<&Value> = match data["resultType"].as_str() {
        Some("scalar") => vec![&data["result"][1]],
        Some("vector") => data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| &r["value"][1])
            .collect(),
        Some("matrix") => data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["values"].as_array().into_iter().flatten())
            .map(|v| &v[1])
            .collect(),
        other => return Err(format!("unexpected result type {other:?}: {answer}")),
    };
    if samples.is_empty() {
        return Err("returned no series".to_string());
    }
    if samples.iter().all(|v| parse_value(v).is_nan()) {
        return Err(format!("returned only NaN: {}", data["result"]));
    }
    Ok(data["result"].as_array().map_or(1, Vec::len))
}

/// "; Prometheus has no metric X" for each runway metric `expr` names that
/// Prometheus has never seen: the usual reason for an empty panel.
fn missing_metrics(expr: &str, known: &[String]) -> String {
    let names: BTreeSet<&str> = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("runway_"))
        .collect();
    names
        .into_iter()
        .filter(|n| !known.iter().any(|k| k == n))
        .map(|n| format!("; Prometheus has no metric {n}"))
        .collect()
}

/// "; $x is not a variable of the dashboard" for each `$x` left after
/// [`fill`]: a misspelt variable makes a regex that matches nothing.
fn unfilled_variables(expr: &str) -> String {
    expr.match_indices('$')
        .filter_map(|(at, _)| {
            let after = expr[at + 1..].trim_start_matches('{');
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (len > 0).then(|| format!("; ${} is not a variable of the dashboard", &after[..len]))
        })
        .collect()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `runway demo` on a free loopback port, output to a temporary log, killed
/// on drop. (The harness' `Proc` is private to `support`; `Runway` starts
/// `runway run --config`, not `demo`.)
struct Demo {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Demo {
    const READY_TIMEOUT: Duration = Duration::from_secs(30);
    const START_ATTEMPTS: usize = 5;

    /// Starts it and waits for `/-/ready` (after its first evaluation);
    /// another port if the one picked was taken in the meantime.
    async fn start() -> Demo {
        for attempt in 1..=Demo::START_ATTEMPTS {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("log file");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_runway"));
            cmd.args(["demo", "--listen", &format!("127.0.0.1:{port}")])
                .env("RUST_LOG", "warn")
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::null())
                .stdout(log.reopen().expect("log file"))
                .stderr(log.reopen().expect("log file"));
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("RUNWAY_") {
                    cmd.env_remove(k);
                }
            }
            let child = cmd.spawn().expect("spawn runway demo");
            let mut demo = Demo { child, port, log };
            match demo.wait_ready().await {
                Ok(()) => return demo,
                Err(_) if attempt < Demo::START_ATTEMPTS && demo.log().contains("in use") => {
                    continue
                }
                Err(message) => panic!("runway demo did not start: {message}"),
            }
        }
        unreachable!("the last attempt panics")
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let url = format!("http://{}/-/ready", self.address());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("reqwest client");
        let deadline = Instant::now() + Demo::READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited ({status}); log:\n{}", self.log()));
            }
            if let Ok(resp) = client.get(&url).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{url} did not answer 200 within {:?}; log:\n{}",
                    Demo::READY_TIMEOUT,
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `127.0.0.1:PORT`, as a scrape target.
    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_variables_as_grafana_does() {
        let vars = [
            ("limit", ".*"),
            ("__rate_interval", "1m"),
            ("__range", "5m"),
        ];
        assert_eq!(
            fill(
                "rate(x{limit=~\"$limit\"}[$__rate_interval]) + y{limit=~\"${limit}\"} + z{a=~\"${limit:regex}\"}[$__range]",
                &vars
            ),
            "rate(x{limit=~\".*\"}[1m]) + y{limit=~\".*\"} + z{a=~\".*\"}[5m]"
        );
        // A longer name is another variable, and unknown ones stay.
        assert_eq!(fill("$limits $__range_s $", &vars), "$limits $__range_s $");
        assert_eq!(regex_escape("a.b"), "a\\\\.b");
        assert_eq!(
            unfilled_variables("x{limit=~\"$limt\"} and ${other}"),
            "; $limt is not a variable of the dashboard; $other is not a variable of the dashboard"
        );
    }
}
