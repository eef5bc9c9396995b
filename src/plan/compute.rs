//! From accounts and wishes to ordered steps. Pure and deterministic: the same inputs give the same
//! plan, byte for byte.
//!
//! Each moving account wants one address and, once duplicate wishes are blocked, each address is
//! wanted by one account; so "A wants the address B holds" links form disjoint paths and cycles.
//! A path runs from its end backwards (after freeing the last address if a bystander holds it); a
//! cycle parks one member on a temporary address, runs the rest backwards, then unparks it.

use super::placeholder::Placeholders;
use super::{After, BlockReason, Blocked, Origin, Step, StepKind, Summary, Unchanged};
use crate::input::{DomainRule, Target, TargetRow};
use crate::model::{Account, Email, email_key};
use crate::org::Org;
use hashbrown::{HashMap, HashSet};
use smallvec::smallvec;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the planner needs; nothing here touches a file.
pub struct Request<'a> {
    pub org: &'a Org,
    pub rows: &'a [TargetRow],
    pub rules: &'a [DomainRule],
    /// Domain keys (lower case); `None` means every domain is taken as verified.
    pub verified_domains: Option<&'a BTreeSet<String>>,
}

pub struct Computed {
    pub steps: Vec<Step>,
    pub blocked: Vec<Blocked>,
    pub unchanged: Vec<Unchanged>,
    pub summary: Summary,
}

const NONE: u32 = u32::MAX;

/// One account's wish for one address, after its row was matched and its target parsed.
struct Claim<'a> {
    account: u32,
    target: &'a Email,
    origin: Origin,
}

