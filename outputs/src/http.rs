//! The HTTP server: `GET /metrics` (Prometheus text 0.0.4, or OpenMetrics when the scraper
//! asks for it), `/healthz` (the process serves) and `/readyz` (capture has started).
//!
//! axum on a single-threaded tokio runtime in its own thread: a client that scrapes in a
//! loop costs that thread and the brief snapshot copies, never the capture path (publishers
//! `try_lock` and retry on their next tick).

use crate::metrics::{Exporter, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;

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

/// The routes, for the server and for tests.
pub fn router(x: Arc<Exporter>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(x)
}

impl HttpServer {
    /// Binds `addr` (errors are returned at once) and serves on a thread of its own. With
    /// `catch_signals`, SIGTERM and SIGINT are caught by the server (see
    /// [`HttpServer::wait_for_signal`]); leave it false where the caller handles signals.
    pub fn start(addr: &str, x: Arc<Exporter>, catch_signals: bool) -> Result<HttpServer, String> {
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
                    let serve = axum::serve(listener, router(x)).with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    });
                    if let Err(e) = serve.await {
                        tracing::warn!(error = %e, "Metrics server stopped.");
                    }
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
