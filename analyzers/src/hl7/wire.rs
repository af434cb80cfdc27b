//! Pure, zero-copy HL7 v2 / MLLP parsing: framing scans, declared delimiters, segments,
//! fields and escape decoding. No state; every function borrows its input.

use memchr::{memchr, memchr2, memchr2_iter};

/// MLLP start block `<VT>`.
pub const START_BLOCK: u8 = 0x0b;
/// MLLP end block `<FS>`, followed by `<CR>`.
pub const END_BLOCK: u8 = 0x1c;
pub const CR: u8 = 0x0d;
pub const LF: u8 = 0x0a;
/// MLLP release 2 commit acknowledgement (`<VT><ACK><FS><CR>`).
pub const COMMIT_ACK: u8 = 0x06;
/// MLLP release 2 negative commit acknowledgement (`<VT><NAK><FS><CR>`).
pub const COMMIT_NAK: u8 = 0x15;

/// What [`scan_frame`] found in the bytes of an open MLLP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameScan {
    /// The end block is at this offset (the frame content is everything before it).
    End(usize),
    /// A start block came at this offset before any end block: the open frame was never
    /// terminated and a new one begins.
    Restart(usize),
    /// Neither: all of the bytes are frame content.
    Open,
}

/// Looks for the end of an open MLLP frame in `data` (bytes after the start block).
pub fn scan_frame(data: &[u8]) -> FrameScan {
    match memchr2(END_BLOCK, START_BLOCK, data) {
        Some(i) if data.get(i) == Some(&END_BLOCK) => FrameScan::End(i),
        Some(i) => FrameScan::Restart(i),
        None => FrameScan::Open,
    }
}

/// Offset of the next start block in `data`.
pub fn find_start_block(data: &[u8]) -> Option<usize> {
    memchr(START_BLOCK, data)
}

/// True for the bytes tolerated between frames without an anomaly.
pub fn is_filler(b: u8) -> bool {
    matches!(b, CR | LF | b' ' | b'\t' | 0)
}

/// True when `id` names a header segment that declares delimiters (MSH, BHS, FHS).
pub fn is_header_id(id: &[u8]) -> bool {
    matches!(id, b"MSH" | b"BHS" | b"FHS")
}

/// The delimiters a header segment declares (MSH-1, MSH-2). A role whose character is
/// missing or repeats an earlier one is `None` (it never splits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    pub field: u8,
    pub component: Option<u8>,
    pub repetition: Option<u8>,
    pub escape: Option<u8>,
    pub subcomponent: Option<u8>,
    /// v2.7 truncation character (MSH-2, fifth character).
    pub truncation: Option<u8>,
}

impl Delimiters {
    /// `|^~\&`, the usual set (tests and builders only: messages declare their own).
    pub const DEFAULT: Delimiters = Delimiters {
        field: b'|',
        component: Some(b'^'),
        repetition: Some(b'~'),
        escape: Some(b'\\'),
        subcomponent: Some(b'&'),
        truncation: None,
    };
}

/// What was wrong with MSH-2 (the message is still parsed with what was usable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodingIssues {
    /// Fewer than four encoding characters.
    pub missing: bool,
    /// A character repeats another encoding character or the field separator.
    pub repeated: bool,
    /// More than five characters, or characters that cannot be delimiters
    /// (letters, digits, control characters).
    pub invalid: bool,
}

impl EncodingIssues {
    pub fn any(&self) -> bool {
        self.missing || self.repeated || self.invalid
    }
}

/// A header segment's declared delimiters and its raw MSH-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeclaredDelimiters<'a> {
    pub delimiters: Delimiters,
    /// MSH-2 as sent.
    pub encoding_characters: &'a [u8],
    pub issues: EncodingIssues,
}

/// Why a header segment could not be used at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Shorter than `MSH` plus a field separator.
    TooShort,
    /// MSH-1 is a letter, digit, control character or space.
    BadFieldSeparator,
}