pub fn compute(req: &Request) -> Computed {
    let org = req.org;
    let mut blocked = Vec::new();
    let (mut claims, named) = row_claims(req, &mut blocked);
    let ruled = rule_targets(req, &named);
    for (a, target, rule) in &ruled {
        let origin = Origin::Rule(Arc::clone(rule));
        claims.extend(claim(*a, org.account(*a), target, origin, &mut blocked));
    }

    // Who else wants each address (an address wanted twice is wanted by nobody), and who holds
    // each wanted address now: independent reads, so one core does each.
    let (targets, holders) = std::thread::scope(|s| {
        let holders = s.spawn(|| {
            claims
                .iter()
                .map(|c| org.holder_of_key(c.target.key()).unwrap_or(NONE))
                .collect::<Vec<u32>>()
        });
        let targets = who_wants(&claims);
        let holders = holders
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (targets, holders)
    });
    let (by_target, duplicated) = targets;

    // Sort the claims into movers, unchanged and blocked. `stays[a]`: the account has a wish
    // and keeps its address, so nobody may free it.
    let mut stays = named;
    let mut mover_claim = vec![NONE; org.len()];
    let mut unchanged = Vec::new();
    for (ci, c) in claims.iter().enumerate() {
        let account = org.account(c.account);
        stays[c.account as usize] = true;
        let claimants = match duplicated.is_empty() {
            true => None,
            false => duplicated.get(c.target.key()),
        };
        if let Some(claimants) = claimants {
            let others = claimants
                .iter()
                .filter(|&&other| other as usize != ci)
                .map(|&other| id(org.account(claims[other as usize].account)).to_owned())
                .collect();
            blocked.push(block(c, account, BlockReason::DuplicateTarget { others }));
        } else if c.target.key() == account.email.key() {
            unchanged.push(Unchanged {
                origin: c.origin.clone(),
                account_id: id(account).to_owned(),
                current: account.email.text().to_owned(),
                target: c.target.text().to_owned(),
                case_only: c.target.text() != account.email.text(),
            });
        } else if let Some(domain) = unverified(req.verified_domains, c.target) {
            blocked.push(block(c, account, BlockReason::UnverifiedDomain { domain }));
        } else {
            mover_claim[c.account as usize] = ci as u32;
            stays[c.account as usize] = false;
        }
    }

    // The mover that wants each account's address, if any (at most one: duplicates are blocked).
    let mut wanter = vec![NONE; org.len()];
    let mut stuck = Vec::new();
    for (ci, c) in claims.iter().enumerate() {
        if mover_claim[c.account as usize] != ci as u32 {
            continue;
        }
        let holder = holders[ci];
        if holder != NONE {
            wanter[holder as usize] = c.account;
            if stays[holder as usize] {
                stuck.push((c.account, holder));
            }
        }
    }
    // Movers whose address is held by an account that stays are blocked, and so, in turn, is
    // whoever wanted a blocked mover's address.
    let mut cascaded = Vec::new();
    while let Some((mover, holder)) = stuck.pop() {
        let ci = mover_claim[mover as usize];
        if ci == NONE {
            continue;
        }
        mover_claim[mover as usize] = NONE;
        stays[mover as usize] = true;
        let h = org.account(holder);
        let reason = BlockReason::HolderStays {
            holder: id(h).to_owned(),
            holder_email: h.email.text().to_owned(),
        };
        cascaded.push(block(&claims[ci as usize], org.account(mover), reason));
        let w = wanter[mover as usize];
        if w != NONE && mover_claim[w as usize] != NONE {
            stuck.push((w, mover));
        }
    }
    blocked.extend(cascaded);

    let is_mover = |a: u32| mover_claim[a as usize] != NONE;
    let target_of = |a: u32| &claims[mover_claim[a as usize] as usize].target;
    let holder_of_target =
        |a: u32| Some(holders[mover_claim[a as usize] as usize]).filter(|&h| h != NONE);
    // The mover that wants `a`'s address, and the mover holding the address `a` wants.
    let prev = |a: u32| Some(wanter[a as usize]).filter(|&w| w != NONE && is_mover(w));
    let next = |a: u32| holder_of_target(a).filter(|&h| is_mover(h));

    let unmatched_targets: HashSet<String> = blocked.iter().map(|b| email_key(&b.target)).collect();
    let wanted = |key: &str| by_target.contains_key(key) || unmatched_targets.contains(key);
    let mut names = Placeholders::new(org, &wanted);
    let mut out = StepWriter {
        org,
        steps: Vec::with_capacity(claims.len() + claims.len() / 8),
        group: 0,
    };
    let mut visited = vec![false; org.len()];
    for (ci, c) in claims.iter().enumerate() {
        let start = c.account;
        if mover_claim[start as usize] != ci as u32 || visited[start as usize] {
            continue;
        }
        let mut head = start;
        let mut cycle = false;
        while let Some(p) = prev(head) {
            if p == start {
                // The member whose wish comes first breaks the cycle, so the choice
                // depends on the inputs alone.
                cycle = true;
                head = start;
                break;
            }
            head = p;
        }
        let mut members = vec![head];
        while let Some(n) = next(*members.last().unwrap_or(&head)) {
            if n == head {
                break;
            }
            members.push(n);
        }
        for &m in &members {
            visited[m as usize] = true;
        }
        out.group += 1;
        let origin = |a: u32| claims[mover_claim[a as usize] as usize].origin.clone();
        if cycle {
            let breaker = org.account(head);
            let temp: Arc<str> = names
                .moving(breaker.email.local(), target_of(head).domain())
                .into();
            let park = out.push(
                StepKind::Temporary,
                head,
                breaker.email.shared(),
                Arc::clone(&temp),
                After::new(),
                None,
            );
            let mut last = park;
            for &m in members[1..].iter().rev() {
                last = out.push(
                    StepKind::Rename,
                    m,
                    org.account(m).email.shared(),
                    target_of(m).shared(),
                    smallvec![last],
                    Some(origin(m)),
                );
            }
            out.push(
                StepKind::Rename,
                head,
                temp,
                target_of(head).shared(),
                smallvec![park, last],
                Some(origin(head)),
            );
        } else {
            let tail = *members.last().unwrap_or(&head);
            let mut after = After::new();
            if let Some(holder) = holder_of_target(tail) {
                let held = &org.account(holder).email;
                let placeholder = names.free(held.local(), held.domain());
                after.push(out.push(
                    StepKind::Free,
                    holder,
                    held.shared(),
                    placeholder.into(),
                    After::new(),
                    None,
                ));
            }
            for &m in members.iter().rev() {
                let step = out.push(
                    StepKind::Rename,
                    m,
                    org.account(m).email.shared(),
                    target_of(m).shared(),
                    after,
                    Some(origin(m)),
                );
                after = smallvec![step];
            }
        }
    }

    blocked.sort_by_key(|b| match &b.origin {
        Origin::Line(line) => (0, *line),
        Origin::Rule(_) => (1, 0),
    });
    let steps = out.steps;
    let summary = Summary::of(org.len(), &steps, &blocked, &unchanged);
    Computed {
        steps,
        blocked,
        unchanged,
        summary,
    }
}

