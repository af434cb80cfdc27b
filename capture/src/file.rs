//! pcap and pcapng file sources, and a merge of several files in timestamp order.
//!
//! Classic pcap files are memory-mapped and walked record by record with `pcap-parser`'s
//! slice parsers: no read copy, and pages already processed are released as the walk goes
//! on, so the resident size stays flat whatever the file size; pages ahead of the walk are
//! mapped in steps and the records just ahead are prefetched, so reading a record header
//! is not a page fault or a round trip to main memory. pcapng files (and anything
//! that cannot be mapped) go through `pcap-parser`'s streaming reader with a bounded
//! buffer. A mapped file must not be truncated while it is read.
//!
//! Memory is bounded by the read buffer, whatever the file size. Damage is counted under
//! named reasons and reading goes on where the format allows: unknown pcapng blocks are
//! skipped, a record cut by the end of file ends that file (`truncated_file`), a record
//! longer than the read buffer allows ends it too (`record_too_large`: classic pcap has
//! no resynchronisation marker), a wrong magic skips the file (`bad_magic`).

use crate::decode::LinkType;
use model::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A read-only file mapping, shared with the workers that read frames from it.
pub use memmap2::Mmap;

/// Initial read buffer, and the largest it may grow to for one record.
const READ_BUF: usize = 1 << 20;
const MAX_READ_BUF: usize = 16 << 20;

/// A packet's header as read from a file; its bytes were appended to the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHdr {
    pub ts: Timestamp,
    pub linktype: LinkType,
    pub caplen: u32,
    pub origlen: u32,
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: LinkType,
    /// Units per second.
    units: u64,
    offset_secs: i64,
    snaplen: u32,
}

