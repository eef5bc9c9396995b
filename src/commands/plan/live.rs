//! The live half of `plan`, when an org is given: the org's users listing stands in for (or
//! checks) the export, the org's verified domains stand in for `--verified-domains`, and
//! `GET /users/{id}/manage` tells which accounts the API may write.

use super::source::Source;
use crate::commands::reading::Session;
use crate::commands::reading::preflight::{self, SHOWN, more};
use crate::config::{LiveConfig, PlanConfig};
use crate::error::Error;
use crate::exec::retry::RetryPolicy;
use crate::input::{AccountsFile, Layout};
use crate::live::org::{Reconciled, listing_hash, org_with_export};
use crate::live::reader::LiveError;
use crate::org::Org;
use crate::plan::{InputFile, Step};
use crate::terminal::{caution, note};
use hashbrown::{HashMap, HashSet};
use std::collections::BTreeSet;

/// The org from the listing (checked against the export, when one is given), and the verified
/// domains. The session goes on to the permission reads.
pub(super) fn source(
    config: &PlanConfig,
    live: &LiveConfig,
    accounts: Option<(AccountsFile, String)>,
    wanted: &[&str],
) -> Result<(Source, Session), Error> {
    let session = Session::new(&live.client, live.rate, RetryPolicy::default())?;
    let org_id = live.org_id.as_str();
    let mut listed = session.list_users(org_id)?;
    listed.extend(unlisted_holders(&session, org_id, &listed, wanted)?);
    let hidden: Vec<String> = listed
        .iter()
        .filter(|a| a.email.is_none())
        .map(|a| a.account_id.clone())
        .collect();
    if !hidden.is_empty() {
        let read: HashMap<String, Option<String>> =
            preflight::read_emails(&session, &hidden, live.concurrency)?
                .into_iter()
                .collect();
        for a in &mut listed {
            if let Some(email) = read.get(&a.account_id) {
                a.email.clone_from(email);
            }
        }
    }
    let export = accounts.as_ref().map(|(parsed, _)| &parsed.org);
    let (org, found) = org_with_export(&listed, export).map_err(|detail| LiveError::BadAnswer {
        what: "reading the org's users".into(),
        detail,
    })?;
    note!(
        "Pre-flight: read {} accounts of org {org_id} ({} hide their email; {} read from their profiles).",
        listed.len(),
        hidden.len(),
        hidden.len() - found.hidden,
    );
    if let Some(path) = &config.accounts {
        report_differences(&path.display().to_string(), &found);
    }

    let live_verified = preflight::verified_domains(&session, org_id)?;
    let verified_domains = match &config.verified_domains {
        None => live_verified,
        Some(given) => {
            for d in given.difference(&live_verified) {
                caution!(
                    "--verified-domains names {d}, which the org has not verified; targets on it are blocked"
                );
            }
            given.intersection(&live_verified).cloned().collect()
        }
    };
    note!(
        "Pre-flight: the org has verified {}.",
        list_or_none(&verified_domains)
    );
    let (input, layout, unclaimed, unverified) = match (accounts, &config.accounts) {
        (Some((parsed, sha256)), Some(path)) => (
            InputFile {
                path: path.display().to_string(),
                sha256,
            },
            parsed.layout,
            parsed.unclaimed,
            parsed.unverified,
        ),
        _ => (
            InputFile {
                path: format!("{}/admin/v1/orgs/{org_id}/users", live.client.base_url),
                sha256: listing_hash(&listed),
            },
            Layout::ExportUsers,
            Vec::new(),
            Vec::new(),
        ),
    };
    let source = Source {
        org,
        input,
        layout,
        verified_domains: Some(verified_domains),
        unclaimed,
        unverified,
    };
    Ok((source, session))
}

