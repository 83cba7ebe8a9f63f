//! Each adapter against a recording HTTP peer: what goes over the wire
//! (forms, credentials, headers, batches) and how each kind of failure is
//! classified. The real Prometheus and Alertmanager are in `e2e.rs`; these
//! pin the details a real server does not reveal.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Router;

use runway::config::{BasicAuth, SourceConfig, TlsConfig};
use runway::evaluate::{Alert, AlertState};
use runway::sink::alertmanager::AlertmanagerSink;
use runway::sink::AlertSink;
use runway::source::prometheus::PrometheusSource;
use runway::source::{SeriesSource, SourceError};

#[derive(Clone, Debug)]
struct Request {
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: String,
}

#[derive(Default)]
struct Peer {
    requests: Mutex<Vec<Request>>,
    /// (status, body, delay) answered in order; the last one repeats.
    replies: Mutex<VecDeque<(u16, String, Duration)>>,
}

async fn record(
    State(p): State<Arc<Peer>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    p.requests.lock().unwrap().push(Request {
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: String::from_utf8_lossy(&body).to_string(),
    });
    let reply = {
        let mut r = p.replies.lock().unwrap();
        if r.len() > 1 {
            r.pop_front()
        } else {
            r.front().cloned()
        }
    };
    let (status, body, delay) = reply.unwrap_or((200, String::new(), Duration::ZERO));
    tokio::time::sleep(delay).await;
    (StatusCode::from_u16(status).unwrap(), body)
}

async fn peer(replies: Vec<(u16, &str, Duration)>) -> (SocketAddr, Arc<Peer>) {
    let p = Arc::new(Peer::default());
    *p.replies.lock().unwrap() = replies
        .into_iter()
        .map(|(s, b, d)| (s, b.to_string(), d))
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(record).with_state(p.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, p)
}

const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","instance":"a"},"values":[[1700000000,"1"],[1700000060,"2"]]}]}}"#;

fn source_config(addr: SocketAddr) -> SourceConfig {
    SourceConfig {
        url: format!("http://{addr}/"),
        timeout: Duration::from_millis(500),
        bearer_token_file: None,
        basic_auth: None,
        headers: BTreeMap::new(),
        tls: TlsConfig::default(),
        max_response_bytes: runway::config::DEFAULT_MAX_RESPONSE_BYTES,
        points_per_request: runway::config::DEFAULT_POINTS_PER_REQUEST,
    }
}

/// The fields of an `application/x-www-form-urlencoded` body.
fn form(body: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn range_queries_are_posted_forms_with_credentials_and_headers() {
    let (addr, p) = peer(vec![(200, MATRIX, Duration::ZERO)]).await;
    let dir = tempfile::tempdir().unwrap();
    let token: PathBuf = dir.path().join("token");
    std::fs::write(&token, "first-token\n").unwrap();
    let mut cfg = source_config(addr);
    cfg.bearer_token_file = Some(token.clone());
    cfg.headers
        .insert("X-Scope-OrgID".into(), "tenant-1".into());
    let src = PrometheusSource::new(&cfg).unwrap();

    let series = src
        .query_range("sum by (instance) (x{a=\"b\"})", 1000.0, 2000.5, 300.0)
        .await
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(
        series[0].labels.get("instance").map(String::as_str),
        Some("a")
    );
    assert!(!series[0].labels.contains_key("__name__"));

    // A rotated token is used at the next query, without a restart.
    std::fs::write(&token, "second-token").unwrap();
    src.query_range("x", 1000.0, 2000.0, 300.0).await.unwrap();
    // Times are rounded down to the millisecond: a grid that ended past
    // `now` would bring its newest sample from after `now`, which the
    // forecast leaves out.
    src.query_range("x", 999.9996, 1599.9996, 300.0)
        .await
        .unwrap();

    let reqs = p.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].path, "/api/v1/query_range");
    let f = form(&reqs[0].body);
    assert_eq!(f["query"], "sum by (instance) (x{a=\"b\"})");
    assert_eq!(
        (f["start"].as_str(), f["end"].as_str(), f["step"].as_str()),
        ("1000.000", "2000.500", "300.000")
    );
    assert_eq!(reqs[0].headers["authorization"], "Bearer first-token");
    assert_eq!(reqs[0].headers["x-scope-orgid"], "tenant-1");
    assert!(reqs[0].headers["content-type"].starts_with("application/x-www-form-urlencoded"));
    assert_eq!(reqs[1].headers["authorization"], "Bearer second-token");
    let f = form(&reqs[2].body);
    assert_eq!(
        (f["start"].as_str(), f["end"].as_str()),
        ("999.999", "1599.999")
    );
}

