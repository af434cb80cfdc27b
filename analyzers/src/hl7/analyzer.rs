//! The per-connection HL7 state machine: MLLP framing per direction (or un-framed
//! segment streaming), message assembly from segments, ACK correlation across directions.

use super::event::*;
use super::wire::{self, Delimiters, FrameScan};
use super::Hl7Config;
use hmac::{Hmac, Mac};
use model::{Cx, Direction, EventKind, Progress, StreamAnalyzer};
use sha2::Sha256;
use std::collections::VecDeque;

type HmacSha256 = Hmac<Sha256>;

/// Bytes held while deciding whether a direction is MLLP or un-framed.
const DECIDE_BYTES: usize = 16;

/// The limits of one analyzer, copied from the configuration.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_message_bytes: usize,
    max_pending_acks: usize,
    ack_timeout_micros: i64,
    max_field_bytes: usize,
    max_segments: usize,
    max_device_evidence: usize,
    accept_unframed: bool,
}

/// What the parser hands to the correlation step, in stream order.
enum Item {
    Message(Box<Hl7Event>),
    Commit(MllpCommit),
    /// An anomaly of the parsed direction, kept in stream order with the messages.
    Anomaly(&'static str),
}

/// Per-call context for message assembly.
struct Ctx<'a> {
    lim: &'a Limits,
    hmac: Option<&'a HmacSha256>,
    dir: Direction,
    framing: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Not yet known whether this direction is MLLP or un-framed.
    Undecided,
    /// Looking for a start block.
    Hunt,
    /// Inside a frame.
    Frame,
    /// Discarding the rest of an oversized frame.
    Skip,
    /// Un-framed HL7: segments streamed as they complete.
    Unframed,
}

struct DirState {
    mode: Mode,
    /// Partial frame content (MLLP), partial segment (un-framed) or undecided bytes.
    buf: Vec<u8>,
    /// The last byte of the previous chunk was an end block; its CR is due.
    pending_fs: bool,
    /// A run of skipped bytes already raised `bytes_between_frames`.
    garbage: bool,
    /// After a gap: skip to the next start block without anomalies.
    quiet: bool,
    /// Un-framed: dropping an oversized segment until its terminator.
    skip_segment: bool,
    /// Un-framed: message assembly carried across chunks.
    walker: Walker,
}

impl DirState {
    fn new() -> Self {
        DirState {
            mode: Mode::Undecided,
            buf: Vec::new(),
            pending_fs: false,
            garbage: false,
            quiet: false,
            skip_segment: false,
            walker: Walker::default(),
        }
    }

    /// Bytes skipped outside frames: anything but filler raises one anomaly per run.
    fn note_skipped(&mut self, items: &mut Vec<Item>, skipped: &[u8]) {
        if self.quiet || self.garbage {
            return;
        }
        if skipped.iter().any(|b| !wire::is_filler(*b)) {
            self.garbage = true;
            items.push(Item::Anomaly(BYTES_BETWEEN_FRAMES));
        }
    }
}

/// A message waiting for its acknowledgement.
struct Pending {
    ev: Box<Hl7Event>,
}

/// The HL7 analyzer of one TCP connection.
pub struct Hl7Analyzer {
    lim: Limits,
    hmac: Option<HmacSha256>,
    dirs: [DirState; 2],
    pending: VecDeque<Pending>,
    items: Vec<Item>,
    closed: bool,
}

