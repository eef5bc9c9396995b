//! From accounts and wishes to ordered steps. Pure and deterministic: the same inputs give the same
//! plan, byte for byte.
//!
//! Each moving account wants one address and, once duplicate wishes are blocked, each address is
//! wanted by one account; so "A wants the address B holds" links form disjoint paths and cycles.
//! A path runs from its end backwards (after freeing the last address if a bystander holds it); a
//! cycle parks one member on a temporary address, runs the rest backwards, then unparks it.

use super::access::{Access, Lock};
use super::placeholder::Placeholders;
use super::{After, BlockReason, Blocked, IdpMove, Origin, Step, StepKind, Summary, Unchanged};
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
    /// Who may be written, from pre-flight; `Access::default()` without one.
    pub access: &'a Access,
}

pub struct Computed {
    pub steps: Vec<Step>,
    pub blocked: Vec<Blocked>,
    pub no_account: Vec<Blocked>,
    pub unchanged: Vec<Unchanged>,
    pub idp: Vec<IdpMove>,
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
    let mut provisioned: Vec<u32> = Vec::new();
    let mut because: HashMap<u32, String> = HashMap::new();
    for (ci, c) in claims.iter().enumerate() {
        let account = org.account(c.account);
        stays[c.account as usize] = true;
        let claimants = if duplicated.is_empty() {
            None
        } else {
            duplicated.get(c.target.key())
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
            match req.access.lock(id(account)) {
                Lock::Open => {
                    mover_claim[c.account as usize] = ci as u32;
                    stays[c.account as usize] = false;
                }
                Lock::Own => blocked.push(block(c, account, BlockReason::OwnAccount {})),
                Lock::Denied(key) => {
                    let reason = BlockReason::NotPermitted { reason: key.into() };
                    blocked.push(block(c, account, reason));
                }
                // The IdP makes this change after the plan is applied: until then the account
                // keeps its address, so nobody in this plan may take it.
                Lock::Idp(_) => {
                    provisioned.push(ci as u32);
                    because.insert(c.account, IDP_MOVER.to_owned());
                }
            }
        }
    }
    // Holders that move nowhere and that the API cannot free (or may not: the operator) stay;
    // SCIM-linked ones are unlinked first when the flag allows.
    let mut unlink = HashSet::new();
    for (ci, c) in claims.iter().enumerate() {
        let holder = holders[ci];
        if holder == NONE || holder == c.account || stays[holder as usize] {
            continue;
        }
        if mover_claim[holder as usize] != NONE {
            continue;
        }
        let lock = req.access.lock(id(org.account(holder)));
        if !lock.freeable(req.access.allow_scim_unlink) {
            stays[holder as usize] = true;
            because.extend(lock.why_it_stays().map(|why| (holder, why)));
        } else if lock != Lock::Open {
            unlink.insert(holder);
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
            because: because.get(&holder).cloned(),
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
                after.push(out.free(holder, &unlink, &mut names));
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

    let idp = idp_moves(
        &claims,
        &provisioned,
        &holders,
        &IdpView {
            access: req.access,
            stays: &stays,
            because: &because,
            unlink: &unlink,
            is_mover: &is_mover,
        },
        &mut out,
        &mut names,
        &mut blocked,
    );

    blocked.sort_by_key(|b| match &b.origin {
        Origin::Line(line) => (0, *line),
        Origin::Rule(_) => (1, 0),
    });
    let steps = out.steps;
    let (no_account, blocked): (Vec<Blocked>, Vec<Blocked>) =
        blocked.into_iter().partition(|b| b.reason.is_no_account());
    let mut summary = Summary::of(org.len(), &steps, &blocked, &unchanged);
    summary.idp_changes = idp.len() as u64;
    summary.no_account = no_account.len() as u64;
    Computed {
        steps,
        blocked,
        no_account,
        unchanged,
        idp,
        summary,
    }
}

/// Why an account whose IdP owns its email keeps its address in this plan.
const IDP_MOVER: &str = "the identity provider owns its email and moves it only after this plan is applied; plan again once the IdP change has synced";

/// What the IdP pass needs to know of the main pass.
struct IdpView<'a> {
    access: &'a Access,
    stays: &'a [bool],
    because: &'a HashMap<u32, String>,
    unlink: &'a HashSet<u32>,
    is_mover: &'a dyn Fn(u32) -> bool,
}

/// The IdP changes, in a safe order. Each waits for what frees its address: a free the plan
/// adds, the last step of the account moving away, or the IdP change of the account holding
/// it. One whose address cannot be freed is blocked instead, with the reason.
fn idp_moves(
    claims: &[Claim],
    provisioned: &[u32],
    holders: &[u32],
    view: &IdpView,
    out: &mut StepWriter,
    names: &mut Placeholders,
    blocked: &mut Vec<Blocked>,
) -> Vec<IdpMove> {
    // Most plans have none, and the index below would cost a pass over every step.
    if provisioned.is_empty() {
        return Vec::new();
    }
    let org = out.org;
    let mut last_step: HashMap<Arc<str>, u32> = HashMap::new();
    for s in &out.steps {
        last_step.insert(Arc::clone(&s.account_id), s.id);
    }
    let by_account: HashMap<u32, u32> = provisioned
        .iter()
        .map(|&ci| (claims[ci as usize].account, ci))
        .collect();
    // Per provisioned claim: its place in the IdP order, or `None` once blocked.
    let mut placed: HashMap<u32, Option<u32>> = HashMap::new();
    let mut moves: Vec<IdpMove> = Vec::new();
    for &start in provisioned {
        // Follow the holders through provisioned accounts not yet placed.
        let mut path = vec![start];
        let mut cycle = false;
        while let Some(&next) = by_account.get(&holders[*path.last().unwrap_or(&start) as usize]) {
            if placed.contains_key(&next) {
                break;
            }
            if path.contains(&next) {
                cycle = true;
                break;
            }
            path.push(next);
        }
        if cycle {
            let accounts: Vec<String> = path
                .iter()
                .map(|&ci| id(org.account(claims[ci as usize].account)).to_owned())
                .collect();
            for &ci in &path {
                let c = &claims[ci as usize];
                let reason = BlockReason::IdpCycle {
                    accounts: accounts.clone(),
                };
                blocked.push(block(c, org.account(c.account), reason));
                placed.insert(ci, None);
            }
            continue;
        }
        // From the far end back, so that each holder is placed before the account wanting its
        // address.
        for &ci in path.iter().rev() {
            if placed.contains_key(&ci) {
                continue;
            }
            let c = &claims[ci as usize];
            let account = org.account(c.account);
            let h = holders[ci as usize];
            let (mut after_steps, mut after_idp) = (Vec::new(), Vec::new());
            let stuck = if h == NONE {
                false
            } else if let Some(hci) = by_account.get(&h) {
                match placed.get(hci).copied().flatten() {
                    Some(order) => {
                        after_idp.push(order);
                        false
                    }
                    None => true,
                }
            } else if (view.is_mover)(h) {
                match last_step.get(id(org.account(h))) {
                    Some(&step) => {
                        after_steps.push(step);
                        false
                    }
                    None => true,
                }
            } else if view.stays[h as usize] {
                true
            } else {
                out.group += 1;
                after_steps.push(out.free(h, view.unlink, names));
                false
            };
            if stuck {
                let held = org.account(h);
                let reason = BlockReason::HolderStays {
                    holder: id(held).to_owned(),
                    holder_email: held.email.text().to_owned(),
                    because: view.because.get(&h).cloned(),
                };
                blocked.push(block(c, account, reason));
                placed.insert(ci, None);
                continue;
            }
            let order = moves.len() as u32 + 1;
            placed.insert(ci, Some(order));
            let source = match view.access.lock(id(account)) {
                Lock::Idp(key) => key.to_owned(),
                _ => super::access::SCIM.to_owned(),
            };
            moves.push(IdpMove {
                order,
                origin: c.origin.clone(),
                account_id: id(account).to_owned(),
                name: account.name.to_string(),
                current: account.email.text().to_owned(),
                target: c.target.text().to_owned(),
                source,
                after_steps,
                after_idp,
            });
        }
    }
    moves
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
                name: String::new(),
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
        (Some(None), None | Some(None)) | (None, Some(None)) => Err(BlockReason::UnknownAccount {}),
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
        name: account.name.to_string(),
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
    /// Frees a holder's address, unlinking it from SCIM first when it is linked; the free's id.
    fn free(&mut self, holder: u32, unlink: &HashSet<u32>, names: &mut Placeholders) -> u32 {
        let org = self.org;
        let held = &org.account(holder).email;
        let mut after = After::new();
        if unlink.contains(&holder) {
            after.push(self.push(
                StepKind::Unlink,
                holder,
                held.shared(),
                held.shared(),
                After::new(),
                None,
            ));
        }
        let placeholder = names.free(held.local(), held.domain());
        self.push(
            StepKind::Free,
            holder,
            held.shared(),
            placeholder.into(),
            after,
            None,
        )
    }

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
        plan_with(org, rows, &Access::default())
    }

