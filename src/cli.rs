//! Command-line interface.

use crate::config::Config;
use crate::pipeline::{run_replay, Progress, Teardown};
use clap::{Parser, Subcommand, ValueEnum};
use outputs::api::{resolve_token, ApiSources};
use outputs::eve_file::EveFile;
use outputs::http::{HttpOptions, HttpServer, TlsFiles};
use outputs::metrics::Exporter;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// wardwatch: passive monitoring of hospital clinical networks.
///
/// Reads a span port or capture files, tracks every flow, reassembles TCP, decodes clinical
/// protocols and writes events as Suricata-compatible EVE JSON lines.
#[derive(Parser, Debug)]
#[command(name = "wardwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Process capture files (pcap or pcapng) as fast as possible, then print a summary.
    Replay {
        /// Where to write EVE JSON lines ("-" for standard output).
        #[arg(long, default_value = "-")]
        eve: String,
        /// Configuration file (TOML); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Directory for persistent state (inventory, baselines).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Worker threads (overrides the config; 0 = one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Serve /metrics, /healthz and /readyz on this address during the replay.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// With --listen: keep serving after the capture ends, until SIGTERM or SIGINT.
        #[arg(long, requires = "listen")]
        hold: bool,
        /// Capture files; several are read together in timestamp order.
        #[arg(required = true)]
        pcap: Vec<PathBuf>,
    },
    /// Capture live from an interface until SIGINT or SIGTERM.
    Run {
        /// Interface to capture on (a span or mirror port).
        #[arg(long, short = 'i')]
        interface: String,
        /// Capture method: one libpcap handle feeding the workers, or one AF_PACKET
        /// socket per worker joined in a PACKET_FANOUT group.
        #[arg(long, value_enum, default_value_t = CaptureMethod::Pcap)]
        capture: CaptureMethod,
        /// Where to write EVE JSON lines ("-" for standard output).
        #[arg(long, default_value = "-")]
        eve: String,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long)]
        workers: Option<usize>,
        /// Serve /metrics, /healthz and /readyz on this address (overrides `[output]
        /// listen`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Print the device inventory kept in the state directory (safe while wardwatch runs:
    /// it reads the last checkpoint).
    Inventory {
        /// State directory (default: the config's `state_dir`).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format: an aligned table, a JSON array of full records, or CSV for a CMMS.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
    },
    /// Review and change per-device baselines in the state directory.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
        /// State directory (default: the config's `state_dir`).
        #[arg(long, global = true)]
        state_dir: Option<PathBuf>,
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// Who makes the change (recorded; default: $SUDO_USER, else $USER).
        #[arg(long, global = true)]
        who: Option<String>,
    },
}

