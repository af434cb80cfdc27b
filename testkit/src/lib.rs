//! Test-only helpers shared by the workspace's tests: peer-tool discovery (with the
//! "missing peer under CI is a failure" rule), network-namespace labs on loopback, and
//! packet/pcap builders for scenario captures.

pub mod clinical;
pub mod netns;
pub mod pcap;
pub mod peers;
