//! Prints how each packet of a capture decodes (debugging aid).
#![allow(clippy::expect_used, clippy::unwrap_used)] // reason: a debugging aid, not a packet path
fn main() {
    let p: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let mut m = wardwatch_capture::file::MergedFiles::open(&p).expect("open");
    let mut n = 0;
    while m
        .next_with(|h, d| {
            n += 1;
            println!(
                "{n} {:?}",
                wardwatch_capture::decode::decode(h.linktype, d).map(|d| (
                    d.vlan,
                    d.ip,
                    d.src_port,
                    d.dst_port,
                    d.payload.len()
                ))
            );
        })
        .is_some()
    {}
}
