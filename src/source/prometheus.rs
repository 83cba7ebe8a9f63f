//! The Prometheus HTTP API adapter (`/api/v1/query_range`, `/api/v1/query`),
//! which also serves VictoriaMetrics, Thanos, Mimir and Cortex. Queries are
//! POSTed as forms so that long PromQL never meets a URL length limit.
//! Responses are read in chunks up to a bound, never whole into memory first.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::split::{Element, Split};
use super::{SeriesSource, SourceError};
use crate::config::SourceConfig;
use crate::model::{Labels, Sample, Series, UnixSeconds};

pub struct PrometheusSource {
    client: reqwest::Client,
    base: String,
    config: SourceConfig,
}

/// Why the client could not be built: always a configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("source.headers.{name}: {message}")]
    Header { name: String, message: String },
    #[error("source.tls.ca_file: cannot use {path}: {message}")]
    Ca { path: String, message: String },
    #[error("source: cannot build the HTTP client: {0}")]
    Client(String),
}

impl PrometheusSource {
    pub fn new(config: &SourceConfig) -> Result<Self, SetupError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let header_error = |message: String| SetupError::Header {
                name: name.clone(),
                message,
            };
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| header_error(format!("not a valid header name: {e}")))?;
            let v = HeaderValue::from_str(value)
                .map_err(|e| header_error(format!("not a valid header value: {e}")))?;
            headers.insert(n, v);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .default_headers(headers)
            .user_agent(concat!("runway/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.tls.ca_file {
            let ca_error = |message: String| SetupError::Ca {
                path: path.display().to_string(),
                message,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            // (A single certificate read from PEM is parsed only when the
            // client is built, and a file with none in it not at all: every
            // request would then fail as signed by an unknown authority.)
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error(
                    "holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)".to_string(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if config.tls.insecure_skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| SetupError::Client(e.to_string()))?;
        Ok(Self {
            client,
            base: config.url.trim_end_matches('/').to_string(),
            config: config.clone(),
        })
    }

    /// Every credential file `config` names that cannot be read now, as
    /// every request will read them, each with its key: for `runway
    /// check`, which sends nothing, and which needs no source for it (its
    /// set-up may have failed on something else).
    pub fn unreadable_credentials(config: &SourceConfig) -> Vec<String> {
        let files = config
            .bearer_token_file
            .iter()
            .map(|p| ("bearer_token_file", p.as_path()))
            .chain(
                config
                    .basic_auth
                    .iter()
                    .map(|b| ("basic_auth.password_file", b.password_file.as_path())),
            );
        files
            .filter_map(|(key, p)| read_credential(key, p).err())
            .map(|e| e.to_string())
            .collect()
    }

    /// Credentials are read from their files at every request, so that a
    /// rotated token is picked up without a restart.
    fn authorize(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, SourceError> {
        let mut req = req;
        if let Some(p) = &self.config.bearer_token_file {
            req = req.bearer_auth(read_credential("bearer_token_file", p)?);
        }
        if let Some(b) = &self.config.basic_auth {
            req = req.basic_auth(
                &b.username,
                Some(read_credential(
                    "basic_auth.password_file",
                    &b.password_file,
                )?),
            );
        }
        Ok(req)
    }

    async fn call(
        &self,
        path: &str,
        query: &str,
        form: &[(&str, String)],
    ) -> Result<Data, SourceError> {
        let q = || query.to_string();
        let req = self.authorize(self.client.post(format!("{}{path}", self.base)).form(form))?;
        let mut resp = req.send().await.map_err(|e| transport_error(q(), e))?;
        let status = resp.status();
        if !status.is_success() {
            // An error's body is small, and only its start is quoted when
            // it is not the API's JSON (a proxy's HTML page).
            let body = body_start(&mut resp, MAX_ERROR_BODY)
                .await
                .map_err(|e| transport_error(q(), e))?;
            return Err(match serde_json::from_slice::<Response>(&body) {
                Ok(r) => classify(status, q(), r.message(status)),
                Err(_) => {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).to_string();
                    let mut message = format!("HTTP {status}");
                    if !text.trim().is_empty() {
                        message.push_str(&format!(": {}", text.trim()));
                    }
                    // Not the API's answer, and no such path: most often a
                    // base URL with a path of its own, or none it needs.
                    if status == reqwest::StatusCode::NOT_FOUND {
                        message.push_str(&format!(
                            " (no {path} at {}: is source.url the query API's base URL, without /api/v1?)",
                            crate::config::without_credentials(&self.base)
                        ));
                    }
                    classify(status, q(), message)
                }
            });
        }
        // A success is parsed while it arrives, on the blocking pool, into
        // samples of 16 bytes a point: the body, about 35 bytes a point as
        // JSON, is never held whole, but a series' part of it at a time
        // (see `split`).
        let (tx, mut rx) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
        let parser = tokio::task::spawn_blocking(move || parse_chunks(&mut rx));
        let mut received = 0usize;
        loop {
            let chunk = tokio::select! {
                chunk = resp.chunk() => chunk.map_err(|e| transport_error(q(), e))?,
                // The parser stopped early (the answer is not the API's
                // JSON): its error is the answer, whether or not the rest
                // of the body ever comes.
                () = tx.closed() => None,
            };
            let Some(chunk) = chunk else { break };
            received += chunk.len();
            if received > self.config.max_response_bytes {
                return Err(SourceError::TooLarge {
                    query: q(),
                    limit_bytes: self.config.max_response_bytes,
                });
            }
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
        drop(tx);
        let invalid = |message: String| SourceError::InvalidResponse {
            query: q(),
            message,
        };
        match parser.await {
            Ok(Ok(Response {
                status: s,
                data: Some(data),
                ..
            })) if s == "success" => Ok(data),
            Ok(Ok(r)) => Err(classify(status, q(), r.message(status))),
            Ok(Err(e)) => Err(invalid(e)),
            Err(e) => Err(invalid(format!("the response could not be parsed: {e}"))),
        }
    }
}

/// The most of an error response that is read, to quote its start.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The start of an answer's body: its chunks until they reach `cap` bytes
/// (the last one whole, so up to a chunk more) or the body ends.
/// For error answers, whose body is only quoted: a peer that answers an
/// error with an endless body must not be read to its end.
pub(crate) async fn body_start(
    resp: &mut reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < cap {
        match resp.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    Ok(body)
}

/// How many received chunks may wait for the parser: enough to keep the
/// download going while it parses, few enough that a slow parser holds
/// the download back rather than the body piling up in memory.
const CHUNKS_IN_FLIGHT: usize = 16;

/// The answer whose body's chunks arrive on `rx`, parsed as they come
/// (see `split`): an error as soon as it is not the API's JSON.
fn parse_chunks<B: AsRef<[u8]>>(
    rx: &mut tokio::sync::mpsc::Receiver<B>,
) -> Result<Response, String> {
    let mut split = Split::default();
    while let Some(chunk) = rx.blocking_recv() {
        split.push(chunk.as_ref())?;
    }
    let (envelope, elements) = split.finish()?;
    let mut r: Response = serde_json::from_slice(&envelope).map_err(|e| e.to_string())?;
    r.data = r.data.map(|d| d.with(elements)).transpose()?;
    Ok(r)
}

/// 4xx means the request itself is wrong (Prometheus answers 400 bad_data for
/// bad PromQL, 422 for an execution error of the query): not worth a retry.
fn classify(status: reqwest::StatusCode, query: String, message: String) -> SourceError {
    if status.is_client_error() {
        SourceError::Rejected { query, message }
    } else if status == reqwest::StatusCode::SERVICE_UNAVAILABLE || status.is_server_error() {
        SourceError::Unavailable { query, message }
    } else {
        SourceError::InvalidResponse { query, message }
    }
}

fn transport_error(query: String, e: reqwest::Error) -> SourceError {
    let message = error_chain(&e);
    // A certificate runway does not trust is a setting to change, not an
    // outage to wait out: not retried, and the error says what to set.
    if untrusted_certificate(&e) {
        return SourceError::Setup(format!(
            "query {query:?}: the source's TLS certificate is not trusted ({message}); \
             if a private authority signed it, name it in source.tls.ca_file"
        ));
    }
    if e.is_timeout() {
        SourceError::Timeout { query, message }
    } else {
        SourceError::Unavailable { query, message }
    }
}

/// Whether the TLS handshake failed on the server's certificate: rustls'
/// `InvalidCertificate`, which the connector wraps in I/O errors (two, as
/// of reqwest 0.12) whose `source` skips the error they wrap: through an
/// I/O error the walk goes to what it wraps, elsewhere to the source.
fn untrusted_certificate(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(c) = next {
        if matches!(
            c.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        next = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    false
}

/// reqwest's own message is terse ("error sending request"); the causes say
/// what happened ("Connection refused").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

#[derive(Deserialize)]
struct Response {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

impl Response {
    /// What an error response says, as the API's `errorType` and `error`.
    fn message(self, status: reqwest::StatusCode) -> String {
        format!(
            "HTTP {}: {}{}",
            status.as_u16(),
            self.error_type
                .map(|t| format!("{t}: "))
                .unwrap_or_default(),
            self.error.unwrap_or_else(|| "no error message".into())
        )
    }
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum Data {
    Matrix(Vec<MatrixSeries>),
    Vector(Vec<VectorSample>),
    Scalar(Point),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
pub(crate) struct MatrixSeries {
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<Point>,
}

#[derive(Deserialize)]
pub(crate) struct VectorSample {
    pub metric: BTreeMap<String, String>,
    pub value: Point,
}

/// `[1700000000.123, "42.5"]`, read straight into a sample: Prometheus
/// sends values as strings so that NaN and the infinities survive JSON,
/// and a string per point would cost more than the point.
#[derive(Clone, Copy)]
pub(crate) struct Point(pub Sample);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, SeqAccess, Visitor};
        struct Pair;
        impl<'de> Visitor<'de> for Pair {
            type Value = Point;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a point [unix seconds, \"value\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
                let t: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let v: Value = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                Ok(Point(Sample::new(t, v.0)))
            }
        }
        d.deserialize_seq(Pair)
    }
}

/// A point's value string, parsed without keeping it.
struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a value as a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
                Ok(Value(parse_value(s)))
            }
        }
        d.deserialize_str(Text)
    }
}

/// Prometheus spells them `NaN`, `+Inf`, `-Inf`; anything unparsable is NaN
/// and so skipped by the forecaster rather than fatal.
pub fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}

/// A series' identity without its metric name, as Prometheus' functions
/// drop it.
fn identity(mut metric: BTreeMap<String, String>) -> Labels {
    metric.remove("__name__");
    metric
}

impl Data {
    /// The data with the series of `data.result` that `split` took out
    /// put back, as the matrix's or the vector's its `resultType` says.
    fn with(self, elements: Vec<Element>) -> Result<Data, String> {
        Ok(match self {
            Data::Matrix(mut m) => {
                m.extend(elements.into_iter().map(|e| MatrixSeries {
                    metric: e.metric,
                    values: e.values,
                }));
                Data::Matrix(m)
            }
            Data::Vector(mut v) => {
                for (i, e) in elements.into_iter().enumerate() {
                    let value = e
                        .value
                        .ok_or_else(|| format!("series {}: missing field `value`", i + 1))?;
                    v.push(VectorSample {
                        metric: e.metric,
                        value,
                    });
                }
                Data::Vector(v)
            }
            other if elements.is_empty() => other,
            other => return Err(format!("a {} holds no series", other.kind())),
        })
    }

    /// Converts a matrix (or an instant vector, as single points) into series.
    pub(crate) fn into_series(self, query: &str) -> Result<Vec<Series>, SourceError> {
        match self {
            Data::Matrix(m) => Ok(m
                .into_iter()
                .map(|s| {
                    // (An engine that answers out of order is sorted by
                    // `Series::new`.)
                    Series::new(
                        identity(s.metric),
                        s.values.into_iter().map(|p| p.0).collect(),
                    )
                })
                .collect()),
            Data::Vector(v) => Ok(v
                .into_iter()
                .map(|s| Series::new(identity(s.metric), vec![s.value.0]))
                .collect()),
            other => Err(SourceError::InvalidResponse {
                query: query.to_string(),
                message: format!("expected a matrix, got a {}", other.kind()),
            }),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Data::Matrix(_) => "matrix",
            Data::Vector(_) => "vector",
            Data::Scalar(_) => "scalar",
            Data::String(_) => "string",
        }
    }
}

/// The credential in the file `path`, named in the configuration by
/// `source.{key}`, trimmed.
fn read_credential(key: &str, path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| {
            SourceError::Setup(format!("source.{key}: cannot read {}: {e}", path.display()))
        })
}

