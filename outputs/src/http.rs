//! The HTTP server: `GET /metrics` (Prometheus text 0.0.4, or OpenMetrics when the scraper
//! asks for it), `/healthz` (the process serves), `/readyz` (capture has started) and the
//! token-protected API under `/api/v1` (see [`crate::api`]).
//!
//! axum on a single-threaded tokio runtime in its own thread: a client that scrapes in a
//! loop costs that thread and the brief snapshot copies, never the capture path (publishers
//! `try_lock` and retry on their next tick).
//!
//! Connections are accepted by hand and served by hyper's HTTP/1.1 with
//! [`HEADER_READ_TIMEOUT`] for each request head, so a client that connects and stalls
//! holds a socket for that long, not the server. With a certificate and key configured the
//! server speaks only HTTPS (rustls on the ring provider, TLS 1.2 and 1.3, ALPN
//! `http/1.1`), the handshake bounded by [`TLS_HANDSHAKE_TIMEOUT`]. `/metrics` can
//! require the API token too (`metrics_require_token`); `/healthz` and `/readyz` never do.

use crate::api::{api_router, require_token, ApiSources, ApiToken, Auth};
use crate::metrics::{Exporter, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time a client gets to complete the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client gets to send a request head (HTTP and HTTPS alike).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a refusal or TLS failure is logged at most (each is always counted).
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What the server refused, for `/metrics` (`wardwatch_http_*`); each kind is logged at
/// most once per [`FAILURE_LOG_INTERVAL`], so a client retrying in a loop cannot flood
/// the log.
#[derive(Debug, Default)]
pub struct HttpStats {
    missing_token: AtomicU64,
    invalid_token: AtomicU64,
    tls_failures: AtomicU64,
    last_refused_log: Mutex<Option<Instant>>,
    last_tls_log: Mutex<Option<Instant>>,
}

/// True (and the time noted) when nothing was logged under `last` for an interval.
fn log_due(last: &Mutex<Option<Instant>>) -> bool {
    let mut g = last.lock().unwrap_or_else(|e| e.into_inner());
    match *g {
        Some(t) if t.elapsed() < FAILURE_LOG_INTERVAL => false,
        _ => {
            *g = Some(Instant::now());
            true
        }
    }
}

impl HttpStats {
    /// Refusals by reason.
    pub fn refused(&self) -> [(&'static str, u64); 2] {
        [
            ("missing_token", self.missing_token.load(Ordering::Relaxed)),
            ("invalid_token", self.invalid_token.load(Ordering::Relaxed)),
        ]
    }

    /// Failed or timed-out TLS handshakes.
    pub fn tls_failures(&self) -> u64 {
        self.tls_failures.load(Ordering::Relaxed)
    }

    /// Counts a 401 (and logs it, never the token, at most once an interval).
    pub fn note_refused(&self, invalid: bool) {
        let c = if invalid {
            &self.invalid_token
        } else {
            &self.missing_token
        };
        c.fetch_add(1, Ordering::Relaxed);
        if log_due(&self.last_refused_log) {
            let [(_, missing), (_, invalid)] = self.refused();
            tracing::warn!(
                missing_token = missing,
                invalid_token = invalid,
                "HTTP requests refused without a valid API token (totals; logged once a minute)."
            );
        }
    }

    fn note_tls_failure(&self, error: &str) {
        let n = self.tls_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if log_due(&self.last_tls_log) {
            tracing::warn!(
                failures = n,
                error,
                "HTTPS handshake failed (total; logged once a minute)."
            );
        }
    }
}

/// Certificate chain and private key, PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server certificate first, then any intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How the server is secured and what the API serves.
#[derive(Clone, Default)]
pub struct HttpOptions {
    /// The API token; `None` refuses every `/api/v1` request.
    pub token: Option<ApiToken>,
    /// Require the API token on `/metrics` as well.
    pub metrics_require_token: bool,
    /// Serve HTTPS only, with this certificate.
    pub tls: Option<TlsFiles>,
    /// What the API routes read.
    pub sources: ApiSources,
    /// Time a client gets to send each request head (`None`: [`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Option<Duration>,
}

/// Loads the certificate chain and key into a rustls server configuration. Errors name
/// the file, never its contents.
pub fn load_tls(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_err = |e: rustls::pki_types::pem::Error| format!("{}: {e}", files.cert.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(cert_err)?
        .collect::<Result<_, _>>()
        .map_err(cert_err)?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A running server; stops when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    signals: Option<mpsc::Receiver<()>>,
}

async fn metrics(State(x): State<Arc<Exporter>>, h: HeaderMap) -> impl IntoResponse {
    let om = h
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if om {
        (
            [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
            x.encode_openmetrics(),
        )
    } else {
        ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], x.encode_text())
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(x): State<Arc<Exporter>>) -> (StatusCode, &'static str) {
    if x.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

/// The routes with default options (no API token: the API refuses every request).
pub fn router(x: Arc<Exporter>) -> Router {
    router_with(x, &HttpOptions::default())
}

/// The routes: metrics, health, readiness and the API, as `opts` say.
pub fn router_with(x: Arc<Exporter>, opts: &HttpOptions) -> Router {
    let auth = Auth {
        token: opts.token.clone(),
        stats: x.http_stats(),
    };
    let mut m = Router::new()
        .route("/metrics", get(metrics))
        .with_state(x.clone());
    if opts.metrics_require_token {
        m = m.layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            require_token,
        ));
    }
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(x)
        .merge(m)
        .nest("/api/v1", api_router(auth, opts.sources.clone()))
}

/// One HTTP/1.1 connection on the router, with a bounded wait for each request head.
async fn serve_conn<I>(io: I, app: Router, header_timeout: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper_util::service::TowerToHyperService::new(app);
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
        .await;
}

/// Accepts connections by hand until `stop` fires, each in its own task: the TLS
/// handshake first when `tls` is set, then HTTP/1.1 on the router.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stats: Arc<HttpStats>,
    header_timeout: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((c, _)) => c,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "Accepting an HTTP connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => return,
        };
        let app = app.clone();
        let Some(acceptor) = acceptor.clone() else {
            tokio::spawn(serve_conn(tcp, app, header_timeout));
            continue;
        };
        let stats = stats.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => serve_conn(s, app, header_timeout).await,
                Ok(Err(e)) => stats.note_tls_failure(&e.to_string()),
                Err(_) => stats.note_tls_failure("timed out"),
            }
        });
    }
}

