//! Phase 6: who is left behind. After a rebrand the leavers, service accounts and anyone no row
//! or rule moved stay on the old domain; every review says how many, per domain, so that nobody
//! learns it from the first bounce.

use super::AccountIx;
use crate::org::Org;
use crate::plan::{LeftBehind, Step, StepKind};
use hashbrown::HashMap;

/// The domain of an address, as written. A byte search from the end, not a character
/// searcher: every account's address is looked at.
fn domain(address: &str) -> &str {
    match address.bytes().rposition(|b| b == b'@') {
        // `@` is ASCII, so the byte after it starts a character.
        Some(at) => &address[at + 1..],
        None => "",
    }
}

/// The domains the steps name, numbered in order of first sight, compared without case. A plan
/// has a handful: a short list is searched, and a longer one goes through a map, so that an
/// org of many domains is not searched once per step.
#[derive(Default)]
struct Domains<'s> {
    list: Vec<&'s str>,
    by_key: HashMap<String, u32>,
}

impl<'s> Domains<'s> {
    const SEARCHED: usize = 8;

    fn number(&mut self, domain: &'s str) -> u32 {
        let known = if self.list.len() <= Self::SEARCHED {
            self.list
                .iter()
                .position(|d| d.eq_ignore_ascii_case(domain))
                .map(|at| at as u32)
        } else {
            self.by_key.get(&domain.to_ascii_lowercase()).copied()
        };
        known.unwrap_or_else(|| {
            let at = self.list.len() as u32;
            self.list.push(domain);
            self.by_key.insert(domain.to_ascii_lowercase(), at);
            at
        })
    }
}

/// Every account whose address, once the plan is applied, is still on a domain the plan moves
/// accounts away from (a rename's `from` domain that is not its `to` domain), in org order.
/// `accounts`: each step's account, by step index.
pub(super) fn left_behind(org: &Org, steps: &[Step], accounts: &[AccountIx]) -> Vec<LeftBehind> {
    // Each account's last step, whose `to` is where the plan leaves it.
    let mut last = vec![u32::MAX; org.len()];
    for (i, a) in accounts.iter().enumerate() {
        last[a.ix()] = u32::try_from(i).unwrap_or(u32::MAX);
    }
    // One pass over the steps, whose addresses are a cache miss each: which domains renames
    // leave, and the domain each account's last step leaves it on. A plan has a handful of
    // domains, so they are numbered in a list compared without case rather than hashed.
    let mut domains = Domains::default();
    let mut away: Vec<u32> = Vec::new();
    let mut ends_on = vec![u32::MAX; org.len()];
    for ((i, s), a) in steps.iter().enumerate().zip(accounts) {
        let to = domain(&s.to);
        if s.kind == StepKind::Rename {
            let from = domain(&s.from);
            if !from.eq_ignore_ascii_case(to) {
                let from = domains.number(from);
                if !away.contains(&from) {
                    away.push(from);
                }
            }
        }
        if last[a.ix()] as usize == i {
            ends_on[a.ix()] = domains.number(to);
        }
    }
    if away.is_empty() {
        return Vec::new();
    }
    let mut ends_away = vec![false; domains.list.len()];
    for &d in &away {
        ends_away[d as usize] = true;
    }
    let away: Vec<&str> = away.iter().map(|&d| domains.list[d as usize]).collect();
    let is_away = |d: &str| away.iter().any(|a| a.eq_ignore_ascii_case(d));
    org.accounts()
        .iter()
        .zip(last)
        .zip(ends_on)
        .filter_map(|((a, last), ends_on)| {
            let step = steps.get(last as usize);
            let left = match step {
                Some(_) => ends_away.get(ends_on as usize).copied().unwrap_or(false),
                None => is_away(domain(a.email.text())),
            };
            left.then(|| {
                let at = step.map_or(a.email.text(), |s| &*s.to);
                LeftBehind {
                    account_id: a.id.as_deref().unwrap_or_default().to_owned(),
                    name: a.name.to_string(),
                    email: at.to_owned(),
                    status: a.status,
                }
            })
        })
        .collect()
}
