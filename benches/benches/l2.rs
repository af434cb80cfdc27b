//! Per-call cost of the fingerprint paths added for link-layer and TCP fingerprinting:
//! the p0f signature of a Linux SYN (computed once per SYN or SYN+ACK, never for other
//! segments), an LLDPDU through the L2 entry, an ARP request for a known binding (the
//! common case: no event), and a WS-Discovery Hello. Reported in elements/s.

use analyzers::l2::L2Analyzers;
use analyzers::wsd::{analyzer::decode, WsdConfig};
use analyzers::AnalyzersConfig;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{AnomalyCounts, Timestamp};
use std::hint::black_box;

/// IPv4 + TCP SYN with MSS, SACK-permitted, timestamps, NOP, window scale (Linux).
const SYN: &[u8] = &[
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0,
    2, 0xa2, 0x5c, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0,
    0, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 1, 2, 3, 0, 0, 0, 0, 0x01, 0x03, 0x03,
    0x07,
];

const LLDP: &[u8] = &[
    0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x00, 0x09, 0xfb, 1, 2, 3, 0x88, 0xcc, 0x02, 0x07, 0x04, 0x00,
    0x09, 0xfb, 1, 2, 3, 0x04, 0x05, 0x05, b'e', b't', b'h', b'0', 0x06, 0x02, 0x00, 0x78, 0x0a,
    0x05, b'M', b'X', b'7', b'0', b'0', 0x0e, 0x04, 0x00, 0xa0, 0x00, 0x80, 0, 0,
];

const ARP: &[u8] = &[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x90, 0x20, 0xaa, 0xbb, 0x01, 0x08, 0x06, 0, 1, 0x08,
    0, 6, 4, 0, 1, 0x00, 0x90, 0x20, 0xaa, 0xbb, 0x01, 10, 0, 0, 30, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1,
];

const HELLO: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action><wsa:MessageID>urn:uuid:0001</wsa:MessageID></soap:Header><soap:Body><wsd:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:dev-1</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device pub:Computer</wsd:Types><wsd:XAddrs>http://10.0.0.21:5357/dev-1/</wsd:XAddrs><wsd:MetadataVersion>7</wsd:MetadataVersion></wsd:Hello></soap:Body></soap:Envelope>"#;

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("l2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("p0f_syn_signature", |b| {
        b.iter(|| capture::p0f::signature(black_box(SYN), 0))
    });
    let mut l2 = L2Analyzers::new(&AnalyzersConfig::default());
    let mut out = Vec::with_capacity(1);
    let mut counts = AnomalyCounts::default();
    g.bench_function("lldp_frame", |b| {
        b.iter(|| {
            out.clear();
            l2.on_frame(Timestamp(0), black_box(LLDP), &mut out, &mut counts);
            out.len()
        })
    });
    g.bench_function("arp_known_binding", |b| {
        b.iter(|| {
            out.clear();
            l2.on_frame(Timestamp(0), black_box(ARP), &mut out, &mut counts);
            out.len()
        })
    });
    let cfg = WsdConfig::default();
    g.bench_function("wsd_hello", |b| {
        b.iter(|| decode(&cfg, black_box(HELLO), &mut Vec::new()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