/// Holders of wanted addresses the listing does not show (a member of another directory, an
/// account a listing leaves out), found by the v2 search's `emails` filter, 100 addresses a
/// request: known at plan time, not by a failed write. Nothing where the org has no v2 search.
fn unlisted_holders(
    session: &Session,
    org_id: &str,
    listed: &[crate::live::page::LiveAccount],
    wanted: &[&str],
) -> Result<Vec<crate::live::page::LiveAccount>, Error> {
    if session.reader.v2_refused().is_some() {
        return Ok(Vec::new());
    }
    let held: HashSet<String> = listed
        .iter()
        .filter_map(|a| a.email.as_deref().map(crate::model::email_key))
        .collect();
    let ids: HashSet<&str> = listed.iter().map(|a| a.account_id.as_str()).collect();
    let mut seen = HashSet::new();
    let unheld: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|t| {
            let key = crate::model::email_key(t);
            !held.contains(&key) && seen.insert(key)
        })
        .collect();
    if unheld.is_empty() {
        return Ok(Vec::new());
    }
    let Some((accounts, searches)) = session.search_by_address(org_id, &unheld)? else {
        return Ok(Vec::new());
    };
    let found: Vec<_> = accounts
        .into_iter()
        .filter(|a| !ids.contains(a.account_id.as_str()))
        .collect();
    note!(
        "Pre-flight: {} wanted addresses no listed account holds, searched by address ({}): {} held by accounts the listing does not show.",
        unheld.len(),
        crate::words::counted(searches, "request", "requests"),
        found.len()
    );
    Ok(found)
}

