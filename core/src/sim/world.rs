//! The simulated org as plain data, and the admin API's rules as plain functions over it: who
//! holds which address, which domains are verified, which accounts the IdP manages. The HTTP
//! layer only translates requests into these calls and their outcomes into responses.

use crate::model::{AddressProblem, Status, check_address, email_key};
use crate::org::Org;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One account as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    pub account_id: String,
    pub name: String,
    pub email: String,
    pub status: Status,
    /// Linked to the identity provider by SCIM: its email can only change there.
    pub scim_linked: bool,
}

/// Who holds an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Account(usize),
    /// An account the org cannot see or change (unverified, in another org, or being deleted).
    External,
}

/// Why `PUT /users/{id}/manage/email` fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetEmailError {
    NotFound,
    Invalid(AddressProblem),
    ScimManaged,
    UnclaimedDomain(String),
    Taken,
}

/// Why a SCIM admin call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimError {
    NotFound,
}

#[derive(Debug, Clone)]
pub struct World {
    accounts: Vec<SimAccount>,
    by_id: HashMap<String, usize>,
    holders: HashMap<String, Holder>,
    verified: BTreeSet<String>,
    /// The domains the org has claimed but not verified, for the domains listing.
    unverified: BTreeSet<String>,
}

impl World {
    /// The world an export describes. Accounts without an ID (the managed-accounts layout) get a
    /// stable made-up one. `verified` are domain keys; when empty, every domain the export uses
    /// counts as verified, since a managed account's domain is claimed by the org.
    pub fn from_org(
        org: &Org,
        verified: &BTreeSet<String>,
        scim_linked: &BTreeSet<String>,
        external: &[String],
    ) -> World {
        let mut world = World {
            accounts: Vec::with_capacity(org.len()),
            by_id: HashMap::with_capacity(org.len()),
            holders: HashMap::with_capacity(org.len() + external.len()),
            verified: verified.clone(),
            unverified: BTreeSet::new(),
        };
        for a in org.accounts() {
            let account_id = match &a.id {
                Some(id) => id.to_string(),
                None => made_up_id(a.email.key()),
            };
            let linked = scim_linked.contains(&account_id) || scim_linked.contains(a.email.key());
            let domain = domain_of(a.email.key()).to_owned();
            if verified.is_empty() {
                world.verified.insert(domain);
            } else if !verified.contains(&domain) {
                world.unverified.insert(domain);
            }
            let i = world.accounts.len();
            world.by_id.insert(account_id.clone(), i);
            world
                .holders
                .insert(a.email.key().to_owned(), Holder::Account(i));
            world.accounts.push(SimAccount {
                account_id,
                name: a.name.to_string(),
                email: a.email.text().to_owned(),
                status: a.status,
                scim_linked: linked,
            });
        }
        for e in external {
            world
                .holders
                .entry(email_key(e))
                .or_insert(Holder::External);
        }
        world
    }

    pub fn accounts(&self) -> &[SimAccount] {
        &self.accounts
    }

    pub fn account(&self, id: &str) -> Option<&SimAccount> {
        self.by_id.get(id).map(|&i| &self.accounts[i])
    }

    pub fn holder(&self, address: &str) -> Option<Holder> {
        self.holders.get(&email_key(address)).copied()
    }

    pub fn verified_domains(&self) -> &BTreeSet<String> {
        &self.verified
    }

    pub fn unverified_domains(&self) -> &BTreeSet<String> {
        &self.unverified
    }

    /// The checks of a set-email call, in the order the API is taken to make them: the account,
    /// the body, the permission, the domain, then uniqueness. Setting the address an account
    /// already has (in any letter case) succeeds and writes the new spelling.
    pub fn check_set_email(&self, id: &str, email: &str) -> Result<usize, SetEmailError> {
        let &i = self.by_id.get(id).ok_or(SetEmailError::NotFound)?;
        check_address(email).map_err(SetEmailError::Invalid)?;
        if self.accounts[i].scim_linked {
            return Err(SetEmailError::ScimManaged);
        }
        let key = email_key(email);
        let domain = domain_of(&key);
        if !self.verified.contains(domain) {
            return Err(SetEmailError::UnclaimedDomain(domain.to_owned()));
        }
        match self.holders.get(&key) {
            Some(Holder::Account(h)) if *h == i => Ok(i),
            Some(_) => Err(SetEmailError::Taken),
            None => Ok(i),
        }
    }

    /// Applies a set-email call that `check_set_email` allowed.
    pub fn set_email(&mut self, id: &str, email: &str) -> Result<(), SetEmailError> {
        let i = self.check_set_email(id, email)?;
        let old = email_key(&self.accounts[i].email);
        self.holders.remove(&old);
        self.holders.insert(email_key(email), Holder::Account(i));
        email.trim().clone_into(&mut self.accounts[i].email);
        Ok(())
    }