fn can_delimit(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

/// Reads MSH-1 and MSH-2 (or BHS/FHS-1 and -2) of a header segment `seg` (which starts
/// with its three-letter id).
pub fn parse_delimiters(seg: &[u8]) -> Result<DeclaredDelimiters<'_>, HeaderError> {
    // The usual declaration, `MSH|^~\&|` (or only `MSH|^~\&` at the segment's end): what
    // the general path below finds for it, without the checks.
    if let Some(rest) = seg.get(3..) {
        if rest.starts_with(b"|^~\\&|") || rest == b"|^~\\&" {
            return Ok(DeclaredDelimiters {
                delimiters: Delimiters::DEFAULT,
                encoding_characters: rest.get(1..5).unwrap_or_default(),
                issues: EncodingIssues::default(),
            });
        }
    }
    parse_delimiters_general(seg)
}

/// [`parse_delimiters`] without its fast path (tests compare the two).
fn parse_delimiters_general(seg: &[u8]) -> Result<DeclaredDelimiters<'_>, HeaderError> {
    let field = *seg.get(3).ok_or(HeaderError::TooShort)?;
    if !can_delimit(field) {
        return Err(HeaderError::BadFieldSeparator);
    }
    let rest = seg.get(4..).unwrap_or_default();
    let enc = &rest[..memchr(field, rest).unwrap_or(rest.len())];
    let mut issues = EncodingIssues {
        missing: enc.len() < 4,
        invalid: enc.len() > 5,
        ..Default::default()
    };
    let mut roles: [Option<u8>; 5] = [None; 5];
    // The characters already given a role (no allocation: at most five roles).
    let mut taken = [field; 6];
    let mut n_taken = 1usize;
    for (slot, &c) in roles.iter_mut().zip(enc.iter()) {
        if !can_delimit(c) {
            issues.invalid = true;
        } else if taken.get(..n_taken).unwrap_or_default().contains(&c) {
            issues.repeated = true;
        } else {
            if let Some(t) = taken.get_mut(n_taken) {
                *t = c;
                n_taken += 1;
            }
            *slot = Some(c);
        }
    }
    let [component, repetition, escape, subcomponent, truncation] = roles;
    Ok(DeclaredDelimiters {
        delimiters: Delimiters {
            field,
            component,
            repetition,
            escape,
            subcomponent,
            truncation,
        },
        encoding_characters: enc,
        issues,
    })
}

/// One segment of a message: its bytes without terminator, and where the next begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub bytes: &'a [u8],
    /// Offset of the segment in the parsed buffer.
    pub start: usize,
    /// Offset just past its run of terminators.
    pub next: usize,
}

impl<'a> Segment<'a> {
    /// The segment id (its first three bytes), if it has three.
    pub fn id(&self) -> Option<[u8; 3]> {
        match self.bytes {
            [a, b, c, ..] => Some([*a, *b, *c]),
            _ => None,
        }
    }
    /// Bytes the segment took on the wire, terminators included.
    pub fn wire_len(&self) -> usize {
        self.next.saturating_sub(self.start)
    }
}

/// Splits a message or frame body into segments. Terminators are CR, LF or CRLF (any run
/// of CR and LF); empty segments are skipped. The last segment may be unterminated.
pub struct Segments<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Segments of `buf`.
pub fn segments(buf: &[u8]) -> Segments<'_> {
    Segments { buf, pos: 0 }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;
    fn next(&mut self) -> Option<Segment<'a>> {
        let buf = self.buf;
        // Skip terminator runs before the segment (empty segments).
        while let Some(&b) = buf.get(self.pos) {
            if b == CR || b == LF {
                self.pos += 1;
            } else {
                break;
            }
        }
        let rest = buf.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start = self.pos;
        let len = memchr2(CR, LF, rest).unwrap_or(rest.len());
        let mut next = start + len;
        // The whole run of terminators (CR, LF, CRLF, blank lines) belongs to this segment.
        while matches!(buf.get(next), Some(&CR) | Some(&LF)) {
            next += 1;
        }
        self.pos = next;
        Some(Segment {
            bytes: &rest[..len],
            start,
            next,
        })
    }
}