impl Hl7Analyzer {
    pub fn new(cfg: &Hl7Config) -> Self {
        let hmac = cfg
            .patient_id_hmac_key
            .as_ref()
            .filter(|k| !k.0.is_empty())
            .and_then(|k| HmacSha256::new_from_slice(k.0.as_bytes()).ok());
        Hl7Analyzer {
            lim: Limits {
                max_message_bytes: cfg.max_message_bytes.max(1),
                max_pending_acks: cfg.max_pending_acks,
                ack_timeout_micros: i64::try_from(cfg.ack_timeout_secs)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1_000_000),
                max_field_bytes: cfg.max_field_bytes,
                max_segments: cfg.max_segments,
                max_device_evidence: cfg.max_device_evidence,
                accept_unframed: cfg.accept_unframed,
            },
            hmac,
            dirs: [DirState::new(), DirState::new()],
            pending: VecDeque::new(),
            items: Vec::new(),
            closed: false,
        }
    }

    /// Parses `data` of direction `dir`; completed messages land in `self.items`.
    fn feed(&mut self, dir: Direction, data: &[u8]) -> Progress {
        let Hl7Analyzer {
            lim,
            hmac,
            dirs,
            items,
            ..
        } = self;
        let d = &mut dirs[dir.index()];
        let mut data = data;
        if d.mode == Mode::Undecided {
            // Filler before the first real byte means nothing in either framing: drop it, so
            // the decision (and what follows) never depends on where deliveries were cut.
            if d.buf.is_empty() {
                let first = data.iter().position(|b| !wire::is_filler(*b));
                data = first.and_then(|i| data.get(i..)).unwrap_or_default();
                if data.is_empty() {
                    return Progress::Done;
                }
            }
            let decided = if d.buf.is_empty() { decide(data) } else { None };
            match decided {
                // Fast path: decided on this chunk alone.
                Some(m) => d.mode = m,
                None => {
                    let room = DECIDE_BYTES.saturating_sub(d.buf.len()).min(data.len());
                    d.buf
                        .extend_from_slice(data.get(..room).unwrap_or_default());
                    let held = std::mem::take(&mut d.buf);
                    let Some(m) = decide(&held) else {
                        d.buf = held;
                        return Progress::Done;
                    };
                    d.mode = m;
                    if m == Mode::Unframed && !lim.accept_unframed {
                        return Progress::Abandon("un-framed HL7 is disabled");
                    }
                    let ctx = Ctx {
                        lim,
                        hmac: hmac.as_ref(),
                        dir,
                        framing: framing_of(m),
                    };
                    // Replay the held bytes, then whatever of `data` did not fit in them.
                    process(d, &ctx, &held, items);
                    process(d, &ctx, data.get(room..).unwrap_or_default(), items);
                    return Progress::Done;
                }
            }
            if d.mode == Mode::Unframed && !lim.accept_unframed {
                return Progress::Abandon("un-framed HL7 is disabled");
            }
        }
        let ctx = Ctx {
            lim,
            hmac: hmac.as_ref(),
            dir,
            framing: framing_of(d.mode),
        };
        process(d, &ctx, data, items);
        Progress::Done
    }

    /// Correlates and emits what the parser completed.
    fn settle(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        // Taken out for the loop and put back: its allocation is reused by every call.
        let mut items = std::mem::take(&mut self.items);
        for item in items.drain(..) {
            match item {
                Item::Commit(c) => {
                    let other = dir.reverse();
                    if let Some(p) = self
                        .pending
                        .iter_mut()
                        .find(|p| p.ev.direction == other && p.ev.mllp_commit.is_none())
                    {
                        p.ev.mllp_commit = Some(c);
                    }
                }
                Item::Message(ev) => self.on_message(cx, dir, ev),
                Item::Anomaly(code) => cx.anomaly(NAME, code, Some(dir)),
            }
        }
        self.items = items;
    }

    fn on_message(&mut self, cx: &mut Cx<'_>, dir: Direction, mut ev: Box<Hl7Event>) {
        ev.message_time = cx.ts;
        if let Some(acked) = ev.ack_control_id() {
            let other = dir.reverse();
            let pos = self
                .pending
                .iter()
                .position(|p| p.ev.direction == other && p.ev.control_id() == Some(acked));
            match pos.and_then(|i| self.pending.remove(i)) {
                Some(mut p) => {
                    p.ev.acknowledged = Some(true);
                    p.ev.set(Hl7Text::AckCode, ev.ack_code());
                    p.ev.ack_latency_ms = Some(cx.ts.millis_since(p.ev.message_time));
                    cx.emit(EventKind::Hl7(p.ev));
                }
                None => cx.anomaly(NAME, UNMATCHED_ACK, Some(dir)),
            }
            cx.emit(EventKind::Hl7(ev));
        } else if ev.control_id().is_none() {
            cx.anomaly(NAME, MISSING_CONTROL_ID, Some(dir));
            cx.emit(EventKind::Hl7(ev));
        } else if self.lim.max_pending_acks == 0 {
            cx.emit(EventKind::Hl7(ev));
        } else {
            if self.pending.len() >= self.lim.max_pending_acks {
                cx.anomaly(NAME, TOO_MANY_PENDING_ACKS, Some(dir));
                if let Some(mut old) = self.pending.pop_front() {
                    old.ev.acknowledged = Some(false);
                    cx.emit(EventKind::Hl7(old.ev));
                }
            }
            self.pending.push_back(Pending { ev });
        }
    }

    /// Reports messages whose acknowledgement is overdue (capture time).
    fn expire(&mut self, cx: &mut Cx<'_>) {
        if self.lim.ack_timeout_micros <= 0 {
            return;
        }
        while let Some(p) = self.pending.front() {
            if cx.ts.0.saturating_sub(p.ev.message_time.0) <= self.lim.ack_timeout_micros {
                break;
            }
            if let Some(mut p) = self.pending.pop_front() {
                p.ev.acknowledged = Some(false);
                cx.emit(EventKind::Hl7(p.ev));
            }
        }
    }

    /// Ends a direction: an open frame or un-framed message is reported as it is.
    fn flush(&mut self, dir: Direction) {
        let Hl7Analyzer {
            lim,
            hmac,
            dirs,
            items,
            ..
        } = self;
        let d = &mut dirs[dir.index()];
        if d.mode == Mode::Undecided && !d.buf.is_empty() {
            let held = std::mem::take(&mut d.buf);
            d.mode = decide(&held).unwrap_or(Mode::Hunt);
            if d.mode == Mode::Unframed && !lim.accept_unframed {
                d.mode = Mode::Hunt;
                return;
            }
            let ctx = Ctx {
                lim,
                hmac: hmac.as_ref(),
                dir,
                framing: framing_of(d.mode),
            };
            process(d, &ctx, &held, items);
        }
        let ctx = Ctx {
            lim,
            hmac: hmac.as_ref(),
            dir,
            framing: framing_of(d.mode),
        };
        match d.mode {
            Mode::Frame => {
                let body = std::mem::take(&mut d.buf);
                if d.pending_fs {
                    // The end block came, only its CR is missing.
                    items.push(Item::Anomaly(END_BLOCK_WITHOUT_CR));
                    finish_frame(&ctx, &mut d.walker, &body, false, items);
                } else {
                    items.push(Item::Anomaly(UNTERMINATED_FRAME));
                    finish_frame(&ctx, &mut d.walker, &body, true, items);
                }
                d.pending_fs = false;
                d.mode = Mode::Hunt;
            }
            Mode::Unframed => {
                let rest = std::mem::take(&mut d.buf);
                if !d.skip_segment {
                    if let Some(seg) = wire::segments(&rest).next() {
                        d.walker.segment(&ctx, seg.bytes, rest.len(), items);
                    }
                }
                d.skip_segment = false;
                d.walker.end(&ctx, false, items);
            }
            Mode::Undecided | Mode::Hunt | Mode::Skip => {}
        }
    }
}

