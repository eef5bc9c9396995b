//! The tool's one error type, and the one place errors become exit codes.

use crate::api::ClientError;
use crate::config::ConfigError;
use crate::input::InputError;
use crate::journal::JournalError;
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
    /// A simulator seed file (`--scim-linked-file`, `--google-synced-file`) cannot be used;
    /// `line` 0 when the file cannot be read at all.
    #[error("{}{}: {detail}", path.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
    SeedFile {
        path: std::path::PathBuf,
        line: usize,
        detail: String,
    },
    /// A simulator flag (`--scim-linked`, `--google-synced`) names no account of the export.
    #[error("{flag} {value}: no account ID or address of the accounts export {}", accounts.display())]
    SeedAccount {
        flag: &'static str,
        /// As given, escaped for the terminal.
        value: String,
        accounts: std::path::PathBuf,
    },
    /// The simulator's final state could not be written.
    #[error("{}: cannot write the accounts dump: {source}", path.display())]
    Dump {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A pilot's `--only`/`--exclude` names an account the plan does not have.
    #[error(transparent)]
    Select(#[from] crate::plan::select::SelectError),
    /// The live org could not be read.
    #[error(transparent)]
    Live(#[from] crate::live::reader::LiveError),
    /// The journal cannot be opened, read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Another `apply` of the same plan is running, or the plan's lock cannot be taken.
    #[error(transparent)]
    PlanLock(#[from] crate::journal::plan_lock::PlanLockError),
    /// The HTTP client cannot be set up.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `apply` without `--yes` where nobody can be asked.
    #[error("{}: not applied: standard input is not a terminal, so nobody can confirm; review the plan, then run again with --yes", plan.display())]
    NeedsYes { plan: std::path::PathBuf },
    /// `--expect-sha256` names another plan than the file holds; nothing was sent.
    #[error("{}: not applied: its content sha256 is {actual}, not the {expected} that --expect-sha256 asks for; this is not the plan that was approved. Nothing was changed", plan.display())]
    UnexpectedPlan {
        plan: std::path::PathBuf,
        expected: String,
        actual: String,
    },
    /// Ctrl-C while pre-flight read who may be written: nothing was written.
    #[error("stopped at Ctrl-C while checking who may be written: {read} of {total} accounts read{}; nothing was changed", if *kept { ", kept for the next try (which reads only the rest)" } else { "" })]
    PreflightInterrupted {
        read: usize,
        total: usize,
        kept: bool,
    },
    /// The operator answered something other than "yes".
    #[error("not confirmed; nothing was changed")]
    NotConfirmed,
    /// The prompt could not start, or its answer could not be read: no answer, so no "yes".
    #[error("cannot {doing}: {source}; nothing was changed")]
    Prompt {
        doing: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C at the prompt: a "no".
    #[error("stopped at Ctrl-C at the prompt; nothing was changed")]
    StoppedAtPrompt,
    /// Accounts no longer have the addresses the plan expects; nothing was sent.
    #[error(
        "{count} accounts no longer have the address the plan expects (listed above): the org changed since the plan was made. Nothing was changed. Plan again from a fresh export, or run `mailshift apply {} --skip-drifted` to apply the rest and leave those out",
        plan.display()
    )]
    Drifted {
        plan: std::path::PathBuf,
        count: usize,
    },
    /// Pre-flight found something that would fail: unverified target domains, accounts the
    /// API will not write, the operator's own account. Nothing was sent.
    #[error("{}: not applied: {problem} (listed above); nothing was changed", plan.display())]
    Preflight {
        plan: std::path::PathBuf,
        problem: String,
    },
    /// The API refused the key during the run; the journal is consistent and resumable.
    #[error("{message}; the run stopped, and `mailshift apply {}` resumes it once the key works", plan.display())]
    Refused {
        plan: std::path::PathBuf,
        message: String,
    },
    /// The server asked to wait longer than `--max-wait`; the run stopped, resumable.
    #[error(
        "the API asked to wait {} ({}), longer than --max-wait {}: the run stopped instead of waiting, and no further changes were sent. Run `mailshift apply {}` again later to resume (or raise --max-wait)",
        crate::words::span(*wait), told_by.unwrap_or("backoff"), crate::words::span(*bound), plan.display()
    )]
    WaitTooLong {
        plan: std::path::PathBuf,
        wait: std::time::Duration,
        told_by: Option<&'static str>,
        bound: std::time::Duration,
    },
    /// The report could not be written.
    #[error("{}: cannot write the report: {source}", path.display())]
    Report {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The IdP checklist could not be written.
    #[error("{}: cannot write the IdP checklist: {source}", path.display())]
    Checklist {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The people list (`--people`) cannot be written; no partial file is left.
    #[error("{}: cannot write the people list: {source}", path.display())]
    People {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The rehearsal's directory cannot be made or emptied of an earlier rehearsal's files.
    #[error("{}: cannot prepare the rehearsal directory: {source}", dir.display())]
    RehearsalDir {
        dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Standard output failed for a reason other than a closed pipe.
    #[error(transparent)]
    Output(#[from] crate::terminal::OutputError),
}

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for is planned (or done).
    Clean,
    /// The plan was written, but some wishes are blocked.
    Blocked,
    /// `apply` finished, but some steps failed or were skipped, or it stopped itself because
    /// too many failed.
    Incomplete,
    /// `apply` stopped at Ctrl-C; running it again resumes.
    Interrupted,
}

/// Documented in README.md and docs/exit-codes.md.
pub fn exit_code(result: &Result<Outcome, Error>) -> u8 {
    match result {
        Ok(Outcome::Clean) => 0,
        Ok(Outcome::Blocked) => 2,
        Ok(Outcome::Incomplete) => 3,
        Ok(Outcome::Interrupted)
        | Err(Error::PreflightInterrupted { .. } | Error::StoppedAtPrompt) => 130,
        Err(_) => 1,
    }
}
