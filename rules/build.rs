//! Compiles the MAC vendor table (`data/oui.tsv`, see `data/README.md`) into sorted static
//! arrays (`$OUT_DIR/oui_table.rs`, included by `src/inventory/oui.rs`), so that no run
//! parses its 46k lines at start. The same reading as `oui::parse` (which the tests
//! compare it with): `#` headers (`# entries: N`), `<prefix hex>\t<bits>\t<organisation>`
//! lines with 6, 7 or 9 hex digits for 24, 28 or 36 bits, malformed lines skipped and
//! counted, sorted by prefix with the first of duplicate prefixes kept.

// A build script reports a missing or unwritable file by failing the build.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;

fn main() {
    println!("cargo::rerun-if-changed=data/oui.tsv");
    println!("cargo::rerun-if-changed=build.rs");
    let text = std::fs::read_to_string("data/oui.tsv").expect("rules/data/oui.tsv is readable");
    // 24, 28, 36 bits.
    let mut levels: [Vec<(u64, &str)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let (mut declared, mut skipped) = (None::<usize>, 0usize);
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(n) = comment.trim().strip_prefix("entries:") {
                declared = n.trim().parse().ok();
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(hex), Some(bits), Some(org)) = (cols.next(), cols.next(), cols.next()) else {
            skipped += 1;
            continue;
        };
        let level = match (bits, hex.len()) {
            ("24", 6) => 0,
            ("28", 7) => 1,
            ("36", 9) => 2,
            _ => {
                skipped += 1;
                continue;
            }
        };
        match u64::from_str_radix(hex, 16) {
            Ok(k) if !org.is_empty() => levels[level].push((k, org)),
            _ => skipped += 1,
        }
    }
    let mut orgs: Vec<&str> = Vec::new();
    let mut org_ix: HashMap<&str, usize> = HashMap::new();
    let mut out = String::new();
    for (name, level) in ["MAL", "MAM", "MAS"].iter().zip(levels.iter_mut()) {
        // Stable: of equal prefixes the first line stays first, and dedup keeps it.
        level.sort_by_key(|p| p.0);
        level.dedup_by_key(|p| p.0);
        let mut keys = String::new();
        let mut ixs = String::new();
        for (k, org) in level.iter() {
            let i = *org_ix.entry(org).or_insert_with(|| {
                orgs.push(org);
                orgs.len() - 1
            });
            let _ = write!(keys, "{k},");
            let _ = write!(ixs, "{i},");
        }
        let n = level.len();
        let _ = writeln!(out, "static {name}_KEYS: [u64; {n}] = [{keys}];");
        let _ = writeln!(out, "static {name}_ORGS: [u16; {n}] = [{ixs}];");
    }
    assert!(
        orgs.len() <= usize::from(u16::MAX),
        "too many organisations for u16 indices"
    );
    let _ = write!(out, "static ORGS: [&str; {}] = [", orgs.len());
    for o in &orgs {
        let _ = write!(out, "{o:?},");
    }
    let _ = writeln!(out, "];");
    let _ = writeln!(
        out,
        "const STATS: TableStats = TableStats {{ mal: {}, mam: {}, mas: {}, declared: {:?}, skipped: {skipped} }};",
        levels[0].len(),
        levels[1].len(),
        levels[2].len(),
        declared,
    );
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(std::path::Path::new(&dir).join("oui_table.rs"), out)
        .expect("OUT_DIR is writable");
}
