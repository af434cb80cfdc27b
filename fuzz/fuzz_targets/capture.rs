//! Fuzz target: the capture path (decode of every link type, fragment reassembly, TCP
//! reassembly) on arbitrary frame sequences. Crashes go to fuzz/regressions/capture/,
//! which `cargo test -p wardwatch-capture` replays.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    capture::fuzz::run(data);
});