fn framing_of(m: Mode) -> &'static str {
    if m == Mode::Unframed {
        "unframed"
    } else {
        "mllp"
    }
}

/// Un-framed when the bytes begin like a header segment, MLLP (hunting for a start block)
/// otherwise; `None` until that can be told. It looks only at the first ten bytes, so the
/// answer never depends on how the stream was cut into deliveries.
fn decide(b: &[u8]) -> Option<Mode> {
    if b.is_empty() {
        return None;
    }
    match wire::header_like(b) {
        Some(true) => Some(Mode::Unframed),
        Some(false) => Some(Mode::Hunt),
        None if b.len() >= DECIDE_BYTES => Some(Mode::Hunt),
        None => None,
    }
}

/// The body of a finished frame: `part` alone when nothing is buffered (zero copy),
/// else the buffer with `part` appended, cut at `max`. Returns whether it was cut.
fn frame_body<'b>(buf: &'b mut Vec<u8>, part: &'b [u8], max: usize) -> (&'b [u8], bool) {
    if buf.is_empty() {
        if part.len() <= max {
            (part, false)
        } else {
            (part.get(..max).unwrap_or_default(), true)
        }
    } else {
        let room = max.saturating_sub(buf.len());
        let over = part.len() > room;
        buf.extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        (buf.as_slice(), over)
    }
}

/// Runs the framing state machine of one direction over `data`.
fn process(d: &mut DirState, ctx: &Ctx<'_>, data: &[u8], items: &mut Vec<Item>) {
    if d.mode == Mode::Unframed {
        process_unframed(d, ctx, data, items);
        return;
    }
    let max = ctx.lim.max_message_bytes;
    let mut i = 0;
    while let Some(rest) = data.get(i..).filter(|r| !r.is_empty()) {
        match d.mode {
            Mode::Undecided | Mode::Hunt => match wire::find_start_block(rest) {
                Some(k) => {
                    d.note_skipped(items, rest.get(..k).unwrap_or_default());
                    i += k + 1;
                    d.mode = Mode::Frame;
                    d.buf.clear();
                    d.garbage = false;
                    d.quiet = false;
                }
                None => {
                    d.note_skipped(items, rest);
                    i = data.len();
                }
            },
            Mode::Frame if d.pending_fs => {
                d.pending_fs = false;
                if rest.first() == Some(&wire::CR) {
                    i += 1;
                } else {
                    items.push(Item::Anomaly(END_BLOCK_WITHOUT_CR));
                }
                let body = std::mem::take(&mut d.buf);
                finish_frame(ctx, &mut d.walker, &body, false, items);
                d.buf = body;
                d.buf.clear();
                d.mode = Mode::Hunt;
            }
            Mode::Frame => match wire::scan_frame(rest) {
                FrameScan::End(k) => {
                    let part = rest.get(..k).unwrap_or_default();
                    let after = rest.get(k + 1).copied();
                    let (body, over) = frame_body(&mut d.buf, part, max);
                    if over {
                        items.push(Item::Anomaly(MESSAGE_TOO_LARGE));
                        finish_frame(ctx, &mut d.walker, body, true, items);
                        d.buf.clear();
                        d.mode = Mode::Hunt;
                        i += k + 1;
                        continue;
                    }
                    match after {
                        None => {
                            // The CR is in the next chunk: keep the body until then.
                            if d.buf.is_empty() {
                                d.buf.extend_from_slice(part);
                            }
                            d.pending_fs = true;
                            i = data.len();
                        }
                        Some(next) => {
                            if next == wire::CR {
                                i += k + 2;
                            } else {
                                items.push(Item::Anomaly(END_BLOCK_WITHOUT_CR));
                                i += k + 1;
                            }
                            finish_frame(ctx, &mut d.walker, body, false, items);
                            d.buf.clear();
                            d.mode = Mode::Hunt;
                        }
                    }
                }
                FrameScan::Restart(k) => {
                    let (body, over) =
                        frame_body(&mut d.buf, rest.get(..k).unwrap_or_default(), max);
                    // An oversized frame is reported as such whether or not its end is seen
                    // (as when it arrives in pieces and is skipped past the cap).
                    items.push(Item::Anomaly(if over {
                        MESSAGE_TOO_LARGE
                    } else {
                        UNTERMINATED_FRAME
                    }));
                    finish_frame(ctx, &mut d.walker, body, true, items);
                    d.buf.clear();
                    i += k + 1;
                }
                FrameScan::Open => {
                    let room = max.saturating_sub(d.buf.len());
                    if rest.len() > room {
                        items.push(Item::Anomaly(MESSAGE_TOO_LARGE));
                        d.buf
                            .extend_from_slice(rest.get(..room).unwrap_or_default());
                        let body = std::mem::take(&mut d.buf);
                        finish_frame(ctx, &mut d.walker, &body, true, items);
                        d.buf = body;
                        d.buf.clear();
                        d.mode = Mode::Skip;
                        i += room;
                    } else {
                        d.buf.extend_from_slice(rest);
                        i = data.len();
                    }
                }
            },
            Mode::Skip => match wire::scan_frame(rest) {
                FrameScan::End(k) => {
                    // The CR after the end block is filler for the hunt.
                    i += k + 1;
                    d.mode = Mode::Hunt;
                }
                FrameScan::Restart(k) => {
                    i += k + 1;
                    d.buf.clear();
                    d.mode = Mode::Frame;
                }
                FrameScan::Open => i = data.len(),
            },
            Mode::Unframed => {
                process_unframed(d, ctx, rest, items);
                i = data.len();
            }
        }
    }
}