/// One high bit per zero byte of `x`, exact (no false positives from borrows).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let y = (x & LO7).wrapping_add(LO7);
    !(y | x | LO7)
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The 8-byte word of `buf` at `at` as a little-endian number, and how many of its bytes
/// are `buf`'s: past the end, bytes are `pad` (choose one that matches nothing).
#[inline(always)]
fn word_at(buf: &[u8], at: usize, pad: u8) -> u64 {
    if let Some(w) = buf.get(at..at + 8) {
        return u64::from_le_bytes(w.try_into().unwrap_or([pad; 8]));
    }
    let mut w = [pad; 8];
    for (d, s) in w.iter_mut().zip(buf.get(at..).unwrap_or_default()) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

/// One high bit per byte of `buf[at..at + 8]` equal to the byte repeated in `splat`
/// (bytes past the end never match).
#[inline(always)]
fn match_word(buf: &[u8], at: usize, splat: u64) -> u64 {
    let len = buf.len();
    if at + 8 > len && len >= 8 && at < len {
        // A short tail of a long buffer: the last eight bytes (overlapping what was
        // already seen), the seen bytes' matches shifted out.
        let w = word_at(buf, len - 8, 0);
        return zero_bytes(w ^ splat) >> (8 * (at + 8 - len));
    }
    zero_bytes(word_at(buf, at, !(splat as u8)) ^ splat)
}

/// Number of high bits in a [`zero_bytes`]-style mask (at most one per byte).
#[inline(always)]
fn count_marks(m: u64) -> usize {
    ((m >> 7).wrapping_mul(ONES) >> 56) as usize
}

/// Offset of the `n`th (from 1) byte `b` (repeated in `splat`) at or after `from`, eight
/// bytes at a time; `Err(found)` when there are fewer than `n`.
#[inline]
fn nth_byte(buf: &[u8], from: usize, splat: u64, n: usize) -> Result<usize, usize> {
    let mut at = from;
    let mut left = n;
    while at < buf.len() {
        let mut m = match_word(buf, at, splat);
        if m != 0 {
            let c = count_marks(m);
            if c >= left {
                for _ in 1..left {
                    m &= m - 1;
                }
                return Ok(at + (m.trailing_zeros() / 8) as usize);
            }
            left -= c;
        }
        at += 8;
    }
    Err(n - left)
}

/// Which fields of a segment (numbered as [`fields`] numbers them, from 1) are not
/// empty: bit k for field k up to 127, and whether a later one is not empty either. One
/// pass over the separators, eight bytes at a time (PHI segments are reported this way).
pub fn nonempty_fields(seg: &[u8], sep: u8) -> (u128, bool) {
    let splat = u64::from(sep) * ONES;
    let mut bits = 0u128;
    let mut beyond = false;
    let mut mark = |k: usize| {
        if k < 128 {
            bits |= 1 << k;
        } else {
            beyond = true;
        }
    };
    // Separators seen, and where the last one is: field `k` starts just after it.
    let mut k = 0usize;
    let mut prev = None;
    let mut at = 0;
    while at < seg.len() {
        let mut m = match_word(seg, at, splat);
        while m != 0 {
            let p = at + (m.trailing_zeros() / 8) as usize;
            if prev.is_some_and(|q| p > q + 1) {
                mark(k);
            }
            k += 1;
            prev = Some(p);
            m &= m - 1;
        }
        at += 8;
    }
    if prev.is_some_and(|q| seg.len() > q + 1) {
        mark(k);
    }
    (bits, beyond)
}

/// Offset of the last segment terminator in `buf` (where complete segments end).
pub fn last_terminator(buf: &[u8]) -> Option<usize> {
    memchr::memrchr2(CR, LF, buf)
}

/// The fields of a segment, numbered as HL7 numbers them: index 0 is the segment id, and
/// for non-MSH segments index n is field n. For MSH/BHS/FHS, whose field 1 is the
/// separator itself, use [`header_field`].
pub fn fields(seg: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> + '_ {
    let mut start = 0usize;
    let mut ends = SepPositions::new(seg, sep).chain(std::iter::once(seg.len()));
    std::iter::from_fn(move || {
        let end = ends.next()?;
        let f = seg.get(start..end).unwrap_or_default();
        start = end + 1;
        Some(f)
    })
}

/// Fields `idx` (ascending; numbered as [`fields`] numbers them) of a segment in one pass,
/// counting separators 16 bytes at a time past blocks that hold none of interest: the hot
/// path for OBX, which needs only fields 5 and 18 of every observation.
pub fn fields_at<const N: usize>(seg: &[u8], sep: u8, idx: [usize; N]) -> [Option<&[u8]>; N] {
    field_ranges_at(seg, sep, idx).map(|r| r.and_then(|(a, b)| seg.get(a..b)))
}

/// Like [`fields_at`], as byte ranges `(start, end)` of `seg`.
pub fn field_ranges_at<const N: usize>(
    seg: &[u8],
    sep: u8,
    idx: [usize; N],
) -> [Option<(usize, usize)>; N] {
    let mut out = [None; N];
    let splat = u64::from(sep) * ONES;
    // Separators before `pos`: `pos` is the start of field `seen` once a separator was
    // just passed (or at 0).
    let mut seen = 0usize;
    let mut pos = 0usize;
    // End of the last field found: the separator after it starts the next field.
    let mut last_end = None;
    for (slot, &target) in out.iter_mut().zip(idx.iter()) {
        if let Some(e) = last_end.filter(|_| target == seen + 1) {
            if e >= seg.len() {
                break;
            }
            // The next field (MSH-3, -4, -5...): no second walk over the one just found.
            seen = target;
            pos = e + 1;
        }
        while seen < target {
            // Whole blocks of 32, then 16 bytes that cannot hold separator number `target`
            // are counted, not searched (a count compiles to vector compares, a mask and a
            // bit count).
            if let Some(Ok(block)) = seg.get(pos..pos + 32).map(<&[u8; 32]>::try_from) {
                let c = count_eq(block, sep);
                if seen + c < target {
                    seen += c;
                    pos += 32;
                    continue;
                }
            }
            if let Some(Ok(block)) = seg.get(pos..pos + 16).map(<&[u8; 16]>::try_from) {
                let c = count_eq(block, sep);
                if seen + c < target {
                    seen += c;
                    pos += 16;
                }
            }
            // Separator number `target` is in the next 16 bytes (or the short tail): find it
            // eight bytes at a time.
            match nth_byte(seg, pos, splat, target - seen) {
                Ok(k) => {
                    seen = target;
                    pos = k + 1;
                }
                Err(found) => {
                    seen += found;
                    break;
                }
            }
        }
        if seen != target {
            // Fewer fields than `target` (idx is ascending: so are the rest).
            break;
        }
        let end = nth_byte(seg, pos, splat, 1).unwrap_or(seg.len());
        *slot = Some((pos.min(seg.len()), end.min(seg.len())));
        last_end = Some(end);
    }
    out
}

/// Like [`field_ranges_at`], for fields numbered below 24 (a header's): the separators
/// up to the last field wanted are found in one pass, eight bytes at a time, and every
/// field is then read off their positions (instead of a search per field).
pub fn field_ranges_near<const N: usize>(
    seg: &[u8],
    sep: u8,
    idx: [usize; N],
) -> [Option<(usize, usize)>; N] {
    const M: usize = 24;
    let last = idx.iter().copied().max().unwrap_or(0);
    if last >= M || idx.windows(2).any(|w| w[0] > w[1]) {
        return field_ranges_at(seg, sep, idx);
    }
    // Positions of the first `last + 1` separators (fewer when the segment has fewer).
    let splat = u64::from(sep) * ONES;
    let mut pos = [0usize; M];
    let mut n = 0usize;
    let mut at = 0;
    'scan: while at < seg.len() {
        let mut m = match seg.get(at..at + 8) {
            Some(w) => zero_bytes(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) ^ splat),
            None => match_word(seg, at, splat),
        };
        while m != 0 {
            if n > last {
                break 'scan;
            }
            if let Some(p) = pos.get_mut(n) {
                *p = at + (m.trailing_zeros() / 8) as usize;
            }
            n += 1;
            m &= m - 1;
        }
        at += 8;
    }
    idx.map(|k| {
        if k > n {
            return None;
        }
        let start = match k.checked_sub(1) {
            Some(j) => pos.get(j)? + 1,
            None => 0,
        };
        let end = if k < n { *pos.get(k)? } else { seg.len() };
        Some((start.min(seg.len()), end.min(seg.len())))
    })
}