/// Each wanted address with its first claim, and the addresses more than one claim wants.
#[allow(clippy::type_complexity)]
fn who_wants<'a>(claims: &[Claim<'a>]) -> (HashMap<&'a str, u32>, HashMap<&'a str, Vec<u32>>) {
    let mut by_target: HashMap<&str, u32> = HashMap::with_capacity(claims.len());
    let mut duplicated: HashMap<&str, Vec<u32>> = HashMap::new();
    for (ci, c) in claims.iter().enumerate() {
        if let Some(&first) = by_target.get(c.target.key()) {
            duplicated
                .entry(c.target.key())
                .or_insert_with(|| vec![first])
                .push(ci as u32);
        } else {
            by_target.insert(c.target.key(), ci as u32);
        }
    }
    (by_target, duplicated)
}

/// Matches rows to accounts. Returns the claims in row order, and which accounts some row names.
fn row_claims<'a>(req: &Request<'a>, blocked: &mut Vec<Blocked>) -> (Vec<Claim<'a>>, Vec<bool>) {
    let org = req.org;
    let mut named = vec![false; org.len()];
    let mut matched: Vec<(&TargetRow, u32)> = Vec::with_capacity(req.rows.len());
    let mut first_row = vec![NONE; org.len()];
    let mut conflicting: HashMap<u32, Vec<u64>> = HashMap::new();
    for (row, &found) in req.rows.iter().zip(&resolve_all(org, req.rows)) {
        match if found == NONE {
            resolve(org, row)
        } else {
            Ok(found)
        } {
            Ok(a) => {
                named[a as usize] = true;
                let first = first_row[a as usize];
                if first == NONE {
                    first_row[a as usize] = matched.len() as u32;
                } else if matched[first as usize].0.target.text() != row.target.text() {
                    conflicting.entry(a).or_default();
                }
                matched.push((row, a));
            }
            Err(reason) => blocked.push(Blocked {
                origin: Origin::Line(row.line),
                account_id: row.account_id.clone(),
                current: row.current_email.clone(),
                target: row.target.text().to_owned(),
                reason,
            }),
        }
    }
    for &(row, a) in &matched {
        if let Some(lines) = conflicting.get_mut(&a) {
            lines.push(row.line);
        }
    }

    let mut claims = Vec::with_capacity(matched.len());
    for (i, &(row, a)) in matched.iter().enumerate() {
        let account = org.account(a);
        let origin = Origin::Line(row.line);
        if let Some(lines) = conflicting.get(&a) {
            let reason = BlockReason::ConflictingRows {
                lines: lines.clone(),
            };
            blocked.push(block_row(origin, account, row.target.text(), reason));
        } else if first_row[a as usize] == i as u32 {
            claims.extend(claim(a, account, &row.target, origin, blocked));
        } // else: the same row again, word for word; the first one stands for both.
    }
    (claims, named)
}

