//! TCP SYN and SYN+ACK signatures in p0f v3's raw form, carried on `flow` events as
//! `tcp.syn_signature` / `tcp.synack_signature`.
//!
//! The text is `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`, as p0f 3 prints it
//! in its `raw_sig` field (p0f README, "TCP signatures"): `ittl` is the observed TTL plus
//! the guessed hop distance (`57+7`; `+?` when the distance would exceed 35), `mss` is the
//! MSS option value (`0` when absent), `wsize` is `mss*N` / `mtu*N` when the window is a
//! multiple of the MSS or MTU, otherwise the raw window. The signature is kept in a small
//! fixed-size value (no allocation on the packet path) and rendered when the event is
//! written. The capture crate computes it (`capture::p0f`).

/// Most TCP options recorded in a layout (p0f's own limit).
pub const MAX_TCP_OPTS: usize = 24;

/// Quirk bits, in p0f's print order.
pub mod quirk {
    pub const DF: u32 = 1 << 0;
    pub const NZ_ID: u32 = 1 << 1;
    pub const ZERO_ID: u32 = 1 << 2;
    pub const ECN: u32 = 1 << 3;
    pub const NZ_MBZ: u32 = 1 << 4;
    pub const FLOW: u32 = 1 << 5;
    pub const ZERO_SEQ: u32 = 1 << 6;
    pub const NZ_ACK: u32 = 1 << 7;
    pub const ZERO_ACK: u32 = 1 << 8;
    pub const NZ_URG: u32 = 1 << 9;
    pub const URG: u32 = 1 << 10;
    pub const PUSH: u32 = 1 << 11;
    pub const OPT_ZERO_TS1: u32 = 1 << 12;
    pub const OPT_NZ_TS2: u32 = 1 << 13;
    pub const OPT_EOL_NZ: u32 = 1 << 14;
    pub const OPT_EXWS: u32 = 1 << 15;
    pub const OPT_BAD: u32 = 1 << 16;
    /// Names in bit order (the order p0f prints them).
    pub const NAMES: [&str; 17] = [
        "df", "id+", "id-", "ecn", "0+", "flow", "seq-", "ack+", "ack-", "uptr+", "urgf+",
        "pushf+", "ts1-", "ts2+", "opt+", "exws", "bad",
    ];
}

/// How the window size is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WindowForm {
    /// The raw window value.
    #[default]
    Plain,
    /// `mss*N`: `win` holds N.
    Mss,
    /// `mtu*N`: `win` holds N.
    Mtu,
}

/// One SYN or SYN+ACK signature (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct P0fSignature {
    /// 4 or 6.
    pub ver: u8,
    /// Observed TTL or hop limit.
    pub ttl: u8,
    /// IPv4 options length (0 for IPv6).
    pub olen: u8,
    /// MSS option value, 0 when absent.
    pub mss: u16,
    /// A SYN+ACK echoing p0f-sendsyn's probe MSS: written `*`.
    pub mss_wildcard: bool,
    pub win_form: WindowForm,
    /// The window, or its multiplier (see `win_form`).
    pub win: u16,
    /// Window scale option value, 0 when absent.
    pub wscale: u8,
    /// Option kinds in order (`opt_count` of them).
    pub opts: [u8; MAX_TCP_OPTS],
    pub opt_count: u8,
    /// Bytes after an end-of-options option.
    pub eol_pad: u8,
    /// [`quirk`] bits.
    pub quirks: u32,
    /// The segment carried payload.
    pub payload: bool,
}

impl P0fSignature {
    /// Hop distance p0f guesses from the observed TTL (to the next of 32, 64, 128, 255).
    pub fn guess_dist(ttl: u8) -> u8 {
        match ttl {
            0..=32 => 32 - ttl,
            33..=64 => 64 - ttl,
            65..=128 => 128 - ttl,
            _ => 255 - ttl,
        }
    }

    /// Appends the signature text (no quoting; it never needs JSON escaping).
    pub fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let dist = Self::guess_dist(self.ttl);
        let _ = if dist > 35 {
            write!(out, "{}:{}+?:{}:", self.ver, self.ttl, self.olen)
        } else {
            write!(out, "{}:{}+{}:{}:", self.ver, self.ttl, dist, self.olen)
        };
        let _ = if self.mss_wildcard {
            write!(out, "*:")
        } else {
            write!(out, "{}:", self.mss)
        };
        let _ = match self.win_form {
            WindowForm::Plain => write!(out, "{}", self.win),
            WindowForm::Mss => write!(out, "mss*{}", self.win),
            WindowForm::Mtu => write!(out, "mtu*{}", self.win),
        };
        let _ = write!(out, ",{}:", self.wscale);
        let n = usize::from(self.opt_count).min(MAX_TCP_OPTS);
        for (i, kind) in self.opts.iter().take(n).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = match kind {
                0 => write!(out, "eol+{}", self.eol_pad),
                1 => write!(out, "nop"),
                2 => write!(out, "mss"),
                3 => write!(out, "ws"),
                4 => write!(out, "sok"),
                5 => write!(out, "sack"),
                8 => write!(out, "ts"),
                k => write!(out, "?{k}"),
            };
        }
        out.push(b':');
        let mut first = true;
        for (bit, name) in quirk::NAMES.iter().enumerate() {
            if self.quirks & (1 << bit) != 0 {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.extend_from_slice(if self.payload { b":+" } else { b":0" });
    }

    /// The signature text.
    pub fn text(&self) -> String {
        let mut v = Vec::with_capacity(64);
        self.write(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

impl std::fmt::Display for P0fSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl serde::Serialize for P0fSignature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p0f_signature_text_linux_syn() {
        // A Linux SYN renders exactly as p0f prints it.
        let mut opts = [0u8; MAX_TCP_OPTS];
        opts[..5].copy_from_slice(&[2, 4, 8, 1, 3]);
        let s = P0fSignature {
            ver: 4,
            ttl: 64,
            olen: 0,
            mss: 1460,
            win_form: WindowForm::Mss,
            win: 44,
            wscale: 7,
            opts,
            opt_count: 5,
            quirks: quirk::DF | quirk::NZ_ID,
            ..Default::default()
        };
        assert_eq!(
            s.text(),
            "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
        );
    }

    #[test]
    fn p0f_signature_text_far_ttl_eol_and_unknown() {
        // A TTL too far from any initial value gives `+?`; EOL shows its padding.
        let mut opts = [0u8; MAX_TCP_OPTS];
        opts[..3].copy_from_slice(&[30, 1, 0]);
        let s = P0fSignature {
            ver: 6,
            ttl: 200,
            win: 512,
            opts,
            opt_count: 3,
            eol_pad: 2,
            quirks: quirk::FLOW | quirk::OPT_BAD,
            payload: true,
            ..Default::default()
        };
        assert_eq!(s.text(), "6:200+?:0:0:512,0:?30,nop,eol+2:flow,bad:+");
    }
}
