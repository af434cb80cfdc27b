//! Private network namespaces for tests: each test gets its own, so parallel tests never
//! see each other's traffic, and everything stays on loopback inside it.

use std::path::Path;
use std::process::{Command, Output};

/// Runs a bash `script` in a fresh network namespace (`unshare -n`) with `lo` up, in
/// working directory `dir`. The namespace disappears when the script exits.
///
/// Scripts typically start `tcpdump -i lo -w cap.pcap -U`, wait for it, run a server and a
/// client on 127.0.0.1, then stop tcpdump with SIGINT so the file is complete.
pub fn run_script(dir: &Path, script: &str) -> std::io::Result<Output> {
    let full = format!("set -euo pipefail\nip link set lo up\n{script}\n");
    Command::new("unshare")
        .arg("-n")
        .arg("bash")
        .arg("-c")
        .arg(full)
        .current_dir(dir)
        .output()
}

/// A bash snippet that starts tcpdump on `lo` writing `file` and waits until it is
/// listening. Stop it with [`STOP_TCPDUMP`].
///
/// `--immediate-mode` and a 128 MiB buffer: with libpcap's defaults, bulk transfers on
/// loopback lost up to half their packets while tcpdump still reported none dropped.
pub fn start_tcpdump(file: &str) -> String {
    format!(
        "TCPDUMP_FILE={file}\n\
         tcpdump -i lo -s 0 -U --immediate-mode -B 131072 -w {file} 2> tcpdump.log &\n\
         TCPDUMP_PID=$!\n\
         for i in $(seq 1 100); do grep -q listening tcpdump.log && break; sleep 0.05; done\n"
    )
}

/// A bash snippet that waits until the capture file stops growing, then stops the tcpdump
/// started by [`start_tcpdump`] and waits for it to write everything.
pub const STOP_TCPDUMP: &str = "prev=-1\n\
for i in $(seq 1 50); do cur=$(stat -c %s \"${TCPDUMP_FILE:-}\" 2>/dev/null || echo 0); \
[ \"$cur\" = \"$prev\" ] && break; prev=$cur; sleep 0.2; done\n\
kill -INT $TCPDUMP_PID\nwait $TCPDUMP_PID || true\n";
