//! Baselines in the state store: one JSON record per device (`baselines`), written in one
//! transaction per checkpoint like the inventory, and a queue of operator commands
//! (`baseline_commands`) that the CLI writes and the running appliance applies at its
//! next checkpoint (or at start), so an operator's change is never overwritten by the
//! appliance's in-memory copy.

use super::{Command, DeviceBaseline};
use crate::store::Store;
use rusqlite::params;

fn ensure(s: &mut Store) -> Result<(), String> {
    let path = s.path().display().to_string();
    s.conn()
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS baselines (
                 device TEXT PRIMARY KEY,
                 record TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS baseline_commands (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 who TEXT NOT NULL,
                 at INTEGER NOT NULL,
                 command TEXT NOT NULL
             );",
        )
        .map_err(|e| format!("state store {path}: {e}"))
}

/// A queued operator command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub seq: i64,
    pub who: String,
    pub at: i64,
    pub command: Command,
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub baselines: Vec<DeviceBaseline>,
    /// Records that did not parse (skipped, counted).
    pub bad_records: u64,
}

/// Whether the store has the baselines table (an older store or a fresh one has not).
fn has_table(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'baselines'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Every stored baseline (a store without the table has none).
pub fn load(s: &mut Store) -> Result<Loaded, String> {
    let path = s.path().display().to_string();
    let e = |x: rusqlite::Error| format!("state store {path}: {x}");
    let conn = s.conn();
    let exists = has_table(conn).map_err(e)?;
    let mut out = Loaded::default();
    if !exists {
        return Ok(out);
    }
    let mut st = conn
        .prepare("SELECT record FROM baselines ORDER BY device")
        .map_err(e)?;
    let mut rows = st.query([]).map_err(e)?;
    loop {
        // Each record read where SQLite holds it (no copy into a `String` first).
        let b = match rows.next() {
            Ok(Some(row)) => row
                .get_ref(0)
                .ok()
                .and_then(|v| v.as_str().ok())
                .and_then(|t| serde_json::from_str::<DeviceBaseline>(t).ok()),
            Ok(None) => break,
            // A failed step ends the rows (as it ended the iterator before): counted.
            Err(_) => {
                out.bad_records += 1;
                break;
            }
        };
        match b {
            Some(b) => out.baselines.push(b),
            None => out.bad_records += 1,
        }
    }
    Ok(out)
}

/// One device's stored baseline (`Ok(None)`: none, or unreadable).
pub fn load_one(s: &mut Store, device: &str) -> Result<Option<DeviceBaseline>, String> {
    let path = s.path().display().to_string();
    let e = |x: rusqlite::Error| format!("state store {path}: {x}");
    let conn = s.conn();
    let exists = has_table(conn).map_err(e)?;
    if !exists {
        return Ok(None);
    }
    let mut st = conn
        .prepare("SELECT record FROM baselines WHERE device = ?1")
        .map_err(e)?;
    let mut rows = st
        .query_map(params![device], |r| r.get::<_, String>(0))
        .map_err(e)?;
    Ok(match rows.next() {
        Some(Ok(t)) => serde_json::from_str::<DeviceBaseline>(&t).ok(),
        _ => None,
    })
}

/// A baseline as stored: its device and its JSON record.
#[derive(Clone, Debug)]
pub struct Record {
    pub device: String,
    pub json: String,
}

impl Record {
    pub fn of(b: &DeviceBaseline) -> Result<Record, String> {
        Ok(Record {
            device: b.device.clone(),
            json: serde_json::to_string(b).map_err(|x| format!("baseline {}: {x}", b.device))?,
        })
    }
}

/// Writes changed baselines in one transaction.
pub fn save(s: &mut Store, up: &[DeviceBaseline]) -> Result<(), String> {
    commit_applied(s, up, &[])
}

/// Writes changed baselines' records in one transaction.
pub fn save_records(s: &mut Store, up: &[Record]) -> Result<(), String> {
    commit_records(s, up, &[])
}

/// Queues an operator command for the appliance.
pub fn queue(s: &mut Store, who: &str, at: i64, cmd: &Command) -> Result<(), String> {
    ensure(s)?;
    let path = s.path().display().to_string();
    let text = serde_json::to_string(cmd).map_err(|x| format!("state store {path}: {x}"))?;
    s.conn()
        .execute(
            "INSERT INTO baseline_commands (who, at, command) VALUES (?1, ?2, ?3)",
            params![who, at, text],
        )
        .map(|_| ())
        .map_err(|x| format!("state store {path}: {x}"))
}

/// Queued commands in order (unreadable ones are returned as errors by sequence number).
pub fn pending(s: &mut Store) -> Result<(Vec<Queued>, Vec<i64>), String> {
    ensure(s)?;
    let path = s.path().display().to_string();
    let e = |x: rusqlite::Error| format!("state store {path}: {x}");
    let conn = s.conn();
    let mut st = conn
        .prepare("SELECT seq, who, at, command FROM baseline_commands ORDER BY seq")
        .map_err(e)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(e)?;
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for row in rows {
        let (seq, who, at, text) = row.map_err(e)?;
        match serde_json::from_str::<Command>(&text) {
            Ok(command) => ok.push(Queued {
                seq,
                who,
                at,
                command,
            }),
            Err(_) => bad.push(seq),
        }
    }
    Ok((ok, bad))
}

/// Saves baselines changed by applied commands and removes those commands, in one
/// transaction (a crash in between neither loses nor repeats a command).
pub fn commit_applied(s: &mut Store, up: &[DeviceBaseline], done: &[i64]) -> Result<(), String> {
    let path = s.path().display().to_string();
    let recs = up
        .iter()
        .map(Record::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|x| format!("state store {path}: {x}"))?;
    commit_records(s, &recs, done)
}

/// [`commit_applied`] with the records written already.
pub fn commit_records(s: &mut Store, up: &[Record], done: &[i64]) -> Result<(), String> {
    ensure(s)?;
    let path = s.path().display().to_string();
    let e = |x: rusqlite::Error| format!("state store {path}: {x}");
    let tx = s.conn().transaction().map_err(e)?;
    {
        let mut st = tx
            .prepare_cached(
                "INSERT INTO baselines (device, record) VALUES (?1, ?2)
                 ON CONFLICT(device) DO UPDATE SET record = excluded.record",
            )
            .map_err(e)?;
        for r in up {
            st.execute(params![r.device, r.json]).map_err(e)?;
        }
        let mut del = tx
            .prepare_cached("DELETE FROM baseline_commands WHERE seq = ?1")
            .map_err(e)?;
        for seq in done {
            del.execute(params![seq]).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}