/// Un-framed HL7: complete segments are parsed as they arrive; a message ends at the
/// next header segment or when the direction ends.
fn process_unframed(d: &mut DirState, ctx: &Ctx<'_>, mut data: &[u8], items: &mut Vec<Item>) {
    if d.skip_segment {
        // The rest of an oversized segment: counted, not parsed.
        match wire::terminators(data).next() {
            Some(t) => {
                d.skip_segment = false;
                d.walker.add_bytes(t);
                data = data.get(t..).unwrap_or_default();
            }
            None => {
                d.walker.add_bytes(data.len());
                return;
            }
        }
    }
    if d.buf.is_empty() {
        // Terminators that finish the previous segment (e.g. the LF of a split CRLF).
        let lead = data
            .iter()
            .take_while(|b| **b == wire::CR || **b == wire::LF)
            .count();
        d.walker.add_bytes(lead);
        data = data.get(lead..).unwrap_or_default();
        // Zero copy for the complete segments of this chunk.
        let Some(t) = wire::last_terminator(data) else {
            return hold_unframed(d, ctx, items, data);
        };
        let (done, rest) = data.split_at(t + 1);
        for seg in wire::segments(done) {
            unframed_segment(&mut d.walker, ctx, seg, items);
        }
        hold_unframed(d, ctx, items, rest);
        return;
    }
    match wire::last_terminator(data) {
        None => hold_unframed(d, ctx, items, data),
        Some(t) => {
            let (done, rest) = data.split_at(t + 1);
            let mut buf = std::mem::take(&mut d.buf);
            buf.extend_from_slice(done);
            for seg in wire::segments(&buf) {
                unframed_segment(&mut d.walker, ctx, seg, items);
            }
            buf.clear();
            d.buf = buf;
            hold_unframed(d, ctx, items, rest);
        }
    }
}

/// One complete un-framed segment; one longer than the cap is handled as when it arrives
/// in pieces (counted, reported `message_too_large`, not parsed), so delivery cuts never
/// change the result.
fn unframed_segment(w: &mut Walker, ctx: &Ctx<'_>, seg: wire::Segment<'_>, items: &mut Vec<Item>) {
    if seg.bytes.len() > ctx.lim.max_message_bytes {
        items.push(Item::Anomaly(MESSAGE_TOO_LARGE));
        w.add_bytes(seg.wire_len());
        w.mark_truncated();
    } else {
        w.segment(ctx, seg.bytes, seg.wire_len(), items);
    }
}

/// Keeps the unterminated tail of un-framed data, up to the size cap.
fn hold_unframed(d: &mut DirState, ctx: &Ctx<'_>, items: &mut Vec<Item>, tail: &[u8]) {
    if d.buf.len() + tail.len() > ctx.lim.max_message_bytes {
        items.push(Item::Anomaly(MESSAGE_TOO_LARGE));
        d.walker.add_bytes(d.buf.len() + tail.len());
        d.walker.mark_truncated();
        d.buf.clear();
        d.skip_segment = true;
    } else {
        d.buf.extend_from_slice(tail);
    }
}

/// Parses one complete (or cut) MLLP frame body.
/// `w` is the direction's walker, idle between frames (reused for its buffers).
fn finish_frame(
    ctx: &Ctx<'_>,
    w: &mut Walker,
    body: &[u8],
    truncated: bool,
    items: &mut Vec<Item>,
) {
    match body {
        [] => {
            items.push(Item::Anomaly(EMPTY_FRAME));
            return;
        }
        [wire::COMMIT_ACK] => {
            items.push(Item::Commit(MllpCommit::Ack));
            return;
        }
        [wire::COMMIT_NAK] => {
            items.push(Item::Commit(MllpCommit::Nak));
            return;
        }
        _ => {}
    }
    for seg in wire::segments(body) {
        // A cut body may end inside a segment id: count its bytes, do not judge its id.
        let cut_short =
            truncated && seg.start + seg.bytes.len() == body.len() && seg.bytes.len() < 4;
        if cut_short {
            w.add_bytes(seg.wire_len());
        } else {
            w.segment(ctx, seg.bytes, seg.wire_len(), items);
        }
    }
    w.end(ctx, truncated, items);
}

/// An open batch (BHS) or file (FHS).
struct Batch {
    id: Option<String>,
    delimiters: Delimiters,
    messages: u64,
}

/// Assembles messages from segments, tracking batches.
#[derive(Default)]
struct Walker {
    msg: Option<Builder>,
    batch: Option<Batch>,
    file: Option<Batch>,
    /// `missing_msh` already raised for this run of header-less segments.
    orphan_flagged: bool,
    /// Rendering buffer lent to each message's builder (no allocation per message).
    scratch: Vec<u8>,
}

