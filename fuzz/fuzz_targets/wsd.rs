//! Fuzzes the WS-Discovery analyzer and its XML tokenizer on one datagram. Oracle besides
//! "no panic": decoding is deterministic, tokens stay within the cap, lists and strings
//! within theirs. Saved inputs in fuzz/regressions/wsd/ are replayed by
//! `cargo test -p wardwatch-analyzers`.
#![no_main]

use analyzers::wsd::analyzer::decode;
use analyzers::wsd::{wire, WsdConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = WsdConfig {
        max_string_bytes: 16,
        max_list_items: 2,
        max_xml_tokens: 64,
        ..Default::default()
    };
    let mut n = 0;
    let _ = wire::scan(data, 64, |_| n += 1);
    assert!(n <= 64);
    let _ = wire::unescape(data);
    let mut a1 = Vec::new();
    let mut a2 = Vec::new();
    let e1 = decode(&cfg, data, &mut a1);
    assert_eq!(e1, decode(&cfg, data, &mut a2));
    assert_eq!(a1, a2);
    for l in [&e1.types, &e1.scopes, &e1.xaddrs] {
        assert!(l.len() <= 2);
        assert!(l.iter().all(|s| s.len() <= 16));
    }
});
