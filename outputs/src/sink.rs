//! The interface between the EVE writer and the outputs that forward events elsewhere
//! (SIEM feeds over syslog today).
//!
//! The writer thread calls [`EventSink::offer`] for every event it writes, in order; an
//! implementation picks the events it wants and hands them to its own thread(s). `offer`
//! never blocks: the capture path must not wait on an output. What a sink cannot take is
//! counted in its [`SinkStats`], never dropped silently.

use model::Event;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An output fed by the writer thread.
pub trait EventSink: Send {
    /// The sink's configured name (its `sink` metric label).
    fn name(&self) -> &str;
    /// One event, in writer order. Must return at once (queue it, or count it as dropped).
    fn offer(&mut self, ev: &Event);
    /// Called about once a second on the writer thread.
    fn tick(&mut self) {}
    /// The run is ending: deliver or persist what is queued, waiting at most `limit`.
    fn close(&mut self, limit: Duration);
    /// The counters this sink keeps (shared with the metrics exporter).
    fn stats(&self) -> std::sync::Arc<SinkStats>;
}

/// Health counters of one sink, updated by its threads and read at scrape time. Updated
/// per message (SIEM feeds carry alerts and device changes, not per-packet events).
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Messages handed to the transport (sent again after a reconnect counts again).
    pub sent: AtomicU64,
    /// Messages sent again after a connection loss: the receiver may see them twice.
    pub resent: AtomicU64,
    /// Messages written to the on-disk spool (TCP and TLS: every message).
    pub spooled: AtomicU64,
    /// Messages lost, by reason: the writer queue was full.
    pub dropped_queue_full: AtomicU64,
    /// The spool was at its byte cap.
    pub dropped_spool_full: AtomicU64,
    /// Writing the spool failed (disk full, I/O error).
    pub dropped_spool_error: AtomicU64,
    /// The formatted message exceeded the configured maximum size.
    pub dropped_too_large: AtomicU64,
    /// A UDP datagram could not be sent (best effort: not retried).
    pub dropped_udp: AtomicU64,
    /// Spooled records found damaged (checksum, truncation) and skipped.
    pub dropped_corrupt: AtomicU64,
    /// Failures by reason: connecting, the TLS handshake or certificate, sending, or the
    /// peer closing or stalling the connection.
    pub fail_connect: AtomicU64,
    pub fail_tls: AtomicU64,
    pub fail_send: AtomicU64,
    pub fail_peer_closed: AtomicU64,
    pub fail_stalled: AtomicU64,
    /// Bytes in the spool now.
    pub spool_bytes: AtomicU64,
    /// 1 while connected to the receiver (UDP: always 1).
    pub connected: AtomicU64,
}

impl SinkStats {
    /// Adds `n` to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
    /// `(reason, count)` of every drop reason, for the metric and the summary.
    pub fn dropped(&self) -> [(&'static str, u64); 6] {
        [
            ("queue_full", Self::get(&self.dropped_queue_full)),
            ("spool_full", Self::get(&self.dropped_spool_full)),
            ("spool_error", Self::get(&self.dropped_spool_error)),
            ("too_large", Self::get(&self.dropped_too_large)),
            ("udp_send", Self::get(&self.dropped_udp)),
            ("spool_corrupt", Self::get(&self.dropped_corrupt)),
        ]
    }
    /// `(reason, count)` of every failure reason.
    pub fn failures(&self) -> [(&'static str, u64); 5] {
        [
            ("connect", Self::get(&self.fail_connect)),
            ("tls", Self::get(&self.fail_tls)),
            ("send", Self::get(&self.fail_send)),
            ("peer_closed", Self::get(&self.fail_peer_closed)),
            ("stalled", Self::get(&self.fail_stalled)),
        ]
    }
}
