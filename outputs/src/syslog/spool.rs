//! The on-disk spool of a TCP or TLS feed: every message is appended here before it is
//! sent, and leaves only once delivered, so the feed is at-least-once across receiver
//! outages and restarts.
//!
//! Layout of the spool directory: segment files `seg-<first seq, 20 digits>.spool`, each a
//! run of records `[len u32 LE][crc32 u32 LE][seq u64 LE][len bytes]` (the CRC covers the
//! sequence number and the bytes), and `state`, the last delivered and the next sequence
//! number (`committed N` / `next M`), replaced atomically.
//!
//! Durability: each record reaches the OS with one `write` at append; the active segment
//! is `fsync`ed and `state` rewritten on [`Spool::sync`] (the sender calls it about once a
//! second and at shutdown). A crash loses at most the last second of records to a power
//! failure, and may resend up to a second of delivered ones (duplicates, never gaps).
//!
//! Damage: a record whose checksum fails is skipped and counted; a record cut short or
//! with an impossible length ends its segment (the rest is skipped and counted). At open,
//! such a record in the last segment (a crash mid-append) is cut off with what follows it,
//! and counted. The byte cap covers every segment file; appends past it fail with
//! [`AppendError::Full`]. Records appended since the reader last caught up are also kept
//! in memory (up to 4 MiB), so sending what was just spooled reads no file.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes of a record header.
pub const RECORD_HEADER: u64 = 16;

/// Why an append failed.
#[derive(Debug)]
pub enum AppendError {
    /// The spool holds its maximum bytes.
    Full,
    /// Writing failed (disk full, I/O error); nothing was kept.
    Io(io::Error),
}

struct Seg {
    first: u64,
    path: PathBuf,
    len: u64,
    file: Option<File>,
}

/// A bounded, append-only, persistent FIFO of sequence-numbered records.
pub struct Spool {
    dir: PathBuf,
    segs: VecDeque<Seg>,
    append: Option<File>,
    /// Read position: index into `segs` and byte offset.
    rseg: usize,
    roff: u64,
    max_bytes: u64,
    seg_bytes: u64,
    /// Largest record accepted on read (a bigger length is damage).
    max_record: u64,
    total: u64,
    /// Every sequence number up to this one was delivered.
    committed: u64,
    /// The next sequence number to hand out.
    next: u64,
    /// Records found damaged and skipped since open.
    pub corrupt: u64,
    dirty: bool,
    /// Records appended and not yet read, in order, as (segment first seq, offset, seq,
    /// payload), so the sender reads what it just wrote without touching the disk. Bounded
    /// by `TAIL_CACHE_BYTES`; a miss reads the file.
    tail: VecDeque<(u64, u64, u64, Vec<u8>)>,
    tail_bytes: usize,
}

/// Bytes of recently appended records kept in memory for the reader.
const TAIL_CACHE_BYTES: usize = 4 << 20;

fn seg_name(first: u64) -> String {
    format!("seg-{first:020}.spool")
}

fn parse_state(text: &str) -> (u64, u64) {
    let mut committed = 0;
    let mut next = 1;
    for l in text.lines() {
        let mut it = l.split_whitespace();
        match (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())) {
            (Some("committed"), Some(v)) => committed = v,
            (Some("next"), Some(v)) => next = v.max(1),
            _ => {}
        }
    }
    (committed, next)
}

