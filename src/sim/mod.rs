//! The simulator: its rules and misbehaviour are pure and live in `mailshift-core`; `server` is
//! the HTTP face (axum).

pub use mailshift_core::sim::*;
pub mod server;