#[tokio::test]
async fn basic_auth_reads_its_password_file_and_a_missing_file_names_the_key() {
    let (addr, p) = peer(vec![(200, MATRIX, Duration::ZERO)]).await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let mut cfg = source_config(addr);
    cfg.basic_auth = Some(BasicAuth {
        username: "runway".into(),
        password_file: pw.clone(),
    });
    let src = PrometheusSource::new(&cfg).unwrap();
    src.query_range("x", 0.0, 60.0, 60.0).await.unwrap();
    // base64("runway:s3cret")
    assert_eq!(
        p.requests.lock().unwrap()[0].headers["authorization"],
        "Basic cnVud2F5OnMzY3JldA=="
    );
    std::fs::remove_file(&pw).unwrap();
    let e = src.query_range("x", 0.0, 60.0, 60.0).await.unwrap_err();
    assert_eq!(e.kind(), "setup");
    assert!(
        e.to_string().contains("source.basic_auth.password_file"),
        "{e}"
    );
}

#[tokio::test]
async fn failures_are_classified_so_only_the_transient_ones_are_retried() {
    let bad = r#"{"status":"error","errorType":"bad_data","error":"1:11: parse error: unclosed left parenthesis"}"#;
    let cases: Vec<(u16, &str, Duration, &str, bool, &str)> = vec![
        (
            400,
            bad,
            Duration::ZERO,
            "rejected",
            false,
            "unclosed left parenthesis",
        ),
        (
            422,
            r#"{"status":"error","errorType":"execution","error":"too many samples"}"#,
            Duration::ZERO,
            "rejected",
            false,
            "too many samples",
        ),
        (
            503,
            "Service Unavailable",
            Duration::ZERO,
            "unavailable",
            true,
            "HTTP 503",
        ),
        // A base URL with a wrong path: no body to quote, so the message
        // says where it asked and what to check.
        (
            404,
            "",
            Duration::ZERO,
            "rejected",
            false,
            "HTTP 404 Not Found (no /api/v1/query_range at http://",
        ),
        (
            200,
            "<html>not prometheus</html>",
            Duration::ZERO,
            "invalid_response",
            false,
            "expected",
        ),
        (
            200,
            MATRIX,
            Duration::from_secs(2),
            "timeout",
            true,
            "timed out",
        ),
    ];
    for (status, body, delay, kind, transient, text) in cases {
        let (addr, _p) = peer(vec![(status, body, delay)]).await;
        let src = PrometheusSource::new(&source_config(addr)).unwrap();
        let e = src
            .query_range("rate(x[5m]", 0.0, 60.0, 60.0)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "HTTP {status}: {e}");
        assert_eq!(e.is_transient(), transient, "{kind}");
        assert!(e.to_string().contains(text), "{kind}: {e}");
        assert!(e.to_string().contains("rate(x[5m]"), "names the query: {e}");
    }
    // Nothing listening at all.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let src = PrometheusSource::new(&source_config(port)).unwrap();
    let e = src.query_range("x", 0.0, 60.0, 60.0).await.unwrap_err();
    assert!(matches!(e, SourceError::Unavailable { .. }), "{e}");
    assert!(
        e.to_string().to_lowercase().contains("refused"),
        "says why: {e}"
    );
}

