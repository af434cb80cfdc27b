//! Fuzzes the p0f signature computation on arbitrary L3 bytes. Oracle besides "no panic":
//! the option layout stays within p0f's 24 options and the text form is ASCII without
//! characters that would need JSON escaping. Saved inputs in fuzz/regressions/p0f/ are
//! replayed by `cargo test -p wardwatch-capture`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mss = data.first().map_or(0, |b| u16::from(*b) * 7);
    for input in [data, data.get(1..).unwrap_or_default()] {
        if let Some(s) = capture::p0f::signature(input, mss) {
            assert!(usize::from(s.opt_count) <= model::p0f::MAX_TCP_OPTS);
            let t = s.text();
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'));
        }
    }
});