impl Walker {
    fn segment(&mut self, ctx: &Ctx<'_>, seg: &[u8], wire_len: usize, items: &mut Vec<Item>) {
        let id = seg.get(..3).unwrap_or_default();
        match id {
            b"MSH" => {
                self.finish(ctx, items);
                self.orphan_flagged = false;
                let scratch = std::mem::take(&mut self.scratch);
                match Builder::start(ctx, items, seg, wire_len, scratch) {
                    Some(mut b) => {
                        if let Some(batch) = self.batch.as_mut().or(self.file.as_mut()) {
                            batch.messages += 1;
                            b.ev.set(Hl7Text::Batch, batch.id.as_deref());
                        }
                        self.msg = Some(b);
                    }
                    None => self.orphan_flagged = true,
                }
            }
            b"BHS" | b"FHS" => {
                self.finish(ctx, items);
                let opened = open_batch(ctx, items, seg);
                let slot = if id == b"BHS" {
                    &mut self.batch
                } else {
                    &mut self.file
                };
                if slot.is_some() {
                    items.push(Item::Anomaly(BATCH_WITHOUT_TRAILER));
                }
                *slot = opened;
            }
            b"BTS" | b"FTS" => {
                self.finish(ctx, items);
                if id == b"FTS" && self.batch.take().is_some() {
                    items.push(Item::Anomaly(BATCH_WITHOUT_TRAILER));
                }
                let slot = if id == b"BTS" {
                    self.batch.take()
                } else {
                    self.file.take()
                };
                match slot {
                    None => items.push(Item::Anomaly(BATCH_TRAILER_WITHOUT_HEADER)),
                    Some(b) if id == b"BTS" => {
                        let count = wire::fields(seg, b.delimiters.field)
                            .nth(1)
                            .unwrap_or_default();
                        let declared = std::str::from_utf8(count)
                            .ok()
                            .and_then(|s| s.trim().parse::<u64>().ok());
                        if declared.is_some_and(|n| n != b.messages) {
                            items.push(Item::Anomaly(BATCH_COUNT_MISMATCH));
                        }
                    }
                    Some(_) => {}
                }
            }
            _ => match self.msg.as_mut() {
                Some(b) => b.add(ctx, items, seg, wire_len),
                None => {
                    if !self.orphan_flagged {
                        self.orphan_flagged = true;
                        items.push(Item::Anomaly(MISSING_MSH));
                    }
                }
            },
        }
    }

    fn add_bytes(&mut self, n: usize) {
        if let Some(b) = self.msg.as_mut() {
            b.ev.bytes = b.ev.bytes.saturating_add(n as u64);
        }
    }

    fn mark_truncated(&mut self) {
        if let Some(b) = self.msg.as_mut() {
            b.ev.truncated = true;
        }
    }

    fn finish(&mut self, ctx: &Ctx<'_>, items: &mut Vec<Item>) {
        if let Some(b) = self.msg.take() {
            let (ev, scratch) = b.finish(ctx);
            self.scratch = scratch;
            items.push(Item::Message(ev));
        }
    }

    /// The frame (or stream) ended: the open message is complete, open batches are not.
    fn end(&mut self, ctx: &Ctx<'_>, truncated: bool, items: &mut Vec<Item>) {
        if truncated {
            self.mark_truncated();
        }
        self.finish(ctx, items);
        if self.batch.take().is_some() || self.file.take().is_some() {
            items.push(Item::Anomaly(BATCH_WITHOUT_TRAILER));
        }
        self.orphan_flagged = false;
    }
}

fn open_batch(ctx: &Ctx<'_>, items: &mut Vec<Item>, seg: &[u8]) -> Option<Batch> {
    let declared = match wire::parse_delimiters(seg) {
        Ok(d) => d,
        Err(_) => {
            items.push(Item::Anomaly(BAD_FIELD_SEPARATOR));
            return None;
        }
    };
    let d = declared.delimiters;
    let id = wire::header_field(seg, d.field, 11)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let mut out = Vec::new();
            wire::render_field(f, &d, ctx.lim.max_field_bytes, &mut out);
            text(&out)
        });
    Some(Batch {
        id,
        delimiters: d,
        messages: 0,
    })
}

/// Index of `id` in [`PHI_SEGMENTS`].
fn phi_index(id: &[u8; 3]) -> Option<usize> {
    // A match on the array compiles to a few integer compares (a search over the table
    // does not); `phi_index_matches_table` keeps the two in step.
    match id {
        b"PID" => Some(0),
        b"PD1" => Some(1),
        b"NK1" => Some(2),
        b"GT1" => Some(3),
        b"IN1" => Some(4),
        b"IN2" => Some(5),
        b"IN3" => Some(6),
        b"MRG" => Some(7),
        _ => None,
    }
}

#[cfg(test)]
#[test]
fn phi_index_matches_table() {
    // Every PHI segment maps to its own index in PHI_SEGMENTS, and nothing else does.
    for (i, s) in PHI_SEGMENTS.iter().enumerate() {
        assert_eq!(phi_index(s), Some(i));
    }
    assert_eq!(phi_index(b"OBX"), None);
    assert_eq!(phi_index(b"PV1"), None);
}

/// One message being assembled.
struct Builder {
    ev: Box<Hl7Event>,
    d: Delimiters,
    /// `d.shown_as_is()`, once per message.
    as_is: bool,
    obx5: bool,
    has_pid: bool,
    /// Reused rendering buffer.
    scratch: Vec<u8>,
    bad_id_flagged: bool,
    hmac_done: bool,
}

