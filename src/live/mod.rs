//! The live org: parsing and comparing are pure and live in `mailshift-core`; `reader` makes the
//! GETs, in the key's one pace, `listing` reads the org's listings through it, `account` one
//! account's permission and email, `turn` keeps the pace; `error` says why a read failed.

pub use mailshift_core::live::*;
mod account;
pub mod error;
mod listing;
pub mod reader;
mod turn;