/// Anomaly counts of a source, by reason.
#[derive(Debug, Clone, Default)]
pub struct SourceAnomalies(pub Vec<(&'static str, u64)>);

impl SourceAnomalies {
    pub fn add(&mut self, reason: &'static str) {
        match self.0.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.0.push((reason, 1)),
        }
    }
}

/// One open capture file.
pub struct FileSource {
    path: PathBuf,
    reader: Option<Box<dyn PcapReaderIterator + Send>>,
    mapped: Option<Mapped>,
    legacy: Option<(LinkType, bool, u32)>,
    ifaces: Vec<Iface>,
    last_ts: Timestamp,
    pub anomalies: SourceAnomalies,
    /// Bytes of the file consumed so far (progress display).
    pub position: u64,
}

impl FileSource {
    /// Opens a file. A missing or unreadable file is an error; a file that is not pcap or
    /// pcapng opens as an empty source with `bad_magic` counted.
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        let file = File::open(path)?;
        if let Some(m) = Mapped::open(&file) {
            let (lt, nanos, snaplen, be) = m.header;
            let mut anomalies = SourceAnomalies::default();
            if snaplen == 0 || snaplen > 0x0400_0000 {
                anomalies.add("odd_snaplen");
            }
            let _ = be;
            return Ok(FileSource {
                path: path.to_path_buf(),
                reader: None,
                mapped: Some(m),
                legacy: Some((lt, nanos, snaplen)),
                ifaces: Vec::new(),
                last_ts: Timestamp::ZERO,
                anomalies,
                position: 24,
            });
        }
        let mut anomalies = SourceAnomalies::default();
        let reader = match create_reader(READ_BUF, file) {
            Ok(r) => Some(r),
            Err(PcapError::HeaderNotRecognized) => {
                anomalies.add("bad_magic");
                None
            }
            Err(PcapError::Eof | PcapError::Incomplete(_) | PcapError::UnexpectedEof) => {
                anomalies.add("truncated_file");
                None
            }
            Err(_) => {
                anomalies.add("bad_file_header");
                None
            }
        };
        Ok(FileSource {
            path: path.to_path_buf(),
            reader,
            mapped: None,
            legacy: None,
            ifaces: Vec::new(),
            last_ts: Timestamp::ZERO,
            anomalies,
            position: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's mapping, when it is read through one (frames handed out by
    /// [`FileSource::next_with`] then lie inside it).
    pub fn mapping(&self) -> Option<Arc<Mmap>> {
        self.mapped.as_ref().map(|m| m.map.clone())
    }

    /// Reads the next packet, appending its captured bytes to `out`. `None` at the end.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> Option<PacketHdr> {
        self.next_with(|_, data| out.extend_from_slice(data))
    }

    /// Reads the next packet and shows its bytes to `f` without copying them.
    pub fn next_with<F: FnOnce(PacketHdr, &[u8])>(&mut self, f: F) -> Option<PacketHdr> {
        if self.mapped.is_some() {
            return self.next_mapped(f);
        }
        let mut f = Some(f);
        // The reader is taken out while a block borrows its buffer, and put back after.
        let mut reader = self.reader.take()?;
        loop {
            match reader.next() {
                Ok((offset, block)) => {
                    let got = self.on_block(&block);
                    if let Some((hdr, data)) = got {
                        if let Some(f) = f.take() {
                            f(hdr, data);
                        }
                    }
                    let got = got.map(|(h, _)| h);
                    reader.consume(offset);
                    self.position += offset as u64;
                    if got.is_some() {
                        self.reader = Some(reader);
                        return got;
                    }
                }
                Err(PcapError::Eof) => return None,
                Err(PcapError::Incomplete(_)) => {
                    let before = reader.data().len();
                    if reader.refill().is_err() {
                        self.anomalies.add("read_error");
                        return None;
                    }
                    if reader.data().len() == before && before == 0 {
                        // Everything was read and consumed: a clean end.
                        return None;
                    }
                    if reader.data().len() == before {
                        // Nothing more came: the last record is cut by the end of the file,
                        // or it is larger than the buffer (which then holds only it).
                        let full = reader.consumed() == 0 && before >= READ_BUF;
                        if full && before < MAX_READ_BUF && reader.grow(before * 2) {
                            continue;
                        }
                        self.anomalies.add(if full {
                            "record_too_large"
                        } else {
                            "truncated_file"
                        });
                        return None;
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    let cur = reader.data().len().max(READ_BUF);
                    if cur >= MAX_READ_BUF || !reader.grow(cur * 2) {
                        self.anomalies.add("record_too_large");
                        return None;
                    }
                }
                Err(PcapError::UnexpectedEof) => {
                    self.anomalies.add("truncated_file");
                    return None;
                }
                Err(_) => {
                    self.anomalies.add("malformed_block");
                    return None;
                }
            }
        }
    }

    fn next_mapped<F: FnOnce(PacketHdr, &[u8])>(&mut self, f: F) -> Option<PacketHdr> {
        let m = self.mapped.take()?;
        let rest = m.map.get(m.pos..).unwrap_or_default();
        if rest.is_empty() {
            return None;
        }
        let (lt, nanos, snaplen) = self.legacy.unwrap_or((LinkType::ETHERNET, false, 0));
        let parsed = if m.header.3 {
            pcap_parser::pcap::parse_pcap_frame_be(rest)
        } else {
            pcap_parser::pcap::parse_pcap_frame(rest)
        };
        match parsed {
            Ok((rem, b)) => {
                let used = rest.len() - rem.len();
                let ts = if nanos {
                    Timestamp::from_secs_nanos(i64::from(b.ts_sec), i64::from(b.ts_usec))
                } else {
                    Timestamp::from_secs_micros(i64::from(b.ts_sec), i64::from(b.ts_usec))
                };
                let got = self.emit(ts, lt, b.data, b.caplen, b.origlen, snaplen);
                if let Some((hdr, data)) = got {
                    f(hdr, data);
                }
                let got = got.map(|(h, _)| h);
                let mut m = m;
                m.pos += used;
                m.release_behind();
                m.read_ahead();
                self.position = m.pos as u64;
                self.mapped = Some(m);
                got
            }
            Err(nom_err) => {
                let incomplete = matches!(nom_err, pcap_parser::nom::Err::Incomplete(_));
                self.anomalies.add(if incomplete {
                    "truncated_file"
                } else {
                    "malformed_block"
                });
                None
            }
        }
    }

    fn on_block<'b>(&mut self, block: &PcapBlockOwned<'b>) -> Option<(PacketHdr, &'b [u8])> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                let lt = LinkType(h.network.0 as u32);
                if h.snaplen == 0 || h.snaplen > 0x0400_0000 {
                    self.anomalies.add("odd_snaplen");
                }
                self.legacy = Some((lt, h.is_nanosecond_precision(), h.snaplen));
                None
            }
            PcapBlockOwned::Legacy(b) => {
                let (lt, nanos, snaplen) = self.legacy.unwrap_or((LinkType::ETHERNET, false, 0));
                let ts = if nanos {
                    Timestamp::from_secs_nanos(i64::from(b.ts_sec), i64::from(b.ts_usec))
                } else {
                    Timestamp::from_secs_micros(i64::from(b.ts_sec), i64::from(b.ts_usec))
                };
                self.emit(ts, lt, b.data, b.caplen, b.origlen, snaplen)
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.ifaces.clear();
                None
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                let units = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                self.ifaces.push(Iface {
                    linktype: LinkType(idb.linktype.0 as u32),
                    units,
                    offset_secs: idb.ts_offset(),
                    snaplen: idb.snaplen,
                });
                None
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(ifc) = self.ifaces.get(epb.if_id as usize).copied() else {
                    self.anomalies.add("bad_interface_id");
                    return None;
                };
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let micros = (u128::from(raw) * 1_000_000 / u128::from(ifc.units)) as i64;
                let ts =
                    Timestamp(micros.saturating_add(ifc.offset_secs.saturating_mul(1_000_000)));
                self.emit(
                    ts,
                    ifc.linktype,
                    epb.data,
                    epb.caplen,
                    epb.origlen,
                    ifc.snaplen,
                )
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let Some(ifc) = self.ifaces.first().copied() else {
                    self.anomalies.add("bad_interface_id");
                    return None;
                };
                let ts = self.last_ts;
                let caplen = spb.data.len() as u32;
                self.emit(ts, ifc.linktype, spb.data, caplen, spb.origlen, ifc.snaplen)
            }
            PcapBlockOwned::NG(Block::Unknown(_)) => {
                self.anomalies.add("unknown_block");
                None
            }
            PcapBlockOwned::NG(_) => None,
        }
    }

    #[allow(clippy::too_many_arguments)] // reason: the record's fields, passed once
    fn emit<'b>(
        &mut self,
        ts: Timestamp,
        linktype: LinkType,
        data: &'b [u8],
        caplen: u32,
        origlen: u32,
        snaplen: u32,
    ) -> Option<(PacketHdr, &'b [u8])> {
        if snaplen > 0 && caplen > snaplen {
            self.anomalies.add("caplen_exceeds_snaplen");
        }
        if origlen < caplen {
            self.anomalies.add("origlen_below_caplen");
        }
        // The record's caplen may lie; the bytes actually present are what counts.
        let n = (caplen as usize).min(data.len());
        self.last_ts = ts;
        let hdr = PacketHdr {
            ts,
            linktype,
            caplen: n as u32,
            origlen: origlen.max(n as u32),
        };
        Some((hdr, data.get(..n).unwrap_or_default()))
    }
}

