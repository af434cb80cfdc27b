use super::*;
use proptest::prelude::*;

fn mac(s: &str) -> [u8; 6] {
    parse_mac(s).unwrap()
}

fn org_of(s: &str) -> &'static str {
    match lookup(mac(s)) {
        Vendor::Registered { org, .. } => org,
        other => panic!("{s}: expected a registered vendor, got {other:?}"),
    }
}

#[test]
fn lookup_medical_vendors_exact() {
    // Known MA-L assignments of medical-device vendors, read from ieee-data's oui.csv, map to their organisations.
    let cases = [
        ("00:09:fb:12:34:56", "Philips Patient Monitoring"),
        (
            "00:09:5c:00:00:01",
            "Philips Medical Systems - Cardiac and Monitoring Systems (CM",
        ),
        ("44:4b:5d:aa:bb:cc", "GE Healthcare"),
        ("a0:f2:17:01:02:03", "GE Medical System(China)"),
        ("58:46:e1:00:00:00", "Baxter International"),
        ("00:12:21:ff:ff:ff", "B.Braun Melsungen"),
        ("00:10:5d:01:02:03", "Draeger Medical"),
        ("f0:e5:c3:01:02:03", "Draegerwerk"),
        ("00:0f:14:10:20:30", "Mindray"),
        ("00:a0:37:10:20:30", "Mindray DS USA"),
        ("00:03:b1:00:00:01", "ICU Medical"),
        ("00:a0:9a:00:00:01", "NIHON KOHDEN AMERICA"),
    ];
    for (m, want) in cases {
        assert_eq!(org_of(m), want, "{m}");
        let Vendor::Registered { block, .. } = lookup(mac(m)) else {
            unreachable!()
        };
        assert_eq!(block.size, BlockSize::MaL, "{m}");
        assert_eq!(
            block.prefix,
            u64::from_str_radix(&m[..8].replace(':', ""), 16).unwrap()
        );
    }
}

#[test]
fn lookup_mam_longest_prefix_wins() {
    // An MA-M block (mam.csv 741AE03) beats its MA-L parent; a nibble with no MA-M entry falls back to MA-L.
    let v = lookup(mac("74:1a:e0:3f:00:01"));
    assert_eq!(
        v,
        Vendor::Registered {
            org: "Philips Personal Health Solutions",
            block: Block {
                prefix: 0x741AE03,
                size: BlockSize::MaM
            }
        }
    );
    assert_eq!(
        org_of("74:1a:e0:00:00:01"),
        "Huano International Technology"
    );
    // 741AE0F is not assigned in the snapshot: the MA-L owner, the IEEE itself, answers.
    let v = lookup(mac("74:1a:e0:f0:00:01"));
    assert_eq!(v.org(), Some("IEEE Registration Authority"));
    assert!(matches!(
        v,
        Vendor::Registered {
            block: Block {
                size: BlockSize::MaL,
                ..
            },
            ..
        }
    ));
}

#[test]
fn lookup_mas_longest_prefix_wins() {
    // An MA-S/IAB 36-bit block (001BC507B, an infusion pump maker) beats the 24-bit IEEE block it sits in.
    let v = lookup(mac("00:1b:c5:07:b1:23"));
    assert_eq!(
        v,
        Vendor::Registered {
            org: "QCORE Medical",
            block: Block {
                prefix: 0x001BC507B,
                size: BlockSize::MaS
            }
        }
    );
    assert_eq!(
        org_of("00:1b:c5:07:00:00"),
        "Siemens Industries Inc Retail & Commercial Systems"
    );
    assert_eq!(org_of("70:b3:d5:f2:f0:00"), "TELEPLATFORMS");
}

#[test]
fn lookup_locally_administered_never_looked_up() {
    // Randomised MACs (bit 0x02 of the first octet) are reported as such, even when the rest matches a registered OUI.
    for m in [
        "02:00:00:00:00:01",
        "da:a1:19:01:02:03",
        "02:09:fb:12:34:56",
        "fe:ff:ff:ff:ff:fe",
        "aa:bb:cc:dd:ee:ff",
    ] {
        assert_eq!(lookup(mac(m)), Vendor::LocallyAdministered, "{m}");
    }
    assert_eq!(lookup(mac("02:09:fb:12:34:56")).org(), None);
}

#[test]
fn lookup_multicast_never_looked_up() {
    // Group addresses (bit 0x01), broadcast included, are multicast whatever the local bit says.
    for m in [
        "01:00:5e:00:00:fb",
        "33:33:00:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "01:80:c2:00:00:0e",
        "01:00:0c:cc:cc:cc",
        "03:00:00:00:00:01",
    ] {
        assert_eq!(lookup(mac(m)), Vendor::Multicast, "{m}");
    }
}