/// How many bytes of a block are `b` (written so that it compiles to vector compares, a
/// mask and a bit count on baseline x86-64).
#[inline(always)]
fn count_eq<const W: usize>(block: &[u8; W], b: u8) -> usize {
    let mut c = 0u8;
    for &x in block {
        c += u8::from(x == b);
    }
    usize::from(c)
}

/// Positions of `sep` in a segment, found eight bytes at a time (SWAR): fields are short,
/// so a vectorised search's set-up cost per field outweighs its speed, and a byte loop is
/// branchy.
struct SepPositions<'a> {
    seg: &'a [u8],
    /// Offset of the word whose matches are in `mask`.
    base: usize,
    /// One high bit per matching byte of the current word.
    mask: u64,
    splat: u64,
    started: bool,
}

impl<'a> SepPositions<'a> {
    fn new(seg: &'a [u8], sep: u8) -> Self {
        SepPositions {
            seg,
            base: 0,
            mask: 0,
            splat: u64::from(sep) * 0x0101_0101_0101_0101,
            started: false,
        }
    }

    /// Match mask of the word at `at` (a short tail is padded with non-matching bytes).
    fn word_mask(&self, at: usize) -> u64 {
        let len = self.seg.len();
        if let Some(w) = self.seg.get(at..at + 8) {
            return zero_bytes(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) ^ self.splat);
        }
        let tail = len.saturating_sub(at);
        if tail > 0 && len >= 8 {
            // A short tail of a long segment: load the last eight bytes (overlapping the
            // previous word) and drop the matches of the bytes already seen, instead of a
            // byte loop.
            let w = self.seg.get(len - 8..).unwrap_or_default();
            let m = zero_bytes(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) ^ self.splat);
            return m >> (8 * (8 - tail));
        }
        let mut w = (!self.splat).to_le_bytes();
        for (d, s) in w.iter_mut().zip(self.seg.get(at..).unwrap_or_default()) {
            *d = *s;
        }
        zero_bytes(u64::from_le_bytes(w) ^ self.splat)
    }
}

