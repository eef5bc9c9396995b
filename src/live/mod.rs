//! The live org: parsing and comparing are pure and live in `mailshift-core`; `reader` makes the
//! GETs, in the key's one pace.

pub use mailshift_core::live::*;
pub mod reader;
