//! The dry run: a plan rendered for the people who approve it and the scripts that check it.
//! Renderers write to any `io::Write`; the caller owns the terminal.

pub mod cause;
pub mod decisions;
mod diagram;
pub mod idp;
pub mod json;
pub mod lookalike;
pub mod markdown;
pub mod outcome;
pub mod people;
pub mod runs;
pub mod spreadsheet;
pub mod table;

use crate::plan::{Origin, Plan, Step, StepId, StepKind};

/// What the review is of: "mailshift plan", or "mailshift rollback plan" for one that puts an
/// applied plan's accounts back.
pub fn title(plan: &Plan) -> &'static str {
    if plan.inputs.rollback {
        "mailshift rollback plan"
    } else {
        "mailshift plan"
    }
}

/// A targets file (`Origin::Line`'s `file`) as the plan names it, for `file:line` references.
pub fn targets_path(plan: &Plan, file: u32) -> &str {
    plan.inputs
        .targets_file(file)
        .map_or("targets", |f| f.path.as_str())
}

/// What the review says beside a wish already met.
pub fn unchanged_note(u: &crate::plan::Unchanged) -> String {
    match (&u.row_current, u.case_only) {
        (Some(stale), _) => format!(
            "found by the new address: no account has the row's {stale}; check it is the same person"
        ),
        (None, true) => "differs in letter case only".to_owned(),
        (None, false) => String::new(),
    }
}

/// Where a wish came from, as a reviewer looks it up: `targets.csv:12` or the rule.
pub fn origin_text(plan: &Plan, origin: &Origin) -> String {
    match origin {
        Origin::Line { file, line } => format!("{}:{line}", targets_path(plan, *file)),
        Origin::Rule(rule) => format!("--rewrite-domain {rule}"),
    }
}

/// What a reviewer should know about a step beyond its addresses.
pub fn step_note(plan: &Plan, step: &Step) -> String {
    match step.kind {
        StepKind::Free if step.flagged() => {
            let products = if step.product_access {
                ", has product access"
            } else {
                ""
            };
            format!("WARNING {} user{products} loses this address", step.status)
        }
        StepKind::Free => format!("{} holder keeps its account", step.status),
        StepKind::Temporary => "temporary address that breaks a cycle".to_owned(),
        StepKind::Unlink => match repushed_by(plan, step) {
            Some(m) => format!(
                "WARNING unlinked from SCIM as the duplicate: re-push IdP change {} afterwards; do not reassign it",
                m.order
            ),
            None => "WARNING unlinked from SCIM: unassign and reassign the user in the IdP afterwards to restore its groups".to_owned(),
        },
        StepKind::Rename => step
            .origin
            .as_ref()
            .map(|o| origin_text(plan, o))
            .unwrap_or_default(),
    }
}

pub fn kind_text(kind: StepKind) -> &'static str {
    kind.name()
}

pub fn after_text(step: &Step) -> String {
    if step.after.is_empty() {
        return "-".to_owned();
    }
    step.after
        .iter()
        .map(StepId::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The summary as label/value pairs, shared by the table and markdown renderers.
pub fn summary_rows(plan: &Plan) -> Vec<(&'static str, String)> {
    let s = &plan.summary;
    let blocked = if s.blocked_by_reason.is_empty() {
        s.blocked.to_string()
    } else {
        let parts: Vec<String> = s
            .blocked_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!("{} ({})", s.blocked, parts.join(", "))
    };
    // A rollback's accounts, and a live plan's, come from the API, not from an export.
    let from_api = plan.inputs.accounts.path.contains("://");
    let mut rows = vec![
        (
            if from_api {
                "accounts in the org"
            } else {
                "accounts in export"
            },
            s.accounts.to_string(),
        ),
        ("writes (API calls)", s.writes.to_string()),
        ("renames", s.renames.to_string()),
        (
            "frees",
            format!(
                "{} ({} flagged: the holder can sign in or uses a product)",
                s.frees, s.flagged_holders
            ),
        ),
        (
            "temporary addresses",
            format!(
                "{} (one per cycle; cycles {}, chains {})",
                s.temporaries, s.cycles, s.chains
            ),
        ),
        (
            "users signed out",
            format!("{} (every write ends the account's sessions)", s.signed_out),
        ),
        ("blocked", blocked),
        (
            "unchanged",
            format!("{} (already at their target)", s.unchanged),
        ),
    ];
    if let Some(left) = left_behind_text(plan) {
        rows.push(("left behind", left));
    }
    if s.no_account > 0 {
        rows.push((
            "no Atlassian account",
            format!(
                "{} (rows of the target list that match no account; not planned, not blocked)",
                s.no_account
            ),
        ));
    }
    if s.unlinks > 0 {
        rows.push((
            "SCIM unlinks",
            format!(
                "{} (their groups must be reprovisioned from the IdP afterwards)",
                s.unlinks
            ),
        ));
    }
    if s.idp_changes > 0 {
        rows.push((
            "IdP changes",
            format!(
                "{} (the identity provider owns these emails: change them there, in order)",
                s.idp_changes
            ),
        ));
    }
    rows
}

/// What the admin does in the identity provider once the plan is applied: the unlinked
/// accounts to reassign (seed: update-managed-scim-email-addresses, use cases A and B) and the
/// IdP-owned emails to change. Empty when there is nothing.
pub fn follow_ups(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for s in plan.steps.iter().filter(|s| s.kind == StepKind::Unlink) {
        lines.push(match repushed_by(plan, s) {
            // Use case A: the right account is the IdP's own, and this one the duplicate that
            // held its address. Reassigning the duplicate would push the conflicting address
            // again; the IdP's update of the right account is what is re-pushed.
            Some(m) => format!(
                "{} ({}) is unlinked from SCIM by step {} as the duplicate of {}, whose email the IdP owns: once the plan is applied, re-push that user's email update in the IdP (IdP change {}); do not unassign and reassign the duplicate, which would push the conflicting address again; {}",
                s.account_id, s.from, s.id, m.account_id, m.order, groups_text(plan, &s.account_id)
            ),
            // Use case B: the plan itself moves the right account onto the address.
            None => format!(
                "{} ({}) is unlinked from SCIM by step {}: once the plan is applied, unassign and reassign the user to the Atlassian app in the IdP, so that it is provisioned again with its groups; {}",
                s.account_id, s.from, s.id, groups_text(plan, &s.account_id)
            ),
        });
    }
    for m in &plan.idp {
        lines.push(format!(
            "IdP change {}: {} ({}) {} -> {}, {}; change {}",
            m.order,
            m.account_id,
            if m.name.is_empty() { "-" } else { &m.name },
            m.current,
            m.target,
            idp::wait_text(m),
            crate::plan::access::idp_attribute(&m.source)
        ));
    }
    lines
}

/// The groups an unlinked account had when the plan was made, in words, for what to check once
/// the identity provider provisions it again.
pub fn groups_text(plan: &Plan, account_id: &str) -> String {
    match plan
        .groups_before_unlink
        .iter()
        .find(|g| g.account_id == account_id)
    {
        Some(g) if g.groups.is_empty() => "it was in no group when the plan was made".to_owned(),
        Some(g) => format!(
            "its groups when the plan was made, to check it gets back: {}",
            g.groups.join(", ")
        ),
        None => "its groups are not known (the org's API gave no v2 listing): note them in admin.atlassian.com before applying".to_owned(),
    }
}

/// The IdP change that takes the address an unlink frees, if the IdP owns the account that
/// wants it (the seeds' use case A: unlink the duplicate, free it, re-push the right user's
/// update); `None` when a step of the plan takes it (use case B: reassign afterwards).
pub fn repushed_by<'p>(plan: &'p Plan, unlink: &Step) -> Option<&'p crate::plan::IdpMove> {
    let freed = crate::model::email_key(&unlink.from);
    plan.idp
        .iter()
        .find(|m| crate::model::email_key(&m.target) == freed)
}

