//! EVE to a file, with rotation by size and reopening on request (SIGHUP).
//!
//! Lines are never split: bytes are held until their line ends, and a new file starts
//! only between two lines. By size: when the next lines would take the file past
//! `max_bytes`, the lines that fit are written, the file is renamed `FILE.1` (older ones
//! shift to `FILE.2` ... `FILE.keep`, the oldest is deleted) and a new `FILE` begins; a
//! single line longer than `max_bytes` gets a file of its own. On request (a counter the
//! SIGHUP handler bumps, checked on every write and flush): `FILE` is reopened, which is
//! what logrotate's `postrotate kill -HUP` expects after it moved the file away.
//!
//! A failed rename or reopen is logged and writing goes on to the file already open, so
//! no event is lost; only a failed write is an error.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes held before complete lines are written out (the writer also flushes on a tick).
const BUF_BYTES: usize = 1 << 16;

/// An EVE file that rotates by size and reopens when `reopen` changes.
pub struct EveFile {
    path: PathBuf,
    file: File,
    /// Pending bytes; everything up to the last `\n` is written on flush.
    buf: Vec<u8>,
    /// Bytes in the current file.
    size: u64,
    max_bytes: u64,
    keep: usize,
    reopen: &'static AtomicU64,
    seen: u64,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl EveFile {
    /// Opens `path`: truncated when `truncate` (a replay's fresh output), appended to
    /// otherwise (a service restart keeps what it wrote). `max_bytes` 0 never rotates by
    /// size; `keep` is at least 1. A change of `reopen` reopens the file.
    pub fn open(
        path: &Path,
        truncate: bool,
        max_bytes: u64,
        keep: usize,
        reopen: &'static AtomicU64,
    ) -> io::Result<EveFile> {
        let file = if truncate {
            File::create(path)?
        } else {
            open_append(path)?
        };
        let size = file.metadata()?.len();
        Ok(EveFile {
            path: path.to_path_buf(),
            file,
            buf: Vec::with_capacity(BUF_BYTES),
            size,
            max_bytes,
            keep: keep.max(1),
            reopen,
            seen: reopen.load(Ordering::Relaxed),
        })
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    /// Renames the current file to `.1` (shifting older ones) and starts a new one.
    fn rotate(&mut self) {
        // Shift only the files that exist: FILE.1 .. up to the first gap (or FILE.keep,
        // which is deleted), so a large `keep` costs nothing until that many files exist.
        let mut top = 1;
        while top < self.keep && self.numbered(top).exists() {
            top += 1;
        }
        if top == self.keep {
            let _ = std::fs::remove_file(self.numbered(self.keep));
        }
        for n in (1..top).rev() {
            let _ = std::fs::rename(self.numbered(n), self.numbered(n + 1));
        }
        if let Err(e) = std::fs::rename(&self.path, self.numbered(1)) {
            tracing::warn!(file = %self.path.display(), error = %e,
                "EVE rotation failed; writing on to the same file.");
            // Do not try again before another max_bytes were written.
            self.size = 0;
            return;
        }
        self.reopen_file();
    }

    /// Opens `path` afresh (appending) in place of the current file.
    fn reopen_file(&mut self) {
        match open_append(&self.path).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((len, f)) => {
                self.file = f;
                self.size = len;
            }
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e,
                    "EVE file reopen failed; writing on to the file already open.");
                self.size = 0;
            }
        }
    }

    /// Writes whole lines, rotating between lines as `max_bytes` says.
    fn write_lines(&mut self, mut rest: &[u8]) -> io::Result<()> {
        while !rest.is_empty() {
            let room = self.max_bytes.saturating_sub(self.size);
            if self.max_bytes == 0 || rest.len() as u64 <= room {
                self.file.write_all(rest)?;
                self.size += rest.len() as u64;
                return Ok(());
            }
            let fit = rest.get(..room as usize).unwrap_or(rest);
            let cut = match fit.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                // Nothing fits: a new file, unless this one is empty (a long line alone).
                None if self.size > 0 => {
                    self.rotate();
                    continue;
                }
                None => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
            };
            let (now, later) = rest.split_at(cut);
            self.file.write_all(now)?;
            self.size += now.len() as u64;
            rest = later;
            if !rest.is_empty() {
                self.rotate();
            }
        }
        Ok(())
    }

    /// Writes the complete lines held; with `all`, a partial last line too (at the end).
    fn drain(&mut self, all: bool) -> io::Result<()> {
        let end = if all {
            self.buf.len()
        } else {
            self.buf
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        if end == 0 {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.buf);
        let res = self.write_lines(pending.get(..end).unwrap_or_default());
        self.buf = pending;
        self.buf.drain(..end);
        res
    }

    /// Reopens the file when asked to since the last look; what was written before the
    /// request stays in the old file.
    fn check_reopen(&mut self) -> io::Result<()> {
        let now = self.reopen.load(Ordering::Relaxed);
        if now != self.seen {
            self.seen = now;
            self.drain(false)?;
            self.reopen_file();
        }
        Ok(())
    }
}

impl Write for EveFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check_reopen()?;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BUF_BYTES {
            self.drain(false)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_reopen()?;
        self.drain(false)?;
        self.file.flush()
    }
}

