//! Configuration: figment layers (the file, TOML or YAML by extension, then
//! `RUNWAY_` environment variables with `__` for nesting) -> one raw value
//! tree -> typed, validated values.
//!
//! The tree is walked by hand instead of being deserialized with serde,
//! because serde stops at the first error while `runway check` should show
//! every problem at once. Each [`Problem`] carries the key path it is about
//! (`limits[2].lead_time`), and unknown keys are problems too, so a typo is
//! reported instead of silently falling back to a default.
//!
//! Environment variables: `RUNWAY_EVALUATION__INTERVAL=30s` sets
//! `evaluation.interval`. Names are lowercased and split at `__`, as figment's
//! `Env::prefixed("RUNWAY_").split("__")` does. Their values are kept as the
//! strings they are, and are converted where the key wants something else: a
//! number (`"0.5"`), a boolean (`"true"`), or a list (comma-separated URLs).
//! Values written in the file get no such leniency. `limits` is an array and
//! cannot be addressed from the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format as _, Serialized, Toml, Yaml};
use figment::value::{Dict, Num, Value};
use figment::Figment;

use crate::forecast::{ModelChoice, Seasonality};
use crate::model::{Direction, Labels};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub source: SourceConfig,
    pub alerting: AlertingConfig,
    pub evaluation: EvaluationConfig,
    pub roadmap: RoadmapConfig,
    pub limits: Vec<Limit>,
}

/// How many times its history a limit's longest lead time may be before
/// `check` and the daemon advise a longer lookback: a trend seen for an
/// hour says little about a month.
pub const LEAD_PER_LOOKBACK: f64 = 10.0;

impl Config {
    /// What is valid but most likely not meant, each naming its key: a
    /// limit whose lead time is more than [`LEAD_PER_LOOKBACK`] times its
    /// history, and one that looks for cycles (`auto`) in less
    /// than the two days of history a daily cycle needs. `runway check`
    /// prints them and the daemon logs them at start and at each reload;
    /// neither refuses the file.
    pub fn advisories(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, limit) in self.limits.iter().enumerate() {
            let (lookback, whose) = match limit.lookback {
                Some(l) => (l, format!("limits[{i}].lookback")),
                None => (self.evaluation.lookback, "evaluation.lookback".to_string()),
            };
            if let Some(longest) = limit.lead_times.iter().max_by_key(|l| l.lead) {
                let times = longest.lead.as_secs_f64() / lookback.as_secs_f64();
                // Beyond, not at: the lookback advised (a tenth of the
                // lead) must itself pass.
                if times > LEAD_PER_LOOKBACK {
                    out.push(format!(
                        "limits[{i}].lead_time: {:?}'s lead time ({}) is {times:.0} times the history it is forecast from ({whose}, {}): a trend seen for that long says little so far ahead (its band is wide, and its page may come late: damped trends doubt that it lasts); a lookback of at least {} is advised (limit {:?})",
                        longest.severity,
                        show(longest.lead),
                        show(lookback),
                        show(Duration::from_secs_f64(
                            (longest.lead.as_secs_f64() / LEAD_PER_LOOKBACK).ceil()
                        )),
                        limit.name,
                    ));
                }
            }
            if limit.seasonality == Seasonality::Auto
                && lookback.as_secs_f64()
                    < crate::forecast::season::MIN_PERIODS * crate::forecast::season::DAY
            {
                out.push(format!(
                    "limits[{i}].seasonality: \"auto\" finds a daily cycle in two days of history at least, and {whose} is {}: a daily cycle, if the series has one, is not recognised and its peaks are not forecast as peaks; set `lookback = \"2d\"` or more, or `seasonality = \"none\"` (limit {:?})",
                    show(lookback),
                    limit.name,
                ));
            }
        }
        out
    }
}

/// How breaking points are sorted into the roadmap.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadmapConfig {
    /// The next order of magnitude of load: a breaking point whose load
    /// headroom is below it must be addressed, one above it is deferred.
    /// Default 10; above 1.
    pub growth_factor: f64,
    /// Re-roadmap events that are sent as alerts (`RoadmapChanged`,
    /// severity `info`). Default none: they are logged and counted only.
    pub alert_on: Vec<crate::roadmap::ChangeKind>,
    /// How long such an alert stays active. Default 1h.
    pub alert_for: Duration,
    /// How long a move must be seen at every evaluation before it is
    /// recorded (like `for:`). Default 30m; may be zero.
    pub hold: Duration,
}

/// The default `roadmap.hold`.
pub const DEFAULT_ROADMAP_HOLD: Duration = Duration::from_secs(30 * 60);

/// The default next order of magnitude.
pub const DEFAULT_GROWTH_FACTOR: f64 = 10.0;

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Default 127.0.0.1:9464.
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Base URL of a Prometheus-compatible query API, without `/api/v1`.
    /// Must be http or https. Trailing slash removed.
    pub url: String,
    /// Default 30s.
    pub timeout: Duration,
    /// Not combinable with `basic_auth`. Read by the source, not here.
    pub bearer_token_file: Option<PathBuf>,
    pub basic_auth: Option<BasicAuth>,
    /// Extra request headers, e.g. `X-Scope-OrgID`.
    pub headers: BTreeMap<String, String>,
    pub tls: TlsConfig,
    /// A response larger than this is refused (outcome `too_large`).
    /// Default 1 GiB.
    pub max_response_bytes: usize,
    /// A range query of more points a series than this is asked in
    /// consecutive pieces of at most this many, one request each (see
    /// `history::pieces`); 0: in one request. Default
    /// [`DEFAULT_POINTS_PER_REQUEST`].
    pub points_per_request: usize,
}

/// The default bound on the points a series of one range request: a day
/// at the default five-minute step, so that the default week's 2,017 points
/// are asked in seven pieces. Prometheus' peak memory answering one limit
/// of 10,000 series is then about a fifth (806 MiB against 3,616:
/// `scripts/bench-scale`, BENCHMARKS.md), and its `--query.max-samples`
/// (50 million by default) refuses a piece only past about 160,000 series.
pub const DEFAULT_POINTS_PER_REQUEST: usize = 300;

/// The default bound on a source's answer to one request: enough for a
/// limit of `max_series_per_limit`'s default 10,000 series at the default
/// 2,016 points each asked in one request (`points_per_request = 0`;
/// about 35 bytes a point as JSON: 0.7 GB, measured by
/// `scripts/bench-scale`), and seven times that asked in pieces. It bounds
/// the transfer, not memory: the response is parsed as it arrives, and
/// packed into 8 bytes a point.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct BasicAuth {
    pub username: String,
    pub password_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertingConfig {
    /// Base URLs of Alertmanagers (http/https); may be empty (no alerts sent).
    /// Trailing slash removed; no URL twice.
    pub alertmanagers: Vec<String>,
    /// Default 1m.
    pub resend_delay: Duration,
    /// Per-request timeout to an Alertmanager. Default 10s.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationConfig {
    /// Default 1m.
    pub interval: Duration,
    /// Default 7d. Longer than `interval`.
    pub lookback: Duration,
    /// Resolution of the range query; None = lookback / 2016 (at least 1s).
    /// When set, shorter than every lookback (the engine coarsens it where a
    /// lookback would need too many points).
    pub step: Option<Duration>,
    /// How long an alert condition must hold before it fires (like `for:`).
    /// Default 5m.
    pub hold: Duration,
    /// Hysteresis: a firing alert resolves only when the earliest time to wall
    /// exceeds lead_time * resolve_margin (and a cycle past the lead, at most
    /// twice the lead, for a series with a cycle or a sawtooth). Default
    /// 1.25, must be >= 1.
    pub resolve_margin: f64,
    /// How long a firing alert keeps firing once its forecast has cleared
    /// (Prometheus' `keep_firing_for`): a dip away from the wall that comes
    /// back within it does not resolve and re-page. Default (`None`): the
    /// hold, so that clearing must last as long as firing had to: one
    /// evaluation that reads the other way neither pages nor resolves.
    /// "0s" resolves at once, as Prometheus does.
    pub keep_firing_for: Option<Duration>,
    /// Alerts fire when the wall is at least this likely within a lead time.
    /// Default 0.3; 0 < p <= 0.5 (0.05 is the earliest edge of the 90% band,
    /// 0.5 the likely time).
    pub alert_probability: f64,
    /// How often each limit is backtested on its own longer history (four
    /// lookbacks), so that a team knows how far to trust each wall. Default
    /// 24h; zero turns it off.
    pub backtest_every: Duration,
    /// How often each limit's whole lookback is fetched from the source.
    /// Between, an evaluation asks for the points since the last one's end
    /// (and the few before it that late samples can still change), and
    /// keeps the rest from the last. Default 1h; zero fetches the whole
    /// lookback at every evaluation.
    pub refetch_every: Duration,
    /// How many limits are queried at once. Default 4, >= 1.
    pub concurrency: usize,
    /// Series per limit above which the rest are dropped (and counted). Default 10000.
    pub max_series_per_limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// Unique across limits; `[a-zA-Z_][a-zA-Z0-9_]*`.
    pub name: String,
    /// PromQL, non-empty.
    pub query: String,
    pub wall: WallSpec,
    pub direction: Direction,
    /// Severity -> lead time, sorted by lead time ascending (most urgent first).
    /// `lead_time = "7d"` gives [("warning", 7d)].
    pub lead_times: Vec<LeadTime>,
    /// Overrides evaluation.lookback.
    pub lookback: Option<Duration>,
    /// Default auto.
    pub model: ModelChoice,
    /// Default auto: a day, a week or a year, whichever the history shows.
    pub seasonality: Seasonality,
    /// Added to alerts (and not to exported metrics). Valid Prometheus label
    /// names, none starting with `__`, and not `alertname`, `limit` or
    /// `severity`, which runway sets itself (and would silently override).
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    /// Default "WallApproaching".
    pub alertname: String,
    /// Overrides evaluation.hold.
    pub hold: Option<Duration>,
    /// Overrides evaluation.keep_firing_for.
    pub keep_firing_for: Option<Duration>,
    /// PromQL for the load that pushes this limit (request rate, active
    /// users, jobs per hour): its load headroom is found from how the
    /// limited metric responds to it.
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WallSpec {
    Constant(f64),
    /// PromQL giving one wall per series, joined on labels.
    Query(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    pub severity: String,
    pub lead: Duration,
}

/// Severities by convention, most severe first (Prometheus' and
/// Alertmanager's examples label alerts `critical`, `warning` and `info`):
/// a limit's lead times must keep this order, the most severe the shortest.
const SEVERITY_ORDER: [&str; 3] = ["critical", "warning", "info"];

/// The severity given to a limit whose `lead_time` is a single duration.
pub const DEFAULT_SEVERITY: &str = "warning";

/// The alert name used when a limit does not set `alertname`.
pub const DEFAULT_ALERTNAME: &str = "WallApproaching";

/// The prefix of the environment variables layered over the file.
pub const ENV_PREFIX: &str = "RUNWAY_";

/// The separator of nesting levels in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

// ---------------------------------------------------------------------------
// Public entry points and error types
// ---------------------------------------------------------------------------

/// Syntax of a configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
}

impl Format {
    /// `.toml` -> TOML, `.yaml`/`.yml` -> YAML (case-insensitively); anything
    /// else is unknown, since guessing would turn a wrong file into a
    /// confusing syntax error.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// One thing wrong with a configuration, at a key path such as
/// `limits[2].lead_time`. Displays as `path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a configuration could not be loaded. Every variant's message starts
/// with the origin (the file name), so it can be shown as is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{origin}: cannot read: {error}")]
    Read {
        origin: String,
        error: std::io::Error,
    },
    /// The file name does not say whether it is TOML or YAML.
    #[error("{origin}: unknown configuration format (expected a .toml, .yaml or .yml file)")]
    UnknownFormat { origin: String },
    /// The text is not valid TOML/YAML (or its top level is not a table).
    #[error("{origin}: syntax error: {message}")]
    Syntax { origin: String, message: String },
    /// All validation problems at once, one per line.
    #[error("{}", display_problems(origin, problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
        /// The `source` section, when it is valid on its own: `runway
        /// check` also checks the files it names, so that one run reports
        /// an unreadable token beside a bad limit.
        valid_source: Option<Box<SourceConfig>>,
    },
}

