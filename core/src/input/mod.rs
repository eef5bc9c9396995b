//! Readers that turn the admin's files into plain values: the accounts export, the IdP's target
//! list and the domain-rewrite rules. Every rejection names the file and, where there is one, the line.

mod accounts;
mod csvfile;
mod rules;
mod targets;

pub use accounts::{AccountsFile, Layout, parse_accounts};
pub use rules::DomainRule;
pub use targets::{ColumnMap, Target, TargetLayout, TargetRow, TargetsFile, parse_targets};

use std::path::PathBuf;

/// The largest record mailshift reads: no export row comes near it, and a file that has one is
/// almost always the wrong file (a binary, a log), so stop with a clear message instead of guessing.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Why an input file cannot be used. Each variant names the file; those about a row name its line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Nothing in the file, not even a header line.
    #[error("{}: the file is empty; expected a CSV header line", path.display())]
    Empty { path: PathBuf },
    /// Excel's "Unicode text" saves UTF-16, which is not CSV as the exports write it.
    #[error("{}: the file is UTF-16 encoded; save it as \"CSV UTF-8\" and try again", path.display())]
    Utf16 { path: PathBuf },
    /// A cell holds bytes that are not UTF-8 (often a file re-saved as Latin-1 or Windows-1252).
    #[error("{}:{line}: column {column:?} is not valid UTF-8; save the file as \"CSV UTF-8\" and try again", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        column: String,
    },
    /// The CSV structure is broken (for example a row with more cells than the header).
    #[error("{}:{line}: {detail}", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    /// One record is larger than [`MAX_RECORD_BYTES`].
    #[error("{}:{line}: a record of {bytes} bytes is larger than the {limit} bytes mailshift accepts; is this the right file?", path.display(), limit = MAX_RECORD_BYTES)]
    RecordTooLong {
        path: PathBuf,
        line: u64,
        bytes: usize,
    },
    /// The header matches none of the layouts this reader knows.
    #[error("{}: the header is not one mailshift knows (found columns: {found}); expected {expected}", path.display())]
    UnrecognisedHeader {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    /// A column the layout needs is absent.
    #[error("{}: no {column} column in the header (accepted: {accepted}; found columns: {found})", path.display())]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        accepted: String,
        found: String,
    },
    /// `--columns` names a header the file does not have.
    #[error("{}: --columns gives the {role} as {header:?}, but the header has no such column (found columns: {found})", path.display())]
    NoSuchColumn {
        path: PathBuf,
        role: &'static str,
        header: String,
        found: String,
    },
    /// A `--rewrite-domain` rule whose domain no account is on: almost always a typo, and a
    /// plan that silently does nothing for it would look like success.
    #[error(
        "--rewrite-domain {rule}: no account in {input} is on {domain}; the accounts are on {domains}. Check the spelling"
    )]
    IdleRule {
        rule: String,
        domain: String,
        input: String,
        domains: String,
    },
    /// More `--targets` files than a plan can number.
    #[error("more --targets files than a plan can number (4,294,967,295)")]
    TooManyTargetFiles,
    /// No row of the target list matches an account, so there is nothing to plan from it;
    /// `why` is the likely cause, when the rows' shape tells.
    #[error("{}: none of its {rows} rows matches an account, so it plans nothing. {why}", path.display())]
    NothingMatched {
        path: PathBuf,
        rows: usize,
        why: String,
    },
    /// An identity provider export whose new-address column is empty in every row: every row
    /// would be left out and an empty plan made (a Google Workspace "Download users" file
    /// leaves `New Primary Email [UPLOAD ONLY]` empty).
    #[error("{}: the new-address column {column:?} is empty in all {rows} rows, so it plans nothing. Fill it with the new addresses, give --rewrite-domain OLD=NEW for a domain change, or name the column that holds them with --columns target=HEADER", path.display())]
    EmptyTargetColumn {
        path: PathBuf,
        column: String,
        rows: usize,
    },
    /// Two columns of the header claim one role, so mailshift cannot know which to use.
    #[error("{}: both {first:?} and {second:?} columns are present and both would give the {role}; keep one", path.display())]
    AmbiguousColumns {
        path: PathBuf,
        role: &'static str,
        first: String,
        second: String,
    },
    /// As [`InputError::AmbiguousColumns`], in a target list, where `--columns` can say which.
    #[error("{}: both {first:?} and {second:?} columns could give the {role}; say which with --columns (for example --columns current={first:?},target=...), or keep one", path.display())]
    AmbiguousTargetColumns {
        path: PathBuf,
        role: &'static str,
        first: String,
        second: String,
    },
    /// The "Export managed accounts" layout has no account IDs, and a change needs the ID.
    #[error("{}: this is an \"Export managed accounts\" file, which has no account IDs, and the API changes an address by account ID. Export the accounts with their IDs instead: admin.atlassian.com → Directory → Domains → ⋯ → Export accounts (has \"Atlassian ID\"), or Directory → Users → Export users (has \"User id\"). Or give --org-id and the API key, and `plan` resolves the IDs through the org's users listing", path.display())]
    NoAccountIds { path: PathBuf },
    /// A header but no account rows.
    #[error("{}: the file has a header but no accounts", path.display())]
    NoAccounts { path: PathBuf },
    /// A row of a layout that has IDs leaves the ID empty or malformed.
    #[error("{}:{line}: {value:?} is not an Atlassian account ID", path.display())]
    BadAccountId {
        path: PathBuf,
        line: u64,
        value: String,
    },
    /// A yes/no column (`Claimed`, `Verified email`) holds something else.
    #[error("{}:{line}: column {column:?} of account {account} holds {value:?}, not yes or no", path.display())]
    BadFlag {
        path: PathBuf,
        line: u64,
        column: &'static str,
        account: String,
        value: String,
    },
    /// An account row without an address.
    #[error("{}:{line}: account {account} has no email address", path.display())]
    MissingEmail {
        path: PathBuf,
        line: u64,
        account: String,
    },
    /// One account ID on two rows with different addresses: the export contradicts itself.
    #[error("{}:{line}: account {account} appears again with {email}, but line {first_line} gives it {first_email}", path.display())]
    DuplicateAccount {
        path: PathBuf,
        line: u64,
        account: String,
        email: String,
        first_line: u64,
        first_email: String,
    },
    /// Two accounts hold one address, which Atlassian does not allow: the export is not one org's.
    #[error("{}:{line}: {email} is held by {account} here and by {other} on line {other_line}; one address belongs to one account, so this export cannot be right", path.display())]
    SharedAddress {
        path: PathBuf,
        line: u64,
        email: String,
        account: String,
        other: String,
        other_line: u64,
    },
}

/// A file's bytes, read once: parsed and hashed from the same buffer.
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}
