//! "One address, one account" as a small in-memory model: replay email changes and fail on the
//! first collision or broken precondition. The planner's property tests check plans against it;
//! the executor's tests and the simulator will keep the same rule.

use crate::model::email_key;
use crate::org::Org;
use hashbrown::HashMap;

/// Why a change cannot happen in this world.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// No such account.
    #[error("no account {account}")]
    UnknownAccount { account: String },
    /// The account does not have the address the change expects it to have.
    #[error("account {account} has {found}, not {expected}")]
    Precondition {
        account: String,
        expected: String,
        found: String,
    },
    /// Another account holds the address.
    #[error("{address} is held by {holder}")]
    Taken { address: String, holder: String },
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    email_of: HashMap<String, String>,
    holder_of: HashMap<String, String>,
}

impl Ledger {
    /// The world as an export describes it; accounts without an ID are left out.
    pub fn from_org(org: &Org) -> Ledger {
        let mut ledger = Ledger::default();
        for a in org.accounts() {
            if let Some(id) = &a.id {
                ledger
                    .email_of
                    .insert(id.to_string(), a.email.text().to_owned());
                ledger
                    .holder_of
                    .insert(a.email.key().to_owned(), id.to_string());
            }
        }
        ledger
    }

    pub fn email_of(&self, account: &str) -> Option<&str> {
        self.email_of.get(account).map(String::as_str)
    }

    pub fn holder_of(&self, address: &str) -> Option<&str> {
        self.holder_of.get(&email_key(address)).map(String::as_str)
    }

    /// Moves `account` from `from` to `to`, as the API would: the address must be free (or the
    /// account's own, in another spelling).
    pub fn apply(&mut self, account: &str, from: &str, to: &str) -> Result<(), LedgerError> {
        let current = self
            .email_of
            .get(account)
            .ok_or_else(|| LedgerError::UnknownAccount {
                account: account.to_owned(),
            })?;
        if email_key(current) != email_key(from) {
            return Err(LedgerError::Precondition {
                account: account.to_owned(),
                expected: from.to_owned(),
                found: current.clone(),
            });
        }
        let to_key = email_key(to);
        if let Some(holder) = self.holder_of.get(&to_key)
            && holder != account
        {
            return Err(LedgerError::Taken {
                address: to.to_owned(),
                holder: holder.clone(),
            });
        }
        self.holder_of.remove(&email_key(current));
        self.holder_of.insert(to_key, account.to_owned());
        self.email_of.insert(account.to_owned(), to.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let mut l = Ledger::default();
        for (id, e) in [("a", "a@x.example"), ("b", "b@x.example")] {
            l.email_of.insert(id.into(), e.into());
            l.holder_of.insert(e.into(), id.into());
        }
        l
    }

    #[test]
    fn a_held_address_cannot_be_taken_whatever_its_case() {
        let mut l = ledger();
        assert_eq!(
            l.apply("a", "a@x.example", "B@X.example"),
            Err(LedgerError::Taken {
                address: "B@X.example".into(),
                holder: "b".into()
            })
        );
    }

    #[test]
    fn a_freed_address_can_be_taken_and_preconditions_are_checked() {
        let mut l = ledger();
        l.apply("b", "b@x.example", "b2@x.example").unwrap();
        l.apply("a", "A@x.example", "b@x.example").unwrap();
        assert_eq!(l.holder_of("B@x.example"), Some("a"));
        assert_eq!(l.email_of("a"), Some("b@x.example"));
        assert!(matches!(
            l.apply("a", "a@x.example", "c@x.example"),
            Err(LedgerError::Precondition { .. })
        ));
        assert!(matches!(
            l.apply("z", "", "c@x.example"),
            Err(LedgerError::UnknownAccount { .. })
        ));
    }
}
