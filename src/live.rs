//! Live capture (filled in below).
use crate::config::Config;
use crate::summary::Summary;
use std::io::Write;

pub fn run_live(_cfg: Config, iface: &str, _fanout: bool, _out: Box<dyn Write + Send>) -> Result<Summary, String> {
    Err(format!("{iface}: live capture not built yet"))
}