#[test]
fn lookup_unassigned_prefix_unregistered() {
    // A universally administered prefix absent from every registry is Unregistered, not a neighbour's vendor.
    assert_eq!(lookup(mac("00:08:33:12:34:56")), Vendor::Unregistered);
    // The prefixes just below are assigned, so the binary search really is exact.
    assert!(lookup(mac("00:08:32:12:34:56")).org().is_some());
    assert_eq!(
        lookup(mac("00:08:31:12:34:56")).org(),
        Some("Cisco Systems")
    );
}

#[test]
fn table_parses_completely() {
    // Every generated line parses: the entry count equals the generator's `# entries:` header, nothing skipped.
    let s = table_stats();
    assert_eq!(s.skipped, 0);
    assert_eq!(s.declared, Some(s.total()));
    let header = TABLE
        .lines()
        .find_map(|l| l.strip_prefix("# bits24: "))
        .unwrap();
    let want: Vec<usize> = header
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(want, vec![s.mal, s.mam, s.mas]);
    // The IEEE snapshot has tens of thousands of MA-L blocks; a truncated file would not.
    assert!(s.mal > 30_000 && s.mam > 4_000 && s.mas > 9_000, "{s:?}");
}

#[test]
fn compiled_table_equals_the_text_read_at_run_time() {
    // The arrays rules/build.rs compiles from oui.tsv hold what parsing the text gives:
    // the same prefixes per length, in order, each with the same organisation.
    let t = parse(TABLE);
    assert_eq!(t.stats, table_stats());
    for (level, compiled) in [(&t.mal, &MAL), (&t.mam, &MAM), (&t.mas, &MAS)] {
        assert_eq!(level.keys.as_slice(), compiled.keys);
        assert_eq!(level.keys.len(), compiled.orgs.len());
        for (k, org) in level.keys.iter().zip(level.orgs.iter()) {
            assert_eq!(compiled.get(*k), Some(*org), "{k:x}");
        }
    }
}

#[test]
fn parse_malformed_lines_skipped_and_counted() {
    // Hand-edited or damaged lines are skipped and counted, unsorted input is sorted, and nothing panics.
    let text: &'static str =
        "# entries: 3\nABCDEF\t24\tB\nZZZZZZ\t24\tbad hex\n000001\t24\tA\n0000001\t24\twrong len\nABC\n\n1234567\t28\tM\n123456\t24\t\n";
    let t = parse(text);
    assert_eq!(t.stats.skipped, 4);
    assert_eq!((t.stats.mal, t.stats.mam, t.stats.mas), (2, 1, 0));
    assert_eq!(t.stats.declared, Some(3));
    assert_eq!(t.mal.get(0x000001), Some("A"));
    assert_eq!(t.mal.get(0xABCDEF), Some("B"));
    assert_eq!(t.mam.get(0x1234567), Some("M"));
}

#[test]
fn block_display_colon_nibbles() {
    // Blocks print as colon-separated hex with the prefix length, as the inventory and API will show them.
    let b = |prefix, size| Block { prefix, size }.to_string();
    assert_eq!(b(0x0009FB, BlockSize::MaL), "00:09:FB/24");
    assert_eq!(b(0x741AE03, BlockSize::MaM), "74:1A:E0:3/28");
    assert_eq!(b(0x001BC507B, BlockSize::MaS), "00:1B:C5:07:B/36");
}

#[test]
fn parse_mac_separators_and_garbage() {
    // MAC text in the usual notations parses; wrong lengths and non-hex are refused.
    let want = Some([0x00, 0x09, 0xfb, 0x12, 0x34, 0x56]);
    for s in [
        "00:09:fb:12:34:56",
        "00-09-FB-12-34-56",
        "0009.fb12.3456",
        "0009fb123456",
    ] {
        assert_eq!(parse_mac(s), want, "{s}");
    }
    for s in [
        "",
        "00:09:fb:12:34",
        "00:09:fb:12:34:56:78",
        "00:09:fb:12:34:5g",
        "é0:09:fb:12:34:56",
    ] {
        assert_eq!(parse_mac(s), None, "{s}");
    }
}

proptest! {
    #[test]
    fn lookup_arbitrary_mac_consistent(m in any::<[u8; 6]>()) {
        // Any address: no panic, group/local bits decide first, and a registered block really prefixes the address.
        let v = lookup(m);
        let bits = m.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        match v {
            Vendor::Multicast => prop_assert!(m[0] & 1 == 1),
            Vendor::LocallyAdministered => prop_assert!(m[0] & 3 == 2),
            Vendor::Registered { org, block } => {
                prop_assert!(m[0] & 3 == 0);
                prop_assert!(!org.is_empty());
                prop_assert_eq!(bits >> (48 - u32::from(block.size.bits())), block.prefix);
            }
            Vendor::Unregistered => prop_assert!(m[0] & 3 == 0),
        }
    }
}
