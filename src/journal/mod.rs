//! The journal: an append-only record of what `apply` did, one JSON object per line, bound to one
//! plan by the plan's hash. `record` is the format, `replay` turns records back into "what is
//! left" (pure), and `file` is the locked, fsynced file. docs/journal-format.md describes it.

mod file;
pub mod permission_cache;
pub mod plan_lock;
mod record;
mod replay;

pub use file::{JournalError, JournalWriter, Opened, default_path, open, read, read_for};
pub use record::{FORMAT, FORMAT_VERSION, Header, Record};
pub use replay::{Parsed, StepState, parse, replay};
