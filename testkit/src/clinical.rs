//! Clinical scenario captures: whole TCP sessions between devices (handshake, data with
//! acknowledgements, close) carrying DICOM upper-layer PDUs and HL7 over MLLP, built from
//! the PS3.8 and HL7 v2 wire formats. For policy and baseline scenario tests.

use crate::pcap::{PcapWriter, TcpConv, ACK, LINKTYPE_ETHERNET, PSH};
use std::net::Ipv4Addr;

/// A host on the scenario network.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
}

impl Host {
    pub const fn new(mac: [u8; 6], ip: [u8; 4]) -> Host {
        Host {
            mac,
            ip: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
        }
    }
    /// Its inventory device id: the lowercase MAC.
    pub fn id(self) -> String {
        self.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
    /// The same host seen through a router (its MAC replaced by the router's).
    pub fn via(self, router: Host) -> Host {
        Host {
            mac: router.mac,
            ip: self.ip,
        }
    }
}

/// A capture being written, with a clock in microseconds.
pub struct Scenario {
    pub pcap: PcapWriter,
    pub now_us: i64,
    next_port: u16,
}

impl Scenario {
    pub fn new(start_secs: i64) -> Scenario {
        Scenario {
            pcap: PcapWriter::new(LINKTYPE_ETHERNET),
            now_us: start_secs * 1_000_000,
            next_port: 40000,
        }
    }

    fn put(&mut self, frame: Vec<u8>) {
        self.now_us += 1_000;
        self.pcap.add(self.now_us, &frame);
    }

    /// Advances the clock.
    pub fn wait_secs(&mut self, s: i64) {
        self.now_us += s * 1_000_000;
    }

    /// One TCP session from `client` to `server:port`: handshake, each message (from the
    /// client when `true`) acknowledged by the other side, then a close.
    pub fn tcp(&mut self, client: Host, server: Host, port: u16, msgs: &[(bool, Vec<u8>)]) {
        let cport = self.next_port;
        self.next_port = self.next_port.wrapping_add(1).max(40000);
        let mut c = TcpConv::new((client.ip, cport), (server.ip, port), 1000, 5000);
        c.client.2 = client.mac;
        c.server.2 = server.mac;
        for f in c.handshake() {
            self.put(f);
        }
        for (from_client, m) in msgs {
            let f = c.seg(*from_client, PSH | ACK, m);
            self.put(f);
            let a = c.seg(!*from_client, ACK, b"");
            self.put(a);
        }
        for f in c.close() {
            self.put(f);
        }
    }

    pub fn write_to(self, path: &std::path::Path) -> std::io::Result<()> {
        self.pcap.write_to(path)
    }
}

// ------------------------------------------------------------------ DICOM (PS3.8 9.3)

pub const APP_CTX: &str = "1.2.840.10008.3.1.1.1";
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
pub const CT_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const MOVE_STUDY: &str = "1.2.840.10008.5.1.4.1.2.2.2";
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

fn ae(s: &str) -> [u8; 16] {
    let mut a = [b' '; 16];
    for (d, b) in a.iter_mut().zip(s.bytes()) {
        *d = b;
    }
    a
}

fn item(ty: u8, v: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(v.len() as u16).to_be_bytes());
    b.extend_from_slice(v);
    b
}

fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![ty, 0];
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(body);
    b
}

fn associate(ty: u8, called: &str, calling: &str, items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![0, 1, 0, 0];
    body.extend_from_slice(&ae(called));
    body.extend_from_slice(&ae(calling));
    body.extend_from_slice(&[0; 32]);
    body.extend(item(0x10, APP_CTX.as_bytes()));
    for i in items {
        body.extend_from_slice(i);
    }
    pdu(ty, &body)
}

fn user_info(extra: &[Vec<u8>]) -> Vec<u8> {
    let mut v = item(0x51, &16384u32.to_be_bytes());
    v.extend(item(0x52, b"1.2.3.4.5"));
    v.extend(item(0x55, b"TESTKIT_1"));
    for e in extra {
        v.extend_from_slice(e);
    }
    item(0x50, &v)
}

/// The user identity [`associate_rq`] sends (tests check it never leaves the process).
pub const USER_NAME: &str = "opuser7";
pub const PASSCODE: &str = "pw-9f3kQ";

/// A-ASSOCIATE-RQ proposing `sop_classes` (presentation context ids 1, 3, 5...); with
/// `passcode`, a user identity of type 2 (username and passcode, PS3.7 D.3.3.7).
pub fn associate_rq(called: &str, calling: &str, sop_classes: &[&str], passcode: bool) -> Vec<u8> {
    let mut items = Vec::new();
    for (i, s) in sop_classes.iter().enumerate() {
        let mut v = vec![(2 * i + 1) as u8, 0, 0, 0];
        v.extend(item(0x30, s.as_bytes()));
        v.extend(item(0x40, IMPLICIT_LE.as_bytes()));
        items.push(item(0x20, &v));
    }
    let mut extra = Vec::new();
    if passcode {
        // type 2, no response requested, user USER_NAME, passcode PASSCODE.
        let mut u = vec![2, 0];
        u.extend_from_slice(&(USER_NAME.len() as u16).to_be_bytes());
        u.extend_from_slice(USER_NAME.as_bytes());
        u.extend_from_slice(&(PASSCODE.len() as u16).to_be_bytes());
        u.extend_from_slice(PASSCODE.as_bytes());
        extra.push(item(0x58, &u));
    }
    items.push(user_info(&extra));
    associate(1, called, calling, &items)
}