/// How many accounts the plan leaves on each domain it moves others away from, by status:
/// `old.example 1510 (1500 deactivated, 10 active); all of them in --format csv or json`.
pub fn left_behind_text(plan: &Plan) -> Option<String> {
    if plan.left_behind.is_empty() {
        return None;
    }
    let mut by_domain: std::collections::BTreeMap<String, std::collections::BTreeMap<&str, u64>> =
        std::collections::BTreeMap::new();
    for l in &plan.left_behind {
        let domain = l
            .email
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        *by_domain
            .entry(domain)
            .or_default()
            .entry(l.status.name())
            .or_default() += 1;
    }
    let parts: Vec<String> = by_domain
        .iter()
        .map(|(domain, statuses)| {
            let total: u64 = statuses.values().sum();
            let each: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
            format!("{domain} {total} ({})", each.join(", "))
        })
        .collect();
    Some(format!(
        "{}: still on a domain the plan moves others away from; all of them in --format csv or json",
        parts.join("; ")
    ))
}

/// The line under follow-ups cut at [`decisions::SHOWN`]: where the rest are.
pub fn follow_ups_beyond(total: usize) -> Option<String> {
    (total > decisions::SHOWN).then(|| {
        format!(
            "... and {} more: `mailshift plan ... --idp-checklist FILE` lists every one, in order",
            total - decisions::SHOWN
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlinked_duplicate_of_an_idp_owned_account_is_not_reassigned() {
        use crate::plan::{IdpMove, Origin, step_of};
        let mut unlink = step_of(1, "dup", "pat@new.example", "pat@new.example", &[]);
        unlink.kind = StepKind::Unlink;
        let mut free = step_of(2, "dup", "pat@new.example", "pat_FREE@new.example", &[1]);
        free.kind = StepKind::Free;
        let mut plan = crate::plan::plan_of(vec![unlink, free]);
        // Use case B: a step of the plan takes the address.
        let b = follow_ups(&plan);
        assert!(b[0].contains("unassign and reassign the user"), "{b:?}");
        // Use case A: the IdP owns the account that wants it.
        plan.idp.push(IdpMove {
            order: 1,
            origin: Origin::line(2),
            account_id: "pat".into(),
            name: String::new(),
            current: "pat@old.example".into(),
            target: "pat@new.example".into(),
            source: "externalDirectory.scim".into(),
            after_steps: vec![StepId(2)],
            after_idp: vec![],
        });
        let a = follow_ups(&plan);
        assert!(
            a[0].contains("re-push that user's email update in the IdP (IdP change 1)"),
            "{a:?}"
        );
        assert!(
            a[0].contains("do not unassign and reassign the duplicate"),
            "{a:?}"
        );
        assert!(step_note(&plan, &plan.steps[0]).contains("re-push IdP change 1"));
    }

    #[test]
    fn accounts_read_from_the_api_are_not_called_an_export() {
        let mut plan = crate::plan::plan_of(vec![]);
        assert_eq!(summary_rows(&plan)[0].0, "accounts in export");
        plan.inputs.accounts.path = "https://api.atlassian.com/admin/v1/orgs/o/users".into();
        assert_eq!(summary_rows(&plan)[0].0, "accounts in the org");
    }
}
