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
        let count = |kind: StepKind| steps.iter().filter(|s| s.kind == kind).count() as u64;
        // A group's steps stand together in plan order, so one pass sees each group whole.
        let (mut chains, mut cycles) = (0, 0);
        for group in steps.chunk_by(|a, b| a.group == b.group) {
            let renames = group.iter().filter(|s| s.kind == StepKind::Rename).count();
            if group.iter().any(|s| s.kind == StepKind::Temporary) {
                cycles += 1;
            } else if renames > 1 {
                chains += 1;
            }
        }
        // An account's steps all stand in its one group, so distinct accounts are counted per group.
        let (mut touched, mut signed_out) = (0, 0);
        for group in steps.chunk_by(|a, b| a.group == b.group) {
            for (i, s) in group.iter().enumerate() {
                if group[..i].iter().all(|p| p.account_id != s.account_id) {
                    touched += 1;
                    signed_out += u64::from(s.status.may_have_sessions());
                }
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
            renames: count(StepKind::Rename),
            frees: count(StepKind::Free),
            temporaries: count(StepKind::Temporary),
            chains,
            cycles,
            accounts_touched: touched,
            signed_out,
            flagged_holders: steps.iter().filter(|s| s.flagged()).count() as u64,
            blocked: blocked.len() as u64,
            blocked_by_reason,
            unchanged: unchanged.len() as u64,
            unlinks: count(StepKind::Unlink),
            idp_changes: 0,
            no_account: 0,
        }
    }
}
