//! What in a plan needs a person's decision, named, for the front of every review: at 5,000 rows
//! the few items that matter must not hide among the plain renames. One function decides what
//! counts as a decision; the renderers only lay it out.

use super::{idp::wait_text, lookalike, origin_text};
use crate::plan::{Plan, Step, StepId, StepKind};
use crate::words::counted;
use hashbrown::{HashMap, HashSet};

/// Items shown per section; the rest are counted, and the CSV review lists them all.
pub const SHOWN: usize = 20;

/// One kind of decision and the items of that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    /// What deciding means here, in a sentence.
    pub ask: &'static str,
    /// At most [`SHOWN`] items, one line each.
    pub items: Vec<String>,
    pub total: usize,
}

/// The step's kind as a decision, for the CSV review's `decision` column; `None` for steps
/// that need none (a rename someone asked for, a free of a holder nobody will miss).
pub fn of_step(step: &Step) -> Option<&'static str> {
    match step.kind {
        StepKind::Rename if lookalike::concern(&step.to).is_some() => Some("look-alike address"),
        StepKind::Free if step.flagged() => Some("flagged free"),
        StepKind::Unlink => Some("SCIM unlink"),
        StepKind::Temporary => Some("temporary address"),
        _ => None,
    }
}

/// Every decision the plan asks for, in the order a reviewer takes them; empty sections left out.
pub fn sections(plan: &Plan) -> Vec<Section> {
    let who = |id: &str, name: &str| {
        if name.is_empty() {
            id.to_owned()
        } else {
            format!("{name} [{id}]")
        }
    };
    // A plan has a million plain steps and a few decisions: each lookup below is built only
    // over the steps that are decisions, so the front page costs one pass over the plan.
    let flagged: HashSet<StepId> = plan
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Free && s.flagged())
        .map(|s| s.id)
        .collect();
    // Who takes the address a flagged free gives up: the rename that waits for the free.
    let mut taker: HashMap<StepId, &Step> = HashMap::new();
    if !flagged.is_empty() {
        for s in plan.steps.iter().filter(|s| s.kind == StepKind::Rename) {
            for a in s.after.iter().filter(|a| flagged.contains(*a)) {
                taker.entry(*a).or_insert(s);
            }
        }
    }
    // Steps per group, for the groups that park an account on a temporary address: the steps
    // that carry its number, wherever they stand (as `plan::Groups` counts a group's members).
    let mut group_size: HashMap<u32, usize> = plan
        .steps
        .iter()
        .filter(|s| s.kind == StepKind::Temporary)
        .map(|s| (s.group, 0))
        .collect();
    if !group_size.is_empty() {
        for s in &plan.steps {
            if let Some(n) = group_size.get_mut(&s.group) {
                *n += 1;
            }
        }
    }
    // Names of blocked accounts from the steps, for plans written before blocked items had them.
    let names: HashMap<&str, &str> = if plan.blocked.iter().any(|b| b.name.is_empty()) {
        let blocked: HashSet<&str> = plan
            .blocked
            .iter()
            .filter_map(|b| b.account_id.as_deref())
            .collect();
        plan.steps
            .iter()
            .filter(|s| blocked.contains(&*s.account_id))
            .map(|s| (&*s.account_id, &*s.name))
            .collect()
    } else {
        HashMap::new()
    };
    let mut out = Vec::new();
    let mut add = |title, ask, items: Vec<String>| {
        let total = items.len();
        if total > 0 {
            out.push(Section {
                title,
                ask,
                items: items.into_iter().take(SHOWN).collect(),
                total,
            });
        }
    };
    add(
        "Blocked",
        "asked for and cannot be done: fix the row or the org and plan again, or accept",
        plan.blocked
            .iter()
            .map(|b| {
                let account = b.account_id.as_deref().unwrap_or("-");
                let name = if b.name.is_empty() {
                    names.get(account).copied().unwrap_or("")
                } else {
                    &b.name
                };
                format!(
                    "{}: {} -> {}: {}",
                    origin_text(plan, &b.origin),
                    who(account, name),
                    b.target,
                    b.reason.describe()
                )
            })
            .collect(),
    );
    add(
        "SCIM records in the way of an IdP push",
        "the identity provider's update of these accounts would be refused 409 until the record is dealt with, as each says",
        plan.scim_in_the_way
            .iter()
            .map(crate::plan::ScimInTheWay::what_to_do)
            .collect(),
    );
    add(
        "Found by the new address",
        "no account has these rows' current address, and one already holds the new address: most likely changed before the export, so nothing is written; check each holder is the person the row means",
        plan.unchanged
            .iter()
            .filter_map(|u| {
                let stale = u.row_current.as_deref()?;
                Some(format!(
                    "{}: {} is at {}; the row's current address {stale} is no account's",
                    origin_text(plan, &u.origin),
                    u.account_id,
                    u.target
                ))
            })
            .collect(),
    );
    add(
        "Look-alike addresses",
        "these targets may be read as another address by a person, a mailbox or the IdP: check each with its owner, or plan it without --allow-non-ascii-local-part",
        plan.steps
            .iter()
            .filter(|s| s.kind == StepKind::Rename)
            .filter_map(|s| {
                let why = lookalike::concern(&s.to)?;
                Some(format!(
                    "step {}: {} -> {}: {why}",
                    s.id,
                    who(&s.account_id, &s.name),
                    s.to
                ))
            })
            .collect(),
    );
    if !plan.unverified.is_empty() {
        let unverified: HashSet<&str> = plan.unverified.iter().map(String::as_str).collect();
        let mut named = HashSet::new();
        add(
            "Unverified emails",
            "the export says these accounts' emails are unverified, and the API changes no unverified account (403 forbidden.targetUnverified): have each owner verify the email, or claim the account, before applying, or their steps will fail",
            plan.steps
                .iter()
                .filter(|s| unverified.contains(&*s.account_id) && named.insert(&*s.account_id))
                .map(|s| {
                    format!(
                        "step {}: {} ({})",
                        s.id,
                        who(&s.account_id, &s.name),
                        s.from
                    )
                })
                .collect(),
        );
    }
    add(
        "Flagged frees",
        "these holders did not ask to move, can sign in or use a product, and lose their address",
        plan.steps
            .iter()
            .filter(|s| s.kind == StepKind::Free && s.flagged())
            .map(|s| {
                let to = taker
                    .get(&s.id)
                    .map(|t| format!(" to {}", who(&t.account_id, &t.name)))
                    .unwrap_or_default();
                format!(
                    "step {}: {}, {}{}, gives up {}{to} and becomes {}",
                    s.id,
                    who(&s.account_id, &s.name),
                    s.status,
                    if s.product_access {
                        " and uses products"
                    } else {
                        ""
                    },
                    s.from,
                    s.to
                )
            })
            .collect(),
    );
    add(
        "SCIM unlinks",
        "unlinked from the identity provider so that their address can be freed; afterwards, reassign them there, or, for a duplicate of an account the IdP owns, re-push that account's update (see the IdP section)",
        plan.steps
            .iter()
            .filter(|s| s.kind == StepKind::Unlink)
            .map(|s| {
                format!(
                    "step {}: {} ({})",
                    s.id,
                    who(&s.account_id, &s.name),
                    s.from
                )
            })
            .collect(),
    );
    add(
        "Temporary addresses",
        "one account of each swap or cycle holds a temporary address between two steps",
        plan.steps
            .iter()
            .filter(|s| s.kind == StepKind::Temporary)
            .map(|s| {
                let members = group_size.get(&s.group).copied().unwrap_or(1);
                format!(
                    "step {}: {} parks on {} (group {}, {members} steps)",
                    s.id,
                    who(&s.account_id, &s.name),
                    s.to,
                    s.group
                )
            })
            .collect(),
    );
    add(
        "IdP changes",
        "the identity provider owns these emails: change them there, in this order",
        plan.idp
            .iter()
            .map(|m| {
                format!(
                    "{}: {} {} -> {}, {}",
                    m.order,
                    who(&m.account_id, &m.name),
                    m.current,
                    m.target,
                    wait_text(m)
                )
            })
            .collect(),
    );
    out
}

