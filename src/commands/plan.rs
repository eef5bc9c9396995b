//! `mailshift plan`: read the files, compute the plan, write it, print the review.

use crate::config::PlanConfig;
use crate::error::{Error, Outcome};
use crate::hash::sha256_hex;
use crate::input::{InputError, Layout, SourceFile, parse_accounts, parse_targets};
use crate::plan::{self, InputFile, Inputs, Plan, Request};
use crate::review;
use std::io::{self, Write};

pub fn run(config: &PlanConfig) -> Result<Outcome, Error> {
    let accounts_src = SourceFile::read(&config.accounts)?;
    let targets_src = config
        .targets
        .as_deref()
        .map(SourceFile::read)
        .transpose()?;

    // Hashing runs beside parsing: on a million-row export both take a while.
    let (accounts, targets, accounts_sha, targets_sha) = std::thread::scope(|s| {
        let a_hash = s.spawn(|| sha256_hex(&accounts_src.bytes));
        let t_hash = s.spawn(|| targets_src.as_ref().map(|t| sha256_hex(&t.bytes)));
        let accounts = parse_accounts(&accounts_src.path, &accounts_src.bytes);
        let targets = targets_src
            .as_ref()
            .map(|t| parse_targets(&t.path, &t.bytes))
            .transpose();
        let a_sha = a_hash.join().unwrap_or_default();
        let t_sha = t_hash.join().unwrap_or_default();
        (accounts, targets, a_sha, t_sha)
    });
    let accounts = accounts?;
    let rows = targets?.unwrap_or_default();
    if accounts.layout == Layout::ManagedAccounts {
        return Err(InputError::NoAccountIds {
            path: config.accounts.clone(),
        }
        .into());
    }
    drop(accounts_src);
    drop(targets_src);

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
                sha256: targets_sha.unwrap_or_default(),
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
    drop(accounts);

    if let Some(out) = &config.out {
        let encoded = plan::file::encode(&plan);
        plan::file::write_atomic(out, &encoded.bytes)?;
        eprintln!(
            "mailshift: plan written to {} ({} writes, {} blocked; content sha256 {})",
            out.display(),
            plan.summary.writes,
            plan.summary.blocked,
            encoded.sha256
        );
    } else {
        eprintln!("mailshift: dry run only; give --out FILE to write the plan");
    }

    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let printed = review::render(&plan, config.format, &mut out).and_then(|()| out.flush());
    match printed {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Error::Output(e)),
        _ => {} // a reader that stopped early (`| head`) is not an error
    }
    Ok(if plan.blocked.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Blocked
    })
}
