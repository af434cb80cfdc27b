//! SIEM feeds over syslog: RFC 5424 messages over UDP (RFC 5426), TCP with octet counting
//! (RFC 6587 §3.4.1) or TLS (RFC 5425, rustls), with CEF, LEEF 2.0, EVE JSON or ECS JSON
//! payloads ([`format`]).
//!
//! Each `[[output.syslog]]` entry is one [`SyslogSink`]: the writer thread offers it every
//! event; it keeps those whose `event_type` it was configured for and queues a copy for
//! its sender thread without ever waiting (a full queue drops and counts). The sender
//! ([`sender`]) formats, numbers (`sequenceId`, persisted with the spool so a restart
//! continues the count; the boot id changes), and for TCP/TLS appends to the on-disk
//! [`spool`] before sending, so delivery is at-least-once across receiver outages and
//! restarts. UDP is best effort: no spool, no retry.
//!
//! Limits (each a config field): queue length, spool bytes and segment size, message
//! size, resend window, connect and stall timeouts, reconnection backoff, shutdown time.
//! Failures are counted per reason ([`crate::sink::SinkStats`], exported as
//! `wardwatch_output_siem_*`) and logged at most once a minute per reason.

pub mod config;
pub mod format;
pub mod sender;
pub mod spool;
pub mod transport;

#[cfg(test)]
mod tests;

pub use config::{Format, SyslogConfig, Transport};

use crate::sink::{EventSink, SinkStats};
use crossbeam_channel::{bounded, Sender as Tx, TrySendError};
use model::Event;
use sender::{Cmd, Sender, Throttle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A boot id: the kernel's random UUID, or a hash of time and process id without one.
pub fn new_boot_id() -> String {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/random/uuid") {
        let s = s.trim();
        if !s.is_empty() {
            return s.to_string();
        }
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// One syslog feed.
pub struct SyslogSink {
    name: String,
    types: Vec<String>,
    tx: Option<Tx<Cmd>>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<SinkStats>,
    close_ms: Arc<AtomicU64>,
    full_log: Throttle,
}

impl SyslogSink {
    /// Checks the configuration, opens the spool and starts the sender thread. `host` is
    /// the sensor name (RFC 5424 HOSTNAME), `boot` the id of this start.
    pub fn start(cfg: &SyslogConfig, host: &str, boot: &str) -> Result<SyslogSink, String> {
        let who = format!("output.syslog {:?}", cfg.name);
        if cfg.address.is_empty() {
            return Err(format!("{who}: address is required"));
        }
        if cfg.facility > 23 {
            return Err(format!("{who}: facility must be 0..=23"));
        }
        if !(cfg.leef_delimiter == '\t' || cfg.leef_delimiter.is_ascii_punctuation())
            || matches!(cfg.leef_delimiter, '=' | '\\' | '|')
        {
            return Err(format!(
                "{who}: leef_delimiter must be a tab or ASCII punctuation other than = \\ |"
            ));
        }
        let tls = match cfg.transport {
            Transport::Tls => {
                Some(transport::TlsSetup::new(cfg).map_err(|e| format!("{who}: {e}"))?)
            }
            _ => None,
        };
        let spool = match (&cfg.spool_dir, cfg.transport) {
            (Some(d), _) => Some(
                spool::Spool::open(
                    d,
                    cfg.spool_max_bytes,
                    cfg.spool_segment_bytes,
                    cfg.max_message_bytes as u64 + 16,
                )
                .map_err(|e| format!("{who}: spool {}: {e}", d.display()))?,
            ),
            (None, Transport::Udp) => None,
            (None, _) => {
                return Err(format!(
                    "{who}: TCP and TLS feeds need spool_dir or --state-dir (at-least-once delivery spools to disk)"
                ))
            }
        };
        let stats = Arc::new(SinkStats::default());
        let close_ms = Arc::new(AtomicU64::new(cfg.close_timeout_ms));
        let (tx, rx) = bounded(cfg.queue_events.max(1));
        let s = Sender::new(
            cfg.clone(),
            host.to_string(),
            boot,
            rx,
            stats.clone(),
            close_ms.clone(),
            spool,
            tls,
        )
        .map_err(|e| format!("{who}: {e}"))?;
        let thread = std::thread::Builder::new()
            .name(format!("ww-syslog-{}", cfg.name))
            .spawn(move || s.run())
            .map_err(|e| e.to_string())?;
        Ok(SyslogSink {
            name: cfg.name.clone(),
            types: cfg.event_types.clone(),
            tx: Some(tx),
            thread: Some(thread),
            stats,
            close_ms,
            full_log: Throttle::new(),
        })
    }
}

impl EventSink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn offer(&mut self, ev: &Event) {
        let t = ev.kind.event_type();
        if !self.types.iter().any(|x| x == t) {
            return;
        }
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Cmd::Event(Box::new(ev.clone()))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                SinkStats::add(&self.stats.dropped_queue_full, 1);
                if let Some(n) = self.full_log.hit() {
                    tracing::warn!(sink = %self.name, count = n, "Syslog queue full; events dropped (the capture path never waits for an output).");
                }
            }
        }
    }

    fn close(&mut self, limit: Duration) {
        self.close_ms.store(
            (limit.as_millis() as u64).min(self.close_ms.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            let st = &self.stats;
            let dropped: u64 = st.dropped().iter().map(|d| d.1).sum();
            let (sent, spooled) = (SinkStats::get(&st.sent), SinkStats::get(&st.spooled));
            let resent = SinkStats::get(&st.resent);
            if dropped > 0 {
                tracing::warn!(sink = %self.name, sent, resent, spooled, dropped, "SIEM feed closed; some messages were dropped.");
            } else {
                tracing::info!(sink = %self.name, sent, resent, spooled, dropped, "SIEM feed closed.");
            }
        }
    }

    fn stats(&self) -> Arc<SinkStats> {
        self.stats.clone()
    }
}

impl Drop for SyslogSink {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.close(Duration::from_secs(1));
        }
    }
}