impl Iterator for SepPositions<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask != 0 {
                let bit = self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                return Some(self.base + bit / 8);
            }
            if self.started {
                self.base += 8;
            }
            self.started = true;
            if self.base >= self.seg.len() {
                return None;
            }
            self.mask = self.word_mask(self.base);
        }
    }
}

/// Field `n` (>= 3) of a header segment (MSH-n): MSH-1 is the separator and MSH-2 the
/// encoding characters, so MSH-n is the (n-1)th separator-delimited piece.
pub fn header_field(seg: &[u8], sep: u8, n: usize) -> Option<&[u8]> {
    fields(seg, sep).nth(n.checked_sub(1)?)
}

/// Splits `field` at `sep` when the role exists; otherwise the field is one piece.
pub fn split_opt(field: &[u8], sep: Option<u8>) -> impl Iterator<Item = &[u8]> + '_ {
    // A separator equal to CR never occurs inside a segment, so it never splits.
    fields(field, sep.unwrap_or(CR))
}

impl Delimiters {
    /// True when the declared component, repetition and subcomponent separators are shown
    /// as themselves (`^`, `~`, `&`, or absent): a field without an escape character then
    /// renders as its own bytes.
    pub fn shown_as_is(&self) -> bool {
        self.component.is_none_or(|c| c == b'^')
            && self.repetition.is_none_or(|c| c == b'~')
            && self.subcomponent.is_none_or(|c| c == b'&')
    }
}

