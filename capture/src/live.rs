//! Live capture through libpcap (which uses a TPACKET_V3 ring on Linux), optionally joined
//! to a `PACKET_FANOUT` group so the kernel spreads flows over several sockets (one per
//! worker). Capture handles only receive: nothing here ever sends on an interface.
//!
//! Reads are non-blocking with `poll(2)` on the handle's descriptor, so a quiet interface
//! never blocks shutdown. Kernel drop counters come from `pcap_stats`.

use crate::decode::LinkType;
use model::Timestamp;
use std::os::unix::io::AsRawFd;

/// How to open an interface.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    pub snaplen: u32,
    pub promiscuous: bool,
    /// BPF filter (empty: everything).
    pub bpf: String,
    pub buffer_bytes: u32,
    /// Join this PACKET_FANOUT group (hash mode, with kernel defragmentation).
    pub fanout_group: Option<u16>,
}

/// Kernel counters of one handle (cumulative since open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u64,
    /// Dropped because the ring was full (we did not read fast enough).
    pub dropped: u64,
    /// Dropped by the interface or driver.
    pub if_dropped: u64,
}

/// One open capture handle.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    linktype: LinkType,
}

// PACKET_FANOUT and its modes (linux/if_packet.h); libc has no constants for the flags.
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;

impl LiveSource {
    /// Opens `opts.interface`. Errors are one line, naming the interface.
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, String> {
        let name = &opts.interface;
        let cap = pcap::Capture::from_device(name.as_str())
            .map_err(|e| format!("{name}: {e}"))?
            .promisc(opts.promiscuous)
            .snaplen(opts.snaplen.min(i32::MAX as u32) as i32)
            .buffer_size(opts.buffer_bytes.min(i32::MAX as u32) as i32)
            .immediate_mode(true)
            .timeout(100)
            .open()
            .map_err(|e| format!("{name}: {e}"))?;
        let mut cap = cap.setnonblock().map_err(|e| format!("{name}: {e}"))?;
        if !opts.bpf.is_empty() {
            cap.filter(&opts.bpf, true)
                .map_err(|e| format!("{name}: BPF filter: {e}"))?;
        }
        if let Some(group) = opts.fanout_group {
            let arg: u32 =
                u32::from(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
            // SAFETY: setsockopt on the handle's own packet socket with a valid u32 option
            // value and its exact size; the descriptor lives as long as `cap`.
            let rc = unsafe {
                libc::setsockopt(
                    cap.as_raw_fd(),
                    libc::SOL_PACKET,
                    PACKET_FANOUT,
                    (&arg as *const u32).cast(),
                    std::mem::size_of::<u32>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(format!(
                    "{name}: PACKET_FANOUT: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        let linktype = LinkType(cap.get_datalink().0 as u32);
        Ok(LiveSource { cap, linktype })
    }

    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// Waits up to `timeout_ms` for the handle to become readable.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        rc > 0
    }

    /// Reads up to `max` packets that are ready, showing each to `f`. Returns how many.
    pub fn read_ready<F: FnMut(Timestamp, LinkType, &[u8], u32)>(
        &mut self,
        max: usize,
        mut f: F,
    ) -> Result<usize, String> {
        let lt = self.linktype;
        let mut n = 0;
        while n < max {
            match self.cap.next_packet() {
                Ok(p) => {
                    let ts = Timestamp::from_secs_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
                    f(ts, lt, p.data, p.header.len);
                    n += 1;
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(n)
    }

    /// Kernel counters.
    pub fn stats(&mut self) -> LiveStats {
        match self.cap.stats() {
            Ok(s) => LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                if_dropped: u64::from(s.if_dropped),
            },
            Err(_) => LiveStats::default(),
        }
    }
}
