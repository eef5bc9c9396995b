//! Phase 1: the target rows and the domain rules matched to accounts, as claims on valid
//! addresses; then who else wants each address, and who holds it now. A row that names no
//! account or two, rows that give one account two targets, and invalid addresses are blocked
//! here.

use super::{AccountIx, ClaimIx, MatchIx, Request, account, block_row, id};
use crate::input::{DomainRule, Target, TargetRow};
use crate::model::{Account, Email};
use crate::org::Org;
use crate::plan::{BlockReason, Blocked, Origin};
use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::hash::BuildHasher;
use std::sync::Arc;

/// One account's wish for one address, after its row was matched and its target parsed.
pub(super) struct Claim<'a> {
    pub account: AccountIx,
    pub target: &'a Email,
    pub origin: Origin,
    /// The row's current address, when no account has it and the account was found holding
    /// the target instead (`already_there`).
    pub stale_current: Option<&'a str>,
}

/// Who wants each address.
pub(super) struct Wants<'a> {
    /// Each wanted address's first claim, found by the claim's target key: positions only, so
    /// a million claims cost a few megabytes here, where a map of keys to claims took 24, and
    /// filling it was the slower of the two jobs `wanted_and_held` runs side by side.
    first: HashTable<ClaimIx>,
    hasher: DefaultHashBuilder,
    /// The addresses more than one claim wants, with all of them (an address wanted twice is
    /// wanted by nobody).
    pub duplicated: HashMap<&'a str, Vec<ClaimIx>>,
    /// The addresses rows that made no claim want (no account matches them, or their account
    /// is in doubt), each with how to name those rows: a person who has no Atlassian account
    /// yet still wants the address, and an account given it would be signed into by that
    /// person (`unmatched_wants`).
    pub unmatched: HashMap<String, Vec<String>>,
}

impl Wants<'_> {
    /// Whether one of `claims` (those the wants were found from) wants the address `key`.
    pub(super) fn any(&self, claims: &[Claim], key: &str) -> bool {
        let hash = self.hasher.hash_one(key);
        self.first
            .find(hash, |c| claims[c.ix()].target.key() == key)
            .is_some()
    }
}

/// The targets of the rows blocked before they could claim, by address key, each named by its
/// line and why it claims nothing.
pub(super) fn unmatched_wants(blocked: &[Blocked]) -> HashMap<String, Vec<String>> {
    let mut wants: HashMap<String, Vec<String>> = HashMap::new();
    for b in blocked {
        if let Origin::Line { .. } = &b.origin
            && !b.target.trim().is_empty()
        {
            let why = match b.reason {
                BlockReason::UnknownAccount {} => "no Atlassian account yet".to_owned(),
                _ => format!("blocked: {}", b.reason.code()),
            };
            wants
                .entry(crate::model::email_key(&b.target))
                .or_default()
                .push(format!("{} ({why})", b.origin.short()));
        }
    }
    wants
}