    fn plan_with(org: &Org, rows: &[TargetRow], access: &Access) -> Computed {
        compute(&Request {
            org,
            rows,
            rules: &[],
            verified_domains: None,
            access,
        })
    }

    fn scim(ids: &[&str]) -> Access {
        Access {
            denied: ids
                .iter()
                .map(|a| ((*a).to_owned(), crate::plan::access::SCIM.to_owned()))
                .collect(),
            ..Access::default()
        }
    }

    fn stays_because(c: &Computed) -> Vec<(String, Option<String>)> {
        c.blocked
            .iter()
            .map(|b| match &b.reason {
                BlockReason::HolderStays { because, .. } => {
                    (b.account_id.clone().unwrap_or_default(), because.clone())
                }
                other => (
                    b.account_id.clone().unwrap_or_default(),
                    Some(other.code().into()),
                ),
            })
            .collect()
    }

    #[test]
    fn a_scim_linked_holder_is_unlinked_then_freed_only_with_the_flag() {
        let o = org(&[("a", "a@old.example"), ("b", "ann@new.example")]);
        let r = rows(&[("a", "ann@new.example")]);
        let blocked = plan_with(&o, &r, &scim(&["b"]));
        assert!(blocked.steps.is_empty());
        let why = stays_because(&blocked);
        assert_eq!(why.len(), 1);
        assert!(
            why[0].1.as_deref().unwrap().contains("--allow-scim-unlink"),
            "{why:?}"
        );

        let access = Access {
            allow_scim_unlink: true,
            ..scim(&["b"])
        };
        let c = plan_with(&o, &r, &access);
        assert_eq!(
            lines(&c),
            [
                "1 Unlink b ann@new.example->ann@new.example []",
                "2 Free b ann@new.example->ann_FREE@new.example [1]",
                "3 Rename a a@old.example->ann@new.example [2]",
            ]
        );
        assert!(c.blocked.is_empty());
        assert_eq!(c.summary.unlinks, 1);
        run_in_order(&o, &c);
    }

