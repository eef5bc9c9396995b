//! Phase 2: each claim sorted into a mover, unchanged, blocked (an address wanted twice, an
//! unverified domain, an account the API may not write) or left to the identity provider, which
//! makes the change after the plan is applied.

use super::claims::{Claim, Wants};
use super::{AccountIx, ClaimIx, Request, account, block, id};
use crate::model::Email;
use crate::plan::access::Lock;
use crate::plan::{BlockReason, Blocked, Origin, Unchanged};
use hashbrown::HashMap;
use std::collections::BTreeSet;

const IDP_MOVER: &str = "the identity provider owns its email and moves it only after this plan is applied; plan again once the IdP change has synced";

/// What the phases after sorting read, per account and per claim; `holders` refines it.
pub(super) struct Sorted {
    /// The claim each moving account moves by.
    pub mover_claim: Vec<Option<ClaimIx>>,
    /// The account has a wish, or is held in place, and keeps its address: nobody may free it.
    pub stays: Vec<bool>,
    pub unchanged: Vec<Unchanged>,
    /// The claims the identity provider carries out after the plan, in claim order.
    pub provisioned: Vec<ClaimIx>,
    /// Why an account stays, where the reviewer should be told.
    pub because: HashMap<AccountIx, String>,
}

impl Sorted {
    pub(super) fn is_mover(&self, a: AccountIx) -> bool {
        self.mover_claim[a.ix()].is_some()
    }
}

/// What one claim comes to. The rare outcomes that carry text are boxed, so a fate is 16 bytes:
/// a million of them are held at once.
enum Fate {
    Moves,
    Unchanged(Box<Unchanged>),
    Blocked(Box<Blocked>),
    /// The identity provider makes the change after the plan is applied.
    Provisioned,
}

/// `named[a]`: some row names account `a`, which therefore stays unless its claim moves it.
/// Deciding a claim only reads, so a large plan's claims are decided in two halves at once
/// (0.08 s on one core at a million claims); the decisions are applied in claim order.
pub(super) fn sort(
    req: &Request,
    claims: &[Claim],
    wants: &Wants,
    named: Vec<bool>,
    blocked: &mut Vec<Blocked>,
) -> Sorted {
    let fates = crate::cores::in_halves(claims, |ci, c| fate(req, claims, wants, ci, c));
    let mut sorted = Sorted {
        mover_claim: vec![None; req.org.len()],
        stays: named,
        unchanged: Vec::new(),
        provisioned: Vec::new(),
        because: HashMap::new(),
    };
    for (ci, (c, fate)) in claims.iter().zip(fates).enumerate() {
        sorted.stays[c.account.ix()] = true;
        match fate {
            Fate::Moves => {
                sorted.mover_claim[c.account.ix()] = Some(ClaimIx::new(ci));
                sorted.stays[c.account.ix()] = false;
            }
            Fate::Unchanged(unchanged) => sorted.unchanged.push(*unchanged),
            Fate::Blocked(b) => blocked.push(*b),
            Fate::Provisioned => {
                sorted.provisioned.push(ClaimIx::new(ci));
                sorted.because.insert(c.account, IDP_MOVER.to_owned());
            }
        }
    }
    sorted
}

/// Claim `ci`'s fate: blocked (its address wanted twice, an unverified domain, an account the
/// API may not write), unchanged, moving, or left to the identity provider.
fn fate(req: &Request, claims: &[Claim], wants: &Wants, ci: usize, c: &Claim) -> Fate {
    let org = req.org;
    let holder = account(org, c.account);
    let blocked = |reason| Fate::Blocked(Box::new(block(c, holder, reason)));
    let claimants = if wants.duplicated.is_empty() {
        None
    } else {
        wants.duplicated.get(c.target.key())
    };
    // A row for a person with no account yet wants the address as much: given to this
    // account, that person would sign in to it.
    let strangers = if wants.unmatched.is_empty() {
        None
    } else {
        wants.unmatched.get(c.target.key())
    };
    // A row always wins over a rule for the same address: the rule's wish is the one
    // blocked, naming the row, and the row's goes ahead unless another row wants it too.
    let others = claimants
        .into_iter()
        .flatten()
        .filter(|&&other| other.ix() != ci);
    let (rows, rules): (Vec<&ClaimIx>, Vec<&ClaimIx>) =
        others.partition(|other| matches!(claims[other.ix()].origin, Origin::Line { .. }));
    let by_row = matches!(c.origin, Origin::Line { .. });
    // A row meets only rows; a rule loses to any row (or person with no account yet), and
    // meets other rules only when no row wants the address.
    let rule_loses = !by_row && (strangers.is_some() || !rows.is_empty());
    let rivals = if by_row || rule_loses { rows } else { rules };
    if !rivals.is_empty() || strangers.is_some() {
        let others = rivals
            .into_iter()
            .map(|&other| {
                let rival = &claims[other.ix()];
                let who = id(account(org, rival.account)).to_owned();
                match (&rival.origin, rule_loses) {
                    (row @ Origin::Line { .. }, true) => {
                        format!("{who} ({}: a row wins over a rule)", row.short())
                    }
                    _ => who,
                }
            })
            .chain(strangers.into_iter().flatten().cloned())
            .collect();
        blocked(BlockReason::DuplicateTarget { others })
    } else if c.target.key() == holder.email.key() {
        Fate::Unchanged(Box::new(Unchanged {
            origin: c.origin.clone(),
            account_id: id(holder).to_owned(),
            current: holder.email.text().to_owned(),
            target: c.target.text().to_owned(),
            case_only: c.target.text() != holder.email.text(),
            row_current: c.stale_current.map(str::to_owned),
        }))
    } else if !req.access.allow_non_ascii_local && !c.target.local().is_ascii() {
        blocked(BlockReason::NonAsciiLocalPart {})
    } else if let Some(domain) = unverified(req.verified_domains, c.target) {
        blocked(BlockReason::UnverifiedDomain { domain })
    } else {
        match req.access.lock(id(holder)) {
            Lock::Open => Fate::Moves,
            Lock::Own => blocked(BlockReason::OwnAccount {}),
            Lock::Unclaimed => blocked(BlockReason::NotClaimed {}),
            Lock::Denied(key) => blocked(BlockReason::NotPermitted { reason: key.into() }),
            // The IdP makes this change after the plan is applied: until then the account
            // keeps its address, so nobody in this plan may take it.
            Lock::Idp(_) => Fate::Provisioned,
        }
    }
}

/// The target's domain, if it is not among the verified ones. Both sides are compared in one
/// form, the IDNA key (`bücher.example` is `xn--bcher-kva.example`), whichever spelling either
/// was given in.
fn unverified(verified: Option<&BTreeSet<String>>, target: &Email) -> Option<String> {
    let verified = verified?;
    let domain = target.key().rsplit_once('@').map_or("", |(_, d)| d);
    // An ASCII domain's key is itself (lower case already); only others need IDNA, which is
    // not paid per claim of a plain rebrand.
    let known = if domain.is_ascii() {
        verified.contains(domain)
    } else {
        verified.contains(&crate::model::domain_key(domain))
    };
    (!known).then(|| domain.to_owned())
}
