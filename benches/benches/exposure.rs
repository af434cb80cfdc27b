//! Exposure analyzers' throughput: an SMB2 negotiation followed by 1 MiB of file I/O (the
//! analyzer stops reading after the negotiation), an SNMP v2c GetRequest datagram, a telnet
//! session of 64 KiB of server output without a login, and an FTP control session of 2000
//! command/reply pairs. Reported in bytes/s.

use analyzers::ftp::{FtpAnalyzer, FtpConfig};
use analyzers::smb::{SmbAnalyzer, SmbConfig};
use analyzers::snmp::{SnmpAnalyzer, SnmpConfig};
use analyzers::telnet::{TelnetAnalyzer, TelnetConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{
    AnomalyCounts, Cx, DatagramAnalyzer, Direction, FlowKey, FlowMeta, IpProto, StreamAnalyzer,
    Timestamp,
};
use std::hint::black_box;
use std::sync::Arc;

fn meta(proto: IpProto, app: &'static str) -> FlowMeta {
    let key = FlowKey {
        vlan: [0, 0],
        proto,
        src_ip: std::net::IpAddr::from([10, 0, 0, 1]),
        src_port: 40000,
        dst_ip: std::net::IpAddr::from([10, 0, 0, 2]),
        dst_port: 2,
    };
    FlowMeta {
        flow_id: 1,
        key,
        in_iface: Arc::from("bench"),
        src_mac: None,
        dest_mac: None,
        app_proto: Some(app),
    }
}

fn nb(msg: &[u8]) -> Vec<u8> {
    let n = msg.len() as u32;
    let mut v = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    v.extend_from_slice(msg);
    v
}

fn smb2(response: bool, body: &[u8]) -> Vec<u8> {
    let mut h = b"\xfeSMB\x40\x00".to_vec();
    h.extend_from_slice(&[0; 6]);
    h.extend_from_slice(&[0, 0, 1, 0, u8::from(response), 0, 0, 0]);
    h.resize(64, 0);
    h.extend_from_slice(body);
    nb(&h)
}

/// (client, server) streams: negotiate, then `io` bytes of other messages each way.
fn smb_streams(io: usize) -> (Vec<u8>, Vec<u8>) {
    let mut req = vec![36, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    req.extend_from_slice(&[0x11; 24]);
    for d in [0x0202u16, 0x0210, 0x0300, 0x0302, 0x0311] {
        req.extend_from_slice(&d.to_le_bytes());
    }
    let mut resp = vec![65, 0, 3, 0, 0x11, 0x03];
    resp.resize(64, 0);
    let mut c = smb2(false, &req);
    let mut s = smb2(true, &resp);
    let mut read = b"\xfeSMB\x40\x00".to_vec();
    read.resize(64, 0);
    read[12] = 8; // READ
    read.resize(64 * 1024, 0x5a);
    let read = nb(&read);
    while s.len() < io {
        s.extend_from_slice(&read);
        c.extend_from_slice(&read);
    }
    (c, s)
}

fn run_stream(a: &mut dyn StreamAnalyzer, m: &FlowMeta, pieces: &[(Direction, &[u8])]) -> usize {
    let mut events = Vec::new();
    let mut counts = AnomalyCounts::default();
    let mut budget = 16;
    let mut cx = Cx::new(Timestamp(0), m, &mut events, &mut counts, &mut budget);
    for (dir, b) in pieces {
        for c in b.chunks(16 * 1024) {
            black_box(a.on_data(&mut cx, *dir, c));
        }
    }
    a.on_close(&mut cx);
    events.len()
}

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("exposure");

    let (c, s) = smb_streams(1 << 20);
    let m = meta(IpProto::TCP, "smb");
    let pieces = [(Direction::ToServer, &c[..]), (Direction::ToClient, &s[..])];
    assert_eq!(
        run_stream(&mut SmbAnalyzer::new(&SmbConfig::default()), &m, &pieces),
        1
    );
    g.throughput(Throughput::Bytes((c.len() + s.len()) as u64));
    g.bench_function("smb_negotiate_then_1mib_io", |b| {
        b.iter(|| run_stream(&mut SmbAnalyzer::new(&SmbConfig::default()), &m, &pieces))
    });

    let mut dg = vec![0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06];
    dg.extend_from_slice(b"public");
    dg.extend_from_slice(&[
        0xa0, 0x1c, 0x02, 0x04, 0, 0, 0, 1, 0x02, 0x01, 0, 0x02, 0x01, 0, 0x30, 0x0e, 0x30, 0x0c,
        0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 1, 0, 0x05, 0,
    ]);
    let m = meta(IpProto::UDP, "snmp");
    let mut a = SnmpAnalyzer::new(&SnmpConfig::default());
    g.throughput(Throughput::Bytes(dg.len() as u64));
    g.bench_function("snmp_v2c_get", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(1);
            let mut counts = AnomalyCounts::default();
            let mut budget = 16;
            let mut cx = Cx::new(Timestamp(0), &m, &mut events, &mut counts, &mut budget);
            a.on_datagram(&mut cx, Direction::ToServer, black_box(&dg));
            events.len()
        })
    });

    let mut out = b"\xff\xfd\x18\xff\xfb\x01".to_vec();
    while out.len() < 64 * 1024 {
        out.extend_from_slice(b"drwxr-xr-x  2 root root 4096 Nov 27 20:11 telemetry-archive\r\n");
    }
    let m = meta(IpProto::TCP, "telnet");
    let pieces = [
        (Direction::ToClient, &out[..]),
        (Direction::ToServer, &b"ls\r\n"[..]),
    ];
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function("telnet_64kib_output", |b| {
        b.iter(|| {
            run_stream(
                &mut TelnetAnalyzer::new(&TelnetConfig::default()),
                &m,
                &pieces,
            )
        })
    });

    let mut fc = b"USER svc\r\nPASS x\r\n".to_vec();
    let mut fs = b"220 (vsFTPd 3.0.3)\r\n331 Password\r\n230 Login successful.\r\n".to_vec();
    for i in 0..2000 {
        fc.extend_from_slice(format!("SIZE /export/images/series-{i}.dcm\r\n").as_bytes());
        fs.extend_from_slice(format!("213 {}\r\n", 100_000 + i).as_bytes());
    }
    let m = meta(IpProto::TCP, "ftp");
    let pieces = [
        (Direction::ToServer, &fc[..]),
        (Direction::ToClient, &fs[..]),
    ];
    g.throughput(Throughput::Bytes((fc.len() + fs.len()) as u64));
    g.bench_function("ftp_2000_commands", |b| {
        b.iter(|| run_stream(&mut FtpAnalyzer::new(&FtpConfig::default()), &m, &pieces))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
