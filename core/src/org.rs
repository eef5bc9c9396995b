//! The accounts of one org, indexed by ID and by address. Building it checks the invariant the
//! whole tool rests on: one address, one account.

use crate::model::{Account, email_key};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// An index of account positions by a string the account carries. Only positions are stored, so a
/// million accounts cost a few megabytes here rather than a second copy of every key.
struct KeyIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl KeyIndex {
    fn with_capacity(n: usize) -> KeyIndex {
        KeyIndex {
            table: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        }
    }

    fn find<'a>(
        &self,
        accounts: &'a [Account],
        key: &str,
        key_of: fn(&'a Account) -> &'a str,
    ) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| key_of(&accounts[i as usize]) == key)
            .copied()
    }

    /// An index of every account under its key, or `None` at the first key two accounts share.
    fn build(accounts: &[Account], key_of: fn(&Account) -> &str) -> Option<KeyIndex> {
        let mut index = KeyIndex::with_capacity(accounts.len());
        for i in 0..accounts.len() {
            if index.claim(accounts, i as u32, key_of).is_some() {
                return None;
            }
        }
        Some(index)
    }

    /// Indexes account `i` under its key, in one probe; if another account already has that
    /// key, leaves the index as it was and returns that account. Empty keys are not indexed.
    fn claim(&mut self, accounts: &[Account], i: u32, key_of: fn(&Account) -> &str) -> Option<u32> {
        let key = key_of(&accounts[i as usize]);
        if key.is_empty() {
            return None;
        }
        let hasher = &self.hasher;
        let hash = hasher.hash_one(key);
        let entry = self.table.entry(
            hash,
            |&j| key_of(&accounts[j as usize]) == key,
            |&j| hasher.hash_one(key_of(&accounts[j as usize])),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => Some(*e.get()),
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(i);
                None
            }
        }
    }
}

fn id_of(a: &Account) -> &str {
    a.id.as_deref().unwrap_or_default()
}

fn key_of(a: &Account) -> &str {
    a.email.key()
}

/// Why a list of accounts cannot be one org.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// One ID with two different addresses.
    #[error(
        "account {account} on line {line} has {email}, but line {first_line} gives it {first_email}"
    )]
    DuplicateId {
        account: String,
        line: u64,
        email: String,
        first_line: u64,
        first_email: String,
    },
    /// Two accounts holding one address.
    #[error("{email} is held by {account} (line {line}) and by {other} (line {other_line})")]
    SharedAddress {
        email: String,
        account: String,
        line: u64,
        other: String,
        other_line: u64,
    },
}

pub struct Org {
    accounts: Vec<Account>,
    by_id: KeyIndex,
    by_email: KeyIndex,
}

impl Org {
    /// Indexes the rows of an export. Both indexes are built at once, one per core; an export
    /// that repeats an ID or an address takes the row-by-row path of [`Org::new`], which merges
    /// repeated rows and names the first offending line.
    pub fn from_rows(rows: Vec<Account>) -> Result<Org, OrgError> {
        let (by_id, by_email) = crate::cores::side_by_side(
            || KeyIndex::build(&rows, id_of),
            || KeyIndex::build(&rows, key_of),
        );
        match (by_id, by_email) {
            (Some(by_id), Some(by_email)) => Ok(Org {
                accounts: rows,
                by_id,
                by_email,
            }),
            _ => Org::new(rows),
        }
    }

    /// Indexes the accounts row by row; see [`Org::add`].
    pub fn new(rows: Vec<Account>) -> Result<Org, OrgError> {
        let mut org = Org::with_capacity(rows.len());
        for row in rows {
            org.add(row)?;
        }
        Ok(org)
    }

    pub fn with_capacity(n: usize) -> Org {
        Org {
            accounts: Vec::with_capacity(n),
            by_id: KeyIndex::with_capacity(n),
            by_email: KeyIndex::with_capacity(n),
        }
    }

    /// Adds one export row. A row repeating an account with the same address is merged (an export
    /// with one row per group membership does that); anything else that breaks "one address, one
    /// account" is an error, after which the org is not to be used.
    pub fn add(&mut self, row: Account) -> Result<(), OrgError> {
        let i = u32::try_from(self.accounts.len()).unwrap_or(u32::MAX);
        self.accounts.push(row);
        if let Some(first) = self.by_id.claim(&self.accounts, i, id_of) {
            let row = self
                .accounts
                .pop()
                .unwrap_or_else(|| unreachable!("just pushed"));
            let first = &mut self.accounts[first as usize];
            if first.email.key() != row.email.key() {
                return Err(OrgError::DuplicateId {
                    account: id_of(&row).to_owned(),
                    line: row.line,
                    email: row.email.text().to_owned(),
                    first_line: first.line,
                    first_email: first.email.text().to_owned(),
                });
            }
            first.product_access |= row.product_access;
            return Ok(());
        }
        if let Some(other) = self.by_email.claim(&self.accounts, i, key_of) {
            let (row, other) = (&self.accounts[i as usize], &self.accounts[other as usize]);
            return Err(OrgError::SharedAddress {
                email: row.email.text().to_owned(),
                account: row.id.as_deref().unwrap_or("an account").to_owned(),
                line: row.line,
                other: other.id.as_deref().unwrap_or("another").to_owned(),
                other_line: other.line,
            });
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn account(&self, i: u32) -> &Account {
        &self.accounts[i as usize]
    }

    pub fn by_id(&self, id: &str) -> Option<u32> {
        self.by_id.find(&self.accounts, id, id_of)
    }

    /// The account holding an address, compared without case.
    pub fn holder(&self, address: &str) -> Option<u32> {
        self.by_email
            .find(&self.accounts, &email_key(address), key_of)
    }

    /// The account holding an address given by its key (already lower-cased).
    pub fn holder_of_key(&self, key: &str) -> Option<u32> {
        self.by_email.find(&self.accounts, key, key_of)
    }
}

/// Small orgs for the tests of the modules that take one.
#[cfg(test)]
pub(crate) mod testing {
    use super::Org;
    use crate::model::{Account, Email, Status};

    /// Active accounts `(id, address)`, named `User <id>`, on lines 2, 3, ...
    pub(crate) fn org(rows: &[(&str, &str)]) -> Org {
        let accounts = rows
            .iter()
            .enumerate()
            .map(|(i, (id, email))| Account {
                id: Some((*id).into()),
                name: format!("User {id}").into(),
                email: Email::lenient(email),
                status: Status::Active,
                product_access: false,
                line: i as u64 + 2,
            })
            .collect();
        Org::new(accounts).unwrap_or_else(|e| panic!("test org: {e}"))
    }
}
