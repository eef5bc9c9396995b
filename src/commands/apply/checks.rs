//! What `apply` asks the API before its first write, besides drift: the operator's own account
//! is not written, every target domain is verified, and (on the first run of a plan) the key may
//! set the email of every account the run writes. Each finding is listed; any refuses the run
//! before the journal exists.

use crate::commands::reading::Session;
use crate::commands::reading::preflight::{self, SHOWN, more};
use crate::config::ApplyConfig;
use crate::error::Error;
use crate::journal::permission_cache::{self, CacheWriter};
use crate::model::{domain_key, email_key};
use crate::plan::access::{SCIM, SYNCED, idp_attribute};
use crate::plan::select::Choice;
use crate::plan::{Plan, StepKind};
use crate::terminal::note;
use hashbrown::HashSet;
use std::time::{Duration, SystemTime};

pub(super) fn check(
    config: &ApplyConfig,
    plan: &Plan,
    choice: &Choice,
    first_run: bool,
    session: &Session,
    org_id: &str,
    plan_sha256: &str,
) -> Result<(), Error> {
    let chosen = || {
        plan.steps
            .iter()
            .zip(&choice.chosen)
            .filter(|(_, c)| **c)
            .map(|(s, _)| s)
    };
    let refuse = |problem: String| Error::Preflight {
        plan: config.plan.clone(),
        problem,
    };

    // A plan checked live for one org says nothing about another's permissions.
    if let Some(checked) = plan
        .inputs
        .checked_live
        .as_ref()
        .filter(|c| c.org_id != org_id)
    {
        return Err(refuse(format!(
            "the plan was checked against org {}, but --org-id is {org_id}; apply it to the org it was made for, or plan again against this one",
            checked.org_id
        )));
    }

    if let Some(me) = &config.protected {
        let me = email_key(me);
        let mine: Vec<_> = chosen()
            .filter(|s| email_key(&s.account_id) == me || email_key(&s.from) == me)
            .collect();
        if !mine.is_empty() {
            for s in &mine {
                crate::terminal::say!(
                    "  step {}  {}  {} -> {}",
                    s.id,
                    s.account_id,
                    mailshift_core::inert::terminal(&s.from),
                    mailshift_core::inert::terminal(&s.to)
                );
            }
            return Err(refuse(format!(
                "{} steps write your own account (--operator); give --allow-self if that is meant",
                mine.len()
            )));
        }
    }

    let verified = preflight::verified_domains(session, org_id)?;
    let unverified: Vec<(crate::plan::StepId, String)> = chosen()
        .filter(|s| s.kind != StepKind::Unlink)
        .filter_map(|s| {
            let domain = domain_key(s.to.rsplit_once('@').map_or("", |(_, d)| d));
            (!verified.contains(&domain)).then_some((s.id, domain))
        })
        .collect();
    if !unverified.is_empty() {
        let domains: std::collections::BTreeSet<&str> =
            unverified.iter().map(|(_, d)| d.as_str()).collect();
        let domains: Vec<&str> = domains.into_iter().collect();
        let count = unverified.len();
        for (step, domain) in unverified.iter().take(SHOWN) {
            crate::terminal::say!(
                "  step {step}  target domain {domain} is not verified in the org"
            );
        }
        more(count);
        return Err(refuse(format!(
            "{count} steps move accounts to a domain the org has not verified ({}); verify it in admin.atlassian.com → Directory → Domains first",
            domains.join(", ")
        )));
    }

    if !first_run || !config.permission_check {
        return Ok(());
    }
    if let Some(checked) = &plan.inputs.checked_live {
        note!(
            "Who may be written was checked when the plan was made ({} accounts in org {}); a refused write still fails its step.",
            checked.permissions_read,
            checked.org_id
        );
        return Ok(());
    }
    // An account the plan unlinks from SCIM is locked until its unlink step has run.
    let unlinked: HashSet<&str> = plan
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Unlink)
        .map(|s| &*s.account_id)
        .collect();
    let mut seen = HashSet::new();
    let ids: Vec<String> = chosen()
        .filter(|s| !unlinked.contains(&*s.account_id) && seen.insert(&*s.account_id))
        .map(|s| s.account_id.to_string())
        .collect();
    // The org's listing (the drift check's, read now rather than beside the reads) settles
    // most accounts without a read of their own; the drift check takes the same listing.
    session.settle_listing(org_id)?;
    let all = ids.len();
    let (settled, ids) = preflight::from_listing(session, &ids, preflight::Trust::All);
    preflight::say_settled(all, ids.len());
    // Reads an earlier try made for this plan are not made again.
    let cache_path = permission_cache::path_for(&config.plan);
    let owner = permission_cache::Owner {
        plan_sha256,
        api: &config.client.base_url,
        org: org_id,
    };
    let cached = permission_cache::load(&cache_path, &owner, SystemTime::now());
    if cached.ours {
        crate::commands::warn_if_loose(&cache_path);
    }
    let known = cached.reads;
    let remembered = ids.iter().filter(|id| known.contains_key(*id)).count();
    let to_read = ids.len() - remembered;
    note!(
        "Checking who may be written before the first change: {} to read{}, at most {}/s, about {}. (A plan made with `plan --org-id` has this done while planning.) Ctrl-C stops without changing anything.",
        crate::words::counted(to_read as u64, "account", "accounts"),
        if remembered > 0 {
            format!(" ({remembered} more remembered from an earlier try)")
        } else {
            String::new()
        },
        config.rate,
        crate::words::span(
            Duration::try_from_secs_f64(to_read as f64 / config.rate).unwrap_or(Duration::MAX)
        )
    );
    let mut cache = match CacheWriter::open(&cache_path, &owner, cached.ours) {
        Ok(w) => Some(w),
        Err(e) => {
            crate::terminal::caution!(
                "{}: cannot keep the permission reads for a next try: {e}",
                cache_path.display()
            );
            None
        }
    };
    // The org's listing (pages of the Organizations API) may be read beside these.
    let before = session.reader.user_reads();
    let mut found =
        preflight::permissions(session, &ids, config.concurrency, &known, cache.as_mut())?;
    found.merge(settled);
    note!(
        "Checked who may be written: {} with {}.",
        crate::words::counted(all as u64, "account", "accounts"),
        crate::words::counted(session.reader.user_reads() - before, "read", "reads")
    );
    if !found.refused.is_empty() {
        // One account's refusal is that account's failure, not the run's: its writes are sent
        // and fail on their own answer (or succeed, if it was mended meanwhile).
        crate::terminal::caution!(
            "the API refuses {} on their own; their steps will fail (and the steps that wait for them be skipped), the rest goes ahead:",
            crate::words::counted(found.refused.len() as u64, "account", "accounts")
        );
        for (id, why) in found.refused.iter().take(SHOWN) {
            crate::terminal::say!("  {id}  {}", mailshift_core::inert::terminal(why));
        }
        more(found.refused.len());
    }
    if found.denied.is_empty() && found.missing.is_empty() {
        return Ok(());
    }
    let mut denied: Vec<(&String, &String)> = found.denied.iter().collect();
    denied.sort();
    for (id, key) in denied.iter().take(SHOWN) {
        let what = if key.as_str() == SCIM
            || key.as_str() == SYNCED
            || key.starts_with("externalDirectory")
        {
            format!(
                "the identity provider owns its email ({key}): change {} there, or plan again with --org-id so that it goes on the IdP checklist",
                idp_attribute(key)
            )
        } else {
            format!("the API does not allow setting its email ({key})")
        };
        crate::terminal::say!("  {id}  {what}");
    }
    more(denied.len());
    for id in found.missing.iter().take(SHOWN) {
        crate::terminal::say!("  {id}  no such account");
    }
    more(found.missing.len());
    Err(refuse(format!(
        "the API will not set the email of {} accounts this run writes",
        found.denied.len() + found.missing.len()
    )))
}
