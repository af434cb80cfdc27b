//! The configuration file (TOML). Every limit is a field with a default; an empty file
//! (or none) gives a working sensor. `///` comments here are the user reference, and
//! `deploy/wardwatch.toml` shows every field with its default.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Sensor name written as `host` in every event.
    pub sensor_name: String,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Directory for persistent state: the inventory store (`wardwatch.db`), and later
    /// baselines and the SIEM spool. Empty: nothing persists (`--state-dir` overrides).
    pub state_dir: Option<std::path::PathBuf>,
    pub capture: CaptureConfig,
    pub flow: FlowConfig,
    pub stream: StreamConfig,
    pub defrag: DefragConfig,
    pub output: OutputConfig,
    pub api: ApiConfig,
    pub analyzers: analyzers::AnalyzersConfig,
    /// `[inventory]`: the device inventory (identity fusion, classification, store).
    pub inventory: rules::inventory::InventoryConfig,
    /// `[alerts]`: dedup window, rate limit and bounds of `alert` events.
    pub alerts: rules::alert::AlertConfig,
    /// `[policy]`: policy rules (shipped `rules/policies/*.yaml` plus an operator directory).
    pub policy: rules::policy::PolicyConfig,
    /// `[baseline]`: per-device baselines (learning period, caps).
    pub baseline: rules::baseline::BaselineConfig,
    /// `[risk]`: the FDA risk posture per device (deviation window, quiet period,
    /// criticality overrides).
    pub risk: rules::risk::RiskConfig,
    /// `[geoip]`: MaxMind DB files for the country and ASN of public addresses.
    pub geoip: rules::geo::GeoConfig,
    /// `[silence]`: alerts when a critical device (or class) goes quiet longer than its
    /// window, and when the monitored interface itself goes silent (sensor health).
    pub silence: rules::silence::SilenceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sensor_name: "wardwatch".into(),
            workers: 0,
            capture: CaptureConfig::default(),
            flow: FlowConfig::default(),
            stream: StreamConfig::default(),
            defrag: DefragConfig::default(),
            output: OutputConfig::default(),
            api: ApiConfig::default(),
            analyzers: analyzers::AnalyzersConfig::default(),
            state_dir: None,
            inventory: rules::inventory::InventoryConfig::default(),
            alerts: rules::alert::AlertConfig::default(),
            policy: rules::policy::PolicyConfig::default(),
            baseline: rules::baseline::BaselineConfig::default(),
            risk: rules::risk::RiskConfig::default(),
            geoip: rules::geo::GeoConfig::default(),
            silence: rules::silence::SilenceConfig::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// Bytes kept per packet on live capture.
    pub snaplen: u32,
    /// Put the interface in promiscuous mode (a span port needs it).
    pub promiscuous: bool,
    /// BPF filter applied in the kernel on live capture (empty: everything).
    pub bpf: String,
    /// Kernel ring buffer per capture handle, MiB.
    pub buffer_mib: u32,
    /// PACKET_FANOUT group id for `--capture af-packet` (0: derived from the process id).
    pub fanout_group: u16,
    /// Packets per batch handed from the reader to a worker.
    pub batch_packets: usize,
    /// Batches queued per worker before the reader blocks (replay) or drops (live).
    pub queue_batches: usize,
    /// Frames longer than this are cut to it (a corrupt caplen must not allocate).
    pub max_frame_len: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            snaplen: 65_535,
            promiscuous: true,
            bpf: String::new(),
            buffer_mib: 64,
            fanout_group: 0,
            batch_packets: 256,
            queue_batches: 64,
            max_frame_len: 262_144,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// Flows tracked at once, over all workers; at the cap the oldest idle flow is evicted.
    pub max_flows: usize,
    /// Idle timeouts, seconds of capture time.
    pub tcp_new_timeout: u64,
    pub tcp_established_timeout: u64,
    pub tcp_closed_timeout: u64,
    pub udp_timeout: u64,
    pub other_timeout: u64,
    /// A flow older than this is written out and continues as a new flow.
    pub active_timeout: u64,
    /// Anomaly events written per flow (the rest are only counted).
    pub anomaly_events_per_flow: u32,
}