impl ConfigError {
    /// The file name (or other origin) the error is about.
    pub fn origin(&self) -> &str {
        match self {
            ConfigError::Read { origin, .. }
            | ConfigError::UnknownFormat { origin }
            | ConfigError::Syntax { origin, .. }
            | ConfigError::Invalid { origin, .. } => origin,
        }
    }

    /// The validation problems; empty unless the error is
    /// [`ConfigError::Invalid`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }

    /// The `source` section when the configuration is invalid elsewhere
    /// but that section is valid on its own; `None` otherwise.
    pub fn valid_source(&self) -> Option<&SourceConfig> {
        match self {
            ConfigError::Invalid { valid_source, .. } => valid_source.as_deref(),
            _ => None,
        }
    }
}

fn display_problems(origin: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{origin}: {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a file (TOML if it ends in .toml, YAML if .yaml/.yml, anything else
/// is an error naming the file), layers `RUNWAY_*` environment variables over
/// it, and validates everything.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    // Only our variables are copied: the rest of the environment (which may
    // hold other programs' secrets) has no business in a config error.
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            strip_env_prefix(&k)?;
            Some((k, v.to_string_lossy().into_owned()))
        })
        .collect();
    load_with_env(path, &env)
}

/// Same as [`load`], with the environment given explicitly as (variable name,
/// value) pairs; names without the `RUNWAY_` prefix are ignored.
///
/// `load` is this function fed with the process environment, so there is one
/// code path for both (the environment layer is built here rather than by
/// figment's `Env` provider, which can only read the real process
/// environment; it follows the same naming rules).
pub fn load_with_env(path: &Path, env: &[(String, String)]) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let Some(format) = Format::from_path(path) else {
        return Err(ConfigError::UnknownFormat { origin });
    };
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        origin: origin.clone(),
        error,
    })?;
    parse(&text, format, &origin, env)
}

/// Parses and validates a configuration text already read (without any
/// environment layer). `origin` names it in errors.
pub fn from_str(text: &str, format: Format, origin: &str) -> Result<Config, ConfigError> {
    parse(text, format, origin, &[])
}

fn parse(
    text: &str,
    format: Format,
    origin: &str,
    env: &[(String, String)],
) -> Result<Config, ConfigError> {
    let mut env = EnvLayer::build(env);

    // An empty (or comment-only) YAML document is null, not a table; treat it
    // like an empty TOML file so it gets the ordinary "missing" problems.
    let file = match format {
        Format::Toml => Figment::from(Toml::string(text)),
        Format::Yaml if is_blank_yaml(text) => Figment::new(),
        Format::Yaml => {
            duplicate_yaml_keys(text).map_err(|message| ConfigError::Syntax {
                origin: origin.to_string(),
                message,
            })?;
            Figment::from(Yaml::string(text))
        }
    };
    let file_headers: Vec<String> = match file.find_value("source.headers") {
        Ok(Value::Dict(_, d)) => d.keys().cloned().collect(),
        _ => Vec::new(),
    };
    env.name_headers_as(&file_headers);
    let figment = file.merge(Serialized::defaults(env.dict));
    // The environment layer is a plain dict and cannot fail to merge, so any
    // error here comes from the file's syntax.
    let root = figment.find_value("").map_err(|e| {
        let mut message = e.kind.to_string().trim_end().to_string();
        // Nested values may be of any type, so only the document itself can
        // fail to be a map (YAML `- a` or `hello`): say which part it is.
        if message.ends_with("expected a map") {
            message = format!("the document must be a table of keys ({message})");
        }
        ConfigError::Syntax {
            origin: origin.to_string(),
            message,
        }
    })?;

    let mut walker = Walker {
        problems: env.problems,
        env_vars: &env.vars,
    };
    let config = walker.config(&root);
    let source_alone = || {
        let Value::Dict(_, root) = &root else {
            return None;
        };
        let mut alone = Walker {
            problems: Vec::new(),
            env_vars: &env.vars,
        };
        let source = alone.source(get(root, "source"));
        source.filter(|_| alone.problems.is_empty()).map(Box::new)
    };
    match config {
        Some(config) if walker.problems.is_empty() => Ok(config),
        _ => {
            let mut problems = walker.problems;
            name_limits(&mut problems, &root);
            if problems.is_empty() {
                // Every path that yields None records a problem first; this
                // only guards against a future walker bug hiding as success.
                problems.push(Problem {
                    path: String::new(),
                    message: "invalid configuration".to_string(),
                });
            }
            Err(ConfigError::Invalid {
                origin: origin.to_string(),
                problems,
                valid_source: source_alone(),
            })
        }
    }
}

/// Refuses a YAML text that gives a key twice in one mapping, as TOML's
/// parser does: figment keeps the last one silently, so a second `limits:`
/// would drop every limit of the first, and a second `query:` the first
/// query. (Its syntax errors are left to figment, which says them the same
/// way for both formats.)
fn duplicate_yaml_keys(text: &str) -> Result<(), String> {
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Err(e) if e.to_string().contains("duplicate entry") => {
            Err(format!("{e} (a key given twice: the first would be lost)"))
        }
        _ => Ok(()),
    }
}

/// Says which limit a problem under `limits[N]` is about, by its name when
/// it has one: with many limits, `limits[14]` is a count to make in the
/// file.
fn name_limits(problems: &mut [Problem], root: &Value) {
    let Value::Dict(_, root) = root else { return };
    let Some(Value::Array(_, limits)) = get(root, "limits") else {
        return;
    };
    for problem in problems {
        let index = problem
            .path
            .strip_prefix("limits[")
            .and_then(|rest| rest.split_once(']'))
            // A problem with the name is already about it.
            .filter(|(_, key)| *key != ".name")
            .and_then(|(i, _)| i.parse::<usize>().ok());
        let name = index.and_then(|i| match limits.get(i) {
            Some(Value::Dict(_, d)) => match get(d, "name") {
                Some(Value::String(_, name)) if !name.is_empty() => Some(name),
                _ => None,
            },
            _ => None,
        });
        if let Some(name) = name {
            problem.message.push_str(&format!(" (limit {name:?})"));
        }
    }
}

fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    })
}

// ---------------------------------------------------------------------------
// The environment layer
// ---------------------------------------------------------------------------

/// `RUNWAY_` stripped, case-insensitively like figment's `Env::prefixed`.
fn strip_env_prefix(name: &str) -> Option<&str> {
    let head = name.get(..ENV_PREFIX.len())?;
    head.eq_ignore_ascii_case(ENV_PREFIX)
        .then(|| &name[ENV_PREFIX.len()..])
}

struct EnvLayer {
    /// Nested tables of string values, merged over the file.
    dict: Dict,
    /// Key path (as problems print it) -> the variable that set it, so that a
    /// problem with a value from the environment says where it came from.
    vars: BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl EnvLayer {
    fn build(env: &[(String, String)]) -> EnvLayer {
        let mut layer = EnvLayer {
            dict: Dict::new(),
            vars: BTreeMap::new(),
            problems: Vec::new(),
        };
        // Sorted by key, so that a name sorts before the longer names below
        // it and conflicts are reported the same way every time.
        let mut vars: Vec<(String, &str, &str)> = env
            .iter()
            .filter_map(|(name, value)| {
                let key = strip_env_prefix(name)?.trim().to_ascii_lowercase();
                Some((key, name.as_str(), value.as_str()))
            })
            .collect();
        vars.sort();
        for (key, name, value) in vars {
            if key.is_empty() {
                continue;
            }
            let segments: Vec<String> = key.split(ENV_SEPARATOR).map(str::to_string).collect();
            if segments.iter().any(String::is_empty) {
                // figment silently skips these; a daemon configured from the
                // environment is better off hearing about it.
                layer.problems.push(Problem {
                    path: name.to_string(),
                    message: format!("empty key between \"{ENV_SEPARATOR}\" separators"),
                });
                continue;
            }
            layer.insert(name, &segments, value);
        }
        layer
    }

    /// A header set from the environment is the file's header of the same
    /// name, whatever its case, with `_` standing for `-` (a variable's
    /// name cannot portably hold `-`): `RUNWAY_SOURCE__HEADERS__X_SCOPE_ORGID`
    /// replaces the file's `X-Scope-OrgID`, and without one sets
    /// `x-scope-orgid`. Else both would be sent, one of them a header no
    /// server reads.
    fn name_headers_as(&mut self, file_headers: &[String]) {
        let Some(Value::Dict(_, source)) = self.dict.get_mut("source") else {
            return;
        };
        let Some(Value::Dict(_, headers)) = source.get_mut("headers") else {
            return;
        };
        let names: Vec<String> = headers.keys().cloned().collect();
        for name in names {
            let dashed = name.replace('_', "-");
            let renamed = file_headers
                .iter()
                .find(|f| f.eq_ignore_ascii_case(&dashed))
                .cloned()
                .unwrap_or(dashed);
            if renamed == name {
                continue;
            }
            if let Some(value) = headers.remove(&name) {
                headers.insert(renamed.clone(), value);
            }
            let old = key_path("source.headers", &name);
            if let Some(var) = self.vars.remove(&old) {
                self.vars.insert(key_path("source.headers", &renamed), var);
            }
        }
    }

    fn insert(&mut self, name: &str, segments: &[String], value: &str) {
        let mut path = String::new();
        let mut dict = &mut self.dict;
        let Some((leaf, parents)) = segments.split_last() else {
            return;
        };
        for segment in parents {
            path = key_path(&path, segment);
            let entry = dict
                .entry(segment.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            match entry {
                Value::Dict(_, inner) => dict = inner,
                _ => {
                    let other = self.vars.get(&path).cloned().unwrap_or_default();
                    self.problems.push(Problem {
                        path,
                        message: format!("set both by {other} and, as a table, by {name}"),
                    });
                    return;
                }
            }
        }
        path = key_path(&path, leaf);
        if dict.contains_key(leaf) {
            // Names are sorted by key, so a longer name cannot have come
            // first: this is the same key twice, in names differing in case.
            let other = self
                .vars
                .iter()
                .find(|(p, _)| is_within(p, &path))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            self.problems.push(Problem {
                path,
                message: format!("set both by {other} and by {name}"),
            });
            return;
        }
        dict.insert(leaf.clone(), Value::from(value.to_string()));
        self.vars.insert(path, name.to_string());
    }
}

/// Whether `path` is `prefix` or a key below it.
/// The key of `known` a typo of `key` most likely meant: the nearest by
/// edits (a letter added, dropped, changed, or two swapped), when it is at
/// most two edits away and fewer than half the key's letters.
fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let len = key.chars().count();
    known
        .iter()
        .map(|k| (edits(key, k), *k))
        .filter(|&(d, _)| d <= 2 && 2 * d < len)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// The edits that turn `a` into `b`: insertions, deletions, substitutions
/// and swaps of two neighbours (the optimal string alignment distance).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the table: two back, one back, this one.
    let mut rows = [
        vec![0; b.len() + 1],
        (0..=b.len()).collect::<Vec<_>>(),
        vec![0; b.len() + 1],
    ];
    for i in 1..=a.len() {
        rows[2][0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[1][j] + 1)
                .min(rows[2][j - 1] + 1)
                .min(rows[1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[0][j - 2] + 1);
            }
            rows[2][j] = d;
        }
        rows.rotate_left(1);
    }
    rows[1][b.len()]
}

fn is_within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

// ---------------------------------------------------------------------------
// Key paths and value descriptions
// ---------------------------------------------------------------------------

/// `parent.key`, with the key quoted when it is not a plain word, so that
/// `source.headers."X Y"` cannot be misread.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// A number as the walker sees it: integers and floats are kept apart so that
/// `concurrency = 4.5` can be refused while `wall = 0` is accepted.
enum Number {
    Int(i128),
    Float(f64),
}