    #[test]
    fn a_provisioned_mover_gets_its_address_freed_and_goes_to_the_idp_list() {
        // p's email is owned by the IdP; b holds what p wants; m wants p's current address.
        let o = org(&[
            ("p", "p@old.example"),
            ("b", "pat@new.example"),
            ("m", "m@old.example"),
        ]);
        let r = rows(&[("p", "pat@new.example"), ("m", "p@old.example")]);
        let c = plan_with(&o, &r, &scim(&["p"]));
        assert_eq!(
            lines(&c),
            ["1 Free b pat@new.example->pat_FREE@new.example []"]
        );
        assert_eq!(c.idp.len(), 1);
        let moved = &c.idp[0];
        assert_eq!(
            (
                moved.account_id.as_str(),
                moved.target.as_str(),
                &moved.after_steps[..]
            ),
            ("p", "pat@new.example", &[1][..])
        );
        assert_eq!(moved.source, "externalDirectory.scim");
        let why = stays_because(&c);
        assert_eq!(why.len(), 1);
        assert_eq!(why[0].0, "m");
        assert!(
            why[0]
                .1
                .as_deref()
                .unwrap()
                .contains("identity provider owns"),
            "{why:?}"
        );
        assert_eq!(c.summary.idp_changes, 1);
    }

