//! One module per subcommand: the imperative shell around the pure core.

pub mod apply;
pub mod plan;
mod progress;
pub mod simulate;
pub mod status;
