//! The plan: computed, encoded and summed up in `mailshift-core` (pure); `file` reads and writes
//! the plan file.

pub use mailshift_core::plan::*;
pub mod file;
