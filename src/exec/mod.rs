//! The executor: the pure deciders and the sans-IO machine live in `mailshift-core`; `run` is
//! the one loop that does the I/O (tokio, the journal, the network).

pub use mailshift_core::exec::*;
pub mod run;
