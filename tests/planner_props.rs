//! Property tests of the planner against the "one address, one account" ledger: for random orgs
//! and wishes, a plan never collides (in plan order or any order its dependencies allow), leaves
//! every planned account at its target, touches no bystander, drops no row, and uses the fewest
//! writes: one per mover, one per freed holder, one more per cycle.

use mailshift::input::{DomainRule, Target, TargetRow};
use mailshift::ledger::Ledger;
use mailshift::model::{Account, Email, Status, email_key};
use mailshift::org::Org;
use mailshift::plan::access::SCIM;
use mailshift::plan::{Access, Origin, Plan, Request, StepId, StepKind, compute, file};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone)]
struct Wish {
    /// An account index, or one past the end for an account the export lacks.
    account: usize,
    /// An index into the address pool, or past it for an invalid address.
    target: usize,
    by_email: bool,
    shout: bool,
}

#[derive(Debug, Clone)]
struct Scenario {
    pool: Vec<String>,
    /// Account i holds pool[holding[i]].
    holding: Vec<usize>,
    statuses: Vec<u8>,
    wishes: Vec<Wish>,
    rule: bool,
    verified: u8,
    order_seed: Vec<u32>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..24, 1usize..16).prop_flat_map(|(n, extra)| {
        let half = (n + extra).div_ceil(2);
        let pool: Vec<String> = (0..half)
            .flat_map(|k| [format!("u{k}@a.example"), format!("u{k}@b.example")])
            .collect();
        let size = pool.len();
        let indices: Vec<usize> = (0..size).collect();
        let wish = (0..=n, 0..size + 2, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
            |(account, target, by_email, shout)| Wish {
                account,
                target,
                by_email,
                shout,
            },
        );
        (
            Just(pool),
            Just(indices).prop_shuffle(),
            prop::collection::vec(0u8..4, n),
            prop::collection::vec(wish, 0..n * 2),
            any::<bool>(),
            0u8..3,
            prop::collection::vec(any::<u32>(), 64),
        )
            .prop_map(
                move |(pool, shuffled, statuses, wishes, rule, verified, order_seed)| Scenario {
                    pool,
                    holding: shuffled[..n].to_vec(),
                    statuses,
                    wishes,
                    rule,
                    verified,
                    order_seed,
                },
            )
    })
}

fn id(i: usize) -> String {
    format!("acct-{i:03}")
}

struct Built {
    org: Org,
    rows: Vec<TargetRow>,
    rules: Vec<DomainRule>,
    verified: Option<BTreeSet<String>>,
}

fn build(s: &Scenario) -> Built {
    let status = |k: u8| match k {
        0 => Status::Active,
        1 => Status::Deactivated,
        2 => Status::Suspended,
        _ => Status::Unknown,
    };
    let accounts = s
        .holding
        .iter()
        .enumerate()
        .map(|(i, &h)| Account {
            id: Some(id(i).into()),
            name: format!("User {i}").into(),
            email: Email::lenient(&s.pool[h]),
            status: status(s.statuses[i]),
            product_access: i % 3 == 0,
            line: i as u64 + 2,
        })
        .collect();
    let org = Org::new(accounts).expect("distinct addresses make a valid org");
    let rows = s
        .wishes
        .iter()
        .enumerate()
        .map(|(line, w)| {
            let mut target = match s.pool.get(w.target) {
                Some(t) => t.clone(),
                None => format!("not-an-address-{}", w.target),
            };
            if w.shout {
                target = target.to_uppercase();
            }
            let known = w.account < s.holding.len();
            TargetRow {
                file: 0,
                line: line as u64 + 2,
                account_id: (!w.by_email || !known).then(|| id(w.account)),
                current_email: (w.by_email && known).then(|| s.pool[s.holding[w.account]].clone()),
                target: Target::parse(&target),
            }
        })
        .collect();
    let rules = if s.rule {
        vec![DomainRule::parse("a.example=b.example").unwrap()]
    } else {
        vec![]
    };
    let verified = match s.verified {
        0 => None,
        1 => Some(BTreeSet::from([
            "a.example".to_owned(),
            "b.example".to_owned(),
        ])),
        _ => Some(BTreeSet::from(["b.example".to_owned()])),
    };
    Built {
        org,
        rows,
        rules,
        verified,
    }
}

fn plan_of(b: &Built) -> Plan {
    plan_with(b, &Access::default())
}