/// `wardwatch baseline ...`: changes are queued in the state store and applied by the
/// appliance at its next checkpoint (or its next start), recorded with who and when.
#[derive(Subcommand, Debug)]
pub enum BaselineAction {
    /// Print the baselines of the last checkpoint as YAML (all, or one device).
    Export {
        #[arg(long)]
        device: Option<String>,
    },
    /// Replace the baselines of the devices in a YAML file (a reviewed export).
    Import { file: PathBuf },
    /// Enforce a device's baseline now (or every baseline with --all).
    Lock {
        #[arg(required_unless_present = "all")]
        device: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Forget a device's baseline and learn again from its next event (or all with --all).
    Relearn {
        #[arg(required_unless_present = "all")]
        device: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Add one entry to a device's baseline (a reviewed deviation): KIND is peers,
    /// external_peers, services, dicom_pairs, dicom_sops, hl7_types, dns_names or tls_sni;
    /// ITEM as the alert's evidence `item` shows it.
    Approve {
        device: String,
        kind: String,
        item: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum InventoryFormat {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CaptureMethod {
    Pcap,
    AfPacket,
}

struct Bar(indicatif::ProgressBar, std::time::Instant);

impl Progress for Bar {
    fn update(&self, packets: u64, bytes: u64, pos: u64) {
        let s = self.1.elapsed().as_secs_f64().max(1e-6);
        self.0.set_position(pos);
        self.0.set_message(format!(
            "{:.0} kpkt/s {:.2} Gbit/s",
            packets as f64 / s / 1e3,
            bytes as f64 * 8.0 / s / 1e9
        ));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Bumped by SIGHUP; an EVE file reopens when it changes (logrotate's `postrotate`).
static EVE_REOPEN: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_hup(_: libc::c_int) {
    EVE_REOPEN.fetch_add(1, Ordering::Relaxed);
}

/// How many SIGHUPs have arrived (the policy rules reload when it changes).
pub(crate) fn hup_count() -> u64 {
    EVE_REOPEN.load(Ordering::Relaxed)
}

/// SIGHUP reopens the EVE file instead of ending the process (its default action).
#[allow(unsafe_code)] // reason: installing a signal handler is unsafe in libc.
fn install_hup_handler() {
    let handler = on_hup as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only updates an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGHUP, handler);
    }
}

/// Standard output, or an [`EveFile`] rotating as `[output]` says: truncated for a
/// replay (`truncate`), appended to for a live run.
fn open_eve(path: &str, cfg: &Config, truncate: bool) -> Result<Box<dyn Write + Send>, String> {
    if path == "-" {
        Ok(Box::new(std::io::stdout()))
    } else {
        let f = EveFile::open(
            std::path::Path::new(path),
            truncate,
            cfg.output.eve_rotate_bytes,
            cfg.output.eve_rotate_keep,
            &EVE_REOPEN,
        )
        .map_err(|e| format!("{path}: {e}"))?;
        Ok(Box::new(f))
    }
}

/// The HTTP server's options from `[api]`: the token (resolved, or generated into the
/// state directory) and TLS. Says where the token came from, never what it is.
fn http_options(cfg: &Config) -> Result<HttpOptions, String> {
    let api = &cfg.api;
    let state_dir = cfg.state_dir.as_deref();
    let token = match resolve_token(api.token.as_deref(), api.token_file.as_deref(), state_dir)? {
        Some((t, origin)) => {
            eprintln!("wardwatch: API token {origin}");
            Some(t)
        }
        None => {
            eprintln!(
                "wardwatch: no API token ([api] token, token_file, state_dir or --state-dir): \
                 the API refuses every request"
            );
            None
        }
    };
    if api.metrics_require_token && token.is_none() {
        return Err(
            "[api] metrics_require_token needs a token (token, token_file or \
                    --state-dir)"
                .into(),
        );
    }
    let tls = match (&api.tls_cert, &api.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None) => None,
        _ => return Err("[api] tls_cert and tls_key go together".into()),
    };
    Ok(HttpOptions {
        token,
        metrics_require_token: api.metrics_require_token,
        tls,
        sources: ApiSources::default(),
        header_read_timeout: None,
    })
}

fn load_config(path: &Option<PathBuf>, workers: Option<usize>) -> Result<Config, String> {
    let mut c = match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(w) = workers {
        c.workers = w;
    }
    Ok(c)
}

/// Starts the exporter and its HTTP server (metrics, health, API) on `addr`.
fn start_metrics(
    addr: &str,
    source: &'static str,
    cfg: &Config,
    catch_signals: bool,
) -> Result<
    (
        HttpServer,
        Arc<Exporter>,
        Option<crate::inventory::DevicesView>,
    ),
    String,
> {
    let mut opts = http_options(cfg)?;
    // The device API serves the inventory as of its last checkpoint.
    let view = cfg
        .inventory
        .enabled
        .then(crate::inventory::DevicesView::default);
    if let Some(v) = &view {
        opts.sources.devices = Some(Arc::new(crate::inventory::DevicesApi(v.clone())));
    }
    // The baseline API reads and queues through the state store, as the CLI does.
    if let (Some(dir), true) = (&cfg.state_dir, cfg.baseline.enabled) {
        opts.sources.baselines = Some(Arc::new(crate::baseline_api::BaselinesApi {
            dir: dir.clone(),
        }));
    }
    let scheme = if opts.tls.is_some() { "https" } else { "http" };
    let x = Exporter::new(source, cfg.worker_count(), cfg.output.metrics_hl7_types);
    let srv = HttpServer::start_with(addr, x.clone(), opts, catch_signals)?;
    eprintln!(
        "wardwatch: metrics on {scheme}://{}/metrics",
        srv.local_addr()
    );
    Ok((srv, x, view))
}

/// Runs the CLI; returns the process exit code (2 for usage and input errors).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    install_hup_handler();
    match cli.cmd {
        Cmd::Replay {
            eve,
            config,
            state_dir,
            workers,
            listen,
            hold,
            pcap,
        } => {
            let mut cfg = match load_config(&config, workers) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            if state_dir.is_some() {
                cfg.state_dir = state_dir;
            }
            for p in &pcap {
                if let Err(e) = std::fs::metadata(p) {
                    eprintln!("wardwatch: {}: {e}", p.display());
                    return 2;
                }
            }
            let out = match open_eve(&eve, &cfg, true) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            let progress: Option<Box<dyn Progress>> = if std::io::stderr().is_terminal() {
                let total: u64 = pcap
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum();
                let pb = indicatif::ProgressBar::new(total);
                pb.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {msg} ETA {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Some(Box::new(Bar(pb, std::time::Instant::now())))
            } else {
                None
            };
            let server = match listen
                .as_deref()
                .map(|a| start_metrics(a, "file", &cfg, hold))
            {
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
                None => None,
            };
            let metrics = server.as_ref().map(|s| s.1.clone());
            let devices = server.as_ref().and_then(|s| s.2.clone());
            // The process ends after the replay (or only serves metrics): the analysis
            // stage's structures are left to the exit.
            match run_replay(cfg, &pcap, out, progress, metrics, devices, Teardown::Exit) {
                Ok(s) => {
                    eprintln!("{s}");
                    if let Some((srv, _, _)) = server.as_ref().filter(|_| hold) {
                        eprintln!(
                            "wardwatch: capture done; serving metrics on {} until SIGTERM",
                            srv.local_addr()
                        );
                        srv.wait_for_signal();
                    }
                    0
                }
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    2
                }
            }
        }
        Cmd::Run {
            interface,
            capture,
            eve,
            config,
            state_dir,
            workers,
            listen,
        } => {
            let mut cfg = match load_config(&config, workers) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            if state_dir.is_some() {
                cfg.state_dir = state_dir;
            }
            if listen.is_some() {
                cfg.output.listen = listen;
            }
            let source = if capture == CaptureMethod::AfPacket {
                "af_packet"
            } else {
                "pcap"
            };
            // The live loop handles SIGTERM/SIGINT itself: the server must not catch them.
            let server = match cfg
                .output
                .listen
                .clone()
                .map(|a| start_metrics(&a, source, &cfg, false))
            {
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
                None => None,
            };
            let metrics = server.as_ref().map(|s| s.1.clone());
            let devices = server.as_ref().and_then(|s| s.2.clone());
            let out = match open_eve(&eve, &cfg, false) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            match crate::live::run_live(
                cfg,
                &interface,
                capture == CaptureMethod::AfPacket,
                out,
                metrics,
                devices,
            ) {
                Ok(s) => {
                    eprintln!("{s}");
                    0
                }
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    2
                }
            }
        }
        Cmd::Baseline {
            action,
            state_dir,
            config,
            who,
        } => {
            let cfg = match load_config(&config, None) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            let Some(dir) = state_dir.or(cfg.state_dir) else {
                eprintln!("wardwatch: no state directory: give --state-dir or set state_dir");
                return 2;
            };
            let who = who
                .or_else(|| std::env::var("SUDO_USER").ok())
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            match crate::policy::baseline_cli(&dir, action, &who) {
                Ok(text) => {
                    let mut o = std::io::stdout().lock();
                    if o.write_all(text.as_bytes()).is_err() {
                        return 1;
                    }
                    0
                }
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    2
                }
            }
        }
        Cmd::Inventory {
            state_dir,
            config,
            format,
        } => {
            let cfg = match load_config(&config, None) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    return 2;
                }
            };
            let Some(dir) = state_dir.or(cfg.state_dir) else {
                eprintln!("wardwatch: no state directory: give --state-dir or set state_dir");
                return 2;
            };
            match crate::inventory::read_devices(&dir) {
                Ok(devs) => {
                    let text = crate::inventory::render(&devs, format);
                    let mut o = std::io::stdout().lock();
                    if o.write_all(text.as_bytes()).is_err() {
                        return 1;
                    }
                    0
                }
                Err(e) => {
                    eprintln!("wardwatch: {e}");
                    2
                }
            }
        }
    }
}
