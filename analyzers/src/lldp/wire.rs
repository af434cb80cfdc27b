//! LLDPDU parsing (IEEE 802.1AB-2016 §8): a sequence of TLVs, each a 16-bit header (7-bit
//! type, 9-bit length) and its value, ending with the End of LLDPDU TLV (type 0). Zero-copy:
//! the result borrows the frame.

/// TLV types (802.1AB-2016 Table 8-1).
pub const TLV_END: u8 = 0;
pub const TLV_CHASSIS_ID: u8 = 1;
pub const TLV_PORT_ID: u8 = 2;
pub const TLV_TTL: u8 = 3;
pub const TLV_PORT_DESCRIPTION: u8 = 4;
pub const TLV_SYSTEM_NAME: u8 = 5;
pub const TLV_SYSTEM_DESCRIPTION: u8 = 6;
pub const TLV_SYSTEM_CAPABILITIES: u8 = 7;
pub const TLV_MANAGEMENT_ADDRESS: u8 = 8;
pub const TLV_ORG_SPECIFIC: u8 = 127;

/// TIA (LLDP-MED) organizationally unique identifier.
pub const OUI_TIA: [u8; 3] = [0x00, 0x12, 0xbb];
/// LLDP-MED subtypes (ANSI/TIA-1057 §10.2): capabilities, then inventory 5..=11.
pub const MED_CAPABILITIES: u8 = 1;
pub const MED_INVENTORY_FIRST: u8 = 5;
pub const MED_INVENTORY_LAST: u8 = 11;

/// One TLV as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub ty: u8,
    pub value: &'a [u8],
}

/// The TLVs of one LLDPDU, read in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lldpdu<'a> {
    /// (subtype, id bytes) of the Chassis ID TLV.
    pub chassis: Option<(u8, &'a [u8])>,
    pub port: Option<(u8, &'a [u8])>,
    pub ttl: Option<u16>,
    pub port_description: Option<&'a [u8]>,
    pub system_name: Option<&'a [u8]>,
    pub system_description: Option<&'a [u8]>,
    /// (system capabilities, enabled capabilities) bit maps.
    pub capabilities: Option<(u16, u16)>,
    /// Management address TLV values (address string length, subtype, address, ...),
    /// at most `max_items` of them.
    pub management: Vec<&'a [u8]>,
    /// LLDP-MED device class (capabilities TLV, device type byte).
    pub med_device_class: Option<u8>,
    /// LLDP-MED inventory strings by subtype 5..=11 (index = subtype - 5).
    pub med_inventory: [Option<&'a [u8]>; 7],
    /// A TLV's length ran past the frame (the TLVs before it are kept).
    pub truncated: bool,
    /// Chassis ID, Port ID and TTL were not the first three TLVs, or were malformed.
    pub missing_mandatory: bool,
    /// More management addresses than `max_items` (the rest skipped).
    pub capped: bool,
}

/// Reads TLVs until End, the end of the buffer, or a TLV that overruns it.
pub struct TlvIter<'a> {
    rest: &'a [u8],
    /// Set when a TLV header or value ran past the buffer.
    pub overrun: bool,
}

impl<'a> TlvIter<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        TlvIter {
            rest: b,
            overrun: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(h) = self.rest.get(..2) else {
            self.overrun = true;
            self.rest = &[];
            return None;
        };
        let ty = h[0] >> 1;
        let len = (usize::from(h[0] & 1) << 8) | usize::from(h[1]);
        let Some(value) = self.rest.get(2..2 + len) else {
            self.overrun = true;
            self.rest = &[];
            return None;
        };
        self.rest = self.rest.get(2 + len..).unwrap_or_default();
        if ty == TLV_END {
            self.rest = &[];
            return None;
        }
        Some(Tlv { ty, value })
    }
}

fn u16be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses the LLDPDU in `b` (the Ethernet payload after ethertype 0x88cc). Never fails:
/// what could be read is returned, with `truncated` / `missing_mandatory` set.
pub fn parse_lldpdu(b: &[u8], max_items: usize) -> Lldpdu<'_> {
    let mut d = Lldpdu::default();
    let mut it = TlvIter::new(b);
    for (index, tlv) in it.by_ref().enumerate() {
        let v = tlv.value;
        // 802.1AB §8.2: Chassis ID, Port ID and TTL come first, in that order.
        let expected = match index {
            0 => Some(TLV_CHASSIS_ID),
            1 => Some(TLV_PORT_ID),
            2 => Some(TLV_TTL),
            _ => None,
        };
        if expected.is_some_and(|e| e != tlv.ty) {
            d.missing_mandatory = true;
        }
        match tlv.ty {
            TLV_CHASSIS_ID | TLV_PORT_ID => {
                let Some((&sub, id)) = v.split_first() else {
                    d.missing_mandatory = true;
                    continue;
                };
                let slot = if tlv.ty == TLV_CHASSIS_ID {
                    &mut d.chassis
                } else {
                    &mut d.port
                };
                if slot.is_none() {
                    *slot = Some((sub, id));
                }
            }
            TLV_TTL if d.ttl.is_none() => d.ttl = u16be(v, 0),
            TLV_PORT_DESCRIPTION => {
                d.port_description.get_or_insert(v);
            }
            TLV_SYSTEM_NAME => {
                d.system_name.get_or_insert(v);
            }
            TLV_SYSTEM_DESCRIPTION => {
                d.system_description.get_or_insert(v);
            }
            TLV_SYSTEM_CAPABILITIES => {
                if let (Some(c), Some(e)) = (u16be(v, 0), u16be(v, 2)) {
                    d.capabilities.get_or_insert((c, e));
                }
            }
            TLV_MANAGEMENT_ADDRESS => {
                if d.management.len() < max_items {
                    d.management.push(v);
                } else {
                    d.capped = true;
                }
            }
            TLV_ORG_SPECIFIC if v.get(..3) == Some(&OUI_TIA[..]) => {
                let sub = v.get(3).copied().unwrap_or(0);
                let info = v.get(4..).unwrap_or_default();
                if sub == MED_CAPABILITIES {
                    if let Some(&class) = info.get(2) {
                        d.med_device_class.get_or_insert(class);
                    }
                } else if (MED_INVENTORY_FIRST..=MED_INVENTORY_LAST).contains(&sub) {
                    let i = usize::from(sub - MED_INVENTORY_FIRST);
                    if let Some(slot) = d.med_inventory.get_mut(i) {
                        slot.get_or_insert(info);
                    }
                }
            }
            _ => {}
        }
    }
    d.truncated = it.overrun;
    if d.chassis.is_none() || d.port.is_none() || d.ttl.is_none() {
        d.missing_mandatory = true;
    }
    d
}

/// A management address TLV value: (address subtype, address bytes).
pub fn parse_management_address(v: &[u8]) -> Option<(u8, &[u8])> {
    // Address string length counts the subtype byte (802.1AB §8.5.9.2).
    let len = usize::from(*v.first()?);
    if len < 1 {
        return None;
    }
    let sub = *v.get(1)?;
    let addr = v.get(2..1 + len)?;
    Some((sub, addr))
}
