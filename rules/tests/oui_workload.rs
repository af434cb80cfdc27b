//! MAC vendor lookup against the ground truth of the shared hospital workload generator
//! (`../shared/bench/hospital_pcap.py`, whose `<out>.hosts.csv` lists every host's MAC and
//! the vendor the generator meant). The generator is next to the workspace (read-only
//! copy in CI); missing it is a failure under `CI=true` and a skip elsewhere.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use wardwatch_rules::inventory::oui::{lookup, parse_mac, Vendor};

/// Lowercase ASCII letters and digits only: "B. Braun" and "B.Braun Melsungen" compare.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Normalised names the registry uses for a ground-truth vendor; by default the vendor's
/// own normalised name. Taken from the generator's VENDOR_OUIS comment and oui.csv.
fn aliases(vendor: &str) -> Vec<String> {
    let list: &[&str] = match vendor {
        "BD/CareFusion/Alaris" => &["carefusion", "becton", "alaris"],
        "GE Healthcare" => &["gehealthcare", "gemedical"],
        "HP" => &["hewlettpackard"],
        "Siemens Healthcare" => &["siemenshealthcare"],
        _ => &[],
    };
    if list.is_empty() {
        vec![norm(vendor)]
    } else {
        list.iter().map(|s| s.to_string()).collect()
    }
}

fn generator() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    let p = root.join("../shared/bench/hospital_pcap.py");
    p.is_file().then_some(p)
}

#[test]
fn workload_hosts_vendor_matches_ground_truth() {
    // Every host of a generated hospital capture gets, from its MAC alone, the vendor the generator assigned (100%).
    let Some(gen) = generator() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/bench/hospital_pcap.py missing under CI"
        );
        eprintln!("Skipping: ../shared/bench/hospital_pcap.py not found next to the workspace.");
        return;
    };
    let dir = std::env::temp_dir().join(format!("wardwatch-oui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("hospital.pcap");
    let status = Command::new("python3")
        .arg(&gen)
        .args(["--size", "2MiB", "--out"])
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "hospital_pcap.py failed: {status}");
    let csv = std::fs::read_to_string(dir.join("hospital.pcap.hosts.csv")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("ip,mac,vendor,role,name,os_profile"),
        "hosts.csv header changed"
    );
    let (mut total, mut agree) = (0usize, 0usize);
    let mut misses: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut per_vendor: BTreeMap<String, usize> = BTreeMap::new();
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        let (mac, vendor) = (cols[1], cols[2]);
        total += 1;
        *per_vendor.entry(vendor.to_string()).or_default() += 1;
        let got = lookup(parse_mac(mac).unwrap_or_else(|| panic!("bad MAC {mac}")));
        let ok = match got {
            Vendor::Registered { org, .. } => aliases(vendor)
                .iter()
                .any(|a| norm(org).contains(a.as_str())),
            _ => false,
        };
        if ok {
            agree += 1;
        } else {
            *misses
                .entry((vendor.to_string(), format!("{got:?}")))
                .or_default() += 1;
        }
    }
    let pct = 100.0 * agree as f64 / total.max(1) as f64;
    eprintln!(
        "OUI agreement: {agree}/{total} hosts = {pct:.2}% over {} vendors",
        per_vendor.len()
    );
    assert!(total > 1000, "only {total} hosts in hosts.csv");
    assert!(
        misses.is_empty(),
        "{pct:.2}% agreement; mismatches (ground truth, lookup): {misses:#?}"
    );
}