fn crc(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// One record read at `off`: `Ok(Some((seq, payload, next_off)))`, `Ok(None)` at a clean
/// end, `Err(true)` for a bad checksum (skip the record), `Err(false)` for a cut record.
type Read = Result<Option<(u64, Vec<u8>, u64)>, bool>;

fn read_record(f: &File, off: u64, len: u64, max_record: u64) -> Read {
    if off >= len {
        return Ok(None);
    }
    if off + RECORD_HEADER > len {
        return Err(false);
    }
    let mut h = [0u8; RECORD_HEADER as usize];
    f.read_exact_at(&mut h, off).map_err(|_| false)?;
    let n = u64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]]));
    let sum = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    let seq = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
    if n > max_record || off + RECORD_HEADER + n > len {
        return Err(false);
    }
    let mut p = vec![0u8; n as usize];
    f.read_exact_at(&mut p, off + RECORD_HEADER)
        .map_err(|_| false)?;
    if crc(seq, &p) != sum {
        return Err(true);
    }
    Ok(Some((seq, p, off + RECORD_HEADER + n)))
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, repairing a torn last record.
    pub fn open(dir: &Path, max_bytes: u64, seg_bytes: u64, max_record: u64) -> io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let (committed, next) = match std::fs::read_to_string(dir.join("state")) {
            Ok(t) => parse_state(&t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, 1),
            Err(e) => return Err(e),
        };
        let mut segs: Vec<Seg> = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            let Some(first) = name
                .to_str()
                .and_then(|n| n.strip_prefix("seg-"))
                .and_then(|n| n.strip_suffix(".spool"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            segs.push(Seg {
                first,
                path: e.path(),
                len: e.metadata()?.len(),
                file: None,
            });
        }
        segs.sort_by_key(|s| s.first);
        let mut sp = Spool {
            dir: dir.to_path_buf(),
            total: segs.iter().map(|s| s.len).sum(),
            segs: segs.into(),
            append: None,
            rseg: 0,
            roff: 0,
            max_bytes,
            seg_bytes: seg_bytes.max(RECORD_HEADER + 1),
            max_record,
            committed,
            next,
            corrupt: 0,
            dirty: false,
            tail: VecDeque::new(),
            tail_bytes: 0,
        };
        sp.repair_last()?;
        sp.commit(committed);
        Ok(sp)
    }

    /// Validates the last segment, cuts a torn or damaged tail, and learns the last
    /// sequence number written.
    fn repair_last(&mut self) -> io::Result<()> {
        let Some(last) = self.segs.back_mut() else {
            return Ok(());
        };
        let f = OpenOptions::new().read(true).write(true).open(&last.path)?;
        let mut off = 0;
        let mut last_seq = None;
        loop {
            match read_record(&f, off, last.len, self.max_record) {
                Ok(Some((seq, _, n))) => {
                    last_seq = Some(seq);
                    off = n;
                }
                Ok(None) => break,
                Err(true) => {
                    // A bad checksum on a plausible record: the reader skips it (and counts
                    // it); the records after it are kept.
                    let mut h = [0u8; 4];
                    if f.read_exact_at(&mut h, off).is_err() {
                        break;
                    }
                    off += RECORD_HEADER + u64::from(u32::from_le_bytes(h));
                }
                Err(false) => {
                    self.corrupt += 1;
                    f.set_len(off)?;
                    self.total -= last.len - off;
                    last.len = off;
                    break;
                }
            }
        }
        if let Some(s) = last_seq {
            self.next = self.next.max(s + 1);
        }
        self.next = self.next.max(last.first);
        self.append = Some(f);
        Ok(())
    }

    /// Hands out the next sequence number (persisted by [`Spool::sync`]).
    pub fn take_seq(&mut self) -> u64 {
        let s = self.next;
        self.next += 1;
        self.dirty = true;
        s
    }

    /// Appends one record.
    pub fn append(&mut self, seq: u64, payload: &[u8]) -> Result<(), AppendError> {
        let n = RECORD_HEADER + payload.len() as u64;
        if self.total + n > self.max_bytes {
            return Err(AppendError::Full);
        }
        let rotate = self
            .segs
            .back()
            .is_none_or(|s| s.len > 0 && s.len + n > self.seg_bytes);
        if rotate {
            let path = self.dir.join(seg_name(seq));
            let f = OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(AppendError::Io)?;
            if let Some(old) = self.append.take() {
                // The finished segment is flushed now; later syncs cover the new one.
                let _ = old.sync_data();
            }
            self.segs.push_back(Seg {
                first: seq,
                path,
                len: 0,
                file: None,
            });
            self.append = Some(f);
        }
        let (Some(f), Some(seg)) = (self.append.as_mut(), self.segs.back_mut()) else {
            return Err(AppendError::Io(io::Error::other("no segment")));
        };
        let mut rec = Vec::with_capacity(n as usize);
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc(seq, payload).to_le_bytes());
        rec.extend_from_slice(&seq.to_le_bytes());
        rec.extend_from_slice(payload);
        if let Err(e) = f.write_all_at(&rec, seg.len) {
            // Nothing half-written may stay: cut back to the last whole record.
            let _ = f.set_len(seg.len);
            return Err(AppendError::Io(e));
        }
        let at = (seg.first, seg.len);
        seg.len += n;
        self.total += n;
        if self.tail_bytes + payload.len() <= TAIL_CACHE_BYTES {
            self.tail_bytes += payload.len();
            self.tail.push_back((at.0, at.1, seq, payload.to_vec()));
        }
        self.next = self.next.max(seq + 1);
        self.dirty = true;
        Ok(())
    }

    /// The next undelivered record after the read position, in order; `None` when every
    /// record has been read.
    pub fn next_record(&mut self) -> Option<(u64, Vec<u8>)> {
        loop {
            if let Some(r) = self.take_cached() {
                if r.0 > self.committed {
                    return Some(r);
                }
                continue;
            }
            let nsegs = self.segs.len();
            let max_record = self.max_record;
            let seg = self.segs.get_mut(self.rseg)?;
            if seg.file.is_none() {
                match File::open(&seg.path) {
                    Ok(f) => seg.file = Some(f),
                    Err(_) => {
                        // A segment that vanished or cannot be opened: count and move on.
                        self.corrupt += 1;
                        self.rseg += 1;
                        self.roff = 0;
                        continue;
                    }
                }
            }
            let f = seg.file.as_ref()?;
            match read_record(f, self.roff, seg.len, max_record) {
                Ok(Some((seq, p, n))) => {
                    self.roff = n;
                    if seq > self.committed {
                        return Some((seq, p));
                    }
                }
                Ok(None) => {
                    if self.rseg + 1 >= nsegs {
                        return None;
                    }
                    seg.file = None;
                    self.rseg += 1;
                    self.roff = 0;
                }
                Err(skip_one) => {
                    self.corrupt += 1;
                    if skip_one {
                        // The length was plausible: skip just this record.
                        let mut h = [0u8; 4];
                        let _ = f.read_exact_at(&mut h, self.roff);
                        self.roff += RECORD_HEADER + u64::from(u32::from_le_bytes(h));
                    } else {
                        self.roff = seg.len;
                    }
                }
            }
        }
    }

    /// The record at the read position from the in-memory tail, if it is there; entries
    /// behind the read position are dropped.
    fn take_cached(&mut self) -> Option<(u64, Vec<u8>)> {
        let first = self.segs.get(self.rseg)?.first;
        while let Some(&(f, off, _, _)) = self.tail.front() {
            if (f, off) >= (first, self.roff) {
                break;
            }
            if let Some(e) = self.tail.pop_front() {
                self.tail_bytes -= e.3.len();
            }
        }
        let &(f, off, _, _) = self.tail.front()?;
        if (f, off) != (first, self.roff) {
            return None;
        }
        let (_, _, seq, p) = self.tail.pop_front()?;
        self.tail_bytes -= p.len();
        self.roff += RECORD_HEADER + p.len() as u64;
        Some((seq, p))
    }

    /// Reads again from the oldest undelivered record (after a connection loss).
    pub fn rewind(&mut self) {
        self.rseg = 0;
        self.roff = 0;
    }

    /// Every record up to `seq` was delivered: segments holding only such records are
    /// deleted (the active one once it is full).
    pub fn commit(&mut self, seq: u64) {
        if seq > self.committed {
            self.committed = seq;
            self.dirty = true;
        }
        let mut removed = false;
        while let Some(first) = self.segs.front() {
            let done = match self.segs.get(1) {
                Some(next) => next.first.saturating_sub(1) <= self.committed,
                // The active segment: only once full and wholly delivered.
                None => {
                    first.len >= self.seg_bytes && self.next.saturating_sub(1) <= self.committed
                }
            };
            if !done {
                break;
            }
            if let Some(s) = self.segs.pop_front() {
                let _ = std::fs::remove_file(&s.path);
                self.total -= s.len;
                if self.segs.is_empty() {
                    self.append = None;
                }
                if self.rseg > 0 {
                    self.rseg -= 1;
                } else {
                    self.roff = 0;
                }
                removed = true;
            }
        }
        // A wholly delivered active segment past a quarter of the cap is emptied in place,
        // so delivered bytes never hold the spool at its cap.
        let reclaim = self.seg_bytes.min(self.max_bytes / 4).max(1);
        let single = self.segs.len() == 1;
        if let (Some(last), Some(f)) = (self.segs.back_mut(), self.append.as_ref()) {
            if single
                && last.len >= reclaim
                && self.next.saturating_sub(1) <= self.committed
                && f.set_len(0).is_ok()
            {
                self.total -= last.len;
                last.len = 0;
                self.tail.clear();
                self.tail_bytes = 0;
                last.file = None;
                self.rseg = 0;
                self.roff = 0;
                removed = true;
            }
        }
        if removed {
            // The sequence number must survive the records that carried it.
            let _ = self.write_state();
        }
    }

    fn write_state(&mut self) -> io::Result<()> {
        let tmp = self.dir.join("state.tmp");
        let mut f = File::create(&tmp)?;
        writeln!(f, "committed {}\nnext {}", self.committed, self.next)?;
        f.sync_data()?;
        std::fs::rename(&tmp, self.dir.join("state"))?;
        self.dirty = false;
        Ok(())
    }

    /// Flushes the active segment to disk and records the cursor.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(f) = &self.append {
            f.sync_data()?;
        }
        self.write_state()
    }

    /// Bytes in the segment files.
    pub fn bytes(&self) -> u64 {
        self.total
    }

    /// The last delivered sequence number.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// The next sequence number to hand out.
    pub fn next_seq(&self) -> u64 {
        self.next
    }
}