#[tokio::test]
async fn a_response_over_the_configured_bound_is_refused_as_too_large() {
    let (addr, p) = peer(vec![(200, MATRIX, Duration::ZERO)]).await;
    let mut cfg = source_config(addr);
    cfg.max_response_bytes = 64;
    let src = PrometheusSource::new(&cfg).unwrap();
    let e = src
        .query_range("x", 1000.0, 2000.0, 300.0)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "too_large");
    assert!(!e.is_transient(), "a larger answer will not come smaller");
    assert!(e.to_string().contains("more than 64 bytes"), "{e}");
    assert_eq!(p.requests.lock().unwrap().len(), 1);
    // The same answer within the bound is read.
    cfg.max_response_bytes = MATRIX.len();
    let (addr, _p) = peer(vec![(200, MATRIX, Duration::ZERO)]).await;
    cfg.url = format!("http://{addr}/");
    let src = PrometheusSource::new(&cfg).unwrap();
    assert_eq!(
        src.query_range("x", 1000.0, 2000.0, 300.0)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A peer that answers one request with `head` and then `body` in pieces
/// of `piece` bytes, pausing between them, waits `then` and closes the
/// connection: the shapes of an answer the router-based peer cannot send.
async fn raw_peer(head: String, body: Vec<u8>, piece: usize, then: Duration) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        // The request: its head, then the form of Content-Length bytes.
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = conn.read(&mut buf).await else {
                return;
            };
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if request.len() >= end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        let _ = conn.write_all(head.as_bytes()).await;
        for p in body.chunks(piece) {
            let _ = conn.write_all(p).await;
            let _ = conn.flush().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(then).await;
        let _ = conn.shutdown().await;
    });
    addr
}

#[tokio::test]
async fn an_answer_that_arrives_in_pieces_is_read_whole_and_one_cut_short_is_an_outage() {
    let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"x","instance":"a"},"values":[[1700000000,"1.5"],[1700000060,"NaN"],[1700000120,"+Inf"]]},
        {"metric":{"__name__":"x","instance":"b"},"values":[[1700000000.25,"-2e3"]]}]}}"#;
    // Chunked transfer, a few bytes a chunk: pieces split numbers, strings
    // and escapes anywhere.
    let mut chunked = Vec::new();
    for c in matrix.as_bytes().chunks(7) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let addr = raw_peer(head.to_string(), chunked, 5, Duration::ZERO).await;
    let src = PrometheusSource::new(&source_config(addr)).unwrap();
    let series = src.query_range("x", 1000.0, 2000.0, 60.0).await.unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].labels["instance"], "a");
    let a: Vec<(f64, f64)> = series[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(a[0], (1_700_000_000.0, 1.5));
    assert!(a[1].1.is_nan());
    assert_eq!(a[2].1, f64::INFINITY);
    assert_eq!(
        (series[1].samples[0].t, series[1].samples[0].v),
        (1_700_000_000.25, -2000.0)
    );

    // The error of a range query answered with `body` after a 200 that
    // promises `length` bytes, the peer waiting `then` before it closes.
    let failed = |body: Vec<u8>, length: usize, then: Duration| async move {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
        let addr = raw_peer(head, body, 64, then).await;
        let src = PrometheusSource::new(&source_config(addr)).unwrap();
        src.query_range("x", 1000.0, 2000.0, 60.0)
            .await
            .unwrap_err()
    };
    // The connection closes halfway through the promised length: a failed
    // answer, retried like any outage, not a short history.
    let half = matrix.as_bytes()[..matrix.len() / 2].to_vec();
    let e = failed(half, matrix.len(), Duration::ZERO).await;
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert!(e.is_transient());

    // A complete answer that is not the API's JSON, past its first bytes.
    let broken = format!("{}]]}}", &matrix[..matrix.len() / 2]);
    let e = failed(broken.clone().into_bytes(), broken.len(), Duration::ZERO).await;
    assert_eq!(e.kind(), "invalid_response", "{e}");
    assert!(
        e.to_string().contains("query \"x\""),
        "names the query: {e}"
    );

    // A login page from a proxy, whose rest never comes: not the API, said
    // at once, rather than a timeout retried as an outage.
    let e = failed(b"<html>login".to_vec(), 100_000, Duration::from_secs(5)).await;
    assert_eq!(e.kind(), "invalid_response", "{e}");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn instant_queries_give_walls_from_vectors_and_scalars() {
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"db-1"},"value":[1700000000,"100"]},{"metric":{"instance":"db-2"},"value":[1700000000,"+Inf"]}]}}"#;
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#;
    let (addr, p) = peer(vec![
        (200, vector, Duration::ZERO),
        (200, scalar, Duration::ZERO),
    ])
    .await;
    let src = PrometheusSource::new(&source_config(addr)).unwrap();
    let walls = src
        .query_instant("max_conn", 1_700_000_000.0)
        .await
        .unwrap();
    assert_eq!(walls.len(), 2);
    assert_eq!(walls[0].1, 100.0);
    assert_eq!(walls[1].1, f64::INFINITY);
    let walls = src.query_instant("42", 1_700_000_000.0).await.unwrap();
    assert_eq!(walls, vec![(BTreeMap::new(), 42.0)]);
    let reqs = p.requests.lock().unwrap().clone();
    assert_eq!(reqs[0].path, "/api/v1/query");
    assert_eq!(form(&reqs[0].body)["time"], "1700000000.000");
}