fn nonempty(f: Option<&[u8]>) -> Option<&[u8]> {
    f.filter(|f| !f.is_empty())
}

/// A header segment and, when it is valid UTF-8, the same bytes as text.
struct Header<'a> {
    seg: &'a [u8],
    text: Option<&'a str>,
    /// Delimiters shown as themselves and no escape character after MSH-2: every field
    /// renders as its own bytes.
    plain: bool,
}

/// Text room reserved per message beyond its header's length: the header's rendered
/// fields never exceed it (escapes only shrink), so this is for device evidence and the
/// acknowledgement code, keeping a message's text to one allocation.
const TEXT_SPARE: usize = 48;

impl Builder {
    /// Starts a message at its MSH; `None` (after an anomaly) when MSH-1 is unusable.
    /// Kept out of line: inlined, its large frame made every other segment's call set up
    /// the same stack.
    #[inline(never)]
    fn start(
        ctx: &Ctx<'_>,
        items: &mut Vec<Item>,
        seg: &[u8],
        wire_len: usize,
        scratch: Vec<u8>,
    ) -> Option<Builder> {
        let declared = match wire::parse_delimiters(seg) {
            Ok(d) => d,
            Err(_) => {
                items.push(Item::Anomaly(BAD_FIELD_SEPARATOR));
                return None;
            }
        };
        let issues = declared.issues;
        if issues.missing {
            items.push(Item::Anomaly(ENCODING_CHARACTERS_MISSING));
        }
        if issues.repeated {
            items.push(Item::Anomaly(ENCODING_CHARACTERS_REPEATED));
        }
        if issues.invalid {
            items.push(Item::Anomaly(ENCODING_CHARACTERS_INVALID));
        }
        let d = declared.delimiters;
        let as_is = d.shown_as_is();
        // The header as text, checked once: a field that needs no decoding is a slice of
        // it (delimiters are ASCII, so they never cut a UTF-8 sequence).
        let seg_text = std::str::from_utf8(seg).ok();
        let mut ev = Box::new(Hl7Event::new(ctx.dir, ctx.framing));
        ev.reserve_text(seg.len().min(ctx.lim.max_message_bytes) + TEXT_SPARE);
        ev.bytes = wire_len as u64;
        ev.field_separator = char::from(d.field);
        let enc_len = declared.encoding_characters.len().min(8);
        match seg_text.and_then(|t| t.get(4..4 + enc_len)) {
            Some(t) => ev.set(Hl7Text::EncodingCharacters, Some(t)),
            None => ev.set_lossy(
                Hl7Text::EncodingCharacters,
                declared
                    .encoding_characters
                    .get(..enc_len)
                    .unwrap_or_default(),
            ),
        }
        let mut b = Builder {
            ev,
            d,
            as_is,
            obx5: false,
            has_pid: false,
            scratch,
            bad_id_flagged: false,
            hmac_done: false,
        };
        let mut capped = false;
        // pieces[k] is MSH-(k+1) for k >= 1 (MSH-1 is the separator itself).
        let pieces = wire::field_ranges_near(seg, d.field, [2, 3, 4, 5, 8, 9, 10, 11, 17]);
        // MSH-9 is piece 8.
        if pieces[4].is_none() {
            items.push(Item::Anomaly(MSH_TOO_SHORT));
        }
        let field = |n: usize| {
            let slot = match n {
                3..=6 => n - 3,
                9..=12 => n - 5,
                18 => 8,
                _ => return None,
            };
            pieces.get(slot).copied().flatten().filter(|(a, e)| e > a)
        };
        let after_enc = seg
            .get(4 + declared.encoding_characters.len()..)
            .unwrap_or_default();
        let text = Header {
            seg,
            text: seg_text,
            plain: as_is
                && d.escape
                    .is_none_or(|e| memchr::memchr(e, after_enc).is_none()),
        };
        for (n, f) in [
            (3, Hl7Text::SendingApplication),
            (4, Hl7Text::SendingFacility),
            (5, Hl7Text::ReceivingApplication),
            (6, Hl7Text::ReceivingFacility),
        ] {
            if let Some(r) = field(n) {
                b.put_range(ctx, f, &text, r, &mut capped);
            }
        }
        if let Some((a9, e9)) = field(9) {
            let f9 = seg.get(a9..e9).unwrap_or_default();
            // Component ends: MSH-9.1 is f9[..e1], MSH-9.2 f9[e1 + 1..e2], MSH-9.3 after.
            let comp_end = |from: usize| -> usize {
                match (f9.get(from..), d.component) {
                    (Some(rest), Some(c)) => {
                        from + rest.iter().position(|x| *x == c).unwrap_or(rest.len())
                    }
                    _ => f9.len(),
                }
            };
            let e1 = comp_end(0);
            let e2 = if e1 < f9.len() { comp_end(e1 + 1) } else { e1 };
            let e3 = if e2 < f9.len() { comp_end(e2 + 1) } else { e2 };
            let c1 = f9.get(..e1).unwrap_or_default();
            let c2 = f9.get(e1 + 1..e2).unwrap_or_default();
            let c3 = f9.get(e2 + 1..e3).unwrap_or_default();
            let cap = ctx.lim.max_field_bytes;
            // MSH-9.1^MSH-9.2: when neither needs decoding nor cutting, it is the header's
            // own bytes (the component separator shown as itself is `^`).
            let plain = |c: &[u8]| {
                c.len() <= cap && (text.plain || wire::plain_len(c, &d, as_is, cap).is_some())
            };
            let end = if c2.is_empty() { e1 } else { e2 };
            match seg_text
                .filter(|_| plain(c1) && plain(c2))
                .and_then(|t| t.get(a9..a9 + end))
            {
                Some(t) => b.ev.set(Hl7Text::MessageType, Some(t)),
                None => {
                    b.scratch.clear();
                    capped |= wire::render_field(c1, &d, cap, &mut b.scratch);
                    if !c2.is_empty() {
                        b.scratch.push(b'^');
                        capped |= wire::render_field(c2, &d, cap, &mut b.scratch);
                    }
                    b.ev.set_lossy(Hl7Text::MessageType, &b.scratch);
                }
            }
            if !c3.is_empty() {
                let a3 = a9 + e2 + 1;
                b.put_range(
                    ctx,
                    Hl7Text::MessageStructure,
                    &text,
                    (a3, a3 + c3.len()),
                    &mut capped,
                );
            }
        }
        for (n, f) in [(10, Hl7Text::ControlId), (11, Hl7Text::ProcessingId)] {
            if let Some(r) = field(n) {
                b.put_range(ctx, f, &text, r, &mut capped);
            }
        }
        if let Some((a, e)) = field(12) {
            // MSH-12.1.
            let f = seg.get(a..e).unwrap_or_default();
            let n = d
                .component
                .and_then(|c| f.iter().position(|x| *x == c))
                .unwrap_or(f.len());
            if n > 0 {
                b.put_range(ctx, Hl7Text::Version, &text, (a, a + n), &mut capped);
            }
        }
        if let Some(r) = field(18) {
            b.put_range(ctx, Hl7Text::Charset, &text, r, &mut capped);
        }
        b.ev.push_segment(SegmentId(*b"MSH"));
        // MSH-3 and MSH-4 are already rendered (same cap) as the sending application and
        // facility: the evidence shares their text.
        for (src, f) in [
            ("MSH-3", Hl7Text::SendingApplication),
            ("MSH-4", Hl7Text::SendingFacility),
        ] {
            if b.ev.get(f).is_some() {
                if b.ev.device_evidence_count() >= ctx.lim.max_device_evidence {
                    capped = true;
                } else {
                    b.ev.push_device_evidence_of(src, f);
                }
            }
        }
        b.ev.capped |= capped;
        Some(b)
    }