/// Several files read as one stream in timestamp order (a k-way merge on the next packet
/// of each file; ties go to the file named first).
pub struct MergedFiles {
    files: Vec<FileSource>,
    heads: Vec<Option<(PacketHdr, Vec<u8>)>>,
}

impl MergedFiles {
    pub fn open(paths: &[PathBuf]) -> std::io::Result<MergedFiles> {
        let mut files = Vec::new();
        for p in paths {
            files.push(
                FileSource::open(p)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
            );
        }
        let heads = files.iter().map(|_| None).collect();
        let mut m = MergedFiles { files, heads };
        for i in 0..m.files.len() {
            m.refill(i);
        }
        Ok(m)
    }

    fn refill(&mut self, i: usize) {
        let (Some(f), Some(h)) = (self.files.get_mut(i), self.heads.get_mut(i)) else {
            return;
        };
        let mut buf = h.take().map(|(_, b)| b).unwrap_or_default();
        buf.clear();
        *h = f.next_into(&mut buf).map(|hdr| (hdr, buf));
    }

    /// Appends the next packet (earliest timestamp across files) to `out`.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> Option<PacketHdr> {
        self.next_with(|_, d| out.extend_from_slice(d))
    }

    /// Shows the next packet (earliest timestamp across files) to `f`.
    pub fn next_with<F: FnOnce(PacketHdr, &[u8])>(&mut self, f: F) -> Option<PacketHdr> {
        if self.files.len() == 1 {
            // One file: straight from the read buffer, no staging copy.
            if let Some((hdr, buf)) = self.heads.get_mut(0).and_then(Option::take) {
                f(hdr, &buf);
                return Some(hdr);
            }
            return self.files.get_mut(0)?.next_with(f);
        }
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some((hdr, _)) = h {
                if best.is_none_or(|(_, t)| hdr.ts < t) {
                    best = Some((i, hdr.ts));
                }
            }
        }
        let (i, _) = best?;
        let (hdr, buf) = self.heads.get_mut(i)?.take()?;
        f(hdr, &buf);
        self.heads[i] = Some((hdr, buf));
        self.refill(i);
        Some(hdr)
    }

    /// The mapping of the only file, when there is one file and it is mapped.
    pub fn single_mapping(&self) -> Option<Arc<Mmap>> {
        match self.files.as_slice() {
            [f] => f.mapping(),
            _ => None,
        }
    }

    /// Bytes consumed across files (progress).
    pub fn position(&self) -> u64 {
        self.files.iter().map(|f| f.position).sum()
    }

    pub fn files(&self) -> &[FileSource] {
        &self.files
    }
}