fn alert(i: usize) -> Alert {
    Alert {
        state: AlertState::Firing,
        labels: [("alertname".to_string(), format!("A{i}"))].into(),
        annotations: BTreeMap::new(),
        starts_at: 1_700_000_000.0,
        ends_at: 1_700_000_240.0,
        generator_url: String::new(),
    }
}

#[tokio::test]
async fn alerts_go_to_every_alertmanager_in_batches_of_at_most_256() {
    let (ok, ok_peer) = peer(vec![(200, "", Duration::ZERO)]).await;
    let (down, _) = peer(vec![(500, "boom", Duration::ZERO)]).await;
    let sink = AlertmanagerSink::new(
        &[format!("http://{ok}/"), format!("http://{down}")],
        Duration::from_secs(2),
    )
    .unwrap();
    let alerts: Vec<Alert> = (0..600).map(alert).collect();
    let deliveries = sink.send(&alerts).await;

    let reqs = ok_peer.requests.lock().unwrap().clone();
    assert!(reqs.iter().all(|r| r.path == "/api/v2/alerts"));
    let mut sizes: Vec<usize> = reqs
        .iter()
        .map(|r| {
            serde_json::from_str::<Vec<serde_json::Value>>(&r.body)
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![88, 256, 256]);

    assert_eq!(deliveries.len(), 2, "one result per Alertmanager");
    assert_eq!((deliveries[0].sent, deliveries[0].failed), (600, 0));
    assert_eq!((deliveries[1].sent, deliveries[1].failed), (0, 600));
    let err = deliveries[1].error.as_ref().unwrap().to_string();
    assert!(err.contains("HTTP 500") && err.contains("boom"), "{err}");
}

/// An Alertmanager (or a proxy before it) that refuses with an endless
/// body is quoted from its start, not read to its end: read whole, a body
/// of gigabytes grew runway's memory by gigabytes, and one that never ends
/// left the refusal unquoted at the timeout.
#[tokio::test]
async fn a_refusal_with_an_endless_body_is_quoted_from_its_start() {
    let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\
                content-length: 1000000000\r\n\r\n"
        .to_string();
    // 64 KB of the promised gigabyte, then nothing for a minute.
    let body = "overloaded ".repeat(6_000).into_bytes();
    let addr = raw_peer(head, body, 16 * 1024, Duration::from_secs(60)).await;
    let sink = AlertmanagerSink::new(&[format!("http://{addr}")], Duration::from_secs(5)).unwrap();
    let deliveries = sink.send(&[alert(0)]).await;
    let error = deliveries[0].error.as_ref().expect("refused").to_string();
    assert!(error.contains("500"), "{error}");
    assert!(error.contains("overloaded overloaded"), "{error}");
    assert!(
        error.len() < 600,
        "quoted, not copied: {} bytes",
        error.len()
    );
}

/// An Alertmanager behind basic auth is reached with the credentials in its
/// URL; they go in the request's Authorization header, and nowhere a
/// delivery is reported (the metric's `alertmanager` label, the log line).
#[tokio::test]
async fn credentials_in_an_alertmanager_url_are_sent_but_never_reported() {
    let (up, up_peer) = peer(vec![(200, "", Duration::ZERO)]).await;
    let (refusing, _) = peer(vec![(401, "who are you", Duration::ZERO)]).await;
    // Nothing listens on a port that was just free: a transport error.
    let gone = crate::support::free_port();
    let sink = AlertmanagerSink::new(
        &[
            format!("http://admin:s3cret@{up}"),
            format!("http://admin:s3cret@{refusing}"),
            format!("http://admin:s3cret@127.0.0.1:{gone}"),
        ],
        Duration::from_secs(2),
    )
    .unwrap();
    let deliveries = sink.send(&[alert(0)]).await;
    let auth = up_peer.requests.lock().unwrap()[0].headers["authorization"].clone();
    assert_eq!(auth, "Basic YWRtaW46czNjcmV0", "admin:s3cret");
    assert_eq!(deliveries[0].target, format!("http://{up}"));
    assert_eq!(deliveries[0].sent, 1);
    for d in &deliveries[1..] {
        let reported = format!("{} {}", d.target, d.error.as_ref().expect("failed"));
        assert!(!reported.contains("s3cret"), "{reported}");
        assert!(
            reported.contains("127.0.0.1:"),
            "still says which: {reported}"
        );
    }
}

/// What a restarted runway reads back from each Alertmanager: the alerts
/// carrying a `limit` label (the filter is Alertmanager's own matcher
/// syntax), with their times whatever offset they are written in, one
/// result per Alertmanager; an answer that is not a list of alerts, or a
/// refusal, is named with the URL it came from and no credentials.
#[tokio::test]
async fn the_alerts_an_alertmanager_holds_are_read_back_and_a_bad_answer_is_named() {
    let held = r#"[
        {"labels": {"alertname": "WallApproaching", "limit": "disk_full", "severity": "warning"},
         "annotations": {"summary": "reaches 0 in about 2d"},
         "startsAt": "2026-11-30T06:00:00.250Z", "endsAt": "2026-11-30T07:00:00+01:00",
         "updatedAt": "2026-11-30T06:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=x", "fingerprint": "f",
         "receivers": [{"name": "pager"}],
         "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []}}
    ]"#;
    let (up, up_peer) = peer(vec![(200, held, Duration::ZERO)]).await;
    let (garbled, _) = peer(vec![(200, "<html>login</html>", Duration::ZERO)]).await;
    let (refusing, _) = peer(vec![(503, "not ready", Duration::ZERO)]).await;
    let sink = AlertmanagerSink::new(
        &[
            format!("http://admin:s3cret@{up}"),
            format!("http://admin:s3cret@{garbled}/"),
            format!("http://{refusing}"),
        ],
        Duration::from_secs(2),
    )
    .unwrap();
    let read = sink.active().await;
    assert_eq!(read.len(), 3, "one result per Alertmanager");

    let request = up_peer.requests.lock().unwrap()[0].clone();
    assert_eq!(request.path, "/api/v2/alerts");
    let filter: Vec<(String, String)> =
        reqwest::Url::parse(&format!("http://x/?{}", request.query))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    assert_eq!(
        filter,
        vec![("filter".to_string(), "limit=~\".+\"".to_string())]
    );
    assert_eq!(request.headers["authorization"], "Basic YWRtaW46czNjcmV0");

    assert_eq!(read[0].0, format!("http://{up}"));
    let alerts = read[0].1.as_ref().expect("read");
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.labels["limit"], "disk_full");
    assert_eq!(a.annotations["summary"], "reaches 0 in about 2d");
    assert_eq!(a.generator_url, "http://prometheus:9090/graph?g0.expr=x");
    // 2026-11-30T06:00:00Z is 1796018400.
    assert_eq!(a.starts_at, 1_796_018_400.25);
    assert_eq!(a.ends_at, 1_796_018_400.0, "07:00 at +01:00 is 06:00Z");

    let garbled_error = read[1].1.as_ref().expect_err("not alerts").to_string();
    assert!(
        garbled_error.starts_with(&format!(
            "GET http://{garbled}/api/v2/alerts: not a list of alerts"
        )),
        "{garbled_error}"
    );
    // What it was instead: a login page.
    assert!(
        garbled_error.contains("(text/plain; charset=utf-8)")
            && garbled_error.ends_with("the answer begins \"<html>login</html>\""),
        "{garbled_error}"
    );
    assert!(!garbled_error.contains("s3cret"), "{garbled_error}");
    let refused = read[2].1.as_ref().expect_err("refused").to_string();
    assert_eq!(
        refused,
        format!("GET http://{refusing}/api/v2/alerts: HTTP 503: not ready")
    );
}
