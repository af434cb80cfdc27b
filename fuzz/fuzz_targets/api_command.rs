//! Fuzzes the body of a baseline command (`POST /api/v1/baselines/{id}/{action}`): the
//! first byte picks the action and the device (`*` or one id), the rest is the body.
//! Oracle besides "no panic": an accepted command has a `who` within its cap and free of
//! control characters, and `kind`/`value` exactly when it is an approve. Saved inputs in
//! fuzz/regressions/api_command/ are replayed by `cargo test -p wardwatch-outputs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let action = ["lock", "relearn", "approve", "explode"][usize::from(sel & 3)];
    let device = if sel & 4 != 0 { "*" } else { "00:09:fb:12:34:56" };
    if let Ok(c) = outputs::api::parse_command(device, action, body) {
        assert!(c.who.len() <= outputs::api::MAX_WHO_LEN);
        assert!(!c.who.chars().any(char::is_control));
        assert_eq!(c.action == "approve", c.kind.is_some() && c.value.is_some());
    }
});