/// The plain renames in one line: the part of the plan that asks nothing of the reviewer.
pub fn tally(plan: &Plan) -> String {
    let plain = plan
        .steps
        .iter()
        .filter(|s| of_step(s).is_none() && matches!(s.kind, StepKind::Rename | StepKind::Free))
        .count();
    format!(
        "No decision needed: {} (renames a row or rule asks for, and frees of holders who cannot sign in); {} already met",
        counted(plain as u64, "step", "steps"),
        counted(plan.unchanged.len() as u64, "wish", "wishes")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of as step;

    #[test]
    fn a_flagged_free_names_who_takes_the_address_and_plain_steps_are_counted() {
        let mut steps = vec![
            step(1, "h", "ann@x", "ann_FREE@x", &[]),
            step(2, "a", "ann@y", "ann@x", &[1]),
            step(3, "b", "b@y", "b@x", &[]),
        ];
        steps[0].kind = StepKind::Free;
        steps[0].name = "Ann Holder".into();
        steps[1].name = "Ann Lee".into();
        let plan = crate::plan::plan_of(steps);
        let sections = sections(&plan);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].title, "Flagged frees");
        assert_eq!(
            sections[0].items,
            [
                "step 1: Ann Holder [h], active, gives up ann@x to Ann Lee [a] and becomes ann_FREE@x"
            ]
        );
        assert_eq!(of_step(&plan.steps[0]), Some("flagged free"));
        assert_eq!(of_step(&plan.steps[1]), None);
        assert_eq!(
            tally(&plan),
            "No decision needed: 2 steps (renames a row or rule asks for, and frees of holders who cannot sign in); 0 wishes already met"
        );
    }

    #[test]
    fn accounts_the_export_calls_unverified_are_named_once_each() {
        let mut plan = crate::plan::plan_of(vec![
            step(1, "a", "a@old.example", "a_FREE@old.example", &[]),
            step(2, "a", "a_FREE@old.example", "a@new.example", &[1]),
            step(3, "b", "b@old.example", "b@new.example", &[]),
        ]);
        plan.unverified = vec!["a".into()];
        let sections = sections(&plan);
        assert_eq!(sections.len(), 1, "{sections:?}");
        assert_eq!(sections[0].title, "Unverified emails");
        assert_eq!(sections[0].items, ["step 1: a (a@old.example)"]);
    }

    #[test]
    fn look_alike_targets_are_a_decision_of_their_own() {
        let plan = crate::plan::plan_of(vec![
            step(
                1,
                "a",
                "a@old.example",
                "\u{ff4b}\u{ff49}\u{ff4d}@x.example",
                &[],
            ),
            step(2, "b", "b@old.example", "zoë@x.example", &[]),
            step(3, "c", "c@old.example", "c@x.example", &[]),
        ]);
        let sections = sections(&plan);
        assert_eq!(sections.len(), 1, "{sections:?}");
        assert_eq!(sections[0].title, "Look-alike addresses");
        assert_eq!(sections[0].items.len(), 1);
        assert!(
            sections[0].items[0]
                .starts_with("step 1: a -> ｋｉｍ@x.example: holds compatibility letters"),
            "{:?}",
            sections[0].items
        );
        assert!(sections[0].items[0].ends_with("it reads as kim@x.example"));
        assert_eq!(of_step(&plan.steps[0]), Some("look-alike address"));
        assert_eq!(of_step(&plan.steps[1]), None);
        assert!(
            tally(&plan).starts_with("No decision needed: 2 steps"),
            "{}",
            tally(&plan)
        );
    }
}