fn plan_with(b: &Built, access: &Access) -> Plan {
    let c = compute(&Request {
        org: &b.org,
        rows: &b.rows,
        rules: &b.rules,
        verified_domains: b.verified.as_ref(),
        access,
    });
    Plan {
        inputs: mailshift::plan::Inputs {
            accounts: mailshift::plan::InputFile {
                path: "accounts.csv".into(),
                sha256: String::new(),
            },
            accounts_layout: mailshift::input::Layout::ExportUsers,
            targets: None,
            more_targets: vec![],
            rewrite_domains: vec![],
            verified_domains: None,
            checked_live: None,
            rollback: false,
        },
        summary: c.summary,
        steps: c.steps,
        blocked: c.blocked,
        no_account: c.no_account,
        unchanged: c.unchanged,
        idp: c.idp,
        unverified: Vec::new(),
        left_behind: c.left_behind,
        groups_before_unlink: Vec::new(),
        scim_in_the_way: Vec::new(),
    }
}

/// Locks drawn per account: mostly none, some SCIM-owned, some denied, and the operator.
fn access_of(locks: &[u8], n: usize, allow_scim_unlink: bool) -> Access {
    let mut access = Access {
        allow_scim_unlink,
        ..Access::default()
    };
    for (i, &lock) in locks.iter().take(n).enumerate() {
        match lock {
            3 => {
                access.denied.insert(id(i), SCIM.into());
            }
            4 => {
                access.denied.insert(id(i), "administrative".into());
            }
            5 if access.operator.is_none() => access.operator = Some(id(i)),
            _ => {}
        }
    }
    access
}

/// Runs the steps in an order the dependencies allow, picking among ready steps with `seed`.
fn run_any_order(org: &Org, plan: &Plan, seed: &[u32]) -> Result<Ledger, String> {
    let mut ledger = Ledger::from_org(org);
    let mut done: HashSet<StepId> = HashSet::new();
    let mut pending: Vec<&mailshift::plan::Step> = plan.steps.iter().collect();
    let mut pick = 0usize;
    while !pending.is_empty() {
        let ready: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].after.iter().all(|a| done.contains(a)))
            .collect();
        if ready.is_empty() {
            return Err("dependencies never become ready".into());
        }
        let choice =
            ready[seed.get(pick % seed.len().max(1)).copied().unwrap_or(0) as usize % ready.len()];
        pick += 1;
        let step = pending.remove(choice);
        ledger
            .apply(&step.account_id, &step.from, &step.to)
            .map_err(|e| format!("step {}: {e}", step.id))?;
        done.insert(step.id);
    }
    Ok(ledger)
}

/// The plan's groups, as the partition of step indices that `Step.group` makes.
fn plan_groups(plan: &Plan) -> BTreeSet<Vec<u32>> {
    let mut by_group: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        by_group.entry(step.group).or_default().push(i as u32);
    }
    by_group.into_values().collect()
}

