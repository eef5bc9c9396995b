//! One module per subcommand: the imperative shell around the pure core.

pub mod plan;
pub mod simulate;
