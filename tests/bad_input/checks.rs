//! What every reader must do with any bytes at all: return a value or a typed error that names
//! the file and, for a fault in a row or line, a line that exists. Shared by the fuzz targets
//! (`fuzz/`) and the regression and property tests (`tests/bad_input.rs`); a panic anywhere,
//! in a reader or in what consumes its value, is a failure.
#![allow(dead_code)]

use mailshift::cli::Format;
use mailshift::input::{ColumnMap, InputError, parse_accounts, parse_targets};
use mailshift::journal::{self, JournalError};
use mailshift::plan::file::{self, PlanFileError};
use mailshift::review;
use std::path::Path;

pub(crate) const ACCOUNTS: &str = "accounts.csv";
pub(crate) const TARGETS: &str = "targets.csv";
pub(crate) const PLAN: &str = "plan.json";
pub(crate) const JOURNAL: &str = "plan.json.journal";

/// Lines as an editor counts them: `\n`, `\r\n` and a lone `\r` each end one, and a last line
/// without an ending still counts.
fn lines_in(bytes: &[u8]) -> u64 {
    let mut lines = 1;
    for (i, &b) in bytes.iter().enumerate() {
        let ends = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends && i + 1 < bytes.len() {
            lines += 1;
        }
    }
    lines
}

fn named(message: &str, file: &str) {
    assert!(
        message.starts_with(&format!("{file}:")),
        "the error does not name {file}: {message}"
    );
}

/// The line an input error points at, if it is about one row.
fn input_line(e: &InputError) -> Option<u64> {
    match e {
        InputError::NotUtf8 { line, .. }
        | InputError::Csv { line, .. }
        | InputError::RecordTooLong { line, .. }
        | InputError::BadAccountId { line, .. }
        | InputError::MissingEmail { line, .. }
        | InputError::DuplicateAccount { line, .. }
        | InputError::SharedAddress { line, .. } => Some(*line),
        _ => None,
    }
}

fn input_error(e: &InputError, file: &str, bytes: &[u8]) {
    let message = e.to_string();
    named(&message, file);
    if let Some(line) = input_line(e) {
        assert!(
            line >= 1 && line <= lines_in(bytes).max(1),
            "line {line} of a {}-line file: {message}",
            lines_in(bytes)
        );
        assert!(message.starts_with(&format!("{file}:{line}:")), "{message}");
    }
}

pub(crate) fn accounts(bytes: &[u8]) {
    match parse_accounts(Path::new(ACCOUNTS), bytes) {
        Ok(read) => {
            for a in read.org.accounts() {
                assert!(
                    a.line >= 2 && a.line <= lines_in(bytes),
                    "account at line {}",
                    a.line
                );
                assert!(a.id.as_deref().is_none_or(|id| !id.is_empty()), "{a:?}");
            }
        }
        Err(e) => input_error(&e, ACCOUNTS, bytes),
    }
}

pub(crate) fn targets(bytes: &[u8]) {
    match parse_targets(Path::new(TARGETS), bytes, &ColumnMap::default()) {
        Ok(file) => {
            let lines = file.rows.iter().map(|r| r.line).chain(file.skipped);
            for line in lines {
                assert!(line >= 2 && line <= lines_in(bytes), "row at line {line}");
            }
        }
        Err(e) => input_error(&e, TARGETS, bytes),
    }
}

/// A whole plan file as `apply`, `status` and the reviews read it.
pub(crate) fn plan(bytes: &[u8]) {
    match file::decode(Path::new(PLAN), bytes) {
        Ok(plan) => use_plan(&plan),
        Err(e) => {
            let message = e.to_string();
            named(&message, PLAN);
            assert!(!matches!(
                e,
                PlanFileError::Read { .. } | PlanFileError::Write { .. }
            ));
        }
    }
}

/// Plan content with a hash that matches it, as if edited by hand and re-hashed: what gets past
/// the hash check must still be refused clearly or be safe to run.
pub(crate) fn plan_content(content: &[u8]) {
    plan(&envelope(content));
}

pub(crate) fn envelope(content: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "{{\"format\":\"mailshift-plan\",\"format_version\":2,\"tool_version\":\"0.1.0\",\"content_sha256\":\"{}\",\"plan\":",
        mailshift::hash::sha256_hex(content)
    )
    .into_bytes();
    bytes.extend_from_slice(content);
    bytes.push(b'}');
    bytes
}

/// What is done with a plan that reads: every review renders, and run in the scheduler's order,
/// every step runs exactly once.
fn use_plan(plan: &mailshift::plan::Plan) {
    for format in [Format::Table, Format::Markdown, Format::Csv, Format::Json] {
        let mut out = Vec::new();
        review::render(plan, format, "0123abcd", &mut out).unwrap();
    }
    let (mut scheduler, in_flight, skips) =
        mailshift::exec::schedule::Scheduler::new(&plan.steps, &[], &[]);
    assert!(in_flight.is_empty() && skips.is_empty());
    let mut ran = 0;
    while let Some(id) = scheduler.next_step() {
        scheduler.done(id);
        ran += 1;
        assert!(ran <= plan.steps.len(), "a step ran twice");
    }
    assert_eq!(ran, plan.steps.len(), "steps never became ready");
}

/// A journal as resume, `status` and `rollback` read it, for a plan of `steps` steps.
pub(crate) fn journal(bytes: &[u8], steps: u32) {
    let path = Path::new(JOURNAL);
    let parsed = match journal::parse(path, bytes) {
        Ok(p) => p,
        Err(e) => return journal_error(&e, bytes),
    };
    assert!(parsed.complete_len <= bytes.len() as u64);
    match journal::replay(path, steps, &parsed.records, false) {
        Ok(states) => {
            assert_eq!(states.len(), steps as usize);
            let counts = mailshift::review::outcome::Counts::of(&states);
            let _ = format!("{counts:?}");
        }
        Err(e) => journal_error(&e, bytes),
    }
}

fn journal_error(e: &JournalError, bytes: &[u8]) {
    let message = e.to_string();
    named(&message, JOURNAL);
    if let JournalError::Damaged { line, .. } = e {
        assert!(
            *line >= 2 && *line as u64 <= lines_in(bytes),
            "line {line} of a {}-line journal: {message}",
            lines_in(bytes)
        );
    }
}
