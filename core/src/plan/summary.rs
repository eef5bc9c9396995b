//! The counts a reviewer reads first.

use super::{Blocked, Step, StepKind, Unchanged};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Accounts in the export.
    pub accounts: u64,
    pub writes: u64,
    pub renames: u64,
    pub frees: u64,
    pub temporaries: u64,
    /// Groups of two or more renames that depend on each other without a cycle.
    pub chains: u64,
    pub cycles: u64,
    /// Distinct accounts the plan writes to.
    pub accounts_touched: u64,
    /// Touched accounts that are not deactivated: each write ends their sessions.
    pub signed_out: u64,
    /// Freed holders who can sign in or use a product, and so will notice the lost address.
    pub flagged_holders: u64,
    pub blocked: u64,
    pub blocked_by_reason: BTreeMap<String, u64>,
    pub unchanged: u64,
    /// SCIM-linked holders unlinked before their address is freed (`--allow-scim-unlink`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlinks: u64,
    /// Changes left to the identity provider (see `Plan::idp`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub idp_changes: u64,
    /// Rows that match no account (see `Plan::no_account`); not counted as blocked.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub no_account: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(
        accounts: usize,
        steps: &[Step],
        blocked: &[Blocked],
        unchanged: &[Unchanged],
    ) -> Summary {
        // One pass over the steps, a group at a time: a group's steps stand together in plan
        // order, and an account's steps all stand in its one group, so distinct accounts are
        // counted per group.
        let mut kinds = [0u64; 4]; // by `StepKind as usize`
        let (mut chains, mut cycles, mut touched, mut signed_out, mut flagged) = (0, 0, 0, 0, 0);
        for group in steps.chunk_by(|a, b| a.group == b.group) {
            let (mut renames, mut temporary) = (0, false);
            for (i, s) in group.iter().enumerate() {
                kinds[s.kind as usize] += 1;
                renames += usize::from(s.kind == StepKind::Rename);
                temporary |= s.kind == StepKind::Temporary;
                flagged += u64::from(s.flagged());
                if group[..i].iter().all(|p| p.account_id != s.account_id) {
                    touched += 1;
                    signed_out += u64::from(s.status.may_have_sessions());
                }
            }
            if temporary {
                cycles += 1;
            } else if renames > 1 {
                chains += 1;
            }
        }
        let mut blocked_by_reason = BTreeMap::new();
        for b in blocked {
            *blocked_by_reason
                .entry(b.reason.code().to_owned())
                .or_default() += 1;
        }
        Summary {
            accounts: accounts as u64,
            writes: steps.len() as u64,
            renames: kinds[StepKind::Rename as usize],
            frees: kinds[StepKind::Free as usize],
            temporaries: kinds[StepKind::Temporary as usize],
            chains,
            cycles,
            accounts_touched: touched,
            signed_out,
            flagged_holders: flagged,
            blocked: blocked.len() as u64,
            blocked_by_reason,
            unchanged: unchanged.len() as u64,
            unlinks: kinds[StepKind::Unlink as usize],
            idp_changes: 0,
            no_account: 0,
        }
    }
}