    /// `DELETE .../onlyDeleteUserInDB`: the account is no longer managed by the IdP.
    pub fn unlink_scim(&mut self, id: &str) -> Result<(), ScimError> {
        let &i = self.by_id.get(id).ok_or(ScimError::NotFound)?;
        self.accounts[i].scim_linked = false;
        Ok(())
    }

    /// One page of the accounts, from position `start`; the next page's start when there is one.
    pub fn page(&self, start: usize, size: usize) -> (&[SimAccount], Option<usize>) {
        let start = start.min(self.accounts.len());
        let end = start.saturating_add(size.max(1)).min(self.accounts.len());
        let next = (end < self.accounts.len()).then_some(end);
        (&self.accounts[start..end], next)
    }
}

fn domain_of(key: &str) -> &str {
    key.rsplit_once('@').map_or("", |(_, d)| d)
}

/// A stable account ID for an export that has none, so that the same export always gives the
/// same IDs.
pub fn made_up_id(email_key: &str) -> String {
    let hash = crate::hash::sha256_hex(email_key.as_bytes());
    format!("sim:{}", &hash[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(verified: &[&str], scim: &[&str], external: &[&str]) -> World {
        let org = crate::org::testing::org(&[
            ("a", "ann@old.example"),
            ("b", "bob@new.example"),
            ("c", "cy@old.example"),
        ]);
        let verified = verified
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        let scim = scim.iter().map(std::string::ToString::to_string).collect();
        let external: Vec<String> = external
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        World::from_org(&org, &verified, &scim, &external)
    }

    #[test]
    fn one_address_one_account_without_regard_to_case() {
        let mut w = world(&[], &[], &[]);
        assert_eq!(
            w.set_email("a", "BOB@new.example"),
            Err(SetEmailError::Taken)
        );
        w.set_email("b", "robert@new.example").unwrap();
        w.set_email("a", "Bob@New.example").unwrap();
        assert_eq!(w.account("a").unwrap().email, "Bob@New.example");
        assert_eq!(w.holder("bob@new.example"), Some(Holder::Account(0)));
        assert_eq!(
            w.holder("ann@old.example"),
            None,
            "the old address is free again"
        );
    }

    #[test]
    fn a_swap_needs_a_temporary_address() {
        let mut w = world(&[], &[], &[]);
        assert_eq!(
            w.set_email("a", "cy@old.example"),
            Err(SetEmailError::Taken)
        );
        w.set_email("a", "tmp@old.example").unwrap();
        w.set_email("c", "ann@old.example").unwrap();
        w.set_email("a", "cy@old.example").unwrap();
    }

    #[test]
    fn checks_come_in_the_api_order() {
        let w = world(&["new.example"], &["b"], &["held@new.example"]);
        assert_eq!(
            w.check_set_email("zz", "not an address"),
            Err(SetEmailError::NotFound)
        );
        assert!(matches!(
            w.check_set_email("a", "no-at"),
            Err(SetEmailError::Invalid(_))
        ));
        assert_eq!(
            w.check_set_email("b", "x@new.example"),
            Err(SetEmailError::ScimManaged)
        );
        assert_eq!(
            w.check_set_email("a", "x@other.example"),
            Err(SetEmailError::UnclaimedDomain("other.example".into()))
        );
        assert_eq!(
            w.check_set_email("a", "Held@new.example"),
            Err(SetEmailError::Taken)
        );
        assert_eq!(w.check_set_email("a", "x@new.example"), Ok(0));
    }

    #[test]
    fn same_address_again_is_accepted_and_respelled() {
        let mut w = world(&[], &[], &[]);
        w.set_email("a", "Ann@Old.example").unwrap();
        assert_eq!(w.account("a").unwrap().email, "Ann@Old.example");
    }

    #[test]
    fn verified_domains_default_to_the_exports_and_others_are_listed_unverified() {
        let w = world(&[], &[], &[]);
        assert_eq!(
            w.verified_domains().iter().collect::<Vec<_>>(),
            ["new.example", "old.example"]
        );
        let w = world(&["new.example"], &[], &[]);
        assert_eq!(
            w.unverified_domains().iter().collect::<Vec<_>>(),
            ["old.example"]
        );
    }

    #[test]
    fn unlinking_scim_makes_the_account_editable() {
        let mut w = world(&[], &["bob@new.example"], &[]);
        assert_eq!(
            w.check_set_email("b", "b2@new.example"),
            Err(SetEmailError::ScimManaged)
        );
        w.unlink_scim("b").unwrap();
        assert_eq!(w.check_set_email("b", "b2@new.example"), Ok(1));
        assert_eq!(w.unlink_scim("zz"), Err(ScimError::NotFound));
    }

    #[test]
    fn pages_cover_every_account_once() {
        let w = world(&[], &[], &[]);
        let (first, next) = w.page(0, 2);
        assert_eq!((first.len(), next), (2, Some(2)));
        let (last, next) = w.page(2, 2);
        assert_eq!((last.len(), next), (1, None));
        assert_eq!(w.page(99, 2).0.len(), 0);
    }
}
