//! Prints each record's header as the file source reads it (debugging aid).
#![allow(clippy::expect_used, clippy::unwrap_used)] // reason: a debugging aid, not a packet path
fn main() {
    let p: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let mut m = wardwatch_capture::file::MergedFiles::open(&p).expect("open");
    let mut n = 0;
    while let Some(h) =
        m.next_with(|h, d| println!("{n} {:?} {} {:02x?}", h, d.len(), &d[..d.len().min(16)]))
    {
        let _ = h;
        n += 1;
    }
    for f in m.files() {
        println!("{:?}", f.anomalies);
    }
}
