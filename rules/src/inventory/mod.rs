//! Device inventory: who is on the clinical network.
//!
//! So far only the MAC vendor lookup ([`oui`]), from the IEEE registry (MA-L, MA-M,
//! MA-S and IAB) as shipped by Debian's `ieee-data`. Identity fusion (one record per
//! MAC, or per IP behind a router), classification from `rules/catalogue/*.yaml`,
//! persistence and the device API come with the rest of issue 5.

pub mod oui;

pub use oui::{lookup, Block, Vendor};