    #[test]
    fn idp_changes_are_ordered_after_the_steps_and_changes_they_wait_for() {
        // p1 wants p2's address, p2 wants a's, a (open) moves to a fresh address.
        let o = org(&[
            ("p1", "one@x.example"),
            ("p2", "two@x.example"),
            ("a", "three@x.example"),
        ]);
        let r = rows(&[
            ("p1", "two@x.example"),
            ("p2", "three@x.example"),
            ("a", "four@x.example"),
        ]);
        let c = plan_with(&o, &r, &scim(&["p1", "p2"]));
        assert_eq!(lines(&c), ["1 Rename a three@x.example->four@x.example []"]);
        let order: Vec<_> = c
            .idp
            .iter()
            .map(|m| {
                (
                    m.order,
                    m.account_id.as_str(),
                    m.after_steps.clone(),
                    m.after_idp.clone(),
                )
            })
            .collect();
        assert_eq!(
            order,
            [(1, "p2", vec![1], vec![]), (2, "p1", vec![], vec![1])]
        );

        // The same two wanting each other's address: no IdP order can do it.
        let o = org(&[("p1", "one@x.example"), ("p2", "two@x.example")]);
        let r = rows(&[("p1", "two@x.example"), ("p2", "one@x.example")]);
        let c = plan_with(&o, &r, &scim(&["p1", "p2"]));
        assert!(c.idp.is_empty() && c.steps.is_empty());
        let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
        assert_eq!(codes, ["idp_cycle", "idp_cycle"]);
    }

    #[test]
    fn the_operators_own_account_is_left_alone_without_allow_self() {
        let o = org(&[("me", "me@old.example"), ("a", "a@old.example")]);
        let r = rows(&[("me", "me@new.example"), ("a", "me@old.example")]);
        let access = Access {
            operator: Some("me".into()),
            ..Access::default()
        };
        let c = plan_with(&o, &r, &access);
        assert!(c.steps.is_empty());
        let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
        assert_eq!(codes, ["own_account", "holder_stays"]);
        let allowed = Access {
            allow_self: true,
            ..access
        };
        assert_eq!(plan_with(&o, &r, &allowed).steps.len(), 2);
        // As a bystander holder, the operator is not freed either.
        let r = rows(&[("a", "me@old.example")]);
        let access = Access {
            operator: Some("me".into()),
            ..Access::default()
        };
        let c = plan_with(&o, &r, &access);
        assert!(c.steps.is_empty());
        assert!(
            stays_because(&c)[0]
                .1
                .as_deref()
                .unwrap()
                .contains("--allow-self")
        );
    }

    #[test]
    fn accounts_the_api_will_not_write_are_blocked_with_its_reason() {
        let o = org(&[("x", "x@old.example")]);
        let r = rows(&[("x", "x@new.example")]);
        let access = Access {
            denied: [("x".to_owned(), "administrative".to_owned())]
                .into_iter()
                .collect(),
            ..Access::default()
        };
        let c = plan_with(&o, &r, &access);
        assert!(c.steps.is_empty());
        assert_eq!(
            c.blocked[0].reason,
            BlockReason::NotPermitted {
                reason: "administrative".into()
            }
        );
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
                    holder_email: "a@x.example".into(),
                    because: None,
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
            access: &Access::default(),
        });
        assert!(c.steps.is_empty());
        let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
        assert_eq!(codes, ["holder_stays", "holder_stays", "unverified_domain"]);
    }

    #[test]
    fn rows_that_cannot_be_matched_are_blocked_or_listed_with_their_line() {
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
        let codes = |list: &[Blocked]| -> Vec<(Origin, &'static str)> {
            list.iter()
                .map(|b| (b.origin.clone(), b.reason.code()))
                .collect()
        };
        assert_eq!(
            codes(&c.blocked),
            [
                (Origin::Line(3), "no_account_named"),
                (Origin::Line(4), "ambiguous_account"),
                (Origin::Line(5), "invalid_address"),
            ]
        );
        // Rows naming nobody in the org are their own list, not blocked wishes.
        assert_eq!(
            codes(&c.no_account),
            [
                (Origin::Line(2), "unknown_account"),
                (Origin::Line(6), "unknown_account"),
            ]
        );
        assert_eq!((c.summary.blocked, c.summary.no_account), (3, 2));
        assert_eq!(
            c.blocked[2].account_id.as_deref(),
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
            access: &Access::default(),
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