impl Default for FlowConfig {
    fn default() -> Self {
        let d = capture::flow::FlowLimits::default();
        FlowConfig {
            max_flows: d.max_flows,
            tcp_new_timeout: d.tcp_new_timeout,
            tcp_established_timeout: d.tcp_established_timeout,
            tcp_closed_timeout: d.tcp_closed_timeout,
            udp_timeout: d.udp_timeout,
            other_timeout: d.other_timeout,
            active_timeout: d.active_timeout,
            anomaly_events_per_flow: 32,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// Out-of-order bytes buffered per flow direction.
    pub per_flow_bytes: usize,
    /// Out-of-order bytes buffered over all flows (split evenly across workers).
    pub global_bytes: usize,
    /// First bytes per direction kept for protocol probes.
    pub probe_bytes: usize,
    /// Bytes an analyzer may ask the pipeline to hold (`NeedMore`) per direction.
    pub max_pending_bytes: usize,
    /// Stop reassembling flows that no analyzer claimed (saves CPU). When false every TCP
    /// flow is reassembled to its end.
    pub bypass_unknown: bool,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            per_flow_bytes: 1 << 20,
            global_bytes: 256 << 20,
            probe_bytes: 8192,
            max_pending_bytes: 1 << 20,
            bypass_unknown: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefragConfig {
    /// IP datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Seconds of capture time before an incomplete datagram is dropped.
    pub timeout: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        let d = capture::defrag::DefragLimits::default();
        DefragConfig {
            max_datagrams: d.max_datagrams,
            timeout: d.timeout_secs,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Events queued between workers and the writer before workers wait (replay) —
    /// counted in batches.
    pub queue_batches: usize,
    /// Write `decode` anomaly events (per packet) in addition to counting them.
    pub decode_anomaly_events: bool,
    /// Address of the HTTP server for `/metrics`, `/healthz` and `/readyz` on `run`
    /// (e.g. `127.0.0.1:9464`); unset: no server. `replay --listen` sets it for a replay.
    pub listen: Option<String>,
    /// Distinct HL7 message types given their own `type` label value; later new types
    /// (and malformed ones) are counted as `other`.
    pub metrics_hl7_types: usize,
    /// Export one `wardwatch_device_info` and last-seen series per device (labels carry
    /// device ids, vendors and models: off by default).
    pub metrics_device_info: bool,
    /// Most devices given per-device series (the rest are counted in the class totals only).
    pub metrics_device_info_max: usize,
    /// SIEM feeds over syslog, one `[[output.syslog]]` table each (none by default); see
    /// the commented example in deploy/wardwatch.toml for every field and its default.
    pub syslog: Vec<outputs::syslog::SyslogConfig>,
    /// With `--eve FILE`: start a new file when the current one would grow past this many
    /// bytes (always between two lines; a single longer line gets a file of its own). The
    /// full file is renamed `FILE.1`, older ones shift to `FILE.2` ... 0: never by size.
    /// Independently, SIGHUP (`systemctl reload`, logrotate's `postrotate`) reopens FILE.
    pub eve_rotate_bytes: u64,
    /// Rotated EVE files kept (`FILE.1` .. `FILE.N`); the oldest is deleted. At least 1.
    pub eve_rotate_keep: usize,
    /// Run the analysis stage (inventory, rules, baselines, risk) on a thread of its own
    /// ahead of the writer, instead of in the writer thread just before each batch is
    /// written. Its own thread overlaps analysis with EVE and SIEM serialisation (more
    /// event throughput when cores are spare); in the writer it costs less CPU (each
    /// event is read while still in cache, one queue fewer).
    pub analysis_thread: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            queue_batches: 1024,
            decode_anomaly_events: false,
            listen: None,
            metrics_hl7_types: 64,
            metrics_device_info: false,
            metrics_device_info_max: 5000,
            syslog: Vec::new(),
            eve_rotate_bytes: 0,
            eve_rotate_keep: 5,
            analysis_thread: false,
        }
    }
}

/// The HTTP server's security: the API token, `/metrics` protection and HTTPS.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Bearer token every `/api/v1/...` request must present (`Authorization: Bearer
    /// TOKEN`): 16 to 4096 characters of letters, digits and `-._~+/` (then `=`). Unset
    /// (the default): read from `token_file`, or generated at first start into
    /// `STATE_DIR/api-token` (mode 0600) and reused after; with neither a token nor
    /// `--state-dir`, the API refuses every request. Treat it as a secret: prefer
    /// `token_file`.
    pub token: Option<String>,
    /// File holding the token (one line), e.g. one installed by configuration management.
    pub token_file: Option<std::path::PathBuf>,
    /// Require the token on `/metrics` too (Prometheus: `authorization: {credentials_file:
    /// ...}` in the scrape config). `/healthz` and `/readyz` stay open.
    pub metrics_require_token: bool,
    /// Serve HTTPS only, with this PEM certificate chain (server certificate first). Needs
    /// `tls_key`.
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ApiConfig {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("metrics_require_token", &self.metrics_require_token)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

impl Config {
    /// Reads a TOML file; unknown keys are errors (a typo must not silently use a default).
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // Class names in [baseline] must exist (a typo must not silently use the default).
        c.baseline
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    /// The worker count after resolving 0 to the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.workers
        }
        .clamp(1, 256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_empty_file_gives_defaults() {
        // An empty config is valid and equals the defaults.
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.flow.max_flows, FlowConfig::default().max_flows);
        assert_eq!(c.sensor_name, "wardwatch");
    }

    #[test]
    fn config_unknown_key_is_rejected() {
        // A typo in a key is an error, not a silent default.
        assert!(toml::from_str::<Config>("[flow]\nmax_flow = 3\n").is_err());
    }

    #[test]
    fn config_baseline_class_learning_secs_known_classes_only() {
        // A per-class learning period parses for a catalogue class; an unknown class is a
        // load error naming the file and the class.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[baseline]\nclass_learning_secs = { infusion_pump = 1209600 }\n",
        )
        .unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(
            c.baseline.class_learning_secs.get("infusion_pump"),
            Some(&1_209_600)
        );
        std::fs::write(&p, "[baseline]\nclass_learning_secs = { toaster = 60 }\n").unwrap();
        let e = Config::load(&p).unwrap_err();
        assert!(
            e.contains("c.toml") && e.contains("unknown class `toaster`"),
            "{e}"
        );
    }

    #[test]
    fn config_debug_hides_the_api_token() {
        // The API token never appears in a Debug rendering of the configuration.
        let c: Config = toml::from_str("[api]\ntoken = \"topsecret-0123456789\"\n").unwrap();
        assert_eq!(c.api.token.as_deref(), Some("topsecret-0123456789"));
        let d = format!("{c:?}");
        assert!(!d.contains("topsecret") && d.contains("<redacted>"), "{d}");
    }

    #[test]
    fn config_example_file_parses_and_matches_defaults() {
        // deploy/wardwatch.toml documents every field with its default value.
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/wardwatch.toml");
        let c = Config::load(&p).unwrap();
        let d = Config::default();
        assert_eq!(toml::to_string(&c).unwrap(), toml::to_string(&d).unwrap());
    }

    #[test]
    fn config_example_syslog_block_lists_every_field_with_its_default() {
        // The commented [[output.syslog]] example in deploy/wardwatch.toml, uncommented,
        // parses to the defaults (plus the required address) and names every field.
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/wardwatch.toml");
        let text = std::fs::read_to_string(p).unwrap();
        let start = text.find("# [[output.syslog]]").unwrap();
        let block: String = text[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.strip_prefix("# ").unwrap_or(""))
            .map(|l| l.strip_prefix("## ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let c: Config = toml::from_str(&block).unwrap();
        let got = c.output.syslog.first().unwrap().clone();
        let mut want = outputs::syslog::SyslogConfig {
            address: "siem.example.org:6514".into(),
            ..Default::default()
        };
        // The optional settings the example shows.
        want.tls_ca_file = got.tls_ca_file.clone();
        want.tls_cert_file = got.tls_cert_file.clone();
        want.tls_key_file = got.tls_key_file.clone();
        want.tls_server_name = got.tls_server_name.clone();
        want.spool_dir = got.spool_dir.clone();
        assert_eq!(got, want);
        assert!(got.tls_ca_file.is_some() && got.tls_cert_file.is_some());
        assert!(got.tls_key_file.is_some() && got.tls_server_name.is_some());
        assert!(got.spool_dir.is_some());
        // Every field (all set, so none is skipped when serialised) appears in the block.
        let all = toml::to_string(&got).unwrap();
        for line in all.lines() {
            let key = line.split(" = ").next().unwrap();
            assert!(block.contains(&format!("{key} = ")), "{key} missing");
        }
    }
}
