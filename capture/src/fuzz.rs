//! One entry point for fuzzing the capture path without libpcap: the fuzz target
//! (`fuzz/fuzz_targets/capture.rs`) and the regression replay test both call [`run`].

use crate::decode::{decode, LinkType, L4};
use crate::defrag::{Defrag, DefragLimits, DefragOutcome};
use crate::tcp::{Budget, ReassemblyLimits, TcpReassembler};
use model::{Direction, Timestamp};

/// Reads `data` as frames (`[len: u16 le][linktype: u8][direction: u8][bytes]`...) and
/// drives decode, fragment reassembly and one TCP reassembler with them, with small caps
/// so the limits are reached.
pub fn run(data: &[u8]) {
    let mut defrag = Defrag::new(DefragLimits {
        max_datagrams: 4,
        timeout_secs: 1,
    });
    let mut tcp = TcpReassembler::new();
    let mut budget = Budget::new(4096);
    let lim = ReassemblyLimits {
        per_flow_bytes: 1024,
    };
    let mut rest = data;
    let mut ts = 0i64;
    let mut delivered = 0u64;
    while let Some(hdr) = rest.get(..4) {
        let len = usize::from(u16::from_le_bytes([hdr[0], hdr[1]]));
        let lt = LinkType(u32::from(hdr[2]) % 300);
        let dir = if hdr[3] & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let body = rest.get(4..).unwrap_or_default();
        let frame = body.get(..len.min(body.len())).unwrap_or_default();
        rest = body.get(frame.len()..).unwrap_or_default();
        ts += i64::from(hdr[3]) * 100_000;
        let Ok(d) = decode(lt, frame) else { continue };
        if let Some(fr) = d.ip.and_then(|ip| ip.frag) {
            if let DefragOutcome::Complete { frame: whole, .. } =
                defrag.add(Timestamp(ts), frame, frame.len() as u32, &d, fr)
            {
                let _ = decode(lt, &whole);
            }
            continue;
        }
        if let L4::Tcp(t) = d.l4 {
            tcp.segment(dir, &t, d.payload, &lim, &mut budget, &mut |_, c| {
                if let crate::tcp::Chunk::Data(b) = c {
                    delivered += b.len() as u64;
                }
            });
            assert!(
                tcp.buffered() <= 2 * lim.per_flow_bytes,
                "reassembly over its cap"
            );
            assert!(budget.used <= budget.cap, "budget over its cap");
        }
    }
    tcp.finish(&mut budget, &mut |_, _| {});
    tcp.release(&mut budget);
    assert_eq!(budget.used, 0, "budget not returned");
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_regressions_replay() {
        // Every saved crash or interesting input of the capture fuzz target still runs clean.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/capture");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            super::run(&std::fs::read(&p).unwrap());
            n += 1;
        }
        assert!(n > 0, "no regression inputs in {}", dir.display());
    }

    proptest::proptest! {
        #[test]
        fn fuzz_entry_arbitrary_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            // The fuzz entry point holds its invariants on arbitrary input.
            super::run(&data);
        }
    }
}