/// A classic pcap file mapped in memory.
struct Mapped {
    map: Arc<memmap2::Mmap>,
    pos: usize,
    /// Bytes before this offset were handed back to the kernel.
    released: usize,
    /// Pages before this offset are mapped in (populated ahead of the walk).
    populated: usize,
    /// Cache lines before this offset were prefetched.
    prefetched: usize,
    /// Link type, nanosecond timestamps, snaplen, big-endian.
    header: (LinkType, bool, u32, bool),
}

/// Release processed pages in steps of this many bytes.
const RELEASE_STEP: usize = 32 << 20;
/// Map pages ahead of the walk in steps of this many bytes.
const POPULATE_STEP: usize = 4 << 20;
/// Prefetch this far ahead of the record being read.
const PREFETCH_BYTES: usize = 8192;

impl Mapped {
    /// Maps `file` when it is a classic pcap (not pcapng, not the "modified" format).
    fn open(file: &File) -> Option<Mapped> {
        let len = file.metadata().ok()?.len();
        if len < 24 || !file.metadata().ok()?.is_file() {
            return None;
        }
        // SAFETY: a read-only private view of a regular file; the contract (documented at
        // the top of this module) is that capture files are not truncated while read.
        let map = Arc::new(unsafe { memmap2::Mmap::map(file) }.ok()?);
        let magic = map.get(..4)?;
        let be = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
            [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
            _ => return None,
        };
        let (_, h) = pcap_parser::pcap::parse_pcap_header(map.get(..24)?).ok()?;
        let _ = map.advise(memmap2::Advice::Sequential);
        Some(Mapped {
            header: (
                LinkType(h.network.0 as u32),
                h.is_nanosecond_precision(),
                h.snaplen,
                be,
            ),
            map,
            pos: 24,
            released: 0,
            populated: 0,
            prefetched: 0,
        })
    }

    /// Keeps the walk fed: maps the pages ahead in steps (one call instead of a page
    /// fault every few pages) and prefetches the cache lines just ahead of the record
    /// being read, so its header is not a round trip to main memory. The bytes are all
    /// read anyway (the workers decode every frame), so this adds no traffic.
    fn read_ahead(&mut self) {
        let len = self.map.len();
        if self.pos + POPULATE_STEP / 2 > self.populated && self.populated < len {
            let n = POPULATE_STEP.min(len - self.populated);
            let _ = self
                .map
                .advise_range(memmap2::Advice::PopulateRead, self.populated, n);
            self.populated += n;
        }
        let end = (self.pos + PREFETCH_BYTES).min(len);
        let base = self.map.as_ptr();
        let mut at = self.prefetched.max(self.pos & !63);
        while at < end {
            crate::prefetch::read(base.wrapping_add(at));
            at += 64;
        }
        self.prefetched = at;
    }

    /// Hands pages the reader passed long ago back to the kernel so resident memory stays
    /// flat. Workers may still read frames there by offset: dropping pages of a read-only
    /// file mapping is never wrong, a late reader only faults them in again from the page
    /// cache; the lag (at least one step) is far more than the worker queues hold.
    fn release_behind(&mut self) {
        if self.pos >= self.released + 2 * RELEASE_STEP {
            let len = RELEASE_STEP;
            // SAFETY: the range lies inside the mapping and is page-aligned (multiples of
            // 32 MiB from its start); it is a read-only file mapping, so dropping the pages
            // only means they are read again from the page cache if touched.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.released,
                    len,
                )
            };
            self.released += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::pcap::{udp_frame, PcapWriter, LINKTYPE_ETHERNET};

