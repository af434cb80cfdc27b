//! p0f v3 raw signatures of TCP SYN and SYN+ACK segments (see [`model::p0f`] for the text
//! form). Computed from the IP header onwards; the worker calls it only for segments whose
//! flags are SYN or SYN+ACK, so other packets cost nothing.
//!
//! The fields follow p0f 3's README ("TCP signatures") and its observable output:
//! `raw_sig` on the same captures is the reference (tests compare with Debian's `p0f -r`).
//! Like p0f, a segment whose IP length runs past the capture, a fragment, IPv6 with
//! extension headers, or a TCP header longer than the packet gets no signature.

use model::p0f::{quirk, P0fSignature, WindowForm, MAX_TCP_OPTS};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const URG: u8 = 0x20;
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;
/// The MSS p0f-sendsyn probes with; a SYN+ACK echoing it gets `*` (p0f's convention).
const SENDSYN_MSS: u16 = 1331;
/// IPv4 + TCP and IPv6 + TCP minimal headers.
const MIN_TCP4: u32 = 40;
const MIN_TCP6: u32 = 60;

/// Which kind of segment `flags` make, for fingerprinting: `Some(false)` a SYN,
/// `Some(true)` a SYN+ACK, `None` anything else (including SYN with FIN or RST).
pub fn kind(flags: u8) -> Option<bool> {
    match flags & (SYN | ACK | FIN | RST) {
        x if x == SYN => Some(false),
        x if x == SYN | ACK => Some(true),
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The signature of the SYN or SYN+ACK whose IP header starts `l3`. `syn_mss` is the MSS
/// of the connection's SYN (0 if unknown), used for SYN+ACK windows sized from the peer's
/// MSS.
pub fn signature(l3: &[u8], syn_mss: u16) -> Option<P0fSignature> {
    let mut s = P0fSignature::default();
    let first = *l3.first()?;
    let (tcp, tot_hdr) = match first >> 4 {
        4 => {
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            let tot = usize::from(be16(l3, 2)?);
            // A shorter IP length than captured is trusted (Ethernet padding); a longer
            // one means the capture cut the segment.
            if tot > l3.len() || tot < ihl + 20 {
                return None;
            }
            let pkt = l3.get(..tot)?;
            if *pkt.get(9)? != 6 {
                return None;
            }
            let flags_off = be16(pkt, 6)?;
            if flags_off & !(0x4000 | 0x8000) != 0 {
                return None; // a fragment
            }
            s.ver = 4;
            s.olen = u8::try_from(ihl - 20).ok()?;
            s.ttl = *pkt.get(8)?;
            if pkt.get(1)? & 0x03 != 0 {
                s.quirks |= quirk::ECN;
            }
            if flags_off & 0x8000 != 0 {
                s.quirks |= quirk::NZ_MBZ;
            }
            let id = be16(pkt, 4)?;
            if flags_off & 0x4000 != 0 {
                s.quirks |= quirk::DF;
                if id != 0 {
                    s.quirks |= quirk::NZ_ID;
                }
            } else if id == 0 {
                s.quirks |= quirk::ZERO_ID;
            }
            (pkt.get(ihl..)?, ihl)
        }
        6 => {
            let tot = usize::from(be16(l3, 4)?) + 40;
            if tot > l3.len() || tot < 60 {
                return None;
            }
            let pkt = l3.get(..tot)?;
            if *pkt.get(6)? != 6 {
                return None; // p0f does not walk extension headers
            }
            let ver_tos = be32(pkt, 0)?;
            s.ver = 6;
            s.ttl = *pkt.get(7)?;
            if ver_tos & 0x000f_ffff != 0 {
                s.quirks |= quirk::FLOW;
            }
            if (ver_tos >> 20) & 0x03 != 0 {
                s.quirks |= quirk::ECN;
            }
            (pkt.get(40..)?, 40)
        }
        _ => return None,
    };
    let doff = usize::from(*tcp.get(12)? >> 4) * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let flags = *tcp.get(13)?;
    let synack = kind(flags)?;
    s.win = be16(tcp, 14)?;
    if flags & (ECE | CWR) != 0 || tcp.get(12)? & 0x01 != 0 {
        s.quirks |= quirk::ECN;
    }
    if be32(tcp, 4)? == 0 {
        s.quirks |= quirk::ZERO_SEQ;
    }
    let ack = be32(tcp, 8)?;
    if flags & ACK != 0 {
        if ack == 0 {
            s.quirks |= quirk::ZERO_ACK;
        }
    } else if ack != 0 {
        s.quirks |= quirk::NZ_ACK;
    }
    if flags & URG != 0 {
        s.quirks |= quirk::URG;
    } else if be16(tcp, 18)? != 0 {
        s.quirks |= quirk::NZ_URG;
    }
    if flags & PSH != 0 {
        s.quirks |= quirk::PUSH;
    }
    s.payload = tcp.len() > doff;
    let ts1 = options(&mut s, tcp.get(20..doff)?, synack);
    // The window as a multiple of the MSS or MTU, tried in p0f's order.
    let (form, n) = window_multiple(&s, ts1, tot_hdr + doff, syn_mss);
    if form != WindowForm::Plain {
        s.win_form = form;
        s.win = n;
    }
    if synack && s.mss == SENDSYN_MSS {
        s.mss_wildcard = true;
    }
    Some(s)
}

/// Reads the TCP options into `s` (layout, MSS, scale, quirks); returns the sender's
/// timestamp value (0 when absent).
fn options(s: &mut P0fSignature, o: &[u8], synack: bool) -> u32 {
    let mut at = 0usize;
    let mut ts1 = 0u32;
    let mut bad = false;
    while at < o.len() && usize::from(s.opt_count) < MAX_TCP_OPTS {
        let Some(&kind) = o.get(at) else { break };
        if let Some(slot) = s.opts.get_mut(usize::from(s.opt_count)) {
            *slot = kind;
        }
        s.opt_count += 1;
        at += 1;
        // `len` below is the option's length byte (it counts the kind and itself).
        match kind {
            0 => {
                s.eol_pad = u8::try_from(o.len() - at).unwrap_or(u8::MAX);
                // p0f scans the padding up to and including its first non-zero byte, and
                // flags it only if that byte was not the last one (kept for equal output).
                let mut i = at;
                while let Some(&b) = o.get(i) {
                    i += 1;
                    if b != 0 {
                        break;
                    }
                }
                if i != o.len() {
                    s.quirks |= quirk::OPT_EOL_NZ;
                }
                at = o.len();
            }
            1 => {}
            2 | 3 | 4 | 8 => {
                let need = match kind {
                    2 => 3,
                    3 => 2,
                    4 => 1,
                    _ => 9,
                };
                if at + need > o.len() {
                    bad = true;
                    break;
                }
                let len_ok = o.get(at).copied() == Some(need as u8 + 1);
                if !len_ok {
                    s.quirks |= quirk::OPT_BAD;
                }
                match kind {
                    2 => s.mss = be16(o, at + 1).unwrap_or(0),
                    3 => {
                        s.wscale = o.get(at + 1).copied().unwrap_or(0);
                        if s.wscale > 14 {
                            s.quirks |= quirk::OPT_EXWS;
                        }
                    }
                    8 => {
                        ts1 = be32(o, at + 1).unwrap_or(0);
                        if ts1 == 0 {
                            s.quirks |= quirk::OPT_ZERO_TS1;
                        }
                        if !synack && be32(o, at + 5).unwrap_or(0) != 0 {
                            s.quirks |= quirk::OPT_NZ_TS2;
                        }
                    }
                    _ => {}
                }
                at += need;
            }
            5 => {
                // SACK: 10 to 34 bytes.
                let Some(&len) = o.get(at) else {
                    bad = true;
                    break;
                };
                let len = usize::from(len);
                if !(10..=34).contains(&len) || at - 1 + len > o.len() {
                    bad = true;
                    break;
                }
                at += len - 1;
            }
            _ => {
                let Some(&len) = o.get(at) else {
                    bad = true;
                    break;
                };
                let len = usize::from(len);
                if !(2..=40).contains(&len) || at - 1 + len > o.len() {
                    bad = true;
                    break;
                }
                at += len - 1;
            }
        }
    }
    if bad || at != o.len() {
        s.quirks |= quirk::OPT_BAD;
    }
    ts1
}

/// p0f's window-multiple detection: MSS (and MSS-12 with timestamps), the usual
/// Ethernet MSS values, then MTU forms, then the peer's MSS on a SYN+ACK.
fn window_multiple(s: &P0fSignature, ts1: u32, tot_hdr: usize, syn_mss: u16) -> (WindowForm, u16) {
    let win = u32::from(s.win);
    let mss = u32::from(s.mss);
    if win == 0 || mss < 100 {
        return (WindowForm::Plain, 0);
    }
    let mut tries: Vec<(u32, WindowForm)> = Vec::with_capacity(12);
    tries.push((mss, WindowForm::Mss));
    if ts1 != 0 {
        tries.push((mss - 12, WindowForm::Mss));
    }
    tries.push((1500 - MIN_TCP4, WindowForm::Mss));
    tries.push((1500 - MIN_TCP4 - 12, WindowForm::Mss));
    if s.ver == 6 {
        tries.push((1500 - MIN_TCP6, WindowForm::Mss));
        tries.push((1500 - MIN_TCP6 - 12, WindowForm::Mss));
    }
    tries.push((mss + MIN_TCP4, WindowForm::Mtu));
    tries.push((mss + tot_hdr as u32, WindowForm::Mtu));
    if s.ver == 6 {
        tries.push((mss + MIN_TCP6, WindowForm::Mtu));
    }
    tries.push((1500, WindowForm::Mtu));
    if syn_mss != 0 {
        let p = u32::from(syn_mss);
        tries.push((p, WindowForm::Mss));
        tries.push((p.wrapping_sub(12), WindowForm::Mss));
    }
    for (div, form) in tries {
        if div != 0 && div <= 0xffff && win % div == 0 {
            return (form, u16::try_from(win / div).unwrap_or(0));
        }
    }
    (WindowForm::Plain, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Linux SYN (IPv4 + TCP with MSS, SACK-permitted, timestamps, NOP, window scale).
    const LINUX_SYN: &[u8] = &[
        0x45, 0x00, 0x00, 0x3c, // IPv4, IHL 5, TOS 0, total length 60
        0x1c, 0x46, 0x40, 0x00, // id 0x1c46, DF
        0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, checksum
        10, 0, 0, 1, 10, 0, 0, 2, // addresses
        0xa2, 0x5c, 0x00, 0x50, // ports 41564 -> 80
        0x12, 0x34, 0x56, 0x78, // seq
        0x00, 0x00, 0x00, 0x00, // ack 0
        0xa0, 0x02, 0xfa, 0xf0, // data offset 10 (40 bytes), SYN, window 64240
        0x00, 0x00, 0x00, 0x00, // checksum, urgent pointer
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, // TS 66051, 0
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    #[test]
    fn p0f_linux_syn_signature_exact() {
        // The Linux SYN gives p0f's raw signature for it.
        let s = signature(LINUX_SYN, 0).unwrap();
        assert_eq!(
            s.text(),
            "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
        );
    }

    #[test]
    fn p0f_synack_quirks_and_peer_mss() {
        // A SYN+ACK with ECN, no DF and id 0, zero ACK, URG pointer, EOL padding with a
        // non-zero byte, and a window sized from the peer's MSS.
        let mut b = LINUX_SYN.to_vec();
        b[1] = 0x02; // ECT
        b[4] = 0;
        b[5] = 0;
        b[6] = 0; // no DF
        b[33] = 0x12; // SYN+ACK
        b[34..36].copy_from_slice(&(1000u16 * 7).to_be_bytes()); // window 7000
        b[38..40].copy_from_slice(&[0, 1]); // urgent pointer without URG
        b[40..44].copy_from_slice(&[0x02, 0x04, 0x01, 0x00]); // MSS 256
        b[44..50].copy_from_slice(&[0x00, 0x00, 0x05, 0x00, 0x00, 0x00]); // EOL, padding
        let s = signature(&b, 1000).unwrap();
        assert_eq!(
            s.text(),
            "4:64+0:0:256:mss*7,0:mss,eol+15:id-,ecn,ack-,uptr+,opt+:0"
        );
    }

    #[test]
    fn p0f_bad_options_and_far_ttl() {
        // An option whose length runs past the header is `bad`; TTL 200 guesses 255+55 -> ?.
        let mut b = LINUX_SYN.to_vec();
        b[8] = 200;
        b[58] = 0x09; // window scale option claims 9 bytes
        b[57] = 0x2a; // unknown option 42 (the NOP's place), length 9 > rest
        let s = signature(&b, 0).unwrap();
        assert!(s.text().starts_with("4:200+?:0:1460:"), "{}", s.text());
        assert_eq!(s.quirks & quirk::OPT_BAD, quirk::OPT_BAD);
    }

    #[test]
    fn p0f_every_prefix_is_none_or_signature() {
        // Every cut of the segment: no panic; a cut below the IP length gives nothing.
        for n in 0..LINUX_SYN.len() {
            assert_eq!(signature(&LINUX_SYN[..n], 0), None, "prefix {n}");
        }
        // Trailing Ethernet padding beyond the IP length is ignored.
        let mut padded = LINUX_SYN.to_vec();
        padded.extend_from_slice(&[0xee; 6]);
        assert_eq!(signature(&padded, 0), signature(LINUX_SYN, 0));
    }

    #[test]
    fn p0f_kind_of_flags() {
        // SYN and SYN+ACK are fingerprinted; SYN with FIN or RST and plain ACKs are not.
        assert_eq!(kind(SYN), Some(false));
        assert_eq!(kind(SYN | ACK | PSH), Some(true));
        assert_eq!(kind(SYN | FIN), None);
        assert_eq!(kind(SYN | RST | ACK), None);
        assert_eq!(kind(ACK), None);
    }

    #[test]
    fn fuzz_regressions_replay_without_panic() {
        // Inputs saved under fuzz/regressions/p0f/ give a bounded signature or none.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/p0f");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            for input in [&data[..], data.get(1..).unwrap_or_default()] {
                if let Some(s) = signature(input, 1460) {
                    assert!(usize::from(s.opt_count) <= MAX_TCP_OPTS);
                }
            }
            n += 1;
        }
        assert!(n >= 1);
        // The hand-made SACK with a length below 10 is `bad`.
        let b = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/regressions/p0f/sack-len-too-short"),
        )
        .unwrap();
        let s = signature(&b, 0).unwrap();
        assert_eq!(s.text(), "4:64+0:0:0:4096,0:sack:id-,bad:0");
    }

    proptest! {
        #[test]
        fn p0f_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..120), mss in any::<u16>()) {
            // Arbitrary L3 bytes and mutated SYNs: no panic, option count bounded.
            if let Some(s) = signature(&b, mss) {
                prop_assert!(usize::from(s.opt_count) <= MAX_TCP_OPTS);
            }
            let mut m = LINUX_SYN.to_vec();
            for (i, x) in b.iter().enumerate().take(8) {
                let at = usize::from(*x) % m.len();
                m[at] ^= (i as u8) | 1;
            }
            let _ = signature(&m, mss);
        }
    }
}
