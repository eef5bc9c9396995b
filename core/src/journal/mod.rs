//! The journal's pure half: an append-only record of what `apply` did, one JSON object per line,
//! bound to one plan by the plan's hash. `record` is the format, `replay` turns records back into
//! "what is left", and `error` says why a journal cannot be used. The locked, fsynced file lives
//! in the binary's `journal` room. docs/journal-format.md describes the format.

mod error;
mod owed;
mod paths;
mod place;
mod record;
mod replay;

pub use error::JournalError;
pub use owed::{Owed, owed_settles};
pub use paths::{default_path, plan_copy_path};
pub use place::{Place, ran_elsewhere, same_api};
pub use record::{FORMAT, FORMAT_VERSION, Header, Record};
pub use replay::{Parsed, StepState, parse, replay};
