//! Phase 5: the identity provider's changes, in a safe order. Each waits for what frees its
//! address: a free the plan adds, the last step of the account moving away, or the IdP change
//! of the account holding it. One whose address cannot be freed is blocked instead, with the
//! reason; so is every change of a cycle among them, which no order can carry out.

use super::claims::Claim;
use super::holders::{Holders, freed};
use super::sort::Sorted;
use super::walk::StepWriter;
use super::{AccountIx, ClaimIx, account, block, id};
use crate::plan::access::{Access, Lock, SCIM};
use crate::plan::placeholder::Placeholders;
use crate::plan::{BlockReason, Blocked, IdpMove, StepId};
use hashbrown::HashMap;
use std::sync::Arc;

pub(super) fn moves(
    claims: &[Claim],
    sorted: &Sorted,
    holders: &Holders,
    access: &Access,
    out: &mut StepWriter,
    names: &mut Placeholders,
    blocked: &mut Vec<Blocked>,
) -> Vec<IdpMove> {
    let provisioned = &sorted.provisioned;
    // Most plans have none, and the index below would cost a pass over every step.
    if provisioned.is_empty() {
        return Vec::new();
    }
    let org = out.org;
    let mut last_step: HashMap<Arc<str>, StepId> = HashMap::new();
    for s in &out.steps {
        last_step.insert(Arc::clone(&s.account_id), s.id);
    }
    let by_account: HashMap<AccountIx, ClaimIx> = provisioned
        .iter()
        .map(|&ci| (claims[ci.ix()].account, ci))
        .collect();
    let provisioned_holder = |ci: ClaimIx| holders.of(ci).and_then(|h| by_account.get(&h).copied());
    // Per provisioned claim: its place in the IdP order, or `None` once blocked.
    let mut placed: HashMap<ClaimIx, Option<u32>> = HashMap::new();
    let mut moves: Vec<IdpMove> = Vec::new();
    for &start in provisioned {
        // Follow the holders through provisioned accounts not yet placed.
        let mut path = vec![start];
        let mut last = start;
        let mut cycle = false;
        while let Some(next) = provisioned_holder(last) {
            if placed.contains_key(&next) {
                break;
            }
            if path.contains(&next) {
                cycle = true;
                break;
            }
            path.push(next);
            last = next;
        }
        if cycle {
            let accounts: Vec<String> = path
                .iter()
                .map(|&ci| id(account(org, claims[ci.ix()].account)).to_owned())
                .collect();
            for &ci in &path {
                let c = &claims[ci.ix()];
                let reason = BlockReason::IdpCycle {
                    accounts: accounts.clone(),
                };
                blocked.push(block(c, account(org, c.account), reason));
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
            let c = &claims[ci.ix()];
            let moving = account(org, c.account);
            let (mut after_steps, mut after_idp) = (Vec::new(), Vec::new());
            // The holder that keeps this address out of reach, if one does.
            let stuck = match holders.of(ci) {
                None => None,
                Some(h) => match by_account.get(&h) {
                    Some(hci) => match placed.get(hci).copied().flatten() {
                        Some(order) => {
                            after_idp.push(order);
                            None
                        }
                        None => Some(h),
                    },
                    None if sorted.is_mover(h) => match last_step.get(id(account(org, h))) {
                        Some(&step) => {
                            after_steps.push(step);
                            None
                        }
                        None => Some(h),
                    },
                    None if !freed(sorted, h) => Some(h),
                    None => {
                        out.group += 1;
                        after_steps.push(out.free(h, &holders.unlink, names));
                        None
                    }
                },
            };
            if let Some(h) = stuck {
                let held = account(org, h);
                let reason = BlockReason::HolderStays {
                    holder: id(held).to_owned(),
                    holder_email: held.email.text().to_owned(),
                    because: sorted.because.get(&h).cloned(),
                };
                blocked.push(block(c, moving, reason));
                placed.insert(ci, None);
                continue;
            }
            let order = moves.len() as u32 + 1;
            placed.insert(ci, Some(order));
            let source = match access.lock(id(moving)) {
                Lock::Idp(key) => key.to_owned(),
                _ => SCIM.to_owned(),
            };
            moves.push(IdpMove {
                order,
                origin: c.origin.clone(),
                account_id: id(moving).to_owned(),
                name: moving.name.to_string(),
                current: moving.email.text().to_owned(),
                target: c.target.text().to_owned(),
                source,
                after_steps,
                after_idp,
            });
        }
    }
    moves
}
