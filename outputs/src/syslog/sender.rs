//! The sender thread of one feed: formats queued events, appends them to the spool (TCP,
//! TLS) and sends from the spool in order; or sends datagrams (UDP, best effort).
//!
//! Delivery: TCP and syslog have no acknowledgement of their own, so a message counts as
//! delivered once the receiver's TCP acknowledged its bytes and the connection then stayed
//! up for `resend_window_ms` (a receiver that stops reads what it already acknowledged
//! well within that). On any connection loss the spool is read again from the oldest
//! undelivered message: the receiver may see duplicates (same `sequenceId`), never gaps.

use super::config::{SyslogConfig, Transport};
use super::format::{self, Header};
use super::spool::{AppendError, Spool};
use super::transport::{connect, Conn, Failure, TlsSetup};
use crate::sink::SinkStats;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use model::Event;
use std::collections::VecDeque;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Failures and drops are logged at most once per this interval per reason (and counted
/// always).
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Unsent bytes held for the socket before more are read from the spool.
const OUT_HIGH_WATER: usize = 64 << 10;
/// Most bytes one pump writes before the sender serves its queue again.
const PUMP_BUDGET: usize = 4 << 20;
/// First reconnection delay (doubles up to `reconnect_max_ms`).
const BACKOFF_START: Duration = Duration::from_millis(250);

/// Logs a line at most once per [`LOG_INTERVAL`], with how many happened since the last.
pub struct Throttle {
    last: Option<Instant>,
    pending: u64,
}

impl Throttle {
    pub fn new() -> Self {
        Throttle {
            last: None,
            pending: 0,
        }
    }
    /// Counts one occurrence; returns the count to log when a line is due.
    pub fn hit(&mut self) -> Option<u64> {
        self.pending += 1;
        if self.last.is_none_or(|t| t.elapsed() >= LOG_INTERVAL) {
            self.last = Some(Instant::now());
            let n = self.pending;
            self.pending = 0;
            return Some(n);
        }
        None
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

/// A message handed to the socket and not yet known to be delivered.
struct InFlight {
    seq: u64,
    /// Stream offset just past its last byte.
    end: u64,
    /// When the peer's TCP had acknowledged it all.
    acked_at: Option<Instant>,
}

/// What the writer thread hands over.
pub enum Cmd {
    Event(Box<Event>),
}

pub struct Sender {
    cfg: SyslogConfig,
    host: String,
    header: Header,
    started: Instant,
    rx: Receiver<Cmd>,
    stats: Arc<SinkStats>,
    /// Milliseconds the shutdown may take (set by `close`).
    close_ms: Arc<AtomicU64>,
    spool: Option<Spool>,
    /// Sequence numbers of a feed without a spool (UDP without a state directory).
    mem_seq: u64,
    udp: Option<UdpSocket>,
    tls: Option<TlsSetup>,
    conn: Option<Conn>,
    next_attempt: Instant,
    backoff: Duration,
    out: Vec<u8>,
    out_pos: usize,
    /// The last pump stopped at its budget with more to send: no wait before the next.
    more: bool,
    /// At shutdown: our side of the connection is closed, waiting for the peer's close.
    half_closed: bool,
    /// Stream offsets: bytes handed to the connection, and bytes queued in `out` overall.
    written: u64,
    queued: u64,
    /// Bytes written to the socket (TLS: records), and of those acknowledged by the peer.
    wire_written: u64,
    wire_acked: u64,
    last_progress: Instant,
    inflight: VecDeque<InFlight>,
    last_sync: Instant,
    logs: [Throttle; 8],
    scratch: Vec<u8>,
}

/// Indices into `Sender::logs`.
const L_CONNECT: usize = 0;
const L_TLS: usize = 1;
const L_SEND: usize = 2;
const L_CLOSED: usize = 3;
const L_STALLED: usize = 4;
const L_SPOOL_FULL: usize = 5;
const L_SPOOL_ERR: usize = 6;
const L_TOO_LARGE: usize = 7;

impl Sender {
    #[allow(clippy::too_many_arguments)] // reason: one call site (SyslogSink::start)
    pub fn new(
        cfg: SyslogConfig,
        host: String,
        boot: &str,
        rx: Receiver<Cmd>,
        stats: Arc<SinkStats>,
        close_ms: Arc<AtomicU64>,
        spool: Option<Spool>,
        tls: Option<TlsSetup>,
    ) -> Result<Sender, String> {
        let header = Header::new(cfg.facility, &host, &cfg.app_name, boot);
        let udp = if cfg.transport == Transport::Udp {
            let addr = std::net::ToSocketAddrs::to_socket_addrs(cfg.address.as_str())
                .map_err(|e| format!("{}: {e}", cfg.address))?
                .next()
                .ok_or_else(|| format!("{}: no address", cfg.address))?;
            let bind = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let s = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
            s.connect(addr).map_err(|e| e.to_string())?;
            stats.connected.store(1, Ordering::Relaxed);
            Some(s)
        } else {
            None
        };
        if let Some(s) = &spool {
            stats.spool_bytes.store(s.bytes(), Ordering::Relaxed);
            SinkStats::add(&stats.dropped_corrupt, s.corrupt);
        }
        let now = Instant::now();
        Ok(Sender {
            cfg,
            host,
            header,
            started: now,
            rx,
            stats,
            close_ms,
            spool,
            mem_seq: 1,
            udp,
            tls,
            conn: None,
            next_attempt: now,
            backoff: BACKOFF_START,
            out: Vec::new(),
            out_pos: 0,
            more: false,
            half_closed: false,
            written: 0,
            queued: 0,
            wire_written: 0,
            wire_acked: 0,
            last_progress: now,
            inflight: VecDeque::new(),
            last_sync: now,
            logs: Default::default(),
            scratch: Vec::new(),
        })
    }

    /// The thread's body: runs until the writer closes the queue, then drains within the
    /// close limit.
    pub fn run(mut self) {
        let mut deadline: Option<Instant> = None;
        loop {
            let busy =
                self.conn.is_some() && (self.out_pos < self.out.len() || !self.inflight.is_empty());
            let wait = if busy && self.more {
                Duration::ZERO
            } else if busy {
                Duration::from_millis(10)
            } else {
                Duration::from_millis(100)
            };
            if deadline.is_none() {
                match self.rx.recv_timeout(wait) {
                    Ok(c) => {
                        self.handle(c);
                        // Take whatever else is queued before touching the network.
                        let t = Instant::now();
                        for _ in 0..4096 {
                            if t.elapsed() >= Duration::from_millis(20) {
                                break;
                            }
                            match self.rx.try_recv() {
                                Ok(c) => self.handle(c),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        let ms = self.close_ms.load(Ordering::Relaxed);
                        deadline = Some(Instant::now() + Duration::from_millis(ms));
                    }
                }
            } else if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if self.cfg.transport != Transport::Udp {
                self.pump(deadline);
            }
            if self.last_sync.elapsed() >= Duration::from_secs(1) {
                self.sync();
            }
            if let Some(d) = deadline {
                let drained = self
                    .spool
                    .as_ref()
                    .is_none_or(|s| s.committed() + 1 >= s.next_seq());
                if drained || Instant::now() >= d || self.cfg.transport == Transport::Udp {
                    break;
                }
            }
        }
        if let Some(c) = self.conn.take() {
            c.shutdown();
        }
        self.sync();
        self.stats.connected.store(0, Ordering::Relaxed);
    }

    fn sync(&mut self) {
        self.last_sync = Instant::now();
        if let Some(s) = self.spool.as_mut() {
            if let Err(e) = s.sync() {
                if let Some(n) = self.logs[L_SPOOL_ERR].hit() {
                    tracing::warn!(sink = %self.cfg.name, error = %e, count = n, "Syncing the syslog spool failed.");
                }
            }
            self.stats.spool_bytes.store(s.bytes(), Ordering::Relaxed);
        }
    }

    fn take_seq(&mut self) -> u64 {
        match self.spool.as_mut() {
            Some(s) => s.take_seq(),
            None => {
                let s = self.mem_seq;
                self.mem_seq += 1;
                s
            }
        }
    }

    fn handle(&mut self, c: Cmd) {
        let Cmd::Event(ev) = c;
        let seq = self.take_seq();
        let uptime = self.started.elapsed().as_millis() as u64 / 10;
        let mut msg = std::mem::take(&mut self.scratch);
        format::message(
            &self.header,
            self.cfg.format,
            self.cfg.leef_delimiter,
            &ev,
            &self.host,
            seq,
            uptime,
            &mut msg,
        );
        if msg.len() > self.cfg.max_message_bytes {
            SinkStats::add(&self.stats.dropped_too_large, 1);
            if let Some(n) = self.logs[L_TOO_LARGE].hit() {
                tracing::warn!(sink = %self.cfg.name, bytes = msg.len(), count = n, "Syslog message larger than max_message_bytes dropped.");
            }
        } else if let Some(u) = &self.udp {
            match u.send(&msg) {
                Ok(_) => SinkStats::add(&self.stats.sent, 1),
                Err(e) => {
                    SinkStats::add(&self.stats.dropped_udp, 1);
                    if let Some(n) = self.logs[L_SEND].hit() {
                        tracing::warn!(sink = %self.cfg.name, error = %e, count = n, "Sending a syslog datagram failed; UDP is best effort, the message is lost.");
                    }
                }
            }
        } else if let Some(sp) = self.spool.as_mut() {
            let mut framed = Vec::with_capacity(msg.len() + 8);
            format::octet_count(&msg, &mut framed);
            match sp.append(seq, &framed) {
                Ok(()) => SinkStats::add(&self.stats.spooled, 1),
                Err(AppendError::Full) => {
                    SinkStats::add(&self.stats.dropped_spool_full, 1);
                    if let Some(n) = self.logs[L_SPOOL_FULL].hit() {
                        tracing::warn!(sink = %self.cfg.name, bytes = sp.bytes(), count = n, "Syslog spool full; messages dropped.");
                    }
                }
                Err(AppendError::Io(e)) => {
                    SinkStats::add(&self.stats.dropped_spool_error, 1);
                    if let Some(n) = self.logs[L_SPOOL_ERR].hit() {
                        tracing::warn!(sink = %self.cfg.name, error = %e, count = n, "Writing the syslog spool failed; messages dropped.");
                    }
                }
            }
            self.stats.spool_bytes.store(sp.bytes(), Ordering::Relaxed);
        }
        msg.clear();
        self.scratch = msg;
    }

    fn fail(&mut self, f: Failure) {
        let (slot, counter, what, detail) = match &f {
            Failure::Connect(e) => (
                L_CONNECT,
                &self.stats.fail_connect,
                "Connecting to the syslog receiver failed.",
                e.to_string(),
            ),
            Failure::Tls(e) => (
                L_TLS,
                &self.stats.fail_tls,
                "TLS with the syslog receiver failed.",
                e.clone(),
            ),
            Failure::Send(e) => (
                L_SEND,
                &self.stats.fail_send,
                "Sending to the syslog receiver failed.",
                e.to_string(),
            ),
            Failure::PeerClosed => (
                L_CLOSED,
                &self.stats.fail_peer_closed,
                "The syslog receiver closed the connection.",
                String::new(),
            ),
        };
        SinkStats::add(counter, 1);
        if let Some(n) = self.logs[slot].hit() {
            tracing::warn!(sink = %self.cfg.name, address = %self.cfg.address, error = %detail, count = n, "{what} Messages stay in the spool.");
        }
        self.drop_conn();
    }

    /// Forgets the connection; what was not delivered is read again from the spool.
    fn drop_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            c.shutdown();
        }
        self.stats.connected.store(0, Ordering::Relaxed);
        let written = self.written;
        let resent = self.inflight.iter().filter(|m| m.end <= written).count();
        SinkStats::add(&self.stats.resent, resent as u64);
        self.inflight.clear();
        self.out.clear();
        self.out_pos = 0;
        if let Some(s) = self.spool.as_mut() {
            s.rewind();
        }
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff =
            (self.backoff * 2).min(Duration::from_millis(self.cfg.reconnect_max_ms.max(1)));
    }

    /// Connects when due, sends from the spool, confirms delivery.
    fn pump(&mut self, deadline: Option<Instant>) {
        if self.spool.is_none() {
            return;
        }
        let now = Instant::now();
        if self.conn.is_none() {
            let pending = self
                .spool
                .as_ref()
                .is_some_and(|s| s.committed() + 1 < s.next_seq());
            if !pending || now < self.next_attempt {
                return;
            }
            let mut t = Duration::from_millis(self.cfg.connect_timeout_ms.max(1));
            if let Some(d) = deadline {
                t = t
                    .min(d.saturating_duration_since(now))
                    .max(Duration::from_millis(1));
            }
            match connect(self.cfg.transport, &self.cfg.address, self.tls.as_ref(), t) {
                Ok(c) => {
                    tracing::info!(sink = %self.cfg.name, address = %self.cfg.address, "Connected to the syslog receiver.");
                    self.conn = Some(c);
                    self.half_closed = false;
                    self.stats.connected.store(1, Ordering::Relaxed);
                    self.backoff = BACKOFF_START;
                    self.written = 0;
                    self.queued = 0;
                    self.wire_written = 0;
                    self.wire_acked = 0;
                    self.last_progress = Instant::now();
                }
                Err(f) => {
                    self.fail(f);
                    return;
                }
            }
        }
        // The peer's side first: a close or reset ends the connection before we write.
        if let Some(Err(f)) = self.conn.as_mut().map(|c| c.poll_peer()) {
            if self.half_closed && matches!(f, Failure::PeerClosed) {
                // At shutdown, after our FIN, with every byte acknowledged: the receiver
                // read to the end and closed cleanly, so everything was delivered (a reset
                // instead would have been a Send failure, and the messages resent).
                if let Some(last) = self.inflight.back().map(|m| m.seq) {
                    if let Some(s) = self.spool.as_mut() {
                        s.commit(last);
                    }
                }
                self.inflight.clear();
                if let Some(c) = self.conn.take() {
                    c.shutdown();
                }
                self.stats.connected.store(0, Ordering::Relaxed);
                return;
            }
            self.fail(f);
            return;
        }
        // Fill the output from the spool and write, until the socket takes no more, the
        // spool is exhausted, or a bounded amount went out (so the queue is served too).
        let mut exhausted = false;
        let mut budget = PUMP_BUDGET;
        self.more = false;
        loop {
            if self.out_pos == self.out.len() {
                self.out.clear();
                self.out_pos = 0;
            }
            while self.out.len() - self.out_pos < OUT_HIGH_WATER {
                let Some((seq, rec)) = self.spool.as_mut().and_then(|s| s.next_record()) else {
                    exhausted = true;
                    break;
                };
                self.out.extend_from_slice(&rec);
                self.queued += rec.len() as u64;
                self.inflight.push_back(InFlight {
                    seq,
                    end: self.queued,
                    acked_at: None,
                });
            }
            let pending = self.out.len() - self.out_pos;
            if pending == 0 {
                break;
            }
            let r = match self.conn.as_mut() {
                Some(c) => c.write_some(self.out.get(self.out_pos..).unwrap_or_default()),
                None => return,
            };
            match r {
                Ok((n, wire)) => {
                    let before = self.written;
                    self.out_pos += n;
                    self.written += n as u64;
                    self.wire_written += wire;
                    // In-flight messages are in offset order: count those now wholly
                    // written by two binary searches, not a scan.
                    let a = self.inflight.partition_point(|m| m.end <= before);
                    let b = self.inflight.partition_point(|m| m.end <= self.written);
                    SinkStats::add(&self.stats.sent, b.saturating_sub(a) as u64);
                    budget = budget.saturating_sub(n);
                    if n < pending {
                        // The socket is full: wait for the peer.
                        break;
                    }
                    if budget == 0 {
                        // More may be ready: come back without waiting.
                        self.more = !exhausted;
                        break;
                    }
                    if exhausted {
                        break;
                    }
                }
                Err(f) => {
                    self.fail(f);
                    return;
                }
            }
        }
        // Confirm: acknowledged by the peer's TCP, then the window passed on a live
        // connection. Progress is the peer acknowledging bytes.
        let unacked = self.conn.as_ref().and_then(|c| c.unacked());
        let tls_pending = self.conn.as_ref().is_some_and(|c| c.tls_pending());
        let tls = self.cfg.transport == Transport::Tls;
        let acked = match unacked {
            Some(u) => {
                let wire_acked = self.wire_written.saturating_sub(u);
                if wire_acked > self.wire_acked {
                    self.wire_acked = wire_acked;
                    self.last_progress = Instant::now();
                }
                if !tls {
                    wire_acked
                } else if u == 0 && !tls_pending {
                    // TLS records do not map to our offsets: only "all acknowledged" is known.
                    self.written
                } else {
                    0
                }
            }
            None => {
                // The kernel does not say: bytes written count as taken.
                if self.wire_written > self.wire_acked {
                    self.wire_acked = self.wire_written;
                    self.last_progress = Instant::now();
                }
                if tls_pending {
                    0
                } else {
                    self.written
                }
            }
        };
        let now = Instant::now();
        let window = Duration::from_millis(self.cfg.resend_window_ms);
        let mut done = None;
        // Messages already marked acknowledged are a prefix: start after it.
        let first = self.inflight.partition_point(|m| m.acked_at.is_some());
        for m in self.inflight.range_mut(first..) {
            if m.end > acked {
                break;
            }
            m.acked_at = Some(now);
        }
        while let Some(m) = self.inflight.front() {
            let ok = m.acked_at.is_some_and(|t| {
                now.duration_since(t) >= window || deadline.is_some_and(|_| window.is_zero())
            });
            if !ok {
                break;
            }
            done = Some(m.seq);
            self.inflight.pop_front();
        }
        if let (Some(seq), Some(s)) = (done, self.spool.as_mut()) {
            s.commit(seq);
            self.stats.spool_bytes.store(s.bytes(), Ordering::Relaxed);
        }
        // Everything in the spool was read and delivered: numbers handed out but never
        // spooled (dropped, counted) are settled too.
        if exhausted && self.inflight.is_empty() {
            if let Some(s) = self.spool.as_mut() {
                s.commit(s.next_seq().saturating_sub(1));
            }
        }
        // Closing, with everything written and acknowledged by the peer's TCP: end our
        // side instead of waiting out the resend window; the peer's clean close (above)
        // confirms delivery.
        if deadline.is_some()
            && !self.half_closed
            && exhausted
            && self.out_pos == self.out.len()
            && !self.inflight.is_empty()
            && acked >= self.written
            && !tls_pending
        {
            if let Some(c) = self.conn.as_mut() {
                c.half_close();
                self.half_closed = true;
            }
        }
        // A receiver that takes nothing for too long is dropped and retried.
        let stuck = self.out_pos < self.out.len() || self.wire_acked < self.wire_written;
        if stuck
            && self.last_progress.elapsed()
                >= Duration::from_millis(self.cfg.stall_timeout_ms.max(1))
        {
            SinkStats::add(&self.stats.fail_stalled, 1);
            if let Some(n) = self.logs[L_STALLED].hit() {
                tracing::warn!(sink = %self.cfg.name, address = %self.cfg.address, count = n, "The syslog receiver stalled; reconnecting. Messages stay in the spool.");
            }
            self.drop_conn();
        } else if !stuck {
            self.last_progress = Instant::now();
        }
    }
}