/// Matches rows to accounts. Returns the claims in row order, and which accounts some row names.
pub(super) fn from_rows<'a>(
    req: &Request<'a>,
    blocked: &mut Vec<Blocked>,
) -> (Vec<Claim<'a>>, Vec<bool>) {
    let org = req.org;
    let mut found: Vec<Result<AccountIx, BlockReason>> = resolve_all(org, req.rows)
        .into_iter()
        .zip(req.rows)
        .map(|(quick, row)| quick.map_or_else(|| resolve(org, row), Ok))
        .collect();
    let mut named = vec![false; org.len()];
    for a in found.iter().flatten() {
        named[a.ix()] = true;
    }
    let by_target = already_there(org, req.rows, &mut found, &mut named);
    let mut matched: Vec<(&TargetRow, AccountIx)> = Vec::with_capacity(req.rows.len());
    let mut first_row: Vec<Option<MatchIx>> = vec![None; org.len()];
    let mut conflicting: HashMap<AccountIx, Vec<(u32, u64)>> = HashMap::new();
    for (row, found) in req.rows.iter().zip(found) {
        match found {
            Ok(a) => {
                match first_row[a.ix()] {
                    None => first_row[a.ix()] = Some(MatchIx::new(matched.len())),
                    Some(first) if matched[first.ix()].0.target.text() != row.target.text() => {
                        conflicting.entry(a).or_default();
                    }
                    Some(_) => {}
                }
                matched.push((row, a));
            }
            Err(reason) => blocked.push(Blocked {
                origin: row_origin(row),
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
            lines.push((row.file, row.line));
        }
    }

    let mut claims = Vec::with_capacity(matched.len());
    for (i, &(row, a)) in matched.iter().enumerate() {
        let holder = account(org, a);
        let origin = row_origin(row);
        if let Some(rows) = conflicting.get(&a) {
            let one_file = rows.iter().all(|&(file, _)| file == 0);
            let reason = BlockReason::ConflictingRows {
                lines: rows.iter().map(|&(_, line)| line).collect(),
                files: if one_file {
                    Vec::new()
                } else {
                    rows.iter().map(|&(file, _)| file).collect()
                },
            };
            blocked.push(block_row(origin, holder, row.target.text(), reason));
        } else if first_row[a.ix()] == Some(MatchIx::new(i)) {
            let mut made = claim(a, holder, &row.target, origin, blocked);
            if let Some(c) = made.as_mut()
                && by_target.contains(&(row.file, row.line))
            {
                c.stale_current = row.current_email.as_deref();
            }
            claims.extend(made);
        } // else: the same row again, word for word; the first one stands for both.
    }
    (claims, named)
}

fn row_origin(row: &TargetRow) -> Origin {
    Origin::Line {
        file: row.file,
        line: row.line,
    }
}

/// Rows whose current address no account has, while an account no other row names already
/// holds their target: the change was made before the export (by hand, by an earlier run), so
/// the row is met, not a person without an account. Only a row without an account ID is read
/// so (an ID says who is meant), and each holder is taken by one row at most; the review names
/// the holder beside the row's stale address, so a different person holding the address is seen.
/// Returns the lines so matched.
fn already_there(
    org: &Org,
    rows: &[TargetRow],
    found: &mut [Result<AccountIx, BlockReason>],
    named: &mut [bool],
) -> hashbrown::HashSet<(u32, u64)> {
    let mut lines = hashbrown::HashSet::new();
    for (row, found) in rows.iter().zip(found.iter_mut()) {
        let (Err(BlockReason::UnknownAccount {}), None, Some(_), Target::Valid(target)) =
            (&*found, &row.account_id, &row.current_email, &row.target)
        else {
            continue;
        };
        if let Some(a) = org.holder_of_key(target.key()).map(AccountIx::of)
            && !named[a.ix()]
        {
            named[a.ix()] = true;
            *found = Ok(a);
            lines.insert((row.file, row.line));
        }
    }
    lines
}

/// The address each rule gives the accounts no row names, with the rule that gives it.
pub(super) fn rule_targets(req: &Request, named: &[bool]) -> Vec<(AccountIx, Target, Arc<str>)> {
    if req.rules.is_empty() {
        return Vec::new();
    }
    let by_domain: HashMap<&str, (&DomainRule, Arc<str>)> = req
        .rules
        .iter()
        .map(|r| (r.from.as_str(), (r, Arc::from(r.label()))))
        .collect();
    let mut ruled = Vec::new();
    for (a, holder) in req.org.accounts().iter().enumerate() {
        if named[a] {
            continue;
        }
        let domain = holder.email.key().rsplit_once('@').map_or("", |(_, d)| d);
        if let Some((rule, label)) = by_domain.get(domain)
            && rule.moves(holder.status)
        {
            let text = format!("{}@{}", holder.email.local(), rule.to);
            ruled.push((AccountIx::new(a), Target::parse(&text), Arc::clone(label)));
        }
    }
    ruled
}

/// The rules' claims, after the rows'.
pub(super) fn add_ruled<'a>(
    org: &Org,
    ruled: &'a [(AccountIx, Target, Arc<str>)],
    claims: &mut Vec<Claim<'a>>,
    blocked: &mut Vec<Blocked>,
) {
    for (a, target, rule) in ruled {
        claims.extend(claim(
            *a,
            account(org, *a),
            target,
            Origin::Rule(Arc::clone(rule)),
            blocked,
        ));
    }
}

/// Who wants each address, and who holds the address each claim wants: independent reads, so
/// one core does each.
pub(super) fn wanted_and_held<'a>(
    org: &Org,
    claims: &[Claim<'a>],
) -> (Wants<'a>, Vec<Option<AccountIx>>) {
    let (held_by, wants) = crate::cores::side_by_side(
        || {
            claims
                .iter()
                .map(|c| org.holder_of_key(c.target.key()).map(AccountIx::of))
                .collect::<Vec<_>>()
        },
        || who_wants(claims),
    );
    (wants, held_by)
}

fn who_wants<'a>(claims: &[Claim<'a>]) -> Wants<'a> {
    let hasher = DefaultHashBuilder::default();
    let mut first: HashTable<ClaimIx> = HashTable::with_capacity(claims.len());
    let mut duplicated: HashMap<&str, Vec<ClaimIx>> = HashMap::new();
    let key_of = |c: &ClaimIx| claims[c.ix()].target.key();
    for (ci, c) in claims.iter().enumerate() {
        let key = c.target.key();
        match first.entry(
            hasher.hash_one(key),
            |other| key_of(other) == key,
            |other| hasher.hash_one(key_of(other)),
        ) {
            Entry::Occupied(earlier) => duplicated
                .entry(key)
                .or_insert_with(|| vec![*earlier.get()])
                .push(ClaimIx::new(ci)),
            Entry::Vacant(none) => {
                none.insert(ClaimIx::new(ci));
            }
        }
    }
    Wants {
        first,
        hasher,
        duplicated,
        unmatched: HashMap::new(),
    }
}