    fn write(dir: &Path, name: &str, ts: &[i64]) -> PathBuf {
        let mut w = PcapWriter::new(LINKTYPE_ETHERNET);
        for (i, t) in ts.iter().enumerate() {
            let f = udp_frame(
                [2; 6],
                [4; 6],
                [10, 0, 0, 1].into(),
                1000 + i as u16,
                [10, 0, 0, 2].into(),
                53,
                b"q",
            );
            w.add(*t, &f);
        }
        let p = dir.join(name);
        w.write_to(&p).unwrap();
        p
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ww-file-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn file_merge_orders_by_timestamp() {
        // Two files interleave by capture time.
        let d = tmpdir("merge");
        let a = write(&d, "a.pcap", &[1, 5, 9]);
        let b = write(&d, "b.pcap", &[2, 3, 10]);
        let mut m = MergedFiles::open(&[a, b]).unwrap();
        let mut ts = vec![];
        let mut buf = vec![];
        while let Some(h) = m.next_into(&mut buf) {
            ts.push(h.ts.0);
        }
        assert_eq!(ts, vec![1, 2, 3, 5, 9, 10]);
    }

    #[test]
    fn file_truncated_is_counted_and_keeps_earlier_packets() {
        // Cutting a file mid-record keeps the complete records and counts the damage.
        let d = tmpdir("trunc");
        let a = write(&d, "a.pcap", &[1, 2, 3]);
        let bytes = std::fs::read(&a).unwrap();
        for cut in [bytes.len() - 5, bytes.len() - 40, 30] {
            std::fs::write(&a, &bytes[..cut]).unwrap();
            let mut f = FileSource::open(&a).unwrap();
            let mut buf = vec![];
            let mut n = 0;
            while f.next_into(&mut buf).is_some() {
                n += 1;
            }
            assert!(n < 3);
            assert!(
                f.anomalies.0.iter().any(|(r, _)| *r == "truncated_file"),
                "{cut}: {:?}",
                f.anomalies
            );
        }
    }

    #[test]
    fn file_every_packet_has_its_bytes_and_clean_end_is_not_damage() {
        // The first record's bytes reach the visitor (header blocks do not use it up), and
        // reading to the end of an intact file counts no damage.
        let d = tmpdir("bytes");
        let a = write(&d, "a.pcap", &[1, 2]);
        let mut f = FileSource::open(&a).unwrap();
        let mut lens = vec![];
        while f
            .next_with(|h, data| lens.push((h.caplen as usize, data.len())))
            .is_some()
        {}
        assert_eq!(lens.len(), 2);
        assert!(lens.iter().all(|(c, l)| c == l && *l > 40), "{lens:?}");
        assert!(f.anomalies.0.is_empty(), "{:?}", f.anomalies);
    }

    #[test]
    fn file_read_ahead_stays_inside_the_mapping() {
        // Mapping pages in and prefetching ahead of the walk stop at the end of the file,
        // and the walk still hands out every record intact.
        let d = tmpdir("ahead");
        let ts: Vec<i64> = (0..200).collect();
        let a = write(&d, "a.pcap", &ts);
        let len = std::fs::metadata(&a).unwrap().len() as usize;
        let mut f = FileSource::open(&a).unwrap();
        let mut n = 0;
        let mut populated = 0;
        while f
            .next_with(|h, data| assert_eq!(h.caplen as usize, data.len()))
            .is_some()
        {
            n += 1;
            let m = f.mapped.as_ref().unwrap();
            assert!(m.populated <= len && m.populated >= m.pos.min(len));
            assert!(m.prefetched <= (len + 63) & !63, "{} {len}", m.prefetched);
            populated = m.populated;
        }
        assert_eq!(n, 200);
        assert_eq!(populated, len);
        // The end of the walk lets go of the mapping.
        assert!(f.mapped.is_none());
    }

    #[test]
    fn file_wrong_magic_is_counted_not_fatal() {
        // A file that is not a capture is counted as bad_magic and yields nothing.
        let d = tmpdir("magic");
        let p = d.join("x.pcap");
        std::fs::write(&p, b"this is not a pcap file at all, just text.....").unwrap();
        let mut f = FileSource::open(&p).unwrap();
        assert!(f.next_into(&mut vec![]).is_none());
        assert_eq!(f.anomalies.0, vec![("bad_magic", 1)]);
    }

    #[test]
    fn file_missing_is_an_error() {
        // A missing file is an I/O error naming the path.
        let e = MergedFiles::open(&[PathBuf::from("/nonexistent/x.pcap")])
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent/x.pcap"));
    }
}