/// When [`render_field`] would write `field`'s own bytes (delimiters `shown_as_is`, no
/// escape character in it): how many of them it keeps under `cap`, and whether it cut.
/// `None` when the field needs decoding.
#[inline]
pub fn plain_len(
    field: &[u8],
    d: &Delimiters,
    shown_as_is: bool,
    cap: usize,
) -> Option<(usize, bool)> {
    if shown_as_is && d.escape.is_none_or(|e| !contains_byte(field, e)) {
        Some((field.len().min(cap), field.len() > cap))
    } else {
        None
    }
}

/// Renders a field as text: escape sequences decoded, the declared component,
/// repetition and subcomponent separators shown as `^`, `~` and `&`. At most `cap` bytes
/// are written; returns whether the text was cut.
pub fn render_field(field: &[u8], d: &Delimiters, cap: usize, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    // Fast path: separators shown as themselves and no escape sequence to decode.
    if d.shown_as_is() && d.escape.is_none_or(|e| !contains_byte(field, e)) {
        out.extend_from_slice(field.get(..cap).unwrap_or(field));
        return field.len() > cap;
    }
    let mut i = 0;
    while let Some(&b) = field.get(i) {
        if out.len() - start >= cap {
            // An escape may have written past the cap.
            out.truncate(start + cap);
            return true;
        }
        if Some(b) == d.escape {
            if let Some(len) = memchr(b, field.get(i + 1..).unwrap_or_default()) {
                let body = field.get(i + 1..i + 1 + len).unwrap_or_default();
                if decode_escape(body, d, out) {
                    i += len + 2;
                    continue;
                }
            }
            out.push(b);
            i += 1;
            continue;
        }
        let mapped = if Some(b) == d.component {
            b'^'
        } else if Some(b) == d.repetition {
            b'~'
        } else if Some(b) == d.subcomponent {
            b'&'
        } else {
            b
        };
        out.push(mapped);
        i += 1;
    }
    let over = out.len() - start > cap;
    if over {
        out.truncate(start + cap);
    }
    over
}

