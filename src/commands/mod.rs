//! One module per subcommand: the imperative shell around the pure core.

pub mod apply;
mod drift;
pub mod plan;
mod progress;
mod reading;
pub mod rollback;
pub mod simulate;
pub mod status;
pub mod verify;