impl HttpServer {
    /// Binds `addr` (errors are returned at once) and serves on a thread of its own. With
    /// `catch_signals`, SIGTERM and SIGINT are caught by the server (see
    /// [`HttpServer::wait_for_signal`]); leave it false where the caller handles signals.
    pub fn start(addr: &str, x: Arc<Exporter>, catch_signals: bool) -> Result<HttpServer, String> {
        HttpServer::start_with(addr, x, HttpOptions::default(), catch_signals)
    }

    /// [`HttpServer::start`] with the API token, TLS and sources of `opts`; a certificate
    /// or key that does not load is an error at once.
    pub fn start_with(
        addr: &str,
        x: Arc<Exporter>,
        opts: HttpOptions,
        catch_signals: bool,
    ) -> Result<HttpServer, String> {
        let tls = opts.tls.as_ref().map(load_tls).transpose()?;
        let stats = x.http_stats();
        let header_timeout = opts.header_read_timeout.unwrap_or(HEADER_READ_TIMEOUT);
        let app = router_with(x, &opts);
        let std_listener =
            std::net::TcpListener::bind(addr).map_err(|e| format!("listen {addr}: {e}"))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("listen {addr}: {e}"))?;
        let local = std_listener
            .local_addr()
            .map_err(|e| format!("listen {addr}: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("http runtime: {e}"))?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (sig_tx, sig_rx) = mpsc::channel::<()>();
        // Signal handlers are installed before the thread starts, so a signal that comes
        // right after `start` returns is never lost to the default action.
        let sigs = if catch_signals {
            let _g = rt.enter();
            let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| format!("signals: {e}"))?;
            let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| format!("signals: {e}"))?;
            Some((term, int))
        } else {
            None
        };
        let thread = std::thread::Builder::new()
            .name("ww-http".into())
            .spawn(move || {
                rt.block_on(async move {
                    if let Some((mut term, mut int)) = sigs {
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = term.recv() => {}
                                _ = int.recv() => {}
                            }
                            let _ = sig_tx.send(());
                        });
                    }
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::warn!(error = %e, "Metrics listener failed; not serving.");
                            return;
                        }
                    };
                    serve(listener, app, tls, stats, header_timeout, stop_rx).await;
                });
            })
            .map_err(|e| format!("http thread: {e}"))?;
        Ok(HttpServer {
            addr: local,
            stop: Some(stop_tx),
            thread: Some(thread),
            signals: catch_signals.then_some(sig_rx),
        })
    }

    /// The bound address (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until SIGTERM or SIGINT (servers started with `catch_signals`); returns at
    /// once otherwise.
    pub fn wait_for_signal(&self) {
        if let Some(rx) = &self.signals {
            let _ = rx.recv();
        }
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        let code = r.split(' ').nth(1).unwrap().parse().unwrap();
        (code, r)
    }

    #[test]
    fn server_reports_readiness_and_serves_metrics() {
        // /readyz is 503 until capture starts, then 200; /healthz always 200; /metrics is
        // Prometheus text; the server stops when dropped and its port is released.
        let x = Exporter::new("file", 1, 8);
        let srv = HttpServer::start("127.0.0.1:0", x.clone(), false).unwrap();
        let a = srv.local_addr();
        assert_eq!(get(a, "/readyz").0, 503);
        assert_eq!(get(a, "/healthz").0, 200);
        x.set_ready(true);
        assert_eq!(get(a, "/readyz").0, 200);
        let (code, body) = get(a, "/metrics");
        assert_eq!(code, 200);
        assert!(body.contains("text/plain; version=0.0.4"), "{body}");
        assert!(body.contains("# TYPE wardwatch_hl7_unacknowledged_total counter"));
        drop(srv);
        assert!(std::net::TcpStream::connect(a).is_err());
    }

    #[tokio::test]
    async fn metrics_token_switch_leaves_health_open() {
        // metrics_require_token puts /metrics behind the API token; off (the default) it is
        // open; /healthz and /readyz are open either way.
        use tower::ServiceExt;
        let tok = "metrics-token-0123456789";
        let status = |app: Router, path: &'static str, auth: bool| async move {
            let mut b = axum::http::Request::builder().uri(path);
            if auth {
                b = b.header(header::AUTHORIZATION, format!("Bearer {tok}"));
            }
            let req = b.body(axum::body::Body::empty()).unwrap();
            app.oneshot(req).await.unwrap().status().as_u16()
        };
        let x = Exporter::new("file", 1, 8);
        x.set_ready(true);
        let mut o = HttpOptions {
            token: Some(ApiToken::new(tok).unwrap()),
            ..HttpOptions::default()
        };
        let open = router_with(x.clone(), &o);
        assert_eq!(status(open, "/metrics", false).await, 200);
        o.metrics_require_token = true;
        let app = router_with(x.clone(), &o);
        assert_eq!(status(app.clone(), "/metrics", false).await, 401);
        assert_eq!(status(app.clone(), "/metrics", true).await, 200);
        // The refusal is counted and exported.
        assert_eq!(
            x.http_stats().refused(),
            [("missing_token", 1), ("invalid_token", 0)]
        );
        let text = x.encode_text();
        assert!(
            text.contains("wardwatch_http_requests_refused_total{reason=\"missing_token\"} 1"),
            "{text}"
        );
        assert!(text.contains("wardwatch_http_tls_handshake_failures_total 0"));
        assert_eq!(status(app.clone(), "/healthz", false).await, 200);
        assert_eq!(status(app.clone(), "/readyz", false).await, 200);
        assert_eq!(status(app, "/api/v1/devices", true).await, 503);
    }

    #[test]
    fn stalled_request_head_is_dropped_while_others_are_served() {
        // A client that sends half a request head is disconnected after the header read
        // timeout; a complete request on another connection meanwhile gets its answer.
        let x = Exporter::new("file", 1, 8);
        let opts = HttpOptions {
            header_read_timeout: Some(Duration::from_millis(300)),
            ..HttpOptions::default()
        };
        let srv = HttpServer::start_with("127.0.0.1:0", x, opts, false).unwrap();
        let a = srv.local_addr();
        let mut slow = std::net::TcpStream::connect(a).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        assert_eq!(get(a, "/healthz").0, 200);
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let t = Instant::now();
        let mut r = Vec::new();
        let n = slow.read_to_end(&mut r);
        assert!(n.is_ok(), "not closed: {n:?}");
        assert!(!String::from_utf8_lossy(&r).contains("200 OK"));
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    }

    #[test]
    fn server_bind_error_is_returned() {
        // A bad or busy address fails at start, with the address in the message.
        let x = Exporter::new("file", 1, 8);
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = busy.local_addr().unwrap().to_string();
        let e = HttpServer::start(&addr, x.clone(), false).err().unwrap();
        assert!(e.contains(&addr), "{e}");
        assert!(HttpServer::start("127.0.0.1:99999", x, false).is_err());
    }
}
