//! The tool's one error type, and the one place errors become exit codes.

use crate::config::ConfigError;
use crate::input::InputError;
use crate::plan::file::PlanFileError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something that cannot be done.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An input file cannot be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The plan file cannot be written or read.
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    /// The simulator could not start, serve or stop.
    #[error("simulator: {0}")]
    Simulator(#[source] std::io::Error),
    /// The simulator's final state could not be written.
    #[error("{}: cannot write the accounts dump: {source}", path.display())]
    Dump {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Standard output failed for a reason other than a closed pipe.
    #[error("cannot write the review to standard output: {0}")]
    Output(#[source] std::io::Error),
}

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for is planned (or done).
    Clean,
    /// The plan was written, but some wishes are blocked.
    Blocked,
}

/// Documented in README.md and docs/exit-codes.md.
pub fn exit_code(result: &Result<Outcome, Error>) -> u8 {
    match result {
        Ok(Outcome::Clean) => 0,
        Ok(Outcome::Blocked) => 2,
        Err(_) => 1,
    }
}
