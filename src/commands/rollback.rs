//! `mailshift rollback`: from a plan's journal, a new plan that puts every changed account back
//! at its old address. The org comes from a fresh export or the live listing, so that old
//! addresses taken since are freed or blocked exactly as `plan` would; the result is reviewed
//! and applied like any plan.

use super::plan::print_review;
use super::reading::Session;
use crate::config::RollbackConfig;
use crate::error::{Error, Outcome};
use crate::exec::retry::RetryPolicy;
use crate::hash::sha256_hex;
use crate::input::{InputError, Layout, parse_accounts};
use crate::journal;
use crate::live::org::{listing_hash, org_from_listing};
use crate::live::reader::LiveError;
use crate::org::Org;
use crate::plan::file::read_hashed;
use crate::plan::rollback::rollback_rows;
use crate::plan::{self, InputFile, Inputs, Plan, Request};
use crate::terminal::{caution, note};

pub fn run(config: &RollbackConfig) -> Result<Outcome, Error> {
    // A run still going would make this a rollback of part of it, without a word.
    if journal::is_locked(&config.journal) {
        return Err(journal::JournalError::Locked {
            path: config.journal.clone(),
        }
        .into());
    }
    let (applied, sha, applied_path) = applied_plan(config)?;
    super::warn_if_loose(&applied_path);
    super::warn_if_loose(&config.journal);
    let parsed = journal::read_for(&config.journal, &sha)?;
    let states = journal::replay(
        &config.journal,
        applied.steps.len() as u32,
        &parsed.records,
        false,
    )?;
    let rows = rollback_rows(&applied, &states);
    let (org, accounts) = current_org(config)?;
    let computed = plan::compute(&Request {
        org: &org,
        rows: &rows,
        rules: &[],
        verified_domains: None,
        access: &crate::plan::Access::default(),
    });
    let rollback = Plan {
        inputs: Inputs {
            accounts,
            accounts_layout: Layout::ExportUsers,
            // The wishes come from the applied plan: `PLAN:N` names the step that moved each.
            targets: Some(InputFile {
                path: applied_path.display().to_string(),
                sha256: sha,
            }),
            more_targets: Vec::new(),
            rewrite_domains: Vec::new(),
            verified_domains: None,
            checked_live: None,
            rollback: true,
        },
        summary: computed.summary,
        steps: computed.steps,
        blocked: computed.blocked,
        // An account the applied plan moved and the org no longer has cannot be moved back.
        no_account: computed.no_account,
        unchanged: computed.unchanged,
        idp: computed.idp,
        unverified: Vec::new(),
        left_behind: Vec::new(),
        groups_before_unlink: Vec::new(),
        scim_in_the_way: Vec::new(),
    };
    let content = plan::file::write(&config.out, &rollback)?;
    print_review(&rollback, &content, config.format)?;
    note!(
        "mailshift: rollback plan for {} accounts written to {} ({} writes, {} blocked, {} already back; content sha256 {content}). Review it, then `mailshift apply {}`.",
        rows.len(),
        config.out.display(),
        rollback.summary.writes,
        rollback.summary.blocked,
        rollback.unchanged.len(),
        config.out.display()
    );
    Ok(
        if rollback.blocked.is_empty() && rollback.no_account.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Blocked
        },
    )
}

/// The org now: from `--accounts`, or the live listing. Also how the plan names its source.
/// The plan the journal records runs of: the file given, if it is there and is that plan; else
/// the copy the journal keeps beside it (said on standard error). Returns the plan, its content
/// hash and the file it was read from.
fn applied_plan(config: &RollbackConfig) -> Result<(Plan, String, std::path::PathBuf), Error> {
    let header = journal::read(&config.journal)?.header;
    let given = config.plan.as_ref().map(|p| (read_hashed(p), p.clone()));
    if let Some((Ok((plan, sha)), path)) = &given
        && *sha == header.plan_sha256
    {
        return Ok((plan.clone(), sha.clone(), path.clone()));
    }
    let copy = journal::plan_copy_path(&config.journal);
    match read_hashed(&copy) {
        Ok((plan, sha)) if sha == header.plan_sha256 => {
            if let Some((_, path)) = &given {
                note!(
                    "{} is gone or is not the plan {} records; using the copy it keeps, {}.",
                    path.display(),
                    config.journal.display(),
                    copy.display()
                );
            }
            Ok((plan, sha, copy))
        }
        _ => match given {
            Some((Err(e), _)) => Err(e.into()),
            Some((Ok((_, sha)), _)) => Err(journal::JournalError::OtherPlan {
                path: config.journal.clone(),
                journal: header.plan_sha256,
                plan: sha,
            }
            .into()),
            None => Err(journal::JournalError::Open {
                path: copy,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the journal keeps no copy of its plan (journals from before copies were kept); give PLAN",
                ),
            }
            .into()),
        },
    }
}

fn current_org(config: &RollbackConfig) -> Result<(Org, InputFile), Error> {
    if let Some(path) = &config.accounts {
        let src = crate::input::read(path)?;
        let parsed = parse_accounts(&src.path, &src.bytes)?;
        if parsed.layout == Layout::ManagedAccounts {
            return Err(InputError::NoAccountIds { path: path.clone() }.into());
        }
        let file = InputFile {
            path: path.display().to_string(),
            sha256: sha256_hex(&src.bytes),
        };
        return Ok((parsed.org, file));
    }
    let api = config.api.as_ref().ok_or(LiveError::NoOrgId)?;
    let org_id = api.org_id.as_deref().ok_or(LiveError::NoOrgId)?;
    let session = Session::new(&api.client, config.rate, RetryPolicy::default())?;
    let listed = session.list_users(org_id)?;
    let listing_sha = listing_hash(&listed);
    let (org, hidden) = org_from_listing(&listed).map_err(|detail| LiveError::BadAnswer {
        what: "reading the org's users".into(),
        detail,
    })?;
    if hidden > 0 {
        caution!(
            "the listing hides the email of {hidden} accounts; they are left out (an old address one of them holds shows up as taken when the rollback is applied)"
        );
    }
    note!(
        "Read {} of org {org_id} with {}.",
        crate::words::counted(listed.len() as u64, "account", "accounts"),
        crate::words::counted(session.reader.reads(), "request", "requests")
    );
    let source = InputFile {
        path: format!("{}/admin/v1/orgs/{org_id}/users", api.client.base_url),
        sha256: listing_sha,
    };
    Ok((org, source))
}
