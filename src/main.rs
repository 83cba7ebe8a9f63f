//! The `runway` command: parses the command line, loads configuration, sets
//! up logging, builds the adapters and hands them to the engine. The only
//! place that uses `anyhow`: below here every error has a type.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use runway::config::{self, Config};
use runway::engine::{self, Engine};
use runway::evaluate::{self, Evaluation};
use runway::forecast::{ModelChoice, Seasonality, Settings};
use runway::metrics::Metrics;
use runway::model::{Direction, Series};
use runway::server::{self, AppState};
use runway::sink::alertmanager::AlertmanagerSink;
use runway::sink::log::LogSink;
use runway::sink::{AlertSink, AnySink};
use runway::snapshot::Snapshot;
use runway::source::demo::DemoSource;
use runway::source::prometheus::PrometheusSource;
use runway::source::SeriesSource;
use runway::{backtest, input, report};

#[derive(Parser)]
#[command(
    name = "runway",
    version,
    about = "Forecasts when your systems will hit their limits, and warns before they do."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: evaluate every limit each interval, export metrics,
    /// send alerts.
    Run {
        /// The configuration file (TOML, or YAML by its extension).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and report every problem in it.
    Check {
        /// The configuration file (TOML, or YAML by its extension).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Evaluate every limit once and print the forecasts; sends no alerts.
    Once {
        /// The configuration file (TOML, or YAML by its extension).
        #[arg(long, short)]
        config: PathBuf,
        /// A table for a person, or JSON for a program.
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Evaluate every limit once and print the scaling roadmap: what breaks
    /// first, at what load, and what must be addressed before load grows by
    /// the growth factor. Sends no alerts.
    Roadmap {
        /// The configuration file (TOML, or YAML by its extension).
        #[arg(long, short)]
        config: PathBuf,
        /// The next order of magnitude of load (default: the configuration's
        /// roadmap.growth_factor, 10).
        #[arg(long, value_parser = runway::roadmap::parse_growth)]
        growth: Option<f64>,
        /// Skip replaying each limit's history (faster; no trust figures).
        #[arg(long)]
        no_backtest: bool,
        /// A table for a terminal, Markdown for a ticket, or JSON.
        #[arg(long, value_enum, default_value = "table")]
        output: RoadmapOutput,
    },
    /// Forecast a saved series offline: a CSV of `timestamp,value` (Unix
    /// seconds) or a saved Prometheus query_range JSON response.
    Forecast {
        /// The file, or `-` for standard input.
        #[arg(long)]
        input: String,
        /// The limit's value.
        #[arg(long, allow_hyphen_values = true, value_parser = parse_wall)]
        wall: f64,
        /// Which way the series moves towards the wall: rising or falling.
        #[arg(long, value_parser = parse_direction)]
        direction: Direction,
        /// Alert window: a duration ("7d") or seconds ("604800").
        #[arg(long, default_value = "7d", value_parser = parse_seconds)]
        lead: f64,
        /// Forecast as of this Unix time (default: the newest sample).
        #[arg(long, allow_hyphen_values = true, value_parser = parse_unix_time)]
        at: Option<f64>,
        #[command(flatten)]
        how: ForecastArgs,
        /// A table for a person, or JSON for a program.
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Check the forecaster on a saved series' own history: forecast at
    /// evenly spaced past instants with only the samples known then, and
    /// score against when the series really reached the wall.
    Backtest {
        /// The file (CSV or saved query_range JSON), or `-` for standard
        /// input; or give --config instead.
        #[arg(long, required_unless_present = "config", conflicts_with = "config")]
        input: Option<String>,
        /// Replay the limits of this configuration on their own history,
        /// fetched from its source, instead of a file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// With --config: only this limit.
        #[arg(long, requires = "config", conflicts_with = "input")]
        limit: Option<String>,
        /// With --config: how much history to fetch (default: four times
        /// the limit's lookback).
        #[arg(long, requires = "config", conflicts_with = "input", value_parser = parse_positive_duration)]
        history: Option<Duration>,
        /// The limit's value (with --input; a configured limit has its own).
        #[arg(
            long,
            allow_hyphen_values = true,
            required_unless_present = "config",
            conflicts_with = "config",
            value_parser = parse_wall
        )]
        wall: Option<f64>,
        /// Which way the series moves towards the wall: rising or falling
        /// (with --input; a configured limit has its own).
        #[arg(
            long,
            value_parser = parse_direction,
            required_unless_present = "config",
            conflicts_with = "config"
        )]
        direction: Option<Direction>,
        /// Alert window: a duration ("7d") or seconds ("604800"). Default 7d,
        /// or with --config the limit's longest lead time.
        #[arg(long, value_parser = parse_seconds)]
        lead: Option<f64>,
        /// How many past instants to forecast from.
        #[arg(long, default_value = "30", value_parser = clap::value_parser!(u32).range(1..=10_000))]
        cuts: u32,
        #[command(flatten)]
        how: ForecastArgs,
        /// A table for a person, or JSON for a program.
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Run the engine on built-in generated histories: nothing to install.
    Demo {
        /// Where to serve /metrics, the JSON API and the status page.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: SocketAddr,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoadmapOutput {
    Table,
    Markdown,
    Json,
}

/// How to forecast, for the offline commands (the daemon reads the same
/// from each limit's configuration).
#[derive(clap::Args)]
struct ForecastArgs {
    /// "auto" (the trends that predicted the series' own past best),
    /// "robust", "exponential" or "linear". Default auto; with `backtest
    /// --config`, each limit's own unless given.
    #[arg(long, value_parser = parse_model)]
    model: Option<ModelChoice>,
    /// "auto" (a day, a week or a year, as the history shows), "none", or a
    /// period such as "1d". Default auto; with `backtest --config`, each
    /// limit's own unless given.
    #[arg(long, value_parser = parse_seasonality)]
    seasonality: Option<Seasonality>,
    /// Alert when the wall is at least this likely within --lead
    /// (0 < p <= 0.5; 0.05 = the band's earliest edge). Default 0.3; with
    /// `backtest --config`, the configuration's unless given.
    #[arg(long, value_parser = parse_probability)]
    alert_probability: Option<f64>,
}

impl ForecastArgs {
    fn settings(&self) -> Settings {
        Settings {
            model: self.model.unwrap_or_default(),
            seasonality: self.seasonality.unwrap_or_default(),
            alert_probability: self
                .alert_probability
                .unwrap_or(runway::forecast::ALERT_PROBABILITY),
        }
    }

    /// `cfg` with what was given on the command line in place of every
    /// limit's own: a limit replayed as it would forecast with another
    /// model, another cycle or another alert probability.
    fn applied_to(&self, mut cfg: Config) -> Config {
        for limit in &mut cfg.limits {
            if let Some(model) = self.model {
                limit.model = model;
            }
            if let Some(seasonality) = self.seasonality {
                limit.seasonality = seasonality;
            }
        }
        if let Some(p) = self.alert_probability {
            cfg.evaluation.alert_probability = p;
        }
        cfg
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

fn parse_direction(s: &str) -> Result<Direction, String> {
    Direction::parse(s).ok_or_else(|| format!("{s:?} must be \"rising\" or \"falling\""))
}

fn parse_model(s: &str) -> Result<ModelChoice, String> {
    ModelChoice::parse(s).ok_or_else(|| {
        let names: Vec<&str> = ModelChoice::ALL.iter().map(|m| m.as_str()).collect();
        format!("{s:?} must be one of {}", names.join(", "))
    })
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 0.5 => Ok(p),
        _ => Err(format!(
            "{s:?} must be a probability above 0 and at most 0.5"
        )),
    }
}

fn parse_seasonality(s: &str) -> Result<Seasonality, String> {
    Seasonality::parse(s)
        .ok_or_else(|| format!("{s:?} must be \"auto\", \"none\" or a period such as \"1d\""))
}

/// A Unix time in seconds, within the forecaster's range
/// (`forecast::MAX_TIME`).
fn parse_unix_time(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        // As the CSV reader refuses them: read as seconds, every duration
        // would be a thousand times too long. (Milliseconds reach 1e14 in
        // the year 5138; beyond, it is no time of either kind.)
        Ok(t) if t.abs() >= runway::input::MILLISECONDS_FROM && t.abs() < 1e14 => Err(format!(
            "{s:?} looks like milliseconds; give Unix seconds (divide by 1000)"
        )),
        Ok(t) if t.is_finite() && t.abs() <= runway::forecast::MAX_TIME => Ok(t),
        Ok(t) if t.is_finite() => Err(format!("{s:?} is not a Unix time in seconds")),
        _ => Err(format!("{s:?} is not a number of seconds since 1970")),
    }
}

/// A lead time: a duration ("7d") or a number of seconds, above zero (a
/// lead of nothing would only ever alert on a wall already reached).
fn parse_seconds(s: &str) -> Result<f64, String> {
    let seconds = match s.parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => humantime::parse_duration(s)
            .map(|d| d.as_secs_f64())
            .map_err(|_| format!("{s:?} is neither a duration (\"7d\") nor a number of seconds"))?,
    };
    if seconds <= 0.0 {
        return Err(format!("{s:?} must be longer than nothing"));
    }
    // The configuration's bound on every duration: beyond it a lead time
    // says nothing a team can plan by.
    if seconds > config::MAX_DURATION.as_secs_f64() {
        return Err(format!("{s:?} is longer than 100y"));
    }
    Ok(seconds)
}

