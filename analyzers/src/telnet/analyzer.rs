//! The per-connection telnet state machine: the command layer per direction, the server's
//! current line (its last bytes), and the client's answers to prompts.

use super::event::*;
use super::wire::{self, IacState, Prompt, Token};
use super::TelnetConfig;
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};

/// The telnet analyzer of one TCP connection.
pub struct TelnetAnalyzer {
    max_line: usize,
    iac: [IacState; 2],
    /// The end of the server's current line.
    line: Vec<u8>,
    ev: TelnetEvent,
    /// The event was written; nothing more is read.
    done: bool,
    out: Vec<Out>,
}

enum Out {
    Event(Box<TelnetEvent>),
    Anomaly(&'static str, Direction),
}

impl TelnetAnalyzer {
    pub fn new(cfg: &TelnetConfig) -> Self {
        TelnetAnalyzer {
            max_line: cfg.max_line_bytes.clamp(16, 4096),
            iac: [IacState::Data; 2],
            line: Vec::new(),
            ev: TelnetEvent::default(),
            done: false,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, dir: Direction, data: &[u8]) {
        for &b in data {
            if self.done {
                return;
            }
            let (s, tok) = wire::step(self.iac[dir.index()], b);
            self.iac[dir.index()] = s;
            match tok {
                Token::Negotiation => self.ev.negotiation = true,
                Token::Command => {}
                Token::Data(c) => match dir {
                    Direction::ToClient => self.server_byte(c),
                    Direction::ToServer => self.client_byte(),
                },
            }
        }
    }

    fn server_byte(&mut self, c: u8) {
        match c {
            b'\r' | b'\n' => self.line.clear(),
            // NUL (after CR), BEL and other controls are not line text.
            0..=0x1f | 0x7f => {}
            _ => {
                if self.line.len() >= self.max_line {
                    self.line.remove(0);
                }
                self.line.push(c);
            }
        }
    }

    /// The client sent a data byte: it answers the server's prompt, if its line is one.
    fn client_byte(&mut self) {
        match wire::prompt(&self.line) {
            Some(Prompt::Login) => self.ev.login_prompt = true,
            Some(Prompt::Password) => {
                self.ev.password_prompt = true;
                self.ev.cleartext_credentials = true;
                self.finish();
            }
            None => {}
        }
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.line = Vec::new();
        let ev = std::mem::take(&mut self.ev);
        self.out.push(Out::Event(Box::new(ev)));
    }

    fn report(&mut self, cx: &mut Cx<'_>) {
        for o in std::mem::take(&mut self.out) {
            match o {
                Out::Event(ev) => cx.emit(EventKind::Telnet(ev)),
                Out::Anomaly(code, dir) => cx.anomaly(NAME, code, Some(dir)),
            }
        }
    }
}

impl StreamAnalyzer for TelnetAnalyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        self.feed(dir, data);
        if !self.out.is_empty() {
            self.report(cx);
        }
        Progress::Done
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        if self.done {
            return;
        }
        self.iac[dir.index()] = IacState::Data;
        if dir == Direction::ToClient {
            self.line.clear();
        }
        self.out.push(Out::Anomaly(GAP, dir));
        self.report(cx);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        if !self.done {
            // A prompt the client never answered still says what the server asks for.
            match wire::prompt(&self.line) {
                Some(Prompt::Login) => self.ev.login_prompt = true,
                Some(Prompt::Password) => self.ev.password_prompt = true,
                None => {}
            }
            self.finish();
        }
        self.report(cx);
    }
}