fn list_or_none(domains: &BTreeSet<String>) -> String {
    if domains.is_empty() {
        "no domains".into()
    } else {
        domains.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Says where the export and the live org disagree; the live org is what gets planned.
fn report_differences(path: &str, found: &Reconciled) {
    if !found.changed.is_empty() {
        crate::terminal::say!(
            "{path}: {} accounts have another address now than in the export; the plan uses the live one:",
            found.changed.len()
        );
        for (id, was, now) in found.changed.iter().take(SHOWN) {
            crate::terminal::say!(
                "  {id}: {} in the export, {} now",
                mailshift_core::inert::terminal(was),
                mailshift_core::inert::terminal(now)
            );
        }
        more(found.changed.len());
    }
    if !found.not_listed.is_empty() {
        crate::terminal::say!(
            "{path}: {} addresses are not in the org's listing and are left out of the plan:",
            found.not_listed.len()
        );
        for (line, email) in found.not_listed.iter().take(SHOWN) {
            crate::terminal::say!(
                "  {path}:{line}: {}",
                mailshift_core::inert::terminal(email)
            );
        }
        more(found.not_listed.len());
    }
    if found.new > 0 {
        note!(
            "{path}: the org has {} accounts the export does not; they are planned with the rest (as holders of wanted addresses, say).",
            found.new
        );
    }
    if found.hidden > 0 {
        caution!(
            "{} accounts' emails could not be read; an address one of them holds shows up as taken when the plan is applied",
            found.hidden
        );
    }
}

/// The account `--operator` names, by ID or address; warns when it names nobody.
pub(super) fn operator_id(org: &Org, text: &str) -> Option<String> {
    let found = org.by_id(text).or_else(|| org.holder(text));
    if let Some(i) = found {
        org.account(i).id.as_deref().map(str::to_owned)
    } else {
        caution!(
            "--operator {text} is not an account of the org; no account is protected as yours"
        );
        None
    }
}

/// The accounts among those the steps write whose email the API will not set, with its reason.
pub(super) fn denied(
    session: &Session,
    live: &LiveConfig,
    steps: &[Step],
) -> Result<(HashMap<String, String>, u64), Error> {
    let mut seen = HashSet::new();
    let ids: Vec<String> = steps
        .iter()
        .filter(|s| seen.insert(&*s.account_id))
        .map(|s| s.account_id.to_string())
        .collect();
    let before = session.reader.reads();
    let (settled, to_read) = preflight::from_listing(session, &ids, preflight::Trust::Writable);
    preflight::say_settled(ids.len(), to_read.len());
    note!(
        "Pre-flight: checking who may be written: {} to read at most {}/s, about {}; Ctrl-C stops without writing anything.",
        crate::words::counted(to_read.len() as u64, "account", "accounts"),
        live.rate,
        crate::words::span(
            std::time::Duration::try_from_secs_f64(to_read.len() as f64 / live.rate)
                .unwrap_or(std::time::Duration::MAX)
        )
    );
    let mut found =
        preflight::permissions(session, &to_read, live.concurrency, &HashMap::new(), None)?;
    found.merge(settled);
    let mut by_reason: HashMap<String, usize> = HashMap::new();
    for key in found.denied.values() {
        *by_reason.entry(key.clone()).or_default() += 1;
    }
    if !found.refused.is_empty() {
        by_reason.insert("refused by the API (403)".into(), found.refused.len());
    }
    let mut reasons: Vec<String> = by_reason.iter().map(|(k, n)| format!("{n} {k}")).collect();
    reasons.sort();
    note!(
        "Pre-flight: checked who may be written: {} with {}; {} may not be ({}).",
        crate::words::counted(ids.len() as u64, "account", "accounts"),
        crate::words::counted(session.reader.reads() - before, "read", "reads"),
        found.denied.len() + found.missing.len() + found.refused.len(),
        if reasons.is_empty() {
            "none".to_owned()
        } else {
            reasons.join(", ")
        }
    );
    let mut denied = found.denied;
    for id in found.missing {
        denied.insert(id, "accountNotFound".into());
    }
    // Blocked with the API's answer in words (`NotPermitted`), so the review says why.
    denied.extend(found.refused);
    Ok((denied, ids.len() as u64))
}

/// The groups the v2 listing showed for each account the steps unlink, in plan order. Where the
/// listing gave none (the v1 listing), the review says the groups are not known.
pub(super) fn groups_before_unlink(
    session: &Session,
    steps: &[Step],
) -> Vec<crate::plan::AccountGroups> {
    steps
        .iter()
        .filter(|s| s.kind == crate::plan::StepKind::Unlink)
        .filter_map(|s| {
            Some(crate::plan::AccountGroups {
                account_id: s.account_id.to_string(),
                groups: session.groups(&s.account_id)?,
            })
        })
        .collect()
}

/// The 409 pre-check of the IdP checklist: for each address an IdP change pushes, the SCIM
/// records that hold it other than the mover's own (and those of accounts the plan unlinks
/// first). One request per IdP change; a lookup that fails is said, not taken as "none".
pub(super) fn scim_in_the_way(
    session: &Session,
    live: &LiveConfig,
    computed: &crate::plan::Computed,
) -> Result<Vec<crate::plan::ScimInTheWay>, Error> {
    if computed.idp.is_empty() {
        return Ok(Vec::new());
    }
    let unlinked: HashSet<&str> = computed
        .steps
        .iter()
        .filter(|s| s.kind == crate::plan::StepKind::Unlink)
        .map(|s| &*s.account_id)
        .collect();
    let mut found = Vec::new();
    let mut unchecked = 0usize;
    for m in &computed.idp {
        let records = session.block_on(
            session
                .reader
                .scim_records_for_email(&live.org_id, &m.target),
        );
        let records = match records {
            Ok(records) => records,
            Err(e @ (LiveError::Unauthorized { .. } | LiveError::CannotConnect { .. })) => {
                return Err(e.into());
            }
            Err(e) => {
                unchecked += 1;
                if unchecked <= SHOWN {
                    caution!("{e}; IdP change {} is not checked for a 409", m.order);
                }
                continue;
            }
        };
        let in_the_way =
            crate::live::scim_email::in_the_way(&m.account_id, &records, &|a| unlinked.contains(a));
        found.extend(in_the_way.into_iter().map(|r| crate::plan::ScimInTheWay {
            idp_order: m.order,
            email: m.target.clone(),
            scim_user_id: r.scim_user_id.clone(),
            directory_id: r.directory_id.clone(),
            account_id: r.account_id.clone(),
        }));
    }
    more(unchecked);
    note!(
        "Pre-flight: the {} IdP changes' addresses looked up among the SCIM records: {} in the way of a push{}.",
        computed.idp.len(),
        found.len(),
        if unchecked > 0 {
            format!(", {unchecked} not checked")
        } else {
            String::new()
        }
    );
    Ok(found)
}
