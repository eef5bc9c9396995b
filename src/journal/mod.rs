//! The journal: the format and replay are pure and live in `mailshift-core`; here is the file
//! (locked, fsynced, append-only), the permission cache and the learnt pace beside it, and the
//! plan's lock.

mod file;
pub mod pace_file;
pub mod permission_cache;
pub mod plan_lock;

pub use file::{JournalWriter, Opened, is_locked, keep_plan_copy, open, read, read_for};
pub use mailshift_core::journal::*;