/// A wall: a finite number, as written ("1e400" is no wall, and clap would
/// call it "inf").
fn parse_wall(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{s:?} is not a finite number")),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

/// How much history to fetch: a duration ("30d").
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|_| format!("{s:?} is not a duration, such as \"30d\" or \"12h\""))
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("{s:?} must be longer than zero"));
    }
    Ok(d)
}

/// The commands that print a report and end: writing into a pipe whose
/// reader has gone (`runway forecast ... | head -1`) ends them as it ends
/// any Unix tool, by SIGPIPE, where Rust's default (the signal ignored)
/// makes `println!` panic. Not for the daemon, whose log writes must not
/// end it; sockets are written with MSG_NOSIGNAL either way.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: restores the default disposition of one signal; no handler
    // is installed, and nothing in runway relies on SIGPIPE being ignored
    // outside the daemon.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// How long an exit waits for work still on the blocking pool.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    runway::allocator::return_freed_memory_at_once();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run { .. } | Command::Demo { .. }) {
        end_quietly_on_a_closed_pipe();
    }
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The one-shot commands end by saying which limits failed, and why, in
    // a sentence each: the engine's log line would say it again.
    // Nor do they send alerts: "alert firing" would read as if they had.
    if matches!(cli.command, Command::Once { .. } | Command::Roadmap { .. }) {
        for target in [engine::LIMIT_FAILED, engine::ALERT_LOG] {
            if let Ok(off) = format!("{target}=off").parse() {
                filter = filter.add_directive(off);
            }
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(dispatch(cli.command));
    // Forecasts still running on the blocking pool belong to an abandoned
    // evaluation and stop at their next chunk; dropping the runtime would
    // wait for them however long they took, past a supervisor's grace
    // period (Kubernetes': 30 s).
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("runway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Check { config } => Ok(check(&config)),
        Command::Run { config } => {
            // What a reload checks, so that a file that starts also reloads.
            let (cfg, source) = checked(&config).map_err(anyhow::Error::msg)?;
            run(cfg, source, config).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Once { config, output } => {
            let cfg = load(&config)?;
            once(cfg, output).await
        }
        Command::Roadmap {
            config,
            growth,
            no_backtest,
            output,
        } => {
            let cfg = load(&config)?;
            roadmap(cfg, growth, !no_backtest, output).await
        }
        Command::Forecast {
            input,
            wall,
            direction,
            lead,
            at,
            how,
            output,
        } => forecast_file(&input, wall, direction, lead, at, how.settings(), output),
        Command::Backtest {
            input,
            config,
            limit,
            history,
            wall,
            direction,
            lead,
            cuts,
            how,
            output,
        } => match (input, config, wall, direction) {
            (_, Some(config), _, _) => {
                let cfg = how.applied_to(load(&config)?);
                backtest_limits(&cfg, limit.as_deref(), history, lead, cuts as usize, output).await
            }
            (Some(input), None, Some(wall), Some(direction)) => backtest_file(
                &input,
                wall,
                direction,
                lead.unwrap_or(7.0 * 86_400.0),
                cuts as usize,
                how.settings(),
                output,
            ),
            _ => bail!("backtest needs --input with --wall and --direction, or --config"),
        },
        Command::Demo { listen } => demo(listen).await.map(|_| ExitCode::SUCCESS),
    }
}

fn load(path: &Path) -> Result<Config> {
    Ok(config::load(path)?)
}

/// Validates the configuration, and what it names on this machine that
/// `run` would fail on at start or at its first request (the CA file, the
/// credential files), without sending anything.
fn check(path: &Path) -> ExitCode {
    match checked(path) {
        Ok((cfg, _)) => {
            println!(
                "{}: ok ({})",
                path.display(),
                evaluate::count(cfg.limits.len(), "limit")
            );
            // Valid, so not refused; but said, as a linter would.
            for advice in cfg.advisories() {
                eprintln!("{}: warning: {advice}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration at `path`, and a source built from it whose
/// credential files can be read: what `runway check` checks, and what a
/// reload must pass. Every error names the file.
fn checked(path: &Path) -> Result<(Config, PrometheusSource), String> {
    let named = |p: String| format!("{}: {p}", path.display());
    let cfg = match config::load(path) {
        Ok(cfg) => cfg,
        // The files a valid source section names are checked even when
        // the rest is invalid: one run reports a bad limit and an
        // unreadable token together.
        Err(e) => {
            let files = e.valid_source().map(source_problems).map(|(_, p)| p);
            return Err(std::iter::once(e.to_string())
                .chain(files.into_iter().flatten().map(named))
                .collect::<Vec<_>>()
                .join("\n"));
        }
    };
    match source_problems(&cfg.source) {
        (Some(source), problems) if problems.is_empty() => Ok((cfg, source)),
        (_, problems) => Err(problems
            .into_iter()
            .map(named)
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// The source `config` describes, and every problem with the files it
/// names at once: a CA file that does not load and a token file that
/// cannot be read are both reported.
fn source_problems(config: &config::SourceConfig) -> (Option<PrometheusSource>, Vec<String>) {
    let (source, mut problems) = match PrometheusSource::new(config) {
        Ok(source) => (Some(source), Vec::new()),
        Err(e) => (None, vec![e.to_string()]),
    };
    problems.extend(PrometheusSource::unreadable_credentials(config));
    (source, problems)
}

fn shared() -> Result<(Arc<RwLock<Snapshot>>, Arc<Metrics>)> {
    let snapshot = Arc::new(RwLock::new(Snapshot::default()));
    let metrics = Arc::new(Metrics::new(snapshot.clone()).map_err(anyhow::Error::msg)?);
    Ok((snapshot, metrics))
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Asks for a reload at every SIGHUP, as Prometheus and Alertmanager
/// reload on it. Without a configuration file to read (the demo), SIGHUP
/// is answered in the log, since by default it would end the process.
fn reload_on_hangup(requests: Option<mpsc::Sender<engine::ReloadRequest>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            warn!("cannot listen for SIGHUP; reload with POST /-/reload");
            return;
        };
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match &requests {
                    Some(r) => {
                        info!("SIGHUP: reloading the configuration");
                        if r.send(engine::ReloadRequest { reply: None }).await.is_err() {
                            return;
                        }
                    }
                    None => warn!("SIGHUP: the demo has no configuration file to reload"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = requests;
}

/// Binds the server first, so that a taken port is reported before anything
/// else starts, then runs the engine until a signal arrives; with
/// `reloads`, SIGHUP and `POST /-/reload` read the configuration again.
async fn serve_and_run<S: SeriesSource, K: AlertSink>(
    listen: SocketAddr,
    engine: Engine<S, K>,
    snapshot: Arc<RwLock<Snapshot>>,
    metrics: Arc<Metrics>,
    reloads: Option<engine::Reloads<S, K>>,
    requests: Option<mpsc::Sender<engine::ReloadRequest>>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("server.listen: cannot listen on {listen}"))?;
    // The configuration running was read, and read well, just now.
    let loaded = engine::wall_clock();
    metrics.config_reload_successful.set(1);
    metrics.config_reload_success_time.set(loaded);
    if let Ok(mut snap) = snapshot.write() {
        snap.config.loaded_at = Some(loaded);
    }
    // Said once the port is ours, so that the address printed is one that
    // answers.
    info!(%listen, "serving the status page at http://{listen}/, /metrics, /api/v1/forecasts and /api/v1/roadmap");
    reload_on_hangup(requests.clone());
    let app = server::router(AppState {
        metrics,
        snapshot,
        reload: requests,
    });
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!(error = %e, "HTTP server stopped");
        }
    });
    engine.run(shutdown_signal(), reloads).await;
    server.abort();
    Ok(())
}

/// The sink `cfg` asks for: its Alertmanagers, or the log without any.
fn sink_for(cfg: &Config) -> Result<AnySink> {
    Ok(if cfg.alerting.alertmanagers.is_empty() {
        AnySink::Log(LogSink)
    } else {
        AnySink::Alertmanager(
            AlertmanagerSink::new(&cfg.alerting.alertmanagers, cfg.alerting.timeout)
                .context("alerting: cannot build the HTTP client")?,
        )
    })
}

async fn run(cfg: Config, source: PrometheusSource, path: PathBuf) -> Result<()> {
    let (snapshot, metrics) = shared()?;
    if cfg.alerting.alertmanagers.is_empty() {
        info!("no alerting.alertmanagers configured: alerts are logged, not sent");
    }
    let sink = sink_for(&cfg)?;
    for advice in cfg.advisories() {
        warn!(file = %path.display(), "{advice}");
    }
    info!(
        limits = cfg.limits.len(),
        source = %config::without_credentials(&cfg.source.url),
        interval = %config::show(cfg.evaluation.interval),
        "runway starting"
    );
    let engine = Engine::new(&cfg, source, sink, metrics.clone(), snapshot.clone());
    let listen = cfg.server.listen;
    // Everything but the listening address applies at a reload; a new
    // address is said, and waits for a restart.
    let load = move || -> Result<engine::Loaded<PrometheusSource, AnySink>, String> {
        let (cfg, source) = checked(&path)?;
        let sink = sink_for(&cfg).map_err(|e| format!("{}: {e:#}", path.display()))?;
        let mut notes = Vec::new();
        if cfg.server.listen != listen {
            notes.push(format!(
                "server.listen {} needs a restart: runway listens on {listen} until then",
                cfg.server.listen
            ));
        }
        if cfg.alerting.alertmanagers.is_empty() {
            notes.push("no alerting.alertmanagers: alerts are logged, not sent".to_string());
        }
        Ok(engine::Loaded {
            config: cfg,
            source,
            sink,
            notes,
        })
    };
    let (requests, received) = mpsc::channel(4);
    let reloads = engine::Reloads {
        requests: received,
        load: Box::new(load),
    };
    serve_and_run(
        listen,
        engine,
        snapshot,
        metrics,
        Some(reloads),
        Some(requests),
    )
    .await
}

async fn demo(listen: SocketAddr) -> Result<()> {
    let mut cfg = config::from_str(
        source_demo_config(),
        config::Format::Toml,
        "demo configuration",
    )?;
    cfg.server.listen = listen;
    let (snapshot, metrics) = shared()?;
    // Start the histories a little in the past so the first forecast already
    // has days of data behind it.
    let source = DemoSource::new(engine::wall_clock());
    info!(
        "demo: {} limits over generated histories (alerts are logged, not sent)",
        cfg.limits.len()
    );
    let engine = Engine::new(&cfg, source, LogSink, metrics.clone(), snapshot.clone());
    serve_and_run(listen, engine, snapshot, metrics, None, None).await
}

fn source_demo_config() -> &'static str {
    runway::source::demo::CONFIG
}

/// One evaluation of every limit of `cfg` against its source, sending
/// nothing; with `backtest`, each limit is then replayed on its history too.
/// Returns the snapshot it left, what the tick did, and when it ran.
async fn evaluate_once(
    cfg: &Config,
    backtest: bool,
) -> Result<(Arc<RwLock<Snapshot>>, engine::TickReport, f64)> {
    let (snapshot, metrics) = shared()?;
    let source = PrometheusSource::new(&cfg.source)?;
    let mut engine = Engine::new(cfg, source, LogSink, metrics, snapshot.clone());
    // Backtests only when asked: `once` answers quickly, and
    // `runway backtest --config` replays history on demand.
    engine.backtest_every = 0.0;
    let now = engine::wall_clock();
    let tick = engine.tick(now, false).await;
    if backtest {
        engine.backtest_all(now).await;
    }
    Ok((snapshot, tick, now))
}

/// Says why each failed limit was not evaluated; exit status 2 if any was.
fn failures(snap: &Snapshot, tick: &engine::TickReport) -> ExitCode {
    for name in &tick.failed_limits {
        if let Some(err) = snap.limits.get(name).and_then(|s| s.last_error.as_ref()) {
            eprintln!("runway: limit {name} not evaluated: {err}");
        }
    }
    if tick.failed_limits.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn read(snapshot: &RwLock<Snapshot>) -> Result<std::sync::RwLockReadGuard<'_, Snapshot>> {
    snapshot
        .read()
        .map_err(|_| anyhow::anyhow!("internal: snapshot lock poisoned"))
}

async fn roadmap(
    cfg: Config,
    growth: Option<f64>,
    backtest: bool,
    output: RoadmapOutput,
) -> Result<ExitCode> {
    let growth = growth.unwrap_or(cfg.roadmap.growth_factor);
    let (snapshot, tick, now) = evaluate_once(&cfg, backtest).await?;
    let snap = read(&snapshot)?;
    match output {
        RoadmapOutput::Table => print!("{}", report::roadmap_table(&snap, growth)),
        RoadmapOutput::Markdown => print!("{}", report::roadmap_markdown(&snap, growth, now)),
        RoadmapOutput::Json => println!("{}", report::roadmap_json(&snap, growth, now)),
    }
    Ok(failures(&snap, &tick))
}

async fn once(cfg: Config, output: Output) -> Result<ExitCode> {
    let (snapshot, tick, now) = evaluate_once(&cfg, false).await?;
    let snap = read(&snapshot)?;
    let ranked = snap.ranked();
    match output {
        Output::Table => {
            print!("{}", report::table(&ranked, now));
            // Why each forecast is what it is: the model, the cycle and the
            // regime, as the forecaster chose them.
            println!();
            for e in &ranked {
                println!(
                    "{} {}: {}",
                    e.limit,
                    evaluate::label_string(&e.labels),
                    e.forecast.reason
                );
            }
            let alerting: Vec<String> = ranked
                .iter()
                .filter_map(|e| {
                    let severities = would_alert(&snap, e);
                    (!severities.is_empty()).then(|| {
                        format!(
                            "  {} {}: {}",
                            e.limit,
                            evaluate::label_string(&e.labels),
                            severities.join(", ")
                        )
                    })
                })
                .collect();
            if !alerting.is_empty() {
                println!(
                    "\nWould alert (the daemon fires once the condition has held for the limit's hold)"
                );
                println!("{}", alerting.join("\n"));
            }
            let missing = report::not_evaluated_text(&snap);
            if !missing.is_empty() {
                print!("\n{missing}");
            }
        }
        Output::Json => {
            let rows: Vec<_> = ranked
                .iter()
                .map(|e| {
                    let mut row = report::row(e, None);
                    if let serde_json::Value::Object(m) = &mut row {
                        m.insert("would_alert".into(), would_alert(&snap, e).into());
                    }
                    row
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "series": rows,
                    "limits_not_evaluated": report::not_evaluated_json(&snap),
                })
            );
        }
    }
    Ok(failures(&snap, &tick))
}

/// The severities of `e`'s limit whose lead time its wall falls within:
/// what the daemon would fire for it, once held.
fn would_alert(snap: &Snapshot, e: &evaluate::Evaluation) -> Vec<String> {
    snap.windows
        .get(&e.limit)
        .into_iter()
        .flatten()
        .filter(|w| e.forecast.within(w.lead))
        .map(|w| w.severity.clone())
        .collect()
}

/// The series of an offline command's `--input` (a file, or `-` for
/// standard input). (`--wall` is finite: see [`parse_wall`].)
fn read_series(path: &str) -> Result<Vec<Series>> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
    };
    Ok(input::parse_series(&text, path)?)
}

/// `--at` must fall where the history can speak for it: not before its
/// first sample (there is nothing to forecast from). After its newest
/// sample the trend is carried over the gap, as a stale series would be:
/// said on standard error, as a mistaken epoch or unit is the likelier
/// cause.
fn check_at(path: &str, at: f64, series: &[Series]) -> Result<()> {
    let times = || series.iter().flat_map(|s| s.samples.iter().map(|x| x.t));
    let first = times().fold(f64::INFINITY, f64::min);
    let newest = times().fold(f64::NEG_INFINITY, f64::max);
    if at < first {
        // (With its date, where it has one: years 1 to 9999.)
        let date = |t: f64, before: &str, after: &str| {
            evaluate::rfc3339(t).map_or_else(String::new, |d| format!("{before}{d}{after}"))
        };
        bail!(
            "--at {at}{} is before the first sample of {path} ({first}{}): there is nothing to forecast from",
            date(at, " (", ")"),
            date(first, ", ", "")
        );
    }
    if at > newest {
        warn!(
            "--at {at} is {} after the newest sample of {path} ({newest}): the forecast carries the trend over the gap",
            evaluate::human_duration(at - newest)
        );
    }
    Ok(())
}

fn forecast_file(
    path: &str,
    wall: f64,
    direction: Direction,
    lead: f64,
    at: Option<f64>,
    settings: Settings,
    output: Output,
) -> Result<ExitCode> {
    let series = read_series(path)?;
    if let Some(at) = at {
        check_at(path, at, &series)?;
    }
    let evaluations: Vec<Evaluation> = series
        .iter()
        .flat_map(|s| {
            let now = at.unwrap_or_else(|| {
                s.samples
                    .iter()
                    .map(|x| x.t)
                    .filter(|t| t.is_finite())
                    .fold(f64::NEG_INFINITY, f64::max)
            });
            evaluate::evaluate(
                "forecast",
                std::slice::from_ref(s),
                &[wall],
                &[],
                direction,
                &settings,
                now,
            )
        })
        .collect();
    match output {
        Output::Json => {
            let rows: Vec<_> = evaluations
                .iter()
                .map(|e| report::row(e, Some(lead)))
                .collect();
            println!("{}", serde_json::json!({ "series": rows }));
        }
        Output::Table => {
            let refs: Vec<&Evaluation> = evaluations.iter().collect();
            let now = evaluations.first().map_or(0.0, |e| e.at);
            print!("{}", report::table(&refs, now));
            for e in &evaluations {
                println!(
                    "{}\n  model: {}\n  alert within {}: {}",
                    evaluate::summary(e),
                    e.forecast.reason,
                    evaluate::human_duration(lead),
                    if e.forecast.within(lead) { "yes" } else { "no" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn backtest_file(
    path: &str,
    wall: f64,
    direction: Direction,
    lead: f64,
    cuts: usize,
    settings: Settings,
    output: Output,
) -> Result<ExitCode> {
    let series = read_series(path)?;
    let reports: Vec<backtest::Report> = series
        .iter()
        .map(|s| backtest::backtest(&s.samples, wall, direction, lead, cuts, &settings, None))
        .collect();
    print_backtests(&series, &reports, output)?;
    Ok(ExitCode::SUCCESS)
}

/// One backtest report with the labels of its series, labels first.
#[derive(serde::Serialize)]
struct BacktestRow<'a> {
    labels: &'a runway::model::Labels,
    #[serde(flatten)]
    report: &'a backtest::Report,
}

fn backtest_rows<'a>(
    series: &'a [Series],
    reports: &'a [backtest::Report],
) -> Vec<BacktestRow<'a>> {
    series
        .iter()
        .zip(reports)
        .map(|(s, report)| BacktestRow {
            labels: &s.labels,
            report,
        })
        .collect()
}

fn print_backtests(series: &[Series], reports: &[backtest::Report], output: Output) -> Result<()> {
    match output {
        Output::Json => {
            // The envelope of `runway forecast`: one entry per series.
            let rows = backtest_rows(series, reports);
            println!("{}", serde_json::json!({ "series": rows }));
        }
        Output::Table => {
            for (i, (s, r)) in series.iter().zip(reports).enumerate() {
                if i > 0 {
                    println!();
                }
                if series.len() > 1 {
                    println!("{}", evaluate::label_string(&s.labels));
                }
                print!("{}", backtest::table(r));
            }
        }
    }
    Ok(())
}

/// ", the source has 15d" when the data covers less than was asked for
/// (a retention shorter than the history, or series younger than it).
fn covered_text(p: &backtest::Pooled, asked: f64) -> String {
    match (p.start, p.end) {
        (Some(a), Some(b)) if b - a < 0.95 * asked => {
            format!(", the source has {}", evaluate::human_duration(b - a))
        }
        (None, _) | (_, None) => ", the source has none".into(),
        _ => String::new(),
    }
}

/// A limit's backtests taken together, after its series.
fn pooled_text(name: &str, p: &backtest::Pooled, lead: f64) -> String {
    let mut out = format!(
        "\n== limit {name}: {} of {} series replayed\n",
        p.replayed, p.series
    );
    for (note, n) in &p.without_cuts {
        out.push_str(&format!("{n} series without cuts: {note}\n"));
    }
    if p.replayed > 0 {
        out.push_str(&backtest::scores_text(&p.summary, lead));
    }
    out
}

/// Replays each limit of a configuration on its own history, fetched from
/// its source, as the daemon does every `evaluation.backtest_every`: how far
/// to trust each wall, per series.
async fn backtest_limits(
    cfg: &Config,
    only: Option<&str>,
    history: Option<Duration>,
    lead: Option<f64>,
    cuts: usize,
    output: Output,
) -> Result<ExitCode> {
    let names: Vec<&str> = cfg
        .limits
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| only.is_none_or(|o| o == *n))
        .collect();
    if let (Some(name), true) = (only, names.is_empty()) {
        let known: Vec<&str> = cfg.limits.iter().map(|l| l.name.as_str()).collect();
        bail!(
            "--limit {name}: the configuration has no such limit (it has {})",
            known.join(", ")
        );
    }
    let (snapshot, metrics) = shared()?;
    let source = PrometheusSource::new(&cfg.source)?;
    let engine = Engine::new(cfg, source, LogSink, metrics, snapshot);
    let now = engine::wall_clock();
    let mut documents = Vec::new();
    // A limit that cannot be replayed (its query rejected, its source
    // down) is reported and the others still are; the exit status says
    // that one was not, as `once` and `roadmap` do.
    let mut failed = 0;
    for (i, name) in names.iter().enumerate() {
        let done = match engine
            .backtest_limit(name, now, history.map(|h| h.as_secs_f64()), lead, cuts)
            .await
        {
            Ok(done) => done,
            Err(e) => {
                failed += 1;
                // `e` names the limit.
                eprintln!("runway: {e} (not backtested)");
                if matches!(output, Output::Json) {
                    documents.push(serde_json::json!({ "limit": name, "error": e }));
                }
                continue;
            }
        };
        let (labels, reports): (Vec<Series>, Vec<backtest::Report>) = done
            .series
            .into_iter()
            .map(|(l, r)| (Series::new(l, Vec::new()), r))
            .unzip();
        let pooled = backtest::pool(&reports);
        match output {
            Output::Table => {
                if i > 0 {
                    println!();
                }
                println!(
                    "== limit {name} ({} series, {} of history asked{}, lead {})",
                    labels.len(),
                    evaluate::human_duration(done.history),
                    covered_text(&pooled, done.history),
                    evaluate::human_duration(done.lead)
                );
                print_backtests(&labels, &reports, output)?;
                print!("{}", pooled_text(name, &pooled, done.lead));
            }
            Output::Json => documents.push(serde_json::json!({
                "limit": name,
                "history_seconds": done.history,
                "lead_seconds": done.lead,
                "pooled": pooled,
                "series": backtest_rows(&labels, &reports),
            })),
        }
    }
    if matches!(output, Output::Json) {
        println!("{}", serde_json::json!({ "limits": documents }));
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