/// Whether `b` occurs in `field`. Reported fields are mostly a few bytes long, where a
/// plain loop beats `memchr`'s dispatch and set-up; long ones still go to `memchr`.
fn contains_byte(field: &[u8], b: u8) -> bool {
    if field.len() <= 32 {
        field.contains(&b)
    } else {
        memchr(b, field).is_some()
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one escape sequence body (between the escape characters) into `out`; false
/// when it is not a known sequence (the caller then keeps the text as sent).
/// HL7 v2 chapter 2, "Use of escape sequences in text fields".
fn decode_escape(body: &[u8], d: &Delimiters, out: &mut Vec<u8>) -> bool {
    let lit = |c: Option<u8>, out: &mut Vec<u8>| match c {
        Some(c) => {
            out.push(c);
            true
        }
        None => false,
    };
    match body {
        b"F" => {
            out.push(d.field);
            true
        }
        b"S" => lit(d.component, out),
        b"T" => lit(d.subcomponent, out),
        b"R" => lit(d.repetition, out),
        b"E" => lit(d.escape, out),
        b"P" => lit(d.truncation, out),
        // Highlighting on/off: presentation only.
        b"H" | b"N" => true,
        [b'X', hex @ ..] if !hex.is_empty() && hex.len() % 2 == 0 => {
            if hex.iter().any(|&h| hex_val(h).is_none()) {
                return false;
            }
            for pair in hex.chunks_exact(2) {
                if let [h, l] = pair {
                    let v = hex_val(*h).unwrap_or(0) << 4 | hex_val(*l).unwrap_or(0);
                    out.push(v);
                }
            }
            true
        }
        // Locally defined (Z), character set switches (C, M): not shown.
        [b'Z', ..] | [b'C', ..] | [b'M', ..] => true,
        // Formatted text commands: line breaks become newlines, the rest are dropped.
        [b'.', cmd @ ..] => {
            if cmd.starts_with(b"br") || cmd.starts_with(b"sp") {
                out.push(b'\n');
            }
            true
        }
        _ => false,
    }
}

/// Result of [`probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// An MLLP start block followed by a header segment.
    Mllp,
    /// A header segment at the start, without MLLP framing.
    Unframed,
    NeedMore,
    NoMatch,
}

/// True when `b` starts like a header segment with plausible delimiters
/// (`MSH|^~\&|`, `MSH*%$\!*`...). `None` when too short to tell.
pub fn header_like(b: &[u8]) -> Option<bool> {
    let want = [b"MSH", b"BHS", b"FHS"];
    let n = b.len().min(3);
    if !want.iter().any(|w| w.get(..n) == b.get(..n)) {
        return Some(false);
    }
    let &sep = b.get(3)?;
    if !can_delimit(sep) {
        return Some(false);
    }
    // MSH-2: 1..=5 delimiter characters, then the separator again.
    for (i, &c) in b.iter().enumerate().skip(4).take(6) {
        if c == sep {
            return Some(i > 4);
        }
        if !can_delimit(c) {
            return Some(false);
        }
    }
    if b.len() < 10 {
        None
    } else {
        Some(false)
    }
}

/// Detects HL7 on the first bytes of a direction: an MLLP start block followed by MSH,
/// BHS or FHS anywhere in them (so a flow joined mid-stream is found at its next
/// message), or a header segment at the very start (un-framed HL7).
pub fn probe(data: &[u8]) -> ProbeResult {
    match header_like(data) {
        Some(true) => return ProbeResult::Unframed,
        None => return ProbeResult::NeedMore,
        Some(false) => {}
    }
    let mut from = 0;
    while let Some(i) = data.get(from..).and_then(find_start_block) {
        let at = from + i + 1;
        match header_like(data.get(at..).unwrap_or_default()) {
            Some(true) => return ProbeResult::Mllp,
            None => return ProbeResult::NeedMore,
            Some(false) => from = at,
        }
    }
    // The bytes end exactly at a frame end (MLLP joined mid-stream, or a commit
    // acknowledgement block): the next frame decides.
    if data.len() < 8192 && data.ends_with(&[END_BLOCK, CR]) {
        return ProbeResult::NeedMore;
    }
    ProbeResult::NoMatch
}

/// Iterates positions of CR/LF in `buf` (used by tests and the unframed splitter).
pub fn terminators(buf: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr2_iter(CR, LF, buf)
}

#[cfg(test)]
#[test]
fn parse_delimiters_fast_path_matches_general() {
    // The shortcut for `|^~\&` gives exactly what the general parser gives, and only
    // the exact declaration takes it.
    for seg in [
        &b"MSH|^~\\&|LAB|X"[..],
        b"MSH|^~\\&",
        b"BHS|^~\\&||",
        b"MSH|^~\\&#|LAB",
        b"MSH|^~\\|",
        b"MSH|^~\\&&|",
        b"MSH*^~\\&*",
    ] {
        assert_eq!(
            parse_delimiters(seg),
            parse_delimiters_general(seg),
            "{seg:?}"
        );
    }
}