/// The address each rule gives the accounts no row names, with the rule that gives it.
fn rule_targets(req: &Request, named: &[bool]) -> Vec<(u32, Target, Arc<str>)> {
    if req.rules.is_empty() {
        return Vec::new();
    }
    let by_domain: HashMap<&str, (&DomainRule, Arc<str>)> = req
        .rules
        .iter()
        .map(|r| (r.from.as_str(), (r, Arc::from(r.label()))))
        .collect();
    let mut ruled = Vec::new();
    for (a, account) in req.org.accounts().iter().enumerate() {
        if named[a] {
            continue;
        }
        let domain = account.email.key().rsplit_once('@').map_or("", |(_, d)| d);
        if let Some((rule, label)) = by_domain.get(domain) {
            let text = format!("{}@{}", account.email.local(), rule.to);
            ruled.push((a as u32, Target::parse(&text), Arc::clone(label)));
        }
    }
    ruled
}

/// A claim on a valid target, or a blocked item saying why the target is not one.
fn claim<'a>(
    a: u32,
    account: &Account,
    target: &'a Target,
    origin: Origin,
    blocked: &mut Vec<Blocked>,
) -> Option<Claim<'a>> {
    match target {
        Target::Valid(email) => Some(Claim {
            account: a,
            target: email,
            origin,
        }),
        Target::Invalid { text, problem } => {
            let reason = BlockReason::InvalidAddress {
                problem: problem.to_string(),
            };
            blocked.push(block_row(origin, account, text, reason));
            None
        }
    }
}

/// The account each row means, or `NONE`. The lookups only read the org, so the two halves of a
/// large list are looked up at once, one per core.
fn resolve_all(org: &Org, rows: &[TargetRow]) -> Vec<u32> {
    let one = |row: &TargetRow| resolve(org, row).unwrap_or(NONE);
    if rows.len() < 10_000 {
        return rows.iter().map(one).collect();
    }
    let (first, second) = rows.split_at(rows.len() / 2);
    std::thread::scope(|s| {
        let tail = s.spawn(|| second.iter().map(one).collect::<Vec<u32>>());
        let mut found: Vec<u32> = first.iter().map(one).collect();
        found.extend(
            tail.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        found
    })
}

/// Finds the account a row means, by ID, by current address, or by both when they agree.
fn resolve(org: &Org, row: &TargetRow) -> Result<u32, BlockReason> {
    let by_id = row.account_id.as_deref().map(|id| org.by_id(id));
    let by_email = row.current_email.as_deref().map(|e| org.holder(e));
    match (by_id, by_email) {
        (None, None) => Err(BlockReason::NoAccountNamed {}),
        (Some(Some(a)), None) | (None, Some(Some(a))) => Ok(a),
        (Some(None), None) | (None, Some(None)) | (Some(None), Some(None)) => {
            Err(BlockReason::UnknownAccount {})
        }
        (Some(i), Some(e)) if i == e => i.ok_or(BlockReason::UnknownAccount {}),
        (Some(i), Some(e)) => Err(BlockReason::AmbiguousAccount {
            by_id: i.map(|a| org.account(a).email.text().to_owned()),
            by_email: e.map(|a| id(org.account(a)).to_owned()),
        }),
    }
}

fn unverified(verified: Option<&BTreeSet<String>>, target: &Email) -> Option<String> {
    let verified = verified?;
    let domain = target.key().rsplit_once('@').map_or("", |(_, d)| d);
    (!verified.contains(domain)).then(|| domain.to_owned())
}

fn id(account: &Account) -> &str {
    account.id.as_deref().unwrap_or_default()
}

fn block(claim: &Claim, account: &Account, reason: BlockReason) -> Blocked {
    block_row(claim.origin.clone(), account, claim.target.text(), reason)
}

fn block_row(origin: Origin, account: &Account, target: &str, reason: BlockReason) -> Blocked {
    Blocked {
        origin,
        account_id: account.id.as_deref().map(str::to_owned),
        current: Some(account.email.text().to_owned()),
        target: target.to_owned(),
        reason,
    }
}

struct StepWriter<'a> {
    org: &'a Org,
    steps: Vec<Step>,
    group: u32,
}