/// A-ASSOCIATE-AC accepting `n` presentation contexts (ids 1, 3, 5...).
pub fn associate_ac(called: &str, calling: &str, n: usize) -> Vec<u8> {
    let mut items = Vec::new();
    for i in 0..n {
        let mut v = vec![(2 * i + 1) as u8, 0, 0, 0];
        v.extend(item(0x40, IMPLICIT_LE.as_bytes()));
        items.push(item(0x21, &v));
    }
    items.push(user_info(&[]));
    associate(2, called, calling, &items)
}

/// A-ASSOCIATE-RJ: rejected-permanent by the service user, reason 3 (calling AE title
/// not recognized).
pub fn associate_rj_calling_ae() -> Vec<u8> {
    pdu(3, &[0, 1, 1, 3])
}

/// A-RELEASE-RQ and A-RELEASE-RP.
pub fn release_rq() -> Vec<u8> {
    pdu(5, &[0; 4])
}
pub fn release_rp() -> Vec<u8> {
    pdu(6, &[0; 4])
}

/// An implicit VR LE element.
fn el(group: u16, elem: u16, v: &[u8]) -> Vec<u8> {
    let mut b = group.to_le_bytes().to_vec();
    b.extend_from_slice(&elem.to_le_bytes());
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    b.extend_from_slice(v);
    b
}

fn us(v: u16) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn padded(s: &str, pad: u8) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    if b.len() % 2 == 1 {
        b.push(pad);
    }
    b
}

/// A P-DATA-TF with one command PDV (last fragment) on presentation context `pc`.
fn command_pdu(pc: u8, elements: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = elements.concat();
    let mut cmd = el(0, 0, &(body.len() as u32).to_le_bytes());
    cmd.extend(body);
    let mut pdv = ((cmd.len() + 2) as u32).to_be_bytes().to_vec();
    pdv.push(pc);
    pdv.push(0x03); // command, last fragment
    pdv.extend(cmd);
    pdu(4, &pdv)
}

/// C-ECHO-RQ and its success response (presentation context 1).
pub fn c_echo_rq(id: u16) -> Vec<u8> {
    command_pdu(
        1,
        &[
            el(0, 0x0002, &padded(VERIFICATION, 0)),
            el(0, 0x0100, &us(0x0030)),
            el(0, 0x0110, &us(id)),
            el(0, 0x0800, &us(0x0101)),
        ],
    )
}
pub fn c_echo_rsp(id: u16) -> Vec<u8> {
    command_pdu(
        1,
        &[
            el(0, 0x0002, &padded(VERIFICATION, 0)),
            el(0, 0x0100, &us(0x8030)),
            el(0, 0x0120, &us(id)),
            el(0, 0x0800, &us(0x0101)),
            el(0, 0x0900, &us(0)),
        ],
    )
}

/// C-MOVE-RQ to destination AE `dest` on presentation context `pc` (no identifier
/// data set follows, which is enough for the command's facts).
pub fn c_move_rq(pc: u8, id: u16, dest: &str) -> Vec<u8> {
    command_pdu(
        pc,
        &[
            el(0, 0x0002, &padded(MOVE_STUDY, 0)),
            el(0, 0x0100, &us(0x0021)),
            el(0, 0x0110, &us(id)),
            el(0, 0x0600, &padded(dest, b' ')),
            el(0, 0x0700, &us(0)),
            el(0, 0x0800, &us(0x0101)),
        ],
    )
}

/// C-MOVE-RSP (success, no sub-operations left).
pub fn c_move_rsp(pc: u8, id: u16) -> Vec<u8> {
    command_pdu(
        pc,
        &[
            el(0, 0x0002, &padded(MOVE_STUDY, 0)),
            el(0, 0x0100, &us(0x8021)),
            el(0, 0x0120, &us(id)),
            el(0, 0x0800, &us(0x0101)),
            el(0, 0x0900, &us(0)),
        ],
    )
}

// ------------------------------------------------------------------ HL7 v2 over MLLP

/// An HL7 v2.5 message wrapped in MLLP (0x0b ... 0x1c 0x0d); with `pid`, a PID segment
/// with a synthetic patient (never real data).
pub fn hl7(
    sending_app: &str,
    receiving_app: &str,
    msg_type: &str,
    control_id: &str,
    pid: bool,
) -> Vec<u8> {
    let mut m = format!(
        "MSH|^~\\&|{sending_app}|WARD|{receiving_app}|HOSP|20250303080000||{msg_type}|{control_id}|P|2.5\r"
    );
    if pid {
        m.push_str("PID|1||TEST123^^^HOSP||DOE^JANE||19700101|F\r");
    }
    m.push_str("OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r");
    let mut b = vec![0x0b];
    b.extend_from_slice(m.as_bytes());
    b.extend_from_slice(&[0x1c, 0x0d]);
    b
}

/// An MLLP-wrapped ACK (AA) for `control_id`.
pub fn hl7_ack(control_id: &str) -> Vec<u8> {
    let m = format!(
        "MSH|^~\\&|RCV|HOSP|SND|WARD|20250303080001||ACK|A{control_id}|P|2.5\rMSA|AA|{control_id}\r"
    );
    let mut b = vec![0x0b];
    b.extend_from_slice(m.as_bytes());
    b.extend_from_slice(&[0x1c, 0x0d]);
    b
}