/// The dependency groups: steps joined by `after` or by their account, found from scratch.
fn dependency_groups(plan: &Plan) -> BTreeSet<Vec<u32>> {
    let n = plan.steps.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            i = parent[i];
        }
        i
    }
    let mut first_on: HashMap<&str, usize> = HashMap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let mut joined: Vec<usize> = step.after.iter().map(|&d| d.index()).collect();
        joined.push(*first_on.entry(&step.account_id).or_insert(i));
        for j in joined {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for i in 0..n {
        groups
            .entry(root(&mut parent, i))
            .or_default()
            .push(i as u32);
    }
    groups.into_values().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn plans_never_collide_and_reach_every_target(s in scenario()) {
        let b = build(&s);
        let plan = plan_of(&b);

        // Plan order and any order the dependencies allow both run without a collision.
        let in_order = run_any_order(&b.org, &plan, &[0]);
        prop_assert!(in_order.is_ok(), "plan order: {:?}", in_order.err());
        let any_order = run_any_order(&b.org, &plan, &s.order_seed);
        prop_assert!(any_order.is_ok(), "dependency order: {:?}", any_order.err());
        let end = any_order.unwrap();

        // Every renamed account ends at its target, spelled as asked.
        let mut final_target: HashMap<&str, &str> = HashMap::new();
        for step in plan.steps.iter().filter(|s| s.kind == StepKind::Rename) {
            prop_assert!(final_target.insert(&step.account_id, &step.to).is_none(), "one rename per account");
        }
        for (account, target) in &final_target {
            prop_assert_eq!(end.email_of(account), Some(*target));
        }

        // No address goes to an account when rows of two different people want it, whether
        // their rows matched an account or not (a person with no account yet would sign in to
        // it).
        let mut wanted_by: HashMap<String, HashSet<String>> = HashMap::new();
        for row in &b.rows {
            let person = match (&row.account_id, &row.current_email) {
                (Some(id), _) => id.clone(),
                (None, Some(email)) => b
                    .org
                    .holder(email)
                    .and_then(|i| b.org.account(i).id.as_deref().map(str::to_owned))
                    .unwrap_or_else(|| email.to_lowercase()),
                (None, None) => continue,
            };
            wanted_by
                .entry(email_key(row.target.text()))
                .or_default()
                .insert(person);
        }
        for step in &plan.steps {
            let people = wanted_by.get(&email_key(&step.to)).map_or(0, HashSet::len);
            prop_assert!(
                people < 2,
                "step {} gives {} to {} although rows of {} people want it",
                step.id, step.to, step.account_id, people
            );
        }

        // Bystanders keep their address; freed holders end on their placeholder.
        let touched: HashSet<&str> = plan.steps.iter().map(|s| &*s.account_id).collect();
        for a in b.org.accounts() {
            let id = a.id.as_deref().unwrap();
            if !touched.contains(id) {
                prop_assert_eq!(end.email_of(id), Some(a.email.text()), "bystander {} moved", id);
            }
        }

        // Fewest writes: one per mover, one per freed holder, one more per cycle.
        let frees = plan.steps.iter().filter(|s| s.kind == StepKind::Free).count();
        let temps = plan.steps.iter().filter(|s| s.kind == StepKind::Temporary).count();
        let groups_with_temp: BTreeSet<u32> = plan.steps.iter()
            .filter(|s| s.kind == StepKind::Temporary).map(|s| s.group).collect();
        prop_assert_eq!(temps, groups_with_temp.len(), "one temporary per cycle");
        prop_assert_eq!(plan.steps.len(), final_target.len() + frees + temps);
        let mut per_account: BTreeMap<&str, Vec<StepKind>> = BTreeMap::new();
        for s in &plan.steps {
            per_account.entry(&s.account_id).or_default().push(s.kind);
        }
        for kinds in per_account.values() {
            prop_assert!(
                matches!(kinds.as_slice(), [StepKind::Rename | StepKind::Free] | [StepKind::Temporary, StepKind::Rename]),
                "an account's steps: {:?}", kinds
            );
        }

        // A freed holder is never an account that some row or rule asked about.
        let named: HashSet<String> = plan.blocked.iter().filter_map(|x| x.account_id.clone())
            .chain(plan.unchanged.iter().map(|u| u.account_id.clone()))
            .chain(final_target.keys().map(std::string::ToString::to_string))
            .collect();
        for s in plan.steps.iter().filter(|s| s.kind == StepKind::Free) {
            prop_assert!(!named.contains(&*s.account_id), "freed {} though it has a wish", s.account_id);
        }

        // Invented addresses collide with nothing in the export and nothing anyone wants.
        let wanted: HashSet<String> = b.rows.iter().map(|r| email_key(r.target.text()))
            .chain(plan.steps.iter().filter(|s| s.kind == StepKind::Rename).map(|s| email_key(&s.to)))
            .collect();
        let mut invented = HashSet::new();
        for s in plan.steps.iter().filter(|s| s.kind != StepKind::Rename) {
            let key = email_key(&s.to);
            prop_assert!(b.org.holder_of_key(&key).is_none(), "{} is held", s.to);
            prop_assert!(!wanted.contains(&key), "{} is wanted", s.to);
            prop_assert!(invented.insert(key), "{} invented twice", s.to);
        }

        // Nothing dropped: every row is planned, blocked, unchanged or listed as matching no
        // account, except a word-for-word repeat of an earlier row for the same account.
        prop_assert!(plan.no_account.iter().all(|x| x.reason.is_no_account()));
        prop_assert!(plan.blocked.iter().all(|x| !x.reason.is_no_account()));
        let mut covered: HashSet<u64> = HashSet::new();
        for x in &plan.no_account {
            if let Origin::Line { line: l, .. } = x.origin { covered.insert(l); }
        }
        for s in &plan.steps {
            if let Some(Origin::Line { line: l, .. }) = s.origin { covered.insert(l); }
        }
        for x in &plan.blocked {
            if let Origin::Line { line: l, .. } = x.origin { covered.insert(l); }
        }
        for u in &plan.unchanged {
            if let Origin::Line { line: l, .. } = u.origin { covered.insert(l); }
        }
        let mut seen: HashSet<(usize, String)> = HashSet::new();
        for (row, w) in b.rows.iter().zip(&s.wishes) {
            let first = w.account >= s.holding.len() || seen.insert((w.account, row.target.text().to_owned()));
            if first {
                prop_assert!(covered.contains(&row.line), "row {} dropped", row.line);
            }
        }

        // The group a step carries is its dependency group: what `apply --limit` and a drifted
        // account's exclusion take whole.
        prop_assert_eq!(plan_groups(&plan), dependency_groups(&plan));

        // Same inputs, same bytes.
        prop_assert_eq!(file::encode(&plan), file::encode(&plan_of(&b)));
    }

    #[test]
    fn plans_write_only_what_the_api_allows_and_leave_the_idp_a_safe_order(
        s in scenario(),
        locks in prop::collection::vec(0u8..6, 24),
        allow_scim_unlink in any::<bool>(),
    ) {
        let b = build(&s);
        let access = access_of(&locks, s.holding.len(), allow_scim_unlink);
        let plan = plan_with(&b, &access);

        let run = run_any_order(&b.org, &plan, &s.order_seed);
        prop_assert!(run.is_ok(), "dependency order: {:?}", run.err());
        prop_assert_eq!(plan_groups(&plan), dependency_groups(&plan));
        let mut end = run.unwrap();

        // No write to an account the API refuses, nor to the operator's; a SCIM-owned holder
        // only with the flag, and only after its unlink.
        let unlinked: HashMap<&str, StepId> = plan.steps.iter()
            .filter(|x| x.kind == StepKind::Unlink)
            .map(|x| (&*x.account_id, x.id))
            .collect();
        prop_assert!(allow_scim_unlink || unlinked.is_empty());
        for step in plan.steps.iter().filter(|x| x.kind != StepKind::Unlink) {
            let account = &*step.account_id;
            prop_assert!(access.operator.as_deref() != Some(account), "step {} writes the operator", step.id);
            match access.denied.get(account).map(String::as_str) {
                None => {}
                Some(SCIM) => {
                    prop_assert_eq!(step.kind, StepKind::Free, "step {} writes a SCIM-owned account", step.id);
                    prop_assert_eq!(unlinked.get(account).map(|u| step.after.contains(u)), Some(true),
                        "step {} frees a SCIM-owned account that is not unlinked first", step.id);
                }
                Some(other) => prop_assert!(false, "step {} writes an account denied for {}", step.id, other),
            }
        }

        // Each IdP change is for an IdP-owned account, and once the plan has run, making them in
        // their order collides with nothing.
        for (k, m) in plan.idp.iter().enumerate() {
            prop_assert_eq!(m.order as usize, k + 1);
            prop_assert_eq!(access.denied.get(&m.account_id).map(String::as_str), Some(SCIM));
            for earlier in &m.after_idp {
                prop_assert!(*earlier < m.order, "IdP change {} waits for a later one", m.order);
            }
            let applied = end.apply(&m.account_id, &m.current, &m.target);
            prop_assert!(applied.is_ok(), "IdP change {}: {:?}", m.order, applied.err());
        }

        // Nothing dropped: every first row is planned, blocked, unchanged or left to the IdP.
        let mut covered: HashSet<u64> = HashSet::new();
        let origins = plan.steps.iter().filter_map(|x| x.origin.clone())
            .chain(plan.blocked.iter().map(|x| x.origin.clone()))
            .chain(plan.no_account.iter().map(|x| x.origin.clone()))
            .chain(plan.unchanged.iter().map(|x| x.origin.clone()))
            .chain(plan.idp.iter().map(|x| x.origin.clone()));
        for o in origins {
            if let Origin::Line { line: l, .. } = o { covered.insert(l); }
        }
        let mut seen: HashSet<(usize, String)> = HashSet::new();
        for (row, w) in b.rows.iter().zip(&s.wishes) {
            let first = w.account >= s.holding.len() || seen.insert((w.account, row.target.text().to_owned()));
            if first {
                prop_assert!(covered.contains(&row.line), "row {} dropped", row.line);
            }
        }
    }
}
