//! One module per subcommand: the imperative shell around the pure core.

pub mod apply;
mod apply_checks;
mod drift;
pub mod plan;
mod plan_live;
mod preflight;
mod progress;
mod reading;
pub mod rehearse;
pub mod rollback;
pub mod simulate;
pub mod status;
mod throughput;
pub mod verify;
