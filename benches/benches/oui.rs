//! MAC vendor lookup rate (`rules::inventory::oui::lookup`), reported in lookups/s: a batch
//! of 4096 addresses per iteration, in three mixes: registered MA-L vendors of a hospital
//! (the hospital workload's OUIs), addresses inside MA-M/MA-S blocks (three levels
//! searched, hits at any level), and uniformly random addresses
//! (a quarter multicast, a quarter locally administered, the rest mostly unregistered).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rules::inventory::oui::lookup;
use std::hint::black_box;

const N: usize = 4096;

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn macs(mut pick: impl FnMut(&mut u64) -> [u8; 6]) -> Vec<[u8; 6]> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..N).map(|_| pick(&mut x)).collect()
}

fn bench(c: &mut Criterion) {
    // The hospital workload's vendor OUIs (see ../shared/bench/hospital_pcap.py VENDOR_OUIS).
    let ouis: [[u8; 3]; 12] = [
        [0x00, 0x09, 0xfb],
        [0x44, 0x4b, 0x5d],
        [0x58, 0x46, 0xe1],
        [0x00, 0x12, 0x21],
        [0xf8, 0xc6, 0x78],
        [0x00, 0xa0, 0x37],
        [0x00, 0x10, 0x5d],
        [0x98, 0xe7, 0x43],
        [0x9c, 0x7b, 0xef],
        [0x00, 0x50, 0x56],
        [0xf4, 0xbd, 0x9e],
        [0x94, 0xfb, 0x29],
    ];
    let hospital = macs(|x| {
        let r = xorshift(x).to_be_bytes();
        let o = ouis[usize::from(r[7]) % ouis.len()];
        [o[0], o[1], o[2], r[0], r[1], r[2]]
    });
    let small_blocks = macs(|x| {
        let r = xorshift(x).to_be_bytes();
        if r[7] & 1 == 0 {
            [0x74, 0x1a, 0xe0, r[0], r[1], r[2]]
        } else {
            [0x70, 0xb3, 0xd5, r[0], r[1], r[2]]
        }
    });
    let random = macs(|x| {
        let r = xorshift(x).to_be_bytes();
        [r[0], r[1], r[2], r[3], r[4], r[5]]
    });
    // Parse the table outside the measurement.
    black_box(lookup([0, 9, 0xfb, 0, 0, 0]));

    let mut g = c.benchmark_group("oui_lookup");
    g.throughput(Throughput::Elements(N as u64));
    for (name, set) in [
        ("hospital_mal", &hospital),
        ("ma_m_ma_s", &small_blocks),
        ("random", &random),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut hits = 0usize;
                for m in set.iter() {
                    hits += usize::from(black_box(lookup(black_box(*m))).org().is_some());
                }
                hits
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