impl Drop for EveFile {
    fn drop(&mut self) {
        let _ = self.drain(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` EVE-like lines of varying length, numbered.
    fn lines(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i * 7 % 50)))
            .collect()
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn size_rotation_keeps_whole_lines_in_order() {
        // 300 lines written in chunks that cut lines anywhere, 1000-byte files, keep 100:
        // every file ends with a newline, is at most 1000 bytes, and the files read oldest
        // first give back exactly the lines written.
        static R: AtomicU64 = AtomicU64::new(0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let all: String = lines(300).concat();
        let mut f = EveFile::open(&p, true, 1000, 100, &R).unwrap();
        for chunk in all.as_bytes().chunks(37) {
            f.write_all(chunk).unwrap();
            if chunk[0] == b'{' {
                f.flush().unwrap();
            }
        }
        drop(f);
        let mut got = String::new();
        let mut files = 0;
        for n in (1..=100).rev() {
            let q = PathBuf::from(format!("{}.{n}", p.display()));
            if q.exists() {
                let t = read(&q);
                assert!(t.len() <= 1000 && t.ends_with('\n'), "{n}: {}", t.len());
                got.push_str(&t);
                files += 1;
            }
        }
        got.push_str(&read(&p));
        assert!(files >= 10, "{files}");
        assert_eq!(got, all);
    }

    #[test]
    fn size_rotation_deletes_beyond_keep_and_isolates_long_lines() {
        // keep = 2: only FILE, FILE.1 and FILE.2 remain, holding the newest lines; a line
        // longer than max_bytes sits alone in its file.
        static R: AtomicU64 = AtomicU64::new(0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let mut f = EveFile::open(&p, true, 100, 2, &R).unwrap();
        let long = format!("{{\"long\":\"{}\"}}\n", "y".repeat(300));
        let mut want = Vec::new();
        for i in 0..30 {
            let l = if i == 25 {
                long.clone()
            } else {
                format!("{{\"n\":{i}}}\n")
            };
            f.write_all(l.as_bytes()).unwrap();
            f.flush().unwrap();
            want.push(l);
        }
        drop(f);
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let got = format!(
            "{}{}{}",
            read(&d.path().join("eve.json.2")),
            read(&d.path().join("eve.json.1")),
            read(&p)
        );
        assert!(want.concat().ends_with(&got), "{got}");
        assert!(got.contains(&long));
        assert!([
            p.clone(),
            d.path().join("eve.json.1"),
            d.path().join("eve.json.2")
        ]
        .iter()
        .any(|q| read(q) == long));
    }

    #[test]
    fn reopen_after_move_starts_a_new_file() {
        // logrotate's way: the file is moved away, then the counter changes (SIGHUP); lines
        // written before stay in the moved file, later ones go to a new FILE, none split.
        static R: AtomicU64 = AtomicU64::new(0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        let old = d.path().join("eve.json.old");
        let mut f = EveFile::open(&p, false, 0, 5, &R).unwrap();
        f.write_all(b"{\"a\":1}\n{\"a\":").unwrap();
        std::fs::rename(&p, &old).unwrap();
        f.write_all(b"2}\n").unwrap();
        f.flush().unwrap();
        R.fetch_add(1, Ordering::Relaxed);
        // The idle writer's tick flush is enough to reopen.
        f.flush().unwrap();
        assert!(p.exists());
        f.write_all(b"{\"b\":1}\n").unwrap();
        drop(f);
        assert_eq!(read(&old), "{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(read(&p), "{\"b\":1}\n");
    }

    #[test]
    fn append_mode_keeps_and_counts_existing_bytes() {
        // A restart appends (and counts the existing size towards max_bytes); a replay
        // truncates.
        static R: AtomicU64 = AtomicU64::new(0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("eve.json");
        std::fs::write(&p, "{\"old\":1}\n").unwrap();
        let mut f = EveFile::open(&p, false, 15, 3, &R).unwrap();
        f.write_all(b"{\"new\":1}\n").unwrap();
        drop(f);
        assert_eq!(read(&d.path().join("eve.json.1")), "{\"old\":1}\n");
        assert_eq!(read(&p), "{\"new\":1}\n");
        let f = EveFile::open(&p, true, 0, 3, &R).unwrap();
        drop(f);
        assert_eq!(read(&p), "");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn eve_file_any_chunking_and_limit_keeps_every_line(
            lines in proptest::collection::vec("[a-z]{0,40}", 1..60),
            cuts in proptest::collection::vec(1usize..50, 1..20),
            max in 1u64..300,
        ) {
            // Any lines, any write sizes, any limit: the files read oldest first give back
            // the input; each file is whole lines, within the limit unless it is one line.
            static R: AtomicU64 = AtomicU64::new(0);
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("eve.json");
            let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let mut f = EveFile::open(&p, true, max, 100_000, &R).unwrap();
            let mut rest = all.as_bytes();
            for c in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at((*c).min(rest.len()));
                f.write_all(now).unwrap();
                if c % 3 == 0 {
                    f.flush().unwrap();
                }
                rest = later;
            }
            drop(f);
            // Rotated files are numbered 1.. without holes (newest first).
            let mut files: Vec<String> = (1..)
                .map(|n| std::fs::read_to_string(format!("{}.{n}", p.display())))
                .take_while(Result::is_ok)
                .map(Result::unwrap)
                .collect();
            files.reverse();
            for t in &files {
                proptest::prop_assert!(t.ends_with('\n'));
                proptest::prop_assert!(t.len() as u64 <= max || t.lines().count() == 1);
            }
            let got = files.concat() + &read(&p);
            proptest::prop_assert_eq!(got, all);
        }
    }
}
