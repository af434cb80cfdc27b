//! `[[output.syslog]]`: one SIEM feed per entry.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How messages travel.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// RFC 5426, one message per datagram. Best effort: no spool, no retry; a lost
    /// datagram shows only as a gap in `sequenceId` at the receiver.
    Udp,
    /// RFC 6587 octet counting over TCP; at-least-once through the spool.
    Tcp,
    /// RFC 5425 (octet counting over TLS, rustls); at-least-once through the spool.
    Tls,
}

/// The payload (MSG part) of each message.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ArcSight Common Event Format.
    Cef,
    /// QRadar Log Event Extended Format 2.0.
    Leef,
    /// The EVE JSON line, exactly as in the EVE file.
    Json,
    /// JSON mapped to the Elastic Common Schema; the EVE event kept under `wardwatch`.
    Ecs,
}

/// One syslog destination.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SyslogConfig {
    /// Name of this feed: its `sink` metric label, its log lines and its spool directory.
    /// Names must differ between entries.
    pub name: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: Transport,
    /// Receiver as `host:port` (required).
    pub address: String,
    /// `cef`, `leef`, `json` (EVE) or `ecs` (EVE mapped to Elastic Common Schema).
    pub format: Format,
    /// EVE `event_type`s sent on this feed (`alert`, `device`, `anomaly`, `dicom`, `hl7`...).
    pub event_types: Vec<String>,
    /// Syslog facility number, 0..=23 (16 = local0).
    pub facility: u8,
    /// RFC 5424 APP-NAME (printable ASCII, at most 48 characters).
    pub app_name: String,
    /// TLS: PEM file of the CA certificates that sign the receiver's certificate (unset:
    /// none trusted, so TLS cannot connect).
    pub tls_ca_file: Option<PathBuf>,
    /// TLS: PEM client certificate chain, for receivers that require one (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// TLS: PEM private key of the client certificate.
    pub tls_key_file: Option<PathBuf>,
    /// TLS: name the receiver's certificate must carry (unset: the host part of `address`).
    pub tls_server_name: Option<String>,
    /// TCP/TLS: directory of the on-disk spool (unset: `<state-dir>/syslog/<name>`; TCP and
    /// TLS feeds need one or the other). Also keeps the sequence number across restarts.
    pub spool_dir: Option<PathBuf>,
    /// Bytes the spool may hold; messages that do not fit are dropped and counted.
    pub spool_max_bytes: u64,
    /// Size at which the spool starts a new segment file.
    pub spool_segment_bytes: u64,
    /// Events queued between the writer and the sender thread; when full, events are
    /// dropped and counted (the capture path never waits for an output).
    pub queue_events: usize,
    /// Longest message sent, bytes; a longer one is dropped and counted. The receiver must
    /// accept this size (rsyslog: `maxMessageSize`).
    pub max_message_bytes: usize,
    /// TCP/TLS: a message counts as delivered once the receiver's TCP acknowledged it and
    /// the connection stayed up this many milliseconds more; on a connection loss,
    /// messages not yet delivered are sent again (the receiver sees duplicates, never gaps).
    pub resend_window_ms: u64,
    /// TCP/TLS: connect and TLS handshake timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// TCP/TLS: a connection that accepts no bytes for this long is dropped and retried.
    pub stall_timeout_ms: u64,
    /// Longest wait between reconnection attempts (backoff doubles from 250 ms).
    pub reconnect_max_ms: u64,
    /// At shutdown, time allowed to deliver what is queued before it stays in the spool.
    pub close_timeout_ms: u64,
    /// LEEF attribute delimiter (one character; the default is a tab).
    pub leef_delimiter: char,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            name: "siem".into(),
            transport: Transport::Tcp,
            address: String::new(),
            format: Format::Cef,
            event_types: vec!["alert".into(), "device".into()],
            facility: 16,
            app_name: "wardwatch".into(),
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_server_name: None,
            spool_dir: None,
            spool_max_bytes: 256 << 20,
            spool_segment_bytes: 16 << 20,
            queue_events: 65_536,
            max_message_bytes: 64 << 10,
            resend_window_ms: 2_000,
            connect_timeout_ms: 5_000,
            stall_timeout_ms: 30_000,
            reconnect_max_ms: 30_000,
            close_timeout_ms: 5_000,
            leef_delimiter: '\t',
        }
    }
}