fn number_of(n: &Num) -> Number {
    match *n {
        Num::U8(v) => Number::Int(v.into()),
        Num::U16(v) => Number::Int(v.into()),
        Num::U32(v) => Number::Int(v.into()),
        Num::U64(v) => Number::Int(v.into()),
        Num::U128(v) => Number::Int(i128::try_from(v).unwrap_or(i128::MAX)),
        Num::USize(v) => Number::Int(i128::try_from(v).unwrap_or(i128::MAX)),
        Num::I8(v) => Number::Int(v.into()),
        Num::I16(v) => Number::Int(v.into()),
        Num::I32(v) => Number::Int(v.into()),
        Num::I64(v) => Number::Int(v.into()),
        Num::I128(v) => Number::Int(v),
        Num::ISize(v) => Number::Int(i128::try_from(v).unwrap_or(i128::MAX)),
        Num::F32(v) => Number::Float(v.into()),
        Num::F64(v) => Number::Float(v),
    }
}

/// The key under which figment keeps a TOML date-time: it arrives as a
/// one-entry table, which must not be mistaken for a table the user wrote.
const TOML_DATETIME: &str = "$__toml_private_datetime";

fn toml_datetime(v: &Value) -> Option<&str> {
    match v {
        Value::Dict(_, d) if d.len() == 1 => match d.get(TOML_DATETIME) {
            Some(Value::String(_, s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// The value as a table, if it is one (and not a TOML date-time).
fn as_table(v: &Value) -> Option<&Dict> {
    match v {
        Value::Dict(_, d) if toml_datetime(v).is_none() => Some(d),
        _ => None,
    }
}

/// "found ..." text for a value of the wrong type.
fn describe(v: &Value) -> String {
    if let Some(datetime) = toml_datetime(v) {
        return format!("date-time {datetime}");
    }
    match v {
        Value::String(_, s) => format!("string {s:?}"),
        Value::Char(_, c) => format!("string {:?}", c.to_string()),
        Value::Bool(_, b) => format!("boolean {b}"),
        Value::Num(_, n) => match number_of(n) {
            Number::Int(i) => format!("integer {i}"),
            Number::Float(f) => format!("number {f}"),
        },
        Value::Empty(..) => "nothing".to_string(),
        Value::Dict(..) => "a table".to_string(),
        Value::Array(..) => "an array".to_string(),
    }
}

/// The longest duration any key accepts: a century ("100y", humantime's
/// years of 365.25 days).
pub const MAX_DURATION: Duration = Duration::from_secs(3_155_760_000);

/// A duration as a configuration writes it: whole units from days down to
/// milliseconds, run together (`7d`, `1h30m`, `90s` as `1m30s`), or whole
/// years (`100y`, of 365.25 days as the parser reads them). Exact, so that
/// an error about a step and a lookback shows the numbers compared; in the
/// units the file was written in, not humantime's `7days` or `1h 30m`.
pub fn show(d: Duration) -> String {
    const YEAR_MS: u128 = 31_557_600_000;
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    if ms.is_multiple_of(YEAR_MS) {
        return format!("{}y", ms / YEAR_MS);
    }
    let mut rest = ms;
    let mut text = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        let n = rest / size;
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
            rest -= n * size;
        }
    }
    text
}

/// A key's value, treating YAML's `key:` (null) as absent: that is what a
/// YAML user who leaves a key empty means.
fn get<'v>(dict: &'v Dict, key: &str) -> Option<&'v Value> {
    match dict.get(key) {
        None | Some(Value::Empty(..)) => None,
        Some(v) => Some(v),
    }
}

/// Stands in for an absent optional section, so its defaults apply.
static EMPTY: Dict = Dict::new();

// ---------------------------------------------------------------------------
// Name rules
// ---------------------------------------------------------------------------

/// `[a-zA-Z_][a-zA-Z0-9_]*`: limit names and Prometheus label names.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_severity(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// An HTTP header name (an RFC 9110 token).
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An HTTP header value: no control characters but tab.
fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn check_label_name(name: &str) -> Option<String> {
    if !is_identifier(name) {
        Some("not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)".to_string())
    } else if name.starts_with("__") {
        Some("label names starting with \"__\" are reserved".to_string())
    } else if name == "alertname" {
        Some("is set by runway (use the limit's alertname key)".to_string())
    } else if name == "severity" {
        Some("is set by runway (from the lead_time severities)".to_string())
    } else if name == "limit" {
        Some("is set by runway (to the limit's name)".to_string())
    } else {
        None
    }
}

fn check_annotation_name(name: &str) -> Option<String> {
    // Prometheus holds annotation names to the label-name syntax too.
    (!is_identifier(name))
        .then(|| "not a valid annotation name (must match [a-zA-Z_][a-zA-Z0-9_]*)".to_string())
}

fn check_header_name(name: &str) -> Option<String> {
    (!is_header_name(name)).then(|| "not a valid HTTP header name".to_string())
}

fn check_header_value(value: &str) -> Option<String> {
    (!is_header_value(value))
        .then(|| "header values must not contain control characters".to_string())
}

/// Validates an http(s) base URL and removes trailing slashes (paths such as
/// `/api/v1/query` are appended to it). The error is the message after
/// `path: `.
/// `url` without the `user:password@` a server behind basic auth can be
/// reached with: how the URL is named where credentials must not go (a
/// metric's label, a log line, an alert's generatorURL).
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

fn normalize_url(url: &str) -> Result<String, String> {
    let not_http = || format!("{url:?} must be an http or https URL");
    let (scheme, rest) = url.split_once("://").ok_or_else(not_http)?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(not_http());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} must not contain spaces or control characters"
        ));
    }
    if url.contains(['?', '#']) {
        return Err(format!(
            "{url:?} must not have a query or fragment (it is a base URL)"
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.strip_prefix('[') {
        // [IPv6]:port
        Some(v6) => match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return Err(not_http()),
        },
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!("{url:?} has an invalid port"));
        }
    }
    let trimmed = url.trim_end_matches('/');
    if trimmed.ends_with("/api/v1") {
        return Err(format!(
            "{url:?} must not end in /api/v1 (runway appends the API path itself)"
        ));
    }
    Ok(trimmed.to_string())
}

// ---------------------------------------------------------------------------
// The walker
// ---------------------------------------------------------------------------

/// Walks the merged value tree, collecting every problem. Each method returns
/// `None` only after recording at least one problem, so a `None` never goes
/// unexplained.
struct Walker<'e> {
    problems: Vec<Problem>,
    env_vars: &'e BTreeMap<String, String>,
}

