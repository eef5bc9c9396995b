//! The `--json` outputs of `apply`, `status` and `verify`: one object each on standard output,
//! for scripts and dashboards. The shapes are documented in `docs/json-output.md`; a field is
//! only ever added, never renamed, within a `version`.

use super::outcome::{Counts, Row};
use serde::Serialize;

/// Bumped when a field changes meaning or goes away.
pub const VERSION: u32 = 1;

/// `mailshift status --json`.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub version: u32,
    pub plan: String,
    pub journal: String,
    /// False when nothing has been applied yet.
    pub journal_exists: bool,
    pub runs: u32,
    /// An `apply` holds the journal's lock right now.
    pub running: bool,
    pub counts: Counts,
    pub steps: &'a [Row],
}

/// `mailshift apply --json`.
#[derive(Debug, Serialize)]
pub struct Apply<'a> {
    pub version: u32,
    pub plan: String,
    pub journal: String,
    /// `finished`, `interrupted`, `safety_stop`, `refused` (the key) or `journal_failed`.
    pub ended: &'static str,
    /// What this run sent, and in how long.
    pub sent: Sent,
    /// Where every step of the plan stands now, this run and earlier ones together.
    pub counts: Counts,
    pub steps: &'a [Row],
}

#[derive(Debug, Serialize)]
pub struct Sent {
    pub writes: u64,
    pub reads: u64,
    pub rate_limited: u64,
    pub transient_failures: u64,
    pub seconds: f64,
}

/// `mailshift verify --json`.
#[derive(Debug, Serialize)]
pub struct Verify<'a> {
    pub version: u32,
    pub plan: String,
    pub checked: usize,
    pub at_planned_address: usize,
    /// Accounts the plan moves that no apply has started, left out unless `--all`.
    pub not_started: usize,
    pub reads: u64,
    pub listing_reads: u64,
    pub wrong: Vec<Wrong<'a>>,
}

/// An account not at the address the plan leaves it at.
#[derive(Debug, Serialize)]
pub struct Wrong<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
    pub expected: &'a str,
    /// The address found, or null when the account is gone or its email hidden.
    pub found: Option<&'a str>,
    /// `missing`, `hidden`, or `other_address`.
    pub why: &'static str,
    /// What the journal says of the account's last step, if there is a journal.
    pub journal: Option<String>,
}

/// Writes one of the above, pretty-printed, with a final newline.
pub fn write<T: Serialize>(value: &T, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}
