//! `mailshift plan`: read the files, compute the plan, write it, print the review.
//! The machine has two cores, so independent work runs side by side: the two files are parsed
//! (and hashed) at once, and the plan file is written while the review is printed.

use crate::config::PlanConfig;
use crate::error::{Error, Outcome};
use crate::hash::sha256_hex;
use crate::input::{InputError, Layout, SourceFile, parse_accounts, parse_targets};
use crate::plan::{self, InputFile, Inputs, Plan, Request};
use crate::review;
use std::io::{self, Write};
use std::thread;

pub fn run(config: &PlanConfig) -> Result<Outcome, Error> {
    let accounts_src = SourceFile::read(&config.accounts)?;
    // The targets file is read, hashed and parsed on its own thread while this one parses the
    // accounts and a third hashes them.
    let (accounts, targets, accounts_sha) = thread::scope(|s| {
        let accounts_sha = s.spawn(|| sha256_hex(&accounts_src.bytes));
        let targets = s.spawn(|| {
            let Some(path) = config.targets.as_deref() else {
                return Ok(None);
            };
            let src = SourceFile::read(path)?;
            let sha = sha256_hex(&src.bytes);
            parse_targets(&src.path, &src.bytes).map(|rows| Some((rows, sha)))
        });
        let accounts = parse_accounts(&accounts_src.path, &accounts_src.bytes);
        (accounts, joined(targets), joined(accounts_sha))
    });
    let accounts = accounts?;
    let (rows, targets_sha) = targets?.unzip();
    let rows = rows.unwrap_or_default();
    if accounts.layout == Layout::ManagedAccounts {
        return Err(InputError::NoAccountIds {
            path: config.accounts.clone(),
        }
        .into());
    }
    drop(accounts_src);

    let computed = plan::compute(&Request {
        org: &accounts.org,
        rows: &rows,
        rules: &config.rules,
        verified_domains: config.verified_domains.as_ref(),
    });
    let plan = Plan {
        inputs: Inputs {
            accounts: InputFile {
                path: config.accounts.display().to_string(),
                sha256: accounts_sha,
            },
            accounts_layout: accounts.layout,
            targets: config.targets.as_ref().map(|p| InputFile {
                path: p.display().to_string(),
                sha256: targets_sha.clone().unwrap_or_default(),
            }),
            rewrite_domains: config.rules.iter().map(|r| r.label()).collect(),
            verified_domains: config
                .verified_domains
                .as_ref()
                .map(|v| v.iter().cloned().collect()),
        },
        summary: computed.summary,
        steps: computed.steps,
        blocked: computed.blocked,
        unchanged: computed.unchanged,
    };
    drop_in_background((accounts, rows));

    let (written, printed) = thread::scope(|s| {
        let writer = config
            .out
            .as_ref()
            .map(|out| s.spawn(|| plan::file::write(out, &plan)));
        let printed = print_review(&plan, config.format);
        (writer.map(joined).transpose(), printed)
    });
    let written = written?;
    match (&config.out, written) {
        (Some(out), Some(sha256)) => eprintln!(
            "mailshift: plan written to {} ({} writes, {} blocked; content sha256 {sha256})",
            out.display(),
            plan.summary.writes,
            plan.summary.blocked,
        ),
        _ => eprintln!("mailshift: dry run only; give --out FILE to write the plan"),
    }
    printed?;
    let outcome = if plan.blocked.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Blocked
    };
    drop_in_background(plan);
    Ok(outcome)
}

/// Frees a large value on another thread: freeing a million steps one by one costs a tenth of a
/// second the admin would otherwise wait for, and if the process exits first, the system takes
/// the memory back at once.
fn drop_in_background<T: Send + 'static>(value: T) {
    // If no thread can be started, the value comes back in the error and is freed here.
    let _ = thread::Builder::new().spawn(move || drop(value));
}

/// Prints the review; a reader that stopped early (`| head`) is not an error.
pub(super) fn print_review(plan: &Plan, format: review::Format) -> Result<(), Error> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match review::render(plan, format, &mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

/// A worker's result; a worker that panicked carries its panic on to this thread.
fn joined<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