    /// Renders `field` (escapes decoded, capped) as text fact `f`.
    fn put(&mut self, ctx: &Ctx<'_>, f: Hl7Text, field: &[u8], capped: &mut bool) {
        let cap = ctx.lim.max_field_bytes;
        if let Some((n, cut)) = wire::plain_len(field, &self.d, self.as_is, cap) {
            *capped |= cut;
            self.ev.set_lossy(f, field.get(..n).unwrap_or(field));
            return;
        }
        self.scratch.clear();
        *capped |= wire::render_field(field, &self.d, ctx.lim.max_field_bytes, &mut self.scratch);
        self.ev.set_lossy(f, &self.scratch);
    }

    /// Renders header field `h.seg[a..e]` as text fact `f`: a slice of the checked header
    /// text when it needs no decoding.
    fn put_range(
        &mut self,
        ctx: &Ctx<'_>,
        f: Hl7Text,
        h: &Header<'_>,
        (a, e): (usize, usize),
        capped: &mut bool,
    ) {
        let field = h.seg.get(a..e).unwrap_or_default();
        let cap = ctx.lim.max_field_bytes;
        let plain = if h.plain {
            Some((field.len().min(cap), field.len() > cap))
        } else {
            wire::plain_len(field, &self.d, self.as_is, cap)
        };
        if let Some((n, cut)) = plain {
            *capped |= cut;
            match h.text.and_then(|t| t.get(a..a + n)) {
                Some(t) => self.ev.set(f, Some(t)),
                None => self.ev.set_lossy(f, field.get(..n).unwrap_or(field)),
            }
            return;
        }
        self.put(ctx, f, field, capped);
    }

    fn evidence(&mut self, ctx: &Ctx<'_>, source: &'static str, f: &[u8], capped: &mut bool) {
        // Render into scratch space first: repeats (every OBX of a device) cost no allocation.
        let cap = ctx.lim.max_field_bytes;
        let (value, cut) = match wire::plain_len(f, &self.d, self.as_is, cap) {
            // Shown as sent: no rendering, no copy.
            Some((n, cut)) => (f.get(..n).unwrap_or(f), cut),
            None => {
                self.scratch.clear();
                let cut = wire::render_field(f, &self.d, cap, &mut self.scratch);
                (self.scratch.as_slice(), cut)
            }
        };
        if self.ev.has_device_evidence(source, value) {
            return;
        }
        *capped |= cut;
        if self.ev.device_evidence_count() >= ctx.lim.max_device_evidence {
            *capped = true;
            return;
        }
        self.ev.push_device_evidence(source, value);
    }