impl Walker<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        let mut message = message.into();
        // The value at `path` or a value inside it (as when
        // RUNWAY_LIMITS__0__WALL turns `limits` into a table) is the
        // environment's doing: say so, or the file would be searched in vain.
        let var = self.env_var(path).or_else(|| {
            self.env_vars
                .iter()
                .find(|(p, _)| is_within(p, path))
                .map(|(_, var)| var.as_str())
        });
        if let Some(var) = var {
            message.push_str(&format!(" (from environment variable {var})"));
        }
        self.problems.push(Problem {
            path: path.to_string(),
            message,
        });
    }

    /// The variable that set this value (or a value containing it), if any.
    fn env_var(&self, path: &str) -> Option<&str> {
        self.env_vars
            .iter()
            .find(|(p, _)| is_within(path, p))
            .map(|(_, var)| var.as_str())
    }

    /// Environment values are all strings; those may stand for numbers,
    /// booleans and lists. File values may not.
    fn env_string<'v>(&self, path: &str, v: &'v Value) -> Option<&'v str> {
        match v {
            Value::String(_, s) if self.env_var(path).is_some() => Some(s),
            _ => None,
        }
    }

    /// Reports keys of `dict` not in `known`.
    fn unknown_keys(&mut self, path: &str, dict: &Dict, known: &[&str]) {
        for key in dict.keys() {
            if key == "<<" {
                // The YAML parser reads a merge key as a key like any other.
                self.report(
                    &key_path(path, key),
                    "YAML merge keys (`<<: *anchor`) are not supported: write the keys out",
                );
            } else if !known.contains(&key.as_str()) {
                let message = match nearest(key, known) {
                    Some(near) => format!("unknown key (did you mean `{near}`?)"),
                    None => "unknown key".to_string(),
                };
                self.report(&key_path(path, key), message);
            }
        }
    }

    fn required<'v>(&mut self, path: &str, v: Option<&'v Value>) -> Option<&'v Value> {
        if v.is_none() {
            self.report(path, "missing");
        }
        v
    }

    /// `Some(default)` when absent, the converted value when valid, `None`
    /// (with a problem) when invalid.
    fn or_default<'v, T>(
        &mut self,
        v: Option<&'v Value>,
        default: T,
        convert: impl FnOnce(&mut Self, &'v Value) -> Option<T>,
    ) -> Option<T> {
        match v {
            None => Some(default),
            Some(v) => convert(self, v),
        }
    }

    /// `Some(None)` when absent, `Some(Some(_))` when valid, `None` when invalid.
    fn optional<'v, T>(
        &mut self,
        v: Option<&'v Value>,
        convert: impl FnOnce(&mut Self, &'v Value) -> Option<T>,
    ) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(v) => convert(self, v).map(Some),
        }
    }

    fn table<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v Dict> {
        let table = as_table(v);
        if table.is_none() {
            self.report(path, format!("expected a table, found {}", describe(v)));
        }
        table
    }

    /// An optional section: absent means all defaults.
    fn section<'v>(&mut self, path: &str, v: Option<&'v Value>) -> Option<&'v Dict> {
        match v {
            None => Some(&EMPTY),
            Some(v) => self.table(path, v),
        }
    }

    fn string(&mut self, path: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(_, s) => Some(s.clone()),
            Value::Char(_, c) => Some(c.to_string()),
            other => {
                self.report(
                    path,
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    fn non_empty_string(&mut self, path: &str, v: &Value) -> Option<String> {
        let s = self.string(path, v)?;
        if s.trim().is_empty() {
            self.report(path, "must not be empty");
            return None;
        }
        Some(s)
    }

    fn file_path(&mut self, path: &str, v: &Value) -> Option<PathBuf> {
        self.non_empty_string(path, v).map(PathBuf::from)
    }

    /// A humantime duration string ("90s", "7d", "1h 30m"). Zero is refused
    /// unless `allow_zero`.
    fn duration(&mut self, path: &str, v: &Value, allow_zero: bool) -> Option<Duration> {
        let Some(text) = (match v {
            Value::String(_, s) => Some(s.as_str()),
            _ => None,
        }) else {
            self.report(
                path,
                format!(
                    "expected a duration such as \"90s\" or \"7d\", found {}",
                    describe(v)
                ),
            );
            return None;
        };
        match humantime::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() && !allow_zero => {
                self.report(path, format!("{text:?} must be greater than zero"));
                None
            }
            // Longer ones reach the limits of the clock's arithmetic (and
            // of any history a source keeps).
            Ok(d) if d > MAX_DURATION => {
                self.report(
                    path,
                    format!("{text:?} is longer than {}", show(MAX_DURATION)),
                );
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.report(
                    path,
                    format!("{text:?} is not a duration (expected e.g. \"90s\", \"7d\")"),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, path: &str, v: &Value) -> Option<Duration> {
        self.duration(path, v, false)
    }

    fn any_duration(&mut self, path: &str, v: &Value) -> Option<Duration> {
        self.duration(path, v, true)
    }

    /// A finite number; integers are fine.
    fn number(&mut self, path: &str, v: &Value) -> Option<f64> {
        let n = match v {
            Value::Num(_, n) => match number_of(n) {
                Number::Int(i) => i as f64,
                Number::Float(f) => f,
            },
            _ => match self.env_string(path, v).map(|s| s.trim().parse::<f64>()) {
                Some(Ok(f)) => f,
                Some(Err(_)) => {
                    self.report(path, format!("{} is not a number", describe(v)));
                    return None;
                }
                None => {
                    self.report(path, format!("expected a number, found {}", describe(v)));
                    return None;
                }
            },
        };
        if !n.is_finite() {
            self.report(path, format!("{n} is not a finite number"));
            return None;
        }
        Some(n)
    }

    /// A whole number of at least `min`.
    fn count(&mut self, path: &str, v: &Value, min: usize) -> Option<usize> {
        let n: i128 = match v {
            Value::Num(_, n) => match number_of(n) {
                Number::Int(i) => i,
                Number::Float(_) => {
                    self.report(
                        path,
                        format!("expected a whole number, found {}", describe(v)),
                    );
                    return None;
                }
            },
            _ => match self.env_string(path, v).map(|s| s.trim().parse::<i128>()) {
                Some(Ok(i)) => i,
                Some(Err(_)) => {
                    self.report(path, format!("{} is not a whole number", describe(v)));
                    return None;
                }
                None => {
                    self.report(
                        path,
                        format!("expected a whole number, found {}", describe(v)),
                    );
                    return None;
                }
            },
        };
        match usize::try_from(n) {
            Ok(n) if n >= min => Some(n),
            Err(_) if n > 0 => {
                self.report(path, format!("{n} is too large (at most {})", usize::MAX));
                None
            }
            _ => {
                self.report(path, format!("{n} must be at least {min}"));
                None
            }
        }
    }

    fn boolean(&mut self, path: &str, v: &Value) -> Option<bool> {
        if let Value::Bool(_, b) = v {
            return Some(*b);
        }
        match self
            .env_string(path, v)
            .map(|s| s.trim().to_ascii_lowercase())
        {
            Some(s) if matches!(s.as_str(), "true" | "yes" | "on" | "1") => Some(true),
            Some(s) if matches!(s.as_str(), "false" | "no" | "off" | "0") => Some(false),
            _ => {
                self.report(
                    path,
                    format!("expected true or false, found {}", describe(v)),
                );
                None
            }
        }
    }

    /// An http(s) base URL, trailing slash removed.
    fn url(&mut self, path: &str, v: &Value) -> Option<String> {
        let s = self.string(path, v)?;
        match normalize_url(&s) {
            Ok(url) => Some(url),
            Err(message) => {
                self.report(path, message);
                None
            }
        }
    }

    /// A table of strings; `check_key`/`check_value` return a message for a
    /// bad key/value, reported at that entry's path.
    fn string_map(
        &mut self,
        path: &str,
        v: &Value,
        check_key: fn(&str) -> Option<String>,
        check_value: fn(&str) -> Option<String>,
    ) -> Option<BTreeMap<String, String>> {
        let Some(dict) = as_table(v) else {
            self.report(
                path,
                format!("expected a table of strings, found {}", describe(v)),
            );
            return None;
        };
        let mut map = BTreeMap::new();
        let mut ok = true;
        for (key, value) in dict {
            let entry = key_path(path, key);
            if let Some(message) = check_key(key) {
                self.report(&entry, message);
                ok = false;
            }
            match self.string(&entry, value) {
                Some(s) => {
                    if let Some(message) = check_value(&s) {
                        self.report(&entry, message);
                        ok = false;
                    }
                    map.insert(key.clone(), s);
                }
                None => ok = false,
            }
        }
        ok.then_some(map)
    }

    /// An array of URLs; from the environment, a comma-separated string.
    /// The items of a list, each with its path: an array, or from the
    /// environment a comma-separated string (`http://a,http://b`), whose
    /// items are named by their place in it as an array's would be.
    /// `what` names the items for the error when it is neither.
    fn list(&mut self, path: &str, v: &Value, what: &str) -> Option<Vec<(String, Value)>> {
        let items: Vec<Value> = match v {
            Value::Array(_, items) => items.clone(),
            _ => match self.env_string(path, v) {
                Some(s) => s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Value::from)
                    .collect(),
                None => {
                    self.report(
                        path,
                        format!("expected an array of {what}, found {}", describe(v)),
                    );
                    return None;
                }
            },
        };
        Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (index_path(path, i), item))
                .collect(),
        )
    }

    fn url_list(&mut self, path: &str, v: &Value) -> Option<Vec<String>> {
        let items = self.list(path, v, "URLs")?;
        let mut urls: Vec<String> = Vec::new();
        let mut ok = true;
        for (item_path, item) in &items {
            match self.url(item_path, item) {
                Some(url) => {
                    if let Some(first) = urls.iter().position(|u| *u == url) {
                        self.report(
                            item_path,
                            format!("{url:?} is listed at {} too", index_path(path, first)),
                        );
                        ok = false;
                    }
                    urls.push(url);
                }
                None => ok = false,
            }
        }
        ok.then_some(urls)
    }

    // --- sections ---------------------------------------------------------

    fn config(&mut self, root: &Value) -> Option<Config> {
        let dict = self.table("", root)?;
        self.unknown_keys(
            "",
            dict,
            &[
                "server",
                "source",
                "alerting",
                "evaluation",
                "roadmap",
                "limits",
            ],
        );
        let server = self.server(get(dict, "server"));
        let source = self.source(get(dict, "source"));
        let alerting = self.alerting(get(dict, "alerting"));
        let evaluation = self.evaluation(get(dict, "evaluation"));
        let roadmap = self.roadmap(get(dict, "roadmap"));
        let limits = self.limits(get(dict, "limits"), evaluation.as_ref());
        Some(Config {
            server: server?,
            source: source?,
            alerting: alerting?,
            evaluation: evaluation?,
            roadmap: roadmap?,
            limits: limits?,
        })
    }

    fn server(&mut self, v: Option<&Value>) -> Option<ServerConfig> {
        let d = self.section("server", v)?;
        self.unknown_keys("server", d, &["listen"]);
        let default = SocketAddr::from(([127, 0, 0, 1], 9464));
        let listen = self.or_default(get(d, "listen"), default, |w, v| {
            let path = "server.listen";
            let s = w.string(path, v)?;
            match s.trim().parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    w.report(
                        path,
                        format!(
                            "{s:?} is not a socket address (expected e.g. \"127.0.0.1:9464\" or \"[::]:9464\")"
                        ),
                    );
                    None
                }
            }
        });
        Some(ServerConfig { listen: listen? })
    }

    fn source(&mut self, v: Option<&Value>) -> Option<SourceConfig> {
        let d = self.section("source", v)?;
        self.unknown_keys(
            "source",
            d,
            &[
                "url",
                "timeout",
                "bearer_token_file",
                "basic_auth",
                "headers",
                "tls",
                "max_response_bytes",
                "points_per_request",
            ],
        );
        let url = self
            .required("source.url", get(d, "url"))
            .and_then(|v| self.url("source.url", v));
        let timeout = self.or_default(get(d, "timeout"), Duration::from_secs(30), |w, v| {
            w.positive_duration("source.timeout", v)
        });
        let bearer_token_file = self.optional(get(d, "bearer_token_file"), |w, v| {
            w.file_path("source.bearer_token_file", v)
        });
        let basic_auth = self.optional(get(d, "basic_auth"), |w, v| w.basic_auth(v));
        if get(d, "bearer_token_file").is_some() && get(d, "basic_auth").is_some() {
            self.report(
                "source.basic_auth",
                "cannot be used together with source.bearer_token_file",
            );
        }
        let headers = self.or_default(get(d, "headers"), BTreeMap::new(), |w, v| {
            w.string_map("source.headers", v, check_header_name, check_header_value)
        });
        let tls = self.or_default(get(d, "tls"), TlsConfig::default(), |w, v| w.tls(v));
        let max_response_bytes = self.or_default(
            get(d, "max_response_bytes"),
            DEFAULT_MAX_RESPONSE_BYTES,
            |w, v| w.count("source.max_response_bytes", v, 1024),
        );
        let points_per_request = self.or_default(
            get(d, "points_per_request"),
            DEFAULT_POINTS_PER_REQUEST,
            |w, v| w.count("source.points_per_request", v, 0),
        );
        Some(SourceConfig {
            url: url?,
            timeout: timeout?,
            bearer_token_file: bearer_token_file?,
            basic_auth: basic_auth?,
            headers: headers?,
            tls: tls?,
            max_response_bytes: max_response_bytes?,
            points_per_request: points_per_request?,
        })
    }

    fn basic_auth(&mut self, v: &Value) -> Option<BasicAuth> {
        let path = "source.basic_auth";
        let d = self.table(path, v)?;
        self.unknown_keys(path, d, &["username", "password_file"]);
        let username = self
            .required("source.basic_auth.username", get(d, "username"))
            .and_then(|v| self.string("source.basic_auth.username", v));
        let password_file = self
            .required("source.basic_auth.password_file", get(d, "password_file"))
            .and_then(|v| self.file_path("source.basic_auth.password_file", v));
        Some(BasicAuth {
            username: username?,
            password_file: password_file?,
        })
    }

    fn tls(&mut self, v: &Value) -> Option<TlsConfig> {
        let path = "source.tls";
        let d = self.table(path, v)?;
        self.unknown_keys(path, d, &["ca_file", "insecure_skip_verify"]);
        let ca_file = self.optional(get(d, "ca_file"), |w, v| {
            w.file_path("source.tls.ca_file", v)
        });
        let insecure_skip_verify =
            self.or_default(get(d, "insecure_skip_verify"), false, |w, v| {
                w.boolean("source.tls.insecure_skip_verify", v)
            });
        Some(TlsConfig {
            ca_file: ca_file?,
            insecure_skip_verify: insecure_skip_verify?,
        })
    }

    fn alerting(&mut self, v: Option<&Value>) -> Option<AlertingConfig> {
        let d = self.section("alerting", v)?;
        self.unknown_keys("alerting", d, &["alertmanagers", "resend_delay", "timeout"]);
        let alertmanagers = self.or_default(get(d, "alertmanagers"), Vec::new(), |w, v| {
            w.url_list("alerting.alertmanagers", v)
        });
        // Zero is meaningful: resend at every evaluation.
        let resend_delay =
            self.or_default(get(d, "resend_delay"), Duration::from_secs(60), |w, v| {
                w.any_duration("alerting.resend_delay", v)
            });
        let timeout = self.or_default(get(d, "timeout"), Duration::from_secs(10), |w, v| {
            w.positive_duration("alerting.timeout", v)
        });
        Some(AlertingConfig {
            alertmanagers: alertmanagers?,
            resend_delay: resend_delay?,
            timeout: timeout?,
        })
    }

    fn roadmap(&mut self, v: Option<&Value>) -> Option<RoadmapConfig> {
        let d = self.section("roadmap", v)?;
        self.unknown_keys(
            "roadmap",
            d,
            &["growth_factor", "alert_on", "alert_for", "hold"],
        );
        let growth_factor =
            self.or_default(get(d, "growth_factor"), DEFAULT_GROWTH_FACTOR, |w, v| {
                let path = "roadmap.growth_factor";
                let g = w.number(path, v)?;
                if !(g > 1.0 && g.is_finite()) {
                    w.report(path, format!("{g} must be a finite number above 1"));
                    return None;
                }
                Some(g)
            });
        let alert_on = self.or_default(get(d, "alert_on"), Vec::new(), |w, v| {
            w.change_kinds("roadmap.alert_on", v)
        });
        let alert_for = self.or_default(get(d, "alert_for"), Duration::from_secs(3600), |w, v| {
            w.positive_duration("roadmap.alert_for", v)
        });
        let hold = self.or_default(get(d, "hold"), DEFAULT_ROADMAP_HOLD, |w, v| {
            w.any_duration("roadmap.hold", v)
        });
        Some(RoadmapConfig {
            growth_factor: growth_factor?,
            alert_on: alert_on?,
            alert_for: alert_for?,
            hold: hold?,
        })
    }

    /// `["sooner", "must_address"]`, or from the environment
    /// `sooner,must_address`.
    fn change_kinds(&mut self, path: &str, v: &Value) -> Option<Vec<crate::roadmap::ChangeKind>> {
        use crate::roadmap::ChangeKind;
        let items = self.list(path, v, "change kinds")?;
        let mut kinds = Vec::new();
        let mut ok = true;
        for (p, item) in items {
            // Every item is checked, so that one run reports them all.
            let Some(name) = self.string(&p, &item) else {
                ok = false;
                continue;
            };
            match ChangeKind::ALL.iter().find(|k| k.as_str() == name.trim()) {
                Some(k) if !kinds.contains(k) => kinds.push(*k),
                Some(_) => {}
                None => {
                    let all: Vec<String> = ChangeKind::ALL
                        .iter()
                        .map(|k| format!("{:?}", k.as_str()))
                        .collect();
                    self.report(&p, format!("{name:?} must be one of {}", all.join(", ")));
                    ok = false;
                }
            }
        }
        ok.then_some(kinds)
    }

    fn evaluation(&mut self, v: Option<&Value>) -> Option<EvaluationConfig> {
        let d = self.section("evaluation", v)?;
        self.unknown_keys(
            "evaluation",
            d,
            &[
                "interval",
                "lookback",
                "step",
                "hold",
                "resolve_margin",
                "keep_firing_for",
                "alert_probability",
                "backtest_every",
                "refetch_every",
                "concurrency",
                "max_series_per_limit",
            ],
        );
        let interval = self.or_default(get(d, "interval"), Duration::from_secs(60), |w, v| {
            w.positive_duration("evaluation.interval", v)
        });
        let lookback = self.or_default(
            get(d, "lookback"),
            Duration::from_secs(7 * 86_400),
            |w, v| w.positive_duration("evaluation.lookback", v),
        );
        let step = self.optional(get(d, "step"), |w, v| {
            w.positive_duration("evaluation.step", v)
        });
        // Zero is meaningful: fire as soon as the condition is seen.
        let hold = self.or_default(get(d, "hold"), Duration::from_secs(300), |w, v| {
            w.any_duration("evaluation.hold", v)
        });
        let resolve_margin = self.or_default(get(d, "resolve_margin"), 1.25, |w, v| {
            let path = "evaluation.resolve_margin";
            let m = w.number(path, v)?;
            if m < 1.0 {
                // Below 1 an alert would resolve while still inside its lead time.
                w.report(path, format!("{m} must be at least 1.0"));
                return None;
            }
            Some(m)
        });
        let keep_firing_for = self.optional(get(d, "keep_firing_for"), |w, v| {
            w.any_duration("evaluation.keep_firing_for", v)
        });
        let alert_probability = self.or_default(
            get(d, "alert_probability"),
            crate::forecast::ALERT_PROBABILITY,
            |w, v| {
                let path = "evaluation.alert_probability";
                let p = w.number(path, v)?;
                if !(p > 0.0 && p <= 0.5) {
                    // Above one half an alert would wait for a wall that is
                    // more likely than not already inside the window.
                    w.report(path, format!("{p} must be above 0 and at most 0.5"));
                    return None;
                }
                Some(p)
            },
        );
        // Zero is meaningful: no backtests.
        let backtest_every = self.or_default(
            get(d, "backtest_every"),
            Duration::from_secs(86_400),
            |w, v| w.any_duration("evaluation.backtest_every", v),
        );
        // Zero is meaningful: the whole lookback at every evaluation.
        let refetch_every = self.or_default(
            get(d, "refetch_every"),
            Duration::from_secs(3_600),
            |w, v| w.any_duration("evaluation.refetch_every", v),
        );
        let concurrency = self.or_default(get(d, "concurrency"), 4, |w, v| {
            w.count("evaluation.concurrency", v, 1)
        });
        let max_series_per_limit =
            self.or_default(get(d, "max_series_per_limit"), 10_000, |w, v| {
                w.count("evaluation.max_series_per_limit", v, 1)
            });

        if let (Some(interval), Some(lookback)) = (interval, lookback) {
            if lookback <= interval {
                self.report(
                    "evaluation.lookback",
                    format!(
                        "{} must be longer than evaluation.interval ({})",
                        show(lookback),
                        show(interval)
                    ),
                );
            }
        }
        if let (Some(lookback), Some(Some(step))) = (lookback, step) {
            self.check_step("evaluation.lookback", lookback, step);
        }
        Some(EvaluationConfig {
            interval: interval?,
            lookback: lookback?,
            step: step?,
            hold: hold?,
            resolve_margin: resolve_margin?,
            keep_firing_for: keep_firing_for?,
            alert_probability: alert_probability?,
            backtest_every: backtest_every?,
            refetch_every: refetch_every?,
            concurrency: concurrency?,
            max_series_per_limit: max_series_per_limit?,
        })
    }

    /// An explicit step must be shorter than the lookback it samples, or a
    /// range query would return a single point and no trend. (Too many points
    /// are not checked: the engine coarsens the step per limit then.)
    /// `lookback_path` says whose lookback: the global one's problem is
    /// reported at evaluation.step, a limit's at that limit's lookback.
    fn check_step(&mut self, lookback_path: &str, lookback: Duration, step: Duration) {
        if step < lookback {
            return;
        }
        if lookback_path == "evaluation.lookback" {
            self.report(
                "evaluation.step",
                format!(
                    "{} must be shorter than evaluation.lookback ({})",
                    show(step),
                    show(lookback)
                ),
            );
        } else {
            self.report(
                lookback_path,
                format!(
                    "{} must be longer than evaluation.step ({})",
                    show(lookback),
                    show(step)
                ),
            );
        }
    }

    fn limits(
        &mut self,
        v: Option<&Value>,
        evaluation: Option<&EvaluationConfig>,
    ) -> Option<Vec<Limit>> {
        let path = "limits";
        let items = match v {
            None => {
                self.report(path, "at least one limit is required");
                return None;
            }
            Some(Value::Array(_, items)) => items,
            Some(other) => {
                // The environment can name a key of a table, not an item of
                // an array: RUNWAY_LIMITS__0__WALL makes `limits` a table.
                let from_env = self.env_vars.keys().any(|p| is_within(p, path));
                let hint = if from_env {
                    ": limits cannot be set or changed from the environment, only in the file"
                } else {
                    ""
                };
                self.report(
                    path,
                    format!(
                        "expected an array of limit tables, found {}{hint}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.report(path, "at least one limit is required");
            return None;
        }
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        let mut limits = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = index_path(path, i);
            let limit = self
                .table(&item_path, item)
                .and_then(|d| self.limit(&item_path, d, evaluation, &mut names, i));
            match limit {
                Some(limit) => limits.push(limit),
                None => ok = false,
            }
        }
        ok.then_some(limits)
    }

    fn limit(
        &mut self,
        path: &str,
        d: &Dict,
        evaluation: Option<&EvaluationConfig>,
        names: &mut BTreeMap<String, usize>,
        index: usize,
    ) -> Option<Limit> {
        self.unknown_keys(
            path,
            d,
            &[
                "name",
                "query",
                "wall",
                "wall_query",
                "direction",
                "lead_time",
                "lookback",
                "model",
                "seasonality",
                "labels",
                "annotations",
                "alertname",
                "hold",
                "keep_firing_for",
                "driver",
            ],
        );
        let p = |key: &str| key_path(path, key);

        let name = self
            .required(&p("name"), get(d, "name"))
            .and_then(|v| self.string(&p("name"), v))
            .and_then(|name| {
                if !is_identifier(&name) {
                    self.report(
                        &p("name"),
                        format!("{name:?} is not a valid name (must match [a-zA-Z_][a-zA-Z0-9_]*)"),
                    );
                    return None;
                }
                if let Some(first) = names.get(&name) {
                    self.report(
                        &p("name"),
                        format!("{name:?} is used by {} too", index_path("limits", *first)),
                    );
                    return None;
                }
                names.insert(name.clone(), index);
                Some(name)
            });

        let query = self
            .required(&p("query"), get(d, "query"))
            .and_then(|v| self.non_empty_string(&p("query"), v));

        let wall = match (get(d, "wall"), get(d, "wall_query")) {
            (Some(v), None) => self.number(&p("wall"), v).map(WallSpec::Constant),
            (None, Some(v)) => self
                .non_empty_string(&p("wall_query"), v)
                .map(WallSpec::Query),
            _ => {
                self.report(&p("wall"), "exactly one of wall and wall_query must be set");
                None
            }
        };

        let direction = self
            .required(&p("direction"), get(d, "direction"))
            .and_then(|v| self.string(&p("direction"), v))
            .and_then(|s| match Direction::parse(s.trim()) {
                Some(direction) => Some(direction),
                None => {
                    self.report(
                        &p("direction"),
                        format!("{s:?} must be \"rising\" or \"falling\""),
                    );
                    None
                }
            });

        let lead_times = self
            .required(&p("lead_time"), get(d, "lead_time"))
            .and_then(|v| self.lead_times(&p("lead_time"), v));

        let lookback = self.optional(get(d, "lookback"), |w, v| {
            w.positive_duration(&p("lookback"), v)
        });
        if let (Some(Some(lookback)), Some(evaluation)) = (lookback, evaluation) {
            if lookback <= evaluation.interval {
                self.report(
                    &p("lookback"),
                    format!(
                        "{} must be longer than evaluation.interval ({})",
                        show(lookback),
                        show(evaluation.interval)
                    ),
                );
            }
            if let Some(step) = evaluation.step {
                self.check_step(&p("lookback"), lookback, step);
            }
        }

        let model = self.or_default(get(d, "model"), ModelChoice::default(), |w, v| {
            let s = w.string(&p("model"), v)?;
            let model = ModelChoice::parse(s.trim());
            if model.is_none() {
                let names: Vec<String> = ModelChoice::ALL
                    .iter()
                    .map(|m| format!("{:?}", m.as_str()))
                    .collect();
                w.report(
                    &p("model"),
                    format!("{s:?} must be one of {}", names.join(", ")),
                );
            }
            model
        });
        let seasonality = self.or_default(get(d, "seasonality"), Seasonality::Auto, |w, v| {
            let s = w.string(&p("seasonality"), v)?;
            let parsed = Seasonality::parse(s.trim());
            if parsed.is_none() {
                w.report(
                    &p("seasonality"),
                    format!(
                        "{s:?} must be \"auto\", \"none\" or a period such as \"1d\" or \"7d\""
                    ),
                );
            }
            parsed
        });
        let labels = self.or_default(get(d, "labels"), Labels::new(), |w, v| {
            w.string_map(&p("labels"), v, check_label_name, |_| None)
        });
        let annotations = self.or_default(get(d, "annotations"), BTreeMap::new(), |w, v| {
            w.string_map(
                &p("annotations"),
                v,
                check_annotation_name,
                crate::evaluate::template_problem,
            )
        });
        let alertname = self.or_default(
            get(d, "alertname"),
            DEFAULT_ALERTNAME.to_string(),
            |w, v| w.non_empty_string(&p("alertname"), v),
        );
        let hold = self.optional(get(d, "hold"), |w, v| w.any_duration(&p("hold"), v));
        let keep_firing_for = self.optional(get(d, "keep_firing_for"), |w, v| {
            w.any_duration(&p("keep_firing_for"), v)
        });
        let driver = self.optional(get(d, "driver"), |w, v| w.non_empty_string(&p("driver"), v));
        // A condition that must hold as long as the most urgent lead time
        // fires only once the wall is reached, if ever.
        let first = lead_times.as_ref().and_then(|l| l.first());
        let effective = match (&hold, evaluation) {
            (Some(Some(h)), _) => Some((*h, p("hold"))),
            (Some(None), Some(e)) => Some((e.hold, "evaluation.hold".to_string())),
            _ => None,
        };
        if let (Some(first), Some((h, key))) = (first, effective) {
            if h >= first.lead {
                self.report(
                    &key,
                    format!(
                        "{} is not shorter than {}'s {} lead time ({}): its alerts would fire only at the wall",
                        show(h),
                        p("lead_time"),
                        first.severity,
                        show(first.lead)
                    ),
                );
            }
        }

        // A fixed cycle is estimated from two periods of history at least
        // (see `forecast::season`): with less, it would silently not be
        // taken out.
        let seen = match (lookback, evaluation) {
            (Some(Some(l)), _) => Some((l, p("lookback"))),
            (Some(None), Some(e)) => Some((e.lookback, "evaluation.lookback".to_string())),
            _ => None,
        };
        if let (Some(Seasonality::Period(period)), Some((lookback, whose))) = (seasonality, seen) {
            let needed = 2.0 * period;
            if lookback.as_secs_f64() < needed {
                self.report(
                    &p("seasonality"),
                    format!(
                        "a cycle of {} needs two periods of history to be taken out; {whose} is {}",
                        // (`from_secs_f64` panics on a period of 2^64 s.)
                        Duration::try_from_secs_f64(period)
                            .map_or_else(|_| format!("{period}s"), show),
                        show(lookback)
                    ),
                );
            }
        }

        Some(Limit {
            name: name?,
            query: query?,
            wall: wall?,
            direction: direction?,
            lead_times: lead_times?,
            lookback: lookback?,
            model: model?,
            seasonality: seasonality?,
            labels: labels?,
            annotations: annotations?,
            alertname: alertname?,
            hold: hold?,
            keep_firing_for: keep_firing_for?,
            driver: driver?,
        })
    }

    /// `"7d"` -> [warning: 7d]; `{ critical = "1d", warning = "7d" }` ->
    /// sorted most urgent first.
    fn lead_times(&mut self, path: &str, v: &Value) -> Option<Vec<LeadTime>> {
        match v {
            Value::String(..) => {
                let lead = self.positive_duration(path, v)?;
                Some(vec![LeadTime {
                    severity: DEFAULT_SEVERITY.to_string(),
                    lead,
                }])
            }
            Value::Dict(_, d) if as_table(v).is_some() => {
                if d.is_empty() {
                    self.report(
                        path,
                        "must name at least one severity, e.g. { warning = \"7d\" }",
                    );
                    return None;
                }
                let mut leads = Vec::with_capacity(d.len());
                let mut ok = true;
                for (severity, v) in d {
                    let entry = key_path(path, severity);
                    if !is_severity(severity) {
                        self.report(&entry, "severity names must match [a-z_]+");
                        ok = false;
                    }
                    match self.positive_duration(&entry, v) {
                        Some(lead) => leads.push(LeadTime {
                            severity: severity.clone(),
                            lead,
                        }),
                        None => ok = false,
                    }
                }
                leads.sort_by_key(|l| l.lead);
                // Two severities at the same lead would start together, and
                // which one an alert carries would be arbitrary.
                for pair in leads.windows(2) {
                    if pair[0].lead == pair[1].lead {
                        self.report(
                            path,
                            format!(
                                "severities {:?} and {:?} have the same lead time ({})",
                                pair[0].severity,
                                pair[1].severity,
                                show(pair[0].lead)
                            ),
                        );
                        ok = false;
                    }
                }
                // The severities Alertmanager's own examples order (its
                // inhibition rule mutes `warning` while `critical` fires):
                // a more severe one must be the more urgent, or it fires
                // first and the other is never seen.
                let ranked: Vec<(usize, &LeadTime)> = leads
                    .iter()
                    .filter_map(|l| {
                        let rank = SEVERITY_ORDER.iter().position(|o| *o == l.severity)?;
                        Some((rank, l))
                    })
                    .collect();
                for (i, (a, sooner)) in ranked.iter().enumerate() {
                    for (_, later) in ranked[i + 1..].iter().filter(|(b, _)| b < a) {
                        self.report(
                            path,
                            format!(
                                "{:?} ({}) has a longer lead time than {:?} ({}): the more severe alert would fire first; swap them",
                                later.severity,
                                show(later.lead),
                                sooner.severity,
                                show(sooner.lead)
                            ),
                        );
                        ok = false;
                    }
                }
                ok.then_some(leads)
            }
            other => {
                self.report(
                    path,
                    format!(
                        "expected a duration such as \"7d\" or a table of severity = duration, found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: &str = r#"
[[limits]]
name = "disk_full"
query = "node_filesystem_avail_bytes"
wall = 0
direction = "falling"
lead_time = "7d"
"#;

    /// A valid TOML config with `extra` spliced in before the limit.
    fn toml_with(extra: &str) -> String {
        format!("[source]\nurl = \"http://p:9090\"\n{extra}\n{LIMIT}")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse_env(text: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        parse(text, Format::Toml, "t.toml", &env(pairs))
    }

    fn ok_yaml(text: &str) -> Config {
        from_str(text, Format::Yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn ok(text: &str) -> Config {
        from_str(text, Format::Toml, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn problems(text: &str, format: Format) -> Vec<String> {
        match from_str(text, format, "t") {
            Ok(_) => panic!("expected problems in:\n{text}"),
            Err(e) => e.problems().iter().map(ToString::to_string).collect(),
        }
    }

    fn toml_problems(extra: &str) -> Vec<String> {
        problems(&toml_with(extra), Format::Toml)
    }

    #[test]
    fn a_lead_far_beyond_the_history_or_cycles_sought_in_too_little_are_advised_not_refused() {
        let cfg = ok(r#"
[source]
url = "http://127.0.0.1:9090"

[evaluation]
lookback = "1h"

[[limits]]
name = "pool"
query = "pool_in_use"
wall = 100
direction = "rising"
lead_time = { critical = "1h", warning = "30d" }

[[limits]]
name = "disk"
query = "disk_used"
wall = 100
direction = "rising"
lead_time = "7d"
lookback = "14d"

[[limits]]
name = "queue"
query = "queue_depth"
wall = 100
direction = "rising"
lead_time = "2h"
seasonality = "none"
"#);
        let advice = cfg.advisories();
        // The first limit, on the global hour of history: its longest lead
        // (the warning's) is 720 hours, and it looks for cycles in an hour.
        // The second has a history of its own; the third reaches 2 times
        // its hour and looks for no cycle.
        assert_eq!(advice.len(), 2, "{advice:#?}");
        assert!(
            advice[0]
                .starts_with("limits[0].lead_time: \"warning\"'s lead time (30d) is 720 times")
                && advice[0].contains("(evaluation.lookback, 1h)")
                && advice[0].contains("a lookback of at least 3d")
                && advice[0].contains("(limit \"pool\")"),
            "{}",
            advice[0]
        );
        assert!(
            advice[1]
                .starts_with("limits[0].seasonality: \"auto\" finds a daily cycle in two days")
                && advice[1].contains("evaluation.lookback is 1h"),
            "{}",
            advice[1]
        );
        // The lookback advised passes: a lead of exactly ten lookbacks
        // is not advised against.
        let advised = ok(&limit_x("", "lead_time = \"30d\"\nlookback = \"3d\""));
        assert!(
            !advised
                .advisories()
                .iter()
                .any(|a| a.starts_with("limits[0].lead_time:")),
            "{:#?}",
            advised.advisories()
        );
        // A limit's own lookback is the one named.
        let short = ok(&limit_x("", "lead_time = \"7d\"\nlookback = \"12h\""));
        let advice = short.advisories();
        assert!(
            advice.iter().any(|a| a.starts_with("limits[0].lead_time:")
                && a.contains("(limits[0].lookback, 12h)")
                && a.contains("14 times")),
            "{advice:#?}"
        );
        // The defaults (seven days of history) need no advice for a lead
        // of up to ten weeks.
        assert_eq!(
            ok(&limit_x("", "lead_time = \"69d\"")).advisories(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_yaml_key_given_twice_is_refused_and_a_merge_key_is_named() {
        let twice = "source:\n  url: http://p:9090\nlimits:\n  - name: a\n    query: q\n    wall: 1\n    direction: rising\n    lead_time: 1d\nlimits:\n  - name: b\n    query: q\n    wall: 1\n    direction: rising\n    lead_time: 1d\n";
        let e = from_str(twice, Format::Yaml, "r.yaml").expect_err("limits twice");
        assert_eq!(
            e.to_string(),
            "r.yaml: syntax error: duplicate entry with key \"limits\" (a key given twice: the first would be lost)"
        );
        let nested = "source:\n  url: http://p:9090\nlimits:\n  - name: a\n    query: q\n    query: r\n    wall: 1\n    direction: rising\n    lead_time: 1d\n";
        let e = from_str(nested, Format::Yaml, "r.yaml").expect_err("query twice");
        assert!(
            e.to_string().starts_with(
                "r.yaml: syntax error: limits[0]: duplicate entry with key \"query\" at line 4"
            ),
            "{e}"
        );
        // A merge key is said for what it is.
        let merged = "base: &base\n  wall: 1\nsource:\n  url: http://p:9090\nlimits:\n  - name: a\n    query: q\n    <<: *base\n    direction: rising\n    lead_time: 1d\n";
        assert!(
            problems(merged, Format::Yaml).contains(
                &"limits[0].\"<<\": YAML merge keys (`<<: *anchor`) are not supported: write the keys out (limit \"a\")".to_string()
            ),
            "{:?}",
            problems(merged, Format::Yaml)
        );
        // The same key in two mappings is no duplicate.
        ok_yaml(&twice.replacen("limits:\n  - name: b", "  - name: b", 1));
    }

    #[test]
    fn key_paths_quote_keys_that_are_not_plain_words() {
        assert_eq!(key_path("", "source"), "source");
        assert_eq!(
            key_path("source.headers", "X-Scope-OrgID"),
            "source.headers.X-Scope-OrgID"
        );
        assert_eq!(key_path("source.headers", "X Y"), "source.headers.\"X Y\"");
        assert_eq!(key_path("a", ""), "a.\"\"");
        assert_eq!(key_path("a", "b.c"), "a.\"b.c\"");
        assert_eq!(index_path("limits", 3), "limits[3]");
    }

    #[test]
    fn a_typo_is_told_the_key_it_likely_meant() {
        assert_eq!(edits("qeury", "query"), 1, "a swap is one edit");
        assert_eq!(edits("evaluaton", "evaluation"), 1);
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("kitten", "sitting"), 3);
        let known = ["query", "wall", "wall_query", "direction"];
        assert_eq!(nearest("qeury", &known), Some("query"));
        assert_eq!(nearest("wal", &known), Some("wall"));
        assert_eq!(nearest("walls_query", &known), Some("wall_query"));
        // Too far, or too short to guess from.
        assert_eq!(nearest("threshold", &known), None);
        assert_eq!(nearest("x", &["y"]), None);
    }

    #[test]
    fn is_within_matches_whole_keys_only() {
        assert!(is_within("source.url", "source.url"));
        assert!(is_within(
            "alerting.alertmanagers[2]",
            "alerting.alertmanagers"
        ));
        assert!(is_within("source.tls.ca_file", "source"));
        assert!(!is_within("source.url_x", "source.url"));
        assert!(!is_within("source", "source.url"));
    }

    #[test]
    fn problem_display_is_path_colon_message() {
        let p = Problem {
            path: "limits[2].lead_time".into(),
            message: "\"7x\" is not a duration".into(),
        };
        assert_eq!(
            p.to_string(),
            "limits[2].lead_time: \"7x\" is not a duration"
        );
        let root = Problem {
            path: String::new(),
            message: "m".into(),
        };
        assert_eq!(root.to_string(), "m");
    }

    #[test]
    fn invalid_displays_one_line_per_problem_prefixed_by_origin() {
        let error = from_str("", Format::Toml, "f.toml").expect_err("empty is invalid");
        assert_eq!(
            error.to_string(),
            "f.toml: source.url: missing\nf.toml: limits: at least one limit is required"
        );
        assert_eq!(error.origin(), "f.toml");
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::from_path(Path::new("a.toml")), Some(Format::Toml));
        assert_eq!(Format::from_path(Path::new("a.YAML")), Some(Format::Yaml));
        assert_eq!(
            Format::from_path(Path::new("dir.d/a.yml")),
            Some(Format::Yaml)
        );
        assert_eq!(Format::from_path(Path::new("a.json")), None);
        assert_eq!(Format::from_path(Path::new("toml")), None);
    }

    #[test]
    fn unknown_extension_is_reported_before_reading() {
        let error = load_with_env(Path::new("/nonexistent/runway.conf"), &[])
            .expect_err("unknown extension");
        assert!(matches!(error, ConfigError::UnknownFormat { .. }));
        assert!(error.to_string().starts_with("/nonexistent/runway.conf: "));
    }

    #[test]
    fn urls_are_checked_and_trailing_slashes_removed() {
        assert_eq!(
            normalize_url("http://p:9090/").as_deref(),
            Ok("http://p:9090")
        );
        assert_eq!(normalize_url("HTTPS://p//").as_deref(), Ok("HTTPS://p"));
        assert_eq!(
            normalize_url("https://u:pw@mimir/prometheus/").as_deref(),
            Ok("https://u:pw@mimir/prometheus")
        );
        assert_eq!(
            normalize_url("http://[::1]:9090").as_deref(),
            Ok("http://[::1]:9090")
        );
        for bad in [
            "ftp://x",
            "p:9090",
            "http://",
            "http://[::1",
            "http://p:99999",
            "http://p:9090/api/v1",
            "http://p x",
            "http://p/#frag",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn name_rules() {
        assert!(is_identifier("_a1"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier("é"));
        assert!(is_severity("page_now"));
        assert!(!is_severity("Page"));
        assert!(!is_severity(""));
        assert!(is_header_name("X-Scope-OrgID"));
        assert!(!is_header_name("X Scope"));
        assert!(is_header_value("a\tb"));
        assert!(!is_header_value("a\nb"));
    }

    #[test]
    fn single_lead_time_is_a_warning_and_tables_sort_most_urgent_first() {
        let config = ok(&toml_with(""));
        assert_eq!(
            config.limits[0].lead_times,
            [LeadTime {
                severity: "warning".into(),
                lead: Duration::from_secs(7 * 86_400)
            }]
        );
        let text = toml_with("").replace(
            "lead_time = \"7d\"",
            "lead_time = { warning = \"1h 30m\", critical = \"90s\", info = \"2d\" }\nhold = \"1m\"",
        );
        let leads: Vec<(String, u64)> = ok(&text).limits[0]
            .lead_times
            .iter()
            .map(|l| (l.severity.clone(), l.lead.as_secs()))
            .collect();
        assert_eq!(
            leads,
            [
                ("critical".to_string(), 90),
                ("warning".to_string(), 5400),
                ("info".to_string(), 172_800)
            ]
        );
    }

    #[test]
    fn integers_and_floats_are_kept_apart() {
        let text = toml_with("").replace("wall = 0", "wall = -1.5");
        assert_eq!(ok(&text).limits[0].wall, WallSpec::Constant(-1.5));
        assert_eq!(
            toml_problems("[evaluation]\nconcurrency = 4.0"),
            ["evaluation.concurrency: expected a whole number, found number 4"]
        );
        // Too large for the machine is not "too small".
        let huge = "99999999999999999999999999999";
        let e = parse_env(
            &toml_with(""),
            &[("RUNWAY_SOURCE__MAX_RESPONSE_BYTES", huge)],
        )
        .expect_err("too large");
        assert!(
            e.to_string()
                .contains(&format!("{huge} is too large (at most {})", usize::MAX)),
            "{e}"
        );
        assert_eq!(
            toml_problems("[evaluation]\nmax_series_per_limit = -3"),
            ["evaluation.max_series_per_limit: -3 must be at least 1"]
        );
        assert_eq!(
            toml_problems("[evaluation]\nresolve_margin = inf"),
            ["evaluation.resolve_margin: inf is not a finite number"]
        );
        assert_eq!(
            toml_problems("[evaluation]\nalert_probability = 0.9"),
            ["evaluation.alert_probability: 0.9 must be above 0 and at most 0.5"]
        );
        // Integers are fine where a number is wanted.
        assert_eq!(
            ok(&toml_with("[evaluation]\nresolve_margin = 2"))
                .evaluation
                .resolve_margin,
            2.0
        );
    }

    #[test]
    fn hold_and_resend_delay_may_be_zero_but_intervals_may_not() {
        let config = ok(&toml_with(
            "[alerting]\nresend_delay = \"0s\"\n[evaluation]\nhold = \"0\"",
        ));
        assert_eq!(config.alerting.resend_delay, Duration::ZERO);
        assert_eq!(config.evaluation.hold, Duration::ZERO);
        assert_eq!(
            toml_problems("[evaluation]\nstep = \"0s\""),
            ["evaluation.step: \"0s\" must be greater than zero"]
        );
        // Nor beyond a century, where the clock's arithmetic ends (a
        // lookback of 2^64 s passed the checks and crashed `run`).
        assert_eq!(
            toml_problems("[evaluation]\ninterval = \"18446744073709551615s\""),
            ["evaluation.interval: \"18446744073709551615s\" is longer than 100y"]
        );
        assert!(
            ok(&toml_with(
                "[evaluation]\nlookback = \"100y\"\nbacktest_every = \"100y\""
            ))
            .evaluation
            .lookback
                > Duration::ZERO
        );
    }

    #[test]
    fn an_explicit_step_must_be_shorter_than_every_lookback() {
        assert_eq!(
            toml_problems("[evaluation]\nlookback = \"1h\"\nstep = \"2h\""),
            ["evaluation.step: 2h must be shorter than evaluation.lookback (1h)"]
        );
        // A fine step over a long lookback is the engine's to coarsen.
        let text = toml_with("[evaluation]\nstep = \"10s\"").replace(
            "lead_time = \"7d\"",
            "lead_time = \"7d\"\nlookback = \"90d\"",
        );
        assert_eq!(ok(&text).evaluation.step, Some(Duration::from_secs(10)));
    }

    /// A fixed cycle the lookback cannot hold twice would silently not be
    /// taken out (an operator set a 3h cycle over a 1h lookback).
    #[test]
    fn a_fixed_cycle_needs_two_periods_of_lookback() {
        let limit = |extra: &str| {
            toml_with("").replace(
                "lead_time = \"7d\"",
                &format!("lead_time = \"7d\"\n{extra}"),
            )
        };
        assert_eq!(
            problems(&limit("seasonality = \"3h\"\nlookback = \"1h\""), Format::Toml),
            ["limits[0].seasonality: a cycle of 3h needs two periods of history to be taken out; limits[0].lookback is 1h (limit \"disk_full\")"]
        );
        assert_eq!(
            problems(&limit("seasonality = \"7d\""), Format::Toml),
            ["limits[0].seasonality: a cycle of 7d needs two periods of history to be taken out; evaluation.lookback is 7d (limit \"disk_full\")"]
        );
        let huge = problems(
            &limit("seasonality = \"18446744073709551615s\""),
            Format::Toml,
        );
        assert!(huge[0].contains("needs two periods"), "{huge:?}");
        assert_eq!(
            ok(&limit("seasonality = \"1d\"")).limits[0].seasonality,
            Seasonality::Period(86_400.0)
        );
    }

    #[test]
    fn unknown_keys_come_first_in_their_table() {
        let text = toml_with("").replace("query = ", "qeury = ");
        assert_eq!(
            problems(&text, Format::Toml),
            [
                "limits[0].qeury: unknown key (did you mean `query`?) (limit \"disk_full\")",
                "limits[0].query: missing (limit \"disk_full\")"
            ]
        );
        let text = format!("extra = 1\n[server]\nport = 1\n{}", toml_with(""));
        assert_eq!(
            problems(&text, Format::Toml),
            ["extra: unknown key", "server.port: unknown key"]
        );
    }

    #[test]
    fn yaml_nulls_count_as_absent() {
        let yaml = "server:\nsource:\n  url: http://p:9090\n  headers:\nlimits:\n  - name: a\n    query: up\n    wall: 1\n    direction: rising\n    lead_time: 1h\n    model:\n";
        let config = from_str(yaml, Format::Yaml, "t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.server.listen.port(), 9464);
        assert!(config.source.headers.is_empty());
        assert_eq!(config.limits[0].model, ModelChoice::Auto);
        // ...including a required key left empty.
        let yaml = yaml.replace("query: up", "query:");
        assert_eq!(
            problems(&yaml, Format::Yaml),
            ["limits[0].query: missing (limit \"a\")"]
        );
    }

    #[test]
    fn a_blank_yaml_file_is_an_empty_config_not_a_syntax_error() {
        assert_eq!(
            problems("# nothing\n---\n", Format::Yaml),
            [
                "source.url: missing",
                "limits: at least one limit is required"
            ]
        );
    }

    #[test]
    fn a_yaml_document_that_is_not_a_table_is_a_syntax_error() {
        let error = from_str("- a\n- b\n", Format::Yaml, "l.yaml").expect_err("a list");
        assert_eq!(
            error.to_string(),
            "l.yaml: syntax error: the document must be a table of keys (invalid type: sequence, expected a map)"
        );
    }

    #[test]
    fn a_toml_datetime_is_not_mistaken_for_a_table() {
        assert_eq!(
            toml_problems("[source.tls]\n[alerting]\nresend_delay = 1979-05-27T07:32:00Z"),
            ["alerting.resend_delay: expected a duration such as \"90s\" or \"7d\", found date-time 1979-05-27T07:32:00Z"]
        );
        let text = toml_with("").replace("[source]", "[source]\ntls = 1979-05-27");
        assert_eq!(
            problems(&text, Format::Toml),
            ["source.tls: expected a table, found date-time 1979-05-27"]
        );
    }

    #[test]
    fn strings_from_the_file_are_not_numbers() {
        assert_eq!(
            toml_problems("[evaluation]\nconcurrency = \"8\""),
            ["evaluation.concurrency: expected a whole number, found string \"8\""]
        );
        assert_eq!(
            toml_problems("[source.tls]\ninsecure_skip_verify = \"true\""),
            ["source.tls.insecure_skip_verify: expected true or false, found string \"true\""]
        );
    }

    #[test]
    fn strings_from_the_environment_are_numbers_booleans_and_lists_where_needed() {
        let config = parse_env(
            &toml_with("[alerting]\nalertmanagers = [\"http://am:9093\"]"),
            &[
                ("RUNWAY_EVALUATION__RESOLVE_MARGIN", " 1.5 "),
                ("RUNWAY_EVALUATION__CONCURRENCY", "8"),
                ("RUNWAY_SOURCE__TLS__INSECURE_SKIP_VERIFY", "TRUE"),
                ("RUNWAY_ALERTING__ALERTMANAGERS", ""),
                ("RUNWAY_SOURCE__HEADERS__X_TENANT", "42"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.evaluation.resolve_margin, 1.5);
        assert_eq!(config.evaluation.alert_probability, 0.3);
        assert_eq!(config.evaluation.concurrency, 8);
        assert!(config.source.tls.insecure_skip_verify);
        // An empty list turns alerting off.
        assert!(config.alerting.alertmanagers.is_empty());
        // Keys are lowercased, `_` stands for `-` in a header's name; a
        // string stays a string where one is wanted.
        assert_eq!(config.source.headers["x-tenant"], "42");
    }

    /// A header the file sets, set again from the environment, is replaced,
    /// not sent twice: a variable's name cannot hold `-`, and its case is
    /// not the file's.
    #[test]
    fn a_header_from_the_environment_replaces_the_files_of_the_same_name() {
        let file = toml_with("headers = { \"X-Scope-OrgID\" = \"tenant-1\", Accept = \"a\" }");
        let config = parse_env(
            &file,
            &[
                ("RUNWAY_SOURCE__HEADERS__X_SCOPE_ORGID", "env-tenant"),
                ("RUNWAY_SOURCE__HEADERS__ACCEPT", "b"),
                ("RUNWAY_SOURCE__HEADERS__X_EXTRA", "c"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, &str)> = config
            .source
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Accept", "b"),
                ("X-Scope-OrgID", "env-tenant"),
                ("x-extra", "c")
            ]
        );
        // A bad value still names the variable it came from.
        let error = parse_env(
            &file,
            &[("RUNWAY_SOURCE__HEADERS__X_SCOPE_ORGID", "a\u{7}b")],
        )
        .expect_err("a control character");
        assert!(
            error.to_string().contains(
                "source.headers.X-Scope-OrgID: header values must not contain control characters (from environment variable RUNWAY_SOURCE__HEADERS__X_SCOPE_ORGID)"
            ),
            "{error}"
        );
    }

    #[test]
    fn environment_problems_name_their_variable() {
        let error = parse_env(
            &toml_with(""),
            &[
                ("RUNWAY_EVALUATION__CONCURRENCY", "many"),
                ("RUNWAY_ALERTING__ALERTMANAGERS", "http://a,ftp://b"),
                ("RUNWAY_EVALUATION__RESOLVE_MAGIN", "2"),
            ],
        )
        .expect_err("bad values");
        let lines: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "alerting.alertmanagers[1]: \"ftp://b\" must be an http or https URL (from environment variable RUNWAY_ALERTING__ALERTMANAGERS)",
                "evaluation.resolve_magin: unknown key (did you mean `resolve_margin`?) (from environment variable RUNWAY_EVALUATION__RESOLVE_MAGIN)",
                "evaluation.concurrency: string \"many\" is not a whole number (from environment variable RUNWAY_EVALUATION__CONCURRENCY)",
            ]
        );
    }

    #[test]
    fn a_limit_sets_its_cycle_or_none_and_a_bad_one_is_named() {
        let with = |value: &str| {
            toml_with("").replace(
                "lead_time = \"7d\"",
                &format!("lead_time = \"7d\"\nseasonality = \"{value}\""),
            )
        };
        assert_eq!(
            ok(&with("1d")).limits[0].seasonality,
            Seasonality::Period(86_400.0)
        );
        assert_eq!(ok(&with(" none ")).limits[0].seasonality, Seasonality::None);
        assert_eq!(ok(&toml_with("")).limits[0].seasonality, Seasonality::Auto);
        assert_eq!(
            problems(&with("daily"), Format::Toml),
            ["limits[0].seasonality: \"daily\" must be \"auto\", \"none\" or a period such as \"1d\" or \"7d\" (limit \"disk_full\")"]
        );
    }

    /// A configuration of one limit "x" (free space falling to 0) with
    /// `evaluation` under `[evaluation]` and `extra` in the limit.
    fn limit_x(evaluation: &str, extra: &str) -> String {
        format!(
            "[source]\nurl = \"http://p:9090\"\n[evaluation]\n{evaluation}\n[[limits]]\nname = \"x\"\nquery = \"q\"\nwall = 0\ndirection = \"falling\"\n{extra}"
        )
    }

    #[test]
    fn a_hold_as_long_as_the_lead_time_is_refused() {
        let limit = |extra: &str| limit_x("hold = \"2h\"", extra);
        assert_eq!(
            problems(&limit("lead_time = { critical = \"1d\", warning = \"7d\" }\nhold = \"1y\""), Format::Toml),
            ["limits[0].hold: 1y is not shorter than limits[0].lead_time's critical lead time (1d): its alerts would fire only at the wall (limit \"x\")"]
        );
        // Inherited from evaluation.hold: said there.
        assert_eq!(
            problems(&limit("lead_time = \"2h\""), Format::Toml),
            ["evaluation.hold: 2h is not shorter than limits[0].lead_time's warning lead time (2h): its alerts would fire only at the wall"]
        );
        assert_eq!(ok(&limit("lead_time = \"3h\"")).limits[0].hold, None);
    }

    #[test]
    fn a_more_severe_alert_must_have_the_shorter_lead_time() {
        let limit = |lead: &str| limit_x("", &format!("lead_time = {lead}"));
        assert_eq!(
            problems(&limit("{ critical = \"30d\", warning = \"7d\" }"), Format::Toml),
            ["limits[0].lead_time: \"critical\" (30d) has a longer lead time than \"warning\" (7d): the more severe alert would fire first; swap them (limit \"x\")"]
        );
        assert_eq!(
            problems(
                &limit("{ info = \"1d\", critical = \"2d\", warning = \"3d\" }"),
                Format::Toml
            )
            .len(),
            2
        );
        // In order, or with names of the team's own, nothing to say.
        let fine = ok(&limit(
            "{ critical = \"1d\", warning = \"7d\", info = \"30d\", page = \"40d\" }",
        ));
        assert_eq!(fine.limits[0].lead_times.len(), 4);
        ok(&limit("{ page = \"1d\", ticket = \"7d\" }"));
    }

    #[test]
    fn an_annotation_runway_cannot_fill_is_reported_at_its_key() {
        let text = LIMIT.replace(
            "[[limits]]",
            "[[limits]]\nannotations = { summary = \"{{ $labels.instance }} full in {{ humanizeDuration $value }}\" }",
        );
        let lines = problems(
            &format!("[source]\nurl = \"http://p:9090\"\n{text}"),
            Format::Toml,
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "limits[0].annotations.summary: {{ humanizeDuration $value }} is not a placeholder runway fills"
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn every_bad_change_kind_is_reported_with_its_place_in_the_list() {
        let file = problems(
            &toml_with("[roadmap]\nalert_on = [\"sooner\", 3, \"soon\", \"sooner\"]"),
            Format::Toml,
        );
        assert_eq!(
            file,
            [
                "roadmap.alert_on[1]: expected a string, found integer 3",
                "roadmap.alert_on[2]: \"soon\" must be one of \"sooner\", \"later\", \"must_address\", \"deferred\"",
            ]
        );
        let error = parse_env(
            &toml_with(""),
            &[("RUNWAY_ROADMAP__ALERT_ON", "sooner, bogus")],
        )
        .expect_err("bad kind");
        let lines: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["roadmap.alert_on[1]: \"bogus\" must be one of \"sooner\", \"later\", \"must_address\", \"deferred\" (from environment variable RUNWAY_ROADMAP__ALERT_ON)"]
        );
        let config = parse_env(
            &toml_with(""),
            &[("RUNWAY_ROADMAP__ALERT_ON", "must_address,sooner")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.roadmap.alert_on,
            [
                crate::roadmap::ChangeKind::MustAddress,
                crate::roadmap::ChangeKind::Sooner
            ]
        );
    }

    #[test]
    fn alerts_keep_firing_for_their_hold_unless_told_otherwise() {
        let config = parse_env(&toml_with(""), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.evaluation.keep_firing_for, None, "the hold");
        let config = parse_env(&toml_with("[evaluation]\nkeep_firing_for = \"15m\""), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.evaluation.keep_firing_for,
            Some(Duration::from_secs(900))
        );
        let own = parse_env(
            &format!(
                "{}\nkeep_firing_for = \"5m\"",
                toml_with("[evaluation]\nkeep_firing_for = \"15m\"")
            ),
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            own.limits[0].keep_firing_for,
            Some(Duration::from_secs(300))
        );
        let lines = problems(
            &toml_with("[evaluation]\nkeep_firing_for = \"a while\""),
            Format::Toml,
        );
        assert_eq!(
            lines,
            ["evaluation.keep_firing_for: \"a while\" is not a duration (expected e.g. \"90s\", \"7d\")"]
        );
    }

    #[test]
    fn roadmap_moves_are_held_half_an_hour_unless_told_otherwise() {
        let config = parse_env(&toml_with(""), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.roadmap.hold, Duration::from_secs(1800));
        let config = parse_env(&toml_with("[roadmap]\nhold = \"0s\""), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.roadmap.hold, Duration::ZERO, "zero: at once");
        let config = parse_env(&toml_with(""), &[("RUNWAY_ROADMAP__HOLD", "2h")])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.roadmap.hold, Duration::from_secs(7200));
    }

    #[test]
    fn the_environment_layer_follows_figments_naming() {
        let layer = EnvLayer::build(&env(&[
            ("runway_evaluation__interval", "30s"),
            ("RUNWAY_SOURCE__TLS__CA_FILE", "/ca.pem"),
            ("OTHER_EVALUATION__INTERVAL", "1s"),
            ("RUNWAY", "x"),
            ("RUNWAY_", "x"),
        ]));
        assert!(layer.problems.is_empty(), "{:?}", layer.problems);
        let root = Value::from(layer.dict);
        assert_eq!(
            root.find_ref("evaluation.interval").and_then(Value::as_str),
            Some("30s")
        );
        assert_eq!(
            root.find_ref("source.tls.ca_file").and_then(Value::as_str),
            Some("/ca.pem")
        );
        assert_eq!(root.as_dict().map(Dict::len), Some(2));
        assert_eq!(
            layer.vars.get("evaluation.interval").map(String::as_str),
            Some("runway_evaluation__interval")
        );
    }

    #[test]
    fn the_environment_layer_reports_what_it_cannot_nest() {
        let layer = EnvLayer::build(&env(&[
            ("RUNWAY_SOURCE", "x"),
            ("RUNWAY_SOURCE__URL", "http://p"),
            ("RUNWAY_EVALUATION____HOLD", "1m"),
            ("RUNWAY_SERVER__LISTEN", "a"),
            ("runway_server__listen", "b"),
        ]));
        let lines: Vec<String> = layer.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "RUNWAY_EVALUATION____HOLD: empty key between \"__\" separators",
                "server.listen: set both by RUNWAY_SERVER__LISTEN and by runway_server__listen",
                "source: set both by RUNWAY_SOURCE and, as a table, by RUNWAY_SOURCE__URL",
            ]
        );
    }

    #[test]
    fn the_environment_wins_over_the_file_and_replaces_arrays() {
        let config = parse_env(
            &toml_with("[alerting]\nalertmanagers = [\"http://a:9093\", \"http://b:9093\"]"),
            &[
                ("RUNWAY_ALERTING__ALERTMANAGERS", "http://c:9093/"),
                ("RUNWAY_SOURCE__URL", "https://q/"),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.alerting.alertmanagers, ["http://c:9093"]);
        assert_eq!(config.source.url, "https://q");
    }

    #[test]
    fn limits_cannot_come_from_the_environment() {
        let error = parse_env(&toml_with(""), &[("RUNWAY_LIMITS__0__WALL", "1")])
            .expect_err("limits replaced by a table");
        assert_eq!(
            error.problems()[0].to_string(),
            "limits: expected an array of limit tables, found a table: limits cannot be set or changed from the environment, only in the file (from environment variable RUNWAY_LIMITS__0__WALL)"
        );
    }

    #[test]
    fn basic_auth_and_tls_are_typed() {
        // toml_with splices into [source].
        let config = ok(&toml_with(
            "basic_auth = { username = \"u\", password_file = \"/pw\" }\n[source.tls]\nca_file = \"/ca.pem\"",
        ));
        assert_eq!(
            config.source.basic_auth,
            Some(BasicAuth {
                username: "u".into(),
                password_file: PathBuf::from("/pw")
            })
        );
        assert_eq!(config.source.tls.ca_file, Some(PathBuf::from("/ca.pem")));
        assert!(!config.source.tls.insecure_skip_verify);
    }

    #[test]
    fn wall_query_is_a_query_and_neither_wall_is_a_problem() {
        let text = toml_with("").replace("wall = 0", "wall_query = \"max(x)\"");
        assert_eq!(ok(&text).limits[0].wall, WallSpec::Query("max(x)".into()));
        let text = toml_with("").replace("wall = 0\n", "");
        assert_eq!(
            problems(&text, Format::Toml),
            ["limits[0].wall: exactly one of wall and wall_query must be set (limit \"disk_full\")"]
        );
    }

    /// Durations in messages read as the file writes them, and read back as
    /// the same duration: an error about "7days" or "1h 30m" named a value
    /// the user never wrote.
    #[test]
    fn durations_are_shown_as_a_configuration_writes_them_and_read_back() {
        let cases = [
            (Duration::from_secs(7 * 86_400), "7d"),
            (Duration::from_secs(5_400), "1h30m"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_millis(1_500), "1s500ms"),
            (Duration::from_secs(36 * 3_600), "1d12h"),
            (MAX_DURATION, "100y"),
            (Duration::ZERO, "0s"),
        ];
        for (d, text) in cases {
            assert_eq!(show(d), text);
            assert_eq!(humantime::parse_duration(text).ok(), Some(d), "{text}");
        }
    }
}