/// Unix seconds as Prometheus accepts them (millisecond precision),
/// rounded down: a range query's grid ends at `end`, and a grid point
/// rounded up past `now` would be a sample from after `now`, which the
/// forecast leaves out. Rounded to the nearest, the newest sample was lost
/// at every evaluation whose `now` fell in the second half of a
/// millisecond (with the daemon's fixed cadence, every evaluation).
fn ts(t: UnixSeconds) -> String {
    format!("{:.3}", (t * 1000.0).floor() / 1000.0)
}

impl SeriesSource for PrometheusSource {
    async fn query_range(
        &self,
        query: &str,
        start: UnixSeconds,
        end: UnixSeconds,
        step: f64,
    ) -> Result<Vec<Series>, SourceError> {
        let form = [
            ("query", query.to_string()),
            ("start", ts(start)),
            ("end", ts(end)),
            ("step", ts(step)),
        ];
        self.call("/api/v1/query_range", query, &form)
            .await?
            .into_series(query)
    }

    async fn query_instant(
        &self,
        query: &str,
        at: UnixSeconds,
    ) -> Result<Vec<(Labels, f64)>, SourceError> {
        let form = [("query", query.to_string()), ("time", ts(at))];
        match self.call("/api/v1/query", query, &form).await? {
            Data::Vector(v) => Ok(v
                .into_iter()
                .map(|s| (identity(s.metric), s.value.0.v))
                .collect()),
            // `wall_query = "100"` is a scalar: one wall for every series.
            Data::Scalar(v) => Ok(vec![(Labels::new(), v.0.v)]),
            other => Err(SourceError::InvalidResponse {
                query: query.to_string(),
                message: format!(
                    "expected an instant vector or scalar, got a {}",
                    other.kind()
                ),
            }),
        }
    }
}