    /// Adds a segment after the MSH.
    fn add(&mut self, ctx: &Ctx<'_>, items: &mut Vec<Item>, seg: &[u8], wire_len: usize) {
        self.ev.bytes = self.ev.bytes.saturating_add(wire_len as u64);
        let sep = self.d.field;
        let id = match seg {
            [a, b, c] => [*a, *b, *c],
            [a, b, c, s, ..] if *s == sep => [*a, *b, *c],
            _ => [b'?'; 3],
        };
        let good = id
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !good && !self.bad_id_flagged {
            self.bad_id_flagged = true;
            items.push(Item::Anomaly(BAD_SEGMENT_ID));
        }
        if self.ev.segment_count() < ctx.lim.max_segments {
            self.ev.push_segment(SegmentId(id));
        } else {
            self.ev.capped = true;
        }
        if !good {
            return;
        }
        let mut capped = false;
        if let Some(i) = phi_index(&id) {
            self.has_pid |= i == 0;
            let (bits, beyond) = wire::nonempty_fields(seg, sep);
            capped |= beyond;
            // The first non-empty PID-3 is hashed, when a key is configured.
            if i == 0 && bits & (1 << 3) != 0 && !self.hmac_done {
                self.hmac_done = true;
                if let (Some(mac), [Some(f)]) = (ctx.hmac, wire::fields_at(seg, sep, [3])) {
                    self.ev.patient_id_hmac = Some(keyed_hash(mac, f, &self.d));
                }
            }
            self.ev.add_phi_bits(i, bits);
        } else {
            match &id {
                b"OBX" => {
                    // OBX-5 only matters until one is seen: later observations need OBX-18.
                    let equipment = if self.obx5 {
                        let [equipment] = wire::fields_at(seg, sep, [18]);
                        equipment
                    } else {
                        let [value, equipment] = wire::fields_at(seg, sep, [5, 18]);
                        self.obx5 = nonempty(value).is_some();
                        equipment
                    };
                    if let Some(f) = nonempty(equipment) {
                        self.evidence(ctx, "OBX-18", f, &mut capped);
                    }
                }
                b"PRT" => {
                    let [device, udi] = wire::fields_at(seg, sep, [10, 16]);
                    if let Some(f) = nonempty(device) {
                        self.evidence(ctx, "PRT-10", f, &mut capped);
                    }
                    if let Some(f) = nonempty(udi) {
                        self.evidence(ctx, "PRT-16", f, &mut capped);
                    }
                }
                b"MSA" if self.ev.ack_control_id().is_none() && self.ev.ack_code().is_none() => {
                    let [code, ctl] = wire::fields_at(seg, sep, [1, 2]);
                    if let Some(f) = nonempty(code) {
                        self.put(ctx, Hl7Text::AckCode, f, &mut capped);
                    }
                    // An ACK answers a control id, even an empty one: it never waits itself.
                    self.put(
                        ctx,
                        Hl7Text::AckControlId,
                        ctl.unwrap_or_default(),
                        &mut capped,
                    );
                }
                _ => {}
            }
        }
        self.ev.capped |= capped;
    }

    /// The finished event, and the rendering buffer for the next message.
    fn finish(mut self, _ctx: &Ctx<'_>) -> (Box<Hl7Event>, Vec<u8>) {
        self.ev.set_phi_obx5(self.obx5 && self.has_pid);
        (self.ev, self.scratch)
    }
}

/// HMAC-SHA256 of a rendered field (delimiters normalised, so the same id hashes the
/// same whatever a sender declares), hex of the first 16 bytes.
fn keyed_hash(mac: &HmacSha256, field: &[u8], d: &Delimiters) -> String {
    let mut norm = Vec::with_capacity(field.len());
    wire::render_field(field, d, 4096, &mut norm);
    let mut m = mac.clone();
    m.update(&norm);
    let out = m.finalize().into_bytes();
    let mut s = String::with_capacity(32);
    for b in out.iter().take(16) {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

const HEX: [u8; 16] = *b"0123456789abcdef";

impl StreamAnalyzer for Hl7Analyzer {
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) -> Progress {
        self.expire(cx);
        let p = self.feed(dir, data);
        self.settle(cx, dir);
        p
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        let Hl7Analyzer {
            lim,
            hmac,
            dirs,
            items,
            ..
        } = self;
        let d = &mut dirs[dir.index()];
        let ctx = Ctx {
            lim,
            hmac: hmac.as_ref(),
            dir,
            framing: framing_of(d.mode),
        };
        match d.mode {
            Mode::Frame => {
                // Report the head that arrived; the rest of this frame is lost.
                items.push(Item::Anomaly(GAP_IN_MESSAGE));
                let body = std::mem::take(&mut d.buf);
                finish_frame(&ctx, &mut d.walker, &body, true, items);
                d.buf = body;
                d.buf.clear();
                d.pending_fs = false;
                d.mode = Mode::Hunt;
            }
            Mode::Unframed => {
                if d.walker.msg.is_some() {
                    items.push(Item::Anomaly(GAP_IN_MESSAGE));
                }
                d.buf.clear();
                d.walker.end(&ctx, true, items);
                // Resume at the next segment start.
                d.skip_segment = true;
            }
            Mode::Undecided => {
                d.buf.clear();
                d.mode = Mode::Hunt;
            }
            Mode::Hunt | Mode::Skip => d.mode = Mode::Hunt,
        }
        d.quiet = true;
        d.garbage = false;
        self.settle(cx, dir);
    }

    fn on_eof(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        self.flush(dir);
        self.settle(cx, dir);
    }

    fn on_close(&mut self, cx: &mut Cx<'_>) {
        if self.closed {
            return;
        }
        self.closed = true;
        for dir in [Direction::ToServer, Direction::ToClient] {
            self.flush(dir);
            self.settle(cx, dir);
        }
        while let Some(mut p) = self.pending.pop_front() {
            p.ev.acknowledged = Some(false);
            cx.emit(EventKind::Hl7(p.ev));
        }
    }
}
