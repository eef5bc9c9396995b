//! Phase 4: the movers' paths and cycles, written as steps. "A wants the address B holds" links
//! the movers into disjoint paths and cycles. A path is written from its far end back, after
//! freeing the address its last member wants if a bystander holds it; a cycle parks the member
//! whose wish comes first on a temporary address, writes the rest back from there, then unparks
//! it. Each path or cycle is one group.

use super::claims::Claim;
use super::holders::{Holders, freed};
use super::sort::Sorted;
use super::{AccountIx, ClaimIx, account};
use crate::org::Org;
use crate::plan::placeholder::Placeholders;
use crate::plan::{After, Origin, Step, StepId, StepKind};
use hashbrown::HashSet;
use smallvec::smallvec;
use std::sync::Arc;

/// A mover and the claim it moves by.
type Mover = (AccountIx, ClaimIx);

pub(super) fn paths_and_cycles(
    claims: &[Claim],
    sorted: &Sorted,
    holders: &Holders,
    out: &mut StepWriter,
    names: &mut Placeholders,
) {
    let org = out.org;
    let mover = |a: AccountIx| sorted.mover_claim[a.ix()].map(|c| (a, c));
    // The mover that wants `a`'s address, and the mover holding the address claim `c` wants.
    let prev = |a: AccountIx| holders.wanter[a.ix()].and_then(mover);
    let next = |c: ClaimIx| holders.of(c).and_then(mover);
    let target = |c: ClaimIx| claims[c.ix()].target;
    let origin = |c: ClaimIx| Some(claims[c.ix()].origin.clone());
    let mut visited = vec![false; org.len()];
    for (ci, c) in claims.iter().enumerate() {
        let start: Mover = (c.account, ClaimIx::new(ci));
        if sorted.mover_claim[c.account.ix()] != Some(start.1) || visited[c.account.ix()] {
            continue;
        }
        let mut head = start;
        let mut cycle = false;
        while let Some(p) = prev(head.0) {
            if p.0 == start.0 {
                // The member whose wish comes first breaks the cycle, so the choice
                // depends on the inputs alone.
                cycle = true;
                head = start;
                break;
            }
            head = p;
        }
        let mut members = vec![head];
        let mut tail = head;
        while let Some(n) = next(tail.1) {
            if n.0 == head.0 {
                break;
            }
            members.push(n);
            tail = n;
        }
        for &(m, _) in &members {
            visited[m.ix()] = true;
        }
        out.group += 1;
        if cycle {
            let (h, hc) = head;
            let breaker = account(org, h);
            let temp: Arc<str> = names
                .moving(breaker.email.local(), target(hc).domain())
                .into();
            let park = out.push(
                StepKind::Temporary,
                h,
                breaker.email.shared(),
                Arc::clone(&temp),
                After::new(),
                None,
            );
            let mut last = park;
            for &(m, mc) in members[1..].iter().rev() {
                last = out.push(
                    StepKind::Rename,
                    m,
                    account(org, m).email.shared(),
                    target(mc).shared(),
                    smallvec![last],
                    origin(mc),
                );
            }
            out.push(
                StepKind::Rename,
                h,
                temp,
                target(hc).shared(),
                smallvec![park, last],
                origin(hc),
            );
        } else {
            let mut after = After::new();
            // The path ends where its last wish meets an address no mover holds: free or held
            // by a bystander whom `holders::settle` left to be freed.
            if let Some(holder) = holders.of(tail.1) {
                debug_assert!(freed(sorted, holder), "a path ends at a holder that stays");
                after.push(out.free(holder, &holders.unlink, names));
            }
            for &(m, mc) in members.iter().rev() {
                let step = out.push(
                    StepKind::Rename,
                    m,
                    account(org, m).email.shared(),
                    target(mc).shared(),
                    after,
                    origin(mc),
                );
                after = smallvec![step];
            }
        }
    }
}

/// Appends steps with ids 1, 2, 3, ..., each in the current group.
pub(super) struct StepWriter<'a> {
    pub org: &'a Org,
    pub steps: Vec<Step>,
    /// Each step's account, by step index.
    pub accounts: Vec<AccountIx>,
    pub group: u32,
}

impl<'a> StepWriter<'a> {
    pub(super) fn new(org: &'a Org, claims: usize) -> StepWriter<'a> {
        StepWriter {
            org,
            steps: Vec::with_capacity(claims + claims / 8),
            accounts: Vec::with_capacity(claims + claims / 8),
            group: 0,
        }
    }

    /// Frees a holder's address, unlinking it from SCIM first when it is linked; the free's id.
    pub(super) fn free(
        &mut self,
        holder: AccountIx,
        unlink: &HashSet<AccountIx>,
        names: &mut Placeholders,
    ) -> StepId {
        let held = &account(self.org, holder).email;
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

    pub(super) fn push(
        &mut self,
        kind: StepKind,
        who: AccountIx,
        from: Arc<str>,
        to: Arc<str>,
        after: After,
        origin: Option<Origin>,
    ) -> StepId {
        let a = account(self.org, who);
        let step_id = StepId::of_index(self.steps.len());
        self.accounts.push(who);
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
