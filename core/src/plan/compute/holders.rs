//! Phase 3: the holders of wanted addresses. A holder that moves nowhere itself is freed
//! (renamed to `local_FREE@domain`) if the API may write it, after an unlink from SCIM when it
//! is linked and the admin allows that; otherwise it stays, and so does every mover whose
//! address it holds, and in turn whoever wanted a blocked mover's address.

use super::claims::Claim;
use super::sort::Sorted;
use super::{AccountIx, ClaimIx, Request, account, block, id};
use crate::plan::access::Lock;
use crate::plan::{BlockReason, Blocked};
use hashbrown::HashSet;

pub(super) struct Holders {
    /// Who holds the address each claim wants, if anyone.
    pub held_by: Vec<Option<AccountIx>>,
    /// The mover that wants each account's address, if any (at most one: duplicates are
    /// blocked).
    pub wanter: Vec<Option<AccountIx>>,
    /// Holders that are unlinked from SCIM before they are freed.
    pub unlink: HashSet<AccountIx>,
}

impl Holders {
    /// Who holds the address the claim wants, if anyone.
    pub(super) fn of(&self, claim: ClaimIx) -> Option<AccountIx> {
        self.held_by[claim.ix()]
    }
}

/// The one answer to "is this holder freed?": it moves nowhere itself and does not stay (it has
/// no wish of its own, the API may write it, and nothing it holds is left to the identity
/// provider). `settle` decides which holders stay; the walk and the IdP pass free the rest.
pub(super) fn freed(sorted: &Sorted, holder: AccountIx) -> bool {
    !sorted.is_mover(holder) && !sorted.stays[holder.ix()]
}

/// Decides which holders stay and which are unlinked first, and blocks the movers stuck behind
/// a holder that stays.
pub(super) fn settle(
    req: &Request,
    claims: &[Claim],
    held_by: Vec<Option<AccountIx>>,
    sorted: &mut Sorted,
    blocked: &mut Vec<Blocked>,
) -> Holders {
    let org = req.org;
    // Holders that move nowhere and that the API cannot free (or may not: the operator) stay;
    // SCIM-linked ones are unlinked first when the flag allows.
    let mut unlink = HashSet::new();
    for (c, &holder) in claims.iter().zip(&held_by) {
        let Some(holder) = holder.filter(|&h| h != c.account && freed(sorted, h)) else {
            continue;
        };
        let lock = req.access.lock(id(account(org, holder)));
        if !lock.freeable(req.access.allow_scim_unlink) {
            sorted.stays[holder.ix()] = true;
            sorted
                .because
                .extend(lock.why_it_stays().map(|why| (holder, why)));
        } else if lock != Lock::Open {
            unlink.insert(holder);
        }
    }

    let mut wanter = vec![None; org.len()];
    let mut stuck = Vec::new();
    for (ci, c) in claims.iter().enumerate() {
        if sorted.mover_claim[c.account.ix()] != Some(ClaimIx::new(ci)) {
            continue;
        }
        if let Some(holder) = held_by[ci] {
            wanter[holder.ix()] = Some(c.account);
            if sorted.stays[holder.ix()] {
                stuck.push((c.account, holder));
            }
        }
    }
    // Movers whose address is held by an account that stays are blocked, and so, in turn, is
    // whoever wanted a blocked mover's address.
    let mut cascaded = Vec::new();
    while let Some((mover, holder)) = stuck.pop() {
        let Some(ci) = sorted.mover_claim[mover.ix()].take() else {
            continue;
        };
        sorted.stays[mover.ix()] = true;
        let h = account(org, holder);
        let reason = BlockReason::HolderStays {
            holder: id(h).to_owned(),
            holder_email: h.email.text().to_owned(),
            because: sorted.because.get(&holder).cloned(),
        };
        cascaded.push(block(&claims[ci.ix()], account(org, mover), reason));
        if let Some(w) = wanter[mover.ix()].filter(|&w| sorted.is_mover(w)) {
            stuck.push((w, mover));
        }
    }
    blocked.extend(cascaded);
    Holders {
        held_by,
        wanter,
        unlink,
    }
}
