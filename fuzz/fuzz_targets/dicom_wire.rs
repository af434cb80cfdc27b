//! Fuzzes the DICOM wire entry points directly: A-ASSOCIATE-RQ/AC bodies, command sets,
//! the data-set walker (whole and byte-split), and the PDU plausibility check.
#![no_main]

use analyzers::dicom::dataset::{DatasetWalker, Encoding};
use analyzers::dicom::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    match sel % 4 {
        0 => {
            let _ = wire::parse_associate(body, sel & 0x10 != 0, 16);
        }
        1 => {
            let c = wire::parse_command_set(body);
            let _ = c.command_field.map(wire::command_name);
            let _ = c.status.map(wire::status_class);
        }
        2 => {
            let enc = match (sel >> 2) % 3 {
                0 => Encoding::ImplicitLe,
                1 => Encoding::ExplicitLe,
                _ => Encoding::Guess,
            };
            let mut one = DatasetWalker::new(enc, 1 << 16, 64);
            one.feed(body);
            let mut split = DatasetWalker::new(enc, 1 << 16, 64);
            for c in body.chunks(usize::from(sel >> 4) + 1) {
                split.feed(c);
            }
            assert_eq!(
                one.summary(),
                split.summary(),
                "split feeding changed the walk"
            );
        }
        _ => {
            for i in 0..body.len() {
                let _ = wire::plausible_pdu_at(&body[i..], 1 << 20);
            }
        }
    }
});
