//! `/healthz` (JSON; 503 when the database is unreachable) and `/metrics` (Prometheus text
//! exposition) on the configured address — loopback unless the operator opted in.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::book::Book;

/// What only this process knows; the rest is read from the database on each request.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    pub in_flight: AtomicI64,
    pub findings_ingested: AtomicU64,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics {
            started: Instant::now(),
            in_flight: AtomicI64::new(0),
            findings_ingested: AtomicU64::new(0),
        })
    }
}

/// How long a request may wait for the database before the answer says it is unreachable.
const DATABASE_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HttpServer {
    pub async fn start(listen: SocketAddr, book: Book, metrics: Arc<Metrics>) -> Result<HttpServer> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (daemon.listen) for /healthz and /metrics"))?;
        let addr = listener.local_addr()?;
        let (stop, stopping) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, book, metrics, stopping));
        Ok(HttpServer { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, book: Book, metrics: Arc<Metrics>, mut stopping: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stopping) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let (book, metrics) = (book.clone(), metrics.clone());
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let (book, metrics) = (book.clone(), metrics.clone());
                            async move { Ok::<_, Infallible>(handle(&book, &metrics, req).await) }
                        });
                        let mut builder = hyper::server::conn::http1::Builder::new();
                        builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
                        if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
                            tracing::debug!(error = %e, "metrics endpoint: connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    connections.shutdown().await;
}

/// Resolves once stop was requested (the guard `wait_for` returns is not Send: dropped here).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|&s| s).await;
}

async fn handle(book: &Book, metrics: &Metrics, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into(), "text/plain");
    }
    match req.uri().path() {
        "/healthz" => {
            let (ok, body) = health(book, metrics).await;
            let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            text(status, format!("{body}\n"), "application/json")
        }
        "/metrics" => text(StatusCode::OK, exposition(book, metrics).await, "text/plain; version=0.0.4; charset=utf-8"),
        _ => text(StatusCode::NOT_FOUND, "not found: try /healthz or /metrics\n".into(), "text/plain"),
    }
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// What the database says, or why it could not answer.
#[derive(Debug, Default)]
struct Snapshot {
    /// (machine, status, count)
    runs: Vec<(String, String, i64)>,
    /// (schedule, status, started_at, finished_at)
    last_runs: Vec<(String, String, OffsetDateTime, Option<OffsetDateTime>)>,
    /// (schedule, finished_at of the last success)
    last_success: Vec<(String, OffsetDateTime)>,
    /// (region, cursor UpdatedAt)
    cursors: Vec<(String, OffsetDateTime)>,
}

async fn snapshot(book: &Book) -> Result<Snapshot> {
    let read = async {
        let client = book.pool().get().await.context("connecting")?;
        let runs: Vec<(String, String, i64)> = client
            .query("SELECT machine, status, count(*) FROM daemon_runs GROUP BY 1, 2 ORDER BY 1, 2", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let last_runs: Vec<(String, String, OffsetDateTime, Option<OffsetDateTime>)> = client
            .query(
                "SELECT DISTINCT ON (name) name, status, started_at, finished_at FROM daemon_runs \
                 WHERE kind = 'schedule' ORDER BY name, started_at DESC",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let last_success: Vec<(String, OffsetDateTime)> = client
            .query(
                "SELECT name, max(finished_at) FROM daemon_runs WHERE kind = 'schedule' AND status = 'succeeded' \
                 GROUP BY name ORDER BY name",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let cursors: Vec<(String, OffsetDateTime)> = client
            .query("SELECT region, updated_at FROM daemon_cursors WHERE source = 'securityhub' ORDER BY region", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        anyhow::Ok(Snapshot { runs, last_runs, last_success, cursors })
    };
    tokio::time::timeout(DATABASE_WAIT, read)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {DATABASE_WAIT:?}")))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn seconds(t: OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

async fn health(book: &Book, metrics: &Metrics) -> (bool, Value) {
    let now = OffsetDateTime::now_utc();
    let uptime = metrics.started.elapsed().as_secs();
    match snapshot(book).await {
        Ok(s) => {
            let schedules: serde_json::Map<String, Value> = s
                .last_runs
                .iter()
                .map(|(name, status, started, finished)| {
                    (
                        name.clone(),
                        json!({"last_run": {"status": status, "started_at": rfc3339(*started), "finished_at": finished.map(rfc3339)}}),
                    )
                })
                .collect();
            let cursors: serde_json::Map<String, Value> = s
                .cursors
                .iter()
                .map(|(region, at)| {
                    (region.clone(), json!({"updated_at": rfc3339(*at), "age_seconds": (now - *at).whole_seconds()}))
                })
                .collect();
            let body = json!({
                "status": "ok",
                "database": {"reachable": true},
                "schedules": schedules,
                "cursors": cursors,
                "executions_in_flight": metrics.in_flight.load(Ordering::Relaxed),
                "uptime_seconds": uptime,
            });
            (true, body)
        }
        Err(e) => (
            false,
            json!({"status": "unavailable", "database": {"reachable": false, "error": format!("{e:#}")}, "uptime_seconds": uptime}),
        ),
    }
}

fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The metrics in the Prometheus text format (names under `secops_daemon_`).
async fn exposition(book: &Book, metrics: &Metrics) -> String {
    let now = OffsetDateTime::now_utc();
    let mut out = String::new();
    let db = snapshot(book).await;
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    family(
        "secops_daemon_up_seconds",
        "gauge",
        "Seconds since this daemon process started.",
        vec![(String::new(), metrics.started.elapsed().as_secs_f64())],
    );
    family(
        "secops_daemon_executions_in_flight",
        "gauge",
        "State-machine executions running now.",
        vec![(String::new(), metrics.in_flight.load(Ordering::Relaxed) as f64)],
    );
    family(
        "secops_daemon_findings_ingested_total",
        "counter",
        "Security Hub findings delivered to the findings workflow by this process.",
        vec![(String::new(), metrics.findings_ingested.load(Ordering::Relaxed) as f64)],
    );
    family(
        "secops_daemon_database_up",
        "gauge",
        "1 when the database answered this scrape.",
        vec![(String::new(), if db.is_ok() { 1.0 } else { 0.0 })],
    );
    let s = db.unwrap_or_default();
    family(
        "secops_daemon_runs",
        "gauge",
        "Runs in the daemon's book, by state machine and status.",
        s.runs
            .iter()
            .map(|(m, st, n)| (format!("{{machine=\"{}\",status=\"{}\"}}", label(m), label(st)), *n as f64))
            .collect(),
    );
    family(
        "secops_daemon_last_success_timestamp_seconds",
        "gauge",
        "When each schedule's last successful run finished (Unix time).",
        s.last_success.iter().map(|(n, t)| (format!("{{schedule=\"{}\"}}", label(n)), seconds(*t))).collect(),
    );
    family(
        "secops_daemon_ingestion_cursor_lag_seconds",
        "gauge",
        "How far the Security Hub ingestion cursor (last UpdatedAt delivered) is behind now, per region.",
        s.cursors
            .iter()
            .map(|(r, t)| (format!("{{region=\"{}\"}}", label(r)), (now - *t).as_seconds_f64().max(0.0)))
            .collect(),
    );
    out
}