/// A claim on a valid target, or a blocked item saying why the target is not one.
fn claim<'a>(
    a: AccountIx,
    holder: &Account,
    target: &'a Target,
    origin: Origin,
    blocked: &mut Vec<Blocked>,
) -> Option<Claim<'a>> {
    match target {
        Target::Valid(email) => Some(Claim {
            account: a,
            target: email,
            origin,
            stale_current: None,
        }),
        Target::Invalid { text, problem } => {
            let reason = BlockReason::InvalidAddress {
                problem: problem.to_string(),
            };
            blocked.push(block_row(origin, holder, text, reason));
            None
        }
    }
}

/// The account each row means, if the quick lookup finds one.
fn resolve_all(org: &Org, rows: &[TargetRow]) -> Vec<Option<AccountIx>> {
    crate::cores::in_halves(rows, |_, row| resolve(org, row).ok())
}

/// Finds the account a row means, by ID, by current address, or by both when they agree.
fn resolve(org: &Org, row: &TargetRow) -> Result<AccountIx, BlockReason> {
    let by_id = row.account_id.as_deref().map(|id| org.by_id(id));
    let by_email = row.current_email.as_deref().map(|e| org.holder(e));
    let found = match (by_id, by_email) {
        (None, None) => Err(BlockReason::NoAccountNamed {}),
        (Some(Some(a)), None) | (None, Some(Some(a))) => Ok(a),
        (Some(None), None | Some(None)) | (None, Some(None)) => Err(BlockReason::UnknownAccount {}),
        (Some(i), Some(e)) if i == e => i.ok_or(BlockReason::UnknownAccount {}),
        (Some(i), Some(e)) => Err(BlockReason::AmbiguousAccount {
            by_id: i.map(|a| org.account(a).email.text().to_owned()),
            by_email: e.map(|a| id(org.account(a)).to_owned()),
        }),
    };
    found.map(AccountIx::of)
}
