//! The state store: an embedded SQLite database (`wardwatch.db`) in `--state-dir`.
//!
//! WAL journal with `synchronous=NORMAL`: each checkpoint is one transaction, so a crash
//! or `kill -9` loses at most the changes since the last checkpoint and never leaves a
//! half-written record (SQLite's atomic commit); readers in other processes
//! (`wardwatch inventory`) see the last committed checkpoint while the appliance runs.
//! Records are JSON; a record that fails to parse is skipped and counted, never fatal.

use crate::inventory::Device;
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Schema version written in `meta`; a newer one is refused.
pub const SCHEMA_VERSION: i64 = 1;

/// The file name inside the state directory.
pub const DB_FILE: &str = "wardwatch.db";

/// An open state store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub devices: Vec<Device>,
    /// Records that could not be parsed (skipped).
    pub bad_records: u64,
}

fn err(e: impl std::fmt::Display, path: &Path) -> String {
    format!("state store {}: {e}", path.display())
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, for writing.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir).map_err(|e| err(e, dir))?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|e| err(e, &path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| err(e, &path))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| err(e, &path))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| err(e, &path))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS devices (
                 id TEXT PRIMARY KEY,
                 last_seen_us INTEGER NOT NULL,
                 record TEXT NOT NULL
             );",
        )
        .map_err(|e| err(e, &path))?;
        let v: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .ok();
        match v.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(err(
                    format!("schema version {v} is newer than this wardwatch ({SCHEMA_VERSION})"),
                    &path,
                ))
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)",
                    params![SCHEMA_VERSION.to_string()],
                )
                .map_err(|e| err(e, &path))?;
            }
        }
        Ok(Store { conn, path })
    }

    /// Opens an existing store read-only (safe while the appliance writes it).
    pub fn open_read_only(dir: &Path) -> Result<Store, String> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(format!("no state store at {}", path.display()));
        }
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| err(e, &path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| err(e, &path))?;
        Ok(Store { conn, path })
    }

    /// Every device record.
    pub fn load_devices(&self) -> Result<Loaded, String> {
        let mut st = self
            .conn
            .prepare("SELECT record FROM devices ORDER BY id")
            .map_err(|e| err(e, &self.path))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| err(e, &self.path))?;
        let mut out = Loaded::default();
        for row in rows {
            match row.map(|s| serde_json::from_str::<Device>(&s)) {
                Ok(Ok(d)) => out.devices.push(d),
                _ => out.bad_records += 1,
            }
        }
        Ok(out)
    }

    /// Writes changed devices and deletes evicted ones, in one transaction.
    pub fn save_devices<'a>(
        &mut self,
        upserts: impl IntoIterator<Item = &'a Device>,
        deletes: &[String],
    ) -> Result<(), String> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| err(e, &path))?;
        {
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO devices (id, last_seen_us, record) VALUES (?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET last_seen_us = excluded.last_seen_us,
                                                   record = excluded.record",
                )
                .map_err(|e| err(e, &path))?;
            for d in upserts {
                let rec = serde_json::to_string(d).map_err(|e| err(e, &path))?;
                up.execute(params![d.id, d.last_seen_us, rec])
                    .map_err(|e| err(e, &path))?;
            }
            let mut del = tx
                .prepare_cached("DELETE FROM devices WHERE id = ?1")
                .map_err(|e| err(e, &path))?;
            for id in deletes {
                del.execute(params![id]).map_err(|e| err(e, &path))?;
            }
        }
        tx.commit().map_err(|e| err(e, &path))
    }

    /// A value from the meta table.
    pub fn meta(&self, key: &str) -> Option<String> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .ok()
    }

    /// Sets a value in the meta table.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map(|_| ())
            .map_err(|e| err(e, &self.path))
    }

    /// The connection, for the other tables' modules (baselines).
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_round_trips_devices_and_deletes() {
        // Saved records come back equal; deletes remove them; a reader sees the commit.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let d = Device {
            id: "00:09:fb:00:00:01".into(),
            mac: Some("00:09:fb:00:00:01".into()),
            last_seen_us: 5,
            criticality: "high".into(),
            ..Device::default()
        };
        let e = Device {
            id: "ip:10.0.0.1".into(),
            criticality: "medium".into(),
            ..Device::default()
        };
        s.save_devices(&[d.clone(), e.clone()], &[]).unwrap();
        let r = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(r.load_devices().unwrap().devices, vec![d.clone(), e]);
        s.save_devices(&[], &["ip:10.0.0.1".into()]).unwrap();
        assert_eq!(r.load_devices().unwrap().devices, vec![d]);
    }

    #[test]
    fn store_skips_unreadable_records() {
        // A record that is not a device is counted and skipped, not fatal.
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.conn
            .execute(
                "INSERT INTO devices (id, last_seen_us, record) VALUES ('x', 0, '{not json')",
                [],
            )
            .unwrap();
        let l = s.load_devices().unwrap();
        assert_eq!((l.devices.len(), l.bad_records), (0, 1));
    }

    #[test]
    fn store_refuses_newer_schema() {
        // A database from a newer wardwatch is refused with a clear message.
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.set_meta("schema", "99").unwrap();
        drop(s);
        let e = Store::open(dir.path()).err().unwrap();
        assert!(e.contains("newer"), "{e}");
    }
}
