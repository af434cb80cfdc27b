//! Fuzzes the DICOM stream analyzer: the input is split into two directions and fed in
//! chunks whose sizes come from the input, honouring `NeedMore` as the pipeline does;
//! gaps, EOF and close are exercised too. Also runs the probe on both directions.
#![no_main]

use analyzers::dicom::{probe_dicom, DicomAnalyzer, DicomConfig};
use libfuzzer_sys::fuzz_target;
use model::{
    AnomalyCounts, Cx, Direction, FlowKey, FlowMeta, IpProto, Progress, StreamAnalyzer, Timestamp,
};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let split = if rest.is_empty() {
        0
    } else {
        usize::from(ctl) * rest.len() / 256
    };
    let (a, b) = rest.split_at(split);
    let _ = probe_dicom(Direction::ToServer, a);
    let _ = probe_dicom(Direction::ToClient, b);
    let key = FlowKey {
        vlan: [0, 0],
        proto: IpProto::TCP,
        src_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        src_port: 1,
        dst_ip: std::net::Ipv4Addr::LOCALHOST.into(),
        dst_port: 104,
    };
    let meta = FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("f"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some("dicom"),
    };
    let cfg = DicomConfig {
        max_association_pdu_length: 4096,
        max_command_length: 512,
        max_items: 8,
        max_pending_requests: 4,
        ..DicomConfig::default()
    };
    let mut an = DicomAnalyzer::new(cfg);
    let (mut ev, mut counts, mut budget) = (Vec::new(), AnomalyCounts::default(), 64u32);
    let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut need = [0usize; 2];
    let chunk = usize::from(ctl % 17) + 1;
    let (mut ia, mut ib) = (0usize, 0usize);
    let mut ts = 0i64;
    while ia < a.len() || ib < b.len() {
        for (dir, src, i) in [
            (Direction::ToServer, a, &mut ia),
            (Direction::ToClient, b, &mut ib),
        ] {
            if *i >= src.len() {
                continue;
            }
            let n = chunk.min(src.len() - *i);
            let d = dir.index();
            bufs[d].extend_from_slice(&src[*i..*i + n]);
            *i += n;
            ts += 1;
            let mut cx = Cx::new(Timestamp(ts), &meta, &mut ev, &mut counts, &mut budget);
            if ctl == 0xff && *i == n {
                an.on_gap(&mut cx, dir, 10);
            }
            while !bufs[d].is_empty() && bufs[d].len() >= need[d] {
                let len = bufs[d].len();
                match an.on_data(&mut cx, dir, &bufs[d]) {
                    Progress::Done => {
                        bufs[d].clear();
                        need[d] = 0;
                    }
                    Progress::NeedMore { consumed, needed } => {
                        assert!(consumed <= len);
                        bufs[d].drain(..consumed);
                        need[d] = needed;
                        if needed <= bufs[d].len() {
                            assert!(consumed > 0, "NeedMore without progress");
                        } else {
                            break;
                        }
                    }
                    Progress::Abandon(_) => return,
                }
            }
        }
    }
    let mut cx = Cx::new(Timestamp(ts), &meta, &mut ev, &mut counts, &mut budget);
    an.on_eof(&mut cx, Direction::ToServer);
    an.on_eof(&mut cx, Direction::ToClient);
    an.on_close(&mut cx);
    // Command buffers hold at most max_command_length bytes each; Vec growth may double
    // the allocation.
    assert!(an.buffered_bytes() <= 2 * 2 * 512);
});