impl StepWriter<'_> {
    fn push(
        &mut self,
        kind: StepKind,
        account: u32,
        from: Arc<str>,
        to: Arc<str>,
        after: After,
        origin: Option<Origin>,
    ) -> u32 {
        let a = self.org.account(account);
        let step_id = self.steps.len() as u32 + 1;
        self.steps.push(Step {
            id: step_id,
            group: self.group,
            kind,
            account_id: a.id.clone().unwrap_or_else(|| "".into()),
            name: Arc::clone(&a.name),
            status: a.status,
            product_access: a.product_access,
            from,
            to,
            after,
            origin,
        });
        step_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;
    use crate::model::Status;
    use crate::org::testing::org;

    fn rows(rows: &[(&str, &str)]) -> Vec<TargetRow> {
        rows.iter()
            .enumerate()
            .map(|(i, (id, target))| TargetRow {
                line: i as u64 + 2,
                account_id: Some((*id).to_owned()),
                current_email: None,
                target: Target::parse(target),
            })
            .collect()
    }

    fn plan(org: &Org, rows: &[TargetRow]) -> Computed {
        compute(&Request {
            org,
            rows,
            rules: &[],
            verified_domains: None,
        })
    }

    /// Each step as `kind account from->to after`.
    fn lines(c: &Computed) -> Vec<String> {
        c.steps
            .iter()
            .map(|s| {
                format!(
                    "{} {:?} {} {}->{} {:?}",
                    s.id, s.kind, s.account_id, s.from, s.to, s.after
                )
            })
            .collect()
    }

    fn run_in_order(org: &Org, c: &Computed) -> Ledger {
        let mut ledger = Ledger::from_org(org);
        for s in &c.steps {
            ledger.apply(&s.account_id, &s.from, &s.to).unwrap();
        }
        ledger
    }

    #[test]
    fn simple_rename_is_one_step() {
        let o = org(&[("a", "ann@old.example")]);
        let c = plan(&o, &rows(&[("a", "Ann@new.example")]));
        assert_eq!(
            lines(&c),
            ["1 Rename a ann@old.example->Ann@new.example []"]
        );
        assert_eq!(c.steps[0].origin, Some(Origin::Line(2)));
    }

    #[test]
    fn holder_not_moving_is_freed_first() {
        let o = org(&[("a", "abc123@x.example"), ("h", "ann.lee@x.example")]);
        let c = plan(&o, &rows(&[("a", "ann.lee@x.example")]));
        assert_eq!(
            lines(&c),
            [
                "1 Free h ann.lee@x.example->ann.lee_FREE@x.example []",
                "2 Rename a abc123@x.example->ann.lee@x.example [1]",
            ]
        );
        assert!(c.steps[0].flagged(), "an active holder loses an address");
        run_in_order(&o, &c);
    }

    #[test]
    fn free_placeholder_skips_taken_and_wanted_names() {
        let o = org(&[
            ("a", "a@x.example"),
            ("h", "bob@x.example"),
            ("t1", "bob_FREE@x.example"),
            ("b", "b@x.example"),
        ]);
        let c = plan(
            &o,
            &rows(&[("a", "bob@x.example"), ("b", "bob_free2@x.example")]),
        );
        assert_eq!(&*c.steps[0].to, "bob_FREE3@x.example");
        run_in_order(&o, &c);
    }

    #[test]
    fn chain_runs_from_its_end_without_temporaries() {
        let o = org(&[
            ("a", "a@x.example"),
            ("b", "b@x.example"),
            ("c", "c@x.example"),
        ]);
        let c = plan(
            &o,
            &rows(&[
                ("a", "b@x.example"),
                ("b", "c@x.example"),
                ("c", "d@x.example"),
            ]),
        );
        assert_eq!(
            lines(&c),
            [
                "1 Rename c c@x.example->d@x.example []",
                "2 Rename b b@x.example->c@x.example [1]",
                "3 Rename a a@x.example->b@x.example [2]",
            ]
        );
        assert_eq!((c.summary.chains, c.summary.temporaries), (1, 0));
    }

    #[test]
    fn swap_uses_one_temporary() {
        let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
        let c = plan(&o, &rows(&[("a", "b@x.example"), ("b", "a@x.example")]));
        assert_eq!(
            lines(&c),
            [
                "1 Temporary a a@x.example->a_MOVING@x.example []",
                "2 Rename b b@x.example->a@x.example [1]",
                "3 Rename a a_MOVING@x.example->b@x.example [1, 2]",
            ]
        );
        assert_eq!((c.summary.cycles, c.summary.writes), (1, 3));
        run_in_order(&o, &c);
    }

    #[test]
    fn three_cycle_uses_one_temporary_and_four_writes() {
        let o = org(&[
            ("a", "a@x.example"),
            ("b", "b@x.example"),
            ("c", "c@x.example"),
        ]);
        let c = plan(
            &o,
            &rows(&[
                ("b", "c@x.example"),
                ("c", "a@x.example"),
                ("a", "b@x.example"),
            ]),
        );
        assert_eq!(
            lines(&c),
            [
                "1 Temporary b b@x.example->b_MOVING@x.example []",
                "2 Rename a a@x.example->b@x.example [1]",
                "3 Rename c c@x.example->a@x.example [2]",
                "4 Rename b b_MOVING@x.example->c@x.example [1, 3]",
            ]
        );
        run_in_order(&o, &c);
    }

    #[test]
    fn duplicate_targets_block_every_claimant_and_cascade() {
        let o = org(&[
            ("a", "a@x.example"),
            ("b", "b@x.example"),
            ("c", "c@x.example"),
        ]);
        // a and b both want z; c wants a's address, but a stays, so c is blocked too.
        let c = plan(
            &o,
            &rows(&[
                ("a", "z@x.example"),
                ("b", "Z@x.example"),
                ("c", "a@x.example"),
            ]),
        );
        assert!(c.steps.is_empty());
        let reasons: Vec<_> = c.blocked.iter().map(|b| b.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                BlockReason::DuplicateTarget {
                    others: vec!["b".into()]
                },
                BlockReason::DuplicateTarget {
                    others: vec!["a".into()]
                },
                BlockReason::HolderStays {
                    holder: "a".into(),
                    holder_email: "a@x.example".into()
                },
            ]
        );
    }

    #[test]
    fn blocked_holder_blocks_the_whole_chain_behind_it() {
        let o = org(&[
            ("a", "a@x.example"),
            ("b", "b@x.example"),
            ("c", "c@x.example"),
        ]);
        let verified = BTreeSet::from(["x.example".to_owned()]);
        let r = rows(&[
            ("a", "b@x.example"),
            ("b", "c@x.example"),
            ("c", "c@elsewhere.example"),
        ]);
        let c = compute(&Request {
            org: &o,
            rows: &r,
            rules: &[],
            verified_domains: Some(&verified),
        });
        assert!(c.steps.is_empty());
        let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
        assert_eq!(codes, ["holder_stays", "holder_stays", "unverified_domain"]);
    }

    #[test]
    fn rows_that_cannot_be_matched_are_blocked_with_their_line() {
        let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
        let r = vec![
            TargetRow {
                line: 2,
                account_id: Some("zz".into()),
                current_email: None,
                target: Target::parse("q@x.example"),
            },
            TargetRow {
                line: 3,
                account_id: None,
                current_email: None,
                target: Target::parse("q@x.example"),
            },
            TargetRow {
                line: 4,
                account_id: Some("a".into()),
                current_email: Some("b@x.example".into()),
                target: Target::parse("q@x.example"),
            },
            TargetRow {
                line: 5,
                account_id: None,
                current_email: Some("B@X.example".into()),
                target: Target::parse("not an address"),
            },
            TargetRow {
                line: 6,
                account_id: None,
                current_email: Some("nobody@x.example".into()),
                target: Target::parse("q@x.example"),
            },
        ];
        let c = plan(&o, &r);
        let got: Vec<_> = c
            .blocked
            .iter()
            .map(|b| (b.origin.clone(), b.reason.code()))
            .collect();
        assert_eq!(
            got,
            [
                (Origin::Line(2), "unknown_account"),
                (Origin::Line(3), "no_account_named"),
                (Origin::Line(4), "ambiguous_account"),
                (Origin::Line(5), "invalid_address"),
                (Origin::Line(6), "unknown_account"),
            ]
        );
        assert_eq!(
            c.blocked[3].account_id.as_deref(),
            Some("b"),
            "matched by address, case-insensitively"
        );
    }

    #[test]
    fn conflicting_rows_block_the_account_but_repeats_merge() {
        let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
        let c = plan(
            &o,
            &rows(&[
                ("a", "p@x.example"),
                ("a", "q@x.example"),
                ("b", "r@x.example"),
                ("b", "r@x.example"),
            ]),
        );
        assert_eq!(lines(&c), ["1 Rename b b@x.example->r@x.example []"]);
        assert_eq!(c.blocked.len(), 2);
        assert_eq!(
            c.blocked[0].reason,
            BlockReason::ConflictingRows { lines: vec![2, 3] }
        );
    }

    #[test]
    fn target_equal_to_current_is_unchanged_not_written() {
        let o = org(&[("a", "Ann@x.example"), ("b", "b@x.example")]);
        let c = plan(&o, &rows(&[("a", "ann@x.example"), ("b", "b@x.example")]));
        assert!(c.steps.is_empty() && c.blocked.is_empty());
        assert_eq!(c.unchanged.len(), 2);
        assert!(c.unchanged[0].case_only);
        assert!(!c.unchanged[1].case_only);
    }

    #[test]
    fn rewrite_rule_moves_a_domain_and_rows_win_over_it() {
        let o = org(&[
            ("a", "Ann@Old.example"),
            ("b", "bob@old.example"),
            ("c", "cy@other.example"),
        ]);
        let rule = DomainRule::parse("old.example=New.example").unwrap();
        let r = rows(&[("b", "robert@New.example")]);
        let c = compute(&Request {
            org: &o,
            rows: &r,
            rules: std::slice::from_ref(&rule),
            verified_domains: None,
        });
        assert_eq!(
            lines(&c),
            [
                "1 Rename b bob@old.example->robert@New.example []",
                "2 Rename a Ann@Old.example->Ann@New.example []",
            ]
        );
        assert_eq!(
            c.steps[1].origin,
            Some(Origin::Rule("old.example=New.example".into()))
        );
    }

    #[test]
    fn sign_outs_count_touched_accounts_that_can_sign_in() {
        let mut accounts = vec![];
        for (i, (id, status)) in [
            ("a", Status::Active),
            ("b", Status::Deactivated),
            ("c", Status::Active),
        ]
        .into_iter()
        .enumerate()
        {
            accounts.push(Account {
                id: Some(id.into()),
                name: "".into(),
                email: Email::lenient(&format!("{id}@x.example")),
                status,
                product_access: false,
                line: i as u64 + 2,
            });
        }
        let o = Org::new(accounts).unwrap();
        // a and b swap (a touched twice), c untouched.
        let c = plan(&o, &rows(&[("a", "b@x.example"), ("b", "a@x.example")]));
        assert_eq!((c.summary.accounts_touched, c.summary.signed_out), (2, 1));
    }
}