/// Parses a saved `query_range` JSON response, as written by
/// `curl .../api/v1/query_range`, for offline forecasting. An instant
/// query's answer (a vector) is refused by name: it holds one sample a
/// series, which no trend is fitted to, and read as one it said only
/// "insufficient data".
pub fn parse_saved_response(text: &str, origin: &str) -> Result<Vec<Series>, SourceError> {
    let r: Response = serde_json::from_str(text).map_err(|e| SourceError::InvalidResponse {
        query: origin.to_string(),
        message: e.to_string(),
    })?;
    match r.data {
        Some(Data::Vector(_)) if r.status == "success" => Err(SourceError::InvalidResponse {
            query: origin.to_string(),
            message: "expected a matrix, got a vector: an instant query's answer (/api/v1/query) holds one sample a series; save a range query's (/api/v1/query_range)".to_string(),
        }),
        Some(data) if r.status == "success" => data.into_series(origin),
        _ => Err(SourceError::InvalidResponse {
            query: origin.to_string(),
            message: format!(
                "status {:?}: {}",
                r.status,
                r.error.unwrap_or_else(|| "no data".to_string())
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_are_read_as_prometheus_writes_them() {
        assert_eq!(parse_value("+Inf"), f64::INFINITY);
        assert_eq!(parse_value("-Inf"), f64::NEG_INFINITY);
        assert!(parse_value("NaN").is_nan());
        assert!(parse_value("garbage").is_nan());
        assert_eq!(parse_value("1e3"), 1000.0);
    }

    #[test]
    fn a_saved_matrix_becomes_series_without_the_metric_name() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"node"},"values":[[1700000000,"1"],[1700000060.5,"NaN"]]}]}}"#;
        let s = parse_saved_response(text, "saved.json").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels.get("job").map(String::as_str), Some("node"));
        assert!(!s[0].labels.contains_key("__name__"));
        assert_eq!(s[0].samples[0], Sample::new(1_700_000_000.0, 1.0));
        assert!(s[0].samples[1].v.is_nan());
    }

    /// An engine that answers a series newest first is put in order: the
    /// newest sample says whether the series still reports, and read from
    /// the wrong end a live series was "stopped reporting".
    #[test]
    fn a_matrix_out_of_order_is_put_oldest_first() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"node"},"values":[[1700000120,"3"],[1700000000,"1"],[1700000060,"2"]]}]}}"#;
        let s = parse_saved_response(text, "saved.json").unwrap();
        let times: Vec<f64> = s[0].samples.iter().map(|x| x.t).collect();
        assert_eq!(times, [1_700_000_000.0, 1_700_000_060.0, 1_700_000_120.0]);
        assert_eq!(s[0].samples[2].v, 3.0);
    }

    #[test]
    fn a_saved_instant_answer_is_refused_as_one_sample_a_series() {
        let text = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"node"},"value":[1700000000,"1"]}]}}"#;
        let e = parse_saved_response(text, "instant.json").unwrap_err();
        assert!(
            e.to_string().contains("instant.json")
                && e.to_string().contains("got a vector")
                && e.to_string().contains("/api/v1/query_range"),
            "{e}"
        );
    }

    #[test]
    fn an_error_response_names_its_origin() {
        let text = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let e = parse_saved_response(text, "saved.json").unwrap_err();
        assert!(
            e.to_string().contains("saved.json") && e.to_string().contains("parse error"),
            "{e}"
        );
    }

    #[test]
    fn an_untrusted_certificate_is_recognised_inside_the_io_errors_that_wrap_it() {
        use std::io::{Error, ErrorKind};
        let cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = Error::other(Error::new(ErrorKind::InvalidData, cert));
        assert!(untrusted_certificate(&wrapped));
        let refused = Error::new(ErrorKind::ConnectionRefused, "connection refused");
        assert!(!untrusted_certificate(&refused));
        let other_tls = Error::other(rustls::Error::General("handshake failed".into()));
        assert!(!untrusted_certificate(&other_tls));
    }
}
