//! Phase 6: who is left behind. After a rebrand the leavers, service accounts and anyone no row
//! or rule moved stay on the old domain; every review says how many, per domain, so that nobody
//! learns it from the first bounce.

use super::AccountIx;
use crate::org::Org;
use crate::plan::{LeftBehind, Step, StepKind};

/// The domain of an address, as written.
fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Every account whose address, once the plan is applied, is still on a domain the plan moves
/// accounts away from (a rename's `from` domain that is not its `to` domain), in org order.
/// `accounts`: each step's account, by step index.
pub(super) fn left_behind(org: &Org, steps: &[Step], accounts: &[AccountIx]) -> Vec<LeftBehind> {
    // A handful of domains at most: a list compared without case beats hashing each address.
    let mut away: Vec<&str> = Vec::new();
    for s in steps.iter().filter(|s| s.kind == StepKind::Rename) {
        let (from, to) = (domain(&s.from), domain(&s.to));
        if !from.eq_ignore_ascii_case(to) && !away.iter().any(|d| d.eq_ignore_ascii_case(from)) {
            away.push(from);
        }
    }
    if away.is_empty() {
        return Vec::new();
    }
    // Each account's last step, whose `to` is where the plan leaves it.
    let mut last = vec![u32::MAX; org.len()];
    for (i, a) in accounts.iter().enumerate() {
        last[a.ix()] = u32::try_from(i).unwrap_or(u32::MAX);
    }
    org.accounts()
        .iter()
        .zip(last)
        .filter_map(|(a, last)| {
            let at = steps.get(last as usize).map_or(a.email.text(), |s| &*s.to);
            let on = domain(at);
            away.iter()
                .any(|d| d.eq_ignore_ascii_case(on))
                .then(|| LeftBehind {
                    account_id: a.id.as_deref().unwrap_or_default().to_owned(),
                    name: a.name.to_string(),
                    email: at.to_owned(),
                    status: a.status,
                })
        })
        .collect()
}
