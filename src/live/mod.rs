//! The live org: parsing and comparing are pure and live in `mailshift-core`; `reader` makes the
//! reads (GETs, and the v2 search's POSTs), in the key's one pace, `listing` reads the org's
//! listings through it, `directory` the v2 directory search (v1's fallback rule with it), `account`
//! one account's permission and email, `turn` keeps the pace; `error` says why a read failed.

pub use mailshift_core::live::*;
mod account;
mod directory;
pub mod error;
mod listing;
pub mod reader;
mod turn;
