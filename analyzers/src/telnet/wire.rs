//! Pure telnet parsing: the IAC command layer as a byte-at-a-time state transition (so a
//! command split over deliveries decodes the same), prompt recognition, and the probe.
//!
//! RFC 854 (NVT, IAC commands: SE 240, SB 250, WILL 251, WONT 252, DO 253, DONT 254,
//! IAC 255; IAC IAC is a data byte 255), RFC 855 (option subnegotiation SB ... IAC SE).

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;

/// Where the command layer is between two bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IacState {
    #[default]
    Data,
    /// After IAC.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option byte comes next.
    Option,
    /// Inside a subnegotiation.
    Sub,
    /// IAC inside a subnegotiation.
    SubIac,
}

/// What one byte was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A data byte of the stream (IAC IAC gives 255).
    Data(u8),
    /// The option byte of WILL/WONT/DO/DONT, or the end of a subnegotiation: option
    /// negotiation happened.
    Negotiation,
    /// Part of a command.
    Command,
}

/// One byte through the command layer.
pub fn step(s: IacState, b: u8) -> (IacState, Token) {
    match (s, b) {
        (IacState::Data, IAC) => (IacState::Iac, Token::Command),
        (IacState::Data, _) => (IacState::Data, Token::Data(b)),
        (IacState::Iac, IAC) => (IacState::Data, Token::Data(IAC)),
        (IacState::Iac, WILL..=DONT) => (IacState::Option, Token::Command),
        (IacState::Iac, SB) => (IacState::Sub, Token::Command),
        // Two-byte commands (NOP, GA, AYT, ...) and SE outside a subnegotiation.
        (IacState::Iac, _) => (IacState::Data, Token::Command),
        (IacState::Option, _) => (IacState::Data, Token::Negotiation),
        (IacState::Sub, IAC) => (IacState::SubIac, Token::Command),
        (IacState::Sub, _) => (IacState::Sub, Token::Command),
        (IacState::SubIac, SE) => (IacState::Data, Token::Negotiation),
        // IAC IAC inside SB is a data byte of the subnegotiation; anything else is
        // malformed and read as staying inside it.
        (IacState::SubIac, _) => (IacState::Sub, Token::Command),
    }
}

/// A prompt at the end of a server line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    Login,
    Password,
}

/// Whether `line` (a server line so far, without its line ending) ends with a login or
/// password prompt: `login:`, `username:`, `user name:` or `password:` (any case), spaces
/// after it allowed.
pub fn prompt(line: &[u8]) -> Option<Prompt> {
    let end = line
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | 0))
        .map_or(0, |i| i + 1);
    let l = line.get(..end).unwrap_or_default();
    let ends = |p: &[u8]| {
        l.len() >= p.len()
            && l.get(l.len() - p.len()..)
                .is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    if ends(b"password:") || ends(b"passcode:") {
        Some(Prompt::Password)
    } else if ends(b"login:") || ends(b"username:") || ends(b"user name:") {
        Some(Prompt::Login)
    } else {
        None
    }
}

/// Text bytes a telnet server sends before or instead of negotiation.
fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || matches!(b, b'\r' | b'\n' | b'\t' | 0 | 7)
}

/// Server text longer than this without a prompt is not taken for telnet.
pub const PROBE_TEXT_BYTES: usize = 512;

/// The probe on the first bytes of a direction: an IAC option command (either side), or
/// (server side) text ending in a login or password prompt. `None`: not decided yet.
pub fn probe(to_client: bool, b: &[u8]) -> Option<bool> {
    match b.first() {
        None => None,
        Some(&IAC) => b.get(1).map(|c| (SB..=DONT).contains(c)),
        Some(_) if !to_client => Some(false),
        Some(_) => {
            for (i, &c) in b.iter().enumerate() {
                if c == IAC {
                    return b.get(i + 1).map(|c| (SB..=DONT).contains(c));
                }
                if !is_text(c) {
                    return Some(false);
                }
            }
            let line_start = b
                .iter()
                .rposition(|c| *c == b'\n' || *c == b'\r')
                .map_or(0, |i| i + 1);
            if prompt(b.get(line_start..).unwrap_or_default()).is_some() {
                Some(true)
            } else if b.len() < PROBE_TEXT_BYTES {
                None
            } else {
                Some(false)
            }
        }
    }
}
