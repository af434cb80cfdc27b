//! `/api/v1/baselines`: the baselines of the state store (as of the appliance's last
//! checkpoint) and the operator commands, queued exactly as `wardwatch baseline` queues
//! them (recorded with who and the wall-clock time, applied by the analysis thread at its
//! next checkpoint).

use model::Timestamp;
use outputs::api::{BaselineCommand, BaselineSource, Refusal};
use rules::baseline::{store as bstore, Command, DeviceBaseline, KINDS};
use rules::store::Store;
use std::path::PathBuf;

/// The baselines of a state directory, for the HTTP API.
pub struct BaselinesApi {
    pub dir: PathBuf,
}

fn eve_time(us: i64) -> String {
    String::from_utf8_lossy(&Timestamp::from_secs_micros(0, us).eve_bytes()).into_owned()
}

/// The summary of one baseline: state, learning window, entries per kind, last change.
fn summary(b: &DeviceBaseline) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = b
        .sets
        .counts()
        .into_iter()
        .map(|(k, n)| (k.to_string(), n.into()))
        .collect();
    serde_json::json!({
        "device": b.device,
        "state": b.state,
        "first_seen": eve_time(b.first_seen_us),
        "learn_until": eve_time(b.learn_until_us),
        "learn_until_us": b.learn_until_us,
        "relearn_pending": b.relearn_pending,
        "overflowed": b.overflowed,
        "counts": counts,
        "changes": b.history.len(),
        "last_change": b.history.last(),
    })
}

impl BaselinesApi {
    fn read_one(&self, id: &str) -> Result<Option<DeviceBaseline>, String> {
        let mut s = Store::open_read_only(&self.dir)?;
        bstore::load_one(&mut s, id)
    }
}

impl BaselineSource for BaselinesApi {
    fn list(&self) -> Result<serde_json::Value, String> {
        let all = crate::policy::read_baselines(&self.dir)?;
        Ok(all.iter().map(summary).collect())
    }

    fn get(&self, id: &str) -> Result<Option<serde_json::Value>, String> {
        match self.read_one(id)? {
            Some(b) => serde_json::to_value(&b)
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    fn queue(&self, c: &BaselineCommand) -> Result<(), Refusal> {
        if c.device != "*"
            && self
                .read_one(&c.device)
                .map_err(Refusal::Unavailable)?
                .is_none()
        {
            return Err(Refusal::NotFound);
        }
        let cmd = match c.action {
            "lock" => Command::Lock {
                device: c.device.clone(),
            },
            "relearn" => Command::Relearn {
                device: c.device.clone(),
            },
            _ => {
                let kind = c.kind.clone().unwrap_or_default();
                if !KINDS.iter().any(|k| k.0 == kind) {
                    return Err(Refusal::BadRequest(format!(
                        "unknown kind `{kind}` (known: {})",
                        KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
                    )));
                }
                Command::Approve {
                    device: c.device.clone(),
                    kind,
                    item: c.value.clone().unwrap_or_default(),
                }
            }
        };
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut s = Store::open(&self.dir).map_err(Refusal::Unavailable)?;
        bstore::queue(&mut s, &c.who, at, &cmd).map_err(Refusal::Unavailable)?;
        tracing::info!(
            who = %c.who,
            action = c.action,
            device = %c.device,
            "Baseline command queued over the API."
        );
        Ok(())
    }
}
